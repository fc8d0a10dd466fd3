//! The discussion of a page, as forms and links (no JavaScript needed) and as a stream of
//! changes for the readers on the page. Every handler reaches the page through `PageFor`, and
//! every comment is checked to be of that page.
use std::{collections::HashMap, convert::Infallible, time::Duration};

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        Html, IntoResponse, Redirect, Response,
    },
};
use futures_util::stream::Stream;
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    views::{self, ClosedBecause, Discussion, Prepared},
    Comment, Refused,
};
use crate::{
    access::{self, PageFor, SpaceGrant},
    client_addr::ClientAddr,
    error::{AppError, AppResult},
    layout::{flash, Ctx, FlashKind},
    ratelimit::{Action, Who, Whose},
    session::{csrf::CsrfForm, Proof},
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_notifications as notifications;
use ruche_pages::{self as pages, Page};
use ruche_spaces as spaces;

/// `/s/{space}/{page}`.
pub fn base(grant: &SpaceGrant, page: &Page) -> String {
    format!("/s/{}/{}", grant.space.slug, page.slug)
}

/// The names of the authors of `comments`, and the texts of those this reader may read,
/// rendered through the one rendering path (bounded, cached by content, off the async threads).
pub(super) async fn prepare(
    state: &AppState,
    grant: &SpaceGrant,
    comments: &[Comment],
) -> AppResult<Prepared> {
    let people =
        accounts::store::by_ids(&state.db, comments.iter().filter_map(|c| c.author_id)).await?;
    let mut bodies = HashMap::new();
    for c in comments.iter().filter(|c| views::readable(grant, c)) {
        bodies.insert(c.id, state.rendered.snippet(&c.markdown, grant.space.slug.as_str()).await?);
    }
    Ok(Prepared { names: people.into_iter().map(|(id, u)| (id, u.name)).collect(), bodies })
}

/// What this reader may do in the page's discussion.
pub(crate) fn discussion_for<'a>(
    grant: &'a SpaceGrant,
    page: &Page,
    shown: &'a Prepared,
) -> Discussion<'a> {
    let may_comment = access::may_comment(grant, page);
    let closed = match (may_comment, &grant.user, grant.space.comments) {
        (true, ..) => None,
        (false, None, spaces::CommentPolicy::Nobody) => Some(ClosedBecause::Nobody),
        (false, None, _) => Some(ClosedBecause::SignedOut),
        (false, Some(_), spaces::CommentPolicy::Nobody) => Some(ClosedBecause::Nobody),
        (false, Some(_), _) => Some(ClosedBecause::MembersOnly),
    };
    Discussion {
        base: base(grant, page),
        space: grant.space.slug.as_str(),
        shown,
        may_comment,
        moderator: access::may_moderate(grant),
        me: grant.user.as_ref().map(|u| u.id.0),
        closed: if page.trashed { None } else { closed },
    }
}

/// The discussion under a page, shown by the page itself.
pub(crate) async fn under_page(
    state: &AppState,
    ctx: &Ctx,
    grant: &SpaceGrant,
    page: &Page,
) -> AppResult<maud::Markup> {
    let comments = super::list(&state.db, page.id.0).await?;
    let shown = prepare(state, grant, &comments).await?;
    let d = discussion_for(grant, page, &shown);
    Ok(views::section(ctx, &d, &super::threads(comments)))
}

#[derive(Deserialize)]
pub struct CommentFields {
    #[serde(default)]
    markdown: String,
    #[serde(default)]
    reply_to: Option<String>,
}

/// What a refusal says, and its status.
pub fn refusal(ctx: &Ctx, refused: &Refused) -> Option<(StatusCode, String)> {
    Some(match refused {
        Refused::Empty => (StatusCode::UNPROCESSABLE_ENTITY, ctx.t("comments.empty")),
        Refused::TooLong { max } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            ctx.tf("comments.too_long", &[("max", &max.to_string())]),
        ),
        Refused::TooFast => (StatusCode::TOO_MANY_REQUESTS, ctx.t("comments.too_fast")),
        Refused::BusyNetwork => (StatusCode::TOO_MANY_REQUESTS, ctx.t("comments.too_fast_network")),
        Refused::BadReply => (StatusCode::UNPROCESSABLE_ENTITY, ctx.t("comments.bad_reply")),
        Refused::Internal(_) => return None,
    })
}

