//! The generated HTML form of an entry, and the display of its values.
use std::{collections::HashMap, sync::Arc};

use axum::response::Html;
use maud::{html, Markup};
use serde_json::Value;

use super::{link_label, store::as_text, validate::Errors, FieldDef, FieldKind, Form};
use crate::{
    dates,
    layout::{self, page as layout_page, Ctx},
};
use ruche_pages::{render::RenderCache, Page};
use ruche_spaces as spaces;
use ruche_spaces::Space;

/// What a form shows in its inputs: what was typed (after an error) or the stored values.
pub(crate) fn raw_from_values(form: &Form, values: &Value) -> Vec<(String, String)> {
    let mut raw = Vec::new();
    for f in &form.fields {
        let Some(v) = values.get(&f.key).filter(|v| !v.is_null()) else { continue };
        match &f.kind {
            FieldKind::DateTimeRange => {
                for part in ["start", "end", "tz"] {
                    raw.push((
                        format!("{}.{part}", f.key),
                        v.get(part).and_then(Value::as_str).unwrap_or("").to_owned(),
                    ));
                }
            }
            FieldKind::Point => {
                for part in ["lat", "lon"] {
                    raw.push((
                        format!("{}.{part}", f.key),
                        v.get(part).map(|n| n.to_string()).unwrap_or_default(),
                    ));
                }
            }
            FieldKind::MultipleChoice { .. } => {
                for item in v.as_array().into_iter().flatten() {
                    raw.push((f.key.clone(), as_text(item)));
                }
            }
            FieldKind::File | FieldKind::Image => {
                raw.push((format!("{}.kept", f.key), v.to_string()))
            }
            FieldKind::Tags => raw.push((
                f.key.clone(),
                v.as_array()
                    .map(|a| a.iter().map(as_text).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
            )),
            _ => raw.push((f.key.clone(), as_text(v))),
        }
    }
    raw
}

fn typed<'a>(raw: &'a [(String, String)], key: &str) -> &'a str {
    raw.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
}

