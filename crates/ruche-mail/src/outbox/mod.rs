//! One outbox for everything the site sends out. A message is written in the same transaction
//! as the change that caused it, then a background worker hands it to the sender of its kind,
//! retrying with growing delays while the other end refuses or is away, and giving up after two
//! days with the reason kept. The outbox does not know what a mail is. With several processes
//! on PostgreSQL, rows are claimed with `FOR UPDATE SKIP LOCKED`: each is sent once.
pub mod entity;

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::Db;

/// How long a claimed message is left to its sender before another worker may take it (a
/// process that died while sending).
const LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// Messages taken at once.
const BATCH: i64 = 20;
/// Messages handed to their senders at the same time.
const SENDING_AT_ONCE: usize = 8;
/// The longest wait between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(3600);

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// The wait after a first failure; it doubles with each attempt (up to an hour).
    pub first_retry: Duration,
    /// How often the outbox is looked at when nobody says a message was written.
    pub poll: Duration,
    /// After this long, a message still refused is given up.
    pub give_up_after: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(30),
            poll: Duration::from_secs(10),
            give_up_after: Duration::from_secs(2 * 24 * 3600),
        }
    }
}

/// A message to send, as the worker hands it to its sender.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub payload: String,
}

/// Why a message was not sent.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// The other end is away or busy: try again later.
    Retry(String),
    /// It will never take it (an unknown recipient): give up now.
    Final(String),
}

type Sending = Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send>>;
/// Sends the messages of one kind.
pub type Sender = Arc<dyn Fn(Message) -> Sending + Send + Sync>;

