//! Spaces: one per working group, with a visibility and members who hold roles.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as spaces;
use ruche_accounts as accounts;
use ruche_base::{collation, db, slug};

pub mod entity;
pub mod grants;
pub mod invitations;
pub mod requests;
pub mod store;

use serde::Serialize;

/// The part of a space's URL: lower-case letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SpaceSlug(String);

/// The space that holds members' profiles: the directory.
pub const PROFILES_SPACE: &str = "annuaire";

/// Words that name site routes, so no space may take them.
const RESERVED_SLUGS: &[&str] = &["new", "api", "admin", "assets", "ws"];

impl SpaceSlug {
    pub fn parse(raw: &str) -> Option<Self> {
        let slug = raw.trim();
        let valid = slug.len() >= 2 && slug::is_slug(slug, 80) && !RESERVED_SLUGS.contains(&slug);
        valid.then(|| Self(slug.to_owned()))
    }

    /// A slug made from a title: accents dropped, words joined by dashes.
    pub fn from_title(title: &str) -> Option<Self> {
        Self::parse(&slug::slugify(title, 80))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SpaceSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// What access reads of a space and a member are its types; spaces store them.
pub use ruche_access::{CommentPolicy, Role, Visibility};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SpaceId(pub i64);

/// A space as the application sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Space {
    #[serde(skip)]
    pub id: SpaceId,
    pub slug: SpaceSlug,
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
    /// Who may comment on its pages.
    pub comments: CommentPolicy,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What access reads of a space.
impl ruche_access::SpaceRow for Space {
    fn space_id(&self) -> i64 {
        self.id.0
    }
    fn visibility(&self) -> Visibility {
        self.visibility
    }
    fn comments(&self) -> CommentPolicy {
        self.comments
    }
}

impl TryFrom<entity::space::Model> for Space {
    type Error = anyhow::Error;

    fn try_from(m: entity::space::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: SpaceId(m.id),
            slug: SpaceSlug::parse(&m.slug)
                .ok_or_else(|| anyhow::anyhow!("stored space slug {:?} is invalid", m.slug))?,
            visibility: Visibility::parse(&m.visibility).ok_or_else(|| {
                anyhow::anyhow!("stored visibility {:?} is invalid", m.visibility)
            })?,
            comments: CommentPolicy::parse(&m.comment_policy).unwrap_or_default(),
            title: m.title,
            description: m.description,
            created_at: m.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::SpaceSlug;

    #[test]
    fn slugs_accept_only_url_safe_words() {
        assert!(SpaceSlug::parse("chantier-1").is_some());
        assert!(SpaceSlug::parse("Chantier").is_none());
        assert!(SpaceSlug::parse("-x").is_none());
        assert!(SpaceSlug::parse("a/b").is_none());
        assert!(SpaceSlug::parse("new").is_none());
    }

    #[test]
    fn slugs_from_french_titles_drop_accents() {
        let slug = SpaceSlug::from_title("Comité de pilotage : cœur & œuvre").map(|s| s.0);
        assert_eq!(slug.as_deref(), Some("comite-de-pilotage-coeur-oeuvre"));
    }
}
