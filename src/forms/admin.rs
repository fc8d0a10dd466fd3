//! Administrators shape forms in the browser: create a form; add, rename, reorder and remove
//! fields; change choices. A removed field's values stay in the entries and come back with it.
use axum::{
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::{html, Markup};
use tower_sessions::Session;

use super::{builtin, store, validate::Errors, FieldDef, FieldKind, Form, FormLimits};
use crate::{
    error::{AppError, AppResult},
    layout::{flash, page as layout_page, Ctx, FlashKind},
    session::{csrf::CsrfForm, AdminUser},
    slug,
    state::AppState,
};

/// The kinds offered in the editor, in the order shown.
pub(crate) const KINDS: &[&str] = &[
    "short_text",
    "long_text",
    "number",
    "date",
    "date_time_range",
    "url",
    "email",
    "phone",
    "single_choice",
    "multiple_choice",
    "tags",
    "point",
    "page_link",
    "member_link",
    "audience",
    "file",
    "image",
];

fn kind_from(name: &str, choices: Vec<String>, target: &str) -> Option<FieldKind> {
    Some(match name {
        "short_text" => FieldKind::ShortText,
        "long_text" => FieldKind::LongText,
        "number" => FieldKind::Number,
        "date" => FieldKind::Date,
        "date_time_range" => FieldKind::DateTimeRange,
        "url" => FieldKind::Url,
        "email" => FieldKind::Email,
        "phone" => FieldKind::Phone,
        "single_choice" => FieldKind::SingleChoice { choices },
        "multiple_choice" => FieldKind::MultipleChoice { choices },
        "tags" => FieldKind::Tags,
        "point" => FieldKind::Point,
        "page_link" => FieldKind::PageLink { form: target.to_owned() },
        "member_link" => FieldKind::MemberLink,
        "audience" => FieldKind::Audience,
        "file" => FieldKind::File,
        "image" => FieldKind::Image,
        _ => return None,
    })
}

fn choices_of(kind: &FieldKind) -> &[String] {
    match kind {
        FieldKind::SingleChoice { choices } | FieldKind::MultipleChoice { choices } => choices,
        _ => &[],
    }
}

/// The fields of a built-in form that the site's own views rely on: they keep their kind and
/// cannot be removed.
fn locked(form: &Form) -> Vec<String> {
    if !form.builtin {
        return Vec::new();
    }
    builtin::all()
        .into_iter()
        .find(|(key, ..)| *key == form.key)
        .map(|(_, _, _, fields)| fields.into_iter().map(|f| f.key).collect())
        .unwrap_or_default()
}

/// Applies what the editor sent to `form`. Pure, so every rule is unit-tested.
pub fn apply(form: &Form, raw: &[(String, String)], limits: &FormLimits) -> Result<Form, Errors> {
    let get = |key: &str| raw.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.trim());
    let on = |key: &str| raw.iter().any(|(k, v)| k == key && v == "on");
    let locked = locked(form);
    let mut errors = Errors::new();
    let mut next = form.clone();
    next.name = get("name").chars().take(200).collect();
    next.description = get("description").chars().take(2000).collect();
    if next.name.is_empty() {
        errors.insert("name".into(), "forms.error_required");
    }

    // Existing fields: relabelled, retyped, re-ranked, or removed.
    let mut ranked: Vec<(f64, usize, FieldDef)> = Vec::new();
    let mut removed = form.removed.clone();
    for (i, field) in form.fields.iter().enumerate() {
        let p = format!("f{i}");
        if get(&format!("{p}.key")) != field.key {
            continue; // the form changed meanwhile: this row is not that field
        }
        if on(&format!("{p}.remove")) && !locked.contains(&field.key) {
            let mut gone = field.clone();
            gone.removed = true;
            removed.push(gone);
            continue;
        }
        let mut f = field.clone();
        let label = get(&format!("{p}.label"));
        if label.is_empty() {
            errors.insert(format!("{p}.label"), "forms.error_required");
        } else {
            f.label = label.chars().take(200).collect();
        }
        f.help = get(&format!("{p}.help")).chars().take(500).collect();
        f.required = on(&format!("{p}.required"));
        f.members_only = on(&format!("{p}.members_only"));
        let choices = parse_choices(get(&format!("{p}.choices")));
        let kind_name =
            if locked.contains(&f.key) { f.kind.name() } else { get(&format!("{p}.kind")) };
        let target = match get(&format!("{p}.target")) {
            "" => match &f.kind {
                FieldKind::PageLink { form } => form.clone(),
                _ => String::new(),
            },
            t => t.to_owned(),
        };
        match kind_from(kind_name, choices, &target) {
            Some(kind) => f.kind = kind,
            None => {
                errors.insert(format!("{p}.kind"), "forms.error_choice");
            }
        }
        check_kind(&f, &p, &mut errors, limits);
        let position =
            get(&format!("{p}.position")).replace(',', ".").parse().unwrap_or(i as f64 + 1.0);
        ranked.push((position, i, f));
    }
    // Moves asked by the ↑ and ↓ buttons.
    if let Some((key, direction)) = get("move").split_once(':') {
        if let Some(at) = ranked.iter().position(|(_, _, f)| f.key == key) {
            ranked[at].0 += if direction == "up" { -1.5 } else { 1.5 };
        }
    }
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut fields: Vec<FieldDef> = ranked.into_iter().map(|(_, _, f)| f).collect();

    // Fields put back, where they were.
    let mut still_removed = Vec::new();
    for f in removed {
        if on(&format!("restore.{}", f.key)) {
            let mut back = f;
            back.removed = false;
            fields.push(back);
        } else {
            still_removed.push(f);
        }
    }

    // A new field.
    let label = get("new.label");
    if !label.is_empty() {
        let taken = |k: &str| fields.iter().chain(&still_removed).any(|f| f.key == k);
        let base = slug::slugify(label, 40).replace('-', "_");
        let base = if base.is_empty() { "champ".to_owned() } else { base };
        let mut key = base.clone();
        let mut n = 2;
        while taken(&key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        match kind_from(get("new.kind"), parse_choices(get("new.choices")), get("new.target")) {
            Some(kind) => {
                let f = FieldDef {
                    key,
                    label: label.chars().take(200).collect(),
                    members_only: on("new.members_only")
                        || matches!(kind, FieldKind::Email | FieldKind::Phone),
                    kind,
                    required: on("new.required"),
                    help: get("new.help").chars().take(500).collect(),
                    removed: false,
                };
                check_kind(&f, "new", &mut errors, limits);
                fields.push(f);
            }
            None => {
                errors.insert("new.kind".into(), "forms.error_choice");
            }
        }
    }
    if fields.len() > limits.max_fields {
        errors.insert("new.label".into(), "forms.error_too_many_fields");
    }
    next.fields = fields;
    next.removed = still_removed;
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(errors)
    }
}

