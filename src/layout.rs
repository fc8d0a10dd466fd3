//! The frame of every HTML page: site name, navigation, who is signed in, flash messages, the
//! language switch; and the rendering of error pages.
use axum::{
    extract::{FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
    Json,
};
use maud::{html, Markup, DOCTYPE};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{
    accounts::{csrf, MaybeUser, User},
    error::{AppError, ErrorInfo},
    i18n::Lang,
    state::AppState,
};

const FLASH_KEY: &str = "flash";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

/// Keeps a message to show on the next page this person sees.
pub async fn flash(
    session: &Session,
    kind: FlashKind,
    text: impl Into<String>,
) -> Result<(), AppError> {
    let mut pending: Vec<Flash> =
        session.get(FLASH_KEY).await.map_err(anyhow::Error::from)?.unwrap_or_default();
    pending.push(Flash { kind, text: text.into() });
    session.insert(FLASH_KEY, pending).await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// What every page needs to know about the request.
#[derive(Clone)]
pub struct Ctx {
    pub user: Option<User>,
    pub lang: Lang,
    pub site_name: String,
    /// The map's tile server and credit (pages with a map pass them to its script).
    pub map_tiles: String,
    pub map_attribution: String,
    /// Longest search query (the search box holds no more).
    pub max_search_chars: usize,
    /// Where the site's days and hours are told.
    pub time_zone: chrono_tz::Tz,
    /// The path and query, so the language switch and sign-in come back here.
    pub here: String,
    pub flashes: Vec<Flash>,
    /// This answer's Content-Security-Policy nonce (for the editor's style elements).
    pub csp_nonce: String,
    csrf: Option<String>,
    session: Option<Session>,
}

impl Ctx {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// "samedi 12 décembre 2026 à 14 h" in the site's time zone.
    pub fn moment(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        crate::dates::moment(self.lang, self.time_zone, t)
    }

    /// "il y a 5 minutes", with the exact moment on hover and for screen readers.
    pub fn time_ago(&self, t: chrono::DateTime<chrono::Utc>) -> Markup {
        crate::dates::time_ago(self.lang, self.time_zone, t)
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.tf(key, args)
    }

    /// Makes sure this page can carry forms (creates the session's CSRF token if needed).
    pub async fn with_forms(mut self) -> Result<Self, AppError> {
        if self.csrf.is_none() {
            if let Some(session) = &self.session {
                self.csrf = Some(csrf::token(session).await?);
            }
        }
        Ok(self)
    }

    /// The hidden field every state-changing form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(csrf::FIELD) value=(self.csrf.as_deref().unwrap_or("")); }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        let session = parts.extensions.get::<Session>().cloned();
        let (mut csrf, mut flashes) = (None, Vec::new());
        if let Some(session) = &session {
            if user.is_some() {
                csrf = Some(csrf::token(session).await?);
            }
            flashes = session
                .remove::<Vec<Flash>>(FLASH_KEY)
                .await
                .map_err(anyhow::Error::from)?
                .unwrap_or_default();
        }
        let time_zone = user.as_ref().and_then(|u| u.time_zone).unwrap_or(state.settings.time_zone);
        Ok(Ctx {
            csp_nonce: parts.extensions.get::<CspNonce>().map(|n| n.0.clone()).unwrap_or_default(),
            user,
            lang: Lang::from_headers(&parts.headers),
            site_name: state.settings.site_name.clone(),
            map_tiles: state.settings.map_tiles.clone(),
            map_attribution: state.settings.map_attribution.clone(),
            max_search_chars: state.settings.max_search_chars,
            time_zone,
            here: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into()),
            flashes,
            csrf,
            session,
        })
    }
}

