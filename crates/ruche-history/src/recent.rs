//! Recent changes as a reader may see them: the page events of the spaces they read, without
//! the members-only entries and the pages in the trash they may not see, one line per page per
//! editing session.
use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use crate::pages::{entity::page_event, events::EventKind};
use crate::{
    access, access::SpaceAction, accounts::entity::user, db::Db, pages, pages::entity::page,
    spaces::grants::SpaceGrant,
};

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

impl Change {
    /// Where the line leads: the page, or the comment it tells of.
    pub fn url(&self) -> String {
        let page = format!("/s/{}/{}", self.space_slug, self.page_slug);
        match self.kind {
            EventKind::Commented if self.detail.parse::<i64>().is_ok() => {
                format!("{page}#comment-{}", self.detail)
            }
            _ => page,
        }
    }
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
            // Asked as for the page itself: members-only entries are in their space's changes
            // for its members only, and a page in the trash for those who may see the trash.
            let readable = pages::Page::try_from(page.clone())
                .is_ok_and(|p| access::page(grant, &p, SpaceAction::Read).is_ok());
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
