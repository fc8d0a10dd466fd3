//! What the binary serves besides pages (the icon, the stylesheet, the editor's script), and
//! the Content-Security-Policy of every answer.
use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

/// The site's icon (a hive cell), for browser tabs and bookmarks.
pub async fn favicon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        include_str!("../../web/static/favicon.svg"),
    )
}

/// The bell of the header (drawn by the stylesheet in the text's colour; no font needed).
pub async fn bell_icon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        include_str!("../../web/static/bell.svg"),
    )
}

/// The stylesheet, compiled into the binary.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../web/static/ruche.css"),
    )
}

/// The live editor, built from `web/` and compiled into the binary (no Node step at run time).
pub async fn editor_script() -> impl IntoResponse {
    script(include_str!("../../web/dist/editor.js"))
}

/// The bell's script: keeps the number of unread notifications current on open pages.
pub async fn bell_script() -> impl IntoResponse {
    script(include_str!("../../web/static/bell.js"))
}

/// The password fields' button that shows what was typed.
pub async fn password_script() -> impl IntoResponse {
    script(include_str!("../../web/static/password.js"))
}

/// One of the site's scripts, compiled into the binary.
fn script(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

/// The discussions' script: shows the changes of others as they happen.
pub async fn comments_script() -> impl IntoResponse {
    script(include_str!("../../web/static/comments.js"))
}

/// JSON for a `<script type="application/json">` data block: every `<` escaped, so no text in it
/// can end the element or open a comment.
pub fn json_data(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// A random value per answer: `<style>` elements carrying it are allowed (the editor's).
#[derive(Clone)]
pub struct CspNonce(pub String);

/// Gives every request a nonce and every answer the site's Content-Security-Policy with it
/// (unless the answer has its own: uploaded files are sandboxed).
pub async fn content_security(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    use base64::Engine;
    let nonce = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>());
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let policy = state
        .content_security_policy
        .replace("style-src 'self'", &format!("style-src 'self' 'nonce-{nonce}'"));
    // Presence cursors colour themselves with style attributes (not stylesheets, never
    // scripts; what people write is sanitised of them anyway).
    let policy = format!("{policy}; style-src-attr 'unsafe-inline'");
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response.headers_mut().entry(header::CONTENT_SECURITY_POLICY).or_insert(value);
    }
    response
}

/// The Content-Security-Policy of every page: scripts, styles and connections from the site
/// only (no inline script anywhere), pictures from the site, data URLs and the map's tile
/// server, never framed.
pub fn content_security_policy(base_url: &str, map_tiles: &str) -> String {
    let origin_of = |url: &str| {
        url::Url::parse(url).ok().map(|u| u.origin().ascii_serialization()).filter(|o| o != "null")
    };
    let tiles = origin_of(map_tiles).map(|o| format!(" {o}")).unwrap_or_default();
    let sockets = origin_of(base_url)
        .map(|o| format!(" {}", o.replacen("http", "ws", 1)))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         connect-src 'self'{sockets}; font-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}
