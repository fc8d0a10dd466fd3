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
    /// `now` (a mail for each notification), `daily` (one digest a day) or `never`.
    pub notify_by_mail: String,
    /// The name mentions use (`@marie-dupont`): unique, made from the name.
    #[sea_orm(unique)]
    pub handle: Option<String>,
    /// The hour (in this person's zone) of the daily digest.
    pub digest_hour: i32,
    pub last_digest_at: Option<DateTimeUtc>,
    /// The secret of this person's one-click unsubscribe link.
    pub unsubscribe_key: Option<String>,
    /// Writes seeing the Markdown code rather than the formatting.
    pub show_markdown: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
