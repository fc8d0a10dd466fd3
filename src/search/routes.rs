//! `/search` and `/api/search`: the same search, as a page and as JSON.
use crate::query::Query;
use axum::{extract::State, response::Html, Json};
use maud::{html, PreEscaped};

use super::{run, Ask, Found};
use crate::{
    error::{AppError, AppResult},
    i18n::AskedLang,
    layout::{page as layout_page, Ctx},
    session::MaybeUser,
    state::AppState,
};

/// `GET /api/search?q=…[&space=…][&form=…][&page=N]`
pub async fn api(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    AskedLang(lang): AskedLang,
    Query(ask): Query<Ask>,
) -> AppResult<Json<Found>> {
    if let Some(why) = ask.too_long(state.settings.max_search_chars, lang) {
        return Err(AppError::BadRequest(why));
    }
    Ok(Json(run(&state.db, &state.search, user.as_ref(), &ask).await?))
}

/// `GET /search?q=…`
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(ask): Query<Ask>,
) -> AppResult<Html<String>> {
    if let Some(why) = ask.too_long(state.settings.max_search_chars, ctx.lang) {
        return Err(AppError::BadRequest(why));
    }
    let found = run(&state.db, &state.search, ctx.user.as_ref(), &ask).await?;
    let title = if found.query.is_empty() {
        ctx.t("search.title")
    } else {
        ctx.tf("search.title_for", &[("q", &found.query)])
    };
    let link = |space: &str, form: &str, page: u64| {
        let mut pairs = vec![("q", found.query.clone())];
        if !space.is_empty() {
            pairs.push(("space", space.to_owned()));
        }
        if !form.is_empty() {
            pairs.push(("form", form.to_owned()));
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        format!("/search?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    };
    let form_label = |key: &str, label: &str| {
        if key == "page" || label.is_empty() {
            ctx.t("search.plain_pages")
        } else {
            label.to_owned()
        }
    };
    Ok(layout_page(
        &ctx,
        &title,
        html! {
            h1 { (ctx.t("search.title")) }
            form.filters role="search" method="get" action="/search" aria-label=(ctx.t("search.title")) {
                div.field {
                    label for="search-q" { (ctx.t("search.label")) }
                    p.hint #search-hint { (ctx.t("search.hint")) }
                    input #search-q type="search" name="q" value=(found.query) maxlength=(state.settings.max_search_chars) aria-describedby="search-hint";
                }
                @if !ask.space.is_empty() { input type="hidden" name="space" value=(ask.space); }
                @if !ask.form.is_empty() { input type="hidden" name="form" value=(ask.form); }
                div.filter-actions { button type="submit" { (ctx.t("search.go")) } }
            }
            @if !found.query.is_empty() {
                @if let Some(better) = &found.corrected {
                    p.notice role="note" {
                        (ctx.tf("search.nothing_for", &[("q", &found.query)])) " "
                        strong { (ctx.tf("search.results_for", &[("q", better)])) }
                    }
                }
                @if !found.matching_spaces.is_empty() {
                    section.matching-spaces aria-labelledby="found-spaces" {
                        h2 #found-spaces { (ctx.t("search.spaces")) }
                        ul.plain {
                            @for space in &found.matching_spaces {
                                li.hit {
                                    h3 { a href=(space.url) { (space.title) } }
                                    @if !space.summary.is_empty() { p.passage { (space.summary) } }
                                }
                            }
                        }
                    }
                }
                p.count role="status" {
                    @if found.total == 0 && found.query.split_whitespace().count() > 1 { (ctx.t("search.none_fewer")) }
                    @else if found.total == 0 { (ctx.t("search.none")) }
                    @else if found.total == 1 { (ctx.t("lists.one")) }
                    @else { (ctx.tf("lists.many", &[("n", &found.total.to_string())])) }
                }
                div.search-layout {
                    @if !found.spaces.is_empty() || !found.forms.is_empty() {
                        nav.facets aria-label=(ctx.t("search.facets")) {
                            @if !ask.space.is_empty() || !ask.form.is_empty() {
                                p { a href=(link("", "", 1)) { (ctx.t("search.everywhere")) } }
                            }
                            h2 { (ctx.t("lists.space")) }
                            ul {
                                @for s in &found.spaces {
                                    li { a href=(link(&s.value, &ask.form, 1)) aria-current=[(s.value == ask.space).then_some("true")] { (s.label) " (" (s.count) ")" } }
                                }
                            }
                            h2 { (ctx.t("search.kind")) }
                            ul {
                                @for f in &found.forms {
                                    li { a href=(link(&ask.space, &f.value, 1)) aria-current=[(f.value == ask.form).then_some("true")] { (form_label(&f.value, &f.label)) " (" (f.count) ")" } }
                                }
                            }
                        }
                    }
                    ol.hits {
                        @for hit in &found.hits {
                            li.hit {
                                h2 { a href=(hit.url) { (hit.title) } }
                                p.meta {
                                    (hit.space_title)
                                    @if hit.comment.is_some() { " · " span.badge { (ctx.t("search.in_comment")) } }
                                }
                                // Escaped by the search engine; only its <mark> are markup.
                                @if !hit.passage.is_empty() { p.passage { (PreEscaped(&hit.passage)) } }
                            }
                        }
                    }
                }
                @if found.pages > 1 {
                    nav.pagination aria-label=(ctx.t("lists.pages")) {
                        @if found.page > 1 { a rel="prev" href=(link(&ask.space, &ask.form, found.page - 1)) { "← " (ctx.t("lists.previous")) } " " }
                        span { (ctx.tf("lists.page_of", &[("page", &found.page.to_string()), ("pages", &found.pages.to_string())])) }
                        @if found.page < found.pages { " " a rel="next" href=(link(&ask.space, &ask.form, found.page + 1)) { (ctx.t("lists.next")) " →" } }
                    }
                }
            }
        },
    ))
}
