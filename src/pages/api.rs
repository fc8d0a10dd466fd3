//! The JSON API of pages: read one, write one (as a CRDT edit), list a space's pages.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};

use super::{
    store::{self, PageError},
    PageSlug,
};
use crate::{
    access::{self, PageFor, SpaceAction},
    client_addr,
    error::{AppError, AppResult},
    i18n::Lang,
    session::MaybeUser,
    state::AppState,
};
use ruche_forms as forms;

#[derive(Serialize)]
pub struct PageJson {
    slug: String,
    title: String,
    markdown: String,
    fields: serde_json::Value,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/pages/{space}/{page}`
pub async fn show(
    State(state): State<AppState>,
    PageFor { grant, page, .. }: PageFor<access::Read>,
) -> AppResult<Json<PageJson>> {
    let content = state.hub.read(page.id.doc()).await?;
    let mut fields = content.fields;
    if !access::page_allows(&grant, &page, SpaceAction::ReadMembersOnlyFields) {
        let form = forms::store::form_of(&state.db, &page).await?;
        if let Some(map) = fields.as_object_mut() {
            // Values of fields the form no longer has (or never had) are for members only.
            map.retain(|key, _| form.as_ref().is_some_and(|f| f.shows(key, false)));
        }
    }
    Ok(Json(PageJson {
        slug: page.slug.to_string(),
        title: page.title,
        markdown: content.markdown,
        fields,
        updated_at: page.updated_at,
    }))
}

#[derive(Deserialize)]
pub struct PutPage {
    markdown: String,
    title: Option<String>,
    /// The text the writer started from (as `GET` returned it): only their changes are applied.
    base_markdown: Option<String>,
}

/// `PUT /api/pages/{space}/{page}` with `{"markdown", "title"?}`: creates the page, or turns the
/// difference with its current text into an edit that merges with live typing.
pub async fn put(
    State(state): State<AppState>,
    client_addr::ClientAddr(client): client_addr::ClientAddr,
    MaybeUser(user): MaybeUser,
    crate::i18n::AskedLang(lang): crate::i18n::AskedLang,
    Path((space, slug)): Path<(String, String)>,
    Json(body): Json<PutPage>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, user.as_ref(), &space, SpaceAction::Edit).await?;
    let author = user.as_ref().map(|u| u.id.0);
    let (page, status) = match store::find(&state.db, grant.space.id, &slug).await? {
        Some(store::Found::Page(page)) => {
            match access::page(&grant, &page, SpaceAction::Edit) {
                Ok(()) => {}
                // In the trash, or unseen: its address is taken all the same.
                Err(access::Denied::NotFound | access::Denied::InTrash) => {
                    return Err(AppError::Conflict(lang.t("page.slug_taken")))
                }
                Err(refused) => return Err(refused.into()),
            }
            let page = match body
                .title
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty() && *t != page.title)
            {
                Some(title) => store::rename(&state.db, &page, title, None, author)
                    .await
                    .map_err(|e| page_error(lang, e))?,
                None => page,
            };
            (page, StatusCode::OK)
        }
        Some(_) => return Err(AppError::Conflict(lang.t("page.slug_taken"))),
        None => {
            let wanted = PageSlug::parse(&slug)
                .ok_or_else(|| AppError::BadRequest(lang.t("page.slug_invalid")))?;
            let title = body.title.clone().unwrap_or_else(|| title_from_slug(&slug));
            if let Err(spent) = super::routes::may_make_page(&state, user.as_ref(), client) {
                return Ok(spent.into_response());
            }
            let page = store::create(&state.db, grant.space.id, &title, Some(&wanted), author)
                .await
                .map_err(|e| page_error(lang, e))?;
            super::routes::made_page(&state, user.as_ref(), client);
            (page, StatusCode::CREATED)
        }
    };
    state
        .hub
        .set_text(page.id.doc(), body.markdown.clone(), body.base_markdown.clone(), author)
        .await?;
    state.search.touch(page.id.0);
    let content = state.hub.read(page.id.doc()).await?;
    Ok((
        status,
        Json(PageJson {
            slug: page.slug.to_string(),
            title: page.title,
            markdown: content.markdown,
            fields: content.fields,
            updated_at: chrono::Utc::now(),
        }),
    )
        .into_response())
}

/// "compte-rendu" → "Compte rendu".
fn title_from_slug(slug: &str) -> String {
    let words = slug.replace('-', " ");
    let mut chars = words.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn page_error(lang: Lang, err: PageError) -> AppError {
    match err {
        PageError::EmptyTitle | PageError::NoSlug => {
            AppError::BadRequest(lang.t("page.title_invalid"))
        }
        PageError::Internal(e) => AppError::Internal(e),
    }
}

#[derive(Serialize)]
pub struct PageSummary {
    slug: String,
    title: String,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/spaces/{space}/pages`
pub async fn list(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(space): Path<String>,
) -> AppResult<Json<Vec<PageSummary>>> {
    let grant = access::space(&state.db, user.as_ref(), &space, SpaceAction::Read).await?;
    let pages = store::list(&state.db, grant.space.id, false).await?;
    Ok(Json(
        access::readable_pages(&grant, pages)
            .into_iter()
            .map(|p| PageSummary {
                slug: p.slug.to_string(),
                title: p.title,
                updated_at: p.updated_at,
            })
            .collect(),
    ))
}
