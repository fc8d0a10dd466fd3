//! Storage of accounts: creating, finding, authenticating and changing them.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use super::{
    entity::{password_reset, user},
    password, Email, User, UserId, MIN_PASSWORD_LEN,
};
use crate::db::Db;
use crate::slug;

/// Why an account could not be created; each maps to a message next to the field.
#[derive(Debug, thiserror::Error)]
pub enum NewUserError {
    #[error("invalid e-mail")]
    InvalidEmail,
    #[error("name required")]
    EmptyName,
    #[error("password too short")]
    ShortPassword,
    #[error("e-mail already used")]
    EmailTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for NewUserError {
    fn from(err: sea_orm::DbErr) -> Self {
        NewUserError::Internal(err.into())
    }
}

/// What a new account needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password: String,
    pub is_admin: bool,
}

/// A new account's address and name, checked: what can be refused in what was typed, before
/// anything is looked up (so a refusal never depends on who has an account).
pub fn check(new: &NewUser) -> Result<(Email, String), NewUserError> {
    let email = Email::parse(&new.email).ok_or(NewUserError::InvalidEmail)?;
    let name = slug::clean_label(&new.name);
    if name.is_empty() {
        return Err(NewUserError::EmptyName);
    }
    if new.password.chars().count() < MIN_PASSWORD_LEN {
        return Err(NewUserError::ShortPassword);
    }
    Ok((email, name))
}

/// Validates and creates an account (within `conn`, which may be a transaction).
pub async fn create<C: ConnectionTrait>(conn: &C, new: NewUser) -> Result<User, NewUserError> {
    let (email, name) = check(&new)?;
    let hash = password::hash(new.password).await?;
    insert(conn, &email, &name, hash, new.is_admin).await
}

/// Creates an account `check`ed, whose password is hashed already (an open sign-up made after
/// its answer); `EmailTaken` when the address has one.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    email: &Email,
    name: &str,
    password_hash: String,
    is_admin: bool,
) -> Result<User, NewUserError> {
    if find_by_email_in(conn, email.as_str()).await?.is_some() {
        return Err(NewUserError::EmailTaken);
    }
    let handle = free_handle(conn, name, None).await?;
    let model = user::ActiveModel {
        handle: Set(Some(handle)),
        email: Set(email.as_str().to_owned()),
        name: Set(name.chars().take(200).collect()),
        password_hash: Set(password_hash),
        is_admin: Set(is_admin),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map_err(|err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => NewUserError::EmailTaken,
        _ => NewUserError::Internal(err.into()),
    })?;
    Ok(model.into())
}

async fn find_by_email_in<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> anyhow::Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(conn)
        .await?)
}

/// Longest handle made from a name.
const HANDLE_MAX: usize = 40;

/// A handle nobody else has, made from `name`: `marie-dupont`, else `marie-dupont-2`, …
async fn free_handle<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    owner: Option<UserId>,
) -> anyhow::Result<String> {
    let mut base = slug::slugify(name, HANDLE_MAX);
    if base.is_empty() {
        base = "membre".to_owned();
    }
    let taken: std::collections::HashSet<String> = user::Entity::find()
        .filter(user::Column::Handle.starts_with(&base))
        .filter(user::Column::Id.ne(owner.map_or(0, |o| o.0)))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|u| u.handle)
        .collect();
    let mut handle = base.clone();
    let mut n = 2;
    while taken.contains(&handle) {
        handle = format!("{base}-{n}");
        n += 1;
    }
    Ok(handle)
}

