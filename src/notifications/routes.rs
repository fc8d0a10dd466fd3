//! `/notifications`, the follow buttons, the choice of mail, one-click unsubscribe, and the
//! people a page's editor may mention.
use std::collections::HashMap;

use axum::{
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    Json,
};
use maud::html;
use serde::Deserialize;
use tower_sessions::Session;

use super::{Target, SHOWN};
use crate::{
    access::{self, PageFor},
    db,
    error::{AppError, AppResult},
    i18n,
    layout::{flash, page, Ctx, FlashKind},
    session::{csrf::CsrfForm, CurrentUser},
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_accounts::UserId;
use ruche_forms as forms;
use ruche_pages as pages;
use ruche_spaces::{self as spaces, PROFILES_SPACE};

/// `GET /notifications`: what happened, newest first. Opening one (or the page it is about)
/// reads it; "Tout marquer comme lu" reads them all.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
) -> AppResult<Html<String>> {
    let shown = super::list(&state.db, &user).await?;
    let title = ctx.t("notify.title");
    let unread = shown.iter().filter(|n| !n.read).count();
    Ok(page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            @if shown.is_empty() {
                p.lead { (ctx.t("notify.none")) }
                p { (ctx.t("notify.how")) }
            } @else {
                @if unread > 0 {
                    form.mark-all method="post" action="/notifications/read" {
                        (ctx.csrf_field())
                        button.secondary type="submit" { (ctx.t("notify.mark_all")) }
                    }
                }
                ul.plain.notifications {
                    @for n in &shown {
                        li class=(if n.read { "read" } else { "unread" }) {
                            @if !n.read { span.badge { (ctx.t("notify.new")) } " " }
                            a href={"/notifications/" (n.id)} { (n.kind.sentence(ctx.lang, n.who.as_deref(), &n.title)) }
                            br; span.meta { (n.space) " · " (ctx.time_ago(n.at)) }
                        }
                    }
                }
                @if shown.len() as u64 >= SHOWN { p.meta { (ctx.t("notify.older")) } }
            }
            p { a href="/account#notifications" { (ctx.t("notify.settings_link")) } }
        },
    ))
}

/// `GET /notifications/{id}`: reads one notification and leads to what it is about.
pub async fn open(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> AppResult<Response> {
    match super::open(&state.db, &user, id).await? {
        Some(n) => Ok(Redirect::to(&n.url).into_response()),
        None => Err(AppError::NotFound),
    }
}

/// `POST /notifications/read`: "Tout marquer comme lu".
pub(crate) async fn mark_all(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(_): CsrfForm<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<Response> {
    super::mark_all_read(&state.db, user.id).await?;
    flash(&session, FlashKind::Success, ctx.t("notify.all_read")).await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// `GET /api/notifications/unread`: the bell's count, asked by open pages now and then.
pub async fn unread(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Response> {
    let unread = super::unread(&state.db, user.id).await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "unread": unread })),
    )
        .into_response())
}

