//! API tokens: random secrets shown once, stored as SHA-256, acting as their owner on `/api`.
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};

use super::{entity::api_token, entity::user, User, UserId};
use crate::db::Db;

/// Prefix of every API token, so a leaked one is recognisable in logs and scanners.
const TOKEN_PREFIX: &str = "ruche_";

/// 32 random bytes, URL-safe.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How a secret is stored: SHA-256, hex. Secrets are random, so no salt or slow hash is needed.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: chrono::DateTime<Utc>,
    pub last_used_at: Option<chrono::DateTime<Utc>>,
}

impl From<api_token::Model> for ApiToken {
    fn from(m: api_token::Model) -> Self {
        Self { id: m.id, name: m.name, created_at: m.created_at, last_used_at: m.last_used_at }
    }
}

/// Creates a token for `user`; returns it with its secret, which is never shown again.
pub async fn create(db: &Db, user: UserId, name: &str) -> anyhow::Result<(ApiToken, String)> {
    let secret = format!("{TOKEN_PREFIX}{}", generate_secret());
    let name = match name.trim() {
        "" => "token".to_owned(),
        n => n.chars().take(100).collect(),
    };
    let model = api_token::ActiveModel {
        user_id: Set(user.0),
        name: Set(name),
        token_hash: Set(hash_secret(&secret)),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((model.into(), secret))
}

pub async fn list(db: &Db, user: UserId) -> anyhow::Result<Vec<ApiToken>> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user.0))
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Revokes one of `user`'s tokens; false when they have no such token.
pub async fn revoke(db: &Db, user: UserId, id: i64) -> anyhow::Result<bool> {
    let result = api_token::Entity::delete_many()
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::UserId.eq(user.0))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The enabled account a bearer token acts for.
pub async fn user_for(db: &Db, secret: &str) -> anyhow::Result<Option<User>> {
    let Some(token) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_secret(secret)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(owner) = user::Entity::find_by_id(token.user_id).one(db).await? else {
        return Ok(None);
    };
    if owner.disabled {
        return Ok(None);
    }
    // Only note the use once a minute, to keep reads from turning into writes.
    let stale = token.last_used_at.is_none_or(|t| Utc::now() - t > chrono::Duration::minutes(1));
    if stale {
        let mut active: api_token::ActiveModel = token.into();
        active.last_used_at = Set(Some(Utc::now()));
        active.update(db).await?;
    }
    Ok(Some(owner.into()))
}
