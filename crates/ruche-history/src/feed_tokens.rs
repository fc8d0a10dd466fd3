//! Personal feed addresses: a secret in `?token=` that lets a feed reader see members-only and
//! private spaces as their owner would, revocably. Only its hash is stored.
use chrono::Utc;
use sea_orm::{sea_query::OnConflict, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::{
    accounts::{store, tokens, User, UserId},
    db::Db,
    entity::feed_token,
};

/// Creates (or replaces) the person's feed secret and returns it, to be shown once.
pub async fn create_token(db: &Db, user: UserId) -> anyhow::Result<String> {
    let secret = tokens::generate_secret();
    feed_token::Entity::insert(feed_token::ActiveModel {
        user_id: Set(user.0),
        token_hash: Set(tokens::hash_secret(&secret)),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(feed_token::Column::UserId)
            .update_columns([feed_token::Column::TokenHash, feed_token::Column::CreatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(secret)
}

pub async fn revoke_token(db: &Db, user: UserId) -> anyhow::Result<()> {
    feed_token::Entity::delete_by_id(user.0).exec(db).await?;
    Ok(())
}

pub async fn has_token(db: &Db, user: UserId) -> anyhow::Result<bool> {
    Ok(feed_token::Entity::find_by_id(user.0).one(db).await?.is_some())
}

/// The enabled account a feed secret belongs to.
pub async fn user_for(db: &Db, secret: &str) -> anyhow::Result<Option<User>> {
    let Some(row) = feed_token::Entity::find()
        .filter(feed_token::Column::TokenHash.eq(tokens::hash_secret(secret)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(store::find(db, UserId(row.user_id)).await?.filter(|u| !u.disabled))
}