fn parse_choices(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    text.lines()
        .map(|l| l.trim().chars().take(100).collect::<String>())
        .filter(|l| !l.is_empty() && seen.insert(l.clone()))
        .collect()
}

fn check_kind(f: &FieldDef, prefix: &str, errors: &mut Errors, limits: &FormLimits) {
    match &f.kind {
        FieldKind::SingleChoice { choices } | FieldKind::MultipleChoice { choices } => {
            if choices.is_empty() {
                errors.insert(format!("{prefix}.choices"), "forms.error_no_choices");
            } else if choices.len() > limits.max_choices {
                errors.insert(format!("{prefix}.choices"), "forms.error_too_many_choices");
            }
        }
        FieldKind::PageLink { form } if form.is_empty() => {
            errors.insert(format!("{prefix}.target"), "forms.error_required");
        }
        _ => {}
    }
}

/// `GET /admin/forms`
pub async fn index(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ctx: Ctx,
) -> AppResult<Html<String>> {
    let forms = store::list(&state.db).await?;
    let title = ctx.t("forms.admin_title");
    Ok(layout_page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("forms.admin_lead")) }
            ul.cards {
                @for f in &forms {
                    li.card.entry-card {
                        h2 { a href={"/admin/forms/" (f.key)} { (f.name) } }
                        p { (f.description) }
                        p.meta { (ctx.tf("forms.field_count", &[("n", &f.fields.len().to_string())])) " · " a href={"/forms/" (f.key)} { (ctx.t("forms.see_entries")) } }
                    }
                }
            }
            section.card aria-labelledby="new-form" {
                h2 #new-form { (ctx.t("forms.new_form")) }
                form method="post" action="/admin/forms" {
                    (ctx.csrf_field())
                    div.field { label for="form-name" { (ctx.t("forms.form_name")) } input #form-name name="name" required; }
                    div.field { label for="form-description" { (ctx.t("forms.form_description")) } textarea #form-description name="description" rows="3" {} }
                    button type="submit" { (ctx.t("forms.create_form")) }
                }
            }
        },
    ))
}

