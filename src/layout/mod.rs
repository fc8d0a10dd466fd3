//! The frame of every HTML page: site name, navigation, who is signed in, flash messages, the
//! language switch; and form fields as every form draws them. Beside it: who is asking and in
//! which language (`ctx`), error pages (`errors`), the served assets and the CSP (`assets`).
mod assets;
mod ctx;
mod errors;

pub use assets::{
    bell_icon, bell_script, comments_script, content_security, content_security_policy,
    editor_script, favicon, json_data, password_script, stylesheet, CspNonce,
};
pub use ctx::{flash, Ctx, Flash, FlashKind};
pub use errors::error_pages;

use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use crate::access;
use crate::i18n::Lang;

/// A whole HTML page around `content`.
pub fn page(ctx: &Ctx, title: &str, content: Markup) -> Html<String> {
    let here = urlencode(&ctx.here);
    let links = html! {
        ul {
            li { a href="/" { (ctx.t("nav.spaces")) } }
            li { a href="/directory" { (ctx.t("nav.directory")) } }
            li { a href="/agenda" { (ctx.t("nav.agenda")) } }
            li { a href="/resources" { (ctx.t("nav.resources")) } }
            li { a href="/discussions" { (ctx.t("nav.exchanges")) } }
            li { a href="/map" { (ctx.t("nav.map")) } }
            li { a href="/changes" { (ctx.t("nav.changes")) } }
            @if access::may_administer_site(ctx.user.as_ref()) {
                li { a href="/admin/users" { (ctx.t("nav.admin")) } }
                li { a href="/admin/forms" { (ctx.t("nav.forms")) } }
            }
        }
    };
    let who = html! {
        @if let Some(user) = &ctx.user {
            a.bell href="/notifications" data-every=(ctx.bell_every_ms) {
                (ctx.t("notify.title"))
                " " span.count hidden[ctx.unread == 0] { (ctx.unread) }
                span.visually-hidden.count-words hidden[ctx.unread == 0] { " " (ctx.t("notify.unread")) }
            }
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
        html lang=(ctx.lang.code()) data-show-password=(ctx.t("field.show_password"))
            data-hide-password=(ctx.t("field.hide_password")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // The site's own name once: the home page is titled with it already.
                @if title == ctx.site_name {
                    title { (title) }
                } @else {
                    title { (title) " · " (ctx.site_name) }
                }
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
                script src="/assets/password.js" defer {}
                @if ctx.user.is_some() {
                    script src="/assets/bell.js" defer {}
                }
            }
        }
    };
    Html(markup.into_string())
}

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A form field with its label, its error (tied to it for screen readers) and what was typed.
pub(crate) struct Field<'a> {
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
    pub(crate) fn hint(mut self, hint: String) -> Self {
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
            (Some(_), Some(_)) => Some(format!("{id}-error {id}-hint")),
            (None, Some(_)) => Some(format!("{id}-error")),
            (Some(_), None) => Some(format!("{id}-hint")),
            (None, None) => None,
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