fn input(
    f: &FieldDef,
    raw: &[(String, String)],
    error: Option<&str>,
    ctx: &Ctx,
    space: &Space,
) -> Markup {
    let id = format!("field-{}", f.key);
    let described = error.map(|_| format!("{id}-error"));
    let input_type = match f.kind {
        FieldKind::Number => "number",
        FieldKind::Date => "date",
        // Text, not "url": browsers refuse "www.example.org", which the server completes.
        FieldKind::Url => "text",
        FieldKind::Email | FieldKind::MemberLink => "email",
        FieldKind::Phone => "tel",
        _ => "text",
    };
    html! {
        div class={"field" @if error.is_some() { " has-error" }} {
            @match &f.kind {
                FieldKind::DateTimeRange | FieldKind::Point | FieldKind::MultipleChoice { .. } => {
                    fieldset aria-describedby=[described.as_deref()] {
                        legend { (f.label) @if f.required { " " span.required { "(" (ctx.t("forms.required")) ")" } } }
                        @if let Some(e) = error { p.error id={(id) "-error"} { (ctx.t(e)) } }
                        @match &f.kind {
                            FieldKind::DateTimeRange => {
                                label for={(id) "-start"} { (ctx.t("forms.start")) }
                                input #{(id) "-start"} type="datetime-local" name={(f.key) ".start"} value=(typed(raw, &format!("{}.start", f.key)));
                                label for={(id) "-end"} { (ctx.t("forms.end")) }
                                input #{(id) "-end"} type="datetime-local" name={(f.key) ".end"} value=(typed(raw, &format!("{}.end", f.key)));
                                label for={(id) "-tz"} { (ctx.t("forms.timezone")) }
                                @let tz = typed(raw, &format!("{}.tz", f.key));
                                @let tz = if tz.is_empty() { ctx.time_zone.name() } else { tz };
                                select #{(id) "-tz"} name={(f.key) ".tz"} {
                                    @if !dates::ZONES.iter().any(|(z, _)| *z == tz) { option value=(tz) selected { (tz) } }
                                    @for (zone, label) in dates::ZONES {
                                        option value=(zone) selected[*zone == tz] { (ctx.t(label)) }
                                    }
                                }
                            }
                            FieldKind::Point => {
                                label for={(id) "-lat"} { (ctx.t("forms.latitude")) }
                                input #{(id) "-lat"} type="text" inputmode="decimal" name={(f.key) ".lat"} value=(typed(raw, &format!("{}.lat", f.key)));
                                label for={(id) "-lon"} { (ctx.t("forms.longitude")) }
                                input #{(id) "-lon"} type="text" inputmode="decimal" name={(f.key) ".lon"} value=(typed(raw, &format!("{}.lon", f.key)));
                                // With JavaScript, a map to pick the place by clicking (the boxes stay).
                                p.hint.point-hint hidden { (ctx.t("forms.point_pick_hint")) }
                                div.point-picker data-lat={"#" (id) "-lat"} data-lon={"#" (id) "-lon"} hidden {}
                            }
                            FieldKind::MultipleChoice { choices } => {
                                @for c in choices {
                                    label.choice {
                                        input type="checkbox" name=(f.key) value=(c) checked[raw.iter().any(|(k, v)| k == &f.key && v == c)];
                                        " " (c)
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {
                    label for=(id) { (f.label) @if f.required { " " span.required { "(" (ctx.t("forms.required")) ")" } } }
                    @if !f.help.is_empty() { p.hint { (f.help) } }
                    @if let Some(e) = error { p.error id={(id) "-error"} { (ctx.t(e)) } }
                    @match &f.kind {
                        FieldKind::LongText => textarea #(id) name=(f.key) rows="5" aria-describedby=[described.as_deref()] { (typed(raw, &f.key)) },
                        FieldKind::SingleChoice { choices } => {
                            select #(id) name=(f.key) aria-describedby=[described.as_deref()] {
                                option value="" { "—" }
                                @for c in choices { option value=(c) selected[typed(raw, &f.key) == c] { (c) } }
                            }
                        }
                        FieldKind::Tags => {
                            p.hint { (ctx.t("forms.tags_hint")) }
                            input #(id) type="text" name=(f.key) value=(typed(raw, &f.key)) aria-describedby=[described.as_deref()];
                        }
                        FieldKind::Audience => {
                            select #(id) name=(f.key) aria-describedby=[described.as_deref()] {
                                @for value in [super::AUDIENCE_PUBLIC, super::AUDIENCE_MEMBERS] {
                                    option value=(value) selected[typed(raw, &f.key) == value] { (audience_label(ctx, space, value)) }
                                }
                            }
                        }
                        FieldKind::File | FieldKind::Image => {
                            @let kept = typed(raw, &format!("{}.kept", f.key));
                            @let meta: Value = serde_json::from_str(kept).unwrap_or(Value::Null);
                            p.hint { (ctx.t(if f.kind == FieldKind::Image { "forms.image_hint" } else { "forms.file_hint" })) }
                            @if let Some(name) = meta.get("name").and_then(Value::as_str) {
                                input type="hidden" name={(f.key) ".kept"} value=(kept);
                                p.current-file { (ctx.t("forms.current_file")) " " strong { (name) } }
                                label.choice { input type="checkbox" name={(f.key) ".remove"}; " " (ctx.t("forms.remove_file")) }
                            }
                            input #(id) type="file" name=(f.key)
                                accept=(if f.kind == FieldKind::Image { "image/png,image/jpeg,image/gif,image/webp" } else { ".pdf,.odt,.ods,.odp,.docx,.xlsx,.pptx,.doc,.xls,.ppt,.txt,.md,.csv,image/png,image/jpeg,image/gif,image/webp" })
                                aria-describedby=[described.as_deref()];
                        }
                        FieldKind::PageLink { .. } => {
                            p.hint { (ctx.t("forms.page_link_hint")) }
                            input #(id) type="text" name=(f.key) value=(typed(raw, &f.key)) aria-describedby=[described.as_deref()];
                        }
                        _ => input #(id) type=(input_type) step=[(input_type == "number").then_some("any")] inputmode=[(f.kind == FieldKind::Url).then_some("url")] name=(f.key) value=(typed(raw, &f.key))
                            aria-invalid=[error.map(|_| "true")] aria-describedby=[described.as_deref()];
                    }
                }
            }
        }
    }
}

/// Which entry a form writes: one that exists, or one made when its form is valid.
pub enum Target<'a> {
    Existing(&'a Page),
    New { title: &'a str, title_error: Option<String> },
}

/// The field an entry's title is typed in, on a new entry's form (not a key a form may use).
pub(crate) const TITLE_FIELD: &str = "_title";

pub(crate) fn entry_form(
    ctx: &Ctx,
    space: &Space,
    target: Target<'_>,
    form: &Form,
    raw: &[(String, String)],
    errors: &Errors,
) -> Html<String> {
    let (heading, action) = match &target {
        Target::Existing(page) => (
            ctx.tf("forms.editing", &[("title", &page.title)]),
            format!("/s/{}/{}/fields", space.slug, page.slug),
        ),
        Target::New { .. } => (
            ctx.tf("forms.new_entry", &[("form", &form.name)]),
            format!("/s/{}/new?form={}", space.slug, form.key),
        ),
    };
    let has_point = form.fields.iter().any(|f| f.kind == FieldKind::Point);
    let names_itself = form.fields.iter().any(|f| f.key == "name");
    layout_page(
        ctx,
        &heading,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) {
                a href={"/s/" (space.slug)} { (space.title) }
                @if let Target::Existing(page) = &target { " › " a href={"/s/" (space.slug) "/" (page.slug)} { (page.title) } }
            }
            h1 { (heading) }
            @if let Target::Existing(_) = &target { p.meta { (form.name) } }
            @let has_errors = !errors.is_empty() || matches!(&target, Target::New { title_error: Some(_), .. });
            @if has_errors { p.flash.flash-error role="alert" { (ctx.t("forms.has_errors")) } }
            form.card method="post" action=(action)
                enctype=[form.fields.iter().any(|f| f.kind.is_upload()).then_some("multipart/form-data")] {
                (ctx.csrf_field())
                @if let Target::New { title, title_error } = &target {
                    @let field = layout::Field::new(TITLE_FIELD, ctx.t("forms.entry_title")).value(title).error(title_error.clone());
                    @if names_itself { (field.optional().hint(ctx.t("forms.entry_title_from_name")).render()) }
                    @else { (field.hint(ctx.t("forms.entry_title_hint")).render()) }
                }
                @for f in &form.fields { (input(f, raw, errors.get(&f.key).copied(), ctx, space)) }
                p.who-sees #who-sees { strong { (ctx.t("forms.who_sees")) } " " (who_sees(ctx, space, Some(form), true)) }
                button type="submit" aria-describedby="who-sees" {
                    @match &target { Target::Existing(_) => (ctx.t("page.save")), Target::New { .. } => (ctx.t("forms.create_entry")) }
                }
            }
            @if has_point {
                link rel="stylesheet" href="/assets/leaflet.css";
                script #map-data type="application/json" {
                    (maud::PreEscaped(layout::json_data(&serde_json::json!({ "tiles": ctx.map_tiles, "attribution": ctx.map_attribution }))))
                }
                script src="/assets/map.js" defer {}
            }
        },
    )
}

/// What showing values needs to have looked up first (showing them does no I/O and no costly
/// work): the titles of the entries they link to that the reader may read (by address), and
/// their long texts rendered off the async threads (by space and text, `long_texts`).
#[derive(Default)]
pub struct Known {
    pub titles: HashMap<String, String>,
    pub texts: HashMap<(String, String), Arc<str>>,
}

impl Known {
    pub fn titles(titles: HashMap<String, String>) -> Self {
        Self { titles, texts: HashMap::new() }
    }

    /// Renders, through the one rendering path (bounded, cached, off the async threads), the
    /// long texts among `values` of `form` in `space`, for `shown`.
    pub(crate) async fn long_texts(
        mut self,
        cache: &RenderCache,
        space: &str,
        form: &Form,
        values: &[&Value],
    ) -> anyhow::Result<Self> {
        for f in form.fields.iter().filter(|f| matches!(f.kind, FieldKind::LongText)) {
            for v in values.iter().filter_map(|v| v.get(&f.key)).filter(|v| !v.is_null()) {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    self.texts.entry((space.to_owned(), as_text(v)))
                {
                    let html = cache.snippet(&slot.key().1, space).await?;
                    slot.insert(html);
                }
            }
        }
        Ok(self)
    }
}

/// The entry's values, as a list; members-only fields only when `private` is allowed. Files are
/// served from under the entry's address (`base`).
pub fn values(
    ctx: &Ctx,
    known: &Known,
    space: &Space,
    base: &str,
    form: &Form,
    values: &Value,
    private: bool,
) -> Markup {
    html! {
        dl.facts.entry {
            @for f in form.fields.iter().filter(|f| private || !f.is_private()) {
                @if let Some(v) = values.get(&f.key).filter(|v| !v.is_null()) {
                    dt { (f.label) }
                    dd { (shown(ctx, known, base, space, f, v)) }
                }
            }
        }
        @if !private && form.has_members_only_fields() { p.meta { (ctx.t("forms.members_only_hidden")) } }
    }
}

/// A value as people read it: dates in words, choices of audience in words, links, files and
/// pictures; never a raw stored value. `base` is the entry's address, `space` its space; a link
/// to another entry is named like it (`titles`, by address) when the reader may read it.
pub fn shown(
    ctx: &Ctx,
    known: &Known,
    base: &str,
    space: &Space,
    f: &FieldDef,
    v: &Value,
) -> Markup {
    html! {
        @match &f.kind {
            FieldKind::Url => { @let url = as_text(v); a href=(url) rel="noopener noreferrer" { (url) } }
            FieldKind::Email => { @let email = as_text(v); a href={"mailto:" (email)} { (email) } }
            FieldKind::PageLink { .. } => {
                @let link = as_text(v);
                a href={"/s/" (link)} {
                    @match known.titles.get(&link) { Some(title) => (title), None => (link_label(&link)) }
                }
            }
            FieldKind::DateTimeRange => (when_in_words(ctx, v)),
            FieldKind::Date => {
                @match chrono::NaiveDate::parse_from_str(&as_text(v), "%Y-%m-%d") {
                    Ok(d) => (dates::long_date(ctx.lang, d)),
                    Err(_) => (as_text(v)),
                }
            }
            // Written with the editor's formatting: shown by the one renderer (wiki links as
            // plain links, nothing learnt about their pages), as `Known::long_texts` made it.
            FieldKind::LongText => div.content {
                @let text = as_text(v);
                @match known.texts.get(&(space.slug.as_str().to_owned(), text.clone())) {
                    Some(html) => (maud::PreEscaped(&**html)),
                    None => p.as-written { (text) },
                }
            },
            FieldKind::Audience => (audience_label(ctx, space, &as_text(v))),
            FieldKind::Image => {
                @let hash = as_text(&v["hash"]);
                img.entry-image src={(base) "/files/" (hash)} alt={(f.label) " : " (as_text(&v["name"]))} loading="lazy";
            }
            FieldKind::File => {
                @let hash = as_text(&v["hash"]);
                a href={(base) "/files/" (hash)} download { (as_text(&v["name"])) }
                " (" (human_size(v["size"].as_u64().unwrap_or(0))) ")"
            }
            FieldKind::Point => {
                (ctx.tf("forms.point_words", &[("lat", &as_text(&v["lat"])), ("lon", &as_text(&v["lon"]))]))
            }
            FieldKind::MultipleChoice { .. } | FieldKind::Tags => {
                (v.as_array().map(|items| items.iter().map(as_text).collect::<Vec<_>>().join(", ")).unwrap_or_else(|| as_text(v)))
            }
            _ => (as_text(v)),
        }
    }
}

/// Who may read an entry of `space` with this audience, in words: "Tout le monde" only where
/// everyone really may (a public space); elsewhere, those who may read the space.
/// Who will see an entry made in `space`, in one sentence: on the step that asks for the space
/// and beside the button that makes or saves the entry. An entry whose form lets it be kept for
/// the members (an event's "Visible par") says so in a public space.
/// `named`: the space is named in the sentence (beside the button; in a list of spaces, its
/// name is just above and is not said twice).
pub(crate) fn who_sees(ctx: &Ctx, space: &Space, form: Option<&Form>, named: bool) -> String {
    let name = [("space", space.title.as_str())];
    let here = if named { "" } else { "_here" };
    match space.visibility {
        spaces::Visibility::Public => {
            match form.and_then(|f| f.fields.iter().find(|f| f.kind == FieldKind::Audience)) {
                Some(audience) => ctx.tf(
                    "forms.seen_by_everyone_unless",
                    &[("field", &audience.label), ("members", &ctx.t("forms.audience_members"))],
                ),
                None => ctx.t("forms.seen_by_everyone"),
            }
        }
        spaces::Visibility::Members => ctx.tf(&format!("forms.seen_by_members{here}"), &name),
        spaces::Visibility::Private => ctx.tf(&format!("forms.seen_by_private{here}"), &name),
    }
}

fn audience_label(ctx: &Ctx, space: &Space, value: &str) -> String {
    match (value == super::AUDIENCE_MEMBERS, space.visibility) {
        (true, _) => ctx.t("forms.audience_members"),
        (false, spaces::Visibility::Public) => ctx.t("forms.audience_public"),
        (false, _) => ctx.t("forms.audience_space_readers"),
    }
}

/// An event's dates as people read them, in its own time zone (named when it is not the site's).
fn when_in_words(ctx: &Ctx, v: &Value) -> String {
    let local =
        |key: &str| chrono::NaiveDateTime::parse_from_str(&as_text(&v[key]), "%Y-%m-%dT%H:%M").ok();
    let (Some(start), Some(end)) = (local("start"), local("end")) else {
        return String::new();
    };
    let mut text = dates::range(ctx.lang, start, end);
    let tz = as_text(&v["tz"]);
    if dates::parse_zone(&tz).is_some_and(|z| z != ctx.time_zone) {
        text.push_str(&format!(" ({tz})"));
    }
    text
}

/// A size in plain words: "120 Ko", "2,5 Mo".
pub(crate) fn human_size(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{} Ko", bytes.div_ceil(1024))
    } else {
        format!("{:.1} Mo", bytes as f64 / (1024.0 * 1024.0)).replace('.', ",")
    }
}

