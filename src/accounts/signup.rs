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
    site_setting::Entity::insert(site_setting::ActiveModel {
        key: Set(KEY.to_owned()),
        value: Set(mode.as_str().to_owned()),
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
