//! Views of any form: its entries as cards or as a table, filtered, with its exports.
use crate::query::Query;
use axum::{
    extract::{Path, State},
    response::Html,
};
use maud::html;

use super::{
    query::{self, Filter},
    store::{self, as_text},
    views::{self as form_views, FilterSelect},
    FieldKind,
};
use crate::{
    access, discussions,
    error::{AppError, AppResult},
    layout::{page as layout_page, Ctx},
    notifications,
    state::AppState,
};

const PER_PAGE: usize = 30;

/// `GET /forms`: every form, with its entries' address.
pub async fn index(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let forms = store::list(&state.db).await?;
    let title = ctx.t("forms.lists_title");
    Ok(layout_page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            @if access::may_administer_site(ctx.user.as_ref()) {
                p.actions { a.button.secondary href="/admin/forms" { (ctx.t("forms.manage")) } }
            }
            ul.cards {
                @for f in &forms {
                    li.card.entry-card {
                        h2 { a href={"/forms/" (f.key)} { (f.name) } }
                        p { (f.description) }
                    }
                }
            }
        },
    ))
}

/// `GET /forms/{key}`: the entries of a form the reader may see; `?view=table` as a table.
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    Query(filter): Query<Filter>,
) -> AppResult<Html<String>> {
    let form = store::find(&state.db, &key).await?.ok_or(AppError::NotFound)?;
    let grants = access::readable_spaces(&state.db, ctx.user.as_ref()).await?;
    let all = query::entries(&state.db, &grants, &form, None).await?;
    let mut selects = vec![FilterSelect::of_space(&ctx, &filter, &all)];
    for f in form.fields.iter().filter(|f| !f.is_private()) {
        if matches!(
            f.kind,
            FieldKind::SingleChoice { .. } | FieldKind::MultipleChoice { .. } | FieldKind::Tags
        ) {
            selects.push(FilterSelect::of_field(&f.label, &f.key, &filter, &all));
        }
    }
    let table = filter.rest.get("view").is_some_and(|v| v == "table");
    let paged = query::paginate(filter.apply(&form, all), filter.page_number(), PER_PAGE);
    let base = format!("/forms/{}", form.key);
    let columns: Vec<_> = form
        .fields
        .iter()
        .filter(|f| !matches!(f.kind, FieldKind::LongText | FieldKind::Image))
        .take(6)
        .collect();
    let exports = format!("/api/forms/{}/entries", form.key);
    let mut links: Vec<String> = Vec::new();
    for e in &paged.items {
        for f in columns.iter().filter(|f| matches!(f.kind, FieldKind::PageLink { .. })) {
            if let Some(link) = e.values.get(&f.key).and_then(|v| v.as_str()) {
                links.push(link.to_owned());
            }
        }
    }
    let titles = form_views::Known::titles(
        query::link_titles(&state.db, &grants, links.iter().map(String::as_str)).await?,
    );
    let query_string = filter.query_string(&[]);
    let suffix = if query_string.is_empty() { String::new() } else { format!("?{query_string}") };
    let follow = notifications::views::form_follow(&ctx, &state.db, &form.key).await?;
    Ok(layout_page(
        &ctx,
        &form.name,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href="/forms" { (ctx.t("forms.lists_title")) } }
            h1 { (form.name) }
            @if !form.description.is_empty() { p.lead { (form.description) } }
            @if let Some(follow) = &follow { (follow) }
            p.actions {
                @if table {
                    a.button.secondary href={(base) (suffix)} { (ctx.t("forms.as_cards")) }
                } @else {
                    a.button.secondary href={(base) "?" (filter.query_string(&[("view", "table")]))} { (ctx.t("forms.as_table")) }
                }
            }
            (form_views::filter_bar(&ctx, &base, &filter, &selects))
            (form_views::count(&ctx, paged.total))
            @if table {
                div.table-wrap {
                    table {
                        caption.visually-hidden { (form.name) }
                        thead { tr {
                            th scope="col" { (ctx.t("forms.title_column")) }
                            th scope="col" { (ctx.t("lists.space")) }
                            @for f in &columns { th scope="col" { (f.label) } }
                        } }
                        tbody {
                            @for e in &paged.items {
                                tr {
                                    th scope="row" { a href=(e.url()) { (e.page.title) } }
                                    td { (e.space.title) }
                                    @for f in &columns {
                                        td { @if let Some(v) = e.values.get(&f.key) { (form_views::shown(&ctx, &titles, &e.url(), &e.space, f, v)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            } @else {
                ul.cards {
                    @for e in &paged.items {
                        li.card.entry-card {
                            h2 { a href=(e.url()) { (e.page.title) } }
                            dl.facts {
                                // The title is the card's heading: a field saying it again is left out.
                                @for f in columns.iter().filter(|f| e.values.get(&f.key).map(as_text).as_deref() != Some(e.page.title.as_str())).take(4) {
                                    @if let Some(v) = e.values.get(&f.key) {
                                        dt { (f.label) } dd { (form_views::shown(&ctx, &titles, &e.url(), &e.space, f, v)) }
                                    }
                                }
                            }
                            p.meta {
                                a href={"/s/" (e.space.slug)} { (e.space.title) }
                                (discussions::views::count_link(&ctx, &e.url(), e.comments))
                            }
                        }
                    }
                }
            }
            (form_views::pager(&ctx, &base, &filter, &paged))
            section aria-labelledby="exports" {
                h2 #exports { (ctx.t("forms.exports")) }
                ul {
                    li { a href={(exports) ".csv" (suffix)} { (ctx.t("forms.export_csv")) } }
                    li { a href={(exports) (suffix)} { (ctx.t("forms.export_json")) } }
                    @if form.first_of(|k| *k == FieldKind::Point).is_some() {
                        li { a href={(exports) ".geojson" (suffix)} { (ctx.t("forms.export_geojson")) } }
                    }
                    @if form.first_of(|k| matches!(k, FieldKind::DateTimeRange | FieldKind::Date)).is_some() {
                        li { a href={(exports) ".ics" (suffix)} { (ctx.t("forms.export_ics")) } }
                    }
                }
            }
        },
    ))
}
