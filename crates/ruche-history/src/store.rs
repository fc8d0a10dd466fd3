//! Storage of revisions: recording one when something changed, listing, reading.
use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use super::{
    diff,
    entity::{revision, revision_author},
    Kind, Revision,
};
use crate::{
    accounts::entity::user,
    collab::Content,
    db::Db,
    pages,
    pages::{
        events::{self, EventKind},
        PageId,
    },
    paging::PageNumber,
};

/// Records a revision of the page, unless nothing changed since the previous one (a restore is
/// always recorded). Returns the new revision, if any.
pub async fn record<C: sea_orm::ConnectionTrait + TransactionTrait>(
    db: &C,
    page: PageId,
    kind: Kind,
    note: &str,
    content: &Content,
    authors: &[i64],
    by: Option<i64>,
) -> anyhow::Result<Option<Revision>> {
    let fields = content.fields.to_string();
    let txn = db.begin().await?;
    // The page row's lock makes two processes recording the same session take turns: the
    // second finds the first's revision and records nothing.
    pages::entity::page::Entity::update_many()
        .col_expr(
            pages::entity::page::Column::Id,
            sea_orm::sea_query::Expr::col(pages::entity::page::Column::Id).into(),
        )
        .filter(pages::entity::page::Column::Id.eq(page.0))
        .exec(&txn)
        .await?;
    let previous = revision::Entity::find()
        .filter(revision::Column::PageId.eq(page.0))
        .order_by_desc(revision::Column::Id)
        .one(&txn)
        .await?;
    let unchanged =
        previous.as_ref().is_some_and(|p| p.markdown == content.markdown && p.fields == fields)
            || (previous.is_none()
                && content.markdown.is_empty()
                && content.fields.as_object().is_none_or(|f| f.is_empty()));
    if unchanged && !matches!(kind, Kind::Restore) {
        return Ok(None);
    }
    // Within a transaction, but bounded: the comparison has a deadline, and runs off the
    // async threads.
    let (old, new) =
        (previous.as_ref().map_or(String::new(), |p| p.markdown.clone()), content.markdown.clone());
    let (added, removed) =
        tokio::task::spawn_blocking(move || diff::word_counts(&old, &new)).await?;
    let model = revision::ActiveModel {
        page_id: Set(page.0),
        kind: Set(kind.as_str().to_owned()),
        note: Set(note.trim().chars().take(200).collect()),
        state: Set(content.state.clone()),
        markdown: Set(content.markdown.clone()),
        fields: Set(fields),
        added: Set(i32::try_from(added).unwrap_or(i32::MAX)),
        removed: Set(i32::try_from(removed).unwrap_or(i32::MAX)),
        created_by: Set(by),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut people: Vec<i64> = authors.to_vec();
    people.sort_unstable();
    people.dedup();
    if !people.is_empty() {
        revision_author::Entity::insert_many(people.iter().map(|&u| {
            revision_author::ActiveModel { revision_id: Set(model.id), user_id: Set(u) }
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    if kind != Kind::BeforeRestore {
        if let Some(p) = pages::store::get(db, page).await? {
            let who = by.or_else(|| people.first().copied());
            events::try_record(db, page, p.space_id, EventKind::Changed, who, Some(model.id), "")
                .await?;
        }
    }
    let names = names_of(db, &people).await?;
    Ok(Some(Revision::from_model(model, names)))
}

async fn names_of<C: sea_orm::ConnectionTrait>(db: &C, ids: &[i64]) -> anyhow::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.name)
        .collect();
    names.sort();
    Ok(names)
}

/// A page's revisions, newest first, `per_page` at a time; how many there are, and which page of
/// them this is (a page past the end is the last one).
pub async fn list(
    db: &Db,
    page: PageId,
    page_number: PageNumber,
    per_page: u64,
) -> anyhow::Result<(Vec<Revision>, u64, PageNumber)> {
    let query = revision::Entity::find()
        .filter(revision::Column::PageId.eq(page.0))
        .order_by_desc(revision::Column::Id);
    let total = query.clone().count(db).await?;
    let page_number = page_number.within(total, per_page);
    let models = query.offset(page_number.offset(per_page)).limit(per_page).all(db).await?;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let authors = revision_author::Entity::find()
        .filter(revision_author::Column::RevisionId.is_in(ids))
        .all(db)
        .await?;
    let user_ids: Vec<i64> = authors.iter().map(|a| a.user_id).collect();
    let names: HashMap<i64, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut by_revision: HashMap<i64, Vec<String>> = HashMap::new();
    for a in authors {
        if let Some(name) = names.get(&a.user_id) {
            by_revision.entry(a.revision_id).or_default().push(name.clone());
        }
    }
    let revisions = models
        .into_iter()
        .map(|m| {
            let mut names = by_revision.remove(&m.id).unwrap_or_default();
            names.sort();
            Revision::from_model(m, names)
        })
        .collect();
    Ok((revisions, total, page_number))
}

/// One revision of the page (never another page's).
pub async fn get(db: &Db, page: PageId, id: i64) -> anyhow::Result<Option<Revision>> {
    let Some(model) = revision::Entity::find_by_id(id)
        .filter(revision::Column::PageId.eq(page.0))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let ids: Vec<i64> = revision_author::Entity::find()
        .filter(revision_author::Column::RevisionId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.user_id)
        .collect();
    let names = names_of(db, &ids).await?;
    Ok(Some(Revision::from_model(model, names)))
}

/// The newest revision of a page.
pub async fn latest(db: &Db, page: PageId) -> anyhow::Result<Option<Revision>> {
    let newest = revision::Entity::find()
        .filter(revision::Column::PageId.eq(page.0))
        .order_by_desc(revision::Column::Id)
        .select_only()
        .column(revision::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    match newest {
        Some(id) => get(db, page, id).await,
        None => Ok(None),
    }
}

/// Deletes revisions older than `days`, always keeping the newest of each page.
pub async fn apply_retention(db: &Db, days: u32) -> anyhow::Result<u64> {
    use sea_orm::sea_query::{Expr, Query};
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
    let newest = Query::select()
        .expr(Expr::col(revision::Column::Id).max())
        .from(revision::Entity)
        .group_by_col(revision::Column::PageId)
        .to_owned();
    let result = revision::Entity::delete_many()
        .filter(revision::Column::CreatedAt.lt(cutoff))
        .filter(revision::Column::Id.not_in_subquery(newest))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