/// `GET /api/notifications`: the same, as JSON (read state kept).
pub async fn api(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<serde_json::Value>> {
    let shown = super::list(&state.db, &user).await?;
    let unread = super::unread(&state.db, user.id).await?;
    let items: Vec<serde_json::Value> = shown
        .iter()
        .map(|n| {
            serde_json::json!({
                "id": n.id, "kind": n.kind.as_str(), "who": n.who, "title": n.title,
                "url": n.url, "space": n.space, "at": n.at, "read": n.read,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "unread": unread, "notifications": items })))
}

/// `action=follow` or `action=unfollow` on `target`: answers whether `user` follows it now.
async fn follow_or_not(
    state: &AppState,
    ctx: &Ctx,
    user: accounts::UserId,
    target: &Target,
    action: &str,
) -> AppResult<bool> {
    match action {
        "follow" => super::follow(&state.db, user, target).await?,
        "unfollow" => super::unfollow(&state.db, user, target).await?,
        _ => return Err(AppError::BadRequest(ctx.t("error.bad_request"))),
    }
    Ok(action == "follow")
}

#[derive(Deserialize)]
pub(crate) struct FollowFields {
    #[serde(default)]
    action: String,
}

/// `POST /s/{space}/{page}/follow` with `action=follow` or `action=unfollow`.
pub(crate) async fn follow_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    CsrfForm(fields): CsrfForm<FollowFields>,
) -> AppResult<Response> {
    let target = Target::Page(page.id);
    let said = match follow_or_not(&state, &ctx, user.id, &target, &fields.action).await? {
        true => ctx.t("notify.following"),
        false => ctx.t("notify.not_following"),
    };
    flash(&session, FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

/// `POST /follow/space/{space}` with `action=follow` or `action=unfollow`: every page of the
/// space, and its new entries, for those who may read it.
pub(crate) async fn follow_space(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    axum::extract::Path(slug): axum::extract::Path<String>,
    CsrfForm(fields): CsrfForm<FollowFields>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, Some(&user), &slug, access::SpaceAction::Read).await?;
    let target = Target::Space(grant.space.id);
    let said = match follow_or_not(&state, &ctx, user.id, &target, &fields.action).await? {
        true => ctx.t("notify.following_space"),
        false => ctx.t("notify.not_following_space"),
    };
    flash(&session, FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/s/{}", grant.space.slug)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct FormFollowFields {
    #[serde(default)]
    action: String,
    /// The list the button was on (`/agenda`), to go back to.
    #[serde(default)]
    back: String,
}

/// `POST /follow/form/{key}` with `action=follow` or `action=unfollow`: the form's new
/// entries, in every space the follower may read.
pub(crate) async fn follow_form(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    axum::extract::Path(key): axum::extract::Path<String>,
    CsrfForm(fields): CsrfForm<FormFollowFields>,
) -> AppResult<Response> {
    let Some(form) = forms::store::find(&state.db, &key).await? else {
        return Err(AppError::NotFound);
    };
    let target = Target::Form(form.key.clone());
    let said = match follow_or_not(&state, &ctx, user.id, &target, &fields.action).await? {
        true => ctx.tf("notify.following_form", &[("form", &form.name)]),
        false => ctx.tf("notify.not_following_form", &[("form", &form.name)]),
    };
    flash(&session, FlashKind::Success, said).await?;
    // Back to a page of this site only, checked as it is sent; else to the form's list.
    let back = match i18n::local_path(&fields.back) {
        Some(back) => back.to_owned(),
        None => format!("/forms/{}", form.key),
    };
    Ok(Redirect::to(&back).into_response())
}

#[derive(Deserialize)]
pub(crate) struct MailFields {
    #[serde(default)]
    choice: String,
    #[serde(default)]
    hour: Option<String>,
}

/// `POST /account/notifications`: a mail for each notification, a daily digest at an hour, or
/// none.
pub(crate) async fn mail_choice(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<MailFields>,
) -> AppResult<Response> {
    let hour = match fields.hour.as_deref().map(str::trim) {
        None | Some("") => user.digest_hour,
        Some(h) => match h.parse::<u32>() {
            Ok(h) if h < 24 => h,
            _ => return Err(AppError::BadRequest(ctx.t("notify.bad_hour"))),
        },
    };
    let Some(choice) = super::MAIL_CHOICES.iter().find(|c| **c == fields.choice) else {
        return Err(AppError::BadRequest(ctx.t("error.bad_request")));
    };
    super::set_mail_choice(&state.db, user.id, choice, hour).await?;
    flash(&session, FlashKind::Success, ctx.t("admin.saved")).await?;
    Ok(Redirect::to("/account#notifications").into_response())
}

/// `GET /unsubscribe/{key}`: the link of a notification mail. Asks before doing anything (mail
/// scanners open links).
pub(crate) async fn unsubscribe_page(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> AppResult<Response> {
    let title = ctx.t("notify.unsubscribe_title");
    let Some(person) = accounts::store::by_unsubscribe_key(&state.db, &key).await? else {
        return Ok((StatusCode::NOT_FOUND, unsubscribe_unknown(&ctx)).into_response());
    };
    Ok(page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            @if person.notify_by_mail == "never" {
                p.lead { (ctx.t("notify.unsubscribed_already")) }
            } @else {
                p.lead { (ctx.tf("notify.unsubscribe_ask", &[("email", &person.email)])) }
                form method="post" action={"/unsubscribe/" (key)} {
                    button type="submit" { (ctx.t("notify.unsubscribe_button")) }
                }
            }
            p { (ctx.t("notify.unsubscribe_site")) " " a href="/account#notifications" { (ctx.t("notify.settings_link")) } }
        },
    )
    .into_response())
}

/// `POST /unsubscribe/{key}`: one click, from the page or from the mail program itself
/// (RFC 8058: `List-Unsubscribe=One-Click`, without cookies). The key is the proof; the only
/// thing it can do is stop notification mails.
pub async fn unsubscribe(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> AppResult<Response> {
    let title = ctx.t("notify.unsubscribe_title");
    if super::unsubscribe(&state.db, &key).await?.is_none() {
        return Ok((StatusCode::NOT_FOUND, unsubscribe_unknown(&ctx)).into_response());
    }
    Ok(page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("notify.unsubscribed")) }
            p { (ctx.t("notify.unsubscribe_site")) " " a href="/account#notifications" { (ctx.t("notify.settings_link")) } }
        },
    )
    .into_response())
}

