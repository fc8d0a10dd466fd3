//! Error responses as pages in the person's language, or JSON for the API.
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    Json,
};
use maud::html;
use tower_sessions::Session;

use crate::{
    dates,
    error::ErrorInfo,
    i18n,
    session::{csrf, extract::session_user},
    state::AppState,
};

use super::{page, urlencode, Ctx};

/// Turns error responses into a page in the person's language, or JSON for the API and for
/// clients that ask for JSON. A GET that needs sign-in goes to the sign-in page.
pub async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let wants_json = request.uri().path().starts_with("/api/")
        || request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"));
    let is_get = request.method() == Method::GET;
    // Feed readers and websocket clients get the status and a line of text, never a sign-in page.
    let is_feed = [".atom", ".ics"].iter().any(|end| request.uri().path().ends_with(end))
        || request.uri().path().starts_with("/ws/");
    let here = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    // A program that sent a token gets its 401 once, not a sign-in page (which, asked with the
    // same bad token, would send it to sign in again, and again).
    let sent_token = request.headers().contains_key(header::AUTHORIZATION);
    let lang = crate::i18n::from_headers(request.headers());
    let session = request.extensions().get::<Session>().cloned();
    let response = next.run(request).await;
    let Some(info) = response.extensions().get::<ErrorInfo>().cloned() else {
        return response;
    };
    let message = lang.t(info.message.unwrap_or(info.key));
    // A refusal for now says when to come back: in words on the page, in seconds for programs.
    let retry_after = info.retry_at.map(|at| {
        let seconds = (at - chrono::Utc::now()).num_seconds().max(1);
        HeaderValue::from(seconds)
    });
    if wants_json {
        let body = serde_json::json!({
            "error": info.key.trim_start_matches("error."),
            "message": message,
            "detail": info.detail,
            "retry_at": info.retry_at.map(|at| at.to_rfc3339()),
        });
        let mut response = (info.status, Json(body)).into_response();
        if let Some(after) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, after);
        }
        return response;
    }
    if info.status == StatusCode::UNAUTHORIZED && sent_token {
        return (
            info.status,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""),
            ],
            message,
        )
            .into_response();
    }
    if is_feed {
        return (info.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message)
            .into_response();
    }
    if info.status == StatusCode::UNAUTHORIZED && is_get {
        let to = format!("/login?next={}", urlencode(&here));
        return Redirect::to(i18n::safe_next(Some(&to))).into_response();
    }
    let user = match &session {
        Some(session) => session_user(&state, session).await.unwrap_or(None),
        None => None,
    };
    let csrf = match (&session, &user) {
        (Some(session), Some(_)) => csrf::token(session).await.ok(),
        _ => None,
    };
    let time_zone = user.as_ref().and_then(|u| u.time_zone).unwrap_or(state.settings.time_zone);
    let ctx = Ctx {
        unread: 0,
        bell_every_ms: state.settings.notify.bell_every.as_millis() as u64,
        user,
        lang,
        site_name: state.settings.site_name.clone(),
        map_tiles: state.settings.map_tiles.clone(),
        map_attribution: state.settings.map_attribution.clone(),
        max_search_chars: state.settings.max_search_chars,
        time_zone,
        here,
        flashes: vec![],
        csp_nonce: String::new(),
        csrf,
        session,
    };
    let title = lang.t(&format!("{}_title", info.key));
    let body = html! {
        h1 { (title) }
        p.lead { (message) }
        @if let Some(at) = info.retry_at {
            p { strong { (lang.tf("error.try_again_at", &[("time", &dates::about(lang, time_zone, at))])) } }
        }
        @if let Some(detail) = &info.detail { p { (detail) } }
        @if info.status == StatusCode::UNAUTHORIZED {
            p { a.button href="/login" { (lang.t("nav.sign_in")) } }
        }
        @if let Some((path, words)) = &info.back {
            p { a.button href=(path) { (words) } }
        }
        p { a href="/" { (lang.t("error.back_home")) } }
    };
    let mut response = (info.status, page(&ctx, &title, body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(after) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, after);
    }
    response
}
