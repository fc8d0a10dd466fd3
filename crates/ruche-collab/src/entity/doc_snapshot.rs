use sea_orm::entity::prelude::*;

/// A document's whole state up to and including update `seq`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "doc_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub doc_id: i64,
    pub state: Vec<u8>,
    pub seq: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
