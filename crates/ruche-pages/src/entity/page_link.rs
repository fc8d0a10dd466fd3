use sea_orm::entity::prelude::*;

/// Projection: page `from_page` links to the page `to_slug` of space `to_space`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "page_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub from_page: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub to_space: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub to_slug: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
