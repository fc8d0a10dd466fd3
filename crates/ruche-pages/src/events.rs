//! What happened to pages, written as it happens (for recent changes and feeds, read in
//! `recent`). Each event carries its space, so a reader's list is one query filtered by the
//! spaces the access module lets them read.
use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use serde::Serialize;

use super::entity::page_event;
use crate::{db::Db, pages::PageId, spaces::SpaceId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Changed,
    Renamed,
    Trashed,
    Restored,
    /// A comment was posted (its id in the detail).
    Commented,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Changed => "changed",
            EventKind::Renamed => "renamed",
            EventKind::Trashed => "trashed",
            EventKind::Restored => "restored",
            EventKind::Commented => "commented",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "created" => EventKind::Created,
            "renamed" => EventKind::Renamed,
            "trashed" => EventKind::Trashed,
            "restored" => EventKind::Restored,
            "commented" => EventKind::Commented,
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
