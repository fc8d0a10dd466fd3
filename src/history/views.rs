//! Pages of the history.
use axum::response::Html;
use maud::{html, Markup, PreEscaped};

use super::{diff, Kind, Revision, PER_PAGE};
use crate::{
    access::{self, SpaceGrant},
    layout::{page as layout_page, Ctx, Field},
    query,
};
use ruche_pages::Page;

fn when(ctx: &Ctx, r: &Revision) -> String {
    ctx.moment(r.created_at)
}

fn kind(ctx: &Ctx, k: Kind) -> String {
    ctx.t(&format!("history.kind_{}", k.as_str()))
}

fn crumbs(ctx: &Ctx, grant: &SpaceGrant, page: &Page) -> Markup {
    let space = &grant.space;
    html! {
        nav.crumbs aria-label=(ctx.t("page.breadcrumb")) {
            a href={"/s/" (space.slug)} { (space.title) } " › "
            a href={"/s/" (space.slug) "/" (page.slug)} { (page.title) } " › "
            a href={"/s/" (space.slug) "/" (page.slug) "/history"} { (ctx.t("history.title")) }
        }
    }
}

pub fn list(
    ctx: &Ctx,
    grant: &SpaceGrant,
    page: &Page,
    revisions: &[Revision],
    number: query::PageNumber,
    total: u64,
) -> Html<String> {
    // Shown from 1; `number` is already within the pages there are.
    let number = u64::from(number.get()) - 1;
    let base = format!("/s/{}/{}", grant.space.slug, page.slug);
    let heading = ctx.tf("history.of", &[("title", &page.title)]);
    let pages = total.div_ceil(PER_PAGE);
    layout_page(
        ctx,
        &heading,
        html! {
            (crumbs(ctx, grant, page))
            h1 { (heading) }
            @if access::may_change(grant, page) {
                form.card method="post" action={(base) "/history/save"} {
                    (ctx.csrf_field())
                    p { (ctx.t("history.save_explained")) }
                    (Field::new("note", ctx.t("history.note")).optional().hint(ctx.t("history.note_hint")).render())
                    button type="submit" { (ctx.t("history.save")) }
                }
            }
            @if revisions.is_empty() {
                p { (ctx.t("history.none")) }
            } @else {
                ol.revisions reversed start=(total - number * PER_PAGE) {
                    @for (i, r) in revisions.iter().enumerate() {
                        li.card {
                            p {
                                strong { (when(ctx, r)) } " — " (kind(ctx, r.kind))
                                @if !r.note.is_empty() { " — « " (r.note) " »" }
                            }
                            p.meta {
                                @if r.contributors.is_empty() { (ctx.t("history.nobody")) }
                                @else { (ctx.t("history.by")) " " (r.contributors.join(", ")) }
                                " · " (ctx.tf("history.words", &[("added", &r.words_added.to_string()), ("removed", &r.words_removed.to_string())]))
                            }
                            div.actions {
                                a.button.secondary href={(base) "/history/" (r.id)} { (ctx.t("history.view")) }
                                @if let Some(older) = revisions.get(i + 1) {
                                    a.button.secondary href={(base) "/compare?from=" (older.id) "&to=" (r.id)} { (ctx.t("history.compare_previous")) }
                                }
                                @if access::may_change(grant, page) && i + (number as usize) > 0 {
                                    form method="post" action={(base) "/history/" (r.id) "/restore"} {
                                        (ctx.csrf_field())
                                        button.secondary type="submit" { (ctx.t("history.restore")) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if revisions.len() > 1 {
                    form.card method="get" action={(base) "/compare"} {
                        h2 { (ctx.t("history.compare_any")) }
                        div.field {
                            label for="compare-from" { (ctx.t("history.compare_from")) }
                            select #compare-from name="from" {
                                @for (i, r) in revisions.iter().enumerate() { option value=(r.id) selected[i == 1] { (when(ctx, r)) " — " (kind(ctx, r.kind)) } }
                            }
                        }
                        div.field {
                            label for="compare-to" { (ctx.t("history.compare_to")) }
                            select #compare-to name="to" {
                                @for (i, r) in revisions.iter().enumerate() { option value=(r.id) selected[i == 0] { (when(ctx, r)) " — " (kind(ctx, r.kind)) } }
                            }
                        }
                        button type="submit" { (ctx.t("history.compare")) }
                    }
                }
                @if pages > 1 {
                    nav.pagination aria-label=(ctx.t("history.pages")) {
                        @if number > 0 { a href={(base) "/history?page=" (number)} { "← " (ctx.t("history.newer")) } " " }
                        (ctx.tf("history.page_of", &[("n", &(number + 1).to_string()), ("total", &pages.to_string())]))
                        @if number + 1 < pages { " " a href={(base) "/history?page=" (number + 2)} { (ctx.t("history.older")) " →" } }
                    }
                }
            }
        },
    )
}

pub fn show(ctx: &Ctx, grant: &SpaceGrant, page: &Page, r: &Revision, html: &str) -> Html<String> {
    let heading = ctx.tf("history.revision_of", &[("title", &page.title), ("when", &when(ctx, r))]);
    layout_page(
        ctx,
        &heading,
        html! {
            (crumbs(ctx, grant, page))
            h1 { (heading) }
            p.notice role="note" { (ctx.t("history.old_version")) }
            @if access::may_change(grant, page) {
                form method="post" action={"/s/" (grant.space.slug) "/" (page.slug) "/history/" (r.id) "/restore"} {
                    (ctx.csrf_field())
                    button type="submit" { (ctx.t("history.restore")) }
                }
            }
            article.content { (PreEscaped(html)) }
        },
    )
}

/// A value of an entry that changed between two revisions, as people read it.
pub(crate) struct FieldChange {
    pub label: String,
    pub before: Option<maud::Markup>,
    pub after: Option<maud::Markup>,
}

pub fn compare(
    ctx: &Ctx,
    grant: &SpaceGrant,
    page: &Page,
    from: &Revision,
    to: &Revision,
    changes: &diff::Changes,
    fields: &[FieldChange],
) -> Html<String> {
    let heading = ctx.tf("history.compare_title", &[("title", &page.title)]);
    layout_page(
        ctx,
        &heading,
        html! {
            (crumbs(ctx, grant, page))
            h1 { (heading) }
            p { (ctx.tf("history.compare_between", &[("from", &when(ctx, from)), ("to", &when(ctx, to))])) }
            p.hint { (ctx.t("history.compare_legend")) }
            @match changes.grain {
                diff::Grain::Words => {},
                diff::Grain::Lines => p.notice { (ctx.t("history.compared_by_line")) },
                diff::Grain::Whole => p.notice { (ctx.t("history.compared_whole")) },
            }
            @if !fields.is_empty() {
                h2 { (ctx.t("history.fields_changed")) }
                div.table-wrap { table.stacked {
                    thead { tr {
                        th scope="col" { (ctx.t("history.field")) }
                        th scope="col" { (ctx.t("history.before")) }
                        th scope="col" { (ctx.t("history.after")) }
                    } }
                    tbody {
                        @for change in fields {
                            tr {
                                th scope="row" { (change.label) }
                                td { del { @match &change.before { Some(v) => (v), None => (ctx.t("history.empty")) } } }
                                td { ins { @match &change.after { Some(v) => (v), None => (ctx.t("history.empty")) } } }
                            }
                        }
                    }
                } }
                h2 { (ctx.t("history.text_changed")) }
            }
            (diff::render(changes, &ctx.t("history.added"), &ctx.t("history.removed")))
        },
    )
}