/// Gives a handle to every account without one (accounts made before handles existed).
pub async fn ensure_handles(db: &Db) -> anyhow::Result<()> {
    let without = user::Entity::find()
        .filter(user::Column::Handle.is_null())
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?;
    for account in without {
        let handle = free_handle(db, &account.name, Some(UserId(account.id))).await?;
        user::Entity::update_many()
            .col_expr(user::Column::Handle, sea_orm::sea_query::Expr::value(handle))
            .filter(user::Column::Id.eq(account.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The secret of a person's one-click unsubscribe link, made the first time it is needed.
pub async fn unsubscribe_key(db: &Db, id: UserId) -> anyhow::Result<String> {
    let account = user::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account {}", id.0))?;
    if let Some(key) = account.unsubscribe_key {
        return Ok(key);
    }
    let key: String = rand::random::<[u8; 20]>().iter().map(|b| format!("{b:02x}")).collect();
    // Another process may have made one meanwhile: only a missing key is set, then read back.
    user::Entity::update_many()
        .col_expr(user::Column::UnsubscribeKey, sea_orm::sea_query::Expr::value(key))
        .filter(user::Column::Id.eq(id.0))
        .filter(user::Column::UnsubscribeKey.is_null())
        .exec(db)
        .await?;
    let account = user::Entity::find_by_id(id.0).one(db).await?;
    account
        .and_then(|a| a.unsubscribe_key)
        .ok_or_else(|| anyhow::anyhow!("no unsubscribe key for {}", id.0))
}

/// The account whose unsubscribe link holds `key`.
pub async fn by_unsubscribe_key(db: &Db, key: &str) -> anyhow::Result<Option<User>> {
    if key.len() != 40 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(user::Entity::find()
        .filter(user::Column::UnsubscribeKey.eq(key))
        .one(db)
        .await?
        .map(Into::into))
}

/// The account that answers to `@handle`.
pub async fn find_by_handle(db: &Db, handle: &str) -> anyhow::Result<Option<User>> {
    Ok(user::Entity::find()
        .filter(user::Column::Handle.eq(handle.to_lowercase()))
        .one(db)
        .await?
        .map(Into::into))
}

pub async fn find_by_email(db: &Db, email: &str) -> anyhow::Result<Option<User>> {
    Ok(find_by_email_in(db, email).await?.map(Into::into))
}

pub async fn find<C: ConnectionTrait>(db: &C, id: UserId) -> anyhow::Result<Option<User>> {
    Ok(user::Entity::find_by_id(id.0).one(db).await?.map(Into::into))
}

/// The accounts with these ids, by id (ids without an account are left out).
pub async fn by_ids(
    db: &Db,
    ids: impl IntoIterator<Item = i64>,
) -> anyhow::Result<std::collections::HashMap<i64, User>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, User::from(u)))
        .collect())
}

pub async fn count<C: ConnectionTrait>(conn: &C) -> anyhow::Result<u64> {
    Ok(user::Entity::find().count(conn).await?)
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<User>> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Outcome of checking an e-mail and password.
#[derive(Debug)]
pub enum SignIn {
    Ok(User),
    WrongCredentials,
    Disabled,
    /// The right password, but the address given at sign-up is not confirmed yet.
    Unconfirmed(User),
}

pub async fn authenticate(db: &Db, email: &str, pass: &str) -> anyhow::Result<SignIn> {
    let Some(model) = find_by_email_in(db, email).await? else {
        // Spend the same time as for a real account.
        password::verify(pass.to_owned(), password::dummy_hash().await.to_owned()).await?;
        return Ok(SignIn::WrongCredentials);
    };
    if !password::verify(pass.to_owned(), model.password_hash.clone()).await? {
        return Ok(SignIn::WrongCredentials);
    }
    if model.disabled {
        return Ok(SignIn::Disabled);
    }
    if !model.email_confirmed {
        return Ok(SignIn::Unconfirmed(model.into()));
    }
    Ok(SignIn::Ok(model.into()))
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("wrong current password")]
    WrongCurrent,
    #[error("password too short")]
    ShortPassword,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub async fn change_password(
    db: &Db,
    id: UserId,
    current: &str,
    new: &str,
) -> Result<(), PasswordChangeError> {
    let model = user::Entity::find_by_id(id.0)
        .one(db)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| anyhow::anyhow!("account {} vanished", id.0))?;
    if !password::verify(current.to_owned(), model.password_hash.clone()).await? {
        return Err(PasswordChangeError::WrongCurrent);
    }
    if new.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordChangeError::ShortPassword);
    }
    let hash = password::hash(new.to_owned()).await?;
    let mut active: user::ActiveModel = model.into();
    active.password_hash = Set(hash);
    let txn = db.begin().await.map_err(anyhow::Error::from)?;
    active.update(&txn).await.map_err(anyhow::Error::from)?;
    revoke_reset_links(&txn, id).await?;
    txn.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// Sets a new password without the current one (a reset link, the command line). Every session