/// Posts a comment as `grant`'s person, from `client`, and tells who should know: the readers
/// on the page, the people it mentions, the page's followers. Comments have their budget per
/// person and per client address (`Action::Comment`).
pub(crate) async fn post_as(
    state: &AppState,
    grant: &SpaceGrant,
    page: &Page,
    (markdown, reply_to): (&str, Option<i64>),
    client: std::net::IpAddr,
) -> Result<Comment, Refused> {
    let user = grant.user.as_ref().ok_or(Refused::Internal(anyhow::anyhow!("signed out")))?;
    // Only comments posted count: one refused (empty, a bad reply…) spends nothing.
    let limits = &state.action_limits;
    limits.check(Action::Comment, Who::Account(user.id), client).map_err(|spent| {
        match spent.whose {
            Whose::Own => Refused::TooFast,
            Whose::Network => Refused::BusyNetwork,
        }
    })?;
    let comment =
        super::post(&state.db, &state.settings.comments, page, user, markdown, reply_to).await?;
    limits.record(Action::Comment, Who::Account(user.id), client);
    changed(state, page.id.0, comment.id);
    let mailing = state.settings.mailing();
    // The people a comment names are counted per client address too (`Action::Mention`).
    let room = limits.room(Action::Mention, Who::Account(user.id), client);
    let (told, named) = notifications::comment_posted(
        &state.db,
        &mailing,
        page,
        comment.id,
        (user.id.0, &comment.markdown),
        usize::try_from(room).unwrap_or(usize::MAX),
    )
    .await?;
    let named = u32::try_from(named).unwrap_or(u32::MAX);
    limits.record_many(Action::Mention, Who::Account(user.id), client, named);
    if told > 0 {
        state.outbox.wake();
    }
    Ok(comment)
}

/// `POST /s/{space}/{page}/comments`: a new comment, or a reply (`reply_to`).
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    CsrfForm(fields): CsrfForm<CommentFields>,
) -> AppResult<Response> {
    access::comment(&grant, &page)?;
    let reply_to = match fields.reply_to.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => {
            Some(id.parse::<i64>().map_err(|_| AppError::BadRequest(ctx.t("comments.bad_reply")))?)
        }
    };
    match post_as(&state, &grant, &page, (&fields.markdown, reply_to), client).await {
        Ok(comment) => Ok(Redirect::to(&format!("{}#comment-{}", base(&grant, &page), comment.id))
            .into_response()),
        Err(refused) => {
            let Some((status, said)) = refusal(&ctx, &refused) else {
                return Err(match refused {
                    Refused::Internal(err) => AppError::Internal(err),
                    _ => AppError::BadRequest(String::new()),
                });
            };
            let shown = Prepared::default();
            let d = discussion_for(&grant, &page, &shown);
            let typed: String =
                fields.markdown.chars().take(state.settings.comments.max_chars + 1000).collect();
            Ok((status, views::refused(&ctx, &d, &page.title, reply_to, &typed, &said))
                .into_response())
        }
    }
}

/// The comment `id`, if it is one of `page`'s.
async fn of_page(state: &AppState, page: &Page, id: i64) -> AppResult<Comment> {
    super::get(&state.db, id).await?.filter(|c| c.page_id == page.id.0).ok_or(AppError::NotFound)
}

