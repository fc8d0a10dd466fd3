//! Handlers of the history: the list, one revision, a comparison, saving a version, restoring.
use crate::query::Query;
use axum::{
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{store, views, Kind};
use crate::{
    access::{self, PageFor},
    accounts::csrf::CsrfForm,
    app::AppState,
    error::{AppError, AppResult},
    layout::{flash, Ctx, FlashKind},
    pages::{routes::render_for, Page},
};

/// Revisions shown per page of the history.
pub const PER_PAGE: u64 = 20;

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    page: crate::query::PageNumber,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Query(q): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let (revisions, total, number) = store::list(&state.db, page.id, q.page, PER_PAGE).await?;
    Ok(views::list(&ctx, &grant, &page, &revisions, number, total))
}

pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Path((_, _, id)): Path<(String, String, i64)>,
) -> AppResult<Html<String>> {
    let revision = store::get(&state.db, page.id, id).await?.ok_or(AppError::NotFound)?;
    let html = render_for(&state, ctx.user.as_ref(), &grant, &revision.markdown).await?;
    Ok(views::show(&ctx, &grant, &page, &revision, &html))
}

#[derive(Deserialize)]
pub struct CompareQuery {
    from: i64,
    to: i64,
}

pub async fn compare(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    Query(q): Query<CompareQuery>,
) -> AppResult<Html<String>> {
    let from = store::get(&state.db, page.id, q.from).await?.ok_or(AppError::NotFound)?;
    let to = store::get(&state.db, page.id, q.to).await?.ok_or(AppError::NotFound)?;
    let changes = super::diff::compare(&state.diffs, &from.markdown, &to.markdown).await?;
    Ok(views::compare(&ctx, &grant, &page, &from, &to, &changes))
}

#[derive(Deserialize)]
pub struct SaveFields {
    #[serde(default)]
    note: String,
}

/// "Save a version": records the page as it is now, with an optional note.
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
    CsrfForm(fields): CsrfForm<SaveFields>,
) -> AppResult<Response> {
    let (content, mut authors) = state.hub.take_revision(page.id.doc()).await?;
    let by = ctx.user.as_ref().map(|u| u.id.0);
    authors.extend(by);
    let recorded =
        store::record(&state.db, page.id, Kind::Manual, &fields.note, &content, &authors, by)
            .await?;
    let message =
        if recorded.is_some() { ctx.t("history.saved") } else { ctx.t("history.nothing_changed") };
    flash(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/s/{}/{}/history", grant.space.slug, page.slug)).into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

/// Restores a revision as an edit of the live document: the state just before is recorded,
/// then the restored text, so nothing is lost and people editing see the text change.
pub async fn restore(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
    Path((_, _, id)): Path<(String, String, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let target = store::get(&state.db, page.id, id).await?.ok_or(AppError::NotFound)?;
    restore_revision(
        &state,
        &page,
        &target,
        ctx.user.as_ref().map(|u| u.id.0),
        &ctx.tf("history.restored_note", &[("id", &id.to_string())]),
    )
    .await?;
    flash(&session, FlashKind::Success, ctx.t("history.restored")).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

pub async fn restore_revision(
    state: &AppState,
    page: &Page,
    target: &super::Revision,
    by: Option<i64>,
    note: &str,
) -> AppResult<()> {
    let doc = page.id.doc();
    let (before, authors) = state.hub.take_revision(doc).await?;
    store::record(&state.db, page.id, Kind::BeforeRestore, "", &before, &authors, None).await?;
    state.hub.set_text(doc, target.markdown.clone(), None, by).await?;
    let (after, _) = state.hub.take_revision(doc).await?;
    store::record(
        &state.db,
        page.id,
        Kind::Restore,
        note,
        &after,
        &by.into_iter().collect::<Vec<_>>(),
        by,
    )
    .await?;
    Ok(())
}
