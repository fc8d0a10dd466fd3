//! Page history: revisions recorded when an editing session goes quiet, on demand and around
//! restores; viewing, comparing and restoring them.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as history;
use ruche_access as access;
use ruche_accounts as accounts;
use ruche_base::{cache, db, paging};
use ruche_collab as collab;
use ruche_pages as pages;
use ruche_spaces as spaces;

pub mod diff;
pub mod entity;
pub mod feed_tokens;
pub mod recent;
pub mod store;

use serde::Serialize;

pub use diff::DiffCache;

/// Revisions shown per page of the history (the page and the API).
pub const PER_PAGE: u64 = 20;

/// Why a revision was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An editing session went quiet.
    Session,
    /// Someone asked to save a version.
    Manual,
    /// The state just before a restore.
    BeforeRestore,
    /// A restore of an older revision.
    Restore,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Session => "session",
            Kind::Manual => "manual",
            Kind::BeforeRestore => "before_restore",
            Kind::Restore => "restore",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "manual" => Kind::Manual,
            "before_restore" => Kind::BeforeRestore,
            "restore" => Kind::Restore,
            _ => Kind::Session,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub id: i64,
    pub kind: Kind,
    pub note: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The people who changed the page since the previous revision.
    pub contributors: Vec<String>,
    pub words_added: i32,
    pub words_removed: i32,
    pub markdown: String,
    /// The form's values then (members-only ones among them: never serialised as they are).
    #[serde(skip)]
    pub fields: serde_json::Value,
    #[serde(skip)]
    pub state: Vec<u8>,
}

impl Revision {
    fn from_model(m: entity::revision::Model, contributors: Vec<String>) -> Self {
        Self {
            id: m.id,
            kind: Kind::parse(&m.kind),
            note: m.note,
            created_at: m.created_at,
            contributors,
            words_added: m.added,
            words_removed: m.removed,
            markdown: m.markdown,
            fields: serde_json::from_str(&m.fields).unwrap_or(serde_json::Value::Null),
            state: m.state,
        }
    }
}

/// Records the revision of an editing session that went quiet (called by the live document).
pub async fn record_session(
    db: &db::Db,
    doc: collab::DocId,
    content: collab::Content,
    authors: Vec<i64>,
) -> anyhow::Result<Option<Revision>> {
    if pages::store::get(db, pages::PageId(doc.0)).await?.is_none() {
        return Ok(None); // purged meanwhile
    }
    store::record(db, pages::PageId(doc.0), Kind::Session, "", &content, &authors, None).await
}
