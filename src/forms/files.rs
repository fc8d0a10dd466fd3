//! Serving the files attached to entries: only to those who may read an entry that holds them,
//! in a way that can never run in the site's origin (the files themselves: `forms::uploads`).
use axum::{
    extract::{Path as UrlPath, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{
    entity::upload,
    uploads::{path_of, sent_to, shown_as, stored_path, IMAGES},
};
use crate::{
    access::{self, PageFor, SpaceAction},
    download,
    error::{AppError, AppResult},
    state::AppState,
};
use sea_orm::EntityTrait;

/// `GET /s/{space}/{page}/files/{hash}`: a file held by a field of that entry the reader may
/// see, or linked by the page's text.
pub async fn serve(
    State(state): State<AppState>,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    UrlPath((_, _, hash)): UrlPath<(String, String, String)>,
) -> AppResult<Response> {
    let form = super::store::form_of(&state.db, &page).await?;
    let private = access::page_allows(&grant, &page, SpaceAction::ReadMembersOnlyFields);
    let content = state.hub.read(page.id.doc()).await?;
    let in_field = form
        .iter()
        .flat_map(|form| form.fields.iter())
        .filter(|f| f.kind.is_upload() && (private || !f.is_private()))
        .any(|f| {
            content.fields.get(&f.key).and_then(|v| v.get("hash")).and_then(Value::as_str)
                == Some(hash.as_str())
        });
    let linked = stored_path(&state.settings.uploads_dir, &hash).is_some()
        && content.markdown.contains(&format!("/files/{hash}"));
    let held = in_field || linked;
    // Named by a field is not enough (a field can be made to name any hash): the file must have
    // been uploaded to this very page.
    let own = if held { sent_to(&state.db, &hash, page.id.0).await? } else { None };
    let Some(own) = own else { return Err(AppError::NotFound) };
    let meta =
        upload::Entity::find_by_id(hash.clone()).one(&state.db).await?.ok_or(AppError::NotFound)?;
    // Named and typed as sent to this page, whoever sent the same bytes elsewhere.
    let (name, content_type) = shown_as(&own, &meta);
    let (body, length) = download::file(&path_of(&state.settings.uploads_dir, &hash))
        .await
        .map_err(|e| anyhow::anyhow!("reading the upload {hash}: {e}"))?;
    let inline = IMAGES.contains(&content_type.as_str());
    let disposition = content_disposition(inline, &name);
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            // Even if a browser were fooled into rendering it, nothing in it could run.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response())
}

/// What RFC 5987 lets stand unencoded in a `filename*` (its `attr-char`).
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `inline` or `attachment`, with the file's name as people gave it: percent-encoded as
/// RFC 5987 says (a space is `%20`; form encoding's `+` was saved as is by browsers).
fn content_disposition(inline: bool, name: &str) -> String {
    format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent_encoding::utf8_percent_encode(name, ATTR_CHAR)
    )
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn file_names_keep_their_spaces_and_accents() {
        assert_eq!(
            content_disposition(false, "Compte rendu réunion mars.pdf"),
            "attachment; filename*=UTF-8''Compte%20rendu%20r%C3%A9union%20mars.pdf"
        );
        assert_eq!(
            content_disposition(true, "a\"b;c.png"),
            "inline; filename*=UTF-8''a%22b%3Bc.png"
        );
    }
}