/// `GET /s/{space}/{page}/comments/{id}/edit`: its author changes it.
pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Path((_, _, id)): Path<(String, String, i64)>,
) -> AppResult<Html<String>> {
    let comment = of_page(&state, &page, id).await?;
    if comment.deleted || !access::may_change_comment(&grant, &page, comment.author_id) {
        return Err(AppError::Forbidden);
    }
    Ok(views::edit_form(&ctx, &base(&grant, &page), &page.title, &comment, None, None))
}

#[derive(Deserialize)]
pub struct EditFields {
    #[serde(default)]
    markdown: String,
}

/// `POST /s/{space}/{page}/comments/{id}/edit`
pub async fn edit(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Path((_, _, id)): Path<(String, String, i64)>,
    CsrfForm(fields): CsrfForm<EditFields>,
) -> AppResult<Response> {
    let comment = of_page(&state, &page, id).await?;
    if comment.deleted || !access::may_change_comment(&grant, &page, comment.author_id) {
        return Err(AppError::Forbidden);
    }
    match super::edit(&state.db, &state.settings.comments, id, &fields.markdown).await {
        Ok(()) => {
            changed(&state, page.id.0, id);
            Ok(Redirect::to(&format!("{}#comment-{id}", base(&grant, &page))).into_response())
        }
        Err(refused) => match refusal(&ctx, &refused) {
            Some((status, said)) => Ok((
                status,
                views::edit_form(
                    &ctx,
                    &base(&grant, &page),
                    &page.title,
                    &comment,
                    Some(&fields.markdown),
                    Some(&said),
                ),
            )
                .into_response()),
            None => Err(AppError::Internal(anyhow::anyhow!("{refused}"))),
        },
    }
}

/// Whether the reader may delete `comment`: its author, or a moderator.
fn may_delete(grant: &SpaceGrant, page: &Page, comment: &Comment) -> bool {
    access::may_change_comment(grant, page, comment.author_id) || access::may_moderate(grant)
}

/// `GET /s/{space}/{page}/comments/{id}/delete`: asks first.
pub(crate) async fn delete_form(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Path((_, _, id)): Path<(String, String, i64)>,
) -> AppResult<Html<String>> {
    let comment = of_page(&state, &page, id).await?;
    if comment.deleted || !may_delete(&grant, &page, &comment) {
        return Err(AppError::Forbidden);
    }
    let html = state.rendered.snippet(&comment.markdown, grant.space.slug.as_str()).await?;
    Ok(views::delete_form(&ctx, &base(&grant, &page), &page.title, &comment, &html))
}

/// `POST /s/{space}/{page}/comments/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Path((_, _, id)): Path<(String, String, i64)>,
    CsrfForm(_): CsrfForm<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<Response> {
    let comment = of_page(&state, &page, id).await?;
    if !may_delete(&grant, &page, &comment) {
        return Err(AppError::Forbidden);
    }
    super::delete(&state.db, id).await?;
    changed(&state, page.id.0, id);
    flash(&session, FlashKind::Success, ctx.t("comments.deleted_done")).await?;
    Ok(Redirect::to(&format!("{}#discussion", base(&grant, &page))).into_response())
}

#[derive(Deserialize)]
pub struct HideFields {
    #[serde(default)]
    action: String,
}

/// `POST /s/{space}/{page}/comments/{id}/hide` with `action=hide` or `action=show`: the
/// space's owners moderate.
pub async fn hide(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Path((_, _, id)): Path<(String, String, i64)>,
    CsrfForm(fields): CsrfForm<HideFields>,
) -> AppResult<Response> {
    of_page(&state, &page, id).await?;
    if !access::may_moderate(&grant) {
        return Err(AppError::Forbidden);
    }
    let by = match fields.action.as_str() {
        "hide" => grant.user.as_ref().map(|u| u.id.0),
        "show" => None,
        _ => return Err(AppError::BadRequest(ctx.t("error.bad_request"))),
    };
    super::set_hidden(&state.db, id, by).await?;
    changed(&state, page.id.0, id);
    Ok(Redirect::to(&format!("{}#comment-{id}", base(&grant, &page))).into_response())
}

