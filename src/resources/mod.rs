//! Resources: documents, webinars, tools (entries of the `resource` form), filtered by type,
//! theme and space; public readers see those of public spaces.
use crate::query::Query;
use axum::extract::State;
use axum::response::Html;
use maud::html;

use crate::{
    access, discussions,
    error::{AppError, AppResult},
    forms::{
        query::{self, Filter},
        views::{self as form_views, FilterSelect},
    },
    layout::{page as layout_page, Ctx},
    notifications,
    state::AppState,
};
use ruche_forms as forms;
use ruche_forms::store::as_text;

const PER_PAGE: usize = 20;

/// `GET /resources`
pub async fn index(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(filter): Query<Filter>,
) -> AppResult<Html<String>> {
    let form = forms::store::find(&state.db, "resource").await?.ok_or(AppError::NotFound)?;
    let grants = access::readable_spaces(&state.db, ctx.user.as_ref()).await?;
    let all = query::entries(&state.db, &grants, &form, None).await?;
    let selects = vec![
        FilterSelect::of_field(&ctx.t("resources.type"), "type", &filter, &all),
        FilterSelect::of_field(&ctx.t("resources.theme"), "themes", &filter, &all),
        FilterSelect::of_space(&ctx, &filter, &all),
    ];
    let paged = query::paginate(filter.apply(&form, all), filter.page_number(), PER_PAGE);
    let title = ctx.t("resources.title");
    let follow = notifications::views::form_follow(&ctx, &state.db, &form.key).await?;
    Ok(layout_page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("resources.lead")) }
            @if let Some(follow) = &follow { (follow) }
            p.actions { a.button href="/add/resource" { (ctx.t("resources.add")) } }
            (form_views::filter_bar(&ctx, "/resources", &filter, &selects))
            (form_views::count(&ctx, paged.total))
            ul.cards {
                @for e in &paged.items {
                    li.card.entry-card {
                        h2 { a href=(e.url()) { (e.page.title) } }
                        @let kind = e.text("type");
                        @if !kind.is_empty() { p { span.badge { (kind) } } }
                        @let description = e.text("description");
                        @if !description.is_empty() {
                            p { (description.chars().take(240).collect::<String>()) @if description.chars().count() > 240 { "…" } }
                        }
                        @let themes = e.items("themes");
                        @if !themes.is_empty() { ul.tags aria-label=(ctx.t("resources.theme")) { @for t in &themes { li { (t) } } } }
                        p.meta {
                            a href={"/s/" (e.space.slug)} { (e.space.title) }
                            (discussions::views::count_link(&ctx, &e.url(), e.comments))
                            @if let Some(link) = e.values.get("link") { " · " a href=(as_text(link)) rel="noopener noreferrer" { (ctx.t("resources.open_link")) } }
                            @if let Some(file) = e.values.get("file") {
                                " · " a href={(e.url()) "/files/" (as_text(&file["hash"]))} download { (ctx.t("resources.download")) " " (as_text(&file["name"])) }
                            }
                        }
                    }
                }
            }
            (form_views::pager(&ctx, "/resources", &filter, &paged))
        },
    ))
}