/// Writes a message to the outbox (in `db`, the transaction of the change that causes it).
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    recipient: &str,
    payload: &str,
) -> anyhow::Result<i64> {
    let now = Utc::now();
    let model = entity::ActiveModel {
        kind: Set(kind.to_owned()),
        recipient: Set(recipient.chars().take(300).collect()),
        payload: Set(payload.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(model.id)
}

/// Empties what a message carried, once its sender has done with it (in `db`, the sender's
/// transaction): a sign-up's password hash need not stay in the outbox.
pub async fn forget_payload<C: ConnectionTrait>(db: &C, id: i64) -> anyhow::Result<()> {
    entity::Entity::update_many()
        .col_expr(entity::Column::Payload, sea_orm::sea_query::Expr::value(String::new()))
        .filter(entity::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Where a message stands, for administrators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Sent,
    Failed,
}

impl Status {
    pub fn of(m: &entity::Model) -> Self {
        match (m.sent_at, m.failed_at) {
            (Some(_), _) => Status::Sent,
            (None, Some(_)) => Status::Failed,
            _ => Status::Queued,
        }
    }
}

/// The newest messages, newest first.
pub async fn recent(db: &Db, limit: u64) -> anyhow::Result<Vec<entity::Model>> {
    Ok(entity::Entity::find().order_by_desc(entity::Column::Id).limit(limit).all(db).await?)
}

/// The newest messages of one kind, newest first.
pub async fn recent_of(db: &Db, kind: &str, limit: u64) -> anyhow::Result<Vec<entity::Model>> {
    Ok(entity::Entity::find()
        .filter(entity::Column::Kind.eq(kind))
        .order_by_desc(entity::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Puts a message given up (or sent) back in the queue, to be sent again now.
pub async fn send_again(db: &Db, id: i64) -> anyhow::Result<bool> {
    let Some(model) = entity::Entity::find_by_id(id).one(db).await? else { return Ok(false) };
    let mut active: entity::ActiveModel = model.into();
    active.sent_at = Set(None);
    active.failed_at = Set(None);
    active.attempts = Set(0);
    active.next_attempt_at = Set(Utc::now());
    // Its two days start again.
    active.created_at = Set(Utc::now());
    active.update(db).await?;
    Ok(true)
}

/// The background worker: wakes when told a message was written, or every `poll`.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    senders: Arc<HashMap<String, Sender>>,
    settings: OutboxSettings,
    wake: Arc<Notify>,
}

impl Outbox {
    pub fn new(db: Db, senders: HashMap<String, Sender>, settings: OutboxSettings) -> Self {
        Self { db, senders: Arc::new(senders), settings, wake: Arc::new(Notify::new()) }
    }

    /// Says a message was just written (once its transaction committed): it goes now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.round().await {
                Ok(0) => {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(self.settings.poll) => {}
                    }
                }
                Ok(_) => {
                    if stop.is_cancelled() {
                        return;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = ?err, "the outbox could not be read");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(self.settings.poll) => {}
                    }
                }
            }
        }
    }

    /// Sends what is due; answers how many messages it took.
    pub async fn round(&self) -> anyhow::Result<usize> {
        use futures_util::StreamExt;
        let claimed = claim(&self.db).await?;
        let n = claimed.len();
        // A few at once: a slow recipient's server does not hold the others up.
        let settled: Vec<anyhow::Result<()>> = futures_util::stream::iter(claimed)
            .map(|(message, attempts, created_at)| async move {
                let outcome = match self.senders.get(&message.kind) {
                    Some(send) => send(message.clone()).await,
                    None => Err(Refusal::Retry(format!("nothing sends {:?} here", message.kind))),
                };
                self.settle(message.id, attempts, created_at, outcome).await
            })
            .buffer_unordered(SENDING_AT_ONCE)
            .collect()
            .await;
        settled.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
        Ok(n)
    }

    async fn settle(
        &self,
        id: i64,
        attempts: i32,
        created_at: chrono::DateTime<Utc>,
        outcome: Result<(), Refusal>,
    ) -> anyhow::Result<()> {
        let Some(model) = entity::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(());
        };
        let mut active: entity::ActiveModel = model.into();
        let now = Utc::now();
        match outcome {
            Ok(()) => {
                active.sent_at = Set(Some(now));
                active.last_error = Set(None);
            }
            Err(refusal) => {
                let (reason, last) = match refusal {
                    Refusal::Final(reason) => (reason, true),
                    Refusal::Retry(reason) => {
                        let age = (now - created_at).to_std().unwrap_or_default();
                        (reason, age >= self.settings.give_up_after)
                    }
                };
                tracing::info!(id, attempts, reason = %reason, given_up = last, "a message was not sent");
                active.last_error = Set(Some(reason.chars().take(1000).collect()));
                if last {
                    active.failed_at = Set(Some(now));
                } else {
                    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(16);
                    let delay =
                        self.settings.first_retry.saturating_mul(1 << exponent).min(MAX_DELAY);
                    active.next_attempt_at =
                        Set(now + chrono::TimeDelta::from_std(delay).unwrap_or(LEASE));
                }
            }
        }
        active.update(&self.db).await?;
        Ok(())
    }
}

/// Takes the messages that are due (at most `BATCH`): each is leased for `LEASE`, so no other
/// worker takes it meanwhile. On PostgreSQL, rows another worker is claiming are skipped.
async fn claim(db: &Db) -> anyhow::Result<Vec<(Message, i32, chrono::DateTime<Utc>)>> {
    let now = Utc::now();
    let lease = now + LEASE;
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE outbox_messages SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox_messages \
                          WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
                          ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, recipient, payload, attempts, created_at"
        }
        // One process writes a SQLite database: the statement alone is atomic.
        _ => {
            "UPDATE outbox_messages SET next_attempt_at = ?, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox_messages \
                          WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? \
                          ORDER BY id LIMIT ?) \
             RETURNING id, kind, recipient, payload, attempts, created_at"
        }
    };
    let rows = db
        .query_all(Statement::from_sql_and_values(
            backend,
            sql,
            [lease.into(), now.into(), BATCH.into()],
        ))
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        claimed.push((
            Message {
                id: row.try_get("", "id")?,
                kind: row.try_get("", "kind")?,
                recipient: row.try_get("", "recipient")?,
                payload: row.try_get("", "payload")?,
            },
            row.try_get("", "attempts")?,
            row.try_get("", "created_at")?,
        ));
    }
    claimed.sort_by_key(|(m, ..)| m.id);
    Ok(claimed)
}
