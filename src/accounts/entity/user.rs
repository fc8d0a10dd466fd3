use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    /// The zone this person reads times in (`Europe/Paris`); none: the site's.
    pub time_zone: Option<String>,
    /// False while an open sign-up waits for its address to be confirmed by mail.
    pub email_confirmed: bool,
    /// `now` (a mail for each notification) or `never`.
    pub notify_by_mail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
