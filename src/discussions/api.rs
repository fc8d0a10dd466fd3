//! The JSON API of discussions: `GET`/`POST /api/pages/{space}/{page}/comments`,
//! `PATCH`/`DELETE /api/comments/{id}`. The same access rules as the pages: a comment is
//! reached through its page, and its page through the access module.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;

use super::{
    routes::{prepare, refusal},
    views::{readable, Prepared},
    Comment, Refused,
};
use crate::{
    access::{self, PageFor, SpaceAction, SpaceGrant},
    client_addr::ClientAddr,
    error::{AppError, AppResult},
    layout::Ctx,
    session::MaybeUser,
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_pages as pages;
use ruche_pages::Page;
use ruche_spaces as spaces;

/// A comment as the API shows it to this reader: a hidden one's text only to moderators, a
/// deleted one's never.
fn json(grant: &SpaceGrant, c: &Comment, shown: &Prepared) -> serde_json::Value {
    let readable = readable(grant, c);
    let markdown = if readable { c.markdown.as_str() } else { "" };
    let html = if readable { shown.bodies.get(&c.id).map(|h| &**h) } else { None };
    serde_json::json!({
        "id": c.id,
        "markdown": markdown,
        "html": html.unwrap_or(""),
        "author": c.author_id.and_then(|a| shown.names.get(&a)),
        "created_at": c.created_at,
        "edited_at": c.edited_at,
        "reply_to": c.reply_to,
        "deleted": c.deleted,
        "hidden": c.hidden,
    })
}

/// `GET /api/pages/{space}/{page}/comments`: every comment, oldest first.
pub async fn list(
    State(state): State<AppState>,
    PageFor { grant, page, .. }: PageFor<access::Read>,
) -> AppResult<Json<serde_json::Value>> {
    let comments = super::list(&state.db, page.id.0).await?;
    let shown = prepare(&state, &grant, &comments).await?;
    let items: Vec<_> = comments.iter().map(|c| json(&grant, c, &shown)).collect();
    Ok(Json(
        serde_json::json!({ "comments": items, "may_comment": access::may_comment(&grant, &page) }),
    ))
}

#[derive(Deserialize)]
pub struct NewComment {
    markdown: String,
    #[serde(default)]
    reply_to: Option<i64>,
}

fn refused(ctx: &Ctx, refused: Refused) -> Response {
    match refusal(ctx, &refused) {
        Some((status, said)) => {
            (status, Json(serde_json::json!({ "error": said }))).into_response()
        }
        None => AppError::Internal(anyhow::anyhow!("{refused}")).into_response(),
    }
}

/// `POST /api/pages/{space}/{page}/comments` with `{"markdown": "...", "reply_to": ID?}`.
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Json(body): Json<NewComment>,
) -> AppResult<Response> {
    access::comment(&grant, &page)?;
    let comment = (body.markdown.as_str(), body.reply_to);
    match super::routes::post_as(&state, &grant, &page, comment, client).await {
        Ok(comment) => {
            let shown = prepare(&state, &grant, std::slice::from_ref(&comment)).await?;
            Ok((StatusCode::CREATED, Json(json(&grant, &comment, &shown))).into_response())
        }
        Err(no) => Ok(refused(&ctx, no)),
    }
}

/// The comment `id`, its page and the reader's grant on its space, if they may read it.
async fn reach(
    state: &AppState,
    user: Option<&accounts::User>,
    id: i64,
) -> AppResult<(Comment, Page, SpaceGrant)> {
    let comment = super::get(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let page = pages::store::get(&state.db, pages::PageId(comment.page_id))
        .await?
        .ok_or(AppError::NotFound)?;
    let space = spaces::store::get(&state.db, page.space_id).await?.ok_or(AppError::NotFound)?;
    // A space one may not read, like a page one may not: as if there were no comment.
    let grant = access::space(&state.db, user, space.slug.as_str(), SpaceAction::Read)
        .await
        .map_err(|_| AppError::NotFound)?;
    access::page(&grant, &page, SpaceAction::Read).map_err(|_| AppError::NotFound)?;
    Ok((comment, page, grant))
}

#[derive(Deserialize)]
pub struct Changed {
    markdown: String,
}

/// `PATCH /api/comments/{id}` with `{"markdown": "..."}`: its author changes it.
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeUser(user): MaybeUser,
    Path(id): Path<i64>,
    Json(body): Json<Changed>,
) -> AppResult<Response> {
    let (comment, page, grant) = reach(&state, user.as_ref(), id).await?;
    if comment.deleted || !access::may_change_comment(&grant, &page, comment.author_id) {
        return Err(if user.is_none() { AppError::Unauthorized } else { AppError::Forbidden });
    }
    if let Err(no) = super::edit(&state.db, &state.settings.comments, id, &body.markdown).await {
        return Ok(refused(&ctx, no));
    }
    super::routes::changed(&state, page.id.0, id);
    let comment = super::get(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let shown = prepare(&state, &grant, std::slice::from_ref(&comment)).await?;
    Ok(Json(json(&grant, &comment, &shown)).into_response())
}

/// `DELETE /api/comments/{id}`: its author, or a moderator of its space.
pub async fn delete(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let (comment, page, grant) = reach(&state, user.as_ref(), id).await?;
    let may = access::may_change_comment(&grant, &page, comment.author_id)
        || access::may_moderate(&grant);
    if !may {
        return Err(if user.is_none() { AppError::Unauthorized } else { AppError::Forbidden });
    }
    super::delete(&state.db, id).await?;
    super::routes::changed(&state, page.id.0, id);
    Ok(StatusCode::NO_CONTENT)
}
