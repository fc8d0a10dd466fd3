//! Persistence of documents: the update log and its snapshot. Loading is the newest snapshot plus
//! the updates after it, in order; compaction replaces covered updates by a snapshot, atomically.
use anyhow::Context;
use chrono::Utc;
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::entity::{doc_snapshot, doc_update};
use ruche_base::db::Db;

/// Identifies a document (a page's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DocId(pub i64);

/// What was stored for a document (after a given point).
#[derive(Debug, Default)]
pub struct Stored {
    /// The snapshot, when it covers more than what was asked after.
    pub snapshot: Option<Vec<u8>>,
    /// The sequence number the snapshot (or the point asked after) covers.
    pub base_seq: i64,
    /// Updates after `base_seq`, in sequence order.
    pub updates: Vec<StoredUpdate>,
    /// The sequence number of the last update stored (in the log or folded into the snapshot).
    pub last_seq: i64,
}

#[derive(Debug)]
pub struct StoredUpdate {
    pub seq: i64,
    pub data: Vec<u8>,
    pub author: Option<i64>,
}

/// Everything stored for a document.
pub async fn load(db: &Db, doc: DocId) -> anyhow::Result<Stored> {
    // A page made with content has a snapshot at 0 (before any update): take it too.
    load_since(db, doc, -1).await
}

/// What was stored after update `after`: the updates that follow it, and the snapshot if one
/// now covers more. Another process may compact at the same time: the log is read before the
/// snapshot, so whatever compaction removed in between is in the (newer) snapshot.
pub async fn load_since(db: &Db, doc: DocId, after: i64) -> anyhow::Result<Stored> {
    let logged: Vec<StoredUpdate> = doc_update::Entity::find()
        .filter(doc_update::Column::DocId.eq(doc.0))
        .filter(doc_update::Column::Seq.gt(after))
        .order_by_asc(doc_update::Column::Seq)
        .all(db)
        .await
        .context("loading a document's updates")?
        .into_iter()
        .map(|u| StoredUpdate { seq: u.seq, data: u.data, author: u.author_id })
        .collect();
    if after >= 0 && logged.first().is_some_and(|u| u.seq == after + 1) {
        // The log still holds everything after that point (it loses only its oldest updates,
        // and compaction keeps a tail for processes a little behind): no snapshot needed.
        let last_seq = logged.last().map_or(after, |u| u.seq);
        return Ok(Stored { snapshot: None, base_seq: after, updates: logged, last_seq });
    }
    let snapshot = doc_snapshot::Entity::find_by_id(doc.0)
        .one(db)
        .await
        .context("loading a document snapshot")?
        .filter(|s| s.seq > after);
    let base_seq = snapshot.as_ref().map_or(after.max(0), |s| s.seq);
    let updates: Vec<StoredUpdate> = logged.into_iter().filter(|u| u.seq > base_seq).collect();
    let last_seq = updates.last().map_or(base_seq, |u| u.seq);
    Ok(Stored { snapshot: snapshot.map(|s| s.state), base_seq, updates, last_seq })
}

/// An update about to be stored.
pub struct NewUpdate<'a> {
    pub seq: i64,
    pub data: &'a [u8],
    pub author: Option<i64>,
}

/// Whether a batch was written.
#[derive(Debug, PartialEq, Eq)]
pub enum Appended {
    Stored,
    /// Another process stored updates under these sequence numbers first: nothing was written;
    /// catch up with what it stored and try again.
    Taken,
}

