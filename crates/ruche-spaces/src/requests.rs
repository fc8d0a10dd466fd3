//! Requests to join a space: asked by someone who sees it, answered by its owners.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

use super::{
    entity::{join_request, membership},
    store::SpaceError,
    Role, SpaceId,
};
use crate::{
    accounts,
    accounts::{User, UserId},
    db::Db,
    slug,
};

/// The longest message a request carries; what is longer is cut.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// How long an answered request is still shown to the person who asked.
pub(crate) const ANSWER_SHOWN_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Accepted,
    Declined,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "accepted" => Status::Accepted,
            "declined" => Status::Declined,
            _ => Status::Pending,
        }
    }
}

#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub id: i64,
    pub space: SpaceId,
    pub user: UserId,
    pub message: String,
    pub status: Status,
    pub asked_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    /// When the person last changed their message while the request waited.
    pub changed_at: Option<DateTime<Utc>>,
}

impl From<join_request::Model> for JoinRequest {
    fn from(m: join_request::Model) -> Self {
        Self {
            id: m.id,
            space: SpaceId(m.space_id),
            user: UserId(m.user_id),
            message: m.message,
            status: Status::parse(&m.status),
            asked_at: m.created_at,
            answered_at: m.decided_at,
            changed_at: m.updated_at,
        }
    }
}

/// A message as stored: trimmed, its lines kept, without direction or other control
/// characters, cut to its bound.
fn clean_message(message: &str) -> String {
    message
        .trim()
        .chars()
        .filter(|c| *c == '\n' || !(slug::is_bidi_control(*c) || c.is_control()))
        .take(MAX_MESSAGE_CHARS)
        .collect()
}

/// A request asked for, and whether the owners should hear of it.
#[derive(Debug, Clone)]
pub struct Asked {
    pub request: JoinRequest,
    /// A request the owners have not heard of: new, or asked again after it was accepted (the
    /// person left or was removed since). A pending request asked again only carries its new
    /// message (the owners see it on the members page), and a declined one is not renewed:
    /// neither is news, so neither mails them again.
    pub news: bool,
}

