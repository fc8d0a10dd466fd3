//! Invitations: single-use links an administrator passes on so that someone can create an account.
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

use super::{
    entity::invitation,
    store::{self, NewUser, NewUserError},
    tokens::{generate_secret, hash_secret},
    User, UserId,
};
use crate::db::Db;

/// How long an invitation link stays valid.
pub const VALIDITY_DAYS: i64 = 14;

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: i64,
    pub note: String,
    pub created_at: chrono::DateTime<Utc>,
    pub expires_at: chrono::DateTime<Utc>,
    pub used: bool,
}

impl From<invitation::Model> for Invitation {
    fn from(m: invitation::Model) -> Self {
        Self {
            id: m.id,
            note: m.note,
            created_at: m.created_at,
            expires_at: m.expires_at,
            used: m.used_at.is_some(),
        }
    }
}

/// Creates an invitation and returns its secret token (to put in the link).
pub async fn create(db: &Db, by: UserId, note: &str) -> anyhow::Result<String> {
    let secret = generate_secret();
    let now = Utc::now();
    invitation::ActiveModel {
        token_hash: Set(hash_secret(&secret)),
        created_by: Set(by.0),
        note: Set(note.trim().chars().take(200).collect()),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(VALIDITY_DAYS)),
        used_at: Set(None),
        used_by: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(secret)
}

pub async fn recent(db: &Db) -> anyhow::Result<Vec<Invitation>> {
    Ok(invitation::Entity::find()
        .order_by_desc(invitation::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .take(50)
        .map(Into::into)
        .collect())
}

/// Whether the token names an unused, unexpired invitation.
pub async fn is_valid(db: &Db, secret: &str) -> anyhow::Result<bool> {
    Ok(find_usable(db, secret).await?.is_some())
}

async fn find_usable<C: sea_orm::ConnectionTrait>(
    conn: &C,
    secret: &str,
) -> anyhow::Result<Option<invitation::Model>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash_secret(secret)))
        .filter(invitation::Column::UsedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .one(conn)
        .await?)
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("invitation unknown, used or expired")]
    Invalid,
    #[error(transparent)]
    NewUser(#[from] NewUserError),
}

/// Creates the account and spends the invitation, both or neither.
pub async fn accept(db: &Db, secret: &str, new: NewUser) -> Result<User, AcceptError> {
    let txn = db.begin().await.map_err(NewUserError::from)?;
    let invitation =
        find_usable(&txn, secret).await.map_err(NewUserError::from)?.ok_or(AcceptError::Invalid)?;
    let user = store::create(&txn, new).await?;
    // Only spend it if nobody spent it in the meantime.
    let spent = invitation::Entity::update_many()
        .col_expr(invitation::Column::UsedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .col_expr(invitation::Column::UsedBy, sea_orm::sea_query::Expr::value(user.id.0))
        .filter(invitation::Column::Id.eq(invitation.id))
        .filter(invitation::Column::UsedAt.is_null())
        .exec(&txn)
        .await
        .map_err(NewUserError::from)?;
    if spent.rows_affected != 1 {
        return Err(AcceptError::Invalid);
    }
    txn.commit().await.map_err(NewUserError::from)?;
    Ok(user)
}