/// Writes a batch of updates at once (group commit): one statement, which stores all of them or
/// none (an explicit transaction around it cost two more round trips to the database per
/// batch; with SQLite each one a hand-over to its thread).
pub async fn append(db: &Db, doc: DocId, updates: &[NewUpdate<'_>]) -> anyhow::Result<Appended> {
    insert(db, rows(doc, updates)).await
}

/// The rows of a batch, as written.
fn rows(doc: DocId, updates: &[NewUpdate<'_>]) -> Vec<doc_update::ActiveModel> {
    let now = Utc::now();
    updates
        .iter()
        .map(|u| doc_update::ActiveModel {
            doc_id: Set(doc.0),
            seq: Set(u.seq),
            data: Set(u.data.to_vec()),
            author_id: Set(u.author),
            created_at: Set(now),
        })
        .collect()
}

/// Writes rows with one statement: all of them or none.
async fn insert(db: &Db, rows: Vec<doc_update::ActiveModel>) -> anyhow::Result<Appended> {
    if rows.is_empty() {
        return Ok(Appended::Stored);
    }
    match doc_update::Entity::insert_many(rows).exec_without_returning(db).await {
        Ok(_) => Ok(Appended::Stored),
        Err(err)
            if matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) =>
        {
            Ok(Appended::Taken)
        }
        Err(err) => Err(anyhow::Error::from(err).context("storing document updates")),
    }
}

/// Rows written with one statement at most, when the batches of several pages go together
/// (a single batch may exceed it: it is never split). SQLite takes 32 766 values a statement,
/// PostgreSQL 65 535; a row is five.
const MAX_GROUP_ROWS: usize = 1024;

/// Writes the batches of every page of this process together: the batches that wait while
/// one statement runs go in the next one (one write, one commit and one hand-over to the
/// database for many pages instead of one each). While several pages write at once — the
/// last statement held batches of several and began less than `linger` ago — it waits until
/// `linger` after it for more (workload (b) of `benches/compare.sh`, 2 000 batches a second:
/// CPU 6.8 → 5.4 s with 1 ms, then 7–8 % less again with 2 ms, p99 +1 ms); a page writing
/// alone is never held here (its own window gathers its updates). Each caller gets the answer
/// `append` would have given it: when a group is refused (one of its batches collided with
/// another process, say), each of its batches is written again on its own.
#[derive(Clone)]
pub struct Committer {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

struct Job {
    rows: Vec<doc_update::ActiveModel>,
    reply: tokio::sync::oneshot::Sender<anyhow::Result<Appended>>,
}

impl Committer {
    /// Starts the writer (on the current runtime); it stops when the last handle goes.
    pub fn start(db: Db, linger: std::time::Duration) -> Self {
        let (jobs, waiting) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(write_groups(db, waiting, linger));
        Self { jobs }
    }

    /// Writes a batch of a document, with the batches of other documents waiting meanwhile.
    pub async fn append(&self, doc: DocId, updates: &[NewUpdate<'_>]) -> anyhow::Result<Appended> {
        if updates.is_empty() {
            return Ok(Appended::Stored);
        }
        let stopped = || anyhow::anyhow!("the writer of document updates has stopped");
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job { rows: rows(doc, updates), reply };
        self.jobs.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_groups(
    db: Db,
    mut waiting: tokio::sync::mpsc::Receiver<Job>,
    linger: std::time::Duration,
) {
    let mut last_write: Option<std::time::Instant> = None;
    let mut last_group = 0;
    while let Some(first) = waiting.recv().await {
        // Busy: several pages wrote together last time, and it was less than `linger` ago;
        // waiting until then gathers more of them. (One page alone is never held here: its
        // own window already gathered its updates.)
        if let Some(until) = linger_until(last_write, last_group, linger) {
            tokio::time::sleep_until(until.into()).await;
        }
        let mut count = first.rows.len();
        let mut group = vec![first];
        while count < MAX_GROUP_ROWS {
            let Ok(job) = waiting.try_recv() else { break };
            count += job.rows.len();
            group.push(job);
        }
        last_write = Some(std::time::Instant::now());
        last_group = group.len();
        if group.len() == 1 {
            for job in group {
                let _ = job.reply.send(insert(&db, job.rows).await);
            }
            continue;
        }
        let all: Vec<doc_update::ActiveModel> =
            group.iter().flat_map(|job| job.rows.iter().cloned()).collect();
        if let Ok(Appended::Stored) = insert(&db, all).await {
            for job in group {
                let _ = job.reply.send(Ok(Appended::Stored));
            }
            continue;
        }
        // Refused as a whole: each batch on its own, for its own answer.
        for job in group {
            let _ = job.reply.send(insert(&db, job.rows).await);
        }
    }
}

/// Until when the writer waits for more batches, having written a group of `last_group`
/// batches at `last_write`: only a group of several pages' batches makes it wait.
fn linger_until(
    last_write: Option<std::time::Instant>,
    last_group: usize,
    linger: std::time::Duration,
) -> Option<std::time::Instant> {
    last_write.filter(|_| last_group > 1).map(|at| at + linger)
}

/// What `append_in_turn` did.
#[derive(Debug)]
pub(crate) enum InTurn {
    /// The batch is stored from sequence number `first`, after `missed`: the updates other
    /// processes stored since `known`, which the caller has not applied yet.
    Stored { first: i64, missed: Vec<StoredUpdate> },
    /// The updates after `known` were compacted away, or a process not taking turns stored
    /// first: catch up, then retry.
    Behind,
}

/// Writes a batch after whatever other processes stored, waiting for its turn (PostgreSQL:
/// a transaction-scoped advisory lock per document): nothing is refused, and the updates stored
/// meanwhile come back with the answer, read in the same transaction.
pub(crate) async fn append_in_turn(
    db: &Db,
    doc: DocId,
    known: i64,
    batch: &[(&[u8], Option<i64>)],
) -> anyhow::Result<InTurn> {
    use sea_orm::{ConnectionTrait, Statement};
    let txn = db.begin().await?;
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "SELECT pg_advisory_xact_lock($1, $2)",
        [RELAY_LOCK_CLASS.into(), i32::try_from(doc.0 & 0x7fff_ffff).unwrap_or(0).into()],
    ))
    .await
    .context("waiting for the document's turn")?;
    let missed: Vec<StoredUpdate> = doc_update::Entity::find()
        .filter(doc_update::Column::DocId.eq(doc.0))
        .filter(doc_update::Column::Seq.gt(known))
        .order_by_asc(doc_update::Column::Seq)
        .all(&txn)
        .await
        .context("reading the updates stored meanwhile")?
        .into_iter()
        .map(|u| StoredUpdate { seq: u.seq, data: u.data, author: u.author_id })
        .collect();
    if missed.first().is_some_and(|u| u.seq != known + 1) {
        return Ok(InTurn::Behind);
    }
    if missed.is_empty() {
        // Nothing in the log after `known`: it may have been compacted past it.
        let covered = doc_snapshot::Entity::find_by_id(doc.0)
            .one(&txn)
            .await
            .context("reading the document's snapshot")?
            .is_some_and(|s| s.seq > known);
        if covered {
            return Ok(InTurn::Behind);
        }
    }
    let first = missed.last().map_or(known, |u| u.seq) + 1;
    let now = Utc::now();
    let rows = batch.iter().zip(first..).map(|((data, author), seq)| doc_update::ActiveModel {
        doc_id: Set(doc.0),
        seq: Set(seq),
        data: Set(data.to_vec()),
        author_id: Set(*author),
        created_at: Set(now),
    });
    if let Err(err) = doc_update::Entity::insert_many(rows).exec(&txn).await {
        // A process not taking turns yet stored first: catch up and try again.
        if matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
            return Ok(InTurn::Behind);
        }
        return Err(anyhow::Error::from(err).context("storing document updates"));
    }
    txn.commit().await.context("committing document updates")?;
    Ok(InTurn::Stored { first, missed })
}

/// The first key of the advisory locks that give processes their turn on a document's log.
const RELAY_LOCK_CLASS: i32 = 0x5275_6368; // "Ruch"

/// Stores `state` as covering every update up to `seq`, and drops those updates but the last
/// `keep` (so that other processes a little behind catch up from the log), atomically. A
/// snapshot already covering more (another process compacted further) is kept.
pub async fn compact<C: sea_orm::ConnectionTrait + TransactionTrait>(
    db: &C,
    doc: DocId,
    state: Vec<u8>,
    seq: i64,
    keep: i64,
) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    doc_snapshot::Entity::insert(doc_snapshot::ActiveModel {
        doc_id: Set(doc.0),
        state: Set(state),
        seq: Set(seq),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(doc_snapshot::Column::DocId)
            .update_columns([
                doc_snapshot::Column::State,
                doc_snapshot::Column::Seq,
                doc_snapshot::Column::UpdatedAt,
            ])
            .action_and_where(
                Expr::col((doc_snapshot::Entity, doc_snapshot::Column::Seq))
                    .lt(Expr::cust("excluded.seq")),
            )
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await
    .context("writing a snapshot")?;
    doc_update::Entity::delete_many()
        .filter(doc_update::Column::DocId.eq(doc.0))
        .filter(doc_update::Column::Seq.lte(seq - keep.max(0)))
        .exec(&txn)
        .await
        .context("dropping compacted updates")?;
    txn.commit().await.context("committing a compaction")?;
    Ok(())
}

/// How many updates wait in the log after the snapshot.
pub async fn log_length(db: &Db, doc: DocId) -> anyhow::Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(doc_update::Entity::find().filter(doc_update::Column::DocId.eq(doc.0)).count(db).await?)
}

/// The authors of the updates stored after `seq` (for "who changed this").
pub async fn authors_since(db: &Db, doc: DocId, seq: i64) -> anyhow::Result<Vec<i64>> {
    let rows: Vec<Option<i64>> = doc_update::Entity::find()
        .select_only()
        .column(doc_update::Column::AuthorId)
        .filter(doc_update::Column::DocId.eq(doc.0))
        .filter(doc_update::Column::Seq.gt(seq))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().flatten().collect())
}

/// Removes everything stored for a document (when its page is purged).
pub async fn delete(db: &Db, doc: DocId) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    doc_update::Entity::delete_many()
        .filter(doc_update::Column::DocId.eq(doc.0))
        .exec(&txn)
        .await?;
    doc_snapshot::Entity::delete_by_id(doc.0).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_writer_waits_only_after_a_group_of_several_pages() {
        let (now, linger) = (Instant::now(), Duration::from_millis(2));
        assert_eq!(linger_until(None, 0, linger), None, "nothing written yet");
        assert_eq!(linger_until(Some(now), 1, linger), None, "a page writing alone");
        assert_eq!(linger_until(Some(now), 3, linger), Some(now + linger));
    }
}
