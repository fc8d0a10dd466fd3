//! A page's content beyond its row: a page made whole with its first text and values, and its
//! projections refreshed from its document.
use crate::{
    collab, db, forms, history,
    pages::{self, render, store, Page, PageId},
    spaces::{self, SpaceId},
};

/// Creates a page with an initial text, stored as its document's first snapshot, with its
/// projections (for content made without a live editor: the demo, imports).
pub async fn create_with_text(
    db: &db::Db,
    space: &spaces::Space,
    title: &str,
    markdown: &str,
    author: Option<i64>,
) -> anyhow::Result<Page> {
    create_with_content(db, space, title, markdown, None, author).await
}

/// Creates an entry of `form` with these (already valid) values and an initial text.
pub async fn create_entry(
    db: &db::Db,
    space: &spaces::Space,
    title: &str,
    markdown: &str,
    form: &forms::Form,
    values: &serde_json::Map<String, serde_json::Value>,
    author: Option<i64>,
) -> anyhow::Result<Page> {
    create_with_content(db, space, title, markdown, Some((form, values)), author).await
}

/// Creates the page whole, in one transaction: its row, its document's first snapshot, its
/// projections and its first revision — a crash half-way leaves no half-page.
async fn create_with_content(
    db: &db::Db,
    space: &spaces::Space,
    title: &str,
    markdown: &str,
    entry: Option<(&forms::Form, &serde_json::Map<String, serde_json::Value>)>,
    author: Option<i64>,
) -> anyhow::Result<Page> {
    use anyhow::Context as _;
    use sea_orm::TransactionTrait;
    let values = entry.map(|(_, v)| v.clone()).unwrap_or_default();
    let content = collab::doc::initial_content(markdown, &values)?;
    let txn = db.begin().await?;
    let mut page = store::create(&txn, space.id, title, None, author)
        .await
        .map_err(|e| anyhow::anyhow!("creating the page {title:?}: {e}"))?;
    collab::store::compact(&txn, page.id.doc(), content.state.clone(), 0, 0).await?;
    let links = render::links(markdown, space.slug.as_str());
    store::project(&txn, page.id, &render::plain_text(markdown), &links).await?;
    if let Some((form, _)) = entry {
        store::set_form(&txn, page.id, &form.key).await?;
        forms::store::project(&txn, page.id, form, &content.fields).await?;
        page.form = Some(form.key.clone());
        page.members_only = form.is_members_only(&content.fields);
        // The files its values hold (uploaded before it existed) are now its own, as its values
        // describe them (what their sender sent).
        for f in form.fields.iter().filter(|f| f.kind.is_upload()) {
            let Some(value) = values.get(&f.key) else { continue };
            let text = |key: &str| value.get(key).and_then(|v| v.as_str());
            if let Some(hash) = text("hash") {
                let sent = forms::uploads::Sent {
                    name: text("name").unwrap_or_default(),
                    content_type: text("type").unwrap_or_default(),
                    by: author,
                };
                forms::uploads::attach(&txn, hash, page.id.0, sent).await?;
            }
        }
    }
    // Its first version, so the history starts with the text it was created with.
    let authors: Vec<i64> = author.into_iter().collect();
    history::store::record(&txn, page.id, history::Kind::Session, "", &content, &authors, author)
        .await?;
    txn.commit().await.context("creating a page")?;
    Ok(page)
}

/// Makes every live editor of the space's pages reconnect, and every reader of their comments
/// be checked again, so that the access module decides again what they may do (after a change of
/// members, roles or visibility). Pages in the trash too: their owners read them live.
pub async fn recheck_space_access(
    db: &db::Db,
    hub: &collab::Hub,
    space: SpaceId,
) -> anyhow::Result<()> {
    let mut pages = store::list(db, space, false).await?;
    pages.extend(store::list(db, space, true).await?);
    hub.kick(pages.into_iter().map(|p| p.id.doc())).await;
    Ok(())
}

