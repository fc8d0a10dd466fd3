//! Forms: typed fields (YesWiki's Bazar). An entry is a page of a form; its values live in the
//! page's `fields` map, validated here when written through HTTP, projected into SQL.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as forms;
use ruche_accounts as accounts;
use ruche_base::db;
use ruche_pages as pages;
use ruche_spaces as spaces;

pub mod builtin;
pub mod entity;
pub mod store;
pub mod uploads;
pub mod validate;

use serde::{Deserialize, Serialize};

/// How big a form may be made; a site can change both.
#[derive(Debug, Clone, Copy)]
pub struct FormLimits {
    /// Fields in one form.
    pub max_fields: usize,
    /// Choices in one single or multiple choice field.
    pub max_choices: usize,
}

impl Default for FormLimits {
    fn default() -> Self {
        Self { max_fields: 60, max_choices: 100 }
    }
}

/// What a field holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    ShortText,
    /// Markdown.
    LongText,
    Number,
    Date,
    /// Start and end, local times in a time zone.
    DateTimeRange,
    Url,
    Email,
    Phone,
    SingleChoice {
        choices: Vec<String>,
    },
    MultipleChoice {
        choices: Vec<String>,
    },
    Tags,
    /// Latitude and longitude.
    Point,
    /// A page (`space/page`) that is an entry of the form `form`.
    PageLink {
        form: String,
    },
    /// An account, by e-mail address.
    MemberLink,
    /// Who may see the entry: everyone who reads its space, or its members only.
    Audience,
    /// An uploaded document (PDF, office document, text, image).
    File,
    /// An uploaded picture (PNG, JPEG, GIF, WebP).
    Image,
}

impl FieldDef {
    /// Whether only members (of the entry's space) may see its values: fields marked so, and
    /// links to members, whose value is an e-mail address.
    pub fn is_private(&self) -> bool {
        self.members_only || self.kind == FieldKind::MemberLink
    }
}

impl FieldKind {
    /// The key naming this kind in the translations and in the form editor.
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::ShortText => "short_text",
            FieldKind::LongText => "long_text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::DateTimeRange => "date_time_range",
            FieldKind::Url => "url",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::SingleChoice { .. } => "single_choice",
            FieldKind::MultipleChoice { .. } => "multiple_choice",
            FieldKind::Tags => "tags",
            FieldKind::Point => "point",
            FieldKind::PageLink { .. } => "page_link",
            FieldKind::MemberLink => "member_link",
            FieldKind::Audience => "audience",
            FieldKind::File => "file",
            FieldKind::Image => "image",
        }
    }

    pub fn is_upload(&self) -> bool {
        matches!(self, FieldKind::File | FieldKind::Image)
    }
}

/// The values of an audience field.
pub const AUDIENCE_PUBLIC: &str = "public";
pub const AUDIENCE_MEMBERS: &str = "members";

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Where the value is kept in the page's `fields` map; never changes once values exist.
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Shown to the members of the entry's space only.
    #[serde(default)]
    pub members_only: bool,
    #[serde(default)]
    pub help: String,
    /// Taken out of the form: not shown nor asked, but its values stay in the entries and come
    /// back if it is put back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// A form as the application sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Form {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldDef>,
    /// Fields taken out of the form, whose values entries keep.
    pub removed: Vec<FieldDef>,
    pub builtin: bool,
}

impl Form {
    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// Every field, the removed ones last and marked, as stored.
    pub fn stored_fields(&self) -> Vec<FieldDef> {
        let mut all = self.fields.clone();
        all.extend(self.removed.iter().cloned().map(|mut f| {
            f.removed = true;
            f
        }));
        all
    }

    pub fn has_members_only_fields(&self) -> bool {
        self.fields.iter().any(FieldDef::is_private)
    }

    /// Whether a reader who is (or is not) a member of the entry's space may read the value kept
    /// under `key`. Keys the form does not have (removed fields, or written by other means)
    /// are for members only: nobody decided they were public.
    pub fn shows(&self, key: &str, member: bool) -> bool {
        member || self.field(key).is_some_and(|f| !f.is_private())
    }

    /// Whether outsiders reading `values` live would receive something that is not theirs to
    /// read: the form has members-only fields, or the values hold keys it does not know.
    pub fn holds_members_only(&self, values: &serde_json::Value) -> bool {
        self.has_members_only_fields()
            || values.as_object().is_some_and(|map| map.keys().any(|k| !self.shows(k, false)))
    }

    /// Whether these values make the entry one for its space's members only.
    pub fn is_members_only(&self, values: &serde_json::Value) -> bool {
        self.fields.iter().any(|f| {
            f.kind == FieldKind::Audience
                && values.get(&f.key).and_then(|v| v.as_str()) == Some(AUDIENCE_MEMBERS)
        })
    }

    /// The first field of a kind (the event's dates, the map's point…).
    pub fn first_of(&self, wanted: impl Fn(&FieldKind) -> bool) -> Option<&FieldDef> {
        self.fields.iter().find(|f| wanted(&f.kind))
    }
}

impl TryFrom<entity::form::Model> for Form {
    type Error = anyhow::Error;

    fn try_from(m: entity::form::Model) -> anyhow::Result<Self> {
        let all: Vec<FieldDef> = serde_json::from_str(&m.fields)
            .map_err(|e| anyhow::anyhow!("stored fields of form {:?}: {e}", m.key))?;
        let (removed, fields) = all.into_iter().partition(|f| f.removed);
        Ok(Self {
            fields,
            removed,
            id: m.id,
            key: m.key,
            name: m.name,
            description: m.description,
            builtin: m.builtin,
        })
    }
}

/// What a link to another entry says: its name, from its address ("structures-cooperantes/
/// savoir-devenir" reads "Savoir devenir") when the title itself is not at hand.
pub fn link_label(link: &str) -> String {
    let slug = link.rsplit('/').next().unwrap_or(link);
    let words = slug.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
