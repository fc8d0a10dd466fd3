//! What happened to pages, for recent changes and feeds. Each event carries its space, so a
//! reader's list is one query filtered by the spaces the access module lets them read.
use crate::access::{SpaceAction, SpaceGrant};
use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use super::entity::page_event;
use crate::{
    accounts::entity::user,
    db::Db,
    pages::{entity::page, PageId},
    spaces::SpaceId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Changed,
    Renamed,
    Trashed,
    Restored,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Changed => "changed",
            EventKind::Renamed => "renamed",
            EventKind::Trashed => "trashed",
            EventKind::Restored => "restored",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "created" => EventKind::Created,
            "renamed" => EventKind::Renamed,
            "trashed" => EventKind::Trashed,
            "restored" => EventKind::Restored,
            _ => EventKind::Changed,
        }
    }
}

/// Notes an event. Failing to note one never fails what happened: it is logged.
pub async fn record(
    db: &Db,
    page: PageId,
    space: SpaceId,
    kind: EventKind,
    by: Option<i64>,
    revision: Option<i64>,
    detail: &str,
) {
    if let Err(err) = try_record(db, page, space, kind, by, revision, detail).await {
        tracing::warn!(page = page.0, error = ?err, "could not note a page event");
    }
}

/// Notes a page event on `db` (a transaction the event belongs to, when it has one).
pub async fn try_record<C: sea_orm::ConnectionTrait>(
    db: &C,
    page: PageId,
    space: SpaceId,
    kind: EventKind,
    by: Option<i64>,
    revision: Option<i64>,
    detail: &str,
) -> anyhow::Result<()> {
    let event = page_event::ActiveModel {
        page_id: Set(page.0),
        space_id: Set(space.0),
        kind: Set(kind.as_str().to_owned()),
        user_id: Set(by),
        revision_id: Set(revision),
        detail: Set(detail.chars().take(300).collect()),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    event.insert(db).await?;
    Ok(())
}

/// One line of recent changes.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub id: i64,
    pub kind: EventKind,
    pub at: chrono::DateTime<Utc>,
    pub page_title: String,
    pub page_slug: String,
    pub space_slug: String,
    pub space_title: String,
    pub who: Option<String>,
    /// For a rename, the former title.
    pub detail: String,
    pub revision: Option<i64>,
    pub page_trashed: bool,
}

/// The newest events of these spaces (the ones the reader may read), before event `before`.
pub async fn recent(
    db: &Db,
    spaces: &[SpaceGrant],
    before: Option<i64>,
    limit: u64,
) -> anyhow::Result<Vec<Change>> {
    if spaces.is_empty() {
        return Ok(Vec::new());
    }
    let by_id: HashMap<i64, &SpaceGrant> = spaces.iter().map(|g| (g.space.id.0, g)).collect();
    let mut query = page_event::Entity::find()
        .filter(page_event::Column::SpaceId.is_in(by_id.keys().copied().collect::<Vec<_>>()))
        .order_by_desc(page_event::Column::Id)
        .limit(limit);
    if let Some(before) = before {
        query = query.filter(page_event::Column::Id.lt(before));
    }
    let events = query.all(db).await?;
    let page_ids: Vec<i64> = events.iter().map(|e| e.page_id).collect();
    let pages: HashMap<i64, page::Model> = page::Entity::find()
        .filter(page::Column::Id.is_in(page_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let user_ids: Vec<i64> = events.iter().filter_map(|e| e.user_id).collect();
    let names: HashMap<i64, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let changes: Vec<Change> = events
        .into_iter()
        .filter_map(|e| {
            let page = pages.get(&e.page_id)?;
            let grant = by_id.get(&page.space_id)?;
            // Members-only entries are in their space's changes for its members only.
            let readable = crate::pages::Page::try_from(page.clone())
                .is_ok_and(|p| crate::access::page_allows(grant, &p, SpaceAction::Read));
            if !readable {
                return None;
            }
            let space = &grant.space;
            Some(Change {
                id: e.id,
                kind: EventKind::parse(&e.kind),
                at: e.created_at,
                page_title: page.title.clone(),
                page_slug: page.slug.clone(),
                space_slug: space.slug.to_string(),
                space_title: space.title.clone(),
                who: e.user_id.and_then(|u| names.get(&u).cloned()),
                detail: e.detail,
                revision: e.revision_id,
                page_trashed: page.trashed_at.is_some(),
            })
        })
        .collect();
    Ok(one_line_per_session(changes))
}

/// A page created and then written in the same editing session is one line, "créée" (with the
/// session's version), not a "créée" and a "modifiée".
fn one_line_per_session(changes: Vec<Change>) -> Vec<Change> {
    const SESSION: chrono::Duration = chrono::Duration::hours(1);
    let mut kept: Vec<Change> = Vec::with_capacity(changes.len());
    // Newest first: a page's "modifiée" comes before its "créée".
    let mut pending: HashMap<String, usize> = HashMap::new();
    for change in changes {
        let key = format!("{}/{}", change.space_slug, change.page_slug);
        if change.kind == EventKind::Created {
            if let Some(&i) = pending.get(&key) {
                let newer = &kept[i];
                if newer.kind == EventKind::Changed && newer.at - change.at <= SESSION {
                    let mut created = change;
                    created.revision = newer.revision.or(created.revision);
                    created.id = newer.id.min(created.id);
                    created.at = newer.at;
                    kept[i] = created;
                    pending.remove(&key);
                    continue;
                }
            }
        }
        if change.kind == EventKind::Changed {
            pending.insert(key, kept.len());
        } else {
            pending.remove(&key);
        }
        kept.push(change);
    }
    kept
}
