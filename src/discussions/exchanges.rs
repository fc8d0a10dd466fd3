//! *Échanges*: the discussions of a space (or of every space one reads), newest activity
//! first — every page or entry with comments, and every topic (a page of the built-in
//! discussion form) even before its first answer.
use std::collections::HashMap;

use axum::{
    extract::{Path, State},
    response::Html,
};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{entity::comment, TOPIC_FORM};
use crate::{
    access::{self, SpaceAction, SpaceGrant},
    db::Db,
    error::AppResult,
    layout::{page, Ctx},
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_pages::{entity::page as page_row, Page};

/// Discussions listed on a page of exchanges.
const LISTED: usize = 100;

/// One discussion, as the lists show it.
pub struct Active {
    pub page: Page,
    pub space_slug: String,
    pub space_title: String,
    /// A topic (started in *Échanges*), not a page with comments.
    pub topic: bool,
    pub comments: u64,
    pub last_at: DateTime<Utc>,
    /// Who wrote last (the last comment, or who opened the topic).
    pub last_by: Option<String>,
}

/// The active discussions of these spaces that the reader may read, newest activity first.
pub async fn active(db: &Db, grants: &[&SpaceGrant], limit: usize) -> anyhow::Result<Vec<Active>> {
    let by_space: HashMap<i64, &SpaceGrant> = grants.iter().map(|g| (g.space.id.0, *g)).collect();
    if by_space.is_empty() {
        return Ok(Vec::new());
    }
    let space_ids: Vec<i64> = by_space.keys().copied().collect();
    let in_spaces: Vec<i64> = page_row::Entity::find()
        .select_only()
        .column(page_row::Column::Id)
        .filter(page_row::Column::SpaceId.is_in(space_ids.clone()))
        .filter(page_row::Column::TrashedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    // The newest living comment of every page of these spaces that has one.
    let newest: Vec<(i64, i64, i64)> = comment::Entity::find()
        .select_only()
        .column(comment::Column::PageId)
        .column_as(comment::Column::Id.max(), "last")
        .column_as(comment::Column::Id.count(), "n")
        .filter(comment::Column::PageId.is_in(in_spaces))
        .filter(comment::Column::DeletedAt.is_null())
        .filter(comment::Column::HiddenAt.is_null())
        .group_by(comment::Column::PageId)
        .into_tuple()
        .all(db)
        .await?;
    let last_ids: Vec<i64> = newest.iter().map(|(_, last, _)| *last).collect();
    let lasts: HashMap<i64, comment::Model> = comment::Entity::find()
        .filter(comment::Column::Id.is_in(last_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.page_id, c))
        .collect();
    let counts: HashMap<i64, u64> =
        newest.iter().map(|(page, _, n)| (*page, u64::try_from(*n).unwrap_or(0))).collect();
    // The pages: those with comments, and the topics.
    let rows = page_row::Entity::find()
        .filter(page_row::Column::SpaceId.is_in(space_ids))
        .filter(page_row::Column::TrashedAt.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(page_row::Column::Id.is_in(counts.keys().copied().collect::<Vec<_>>()))
                .add(page_row::Column::Form.eq(TOPIC_FORM)),
        )
        .all(db)
        .await?;
    let people: Vec<i64> = lasts.values().filter_map(|c| c.author_id).collect();
    let names = accounts::store::by_ids(db, people).await?;
    let mut found = Vec::new();
    for row in rows {
        let page = Page::try_from(row)?;
        let Some(grant) = by_space.get(&page.space_id.0) else { continue };
        if !access::page_allows(grant, &page, SpaceAction::Read) {
            continue;
        }
        let last = lasts.get(&page.id.0);
        found.push(Active {
            topic: page.form.as_deref() == Some(TOPIC_FORM),
            comments: counts.get(&page.id.0).copied().unwrap_or(0),
            last_at: last.map_or(page.created_at, |c| c.created_at),
            last_by: last
                .and_then(|c| c.author_id)
                .and_then(|a| names.get(&a))
                .map(|u| u.name.clone()),
            space_slug: grant.space.slug.to_string(),
            space_title: grant.space.title.clone(),
            page,
        });
    }
    found.sort_by_key(|a| std::cmp::Reverse(a.last_at));
    found.truncate(limit);
    Ok(found)
}

/// "pas encore de commentaire", "1 commentaire", "3 commentaires".
pub fn answers(ctx: &Ctx, n: u64) -> String {
    match n {
        0 => ctx.t("exchanges.answers_none"),
        1 => ctx.t("exchanges.answers_one"),
        _ => ctx.tf("exchanges.answers_many", &[("count", &n.to_string())]),
    }
}

/// The list of discussions, with the space of each when `with_space`.
pub fn list(ctx: &Ctx, found: &[Active], with_space: bool) -> Markup {
    html! {
        ul.plain.discussions {
            @for d in found {
                li {
                    a.title href={"/s/" (d.space_slug) "/" (d.page.slug) "#discussion"} { (d.page.title) }
                    @if d.topic { " " span.badge { (ctx.t("exchanges.topic")) } }
                    br;
                    span.meta {
                        @if with_space { (d.space_title) " · " }
                        (answers(ctx, d.comments))
                        " · "
                        @match &d.last_by {
                            Some(who) => { (ctx.tf("exchanges.last_by", &[("who", who)])) " " }
                            None => {}
                        }
                        (ctx.time_ago(d.last_at))
                    }
                }
            }
        }
    }
}

/// `GET /s/{space}/discussions`: the space's *Échanges*.
pub async fn space(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> AppResult<Html<String>> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Read).await?;
    let found = active(&state.db, &[&grant], LISTED).await?;
    let title = ctx.tf("exchanges.of_space", &[("space", &grant.space.title)]);
    let may_start = access::may_create_entry(&grant, true).is_ok();
    Ok(page(
        &ctx,
        &title,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={"/s/" (grant.space.slug)} { (grant.space.title) } }
            h1 { (title) }
            p.lead { (ctx.t("exchanges.lead")) }
            @if may_start {
                p.actions { a.button href={"/s/" (grant.space.slug) "/new?form=" (TOPIC_FORM)} { (ctx.t("exchanges.new_topic")) } }
            }
            @if found.is_empty() {
                p { (ctx.t("exchanges.none")) }
            } @else {
                (list(&ctx, &found, false))
            }
        },
    ))
}

/// `GET /discussions`: the discussions of every space the reader may read.
pub async fn site(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let grants = access::readable_spaces(&state.db, ctx.user.as_ref()).await?;
    let grants: Vec<&SpaceGrant> = grants.values().collect();
    let found = active(&state.db, &grants, LISTED).await?;
    let title = ctx.t("exchanges.title");
    Ok(page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("exchanges.site_lead")) }
            @if found.is_empty() {
                p { (ctx.t("exchanges.none")) }
            } @else {
                (list(&ctx, &found, true))
            }
        },
    ))
}
