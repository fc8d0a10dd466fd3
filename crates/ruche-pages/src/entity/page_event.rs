use sea_orm::entity::prelude::*;

/// Something that happened to a page.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "page_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub page_id: i64,
    pub space_id: i64,
    /// `created`, `changed`, `renamed`, `trashed` or `restored`.
    pub kind: String,
    pub user_id: Option<i64>,
    pub revision_id: Option<i64>,
    /// For a rename: the former title.
    pub detail: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
