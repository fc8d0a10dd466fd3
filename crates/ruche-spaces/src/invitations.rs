//! Invitations: single-use links that make an account (and a membership, for a space's). One sent
//! to an address makes or joins only that address; one an administrator passes on by hand makes
//! an account whose address is then confirmed by mail.
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::{
    accounts::{
        entity::invitation,
        store::{self, NewUser, NewUserError},
        tokens::{generate_secret, hash_secret},
        User, UserId,
    },
    db::Db,
    spaces,
};

/// How long an invitation link stays valid.
pub const VALIDITY_DAYS: i64 = 14;

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: i64,
    pub note: String,
    /// The address invited, for invitations sent by mail.
    pub email: Option<String>,
    /// The space it leads into, and the role there (`editor`, …).
    pub space_id: Option<i64>,
    pub role: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub expires_at: chrono::DateTime<Utc>,
    pub used: bool,
    /// Who made it (the owner who invited, or the administrator).
    pub created_by: UserId,
}

impl From<invitation::Model> for Invitation {
    fn from(m: invitation::Model) -> Self {
        Self {
            id: m.id,
            note: m.note,
            email: m.email,
            space_id: m.space_id,
            role: m.role,
            created_at: m.created_at,
            expires_at: m.expires_at,
            used: m.used_at.is_some(),
            created_by: UserId(m.created_by),
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

/// Invites `email` into a space with `role` (in `db`, the transaction that writes its mail);
/// returns the secret for the link. An earlier invitation of the same address into the same
/// space that was not used is replaced.
pub async fn create_for_space<C: sea_orm::ConnectionTrait>(
    db: &C,
    by: UserId,
    email: &str,
    space: spaces::SpaceId,
    role: spaces::Role,
) -> anyhow::Result<String> {
    invitation::Entity::delete_many()
        .filter(invitation::Column::Email.eq(email))
        .filter(invitation::Column::SpaceId.eq(space.0))
        .filter(invitation::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    let secret = generate_secret();
    let now = Utc::now();
    invitation::ActiveModel {
        token_hash: Set(hash_secret(&secret)),
        created_by: Set(by.0),
        note: Set(String::new()),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(VALIDITY_DAYS)),
        used_at: Set(None),
        used_by: Set(None),
        email: Set(Some(email.to_owned())),
        space_id: Set(Some(space.0)),
        role: Set(Some(role.as_str().to_owned())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(secret)
}

/// How long after an invitation was mailed it is not mailed again (inviting the same address
/// twice, or "send again"): mail usually arrives within minutes, so before a quarter of an hour
/// a second one would only double the first in the person's mailbox.
pub const RESEND_AFTER: Duration = Duration::minutes(15);

/// An invitation mailed a short while ago, asked for again.
#[derive(Debug, Clone, Copy)]
pub struct MailedLately {
    /// Its role changed to the one asked for now.
    pub role_changed: bool,
    /// When it may be mailed again.
    pub resend_at: chrono::DateTime<Utc>,
}

/// When an invitation made at `created_at` may be mailed again.
pub fn resend_at(created_at: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    created_at + RESEND_AFTER
}

/// Whether `email` was invited into `space` less than `RESEND_AFTER` ago by an invitation not
/// used, waiting or withdrawn since (`withdraw` keeps the row for this); if so, that invitation
/// waits again and gives `role` (the latest choice), and nothing is mailed again: withdrawing
/// and inviting again is no way to mail an address over and over.
pub async fn mailed_lately<C: sea_orm::ConnectionTrait>(
    db: &C,
    email: &str,
    space: spaces::SpaceId,
    role: spaces::Role,
) -> anyhow::Result<Option<MailedLately>> {
    let lately = invitation::Entity::find()
        .filter(invitation::Column::Email.eq(email))
        .filter(invitation::Column::SpaceId.eq(space.0))
        .filter(invitation::Column::UsedAt.is_null())
        .filter(invitation::Column::CreatedAt.gt(Utc::now() - RESEND_AFTER))
        .one(db)
        .await?;
    let Some(lately) = lately else { return Ok(None) };
    let resend_at = resend_at(lately.created_at);
    let expires = lately.created_at + Duration::days(VALIDITY_DAYS);
    let role_changed = lately.role.as_deref() != Some(role.as_str());
    if role_changed || lately.expires_at != expires {
        let mut active: invitation::ActiveModel = lately.into();
        active.role = Set(Some(role.as_str().to_owned()));
        active.expires_at = Set(expires);
        active.update(db).await?;
    }
    Ok(Some(MailedLately { role_changed, resend_at }))
}

/// The invitations into a space still waiting to be accepted (not used, not expired).
pub async fn pending_for_space(db: &Db, space: spaces::SpaceId) -> anyhow::Result<Vec<Invitation>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::SpaceId.eq(space.0))
        .filter(invitation::Column::UsedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(invitation::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Withdraws an invitation into `space`: its link stops working (it expires now; the row stays
/// so that `mailed_lately` still knows when the address was mailed). False if there was none.
pub async fn withdraw(db: &Db, space: spaces::SpaceId, id: i64) -> anyhow::Result<bool> {
    let now = Utc::now();
    let gone = invitation::Entity::update_many()
        .col_expr(invitation::Column::ExpiresAt, sea_orm::sea_query::Expr::value(now))
        .filter(invitation::Column::Id.eq(id))
        .filter(invitation::Column::SpaceId.eq(space.0))
        .filter(invitation::Column::UsedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(gone.rows_affected > 0)
}

/// The invitation a link names (the address it was sent to, the space it leads into, who made
/// it), when it still works.
pub async fn details(db: &Db, secret: &str) -> anyhow::Result<Option<Invitation>> {
    Ok(find_usable(db, secret).await?.map(Invitation::from))
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
    /// The invitation was sent to another address than the account's (or, sent to nobody, it
    /// only makes a new account).
    #[error("invitation for another address")]
    ForSomeoneElse,
    #[error(transparent)]
    NewUser(#[from] NewUserError),
}

/// Who takes up an invitation.
pub enum Taker {
    /// Someone signed out, making their account. An invitation sent to an address makes the
    /// account with that address, whatever `email` says; one passed on by hand (sent to no
    /// address) with the address given.
    NewAccount(NewUser),
    /// A signed-in person: only an invitation sent to their own address joins their account.
    Account(User),
}

/// An invitation taken up.
pub struct Accepted {
    pub user: User,
    /// The account was made here, with an address nobody has confirmed yet (an invitation
    /// passed on by hand): the caller has it confirmed by mail when mail is set up.
    pub address_unchecked: bool,
    /// The space it led into, if any.
    pub space: Option<i64>,
}

/// Takes up an invitation, in `txn` (the caller commits): makes the account (or takes the
/// signed-in one, if the invitation was sent to its address), spends the invitation and makes
/// the person a member of its space. An invitation only ever makes or joins the address it was
/// sent to.
pub async fn accept<C: sea_orm::ConnectionTrait>(
    txn: &C,
    secret: &str,
    taker: Taker,
) -> Result<Accepted, AcceptError> {
    let invitation =
        find_usable(txn, secret).await.map_err(NewUserError::from)?.ok_or(AcceptError::Invalid)?;
    let (user, address_unchecked) = match (invitation.email.as_deref(), taker) {
        (Some(invited), Taker::NewAccount(new)) => {
            (store::create(txn, NewUser { email: invited.to_owned(), ..new }).await?, false)
        }
        (None, Taker::NewAccount(new)) => (store::create(txn, new).await?, true),
        (Some(invited), Taker::Account(user)) if is_same_address(invited, &user.email) => {
            (user, false)
        }
        (_, Taker::Account(_)) => return Err(AcceptError::ForSomeoneElse),
    };
    // Only spend it if nobody spent it in the meantime.
    let spent = invitation::Entity::update_many()
        .col_expr(invitation::Column::UsedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .col_expr(invitation::Column::UsedBy, sea_orm::sea_query::Expr::value(user.id.0))
        .filter(invitation::Column::Id.eq(invitation.id))
        .filter(invitation::Column::UsedAt.is_null())
        .exec(txn)
        .await
        .map_err(NewUserError::from)?;
    if spent.rows_affected != 1 {
        return Err(AcceptError::Invalid);
    }
    // Invited into a space: a member of it at once, with the role chosen.
    let space = match invitation.space_id {
        Some(id) => spaces::entity::space::Entity::find_by_id(id)
            .one(txn)
            .await
            .map_err(NewUserError::from)?
            .map(|s| s.id),
        None => None,
    };
    // (A space deleted since: the account is made all the same.) Someone who is a member
    // already keeps the role they have.
    if let (Some(space), Some(role)) = (space, invitation.role.as_deref()) {
        use crate::spaces::entity::membership;
        membership::Entity::insert(membership::ActiveModel {
            space_id: Set(space),
            user_id: Set(user.id.0),
            role: Set(role.to_owned()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                membership::Column::SpaceId,
                membership::Column::UserId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await
        .map_err(NewUserError::from)?;
    }
    Ok(Accepted { user, address_unchecked, space })
}

/// Whether two addresses are the same mailbox as the site counts them (trimmed, any case).
pub fn is_same_address(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}
