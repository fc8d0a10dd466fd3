//! Pages: what people write, in a space. Their text lives in a CRDT document (see `collab`);
//! here are their identity, addresses, trash, rendering and the projections lists query.
pub mod api;
pub mod entity;
pub mod render;
pub mod routes;
pub mod store;
pub mod views;

use serde::Serialize;

use crate::spaces::SpaceId;

/// A page's address within its space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PageSlug(String);

/// Addresses that name actions under a space, so no page may take them.
const RESERVED: &[&str] =
    &["members", "settings", "pages", "new", "trash", "changes", "agenda", "files"];

impl PageSlug {
    pub const MAX: usize = 120;

    pub fn parse(raw: &str) -> Option<Self> {
        let slug = raw.trim();
        (crate::slug::is_slug(slug, Self::MAX) && !RESERVED.contains(&slug))
            .then(|| Self(slug.to_owned()))
    }

    pub fn from_title(title: &str) -> Option<Self> {
        Self::parse(&crate::slug::slugify(title, Self::MAX))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PageSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PageId(pub i64);

/// Creates a page with an initial text, stored as its document's first snapshot, with its
/// projections (for content made without a live editor: the demo, imports).
pub async fn create_with_text(
    db: &crate::db::Db,
    space: &crate::spaces::Space,
    title: &str,
    markdown: &str,
    author: Option<i64>,
) -> anyhow::Result<Page> {
    create_with_content(db, space, title, markdown, None, author).await
}

/// Creates an entry of `form` with these (already valid) values and an initial text.
pub async fn create_entry(
    db: &crate::db::Db,
    space: &crate::spaces::Space,
    title: &str,
    markdown: &str,
    form: &crate::forms::Form,
    values: &serde_json::Map<String, serde_json::Value>,
    author: Option<i64>,
) -> anyhow::Result<Page> {
    create_with_content(db, space, title, markdown, Some((form, values)), author).await
}

/// Creates the page whole, in one transaction: its row, its document's first snapshot, its
/// projections and its first revision — a crash half-way leaves no half-page.
async fn create_with_content(
    db: &crate::db::Db,
    space: &crate::spaces::Space,
    title: &str,
    markdown: &str,
    entry: Option<(&crate::forms::Form, &serde_json::Map<String, serde_json::Value>)>,
    author: Option<i64>,
) -> anyhow::Result<Page> {
    use anyhow::Context as _;
    use sea_orm::TransactionTrait;
    let values = entry.map(|(_, v)| v.clone()).unwrap_or_default();
    let content = crate::collab::live::initial_content(markdown, &values)?;
    let txn = db.begin().await?;
    let mut page = store::create(&txn, space.id, title, None, author)
        .await
        .map_err(|e| anyhow::anyhow!("creating the page {title:?}: {e}"))?;
    crate::collab::store::compact(&txn, page.id.doc(), content.state.clone(), 0, 0).await?;
    let links = render::links(markdown, space.slug.as_str());
    store::project(&txn, page.id, &render::plain_text(markdown), &links).await?;
    if let Some((form, _)) = entry {
        store::set_form(&txn, page.id, &form.key).await?;
        crate::forms::store::project(&txn, page.id, form, &content.fields).await?;
        page.form = Some(form.key.clone());
        page.members_only = form.is_members_only(&content.fields);
        // The files its values hold (uploaded before it existed) are now its own.
        for f in form.fields.iter().filter(|f| f.kind.is_upload()) {
            let hash = values.get(&f.key).and_then(|v| v.get("hash")).and_then(|h| h.as_str());
            if let Some(hash) = hash {
                crate::forms::uploads::attach(&txn, hash, page.id.0).await?;
            }
        }
    }
    // Its first version, so the history starts with the text it was created with.
    let authors: Vec<i64> = author.into_iter().collect();
    crate::history::store::record(
        &txn,
        page.id,
        crate::history::Kind::Session,
        "",
        &content,
        &authors,
        author,
    )
    .await?;
    txn.commit().await.context("creating a page")?;
    Ok(page)
}

/// Makes every live editor of the space's pages reconnect, so that the access module decides
/// again what they may do (after a change of members, roles or visibility).
pub async fn recheck_space_access(
    state: &crate::app::AppState,
    space: SpaceId,
) -> anyhow::Result<()> {
    let pages = store::list(&state.db, space, false).await?;
    state.hub.kick(pages.into_iter().map(|p| p.id.doc())).await;
    Ok(())
}

/// Refreshes a page's projections from its document's content (when edits settle, and when its
/// fields are saved). Answers whether the page became, or stopped being, for members only.
pub async fn project(
    db: &crate::db::Db,
    doc: crate::collab::DocId,
    content: crate::collab::Content,
) -> anyhow::Result<bool> {
    let Some(page) = store::get(db, PageId(doc.0)).await? else {
        return Ok(false); // purged meanwhile
    };
    let Some(space) = crate::spaces::store::get(db, page.space_id).await? else {
        return Ok(false);
    };
    let links = render::links(&content.markdown, space.slug.as_str());
    store::project(db, page.id, &render::plain_text(&content.markdown), &links).await?;
    if let Some(form) = &page.form {
        if let Some(form) = crate::forms::store::find(db, form).await? {
            return crate::forms::store::project(db, page.id, &form, &content.fields).await;
        }
    }
    Ok(false)
}

impl PageId {
    pub fn doc(self) -> crate::collab::DocId {
        crate::collab::DocId(self.0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub id: PageId,
    #[serde(skip)]
    pub space_id: SpaceId,
    pub slug: PageSlug,
    pub title: String,
    pub form: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub trashed: bool,
    /// For the members of its space only.
    pub members_only: bool,
    /// The account it belongs to (a member's profile).
    #[serde(skip)]
    pub owner: Option<crate::accounts::UserId>,
}

impl TryFrom<entity::page::Model> for Page {
    type Error = anyhow::Error;

    fn try_from(m: entity::page::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: PageId(m.id),
            space_id: SpaceId(m.space_id),
            slug: PageSlug::parse(&m.slug)
                .ok_or_else(|| anyhow::anyhow!("stored page slug {:?} is invalid", m.slug))?,
            title: m.title,
            form: m.form,
            created_at: m.created_at,
            updated_at: m.updated_at,
            trashed: m.trashed_at.is_some(),
            members_only: m.members_only,
            owner: m.owner_id.map(crate::accounts::UserId),
        })
    }
}
