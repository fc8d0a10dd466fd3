//! Handlers of entries' fields: the generated form, validated on the server, written into the
//! live document so that people viewing the page see the change.
use axum::{
    extract::{FromRequest, Path, Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::{
    store, uploads,
    validate::{self, Raw},
    views, FieldKind, Form,
};
use crate::{
    access::{self, PageFor, SpaceAction},
    client_addr, content,
    error::{AppError, AppResult},
    forms,
    layout::{flash, Ctx, FlashKind},
    query,
    session::csrf::{CsrfForm, CsrfMultipart},
    slug,
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_notifications as notifications;
use ruche_pages as pages;
use ruche_spaces as spaces;

pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
) -> AppResult<Response> {
    let form = store::form_of(&state.db, &page).await?.ok_or(AppError::NotFound)?;
    let content = state.hub.read(page.id.doc()).await?;
    let raw = views::raw_from_values(&form, &content.fields);
    let target = views::Target::Existing(&page);
    Ok(views::entry_form(&ctx, &grant.space, target, &form, &raw, &Default::default())
        .into_response())
}

/// What the entry's form sent: a plain form, or one carrying files.
pub struct Sent {
    fields: Vec<(String, String)>,
    files: Vec<crate::multipart::Received>,
}

impl<S: Send + Sync> FromRequest<S> for Sent {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if multipart {
            let CsrfMultipart { fields, files } = CsrfMultipart::from_request(req, state).await?;
            Ok(Self { fields, files })
        } else {
            let CsrfForm(fields) = CsrfForm::from_request(req, state).await?;
            Ok(Self { fields, files: Vec::new() })
        }
    }
}

pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
    sent: Sent,
) -> AppResult<Response> {
    let form = store::form_of(&state.db, &page).await?.ok_or(AppError::NotFound)?;
    let current = state.hub.read(page.id.doc()).await?.fields;
    let by = ctx.user.as_ref().map(|u| u.id.0);
    let (raw, upload_errors) =
        resolve_uploads(&state, &form, sent, &current, Some(page.id.0), by).await?;
    let checked = checked(&state, ctx.user.as_ref(), &form, &raw, upload_errors).await?;
    let values = match checked {
        Ok(values) => values,
        Err(errors) => {
            // What was typed stays in the form, with each error next to its field.
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                views::entry_form(
                    &ctx,
                    &grant.space,
                    views::Target::Existing(&page),
                    &form,
                    &raw,
                    &errors,
                ),
            )
                .into_response());
        }
    };
    state.hub.set_fields(page.id.doc(), values, by).await?;
    // Views and access follow at once, not when the editing settles: an event made for members
    // only leaves the public agenda now, and its outside viewers are disconnected.
    let content = state.hub.read(page.id.doc()).await?;
    if content::project(&state.db, page.id.doc(), content).await? {
        state.hub.kick([page.id.doc()]).await;
    }
    state.search.touch(page.id.0);
    flash(&session, FlashKind::Success, ctx.t("page.saved")).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

/// `GET /s/{space}/new?form={form}`: a new entry's form, title and fields on one page.
pub fn new_entry(ctx: &Ctx, space: &spaces::Space, form: &Form, title: &str) -> Response {
    let target = views::Target::New { title, title_error: None };
    views::entry_form(ctx, space, target, form, &[], &Default::default()).into_response()
}

#[derive(serde::Deserialize)]
pub struct EntryKind {
    #[serde(default)]
    form: String,
}

/// `POST /s/{space}/new?form={form}`: makes the entry once its form is valid, title and fields
/// at once — someone who gives up halfway leaves no empty entry behind.
pub async fn create(
    State(state): State<AppState>,
    client_addr::ClientAddr(client): client_addr::ClientAddr,
    ctx: Ctx,
    session: Session,
    Path(space): Path<String>,
    query::Query(kind): query::Query<EntryKind>,
    mut sent: Sent,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &space, SpaceAction::Read).await?;
    access::may_create_entry(&grant, kind.form == forms::builtin::TOPIC_FORM)?;
    let form = store::find(&state.db, &kind.form).await?.ok_or(AppError::NotFound)?;
    let by = ctx.user.as_ref().map(|u| u.id.0);
    let typed_title = sent
        .fields
        .iter()
        .find(|(k, _)| k == views::TITLE_FIELD)
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    sent.fields.retain(|(k, _)| k != views::TITLE_FIELD);
    let (raw, upload_errors) =
        resolve_uploads(&state, &form, sent, &serde_json::Value::Null, None, by).await?;
    let checked = checked(&state, ctx.user.as_ref(), &form, &raw, upload_errors).await?;
    // The title typed, or else the name the entry gives itself.
    let mut title = slug::clean_label(&typed_title);
    if title.is_empty() {
        let name = raw.iter().find(|(k, _)| k == "name").map(|(_, v)| v.as_str());
        title = slug::clean_label(name.unwrap_or(""));
    }
    let title_error =
        pages::PageSlug::from_title(&title).is_none().then(|| ctx.t("page.title_invalid"));
    let values = match (checked, title_error) {
        (Ok(values), None) => values,
        (checked, title_error) => {
            let errors = checked.err().unwrap_or_default();
            let target = views::Target::New { title: &typed_title, title_error };
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                views::entry_form(&ctx, &grant.space, target, &form, &raw, &errors),
            )
                .into_response());
        }
    };
    // Each new entry (a topic among them) tells the followers of its space and form.
    if let Some(user) = &ctx.user {
        use crate::ratelimit::{Action, Who};
        if let Err(spent) =
            state.action_limits.spend(Action::NewEntry, Who::Account(user.id), client)
        {
            return Ok(spent.into_response());
        }
    }
    // Made whole, with its values, in one transaction.
    let page =
        content::create_entry(&state.db, &grant.space, &title, "", &form, &values, by).await?;
    state.search.touch(page.id.0);
    let mailing = state.settings.mailing();
    if notifications::page_made(&state.db, &mailing, page.id, by).await? > 0 {
        state.outbox.wake();
    }
    flash(&session, FlashKind::Success, ctx.t("forms.entry_created")).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

