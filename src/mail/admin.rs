//! *Administration → Courriels*: what the site sent, what waits, what it gave up on (with why),
//! and "send again".
use axum::{
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::html;
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    error::{AppError, AppResult},
    layout::{flash, page, Ctx, FlashKind},
    outbox::{self, Status},
    session::{csrf::CsrfForm, AdminUser},
    state::AppState,
};

/// Messages listed.
const SHOWN: u64 = 100;

/// `GET /admin/mail`
pub async fn list(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ctx: Ctx,
) -> AppResult<Html<String>> {
    // Mail only: the outbox also holds work done off requests (reset links asked for).
    let messages = outbox::recent_of(&state.db, super::KIND, SHOWN).await?;
    let title = ctx.t("mail.admin_title");
    Ok(page(
        &ctx,
        &title,
        html! {
            p { a href="/admin/users" { "← " (ctx.t("admin.title")) } }
            h1 { (title) }
            @if state.settings.mail.is_none() {
                p.notice role="note" { (ctx.t("mail.not_set_up")) }
            }
            @if messages.is_empty() {
                p { (ctx.t("mail.none")) }
            } @else {
                div.table-wrap { table.stacked {
                    thead { tr {
                        th scope="col" { (ctx.t("mail.written")) }
                        th scope="col" { (ctx.t("mail.to")) }
                        th scope="col" { (ctx.t("mail.subject")) }
                        th scope="col" { (ctx.t("mail.status")) }
                    } }
                    tbody {
                        @for m in &messages {
                            @let subject = serde_json::from_str::<super::Mail>(&m.payload).map(|mail| mail.subject).unwrap_or_default();
                            tr {
                                td { (ctx.time_ago(m.created_at)) }
                                td { (m.recipient) }
                                td { (subject) }
                                td {
                                    @match Status::of(m) {
                                        Status::Sent => { (ctx.tf("mail.sent", &[("when", &ctx.moment(m.sent_at.unwrap_or(m.created_at)))])) }
                                        Status::Queued => {
                                            (ctx.tf("mail.queued", &[("n", &m.attempts.to_string())]))
                                            @if let Some(e) = &m.last_error { br; small { (e) } }
                                        }
                                        Status::Failed => {
                                            strong { (ctx.t("mail.failed")) }
                                            @if let Some(e) = &m.last_error { br; small { (e) } }
                                            form method="post" action={"/admin/mail/" (m.id) "/again"} {
                                                (ctx.csrf_field())
                                                button.small type="submit" aria-label={(ctx.t("mail.again")) " — " (m.recipient)} { (ctx.t("mail.again")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /admin/mail/{id}/again`: a mail given up goes back in the queue, now.
pub async fn again(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ctx: Ctx,
    session: Session,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    if !outbox::send_again(&state.db, id).await? {
        return Err(AppError::NotFound);
    }
    state.outbox.wake();
    flash(&session, FlashKind::Success, ctx.t("mail.requeued")).await?;
    Ok(Redirect::to("/admin/mail").into_response())
}
