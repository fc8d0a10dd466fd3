//! Handlers of entries' fields: the generated form, validated on the server, written into the
//! live document so that people viewing the page see the change.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::{
    store,
    validate::{self, Raw},
    views, FieldKind, Form,
};
use crate::{
    access::SpaceAction,
    accounts::csrf::CsrfForm,
    app::AppState,
    error::{AppError, AppResult},
    layout::{flash, Ctx, FlashKind},
    pages::{routes::page_at, Page},
};

/// The form a page is an entry of.
pub async fn form_of(state: &AppState, page: &Page) -> AppResult<Option<Form>> {
    match &page.form {
        Some(key) => Ok(store::find(&state.db, key).await?),
        None => Ok(None),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((space, slug)): Path<(String, String)>,
) -> AppResult<Response> {
    let (grant, page) =
        page_at(&state, ctx.user.as_ref(), &space, &slug, SpaceAction::Edit).await?;
    let form = form_of(&state, &page).await?.ok_or(AppError::NotFound)?;
    let content = state.hub.read(page.id.doc()).await?;
    let raw = views::raw_from_values(&form, &content.fields);
    Ok(views::entry_form(&ctx, &grant.space, &page, &form, &raw, &Default::default())
        .into_response())
}

pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path((space, slug)): Path<(String, String)>,
    CsrfForm(raw): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (grant, page) =
        page_at(&state, ctx.user.as_ref(), &space, &slug, SpaceAction::Edit).await?;
    if page.trashed {
        return Err(AppError::NotFound);
    }
    let form = form_of(&state, &page).await?.ok_or(AppError::NotFound)?;
    let checked = match validate::validate(&form, &Raw(&raw)) {
        Ok(values) => check_links(&state, &form, values).await?,
        Err(errors) => Err(errors),
    };
    let values = match checked {
        Ok(values) => values,
        Err(errors) => {
            // What was typed stays in the form, with each error next to its field.
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                views::entry_form(&ctx, &grant.space, &page, &form, &raw, &errors),
            )
                .into_response());
        }
    };
    state.hub.set_fields(page.id.doc(), values, ctx.user.as_ref().map(|u| u.id.0)).await?;
    flash(&session, FlashKind::Success, ctx.t("page.saved")).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

/// Links must lead somewhere: a page of the right form, an existing account.
async fn check_links(
    state: &AppState,
    form: &Form,
    values: serde_json::Map<String, serde_json::Value>,
) -> AppResult<Result<serde_json::Map<String, serde_json::Value>, validate::Errors>> {
    let mut errors = validate::Errors::new();
    for f in &form.fields {
        let Some(text) = values.get(&f.key).and_then(|v| v.as_str()) else { continue };
        match &f.kind {
            FieldKind::PageLink { form: wanted } => {
                let ok = match text.split_once('/') {
                    Some((space, slug)) => {
                        match crate::spaces::store::find(&state.db, space).await? {
                            Some(space) => matches!(
                                crate::pages::store::find(&state.db, space.id, slug).await?,
                                Some(crate::pages::store::Found::Page(p)) if p.form.as_deref() == Some(wanted.as_str()) && !p.trashed
                            ),
                            None => false,
                        }
                    }
                    None => false,
                };
                if !ok {
                    errors.insert(f.key.clone(), "forms.error_page_link");
                }
            }
            FieldKind::MemberLink => {
                let known = crate::accounts::store::find_by_email(&state.db, text).await?.is_some();
                if !known {
                    errors.insert(f.key.clone(), "forms.error_member");
                }
            }
            _ => {}
        }
    }
    Ok(if errors.is_empty() { Ok(values) } else { Err(errors) })
}