/// `POST /admin/forms`
pub async fn create(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(raw): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |key: &str| raw.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.trim());
    let name = get("name");
    let base = slug::slugify(name, 40);
    if name.is_empty() || base.is_empty() {
        return Err(AppError::BadRequest(ctx.t("forms.error_form_name")));
    }
    let mut key = base.clone();
    let mut n = 2;
    let form = loop {
        if let Some(form) = store::create(&state.db, &key, name, get("description")).await? {
            break form;
        }
        key = format!("{base}-{n}");
        n += 1;
    };
    flash(&session, FlashKind::Success, ctx.t("forms.form_created")).await?;
    Ok(Redirect::to(&format!("/admin/forms/{}", form.key)).into_response())
}

/// `GET /admin/forms/{key}`
pub async fn edit(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ctx: Ctx,
    Path(key): Path<String>,
) -> AppResult<Html<String>> {
    let form = store::find(&state.db, &key).await?.ok_or(AppError::NotFound)?;
    let forms = store::list(&state.db).await?;
    Ok(editor(&ctx, &form, &forms, &[], &Errors::new(), &state.settings.forms))
}

/// `POST /admin/forms/{key}`
pub async fn save(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ctx: Ctx,
    session: Session,
    Path(key): Path<String>,
    CsrfForm(raw): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = store::find(&state.db, &key).await?.ok_or(AppError::NotFound)?;
    match apply(&form, &raw, &state.settings.forms) {
        Ok(next) => {
            store::update(&state.db, &next).await?;
            // Which values outsiders may read may have changed (a field made members-only,
            // removed): search forgets what became private, and everyone reading an entry live
            // reconnects and is checked again.
            let entries = store::entry_ids(&state.db, &key).await?;
            for page in &entries {
                state.search.touch(page.0);
            }
            state.hub.kick(entries.iter().map(|p| p.doc())).await;
            flash(&session, FlashKind::Success, ctx.t("forms.form_saved")).await?;
            Ok(Redirect::to(&format!("/admin/forms/{key}")).into_response())
        }
        Err(errors) => {
            let forms = store::list(&state.db).await?;
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                editor(&ctx, &form, &forms, &raw, &errors, &state.settings.forms),
            )
                .into_response())
        }
    }
}