/// One choice of a filter: the value sent, what is shown, how many entries have it.
pub(crate) struct FilterChoice {
    pub value: String,
    pub label: String,
    pub count: usize,
}

/// A drop-down of the filter bar.
pub(crate) struct FilterSelect {
    /// The address parameter (`space`, `field.themes`…).
    pub name: String,
    pub label: String,
    pub current: String,
    pub choices: Vec<FilterChoice>,
}

impl FilterSelect {
    /// A filter on a field's items, from the entries being listed.
    pub(crate) fn of_field(
        label: &str,
        key: &str,
        filter: &super::query::Filter,
        entries: &[super::query::Entry],
    ) -> Self {
        Self {
            name: format!("field.{key}"),
            label: label.to_owned(),
            current: filter.field(key).to_owned(),
            choices: super::query::facet(entries, key)
                .into_iter()
                .map(|(value, count)| FilterChoice { label: value.clone(), value, count })
                .collect(),
        }
    }

    /// A filter on the entries' space.
    pub(crate) fn of_space(
        ctx: &Ctx,
        filter: &super::query::Filter,
        entries: &[super::query::Entry],
    ) -> Self {
        let mut spaces: std::collections::BTreeMap<String, (String, usize)> = Default::default();
        for e in entries {
            spaces.entry(e.space.slug.to_string()).or_insert((e.space.title.clone(), 0)).1 += 1;
        }
        Self {
            name: "space".into(),
            label: ctx.t("lists.space"),
            current: filter.space.clone(),
            choices: spaces
                .into_iter()
                .map(|(value, (label, count))| FilterChoice { value, label, count })
                .collect(),
        }
    }
}

