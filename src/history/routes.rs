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
    error::{AppError, AppResult},
    layout::{flash, Ctx, FlashKind},
    pages::routes::render_for,
    session::csrf::CsrfForm,
    state::AppState,
};
use ruche_pages::Page;

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
    let (revisions, total, number) =
        store::list(&state.db, page.id, q.page, super::PER_PAGE).await?;
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
    let fields = match ruche_forms::store::form_of(&state.db, &page).await? {
        Some(form) => field_changes(&state, &ctx, &grant, &page, &form, &from, &to).await?,
        None => Vec::new(),
    };
    Ok(views::compare(&ctx, &grant, &page, &from, &to, &changes, &fields))
}

/// The values of an entry that differ between two revisions, as people read them: (field,
/// before, after). Members-only fields only for those who may read them.
async fn field_changes(
    state: &AppState,
    ctx: &Ctx,
    grant: &access::SpaceGrant,
    page: &Page,
    form: &ruche_forms::Form,
    from: &super::Revision,
    to: &super::Revision,
) -> AppResult<Vec<views::FieldChange>> {
    let private = access::page_allows(grant, page, access::SpaceAction::ReadMembersOnlyFields);
    let base = format!("/s/{}/{}", grant.space.slug, page.slug);
    let known = crate::forms::views::Known::default()
        .long_texts(&state.rendered, grant.space.slug.as_str(), form, &[&from.fields, &to.fields])
        .await?;
    let shown = |f: &ruche_forms::FieldDef, v: Option<&serde_json::Value>| {
        v.filter(|v| !v.is_null())
            .map(|v| crate::forms::views::shown(ctx, &known, &base, &grant.space, f, v))
    };
    Ok(form
        .fields
        .iter()
        .filter(|f| private || !f.is_private())
        .filter(|f| from.fields.get(&f.key) != to.fields.get(&f.key))
        .map(|f| views::FieldChange {
            label: f.label.clone(),
            before: shown(f, from.fields.get(&f.key)),
            after: shown(f, to.fields.get(&f.key)),
        })
        .collect())
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

pub(crate) async fn restore_revision(
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
    // An entry's values come back with its text: those it had then, none it did not have.
    let then = target.fields.as_object().cloned().unwrap_or_default();
    let now = before.fields.as_object().cloned().unwrap_or_default();
    if then != now {
        let mut values = then.clone();
        for key in now.keys().filter(|k| !then.contains_key(*k)) {
            values.insert(key.clone(), serde_json::Value::Null);
        }
        state.hub.set_fields(doc, values, by).await?;
        let content = state.hub.read(doc).await?;
        // Lists, the agenda and access follow at once (an event back to members only).
        if crate::content::project(&state.db, doc, content).await? {
            state.hub.kick([doc]).await;
        }
        state.search.touch(page.id.0);
    }
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
