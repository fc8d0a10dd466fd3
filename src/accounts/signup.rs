//! Whether people may create their own account or need an invitation (the administrator's choice).
use sea_orm::{sea_query::OnConflict, EntityTrait, Set};

use super::entity::site_setting;
use crate::db::Db;

const KEY: &str = "signup";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupMode {
    Open,
    InvitationOnly,
}

impl SignupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SignupMode::Open => "open",
            SignupMode::InvitationOnly => "invitation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(SignupMode::Open),
            "invitation" => Some(SignupMode::InvitationOnly),
            _ => None,
        }
    }
}

/// The current mode; by invitation until an administrator opens sign-up.
pub async fn mode(db: &Db) -> anyhow::Result<SignupMode> {
    let row = site_setting::Entity::find_by_id(KEY.to_owned()).one(db).await?;
    Ok(row.and_then(|r| SignupMode::parse(&r.value)).unwrap_or(SignupMode::InvitationOnly))
}

pub async fn set_mode(db: &Db, mode: SignupMode) -> anyhow::Result<()> {
    set(db, KEY, mode.as_str()).await
}

const CONTACT_KEY: &str = "signup_contact";

/// Whom people ask for an invitation (an e-mail address, or a few words), if the administrators
/// said.
pub async fn contact(db: &Db) -> anyhow::Result<Option<String>> {
    let row = site_setting::Entity::find_by_id(CONTACT_KEY.to_owned()).one(db).await?;
    Ok(row.map(|r| r.value).filter(|v| !v.trim().is_empty()))
}

pub async fn set_contact(db: &Db, contact: &str) -> anyhow::Result<()> {
    let contact: String = crate::slug::clean_label(contact).chars().take(200).collect();
    set(db, CONTACT_KEY, &contact).await
}

async fn set(db: &Db, key: &str, value: &str) -> anyhow::Result<()> {
    site_setting::Entity::insert(site_setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.to_owned()),
    })
    .on_conflict(
        OnConflict::column(site_setting::Column::Key)
            .update_column(site_setting::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
