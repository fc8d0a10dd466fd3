//! Pages of pages: reading, creating, editing, renaming, the trash.
use axum::response::Html;
use maud::{html, PreEscaped};

use super::Page;
use crate::{
    access::{self, SpaceAction, SpaceGrant},
    discussions, forms,
    layout::{page as layout_page, Ctx, Field},
    notifications, templates,
};
use ruche_history as history;
use ruche_spaces::Space;

/// `html` has been rendered and sanitised by `render::to_html`.
/// What a page's reading view shows besides the page itself.
pub struct Reading<'a> {
    /// The rendered text.
    pub html: &'a str,
    /// The pages that link here, each with its space.
    pub backlinks: &'a [(String, Page)],
    pub last: Option<&'a history::Revision>,
    /// An entry's values.
    pub entry: Option<maud::Markup>,
    /// For a signed-in reader: whether they follow the page.
    pub following: Option<bool>,
    /// On a member's own sheet: the name mentions use to reach them.
    pub handle: Option<String>,
    /// The discussion under the page.
    pub discussion: maud::Markup,
    /// The files its text links.
    pub files: Vec<super::files::Attached>,
}

pub fn show(ctx: &Ctx, grant: &SpaceGrant, page: &Page, reading: Reading<'_>) -> Html<String> {
    let Reading { html, backlinks, last, entry, following, handle, discussion, files } = reading;
    let space = &grant.space;
    layout_page(
        ctx,
        &page.title,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={"/s/" (space.slug)} { (space.title) } }
            h1 { (page.title) }
            @if let Some(handle) = &handle {
                p.handle { (ctx.t("page.handle")) " : " code { "@" (handle) } }
            }
            @if page.trashed {
                p.notice role="note" { (ctx.t("page.in_trash")) }
            }
            p.meta {
                @match last.filter(|r| !r.contributors.is_empty()) {
                    Some(r) => { (ctx.tf("page.updated_by", &[("who", &r.contributors.join(", "))])) " " (ctx.time_ago(r.created_at)) }
                    None => { (ctx.t("page.updated")) " " (ctx.time_ago(page.updated_at)) }
                }
                " · " a href={"/s/" (space.slug) "/" (page.slug) "/history"} { (ctx.t("history.title")) }
            }
            @if access::may_change(grant, page) {
                nav.actions aria-label=(ctx.t("page.actions")) {
                    a.button href={"/s/" (space.slug) "/" (page.slug) "/edit"} { (ctx.t("page.edit")) }
                    a.button.secondary href={"/s/" (space.slug) "/" (page.slug) "/rename"} { (ctx.t("page.rename")) }
                }
            }
            @else if ctx.user.is_some() && !page.trashed {
                nav.actions aria-label=(ctx.t("page.actions")) {
                    a.button.secondary href={"/s/" (space.slug) "/" (page.slug) "/edit"} { (ctx.t("page.follow_live")) }
                }
            }
            @if let Some(following) = following {
                (notifications::views::follow_form(ctx, &format!("/s/{}/{}/follow", space.slug, page.slug), &notifications::Target::Page(page.id), following))
            }
            @if let Some(entry) = entry {
                (entry)
                @if access::may_change(grant, page) {
                    p { a.button.secondary href={"/s/" (space.slug) "/" (page.slug) "/fields"} { (ctx.t("forms.edit_fields")) } }
                }
            }
            @if super::render::shown_as_written(html) {
                @if access::may_change(grant, page) {
                    p.notice role="note" { (ctx.t("page.shown_as_written")) }
                } @else {
                    p.meta { (ctx.t("page.shown_as_written_reader")) }
                }
            }
            article.content { (PreEscaped(html)) }
            @if !files.is_empty() {
                section.attached aria-labelledby="attached" {
                    h2 #attached { (ctx.t("files.attached")) }
                    ul {
                        @for f in &files {
                            li {
                                a href=(f.url) { (f.name) }
                                " " span.meta {
                                    "(" (forms::views::human_size(f.size))
                                    @if let Some(who) = &f.by { ", " (ctx.tf("files.added_by", &[("who", who)])) }
                                    ")"
                                }
                            }
                        }
                    }
                }
            }
            @if !backlinks.is_empty() {
                section.backlinks aria-labelledby="backlinks" {
                    h2 #backlinks { (ctx.t("page.backlinks")) }
                    ul { @for (in_space, p) in backlinks { li { a href={"/s/" (in_space) "/" (p.slug)} { (p.title) } } } }
                }
            }
            @if grant.allows(SpaceAction::Manage) && !page.trashed {
                (template_form(ctx, grant, page))
            }
            @if grant.allows(SpaceAction::Manage) {
                @let action = if page.trashed { "restore" } else { "trash" };
                form method="post" action={"/s/" (space.slug) "/" (page.slug) "/" (action)} {
                    (ctx.csrf_field())
                    button.secondary type="submit" { (ctx.t(&format!("page.{action}"))) }
                }
            }
            (discussion)
        },
    )
}

