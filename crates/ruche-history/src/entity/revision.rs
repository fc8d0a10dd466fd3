use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub page_id: i64,
    /// `session` (an editing session went quiet), `manual`, `before_restore` or `restore`.
    pub kind: String,
    pub note: String,
    /// The whole document then (Yjs update, v1).
    pub state: Vec<u8>,
    pub markdown: String,
    /// The form fields then, as JSON.
    pub fields: String,
    /// Words added and removed since the previous revision.
    pub added: i32,
    pub removed: i32,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
