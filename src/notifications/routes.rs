//! `/notifications`, the follow buttons, and the choice of mail.
use axum::{
    extract::State,
    response::{Html, IntoResponse, Redirect, Response},
    Json,
};
use maud::html;
use serde::Deserialize;
use tower_sessions::Session;

use super::{Target, SHOWN};
use crate::{
    access::{self, PageFor},
    accounts::{csrf::CsrfForm, CurrentUser},
    error::{AppError, AppResult},
    layout::{flash, page, Ctx, FlashKind},
    state::AppState,
};

/// `GET /notifications`: what happened, newest first; opening the page reads them.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
) -> AppResult<Html<String>> {
    let shown = super::list(&state.db, &user).await?;
    super::mark_all_read(&state.db, user.id).await?;
    let title = ctx.t("notify.title");
    Ok(page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            @if shown.is_empty() {
                p.lead { (ctx.t("notify.none")) }
                p { (ctx.t("notify.how")) }
            } @else {
                ul.plain.notifications {
                    @for n in &shown {
                        li class=(if n.read { "read" } else { "unread" }) {
                            @if !n.read { span.badge { (ctx.t("notify.new")) } " " }
                            @let who = n.who.clone().unwrap_or_else(|| ctx.t("notify.someone"));
                            a href=(n.url) { (ctx.tf(&format!("notify.{}", n.kind), &[("who", &who), ("title", &n.title)])) }
                            br; span.meta { (ctx.time_ago(n.at)) }
                        }
                    }
                }
                @if shown.len() as u64 >= SHOWN { p.meta { (ctx.t("notify.older")) } }
            }
            p { a href="/account#notifications" { (ctx.t("notify.settings_link")) } }
        },
    ))
}

/// `GET /api/notifications`: the same, as JSON (read state kept).
pub async fn api(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<serde_json::Value>> {
    let shown = super::list(&state.db, &user).await?;
    let unread = super::unread(&state.db, user.id).await?;
    let items: Vec<serde_json::Value> = shown
        .iter()
        .map(|n| {
            serde_json::json!({
                "id": n.id, "kind": n.kind, "who": n.who, "title": n.title, "url": n.url,
                "at": n.at, "read": n.read,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "unread": unread, "notifications": items })))
}

#[derive(Deserialize)]
pub struct FollowFields {
    #[serde(default)]
    action: String,
}

/// `POST /s/{space}/{page}/follow` with `action=follow` or `action=unfollow`.
pub async fn follow_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    CsrfForm(fields): CsrfForm<FollowFields>,
) -> AppResult<Response> {
    let target = Target::Page(page.id);
    let said = match fields.action.as_str() {
        "follow" => {
            super::follow(&state.db, user.id, target).await?;
            ctx.t("notify.following")
        }
        "unfollow" => {
            super::unfollow(&state.db, user.id, target).await?;
            ctx.t("notify.not_following")
        }
        _ => return Err(AppError::BadRequest(ctx.t("error.bad_request"))),
    };
    flash(&session, FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

/// `POST /follow/space/{space}` with `action=follow` or `action=unfollow`: every page of the
/// space, and its new entries, for those who may read it.
pub async fn follow_space(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    axum::extract::Path(slug): axum::extract::Path<String>,
    CsrfForm(fields): CsrfForm<FollowFields>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, Some(&user), &slug, access::SpaceAction::Read).await?;
    let target = Target::Space(grant.space.id);
    let said = match fields.action.as_str() {
        "follow" => {
            super::follow(&state.db, user.id, target).await?;
            ctx.t("notify.following_space")
        }
        "unfollow" => {
            super::unfollow(&state.db, user.id, target).await?;
            ctx.t("notify.not_following_space")
        }
        _ => return Err(AppError::BadRequest(ctx.t("error.bad_request"))),
    };
    flash(&session, FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/s/{}", grant.space.slug)).into_response())
}

#[derive(Deserialize)]
pub struct MailFields {
    #[serde(default)]
    choice: String,
}

/// `POST /account/notifications`: a mail for each notification, or none.
pub async fn mail_choice(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<MailFields>,
) -> AppResult<Response> {
    let choice = match fields.choice.as_str() {
        "now" | "never" => fields.choice.as_str(),
        _ => return Err(AppError::BadRequest(ctx.t("error.bad_request"))),
    };
    super::set_mail_choice(&state.db, user.id, choice).await?;
    flash(&session, FlashKind::Success, ctx.t("admin.saved")).await?;
    Ok(Redirect::to("/account#notifications").into_response())
}
