use sea_orm::entity::prelude::*;

/// A page a file was uploaded to (or attached to by the person who uploaded it): the only pages
/// the file is served for. The file's bytes are stored once, whoever sent them; what a page
/// shows of it (name, type, who sent it, when) is this record's, that page's own upload.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "upload_pages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub hash: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub page_id: i64,
    pub created_at: DateTimeUtc,
    /// The name it had on the computer of whoever sent it to this page (empty: not known, for
    /// records older than names kept per page, and backups made before).
    #[serde(default)]
    pub name: String,
    /// What it is, as found from that upload (empty: the file's own).
    #[serde(default)]
    pub content_type: String,
    /// Who sent it to this page.
    #[serde(default)]
    pub created_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