/// The filter bar of a list: free text and drop-downs, sent by GET so that a filtered list has
/// an address of its own; works without JavaScript.
pub(crate) fn filter_bar(
    ctx: &Ctx,
    action: &str,
    filter: &super::query::Filter,
    selects: &[FilterSelect],
) -> Markup {
    html! {
        form.filters role="search" method="get" action=(action) aria-label=(ctx.t("lists.filter_label")) {
            div.field {
                label for="filter-q" { (ctx.t("lists.search")) }
                input #filter-q type="search" name="q" value=(filter.q);
            }
            @for s in selects.iter().filter(|s| !s.choices.is_empty() || !s.current.is_empty()) {
                div.field {
                    label for={"filter-" (s.name)} { (s.label) }
                    select id={"filter-" (s.name)} name=(s.name) {
                        option value="" { (ctx.t("lists.all")) }
                        @for c in &s.choices {
                            option value=(c.value) selected[c.value == s.current] { (c.label) " (" (c.count) ")" }
                        }
                        @if !s.current.is_empty() && !s.choices.iter().any(|c| c.value == s.current) {
                            option value=(s.current) selected { (s.current) }
                        }
                    }
                }
            }
            div.filter-actions {
                button type="submit" { (ctx.t("lists.apply")) }
                a.button.secondary href=(action) { (ctx.t("lists.reset")) }
            }
        }
    }
}

