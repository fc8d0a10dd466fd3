//! Spaces: one per working group, with a visibility and members who hold roles.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as spaces;
use ruche_accounts as accounts;
use ruche_base::{collation, db, slug};

pub mod entity;
pub mod invitations;
pub mod requests;
pub mod store;

use serde::{Deserialize, Serialize};

/// The part of a space's URL: lower-case letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SpaceSlug(String);

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

/// Who may learn that a space exists and read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Anyone reads it.
    Public,
    /// Everyone sees its name and description; its members read it.
    Members,
    /// Only its members know it exists.
    Private,
}

impl Visibility {
    pub const ALL: [Visibility; 3] = [Visibility::Public, Visibility::Members, Visibility::Private];

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Members => "members",
            Visibility::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Who may comment on the pages of a space (everyone who comments must be signed in and
/// may read the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CommentPolicy {
    /// Nobody: the discussions are closed.
    Nobody,
    /// Its members (any role).
    #[default]
    Members,
    /// Anyone signed in who may read the space (for public spaces).
    Readers,
}

impl CommentPolicy {
    pub const ALL: [CommentPolicy; 3] =
        [CommentPolicy::Members, CommentPolicy::Readers, CommentPolicy::Nobody];

    pub fn as_str(self) -> &'static str {
        match self {
            CommentPolicy::Nobody => "nobody",
            CommentPolicy::Members => "members",
            CommentPolicy::Readers => "readers",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// What a member may do in a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Editor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

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
