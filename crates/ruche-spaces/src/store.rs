//! Storage of spaces and memberships.
use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use super::{entity::membership, entity::space, Role, Space, SpaceId, SpaceSlug, Visibility};
use crate::{
    accounts,
    accounts::{User, UserId},
    collation,
    db::Db,
    slug,
};

#[derive(Debug, thiserror::Error)]
pub enum SpaceError {
    #[error("this address is already used by another space")]
    SlugTaken,
    #[error("a title is required")]
    EmptyTitle,
    #[error("a space keeps at least one owner")]
    LastOwner,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for SpaceError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => SpaceError::SlugTaken,
            _ => SpaceError::Internal(err.into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewSpace {
    pub slug: SpaceSlug,
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
}

/// Creates a space; `owner` (if any) becomes its first owner, in the same transaction.
pub async fn create(db: &Db, new: NewSpace, owner: Option<UserId>) -> Result<Space, SpaceError> {
    let title = slug::clean_label(&new.title);
    let title = title.as_str();
    if title.is_empty() {
        return Err(SpaceError::EmptyTitle);
    }
    let txn = db.begin().await?;
    let model = space::ActiveModel {
        slug: Set(new.slug.as_str().to_owned()),
        title: Set(title.chars().take(300).collect()),
        description: Set(new.description.trim().chars().take(5000).collect()),
        visibility: Set(new.visibility.as_str().to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if let Some(owner) = owner {
        membership::ActiveModel {
            space_id: Set(model.id),
            user_id: Set(owner.0),
            role: Set(Role::Owner.as_str().to_owned()),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(model.try_into()?)
}

pub async fn find(db: &Db, slug: &str) -> anyhow::Result<Option<Space>> {
    space::Entity::find()
        .filter(space::Column::Slug.eq(slug))
        .one(db)
        .await?
        .map(Space::try_from)
        .transpose()
}

pub async fn get(db: &Db, id: SpaceId) -> anyhow::Result<Option<Space>> {
    space::Entity::find_by_id(id.0).one(db).await?.map(Space::try_from).transpose()
}

/// Every space, by title (as people sort). Callers filter through the access module before
/// showing them.
pub async fn all(db: &Db) -> anyhow::Result<Vec<Space>> {
    let mut spaces: Vec<Space> = space::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(Space::try_from)
        .collect::<Result<_, _>>()?;
    collation::sort_by_name(&mut spaces, |s| &s.title);
    Ok(spaces)
}

pub async fn role_of(db: &Db, space: SpaceId, user: UserId) -> anyhow::Result<Option<Role>> {
    let row = membership::Entity::find_by_id((space.0, user.0)).one(db).await?;
    Ok(row.and_then(|m| Role::parse(&m.role)))
}

/// The roles a person holds, space by space.
pub async fn roles_of(db: &Db, user: UserId) -> anyhow::Result<HashMap<SpaceId, Role>> {
    let rows =
        membership::Entity::find().filter(membership::Column::UserId.eq(user.0)).all(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| Some((SpaceId(m.space_id), Role::parse(&m.role)?)))
        .collect())
}

/// Every membership, as (space, account) pairs.
pub async fn memberships(db: &Db) -> anyhow::Result<Vec<(SpaceId, UserId)>> {
    Ok(membership::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (SpaceId(m.space_id), UserId(m.user_id)))
        .collect())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Member {
    pub user: User,
    pub role: Role,
}

/// A space's members, owners first, then by name.
pub async fn members(db: &Db, space: SpaceId) -> anyhow::Result<Vec<Member>> {
    let rows =
        membership::Entity::find().filter(membership::Column::SpaceId.eq(space.0)).all(db).await?;
    let users = accounts::store::by_ids(db, rows.iter().map(|m| m.user_id)).await?;
    let mut members: Vec<Member> = rows
        .into_iter()
        .filter_map(|m| {
            Some(Member { role: Role::parse(&m.role)?, user: users.get(&m.user_id)?.clone() })
        })
        .collect();
    members.sort_by(|a, b| {
        b.role
            .cmp(&a.role)
            .then_with(|| a.user.name.to_lowercase().cmp(&b.user.name.to_lowercase()))
    });
    Ok(members)
}

/// Gives `user` the role `role` in the space (adding them if needed). Refuses to leave the
/// space without an owner.
pub async fn set_member<C: sea_orm::ConnectionTrait + TransactionTrait>(
    db: &C,
    space: SpaceId,
    user: UserId,
    role: Role,
) -> Result<(), SpaceError> {
    let txn = db.begin().await?;
    if role != Role::Owner {
        ensure_other_owner(&txn, space, user).await?;
    }
    membership::Entity::insert(membership::ActiveModel {
        space_id: Set(space.0),
        user_id: Set(user.0),
        role: Set(role.as_str().to_owned()),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([membership::Column::SpaceId, membership::Column::UserId])
            .update_column(membership::Column::Role)
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes `user` from the space; false if they were not a member.
pub async fn remove_member(db: &Db, space: SpaceId, user: UserId) -> Result<bool, SpaceError> {
    let txn = db.begin().await?;
    ensure_other_owner(&txn, space, user).await?;
    let result = membership::Entity::delete_by_id((space.0, user.0)).exec(&txn).await?;
    txn.commit().await?;
    Ok(result.rows_affected > 0)
}

/// Fails when `user` is the space's only owner (so changing or removing them would orphan it).
async fn ensure_other_owner(
    txn: &sea_orm::DatabaseTransaction,
    space: SpaceId,
    user: UserId,
) -> Result<(), SpaceError> {
    let owners = membership::Entity::find()
        .filter(membership::Column::SpaceId.eq(space.0))
        .filter(membership::Column::Role.eq(Role::Owner.as_str()))
        .all(txn)
        .await?;
    if owners.len() == 1 && owners[0].user_id == user.0 {
        return Err(SpaceError::LastOwner);
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct SpaceChanges {
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
    /// Left as it is when not given.
    pub comments: Option<super::CommentPolicy>,
}

pub async fn update(db: &Db, space: SpaceId, changes: SpaceChanges) -> Result<Space, SpaceError> {
    let title = slug::clean_label(&changes.title);
    let title = title.as_str();
    if title.is_empty() {
        return Err(SpaceError::EmptyTitle);
    }
    let model = space::Entity::find_by_id(space.0)
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("space {} vanished", space.0))?;
    let mut active: space::ActiveModel = model.into();
    active.title = Set(title.chars().take(300).collect());
    active.description = Set(changes.description.trim().chars().take(5000).collect());
    active.visibility = Set(changes.visibility.as_str().to_owned());
    if let Some(policy) = changes.comments {
        active.comment_policy = Set(policy.as_str().to_owned());
    }
    Ok(active.update(db).await?.try_into()?)
}
