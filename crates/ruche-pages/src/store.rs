//! Storage of pages: creating (with free addresses), finding (following renames), renaming,
//! the trash, and the projections of their documents.
use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::{
    entity::{page, page_link, page_redirect},
    Page, PageId, PageSlug,
};
use crate::{
    accounts::UserId,
    collab, collation,
    db::Db,
    pages::events::{self, EventKind},
    slug,
    spaces::SpaceId,
};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("a title is required")]
    EmptyTitle,
    #[error("the title makes no address")]
    NoSlug,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for PageError {
    fn from(err: sea_orm::DbErr) -> Self {
        PageError::Internal(err.into())
    }
}

/// The first free address for `wanted` in the space: `wanted`, `wanted-2`, `wanted-3`…
async fn free_slug<C: sea_orm::ConnectionTrait>(
    conn: &C,
    space: SpaceId,
    wanted: &PageSlug,
) -> Result<PageSlug, PageError> {
    let prefix = wanted.as_str();
    let taken: HashSet<String> = page::Entity::find()
        .filter(page::Column::SpaceId.eq(space.0))
        .filter(
            Condition::any()
                .add(page::Column::Slug.eq(prefix))
                .add(page::Column::Slug.like(format!("{prefix}-%"))),
        )
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.slug)
        .chain(
            page_redirect::Entity::find()
                .filter(page_redirect::Column::SpaceId.eq(space.0))
                .filter(page_redirect::Column::Slug.like(format!("{prefix}%")))
                .all(conn)
                .await?
                .into_iter()
                .map(|r| r.slug),
        )
        .collect();
    if !taken.contains(prefix) {
        return Ok(wanted.clone());
    }
    (2..)
        .map(|n| format!("{prefix}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .and_then(|s| PageSlug::parse(&s))
        .ok_or(PageError::NoSlug)
}

/// Creates a page titled `title` at the address `slug` (or one made from the title), choosing
/// a free address if it is taken.
pub async fn create<C: sea_orm::ConnectionTrait + TransactionTrait>(
    db: &C,
    space: SpaceId,
    title: &str,
    slug: Option<&PageSlug>,
    author: Option<i64>,
) -> Result<Page, PageError> {
    let title = slug::clean_label(title);
    let title = title.as_str();
    if title.is_empty() {
        return Err(PageError::EmptyTitle);
    }
    let wanted = match slug {
        Some(s) => s.clone(),
        None => PageSlug::from_title(title).ok_or(PageError::NoSlug)?,
    };
    let txn = db.begin().await?;
    let slug = free_slug(&txn, space, &wanted).await?;
    let now = Utc::now();
    let model = page::ActiveModel {
        space_id: Set(space.0),
        slug: Set(slug.as_str().to_owned()),
        title: Set(title.chars().take(300).collect()),
        form: Set(None),
        plain_text: Set(String::new()),
        created_by: Set(author),
        created_at: Set(now),
        updated_at: Set(now),
        trashed_at: Set(None),
        members_only: Set(false),
        owner_id: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let page: Page = model.try_into()?;
    events::try_record(&txn, page.id, space, EventKind::Created, author, None, "").await?;
    txn.commit().await?;
    Ok(page)
}

/// What an address leads to.
pub enum Found {
    Page(Page),
    /// The page was renamed: it now lives at this address.
    Moved(PageSlug),
}

/// Finds the page at `slug` in the space, following renames. Trashed pages are found too;
/// callers decide what to show.
pub async fn find(db: &Db, space: SpaceId, slug: &str) -> anyhow::Result<Option<Found>> {
    if let Some(model) = page::Entity::find()
        .filter(page::Column::SpaceId.eq(space.0))
        .filter(page::Column::Slug.eq(slug))
        .one(db)
        .await?
    {
        return Ok(Some(Found::Page(model.try_into()?)));
    }
    let Some(redirect) =
        page_redirect::Entity::find_by_id((space.0, slug.to_owned())).one(db).await?
    else {
        return Ok(None);
    };
    let Some(target) = page::Entity::find_by_id(redirect.page_id).one(db).await? else {
        return Ok(None);
    };
    Ok(PageSlug::parse(&target.slug).map(Found::Moved))
}

pub async fn get<C: sea_orm::ConnectionTrait>(db: &C, id: PageId) -> anyhow::Result<Option<Page>> {
    page::Entity::find_by_id(id.0).one(db).await?.map(Page::try_from).transpose()
}

/// The space's pages, by title (as people sort); trashed ones only when `trashed` is true (and
/// then only those).
pub async fn list(db: &Db, space: SpaceId, trashed: bool) -> anyhow::Result<Vec<Page>> {
    let column = page::Column::TrashedAt;
    let mut pages: Vec<Page> = page::Entity::find()
        .filter(page::Column::SpaceId.eq(space.0))
        .filter(if trashed { column.is_not_null() } else { column.is_null() })
        .all(db)
        .await?
        .into_iter()
        .map(Page::try_from)
        .collect::<Result<_, _>>()?;
    collation::sort_by_name(&mut pages, |p| &p.title);
    Ok(pages)
}

/// Which spaces keep entries of which forms (trashed ones left out): (space id, form key) pairs,
/// to offer in a space the kinds of entry that belong there.
pub async fn forms_kept(db: &Db) -> anyhow::Result<HashSet<(i64, String)>> {
    let rows: Vec<(i64, Option<String>)> = page::Entity::find()
        .select_only()
        .column(page::Column::SpaceId)
        .column(page::Column::Form)
        .distinct()
        .filter(page::Column::Form.is_not_null())
        .filter(page::Column::TrashedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(space, form)| Some((space, form?))).collect())
}

/// Renames a page; when the address changes, the old one keeps leading to it.
pub async fn rename(
    db: &Db,
    page: &Page,
    title: &str,
    new_slug: Option<&PageSlug>,
    by: Option<i64>,
) -> Result<Page, PageError> {
    let title = slug::clean_label(title);
    let title = title.as_str();
    if title.is_empty() {
        return Err(PageError::EmptyTitle);
    }
    let txn = db.begin().await?;
    let mut slug = page.slug.clone();
    if let Some(wanted) = new_slug.filter(|s| **s != page.slug) {
        // A redirect to this very page may be taken back.
        page_redirect::Entity::delete_by_id((page.space_id.0, wanted.as_str().to_owned()))
            .filter(page_redirect::Column::PageId.eq(page.id.0))
            .exec(&txn)
            .await?;
        slug = free_slug(&txn, page.space_id, wanted).await?;
        page_redirect::Entity::insert(page_redirect::ActiveModel {
            space_id: Set(page.space_id.0),
            slug: Set(page.slug.as_str().to_owned()),
            page_id: Set(page.id.0),
        })
        .exec(&txn)
        .await?;
    }
    let model = page::Entity::find_by_id(page.id.0)
        .one(&txn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("page {} vanished", page.id.0))?;
    let mut active: page::ActiveModel = model.into();
    active.title = Set(title.chars().take(300).collect());
    active.slug = Set(slug.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    let renamed: Page = updated.try_into()?;
    if renamed.title != page.title || renamed.slug != page.slug {
        events::record(db, page.id, page.space_id, EventKind::Renamed, by, None, &page.title).await;
    }
    Ok(renamed)
}

/// Makes the page an entry of the form `form`.
pub async fn set_form<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: PageId,
    form: &str,
) -> anyhow::Result<()> {
    page::Entity::update_many()
        .col_expr(page::Column::Form, Expr::value(Some(form.to_owned())))
        .filter(page::Column::Id.eq(id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Binds a page to the account it describes (a member's profile).
pub async fn set_owner(db: &Db, id: PageId, owner: UserId) -> anyhow::Result<()> {
    page::Entity::update_many()
        .col_expr(page::Column::OwnerId, Expr::value(Some(owner.0)))
        .filter(page::Column::Id.eq(id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// The page bound to an account, if it has one.
pub async fn owned_by(db: &Db, owner: UserId) -> anyhow::Result<Option<Page>> {
    page::Entity::find()
        .filter(page::Column::OwnerId.eq(owner.0))
        .one(db)
        .await?
        .map(Page::try_from)
        .transpose()
}

/// Moves a page to the trash, or back.
pub async fn set_trashed(
    db: &Db,
    page: &Page,
    trashed: bool,
    by: Option<i64>,
) -> anyhow::Result<()> {
    page::Entity::update_many()
        .col_expr(page::Column::TrashedAt, Expr::value(trashed.then(Utc::now)))
        .filter(page::Column::Id.eq(page.id.0))
        .exec(db)
        .await?;
    let kind = if trashed { EventKind::Trashed } else { EventKind::Restored };
    events::record(db, page.id, page.space_id, kind, by, None, "").await;
    Ok(())
}

/// Deletes a page for good, with its document, revisions, events, links and old addresses (its
/// files' sendings are the forms'; `content::purge` deletes both).
pub async fn purge(db: &Db, page: &Page) -> anyhow::Result<()> {
    collab::store::delete(db, page.id.doc()).await?;
    page::Entity::delete_by_id(page.id.0).exec(db).await?;
    Ok(())
}

/// A link found in a page's text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkTarget {
    pub space: String,
    pub slug: String,
}

/// Refreshes what is derived from a page's document: its plain text and outgoing links.
pub async fn project<C: sea_orm::ConnectionTrait + TransactionTrait>(
    db: &C,
    id: PageId,
    plain_text: &str,
    links: &[LinkTarget],
) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    page::Entity::update_many()
        .col_expr(page::Column::PlainText, Expr::value(plain_text.to_owned()))
        .col_expr(page::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(page::Column::Id.eq(id.0))
        .exec(&txn)
        .await?;
    page_link::Entity::delete_many()
        .filter(page_link::Column::FromPage.eq(id.0))
        .exec(&txn)
        .await?;
    let unique: HashSet<&LinkTarget> = links.iter().collect();
    if !unique.is_empty() {
        page_link::Entity::insert_many(unique.into_iter().map(|l| page_link::ActiveModel {
            from_page: Set(id.0),
            to_space: Set(l.space.clone()),
            to_slug: Set(l.slug.clone()),
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Pages (not trashed) that link to `space`/`slug`.
pub async fn backlinks(db: &Db, space: &str, slug: &str) -> anyhow::Result<Vec<Page>> {
    let from: Vec<i64> = page_link::Entity::find()
        .filter(page_link::Column::ToSpace.eq(space))
        .filter(page_link::Column::ToSlug.eq(slug))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.from_page)
        .collect();
    page::Entity::find()
        .filter(page::Column::Id.is_in(from))
        .filter(page::Column::TrashedAt.is_null())
        .order_by_asc(page::Column::Title)
        .all(db)
        .await?
        .into_iter()
        .map(Page::try_from)
        .collect()
}

/// Which of these (space id, slug) pairs name existing, untrashed pages.
pub async fn existing(
    db: &Db,
    wanted: &[(SpaceId, String)],
) -> anyhow::Result<HashSet<(SpaceId, String)>> {
    if wanted.is_empty() {
        return Ok(HashSet::new());
    }
    let mut condition = Condition::any();
    for (space, slug) in wanted {
        condition = condition
            .add(page::Column::SpaceId.eq(space.0).and(page::Column::Slug.eq(slug.clone())));
    }
    Ok(page::Entity::find()
        .filter(condition)
        .filter(page::Column::TrashedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|p| (SpaceId(p.space_id), p.slug))
        .collect())
}
