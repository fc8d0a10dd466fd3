use sea_orm::entity::prelude::*;

/// One update of a document's log, in the order the server applied it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "doc_updates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub doc_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// The Yjs update, v1 encoding, as the client sent it.
    pub data: Vec<u8>,
    pub author_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