/// What was chosen on the new page form.
pub(crate) struct NewChoice<'a> {
    pub title: &'a str,
    pub form: &'a str,
    pub template: &'a str,
}

/// For the space's owners: offering the page as the start of new pages (administrators: in
/// every space), or no more.
fn template_form(ctx: &Ctx, grant: &SpaceGrant, page: &Page) -> maud::Markup {
    use super::TemplateScope;
    let action = format!("/s/{}/{}/template", grant.space.slug, page.slug);
    let admin = access::may_administer_site(grant.user.as_ref());
    html! {
        form.template-choice method="post" action=(action) {
            (ctx.csrf_field())
            @match page.template {
                Some(scope) => {
                    p.meta { (ctx.t(&format!("template.is_{}", scope.as_str()))) }
                    button.secondary type="submit" name="scope" value="none" { (ctx.t("template.withdraw")) }
                    @if admin && scope == TemplateScope::Space {
                        " " button.secondary type="submit" name="scope" value="site" { (ctx.t("template.offer_site")) }
                    }
                }
                None => {
                    button.secondary type="submit" name="scope" value="space" { (ctx.t("template.offer_space")) }
                    @if admin {
                        " " button.secondary type="submit" name="scope" value="site" { (ctx.t("template.offer_site")) }
                    }
                }
            }
        }
    }
}

pub(crate) fn new_page(
    ctx: &Ctx,
    space: &Space,
    choice: &NewChoice<'_>,
    forms: &[forms::Form],
    templates: &[templates::Offered],
    error: Option<String>,
) -> Html<String> {
    let NewChoice { title, form, template } = *choice;
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
                fieldset.templates {
                    legend { (ctx.t("template.choose")) }
                    label.choice {
                        input type="radio" name="template" value="" checked[template.is_empty()];
                        " " strong { (ctx.t("template.empty")) }
                    }
                    @for t in templates {
                        label.choice {
                            input type="radio" name="template" value=(t.id) checked[t.id == template];
                            " " strong { (t.title) }
                            @if !t.description.is_empty() { " — " (t.description) }
                        }
                    }
                }
                @if !forms.is_empty() {
                    fieldset.kinds {
                        legend { (ctx.t("forms.kind_choose")) }
                        label.choice {
                            input type="radio" name="form" value="" checked[form.is_empty()];
                            " " strong { (ctx.t("forms.plain_page")) } " — " (ctx.t("forms.plain_page_hint"))
                        }
                        @for f in forms {
                            label.choice {
                                input type="radio" name="form" value=(f.key) checked[f.key == form];
                                " " strong { (f.name) }
                                @if !f.description.is_empty() { " — " (f.description) }
                            }
                        }
                    }
                }
                button type="submit" { (ctx.t("page.create")) }
            }
        },
    )
}

/// Colours for people's cursors, dark enough to read white text on.
const COLOURS: [&str; 8] =
    ["#b5361c", "#1f6f3f", "#1a56db", "#7e22ce", "#9a3412", "#0f766e", "#be185d", "#4d5b12"];

