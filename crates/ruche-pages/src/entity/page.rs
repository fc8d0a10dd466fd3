use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "pages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub space_id: i64,
    pub slug: String,
    pub title: String,
    /// The form this page is an entry of, if any.
    pub form: Option<String>,
    /// Projection of the body: its text without Markdown.
    pub plain_text: String,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub trashed_at: Option<DateTimeUtc>,
    /// For the members of its space only (a members-only event).
    pub members_only: bool,
    /// The account this page belongs to (a member's profile).
    pub owner_id: Option<i64>,
    /// Offered as a template for new pages: `space` (in its space) or `site` (everywhere).
    pub template: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
