use sea_orm::entity::prelude::*;

/// A page a file was uploaded to (or attached to by the person who uploaded it): the only pages
/// the file is served for.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "upload_pages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub hash: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub page_id: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
