use sea_orm::entity::prelude::*;

/// Projection of one field value of an entry, in the columns its type can be queried by.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "entry_fields")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub page_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// The value as text (choices joined by newlines).
    pub text: String,
    pub number: Option<f64>,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The value itself, as JSON.
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