/// `GET /s/{space}/{page}/comments/{id}/thread`: the thread holding comment `id`, as this reader
/// sees it (what the live view puts in place); 204 when there is nothing left to show of it.
/// The `X-Thread` header names the thread either way.
pub async fn thread(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Path((_, _, id)): Path<(String, String, i64)>,
) -> AppResult<Response> {
    let comment = of_page(&state, &page, id).await?;
    let top = comment.reply_to.unwrap_or(comment.id);
    let all = super::list(&state.db, page.id.0).await?;
    let in_thread: Vec<Comment> =
        all.into_iter().filter(|c| c.id == top || c.reply_to == Some(top)).collect();
    let shown = prepare(&state, &grant, &in_thread).await?;
    let d = discussion_for(&grant, &page, &shown);
    let header = HeaderValue::from(top);
    let response = match super::threads(in_thread).into_iter().next() {
        Some((top, replies)) => {
            Html(views::thread(&ctx, &d, &top, &replies).into_string()).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    };
    let mut response = response;
    response.headers_mut().insert("x-thread", header);
    response.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /s/{space}/{page}/comments/events`: a server-sent event for each change of the page's
/// comments (its id only: the reader then asks for the thread, as themself). Readers who fall
/// far behind are told to reload. When who may read the page changes (members, roles,
/// visibility, the trash), the reader is checked again, as they would be on opening the stream
/// now, and the stream ends for one who may no longer read it.
pub async fn events(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    PageFor { grant, page, .. }: PageFor<access::Read>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.discussions.subscribe(page.id.0);
    let user = grant.user.map(|u| (u.id, Proof::of(&headers, &u)));
    let reader = Reader { state, user, page: page.id };
    let stream =
        futures_util::stream::unfold((receiver, reader), |(mut receiver, reader)| async move {
            use super::live::Told;
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let event = match receiver.recv().await {
                    // Asked before each comment is told, not only when access changes: what is
                    // told is never more than the reader may learn now.
                    Ok(Told::Comment(comment)) if reader.still_reads().await => {
                        Event::default().event("comment").data(comment.to_string())
                    }
                    Ok(Told::Comment(_)) => return None,
                    Ok(Told::Recheck) if reader.still_reads().await => continue,
                    Ok(Told::Recheck) => return None,
                    // What was missed may have been a change of access too.
                    Err(RecvError::Lagged(_)) if reader.still_reads().await => {
                        Event::default().event("reload").data("")
                    }
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return None,
                };
                return Some((Ok(event), (receiver, reader)));
            }
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
}

/// Who reads a comment stream, and how they proved it, to be checked again while it lasts.
struct Reader {
    state: AppState,
    user: Option<(accounts::UserId, Proof)>,
    page: pages::PageId,
}

impl Reader {
    /// Whether they may read the page now, as the access module says from what is stored now
    /// (their account, their roles, the page and its space); any doubt ends the stream (the
    /// browser then opens it again, and is asked like anyone).
    async fn still_reads(&self) -> bool {
        let db = &self.state.db;
        let asked = async {
            let user = match &self.user {
                Some((id, proof)) => match accounts::store::find(db, *id).await? {
                    // A password changed since, or a token revoked: as if signed out.
                    Some(user) if proof.holds(db, &user).await? => Some(user),
                    _ => return Ok(false),
                },
                None => None,
            };
            let Some(page) = pages::store::get(db, self.page).await? else {
                return Ok(false);
            };
            Ok(access::reads(db, user.as_ref(), &page).await?)
        };
        let answer: AppResult<bool> = asked.await;
        answer.unwrap_or_else(|err| {
            tracing::warn!(page = self.page.0, error = ?err, "a comment stream's reader could not be checked: it ends");
            false
        })
    }
}

/// A comment of `page` changed: the readers on the page see it, and search finds it as it is.
pub(super) fn changed(state: &AppState, page: i64, comment: i64) {
    state.discussions.tell(page, comment);
    state.search.touch(page);
}