/// signed in with the old one ends (their fingerprint no longer matches).
pub async fn set_password<C: ConnectionTrait>(
    db: &C,
    id: UserId,
    new: &str,
) -> Result<User, PasswordChangeError> {
    if new.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordChangeError::ShortPassword);
    }
    let model = user::Entity::find_by_id(id.0)
        .one(db)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| anyhow::anyhow!("account {} vanished", id.0))?;
    let hash = password::hash(new.to_owned()).await?;
    let mut active: user::ActiveModel = model.into();
    active.password_hash = Set(hash);
    let changed = active.update(db).await.map_err(anyhow::Error::from)?.into();
    revoke_reset_links(db, id).await?;
    Ok(changed)
}

/// Spends every reset link of an account still outstanding: once its password is changed (by
/// one of them, on the account page or from the command line), an older mail opens nothing.
async fn revoke_reset_links<C: ConnectionTrait>(db: &C, id: UserId) -> anyhow::Result<()> {
    revoke_links(db, id, password_reset::Purpose::Reset).await
}

/// Spends every link of an account for `purpose` still outstanding.
async fn revoke_links<C: ConnectionTrait>(
    db: &C,
    id: UserId,
    purpose: password_reset::Purpose,
) -> anyhow::Result<()> {
    password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
        .filter(password_reset::Column::UserId.eq(id.0))
        .filter(password_reset::Column::Purpose.eq(purpose.as_str()))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Whether an account's address is confirmed (or needs no confirming).
pub async fn is_confirmed<C: ConnectionTrait>(db: &C, id: UserId) -> anyhow::Result<bool> {
    let found = user::Entity::find_by_id(id.0).one(db).await?;
    Ok(found.is_some_and(|u| u.email_confirmed))
}

/// Marks an account's address as confirmed (or waiting for it).
pub async fn set_confirmed<C: ConnectionTrait>(
    db: &C,
    id: UserId,
    confirmed: bool,
) -> anyhow::Result<()> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailConfirmed, sea_orm::sea_query::Expr::value(confirmed))
        .filter(user::Column::Id.eq(id.0))
        .exec(db)
        .await?;
    // Confirmed (by one link, or otherwise): every other confirmation mail opens nothing now.
    if confirmed {
        revoke_links(db, id, password_reset::Purpose::Confirm).await?;
    }
    Ok(())
}

/// Why a name was refused.
#[derive(Debug)]
pub enum NameError {
    Empty,
    Internal(anyhow::Error),
}

/// Changes the name an account is shown under (cleaned, 200 characters at most).
pub async fn set_name(db: &Db, id: UserId, name: &str) -> Result<(), NameError> {
    let name: String = slug::clean_label(name).chars().take(200).collect();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    update_flag(db, id, |active| active.name = Set(name)).await.map_err(NameError::Internal)?;
    Ok(())
}

/// Whether a person writes seeing the Markdown code.
pub async fn set_show_markdown(db: &Db, id: UserId, show: bool) -> anyhow::Result<()> {
    user::Entity::update_many()
        .col_expr(user::Column::ShowMarkdown, sea_orm::sea_query::Expr::value(show))
        .filter(user::Column::Id.eq(id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// The zone a person reads times in; `None`: the site's. Only zones offered may be chosen.
pub async fn set_time_zone(db: &Db, id: UserId, zone: Option<chrono_tz::Tz>) -> anyhow::Result<()> {
    let name = zone.map(|z| z.name().to_owned());
    update_flag(db, id, |active| active.time_zone = Set(name)).await?;
    Ok(())
}

/// Disables or re-enables an account. A disabled account cannot sign in and its sessions and
/// tokens stop working at once (they are checked on every request).
pub async fn set_disabled(db: &Db, id: UserId, disabled: bool) -> anyhow::Result<bool> {
    update_flag(db, id, |active| active.disabled = Set(disabled)).await
}

pub async fn set_admin(db: &Db, id: UserId, is_admin: bool) -> anyhow::Result<bool> {
    update_flag(db, id, |active| active.is_admin = Set(is_admin)).await
}

async fn update_flag(
    db: &Db,
    id: UserId,
    change: impl FnOnce(&mut user::ActiveModel),
) -> anyhow::Result<bool> {
    let Some(model) = user::Entity::find_by_id(id.0).one(db).await? else {
        return Ok(false);
    };
    let mut active: user::ActiveModel = model.into();
    change(&mut active);
    active.update(db).await?;
    Ok(true)
}
