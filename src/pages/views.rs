//! Pages of pages: reading, creating, editing, renaming, the trash.
use axum::response::Html;
use maud::{html, PreEscaped};

use super::Page;
use crate::{
    access::{SpaceAction, SpaceGrant},
    layout::{page as layout_page, Ctx, Field},
    spaces::Space,
};

fn date(ctx: &Ctx, t: chrono::DateTime<chrono::Utc>) -> String {
    match ctx.lang {
        crate::i18n::Lang::Fr => t.format("%d/%m/%Y à %H:%M UTC").to_string(),
        crate::i18n::Lang::En => t.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// `html` has been rendered and sanitised by `render::to_html`.
pub fn show(
    ctx: &Ctx,
    grant: &SpaceGrant,
    page: &Page,
    html: &str,
    backlinks: &[Page],
) -> Html<String> {
    let space = &grant.space;
    layout_page(
        ctx,
        &page.title,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={"/s/" (space.slug)} { (space.title) } }
            h1 { (page.title) }
            @if page.trashed {
                p.notice role="note" { (ctx.t("page.in_trash")) }
            }
            p.meta { (ctx.tf("page.updated", &[("when", &date(ctx, page.updated_at))])) }
            @if grant.allows(SpaceAction::Edit) && !page.trashed {
                nav.actions aria-label=(ctx.t("page.actions")) {
                    a.button href={"/s/" (space.slug) "/" (page.slug) "/edit"} { (ctx.t("page.edit")) }
                    a.button.secondary href={"/s/" (space.slug) "/" (page.slug) "/rename"} { (ctx.t("page.rename")) }
                }
            }
            article.content { (PreEscaped(html)) }
            @if !backlinks.is_empty() {
                section.backlinks aria-labelledby="backlinks" {
                    h2 #backlinks { (ctx.t("page.backlinks")) }
                    ul { @for p in backlinks { li { a href={"/s/" (space.slug) "/" (p.slug)} { (p.title) } } } }
                }
            }
            @if grant.allows(SpaceAction::Manage) {
                @let action = if page.trashed { "restore" } else { "trash" };
                form method="post" action={"/s/" (space.slug) "/" (page.slug) "/" (action)} {
                    (ctx.csrf_field())
                    button.secondary type="submit" { (ctx.t(&format!("page.{action}"))) }
                }
            }
        },
    )
}

pub fn new_page(ctx: &Ctx, space: &Space, title: &str, error: Option<String>) -> Html<String> {
    let heading = ctx.t("page.new");
    layout_page(
        ctx,
        &heading,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={"/s/" (space.slug)} { (space.title) } }
            h1 { (heading) }
            form.card method="post" action={"/s/" (space.slug) "/pages"} {
                (ctx.csrf_field())
                (Field::new("title", ctx.t("page.title")).value(title).error(error).hint(ctx.t("page.title_hint")).render())
                button type="submit" { (ctx.t("page.create")) }
            }
        },
    )
}

/// The editor: the live editor takes over `#editor` when scripts run; without them, the form
/// below it saves the text (merged with what others typed since the page was opened).
pub fn edit(ctx: &Ctx, space: &Space, page: &Page, markdown: &str, base: &str) -> Html<String> {
    let heading = ctx.tf("page.editing", &[("title", &page.title)]);
    layout_page(
        ctx,
        &heading,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) {
                a href={"/s/" (space.slug)} { (space.title) } " › " a href={"/s/" (space.slug) "/" (page.slug)} { (page.title) }
            }
            h1 { (heading) }
            form.editor-form method="post" action={"/s/" (space.slug) "/" (page.slug) "/edit"} {
                (ctx.csrf_field())
                input type="hidden" name="base" value=(base);
                div.field {
                    label for="markdown" { (ctx.t("page.text")) }
                    p.hint id="markdown-hint" { (ctx.t("page.markdown_hint")) }
                    textarea #markdown name="markdown" rows="20" aria-describedby="markdown-hint" { (markdown) }
                }
                div.actions {
                    button type="submit" { (ctx.t("page.save")) }
                    a.button.secondary href={"/s/" (space.slug) "/" (page.slug)} { (ctx.t("page.back")) }
                }
            }
        },
    )
}

pub fn rename(
    ctx: &Ctx,
    space: &Space,
    page: &Page,
    title: &str,
    slug: &str,
    error: Option<String>,
) -> Html<String> {
    let heading = ctx.tf("page.renaming", &[("title", &page.title)]);
    layout_page(
        ctx,
        &heading,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={"/s/" (space.slug)} { (space.title) } }
            h1 { (heading) }
            form.card method="post" action={"/s/" (space.slug) "/" (page.slug) "/rename"} {
                (ctx.csrf_field())
                (Field::new("title", ctx.t("page.title")).value(title).error(error).render())
                (Field::new("slug", ctx.t("space.slug")).value(slug).optional().hint(ctx.t("page.slug_hint")).render())
                button type="submit" { (ctx.t("page.rename")) }
            }
        },
    )
}

pub fn trash(ctx: &Ctx, space: &Space, pages: &[Page]) -> Html<String> {
    let heading = ctx.tf("page.trash_of", &[("space", &space.title)]);
    layout_page(
        ctx,
        &heading,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={"/s/" (space.slug)} { (space.title) } }
            h1 { (heading) }
            @if pages.is_empty() { p { (ctx.t("page.trash_empty")) } }
            ul {
                @for p in pages {
                    li {
                        a href={"/s/" (space.slug) "/" (p.slug)} { (p.title) } " "
                        form.inline method="post" action={"/s/" (space.slug) "/" (p.slug) "/restore"} {
                            (ctx.csrf_field())
                            button.small type="submit" aria-label={(ctx.t("page.restore")) " — " (p.title)} { (ctx.t("page.restore")) }
                        }
                    }
                }
            }
        },
    )
}

/// The list of a space's pages, on the space's home.
pub fn list(ctx: &Ctx, grant: &SpaceGrant, pages: &[Page]) -> maud::Markup {
    let space = &grant.space;
    html! {
        section aria-labelledby="pages" {
            h2 #pages { (ctx.t("page.list")) }
            @if grant.allows(SpaceAction::Edit) {
                p { a.button href={"/s/" (space.slug) "/new"} { (ctx.t("page.new")) } }
            }
            @if pages.is_empty() {
                p { (ctx.t("page.none")) }
            } @else {
                ul.pages {
                    @for p in pages { li { a href={"/s/" (space.slug) "/" (p.slug)} { (p.title) } } }
                }
            }
            @if grant.allows(SpaceAction::Manage) {
                p { a href={"/s/" (space.slug) "/trash"} { (ctx.t("page.trash_link")) } }
            }
        }
    }
}
