//! Pictures and files in a page's text: uploaded with the same checks as entries' files (what
//! the bytes are, the size limit, never SVG or HTML), stored once by their hash, recorded as the
//! page's, and linked from its text; served (by `forms::files::serve`) only to readers of a
//! page whose text links them.
use std::collections::HashMap;

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    access::{self, PageFor},
    db::Db,
    error::AppResult,
    layout::{flash, Ctx, FlashKind},
    session::csrf::CsrfMultipart,
    state::AppState,
};
use ruche_forms::{
    entity::{upload, upload_page},
    uploads, FieldKind,
};

/// A file of the page, as its list shows it: as it was sent to this page.
pub struct Attached {
    pub url: String,
    pub name: String,
    pub size: u64,
    pub by: Option<String>,
}

/// The records of the files sent to `page` that its text links.
async fn linked_records(
    db: &Db,
    page: i64,
    markdown: &str,
) -> anyhow::Result<Vec<upload_page::Model>> {
    Ok(upload_page::Entity::find()
        .filter(upload_page::Column::PageId.eq(page))
        .all(db)
        .await?
        .into_iter()
        .filter(|r| markdown.contains(&format!("/files/{}", r.hash)))
        .collect())
}

/// The hashes of the files recorded as `page`'s that its text links.
pub async fn linked(db: &Db, page: i64, markdown: &str) -> anyhow::Result<Vec<String>> {
    Ok(linked_records(db, page, markdown).await?.into_iter().map(|r| r.hash).collect())
}

/// The files recorded as `page`'s that its text links, each named and credited as it was sent
/// to this page (the same bytes sent elsewhere are stored once, and tell nothing of there).
pub async fn attached(
    db: &Db,
    base: &str,
    page: i64,
    markdown: &str,
) -> anyhow::Result<Vec<Attached>> {
    let records = linked_records(db, page, markdown).await?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let stored: HashMap<String, upload::Model> = upload::Entity::find()
        .filter(upload::Column::Hash.is_in(records.iter().map(|r| r.hash.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.hash.clone(), f))
        .collect();
    let people =
        ruche_accounts::store::by_ids(db, records.iter().filter_map(|r| r.created_by)).await?;
    let mut files: Vec<Attached> = records
        .into_iter()
        .filter_map(|r| {
            let file = stored.get(&r.hash)?;
            let (name, _) = uploads::shown_as(&r, file);
            Some(Attached {
                url: format!("{base}/files/{}", r.hash),
                by: r.created_by.and_then(|u| people.get(&u)).map(|u| u.name.clone()),
                size: u64::try_from(file.size).unwrap_or(0),
                name,
            })
        })
        .collect();
    crate::collation::sort_by_name(&mut files, |f| &f.name);
    Ok(files)
}

/// Words safe inside `[…]` of a Markdown link: no brackets, no line breaks.
fn link_words(text: &str) -> String {
    text.chars()
        .map(|c| if matches!(c, '[' | ']' | '\n' | '\r') || c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .chars()
        .take(200)
        .collect()
}

/// `POST /s/{space}/{page}/files`: a file (`file`, with a `description` for a picture). From the
/// editor (asking for JSON): 201 with the Markdown to write at the cursor. From the plain form:
/// the link is added at the end of the text, and back to the editor.
pub async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    session: tower_sessions::Session,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
    CsrfMultipart { fields, files }: CsrfMultipart,
) -> AppResult<Response> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let base = format!("/s/{}/{}", grant.space.slug, page.slug);
    let refuse = |status: StatusCode, said: String| -> Response {
        if wants_json {
            (status, Json(serde_json::json!({ "error": said }))).into_response()
        } else {
            (
                status,
                crate::layout::page(
                    &ctx,
                    &ctx.t("files.not_added"),
                    maud::html! {
                        h1 { (ctx.t("files.not_added")) }
                        p.lead { (said) }
                        p { a.button href={(base) "/edit"} { (ctx.t("files.back")) } }
                    },
                ),
            )
                .into_response()
        }
    };
    let Some(file) = files.into_iter().find(|f| f.field == "file" && !f.bytes.is_empty()) else {
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, ctx.t("files.none")));
    };
    if file.bytes.len() > state.settings.max_upload_bytes {
        let max = crate::forms::views::human_size(state.settings.max_upload_bytes as u64);
        return Ok(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            ctx.tf("files.too_large", &[("max", &max)]),
        ));
    }
    let kind = match uploads::content_type(&FieldKind::File, &file.name, &file.bytes) {
        Ok(kind) => kind,
        Err(key) => return Ok(refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, ctx.t(key))),
    };
    let by = ctx.user.as_ref().map(|u| u.id.0);
    let stored = uploads::store(
        &state.db,
        &state.settings.uploads_dir,
        &file.name,
        &kind,
        &file.bytes,
        Some(page.id.0),
        by,
    )
    .await?;
    let hash = stored["hash"].as_str().unwrap_or_default().to_owned();
    let name = stored["name"].as_str().unwrap_or("fichier").to_owned();
    let url = format!("{base}/files/{hash}");
    let image = uploads::is_image(&kind);
    let described = fields
        .iter()
        .find(|(k, _)| k == "description")
        .map(|(_, v)| link_words(v))
        .filter(|d| !d.is_empty());
    let markdown = if image {
        format!("![{}]({url})", described.unwrap_or_else(|| link_words(&name)))
    } else {
        format!("[{}]({url})", link_words(&name))
    };
    if wants_json {
        return Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({ "url": url, "name": name, "image": image, "markdown": markdown })),
        )
            .into_response());
    }
    // The plain form: the link goes at the end of the text, merged with what others type.
    let current = state.hub.read(page.id.doc()).await?.markdown;
    let separator = if current.trim_end().is_empty() { "" } else { "\n\n" };
    let text = format!("{}{separator}{markdown}\n", current.trim_end());
    state.hub.set_text(page.id.doc(), text, Some(current), by).await?;
    flash(&session, FlashKind::Success, ctx.tf("files.added", &[("name", &name)])).await?;
    Ok(Redirect::to(&format!("{base}/edit")).into_response())
}