/// Turns the files of a form into the values of its upload fields: a new file is checked (size,
/// what its bytes are) and stored; else the file kept from before stays (if it really was this
/// entry's, or this person's upload), unless "remove" was ticked.
async fn resolve_uploads(
    state: &AppState,
    form: &Form,
    sent: Sent,
    current: &serde_json::Value,
    page: Option<i64>,
    by: Option<i64>,
) -> AppResult<(Vec<(String, String)>, validate::Errors)> {
    let Sent { fields: mut raw, files } = sent;
    let mut errors = validate::Errors::new();
    for f in form.fields.iter().filter(|f| f.kind.is_upload()) {
        let kept_key = format!("{}.kept", f.key);
        let kept = raw.iter().find(|(k, _)| *k == kept_key).map(|(_, v)| v.clone());
        let remove = raw.iter().any(|(k, v)| *k == format!("{}.remove", f.key) && v == "on");
        raw.retain(|(k, _)| *k != f.key);
        let value = match files.iter().find(|file| file.field == f.key) {
            Some(file) if file.bytes.len() > state.settings.max_upload_bytes => {
                errors.insert(f.key.clone(), "forms.error_file_too_big");
                None
            }
            Some(file) => match uploads::content_type(&f.kind, &file.name, &file.bytes) {
                Ok(kind) => Some(
                    uploads::store(
                        &state.db,
                        &state.settings.uploads_dir,
                        &file.name,
                        &kind,
                        &file.bytes,
                        page,
                        by,
                    )
                    .await?,
                ),
                Err(e) => {
                    errors.insert(f.key.clone(), e);
                    None
                }
            },
            None if remove => None,
            None => match kept {
                Some(text) => {
                    uploads::vouch(&state.db, &text, current.get(&f.key), page, by).await?
                }
                None => None,
            },
        };
        raw.retain(|(k, _)| *k != kept_key);
        if let Some(value) = value {
            raw.push((f.key.clone(), value.to_string()));
            raw.push((kept_key, value.to_string()));
        }
    }
    Ok((raw, errors))
}

/// The values of a sent form, or every error found in it: the fields', the files', the links'.
async fn checked(
    state: &AppState,
    user: Option<&accounts::User>,
    form: &Form,
    raw: &[(String, String)],
    upload_errors: validate::Errors,
) -> AppResult<Result<serde_json::Map<String, serde_json::Value>, validate::Errors>> {
    match validate::validate(form, &Raw(raw)) {
        Ok(values) if upload_errors.is_empty() => check_links(state, user, form, values).await,
        Ok(_) => Ok(Err(upload_errors)),
        Err(mut errors) => {
            errors.extend(upload_errors);
            Ok(Err(errors))
        }
    }
}

/// Links must lead somewhere: a page of the right form, an existing account.
/// A page this person may not read answers exactly like a missing one: saving a link must not
/// tell whether `comite-de-pilotage/structure-secrete` exists.
async fn check_links(
    state: &AppState,
    user: Option<&accounts::User>,
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
                        match access::space(&state.db, user, space, SpaceAction::Read).await {
                            Ok(grant) => matches!(
                                pages::store::find(&state.db, grant.space.id, slug).await?,
                                Some(pages::store::Found::Page(p))
                                    if p.form.as_deref() == Some(wanted.as_str())
                                        && !p.trashed
                                        && access::page_allows(&grant, &p, SpaceAction::Read)
                            ),
                            Err(_) => false,
                        }
                    }
                    None => false,
                };
                if !ok {
                    errors.insert(f.key.clone(), "forms.error_page_link");
                }
            }
            FieldKind::MemberLink => {
                let known = accounts::store::find_by_email(&state.db, text).await?.is_some();
                if !known {
                    errors.insert(f.key.clone(), "forms.error_member");
                }
            }
            _ => {}
        }
    }
    Ok(if errors.is_empty() { Ok(values) } else { Err(errors) })
}
