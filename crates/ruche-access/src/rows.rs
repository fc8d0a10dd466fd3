//! What the rules read of the rows they are given. The rows belong to the capabilities (the
//! accounts' `User`, the spaces' `Space`, the pages' `Page`), which implement these traits;
//! the few values the rules compare are defined here, and the spaces store them.
use serde::{Deserialize, Serialize};

/// What the rules read of a person who asks.
pub trait Person {
    fn person_id(&self) -> i64;
    /// An administrator of the whole site.
    fn is_site_admin(&self) -> bool;
    /// A disabled account has no power left.
    fn disabled(&self) -> bool;
}

/// What the rules read of a space.
pub trait SpaceRow {
    fn space_id(&self) -> i64;
    fn visibility(&self) -> Visibility;
    /// Who may comment on its pages.
    fn comments(&self) -> CommentPolicy;
}

/// What the rules read of a page.
pub trait PageRow {
    /// The space it is in.
    fn space_id(&self) -> i64;
    /// The account it belongs to (a member's profile).
    fn owner_id(&self) -> Option<i64>;
    /// For the members of its space only.
    fn members_only(&self) -> bool;
    fn trashed(&self) -> bool;
}

impl<T: SpaceRow> SpaceRow for &T {
    fn space_id(&self) -> i64 {
        (**self).space_id()
    }
    fn visibility(&self) -> Visibility {
        (**self).visibility()
    }
    fn comments(&self) -> CommentPolicy {
        (**self).comments()
    }
}

/// Nobody signed in: a grant for anyone at all.
pub(crate) enum Nobody {}

impl Person for Nobody {
    fn person_id(&self) -> i64 {
        match *self {}
    }
    fn is_site_admin(&self) -> bool {
        match *self {}
    }
    fn disabled(&self) -> bool {
        match *self {}
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