fn editor(
    ctx: &Ctx,
    form: &Form,
    forms: &[Form],
    raw: &[(String, String)],
    errors: &Errors,
    limits: &FormLimits,
) -> Html<String> {
    let (max_fields, max_choices) = (limits.max_fields.to_string(), limits.max_choices.to_string());
    let limits = [("fields", max_fields.as_str()), ("choices", max_choices.as_str())];
    let typed = |key: &str, stored: &str| -> String {
        if raw.is_empty() {
            stored.to_owned()
        } else {
            raw.iter().find(|(k, _)| k == key).map_or(String::new(), |(_, v)| v.clone())
        }
    };
    let checked = |key: &str, stored: bool| -> bool {
        if raw.is_empty() {
            stored
        } else {
            raw.iter().any(|(k, v)| k == key && v == "on")
        }
    };
    let locked = locked(form);
    let heading = ctx.tf("forms.editing_form", &[("name", &form.name)]);
    let error = |key: &str| -> Markup {
        html! { @if let Some(e) = errors.get(key) { p.error id={(key) "-error"} { (ctx.tf(e, &limits)) } } }
    };
    layout_page(
        ctx,
        &heading,
        html! {
            nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href="/admin/forms" { (ctx.t("forms.admin_title")) } }
            h1 { (heading) }
            @if !errors.is_empty() { p.flash.flash-error role="alert" { (ctx.t("forms.has_errors")) } }
            p { (ctx.t("forms.editor_lead")) }
            form method="post" action={"/admin/forms/" (form.key)} {
                (ctx.csrf_field())
                // Enter in a text box saves (the first button of a form is the one Enter presses).
                button.visually-hidden type="submit" tabindex="-1" aria-hidden="true" { (ctx.t("forms.save_form")) }
                div.card {
                    div.field { label for="name" { (ctx.t("forms.form_name")) } (error("name")) input #name name="name" value=(typed("name", &form.name)) required; }
                    div.field { label for="description" { (ctx.t("forms.form_description")) } textarea #description name="description" rows="2" { (typed("description", &form.description)) } }
                }
                h2 { (ctx.t("forms.fields")) }
                ol.form-fields {
                    @for (i, f) in form.fields.iter().enumerate() {
                        @let p = format!("f{i}");
                        li.card.form-field {
                            fieldset {
                                legend { (f.label) " " span.meta { "(" (ctx.t(&format!("forms.kind_{}", f.kind.name()))) ")" } }
                                input type="hidden" name={(p) ".key"} value=(f.key);
                                div.field { label for={(p) "-label"} { (ctx.t("forms.field_label")) } (error(&format!("{p}.label"))) input id={(p) "-label"} name={(p) ".label"} value=(typed(&format!("{p}.label"), &f.label)); }
                                @if locked.contains(&f.key) {
                                    p.hint { (ctx.t("forms.locked_field")) }
                                } @else {
                                    (kind_select(ctx, &format!("{p}.kind"), &typed(&format!("{p}.kind"), f.kind.name())))
                                }
                                // Only the settings this kind of field uses (a kind just changed
                                // shows its own once saved).
                                @let kind = typed(&format!("{p}.kind"), f.kind.name());
                                @if kind == "single_choice" || kind == "multiple_choice" {
                                    div.field {
                                        label for={(p) "-choices"} { (ctx.t("forms.choices")) }
                                        p.hint { (ctx.t("forms.choices_hint")) }
                                        (error(&format!("{p}.choices")))
                                        textarea id={(p) "-choices"} name={(p) ".choices"} rows="3" { (typed(&format!("{p}.choices"), &choices_of(&f.kind).join("\n"))) }
                                    }
                                }
                                @if kind == "page_link" {
                                    (target_select(ctx, forms, &format!("{p}.target"), &typed(&format!("{p}.target"), match &f.kind { FieldKind::PageLink { form } => form, _ => "" })))
                                }
                                div.field { label for={(p) "-help"} { (ctx.t("forms.field_help")) } input id={(p) "-help"} name={(p) ".help"} value=(typed(&format!("{p}.help"), &f.help)); }
                                label.choice { input type="checkbox" name={(p) ".required"} checked[checked(&format!("{p}.required"), f.required)]; " " (ctx.t("forms.field_required")) }
                                label.choice { input type="checkbox" name={(p) ".members_only"} checked[checked(&format!("{p}.members_only"), f.members_only)]; " " (ctx.t("forms.field_members_only")) }
                                div.field {
                                    label for={(p) "-position"} { (ctx.t("forms.position")) }
                                    input.short id={(p) "-position"} name={(p) ".position"} inputmode="numeric" value=(typed(&format!("{p}.position"), &(i + 1).to_string()));
                                }
                                div.actions {
                                    button.secondary type="submit" name="move" value={(f.key) ":up"} { "↑ " (ctx.t("forms.move_up")) span.visually-hidden { " : " (f.label) } }
                                    button.secondary type="submit" name="move" value={(f.key) ":down"} { "↓ " (ctx.t("forms.move_down")) span.visually-hidden { " : " (f.label) } }
                                }
                                @if !locked.contains(&f.key) {
                                    label.choice { input type="checkbox" name={(p) ".remove"} checked[checked(&format!("{p}.remove"), false)]; " " (ctx.t("forms.remove_field")) }
                                }
                            }
                        }
                    }
                }
                @if !form.removed.is_empty() {
                    section.card aria-labelledby="removed-fields" {
                        h2 #removed-fields { (ctx.t("forms.removed_fields")) }
                        p.hint { (ctx.t("forms.removed_hint")) }
                        @for f in &form.removed {
                            label.choice { input type="checkbox" name={"restore." (f.key)}; " " (ctx.tf("forms.restore_field", &[("label", &f.label)])) }
                        }
                    }
                }
                section.card aria-labelledby="new-field" {
                    h2 #new-field { (ctx.t("forms.add_field")) }
                    div.field { label for="new-label" { (ctx.t("forms.field_label")) } (error("new.label")) input #new-label name="new.label" value=(typed("new.label", "")); }
                    (kind_select(ctx, "new.kind", &typed("new.kind", "short_text")))
                    div.field { label for="new-choices" { (ctx.t("forms.choices")) } p.hint { (ctx.t("forms.choices_hint")) } (error("new.choices")) textarea #new-choices name="new.choices" rows="3" { (typed("new.choices", "")) } }
                    (target_select(ctx, forms, "new.target", &typed("new.target", "")))
                    div.field { label for="new-help" { (ctx.t("forms.field_help")) } input #new-help name="new.help" value=(typed("new.help", "")); }
                    label.choice { input type="checkbox" name="new.required" checked[checked("new.required", false)]; " " (ctx.t("forms.field_required")) }
                    label.choice { input type="checkbox" name="new.members_only" checked[checked("new.members_only", false)]; " " (ctx.t("forms.field_members_only")) }
                }
                button type="submit" { (ctx.t("forms.save_form")) }
            }
        },
    )
}

fn kind_select(ctx: &Ctx, name: &str, current: &str) -> Markup {
    let id = name.replace('.', "-");
    html! {
        div.field {
            label for=(id) { (ctx.t("forms.field_kind")) }
            select id=(id) name=(name) {
                @for k in KINDS { option value=(k) selected[*k == current] { (ctx.t(&format!("forms.kind_{k}"))) } }
            }
        }
    }
}

fn target_select(ctx: &Ctx, forms: &[Form], name: &str, current: &str) -> Markup {
    let id = name.replace('.', "-");
    html! {
        div.field {
            label for=(id) { (ctx.t("forms.link_target")) }
            select id=(id) name=(name) {
                option value="" { "—" }
                @for f in forms { option value=(f.key) selected[f.key == current] { (f.name) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom() -> Form {
        Form {
            id: 5,
            key: "projets".into(),
            name: "Projets".into(),
            description: String::new(),
            builtin: false,
            removed: Vec::new(),
            fields: vec![
                FieldDef {
                    key: "budget".into(),
                    label: "Budget".into(),
                    kind: FieldKind::Number,
                    required: false,
                    members_only: false,
                    help: String::new(),
                    removed: false,
                },
                FieldDef {
                    key: "etat".into(),
                    label: "État".into(),
                    kind: FieldKind::SingleChoice { choices: vec!["prévu".into()] },
                    required: false,
                    members_only: false,
                    help: String::new(),
                    removed: false,
                },
            ],
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all = vec![
            ("name".to_owned(), "Projets".to_owned()),
            ("f0.key".to_owned(), "budget".to_owned()),
            ("f0.label".to_owned(), "Budget".to_owned()),
            ("f0.kind".to_owned(), "number".to_owned()),
            ("f1.key".to_owned(), "etat".to_owned()),
            ("f1.label".to_owned(), "État".to_owned()),
            ("f1.kind".to_owned(), "single_choice".to_owned()),
            ("f1.choices".to_owned(), "prévu\nen cours\nfini".to_owned()),
        ];
        for (k, v) in pairs {
            all.retain(|(key, _)| key != k);
            all.push(((*k).to_owned(), (*v).to_owned()));
        }
        all
    }

    /// `apply` with the default limits.
    fn apply(form: &Form, raw: &[(String, String)]) -> Result<Form, Errors> {
        super::apply(form, raw, &FormLimits::default())
    }

    #[test]
    fn a_site_sets_how_many_fields_and_choices_a_form_may_have() {
        let small = FormLimits { max_fields: 2, max_choices: 3 };
        let errors =
            super::apply(&custom(), &raw(&[("f1.choices", "a\nb\nc\nd")]), &small).unwrap_err();
        assert_eq!(errors["f1.choices"], "forms.error_too_many_choices");
        assert!(super::apply(&custom(), &raw(&[("f1.choices", "a\nb\nc")]), &small).is_ok());
        let errors = super::apply(
            &custom(),
            &raw(&[("new.label", "Porteur·se"), ("new.kind", "short_text")]),
            &small,
        )
        .unwrap_err();
        assert_eq!(errors["new.label"], "forms.error_too_many_fields");
    }

    #[test]
    fn fields_are_renamed_reordered_and_added() {
        let next = apply(
            &custom(),
            &raw(&[
                ("f0.label", "Budget total"),
                ("move", "etat:up"),
                ("new.label", "Porteur·se"),
                ("new.kind", "short_text"),
            ]),
        )
        .expect("valid");
        let keys: Vec<&str> = next.fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["etat", "budget", "porteur_se"]);
        assert_eq!(next.fields[1].label, "Budget total");
        assert_eq!(choices_of(&next.fields[0].kind), ["prévu", "en cours", "fini"]);
    }

    #[test]
    fn a_removed_field_is_kept_aside_and_comes_back() {
        let without = apply(&custom(), &raw(&[("f0.remove", "on")])).expect("valid");
        assert_eq!(without.fields.len(), 1);
        assert_eq!(without.removed[0].key, "budget");
        assert!(without.stored_fields().iter().any(|f| f.key == "budget" && f.removed));
        // A new field may not take its key: its values are still in the entries.
        let other = apply(
            &without,
            &[
                ("name".into(), "Projets".into()),
                ("f0.key".into(), "etat".into()),
                ("f0.label".into(), "État".into()),
                ("f0.kind".into(), "single_choice".into()),
                ("f0.choices".into(), "prévu".into()),
                ("new.label".into(), "Budget".into()),
                ("new.kind".into(), "number".into()),
            ],
        )
        .expect("valid");
        assert_eq!(other.fields[1].key, "budget_2");
        let back = apply(
            &without,
            &[
                ("name".into(), "Projets".into()),
                ("f0.key".into(), "etat".into()),
                ("f0.label".into(), "État".into()),
                ("f0.kind".into(), "single_choice".into()),
                ("f0.choices".into(), "prévu".into()),
                ("restore.budget".into(), "on".into()),
            ],
        )
        .expect("valid");
        assert!(back.fields.iter().any(|f| f.key == "budget") && back.removed.is_empty());
    }

    #[test]
    fn choices_are_required_and_builtin_fields_are_locked() {
        let errors = apply(&custom(), &raw(&[("f1.choices", "  ")])).unwrap_err();
        assert_eq!(errors["f1.choices"], "forms.error_no_choices");
        let errors = apply(&custom(), &raw(&[("name", "")])).unwrap_err();
        assert_eq!(errors["name"], "forms.error_required");

        let (key, name, description, fields) =
            builtin::all().into_iter().find(|f| f.0 == "event").expect("event");
        let event = Form {
            id: 1,
            key: key.into(),
            name: name.into(),
            description: description.into(),
            fields,
            removed: Vec::new(),
            builtin: true,
        };
        let mut sent = vec![("name".to_owned(), "Événement".to_owned())];
        for (i, f) in event.fields.iter().enumerate() {
            sent.push((format!("f{i}.key"), f.key.clone()));
            sent.push((format!("f{i}.label"), f.label.clone()));
            sent.push((format!("f{i}.kind"), "short_text".into()));
            sent.push((format!("f{i}.remove"), "on".into()));
        }
        let next = apply(&event, &sent).expect("valid");
        assert_eq!(next.fields.len(), event.fields.len(), "built-in fields stay");
        assert_eq!(next.fields[0].kind, FieldKind::DateTimeRange, "and keep their kind");
    }
}