fn unsubscribe_unknown(ctx: &Ctx) -> Html<String> {
    let title = ctx.t("notify.unsubscribe_title");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("notify.unsubscribe_unknown")) }
            p { a href="/account#notifications" { (ctx.t("notify.settings_link")) } }
        },
    )
}

#[derive(Deserialize)]
pub struct PeopleQuery {
    #[serde(default)]
    q: String,
}

/// People offered after `@`, at most.
const PEOPLE_OFFERED: usize = 8;

/// `GET /api/pages/{space}/{page}/people?q=mar`: the people a writer of this page may mention —
/// those who may read it and whom the writer may know of already (the access module says who) —
/// whose name or handle starts with the words typed.
pub async fn people(
    State(state): State<AppState>,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
    axum::extract::Query(query): axum::extract::Query<PeopleQuery>,
) -> AppResult<Json<serde_json::Value>> {
    let typed = crate::collation::fold(&query.q.chars().take(60).collect::<String>());
    let on_directory = grant.space.slug.as_str() == PROFILES_SPACE;
    let known = acquaintances(&state.db, &grant, on_directory).await?;
    let mut offered = Vec::new();
    // Access is asked of a bounded number of matching people, whatever was typed.
    let mut checked = 0;
    for person in accounts::store::list(&state.db).await? {
        if offered.len() >= PEOPLE_OFFERED || checked >= 5 * PEOPLE_OFFERED {
            break;
        }
        if person.disabled || person.handle.is_empty() {
            continue;
        }
        let acquaintance = known.get(&person.id).copied().unwrap_or_default();
        if !access::may_name(&grant, on_directory, acquaintance) {
            continue;
        }
        let name = crate::collation::fold(&person.name);
        let matches = typed.is_empty()
            || person.handle.starts_with(&typed)
            || name.split_whitespace().any(|w| w.starts_with(&typed))
            || name.starts_with(&typed);
        if !matches {
            continue;
        }
        checked += 1;
        if access::reads(&state.db, Some(&person), &page).await? {
            offered.push(serde_json::json!({ "handle": person.handle, "name": person.name }));
        }
    }
    Ok(Json(serde_json::json!({ "people": offered })))
}

/// What is known of the people the writer (`grant`'s holder) might be offered: who shares a
/// space with them, and, on the directory, whose profile is public.
async fn acquaintances(
    db: &db::Db,
    grant: &access::SpaceGrant,
    on_directory: bool,
) -> AppResult<HashMap<UserId, access::Acquaintance>> {
    let mut known: HashMap<UserId, access::Acquaintance> = HashMap::new();
    let Some(writer) = &grant.user else { return Ok(known) };
    let theirs = spaces::store::roles_of(db, writer.id).await?;
    for (space, person) in spaces::store::memberships(db).await? {
        if theirs.contains_key(&space) {
            known.entry(person).or_default().shares_a_space = true;
        }
    }
    if on_directory {
        for profile in pages::store::list(db, grant.space.id, false).await? {
            if let Some(owner) = profile.owner {
                if access::readable_by_anyone(&grant.space, &profile) {
                    known.entry(owner).or_default().public_profile = true;
                }
            }
        }
    }
    Ok(known)
}
