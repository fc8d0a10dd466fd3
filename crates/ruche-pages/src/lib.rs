//! Pages: what people write, in a space. Their text lives in a CRDT document (see `collab`);
//! here are their identity, addresses, trash, rendering and the projections lists query.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as pages;
use ruche_accounts as accounts;
use ruche_base::{cache, collation, db, slug};
use ruche_collab as collab;
use ruche_spaces as spaces;

pub mod entity;
pub mod events;
pub mod render;
pub mod store;

use serde::Serialize;

use crate::spaces::SpaceId;

/// A page's address within its space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PageSlug(String);

/// Addresses that name actions under a space, so no page may take them.
const RESERVED: &[&str] =
    &["members", "settings", "pages", "new", "trash", "changes", "agenda", "files", "discussions"];

impl PageSlug {
    pub const MAX: usize = 120;

    pub fn parse(raw: &str) -> Option<Self> {
        let slug = raw.trim();
        (slug::is_slug(slug, Self::MAX) && !RESERVED.contains(&slug)).then(|| Self(slug.to_owned()))
    }

    pub fn from_title(title: &str) -> Option<Self> {
        Self::parse(&slug::slugify(title, Self::MAX))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PageSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PageId(pub i64);

impl PageId {
    pub fn doc(self) -> collab::DocId {
        collab::DocId(self.0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub id: PageId,
    #[serde(skip)]
    pub space_id: SpaceId,
    pub slug: PageSlug,
    pub title: String,
    pub form: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub trashed: bool,
    /// For the members of its space only.
    pub members_only: bool,
    /// The account it belongs to (a member's profile).
    #[serde(skip)]
    pub owner: Option<accounts::UserId>,
    /// Offered as a template for new pages, and where.
    #[serde(skip)]
    pub template: Option<TemplateScope>,
}

/// What access reads of a page.
impl ruche_access::PageRow for Page {
    fn space_id(&self) -> i64 {
        self.space_id.0
    }
    fn owner_id(&self) -> Option<i64> {
        self.owner.map(|o| o.0)
    }
    fn members_only(&self) -> bool {
        self.members_only
    }
    fn trashed(&self) -> bool {
        self.trashed
    }
}

impl TryFrom<entity::page::Model> for Page {
    type Error = anyhow::Error;

    fn try_from(m: entity::page::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: PageId(m.id),
            space_id: SpaceId(m.space_id),
            slug: PageSlug::parse(&m.slug)
                .ok_or_else(|| anyhow::anyhow!("stored page slug {:?} is invalid", m.slug))?,
            title: m.title,
            form: m.form,
            created_at: m.created_at,
            updated_at: m.updated_at,
            trashed: m.trashed_at.is_some(),
            members_only: m.members_only,
            owner: m.owner_id.map(accounts::UserId),
            template: m.template.as_deref().and_then(TemplateScope::parse),
        })
    }
}

/// Where a page is offered as a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateScope {
    /// In its own space.
    Space,
    /// In every space (chosen by an administrator).
    Site,
}

impl TemplateScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateScope::Space => "space",
            TemplateScope::Site => "site",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "space" => Some(TemplateScope::Space),
            "site" => Some(TemplateScope::Site),
            _ => None,
        }
    }
}
