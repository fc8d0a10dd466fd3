//! `/add/{form}`: "Ajouter un événement" and its like from a site-wide page (the agenda, the
//! resources, the directory), which knows no space: the person says in which space the entry
//! goes, seeing who will read it there, before its form is shown. Nothing is made here; the
//! entry's form posts to the space chosen.
use std::collections::HashSet;

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::html;

use super::{builtin, views, Form};
use crate::{
    access,
    error::{AppError, AppResult},
    layout::{self, Ctx},
    query,
    state::AppState,
};
use ruche_pages as pages;
use ruche_spaces::Visibility;

#[derive(serde::Deserialize)]
pub struct Chosen {
    /// The space chosen, by its address.
    #[serde(default)]
    space: Option<String>,
    /// Present when the choice was sent: sent without a space, the question is asked again.
    #[serde(default)]
    step: Option<String>,
}

/// `GET /add/{form}`: the spaces where the person may add such an entry, the public ones first,
/// each saying who will see it; one space: which one, and who will see it; none: how to join
/// one. `?space=…` (the choice sent) leads to the entry's form in that space, if it is one of
/// them.
pub async fn choose_space(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    query::Query(chosen): query::Query<Chosen>,
) -> AppResult<Response> {
    let form = super::store::find(&state.db, &key).await?.ok_or(AppError::NotFound)?;
    if ctx.user.is_none() {
        let next = format!("/add/{}", form.key);
        return Ok(Redirect::to(&format!("/login?next={next}")).into_response());
    }
    let places = places(&state, &ctx, &form).await?;
    let sent = chosen.step.is_some() || chosen.space.is_some();
    let picked = chosen
        .space
        .as_deref()
        .and_then(|slug| places.iter().find(|g| g.space.slug.as_str() == slug));
    if let Some(grant) = picked {
        return Ok(Redirect::to(&entry_form(grant, &form)).into_response());
    }
    Ok(view(&ctx, &form, &places, sent).into_response())
}

/// The spaces where the person may add an entry of `form` and where such entries belong, the
/// public ones first, then those of members, then the private ones (each by title).
async fn places(state: &AppState, ctx: &Ctx, form: &Form) -> AppResult<Vec<access::SpaceGrant>> {
    let kept = pages::store::forms_kept(&state.db).await?;
    let kept_anywhere = kept.iter().any(|(_, f)| *f == form.key);
    let kept_here: HashSet<i64> =
        kept.into_iter().filter(|(_, f)| *f == form.key).map(|(space, _)| space).collect();
    let is_topic = form.key == builtin::TOPIC_FORM;
    let mut places: Vec<access::SpaceGrant> = access::visible_spaces(&state.db, ctx.user.as_ref())
        .await?
        .into_iter()
        .filter(|g| access::may_create_entry(g, is_topic).is_ok())
        .filter(|g| {
            builtin::belongs_in(
                &form.key,
                g.space.slug.as_str(),
                kept_here.contains(&g.space.id.0),
                kept_anywhere,
            )
        })
        .collect();
    places.sort_by_key(|g| Visibility::ALL.iter().position(|v| *v == g.space.visibility));
    Ok(places)
}

fn entry_form(grant: &access::SpaceGrant, form: &Form) -> String {
    format!("/s/{}/new?form={}", grant.space.slug, form.key)
}

fn view(
    ctx: &Ctx,
    form: &Form,
    places: &[access::SpaceGrant],
    sent_without_choice: bool,
) -> axum::response::Html<String> {
    let title = ctx.tf("forms.add_title", &[("form", &form.name)]);
    layout::page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            @match places {
                [] => {
                    p.notice role="note" { (ctx.t("forms.add_nowhere")) }
                    p.actions { a.button href="/" { (ctx.t("forms.add_see_spaces")) } }
                }
                [only] => {
                    div.card.space-choice {
                        p.lead { (ctx.tf("forms.add_only", &[("space", &only.space.title)])) }
                        p.who-sees { strong { (ctx.t("forms.who_sees")) } " " (views::who_sees(ctx, &only.space, Some(form), true)) }
                        p.actions { a.button href=(entry_form(only, form)) { (ctx.t("forms.add_continue")) } }
                    }
                }
                _ => {
                    form.card.space-choice method="get" action={"/add/" (form.key)} {
                        fieldset aria-describedby=[sent_without_choice.then_some("space-error")] {
                            legend { (ctx.t("forms.add_where")) }
                            p.hint { (ctx.t("forms.add_where_hint")) }
                            @if sent_without_choice {
                                p.error #space-error role="alert" { (ctx.t("forms.add_choose")) }
                            }
                            @for g in places {
                                label.choice {
                                    input type="radio" name="space" value=(g.space.slug) required;
                                    " " strong { (g.space.title) }
                                    span.who-sees { (views::who_sees(ctx, &g.space, Some(form), false)) }
                                }
                            }
                        }
                        button type="submit" name="step" value="space" { (ctx.t("forms.add_continue")) }
                    }
                }
            }
        },
    )
}
