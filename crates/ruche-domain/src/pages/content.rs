//! A page's content beyond its row: a page made whole with its first text and values, and its
//! projections refreshed from its document.
use super::{Page, PageId};
use crate::spaces::SpaceId;
use crate::{collab, db, forms, history, spaces};

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
    let mut page = super::store::create(&txn, space.id, title, None, author)
        .await
        .map_err(|e| anyhow::anyhow!("creating the page {title:?}: {e}"))?;
    collab::store::compact(&txn, page.id.doc(), content.state.clone(), 0, 0).await?;
    let links = super::render::links(markdown, space.slug.as_str());
    super::store::project(&txn, page.id, &super::render::plain_text(markdown), &links).await?;
    if let Some((form, _)) = entry {
        super::store::set_form(&txn, page.id, &form.key).await?;
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
    let mut pages = super::store::list(db, space, false).await?;
    pages.extend(super::store::list(db, space, true).await?);
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
    let Some(page) = super::store::get(db, PageId(doc.0)).await? else {
        return Ok(false); // purged meanwhile
    };
    let Some(space) = spaces::store::get(db, page.space_id).await? else {
        return Ok(false);
    };
    let links = super::render::links(&content.markdown, space.slug.as_str());
    super::store::project(db, page.id, &super::render::plain_text(&content.markdown), &links)
        .await?;
    if let Some(form) = &page.form {
        if let Some(form) = forms::store::find(db, form).await? {
            return forms::store::project(db, page.id, &form, &content.fields).await;
        }
    }
    Ok(false)
}
