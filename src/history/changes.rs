//! Recent changes, for the whole site and per space, as pages and as Atom feeds — always only
//! from the spaces the reader may read.
use crate::access::SpaceGrant;
use crate::query::Query;
use axum::{
    extract::{Path, State},
    http::header,
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::html;
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    feed_tokens, feeds,
    recent::{self, Change},
};
use crate::{
    access::{self, SpaceAction},
    collation,
    error::{AppError, AppResult},
    i18n::AskedLang,
    layout::{flash, page, Ctx, FlashKind},
    session::{csrf::CsrfForm, CurrentUser},
    state::AppState,
};
use ruche_accounts::User;

/// Lines per page of recent changes, and entries per feed.
const LIMIT: u64 = 50;

#[derive(Deserialize)]
pub struct ChangesQuery {
    before: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct FeedQuery {
    token: Option<String>,
}

/// The spaces whose changes `user` may read.
async fn readable(state: &AppState, user: Option<&User>) -> AppResult<Vec<SpaceGrant>> {
    let mut spaces: Vec<SpaceGrant> =
        access::readable_spaces(&state.db, user).await?.into_values().collect();
    collation::sort_by_name(&mut spaces, |g| &g.space.title);
    Ok(spaces)
}

pub async fn site(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ChangesQuery>,
) -> AppResult<Html<String>> {
    let spaces = readable(&state, ctx.user.as_ref()).await?;
    let changes = recent::recent(&state.db, &spaces, q.before, LIMIT).await?;
    let has_feed_token = match &ctx.user {
        Some(u) => feed_tokens::has_token(&state.db, u.id).await?,
        None => false,
    };
    let ctx = ctx.with_forms().await?;
    Ok(view(&ctx, &ctx.t("changes.title"), "/changes", &changes, true, Some(has_feed_token)))
}

pub async fn space(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(q): Query<ChangesQuery>,
) -> AppResult<Html<String>> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Read).await?;
    let changes = recent::recent(&state.db, std::slice::from_ref(&grant), q.before, LIMIT).await?;
    let title = ctx.tf("changes.of", &[("space", &grant.space.title)]);
    Ok(view(&ctx, &title, &format!("/s/{}/changes", grant.space.slug), &changes, false, None))
}

fn view(
    ctx: &Ctx,
    title: &str,
    path: &str,
    changes: &[Change],
    site_wide: bool,
    feed_token: Option<bool>,
) -> Html<String> {
    page(
        ctx,
        title,
        html! {
            h1 { (title) }
            p { a href={(path) ".atom"} type="application/atom+xml" { (ctx.t("changes.feed")) } " — " (ctx.t("changes.feed_public")) }
            @if changes.is_empty() {
                p { (ctx.t("changes.none")) }
            } @else {
                ul.changes {
                    @for c in changes {
                        li {
                            (ctx.time_ago(c.at)) " — "
                            @if c.page_trashed { (feeds::describe(ctx.lang, c)) }
                            @else {
                                a href=(c.url()) { (feeds::describe(ctx.lang, c)) }
                                @if let Some(r) = c.revision { " · " a href={"/s/" (c.space_slug) "/" (c.page_slug) "/history/" (r)} { (ctx.t("changes.version")) } }
                            }
                            @if site_wide { " " span.meta { "(" (c.space_title) ")" } }
                        }
                    }
                }
                @if changes.len() as u64 == LIMIT {
                    @if let Some(last) = changes.last() { p { a href={(path) "?before=" (last.id)} { (ctx.t("history.older")) " →" } } }
                }
            }
            @if let Some(has_token) = feed_token {
                @if ctx.user.is_some() {
                    section.card aria-labelledby="personal-feed" {
                        h2 #personal-feed { (ctx.t("changes.personal_feed")) }
                        p { (ctx.t("changes.personal_feed_intro")) }
                        form method="post" action="/changes/feed-token" {
                            (ctx.csrf_field())
                            button type="submit" { @if has_token { (ctx.t("changes.feed_token_renew")) } @else { (ctx.t("changes.feed_token_create")) } }
                        }
                        @if has_token {
                            form method="post" action="/changes/feed-token/revoke" {
                                (ctx.csrf_field())
                                button.secondary type="submit" { (ctx.t("changes.feed_token_revoke")) }
                            }
                        }
                    }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct Empty {}

/// Creates (or renews) the person's feed address and shows it, this once.
pub(crate) async fn create_feed_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Html<String>> {
    let secret = feed_tokens::create_token(&state.db, user.id).await?;
    let url = format!("{}/changes.atom?token={secret}", state.settings.base_url);
    let calendar = format!("{}/agenda.ics?token={secret}", state.settings.base_url);
    let title = ctx.t("changes.personal_feed");
    Ok(page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            div.flash.flash-ok role="status" {
                p { (ctx.t("changes.feed_token_created")) }
                p { code.secret { (url) } }
                p { (ctx.t("changes.feed_token_calendar")) }
                p { code.secret.calendar { (calendar) } }
            }
            p { (ctx.t("changes.feed_token_space")) }
            p { a href="/changes" { (ctx.t("changes.title")) } }
        },
    ))
}

pub(crate) async fn revoke_feed_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    feed_tokens::revoke_token(&state.db, user.id).await?;
    flash(&session, FlashKind::Success, ctx.t("changes.feed_token_revoked")).await?;
    Ok(Redirect::to("/changes").into_response())
}

/// The reader of a feed: the owner of a personal feed address, or nobody.
async fn feed_reader(state: &AppState, token: Option<&str>) -> AppResult<Option<User>> {
    match token {
        None => Ok(None),
        Some(secret) => {
            Ok(Some(feed_tokens::user_for(&state.db, secret).await?.ok_or(AppError::NotFound)?))
        }
    }
}

fn atom_response(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], xml).into_response()
}

pub(crate) async fn site_atom(
    State(state): State<AppState>,
    AskedLang(lang): AskedLang,
    Query(q): Query<FeedQuery>,
) -> AppResult<Response> {
    let reader = feed_reader(&state, q.token.as_deref()).await?;
    let spaces = readable(&state, reader.as_ref()).await?;
    let changes = recent::recent(&state.db, &spaces, None, LIMIT).await?;
    let base = &state.settings.base_url;
    let title = format!("{} — {}", state.settings.site_name, lang.t("changes.title"));
    let self_url = match &q.token {
        Some(t) => format!("{base}/changes.atom?token={t}"),
        None => format!("{base}/changes.atom"),
    };
    Ok(atom_response(feeds::atom(
        lang,
        &title,
        base,
        &self_url,
        &format!("{base}/changes"),
        &changes,
    )))
}

pub(crate) async fn space_atom(
    State(state): State<AppState>,
    AskedLang(lang): AskedLang,
    Path(slug): Path<String>,
    Query(q): Query<FeedQuery>,
) -> AppResult<Response> {
    let reader = feed_reader(&state, q.token.as_deref()).await?;
    let grant = access::space(&state.db, reader.as_ref(), &slug, SpaceAction::Read).await?;
    let changes = recent::recent(&state.db, std::slice::from_ref(&grant), None, LIMIT).await?;
    let base = &state.settings.base_url;
    let title = format!("{} — {}", grant.space.title, lang.t("changes.title"));
    let page_url = format!("{base}/s/{}/changes", grant.space.slug);
    let self_url = match &q.token {
        Some(t) => format!("{page_url}.atom?token={t}"),
        None => format!("{page_url}.atom"),
    };
    Ok(atom_response(feeds::atom(lang, &title, base, &self_url, &page_url, &changes)))
}