/// Records that `user` asks to join `space`, or renews their request with a new message. A
/// declined request is not renewed: the owners said no, and asking again would only nag them.
pub async fn ask<C: sea_orm::ConnectionTrait + TransactionTrait>(
    db: &C,
    space: SpaceId,
    user: UserId,
    message: &str,
) -> anyhow::Result<Asked> {
    let message = clean_message(message);
    let txn = db.begin().await?;
    let existing = join_request::Entity::find()
        .filter(join_request::Column::SpaceId.eq(space.0))
        .filter(join_request::Column::UserId.eq(user.0))
        .one(&txn)
        .await?;
    let (model, news) = match existing {
        Some(row) if Status::parse(&row.status) == Status::Declined => (row, false),
        Some(row) if Status::parse(&row.status) == Status::Pending => {
            // Asked again: the same request, with its new message; it keeps its place, and the
            // owners see that it changed.
            if row.message == message {
                (row, false)
            } else {
                let mut active = row.into_active_model();
                active.message = Set(message);
                active.updated_at = Set(Some(Utc::now()));
                (active.update(&txn).await?, false)
            }
        }
        Some(row) => {
            // Accepted, yet asking: they left or were removed since.
            let mut active = row.into_active_model();
            active.message = Set(message);
            active.status = Set(Status::Pending.as_str().to_owned());
            active.created_at = Set(Utc::now());
            active.decided_at = Set(None);
            active.decided_by = Set(None);
            active.updated_at = Set(None);
            (active.update(&txn).await?, true)
        }
        None => {
            let row = join_request::ActiveModel {
                space_id: Set(space.0),
                user_id: Set(user.0),
                message: Set(message),
                status: Set(Status::Pending.as_str().to_owned()),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            (row, true)
        }
    };
    txn.commit().await?;
    Ok(Asked { request: model.into(), news })
}

/// Whether `user` asking to join `space` would be news to its owners (and so mail them): not
/// when a request of theirs waits (asking again only changes its message) or was declined.
pub fn would_be_news(existing: Option<&JoinRequest>) -> bool {
    !matches!(existing.map(|r| r.status), Some(Status::Pending | Status::Declined))
}

/// The request `user` made to join `space`, if any.
pub async fn of(db: &Db, space: SpaceId, user: UserId) -> anyhow::Result<Option<JoinRequest>> {
    Ok(join_request::Entity::find()
        .filter(join_request::Column::SpaceId.eq(space.0))
        .filter(join_request::Column::UserId.eq(user.0))
        .one(db)
        .await?
        .map(JoinRequest::from))
}

/// The requests waiting for an answer in a space, oldest first, with who asked.
pub async fn pending(db: &Db, space: SpaceId) -> anyhow::Result<Vec<(JoinRequest, User)>> {
    let rows = join_request::Entity::find()
        .filter(join_request::Column::SpaceId.eq(space.0))
        .filter(join_request::Column::Status.eq(Status::Pending.as_str()))
        .order_by_asc(join_request::Column::CreatedAt)
        .all(db)
        .await?;
    // Someone added meanwhile through the members page needs no answer.
    let members: std::collections::HashSet<i64> = membership::Entity::find()
        .filter(membership::Column::SpaceId.eq(space.0))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let rows: Vec<_> = rows.into_iter().filter(|r| !members.contains(&r.user_id)).collect();
    let users = accounts::store::by_ids(db, rows.iter().map(|r| r.user_id)).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let user = users.get(&r.user_id)?.clone();
            Some((JoinRequest::from(r), user))
        })
        .filter(|(_, user)| !user.disabled)
        .collect())
}

/// A person's requests that still wait, or were answered lately, newest first.
pub async fn recent_of(db: &Db, user: UserId) -> anyhow::Result<Vec<JoinRequest>> {
    let since = Utc::now() - chrono::Duration::days(ANSWER_SHOWN_DAYS);
    let rows = join_request::Entity::find()
        .filter(join_request::Column::UserId.eq(user.0))
        .order_by_desc(join_request::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(JoinRequest::from)
        .filter(|r| r.answered_at.is_none_or(|at| at >= since))
        .collect())
}

/// What owners decide about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept(Role),
    Decline,
}

/// Answers a pending request of `space`: accepting makes the person a member with the chosen
/// role, in the same transaction. `None` when there is no such pending request.
pub async fn decide<C: sea_orm::ConnectionTrait + TransactionTrait>(
    db: &C,
    space: SpaceId,
    request: i64,
    decision: Decision,
    by: UserId,
) -> Result<Option<JoinRequest>, SpaceError> {
    let txn = db.begin().await?;
    let Some(row) = join_request::Entity::find_by_id(request)
        .filter(join_request::Column::SpaceId.eq(space.0))
        .filter(join_request::Column::Status.eq(Status::Pending.as_str()))
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    if let Decision::Accept(role) = decision {
        let already = membership::Entity::find_by_id((space.0, row.user_id)).one(&txn).await?;
        // Someone added them meanwhile: their role stays as it is.
        if already.is_none() {
            membership::ActiveModel {
                space_id: Set(space.0),
                user_id: Set(row.user_id),
                role: Set(role.as_str().to_owned()),
                created_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await?;
        }
    }
    let status = match decision {
        Decision::Accept(_) => Status::Accepted,
        Decision::Decline => Status::Declined,
    };
    let mut active = row.into_active_model();
    active.status = Set(status.as_str().to_owned());
    active.decided_at = Set(Some(Utc::now()));
    active.decided_by = Set(Some(by.0));
    let model = active.update(&txn).await?;
    txn.commit().await?;
    Ok(Some(model.into()))
}