/// "3 results", the links to other pages of a list, and nothing when all fit on one.
pub(crate) fn pager<T>(
    ctx: &Ctx,
    action: &str,
    filter: &super::query::Filter,
    paged: &super::query::Paged<T>,
) -> Markup {
    html! {
        @if paged.pages > 1 {
            nav.pagination aria-label=(ctx.t("lists.pages")) {
                @if paged.page > 1 {
                    a rel="prev" href={(action) "?" (filter.query_string(&[("page", &(paged.page - 1).to_string())]))} { "← " (ctx.t("lists.previous")) }
                    " "
                }
                span { (ctx.tf("lists.page_of", &[("page", &paged.page.to_string()), ("pages", &paged.pages.to_string())])) }
                @if paged.page < paged.pages {
                    " "
                    a rel="next" href={(action) "?" (filter.query_string(&[("page", &(paged.page + 1).to_string())]))} { (ctx.t("lists.next")) " →" }
                }
            }
        }
    }
}

/// How many entries a list shows, said to screen readers when it changes.
pub fn count(ctx: &Ctx, total: usize) -> Markup {
    html! {
        p.count role="status" {
            @if total == 0 { (ctx.t("lists.none")) }
            @else if total == 1 { (ctx.t("lists.one")) }
            @else { (ctx.tf("lists.many", &[("n", &total.to_string())])) }
        }
    }
}
