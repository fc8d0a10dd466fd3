//! Persistence of documents: the update log and its snapshot. Loading is the newest snapshot plus
//! the updates after it, in order; compaction replaces covered updates by a snapshot, atomically.
use anyhow::Context;
use chrono::Utc;
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use super::entity::{doc_snapshot, doc_update};
use crate::db::Db;

/// Identifies a document (a page's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DocId(pub i64);

/// What was stored for a document.
#[derive(Debug, Default)]
pub struct Stored {
    pub snapshot: Option<Vec<u8>>,
    /// Updates after the snapshot, in sequence order.
    pub updates: Vec<(i64, Vec<u8>)>,
    /// The sequence number of the last update stored (in the log or folded into the snapshot).
    pub last_seq: i64,
}

pub async fn load(db: &Db, doc: DocId) -> anyhow::Result<Stored> {
    let snapshot = doc_snapshot::Entity::find_by_id(doc.0)
        .one(db)
        .await
        .context("loading a document snapshot")?;
    let after = snapshot.as_ref().map_or(0, |s| s.seq);
    let updates: Vec<(i64, Vec<u8>)> = doc_update::Entity::find()
        .filter(doc_update::Column::DocId.eq(doc.0))
        .filter(doc_update::Column::Seq.gt(after))
        .order_by_asc(doc_update::Column::Seq)
        .all(db)
        .await
        .context("loading a document's updates")?
        .into_iter()
        .map(|u| (u.seq, u.data))
        .collect();
    let last_seq = updates.last().map_or(after, |(seq, _)| *seq);
    Ok(Stored { snapshot: snapshot.map(|s| s.state), updates, last_seq })
}

/// An update about to be stored.
pub struct NewUpdate<'a> {
    pub seq: i64,
    pub data: &'a [u8],
    pub author: Option<i64>,
}

/// Writes a batch of updates in one transaction (group commit).
pub async fn append(db: &Db, doc: DocId, updates: &[NewUpdate<'_>]) -> anyhow::Result<()> {
    if updates.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = updates.iter().map(|u| doc_update::ActiveModel {
        doc_id: Set(doc.0),
        seq: Set(u.seq),
        data: Set(u.data.to_vec()),
        author_id: Set(u.author),
        created_at: Set(now),
    });
    let txn = db.begin().await?;
    doc_update::Entity::insert_many(rows).exec(&txn).await.context("storing document updates")?;
    txn.commit().await.context("committing document updates")?;
    Ok(())
}

/// Stores `state` as covering every update up to `seq`, and drops those updates, atomically.
pub async fn compact(db: &Db, doc: DocId, state: Vec<u8>, seq: i64) -> anyhow::Result<()> {
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
            .to_owned(),
    )
    .exec(&txn)
    .await
    .context("writing a snapshot")?;
    doc_update::Entity::delete_many()
        .filter(doc_update::Column::DocId.eq(doc.0))
        .filter(doc_update::Column::Seq.lte(seq))
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