/// Refreshes a page's projections from its document's content (when edits settle, and when its
/// fields are saved). Answers whether the page became, or stopped being, for members only.
pub async fn project(
    db: &db::Db,
    doc: collab::DocId,
    content: collab::Content,
) -> anyhow::Result<bool> {
    let Some(page) = store::get(db, PageId(doc.0)).await? else {
        return Ok(false); // purged meanwhile
    };
    let Some(space) = spaces::store::get(db, page.space_id).await? else {
        return Ok(false);
    };
    let links = render::links(&content.markdown, space.slug.as_str());
    store::project(db, page.id, &render::plain_text(&content.markdown), &links).await?;
    if let Some(form) = &page.form {
        if let Some(form) = forms::store::find(db, form).await? {
            return forms::store::project(db, page.id, &form, &content.fields).await;
        }
    }
    Ok(false)
}

/// Deletes a page for good, with its document, revisions, events, links, old addresses and its
/// own sendings of files.
pub async fn purge(db: &db::Db, page: &Page) -> anyhow::Result<()> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    forms::entity::upload_page::Entity::delete_many()
        .filter(forms::entity::upload_page::Column::PageId.eq(page.id.0))
        .exec(db)
        .await?;
    store::purge(db, page).await
}

/// Files younger than this are kept even when nothing links them yet (a new entry's, a picture
/// being pasted).
pub const UNUSED_GRACE: chrono::Duration = chrono::Duration::hours(24);

/// Deletes the files no page uses any more: not linked by the current text or values of a page
/// they were recorded on, nor by any revision of those pages still kept (a restore could bring
/// them back), and older than `grace`. Answers how many were deleted.
pub async fn collect_unused(
    db: &db::Db,
    uploads_dir: &std::path::Path,
    grace: chrono::Duration,
) -> anyhow::Result<usize> {
    use forms::{
        entity::{upload, upload_page},
        uploads::stored_path,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let old = upload::Entity::find()
        .filter(upload::Column::CreatedAt.lt(chrono::Utc::now() - grace))
        .all(db)
        .await?;
    let mut deleted = 0;
    for file in old {
        let pages: Vec<i64> = upload_page::Entity::find()
            .filter(upload_page::Column::Hash.eq(file.hash.as_str()))
            .all(db)
            .await?
            .into_iter()
            .map(|r| r.page_id)
            .collect();
        let mut used = false;
        for page in &pages {
            let live = pages::store::get(db, pages::PageId(*page)).await?.is_some();
            if live {
                // As stored: every change is stored before anyone sees it.
                let content = collab::stored_content(db, collab::DocId(*page)).await?;
                if content.markdown.contains(&file.hash)
                    || content.fields.to_string().contains(&file.hash)
                {
                    used = true;
                    break;
                }
            }
            let kept = history::entity::revision::Entity::find()
                .filter(history::entity::revision::Column::PageId.eq(*page))
                .filter(
                    sea_orm::Condition::any()
                        .add(
                            history::entity::revision::Column::Markdown
                                .contains(file.hash.as_str()),
                        )
                        .add(
                            history::entity::revision::Column::Fields.contains(file.hash.as_str()),
                        ),
                )
                .one(db)
                .await?
                .is_some();
            if kept {
                used = true;
                break;
            }
        }
        if used {
            continue;
        }
        upload_page::Entity::delete_many()
            .filter(upload_page::Column::Hash.eq(file.hash.as_str()))
            .exec(db)
            .await?;
        upload::Entity::delete_by_id(file.hash.clone()).exec(db).await?;
        if let Some(path) = stored_path(uploads_dir, &file.hash) {
            if let Err(err) = tokio::fs::remove_file(&path).await {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %err, hash = %file.hash, "could not delete an unused file");
                }
            }
        }
        deleted += 1;
    }
    Ok(deleted)
}