/// A whole HTML page around `content`.
pub fn page(ctx: &Ctx, title: &str, content: Markup) -> Html<String> {
    let here = urlencode(&ctx.here);
    let links = html! {
        ul {
            li { a href="/" { (ctx.t("nav.spaces")) } }
            li { a href="/directory" { (ctx.t("nav.directory")) } }
            li { a href="/agenda" { (ctx.t("nav.agenda")) } }
            li { a href="/resources" { (ctx.t("nav.resources")) } }
            li { a href="/map" { (ctx.t("nav.map")) } }
            li { a href="/changes" { (ctx.t("nav.changes")) } }
            @if crate::access::may_administer_site(ctx.user.as_ref()) {
                li { a href="/admin/users" { (ctx.t("nav.admin")) } }
                li { a href="/admin/forms" { (ctx.t("nav.forms")) } }
            }
        }
    };
    let who = html! {
        @if let Some(user) = &ctx.user {
            a href="/account" { (user.name) }
            form method="post" action="/logout" {
                (ctx.csrf_field())
                button.link type="submit" { (ctx.t("nav.sign_out")) }
            }
        } @else {
            a href={"/login?next=" (here)} { (ctx.t("nav.sign_in")) }
        }
        ul.langs aria-label=(ctx.t("layout.language")) {
            @for lang in Lang::ALL {
                li {
                    @if lang == ctx.lang {
                        span aria-current="true" lang=(lang.code()) { (lang.own_name()) }
                    } @else {
                        a href={"/lang/" (lang.code()) "?next=" (here)} lang=(lang.code()) hreflang=(lang.code()) { (lang.own_name()) }
                    }
                }
            }
        }
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (ctx.site_name) }
                link rel="stylesheet" href="/assets/ruche.css";
                link rel="icon" type="image/svg+xml" href="/favicon.svg";
            }
            body {
                a.skip href="#main" { (ctx.t("layout.skip")) }
                header.site {
                    // Wide screens: everything in one bar. Phones: the site's name, search and a
                    // menu that opens the rest (no script needed), so the page starts at once.
                    div.bar.wide {
                        a.brand href="/" { (ctx.site_name) }
                        nav aria-label=(ctx.t("layout.nav_label")) { (links) }
                        form.site-search role="search" method="get" action="/search" aria-label=(ctx.t("search.box")) {
                            label.visually-hidden for="site-search-q" { (ctx.t("search.box")) }
                            input #site-search-q type="search" name="q" placeholder=(ctx.t("search.title")) maxlength=(ctx.max_search_chars);
                            button type="submit" { (ctx.t("search.go")) }
                        }
                        div.who { (who) }
                    }
                    div.bar.narrow {
                        a.brand href="/" { (ctx.site_name) }
                        a.bar-button href="/search" { (ctx.t("search.title")) }
                        details.menu {
                            summary.bar-button { (ctx.t("layout.menu")) }
                            div.menu-panel {
                                nav aria-label=(ctx.t("layout.nav_label")) { (links) }
                                div.who { (who) }
                            }
                        }
                    }
                }
                main #main tabindex="-1" {
                    @for flash in &ctx.flashes {
                        div class={"flash " @if flash.kind == FlashKind::Error { "flash-error" } @else { "flash-ok" }}
                            role=(if flash.kind == FlashKind::Error { "alert" } else { "status" }) { (flash.text) }
                    }
                    (content)
                }
                footer.site { p { (ctx.site_name) " · " (ctx.t("layout.powered")) } }
            }
        }
    };
    Html(markup.into_string())
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A form field with its label, its error (tied to it for screen readers) and what was typed.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: String,
    pub kind: &'a str,
    pub value: &'a str,
    pub error: Option<String>,
    pub hint: Option<String>,
    pub autocomplete: &'a str,
    pub required: bool,
    pub maxlength: Option<usize>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: String) -> Self {
        Self {
            name,
            label,
            kind: "text",
            value: "",
            error: None,
            hint: None,
            autocomplete: "off",
            required: true,
            maxlength: None,
        }
    }
    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }
    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }
    pub fn error(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }
    pub fn hint(mut self, hint: String) -> Self {
        self.hint = Some(hint);
        self
    }
    pub fn autocomplete(mut self, autocomplete: &'a str) -> Self {
        self.autocomplete = autocomplete;
        self
    }
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    /// The most characters the server keeps: the browser stops the typing there too.
    pub fn maxlength(mut self, n: usize) -> Self {
        self.maxlength = Some(n);
        self
    }

    pub fn render(&self) -> Markup {
        let id = format!("f-{}", self.name);
        let described = match (&self.hint, &self.error) {
            (_, Some(_)) => Some(format!("{id}-error")),
            (Some(_), None) => Some(format!("{id}-hint")),
            _ => None,
        };
        html! {
            div class={"field" @if self.error.is_some() { " has-error" }} {
                label for=(id) { (self.label) }
                @if let Some(hint) = &self.hint { p.hint id={(id) "-hint"} { (hint) } }
                @if let Some(error) = &self.error { p.error id={(id) "-error"} { (error) } }
                @if self.kind == "textarea" {
                    textarea id=(id) name=(self.name) rows="4" maxlength=[self.maxlength] aria-describedby=[described.as_deref()] { (self.value) }
                } @else {
                    input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                        autocomplete=(self.autocomplete) required[self.required] maxlength=[self.maxlength]
                        aria-invalid=[self.error.as_ref().map(|_| "true")]
                        aria-describedby=[described.as_deref()];
                }
            }
        }
    }
}

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
    let lang = Lang::from_headers(request.headers());
    let session = request.extensions().get::<Session>().cloned();
    let response = next.run(request).await;
    let Some(info) = response.extensions().get::<ErrorInfo>().cloned() else {
        return response;
    };
    let message = lang.t(info.key);
    if wants_json {
        let body = serde_json::json!({
            "error": info.key.trim_start_matches("error."),
            "message": message,
            "detail": info.detail,
        });
        return (info.status, Json(body)).into_response();
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
        return Redirect::to(&format!("/login?next={}", urlencode(&here))).into_response();
    }
    let user = match &session {
        Some(session) => {
            crate::accounts::extract::session_user(&state, session).await.unwrap_or(None)
        }
        None => None,
    };
    let csrf = match (&session, &user) {
        (Some(session), Some(_)) => csrf::token(session).await.ok(),
        _ => None,
    };
    let time_zone = user.as_ref().and_then(|u| u.time_zone).unwrap_or(state.settings.time_zone);
    let ctx = Ctx {
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
        @if let Some(detail) = &info.detail { p { (detail) } }
        @if info.status == StatusCode::UNAUTHORIZED {
            p { a.button href="/login" { (lang.t("nav.sign_in")) } }
        }
        p { a href="/" { (lang.t("error.back_home")) } }
    };
    let mut response = (info.status, page(&ctx, &title, body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The site's icon (a hive cell), for browser tabs and bookmarks.
pub async fn favicon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        include_str!("../web/static/favicon.svg"),
    )
}

/// The stylesheet, compiled into the binary.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../web/static/ruche.css"),
    )
}

/// The live editor, built from `web/` and compiled into the binary (no Node step at run time).
pub async fn editor_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../web/dist/editor.js"),
    )
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