/// The editor page. The live editor fills `#editor-root` when scripts run; without them, the
/// plain form saves the text (merged with what others typed since the page was opened).
/// People who may only read get the live view without the form. `as_written`: the page is
/// shown as it was written (too costly to lay out), which its editors are told.
pub fn edit(
    ctx: &Ctx,
    space: &Space,
    page: &Page,
    markdown: &str,
    base: &str,
    can_write: bool,
    as_written: bool,
) -> Html<String> {
    let heading = if can_write {
        ctx.tf("page.editing", &[("title", &page.title)])
    } else {
        page.title.clone()
    };
    let (name, colour) = match &ctx.user {
        Some(u) => (u.name.clone(), COLOURS[usize::try_from(u.id.0).unwrap_or(0) % COLOURS.len()]),
        None => (ctx.t("editor.anonymous"), "#4d4a42"),
    };
    let texts = serde_json::json!({
        "connected": ctx.t("editor.connected"),
        "reconnecting": ctx.t("editor.reconnecting"),
        "offline": ctx.t("editor.offline"),
        "label": ctx.t("page.text"),
        "sample": ctx.t("editor.sample"),
        "pageName": ctx.t("editor.page_name"),
        "noPage": ctx.t("link.none"),
        "column": ctx.t("editor.column"),
        "tableTools": ctx.t("editor.table_tools"),
        "addRow": ctx.t("editor.add_row"),
        "removeRow": ctx.t("editor.remove_row"),
        "addColumn": ctx.t("editor.add_column"),
        "removeColumn": ctx.t("editor.remove_column"),
        "task": ctx.t("editor.task"),
        "uploading": ctx.t("editor.uploading"),
        "uploaded": ctx.t("editor.uploaded"),
        "uploadFailed": ctx.t("editor.upload_failed"),
        "describe": ctx.t("editor.describe"),
        "taskDone": ctx.t("editor.task_done"),
    });
    let tools = [
        ("bold", "B", "editor.bold"),
        ("italic", "I", "editor.italic"),
        ("heading", "H", "editor.heading"),
        ("bullets", "", "editor.bullets"),
        ("numbers", "1.", "editor.numbers"),
        ("checklist", "", "editor.checklist"),
        ("link", "", "editor.link"),
        ("wikilink", "[[ ]]", "editor.wikilink"),
        ("table", "", "editor.table"),
        ("file", "", "editor.file"),
        ("undo", "", "editor.undo"),
        ("redo", "", "editor.redo"),
    ];
    layout_page(
        ctx,
        &heading,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) {
                a href={"/s/" (space.slug)} { (space.title) } " › " a href={"/s/" (space.slug) "/" (page.slug)} { (page.title) }
            }
            h1 { (heading) }
            @if as_written { p.notice role="note" { (ctx.t("page.shown_as_written")) } }
            div #editor-root hidden data-show-markdown=(if ctx.user.as_ref().is_some_and(|u| u.show_markdown) { "true" } else { "false" }) data-space=(space.slug) data-page=(page.slug) data-user-name=(name) data-user-color=(colour) data-style-nonce=(ctx.csp_nonce)
                data-can-write=(if can_write { "true" } else { "false" }) data-texts=(texts.to_string()) {
                div.editor-bar {
                    p.status role="status" aria-live="polite" data-role="status" { (ctx.t("editor.reconnecting")) }
                    div.people {
                        span #people-label { (ctx.t("editor.people")) }
                        ul aria-labelledby="people-label" data-role="people" {}
                        span data-role="alone" { (ctx.t("editor.alone")) }
                    }
                }
                div.editor-switches {
                    label.switch { input type="checkbox" data-role="show-markdown"; " " (ctx.t("editor.show_markdown")) }
                    label.switch { input type="checkbox" data-role="show-preview"; " " (ctx.t("editor.show_preview")) }
                }
                @if can_write {
                    p.hint { (ctx.t("editor.autosave")) " " (ctx.t("editor.mention_hint")) }
                } @else {
                    p.notice role="note" { (ctx.t("editor.read_only")) }
                }
                div.toolbar role="toolbar" aria-label=(ctx.t("editor.toolbar")) data-role="toolbar" {
                    @for (action, symbol, key) in tools {
                        // The label is on the button, not in a tooltip; the symbol is decoration.
                        @let keys = match action { "bold" => Some("Control+B"), "italic" => Some("Control+I"), "link" => Some("Control+K"), _ => None };
                        button.tool type="button" data-action=(action)
                            title=(keys.map_or_else(|| ctx.t(key), |k| format!("{} ({})", ctx.t(key), k.replace("Control", &ctx.t("editor.ctrl")))))
                            aria-keyshortcuts=[keys]
                            aria-expanded=[(action == "heading").then_some("false")]
                            aria-controls=[(action == "heading").then_some("heading-menu")] {
                            @if !symbol.is_empty() { span.tool-icon aria-hidden="true" { (symbol) } }
                            span.tool-label { (ctx.t(key)) }
                        }
                        @if action == "heading" {
                            // Heading levels, in words.
                            span.heading-menu #heading-menu hidden {
                                @for (level, label) in [("h2", "editor.heading_big"), ("h3", "editor.heading_medium"), ("h4", "editor.heading_small")] {
                                    button.tool type="button" data-action=(level) { span.tool-label { (ctx.t(label)) } }
                                }
                            }
                        }
                    }
                }
                // The link dialog: a page of the site, found by a word of its title, or an address.
                dialog.link-dialog data-role="link-dialog" aria-labelledby="link-dialog-title" {
                    form method="dialog" {
                        h2 #link-dialog-title { (ctx.t("link.title")) }
                        div.field {
                            label for="link-search" { (ctx.t("link.search")) }
                            p.hint #link-search-hint { (ctx.t("link.search_hint")) }
                            input #link-search type="search" autocomplete="off" aria-describedby="link-search-hint" maxlength="100";
                        }
                        ul.link-results data-role="link-results" aria-live="polite" {}
                        div.field {
                            label for="link-url" { (ctx.t("link.address")) }
                            input #link-url type="url" placeholder="https://" autocomplete="off";
                        }
                        div.actions {
                            button type="submit" value="url" data-role="link-url-ok" { (ctx.t("link.add_address")) }
                            button.secondary type="submit" value="cancel" { (ctx.t("link.cancel")) }
                        }
                    }
                }
                div.editor-panes {
                    div.editor-pane data-role="editor" {}
                    section.preview-pane aria-labelledby="preview-title" {
                        h2 #preview-title { (ctx.t("editor.preview")) }
                        div.content data-role="preview" {}
                    }
                }
                p { a.button.secondary href={"/s/" (space.slug) "/" (page.slug)} { (ctx.t("page.back")) } }
            }
            @if can_write {
                form #plain-editor .editor-form method="post" action={"/s/" (space.slug) "/" (page.slug) "/edit"} {
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
                form #plain-upload .card method="post" enctype="multipart/form-data" action={"/s/" (space.slug) "/" (page.slug) "/files"} {
                    (ctx.csrf_field())
                    div.field {
                        label for="upload-file" { (ctx.t("files.upload_label")) }
                        p.hint #upload-file-hint { (ctx.t("files.upload_hint")) }
                        input #upload-file type="file" name="file" aria-describedby="upload-file-hint";
                    }
                    div.field {
                        label for="upload-description" { (ctx.t("files.description")) }
                        input #upload-description type="text" name="description" maxlength="200";
                    }
                    button.secondary type="submit" { (ctx.t("files.upload_button")) }
                }
            }
            script src="/assets/editor.js" defer {}
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
                        " "
                        form.inline method="post" action={"/s/" (space.slug) "/" (p.slug) "/purge"} {
                            (ctx.csrf_field())
                            button.small.danger type="submit" aria-label={(ctx.t("page.purge")) " — " (p.title)} { (ctx.t("page.purge")) }
                        }
                    }
                }
            }
        },
    )
}

/// The list of a space's pages, on the space's home.
pub fn list(
    ctx: &Ctx,
    grant: &SpaceGrant,
    pages: &[Page],
    comments: &std::collections::HashMap<i64, u64>,
) -> maud::Markup {
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
                    @for p in pages {
                        li {
                            a href={"/s/" (space.slug) "/" (p.slug)} { (p.title) }
                            @if let Some(n) = comments.get(&p.id.0) {
                                span.meta { (discussions::views::count_link(ctx, &format!("/s/{}/{}", space.slug, p.slug), *n)) }
                            }
                        }
                    }
                }
            }
            @if grant.allows(SpaceAction::Manage) {
                p { a href={"/s/" (space.slug) "/trash"} { (ctx.t("page.trash_link")) } }
            }
        }
    }
}
