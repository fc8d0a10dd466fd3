use sea_orm::entity::prelude::*;

/// Someone who changed the page between the previous revision and this one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "revision_authors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub revision_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
