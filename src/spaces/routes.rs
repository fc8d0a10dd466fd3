//! Handlers of the space pages: the list, a space's home, its members and settings.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    requests::{self, Decision},
    store::{self, NewSpace, SpaceChanges, SpaceError},
    views::{self, Joining, SpaceForm},
    Role, SpaceSlug, Visibility,
};
use crate::{
    access::{self, SpaceAction},
    backup,
    client_addr::ClientAddr,
    content, discussions, download,
    error::{AppError, AppResult},
    layout::{flash, Ctx, FlashKind},
    ratelimit::{Action, Who},
    session::csrf::CsrfForm,
    spaces,
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_accounts::UserId;
use ruche_mail::mail;
use ruche_notifications as notifications;
use ruche_pages as pages;

/// `GET /s/{space}`: a space's home — its pages for those who may read it; for others, who
/// to ask and the way to ask to join.
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> AppResult<Html<String>> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::See).await?;
    let pages = if grant.allows(SpaceAction::Read) {
        Some(access::readable_pages(
            &grant,
            pages::store::list(&state.db, grant.space.id, false).await?,
        ))
    } else {
        None
    };
    let joining = joining(&state, &ctx, &grant).await?;
    let following = match &ctx.user {
        Some(user) if grant.allows(SpaceAction::Read) => Some(
            notifications::follows(
                &state.db,
                user.id,
                &notifications::Target::Space(grant.space.id),
            )
            .await?,
        ),
        _ => None,
    };
    let discussions = if grant.allows(SpaceAction::Read) {
        discussions::exchanges::active(&state.db, &[&grant], 3).await?
    } else {
        Vec::new()
    };
    let comments = match &pages {
        Some(pages) => discussions::counts(&state.db, pages.iter().map(|p| p.id.0)).await?,
        None => Default::default(),
    };
    let description =
        state.rendered.snippet(&grant.space.description, grant.space.slug.as_str()).await?;
    Ok(views::show(
        &ctx,
        &grant,
        &description,
        pages.as_deref().map(|p| (p, &comments)),
        &joining,
        following,
        &discussions,
    ))
}

/// What the space page says about joining: to an outsider, who the owners are and where their
/// request stands; to the owners, how many requests wait.
async fn joining(state: &AppState, ctx: &Ctx, grant: &access::SpaceGrant) -> AppResult<Joining> {
    let mut joining = Joining::default();
    if grant.allows(SpaceAction::Manage) {
        joining.waiting = requests::pending(&state.db, grant.space.id).await?.len();
    }
    if grant.allows(SpaceAction::Read) || grant.space.visibility != Visibility::Members {
        return Ok(joining);
    }
    if let Some(user) = ctx.user.as_ref() {
        joining.owners = store::members(&state.db, grant.space.id)
            .await?
            .into_iter()
            .filter(|m| m.role == Role::Owner && !m.user.disabled)
            .map(|m| m.user.name)
            .collect();
        joining.request = requests::of(&state.db, grant.space.id, user.id).await?;
        joining.may_ask = access::may_ask_to_join(grant);
    }
    Ok(joining)
}

#[derive(Deserialize)]
pub(crate) struct AskFields {
    #[serde(default)]
    message: String,
}

/// `POST /s/{space}/members/requests`: asks the space's owners to let this person in.
pub(crate) async fn ask_to_join(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ctx: Ctx,
    session: Session,
    Path(slug): Path<String>,
    CsrfForm(fields): CsrfForm<AskFields>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::See).await?;
    let Some(user) = ctx.user.as_ref() else { return Err(AppError::Unauthorized) };
    if !access::may_ask_to_join(&grant) {
        return Err(AppError::Conflict(ctx.t("join.not_needed")));
    }
    // Only a request that reaches the owners spends the budget: changing the message of one
    // that waits (or asking again after a no) mails nobody.
    let existing = requests::of(&state.db, grant.space.id, user.id).await?;
    let news = requests::would_be_news(existing.as_ref());
    let limits = &state.action_limits;
    if let (true, Err(spent)) =
        (news, limits.check(Action::JoinRequest, Who::Account(user.id), client))
    {
        let back = ctx.tf("join.back_to_space", &[("space", &grant.space.title)]);
        let mut spent = spent.back_to(format!("/s/{}", grant.space.slug), back);
        // What they wrote is not lost: the page shows it, to copy for later.
        let message: String =
            fields.message.trim().chars().take(requests::MAX_MESSAGE_CHARS).collect();
        if !message.is_empty() {
            spent = spent.with_detail(ctx.tf("join.message_kept", &[("message", &message)]));
        }
        return Ok(spent.into_response());
    }
    // The owners hear of it by mail too (looked up before the transaction: SQLite has one
    // connection, which a transaction holds).
    let owners: Vec<accounts::User> = match state.settings.mail {
        Some(_) => store::members(&state.db, grant.space.id)
            .await?
            .into_iter()
            .filter(|m| m.role == Role::Owner && !m.user.disabled)
            .map(|m| m.user)
            .collect(),
        None => Vec::new(),
    };
    let txn = state.db.begin().await?;
    let asked = requests::ask(&txn, grant.space.id, user.id, &fields.message).await?;
    let request = &asked.request;
    // Only news reaches the owners' mailboxes: the same request asked again does not.
    if asked.news {
        let answer = format!("{}/s/{}/members#demandes", state.settings.base_url, grant.space.slug);
        for owner in &owners {
            let mut paragraphs = vec![
                ctx.tf("join.mail_body", &[("who", &user.name), ("space", &grant.space.title)])
            ];
            if !request.message.is_empty() {
                paragraphs.push(format!("« {} »", request.message));
            }
            let letter = mail::Letter {
                site_name: &state.settings.site_name,
                to: &owner.email,
                subject: ctx.tf("join.mail_subject", &[("space", &grant.space.title)]),
                greeting: ctx.tf("reset.mail_greeting", &[("name", &owner.name)]),
                paragraphs,
                sections: Vec::new(),
                action: Some((ctx.t("join.answer"), answer.clone())),
                footer: ctx.t("join.mail_footer"),
            };
            mail::enqueue(&txn, &mail::compose(letter)).await?;
        }
    }
    txn.commit().await?;
    if asked.news {
        limits.record(Action::JoinRequest, Who::Account(user.id), client);
    }
    state.outbox.wake();
    let (kind, said) = match (request.status, asked.news) {
        (requests::Status::Declined, _) => (FlashKind::Error, ctx.t("join.was_declined")),
        (_, true) => (FlashKind::Success, ctx.t("join.sent")),
        (_, false) => (FlashKind::Success, ctx.t("join.updated")),
    };
    flash(&session, kind, said).await?;
    Ok(Redirect::to(&format!("/s/{}", grant.space.slug)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AnswerFields {
    action: String,
    #[serde(default)]
    role: String,
}

/// `POST /s/{space}/members/requests/{id}` with `action=accept` (and `role`) or `action=decline`.
pub(crate) async fn answer_request(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path((slug, id)): Path<(String, i64)>,
    CsrfForm(fields): CsrfForm<AnswerFields>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    let Some(by) = ctx.user.as_ref() else { return Err(AppError::Unauthorized) };
    let decision = match fields.action.as_str() {
        "accept" => Decision::Accept(
            Role::parse(&fields.role)
                .ok_or_else(|| AppError::BadRequest(ctx.t("space.bad_role")))?,
        ),
        "decline" => Decision::Decline,
        _ => return Err(AppError::BadRequest(ctx.t("error.bad_request"))),
    };
    let txn = state.db.begin().await?;
    let answered = requests::decide(&txn, grant.space.id, id, decision, by.id)
        .await
        .map_err(|e| space_error(&ctx, e))?;
    let said = match answered {
        None => ctx.t("join.already_answered"),
        Some(request) => {
            let person = accounts::store::find(&txn, request.user).await?;
            let name = person.as_ref().map(|u| u.name.clone()).unwrap_or_default();
            // The person is told by mail too, in the same transaction.
            if let (Some(person), Some(_)) = (&person, &state.settings.mail) {
                let (subject, body) = match decision {
                    Decision::Accept(_) => ("join.mail_accepted_subject", "join.mail_accepted"),
                    Decision::Decline => ("join.mail_declined_subject", "join.mail_declined"),
                };
                let space = [("space", grant.space.title.as_str())];
                let letter = mail::Letter {
                    site_name: &state.settings.site_name,
                    to: &person.email,
                    subject: ctx.tf(subject, &space),
                    greeting: ctx.tf("reset.mail_greeting", &[("name", &person.name)]),
                    paragraphs: vec![ctx.tf(body, &space)],
                    sections: Vec::new(),
                    action: matches!(decision, Decision::Accept(_)).then(|| {
                        (
                            ctx.t("invite.open_space"),
                            format!("{}/s/{}", state.settings.base_url, grant.space.slug),
                        )
                    }),
                    footer: ctx.t("join.mail_footer"),
                };
                mail::enqueue(&txn, &mail::compose(letter)).await?;
            }
            match decision {
                Decision::Accept(_) => ctx.tf("space.member_added", &[("name", &name)]),
                Decision::Decline => ctx.tf("join.declined", &[("name", &name)]),
            }
        }
    };
    txn.commit().await?;
    state.outbox.wake();
    flash(&session, FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/s/{}/members", grant.space.slug)).into_response())
}

pub(crate) async fn new_form(ctx: Ctx) -> AppResult<Html<String>> {
    require_creator(&ctx)?;
    Ok(views::new_space(&ctx, &SpaceForm::default()))
}

fn require_creator(ctx: &Ctx) -> AppResult<()> {
    match &ctx.user {
        None => Err(AppError::Unauthorized),
        Some(_) if access::may_create_space(ctx.user.as_ref()) => Ok(()),
        Some(_) => Err(AppError::Forbidden),
    }
}

#[derive(Deserialize)]
pub struct SpaceFields {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    comments: String,
}

pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<SpaceFields>,
) -> AppResult<Response> {
    require_creator(&ctx)?;
    let mut form = SpaceForm {
        slug: fields.slug.trim().to_owned(),
        title: fields.title.clone(),
        description: fields.description.clone(),
        visibility: Visibility::parse(&fields.visibility),
        ..Default::default()
    };
    let slug = if form.slug.is_empty() {
        SpaceSlug::from_title(&form.title)
    } else {
        SpaceSlug::parse(&form.slug)
    };
    let (Some(slug), Some(visibility)) = (slug, form.visibility) else {
        form.slug_error = Some(ctx.t("space.slug_invalid"));
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, views::new_space(&ctx, &form)).into_response()
        );
    };
    let owner = ctx.user.as_ref().map(|u| u.id);
    let new = NewSpace { slug, title: fields.title, description: fields.description, visibility };
    match store::create(&state.db, new, owner).await {
        Ok(space) => {
            flash(&session, FlashKind::Success, ctx.t("space.created")).await?;
            Ok(Redirect::to(&format!("/s/{}", space.slug)).into_response())
        }
        Err(SpaceError::SlugTaken) => {
            form.slug_error = Some(ctx.t("space.slug_taken"));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, views::new_space(&ctx, &form)).into_response())
        }
        Err(SpaceError::EmptyTitle) => {
            form.title_error = Some(ctx.t("space.title_required"));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, views::new_space(&ctx, &form)).into_response())
        }
        Err(err) => Err(space_error(&ctx, err)),
    }
}

/// Turns a storage refusal into an error the person understands.
pub(crate) fn space_error(ctx: &Ctx, err: SpaceError) -> AppError {
    match err {
        SpaceError::LastOwner => AppError::Conflict(ctx.t("space.last_owner")),
        SpaceError::SlugTaken => AppError::Conflict(ctx.t("space.slug_taken")),
        SpaceError::EmptyTitle => AppError::BadRequest(ctx.t("space.title_required")),
        SpaceError::Internal(e) => AppError::Internal(e),
    }
}

pub async fn members(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> AppResult<Html<String>> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    members_page(&state, &ctx, &grant.space, None, "").await
}

#[derive(Deserialize)]
pub struct AddMemberFields {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /s/{space}/members`: adds someone by their address. An account gets the role at once
/// (and a mail saying so); an address without one gets an invitation into the space by mail —
/// or, when the site sends no mail, a link shown once for the owner to pass on.
pub async fn add_member(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ctx: Ctx,
    session: Session,
    Path(slug): Path<String>,
    CsrfForm(fields): CsrfForm<AddMemberFields>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    let by = ctx.user.as_ref().ok_or(AppError::Unauthorized)?;
    let role =
        Role::parse(&fields.role).ok_or_else(|| AppError::BadRequest(ctx.t("space.bad_role")))?;
    let Some(email) = accounts::Email::parse(&fields.email) else {
        let error = Some(ctx.t("space.bad_email"));
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            members_page(&state, &ctx, &grant.space, error, &fields.email).await?,
        )
            .into_response());
    };
    // Spent once done, and only when someone is written to (not for an invitation mailed a
    // moment ago, which is not mailed again).
    let limits = &state.action_limits;
    if let Err(spent) = limits.check(Action::Invitation, Who::Account(by.id), client) {
        return Ok(spent.into_response());
    }
    let mail_on = state.settings.mail.is_some();
    let site = state.settings.site_name.clone();
    let space_url = format!("{}/s/{}", state.settings.base_url, grant.space.slug);
    // Looked up before the transaction: SQLite has one connection, held by a transaction.
    let person = accounts::store::find_by_email(&state.db, email.as_str()).await?;
    // Someone already in the space gets the role given: a change of role, checked again below.
    let had = match &person {
        Some(person) => store::role_of(&state.db, grant.space.id, person.id).await?,
        None => None,
    };
    let txn = state.db.begin().await?;
    let mut wrote = true;
    let said = match person {
        // Added again with the role they have: nothing changes, so nobody is told.
        Some(person) if had == Some(role) => {
            ctx.tf("space.member_unchanged", &[("name", &person.name)])
        }
        Some(person) => {
            store::set_member(&txn, grant.space.id, person.id, role)
                .await
                .map_err(|e| space_error(&ctx, e))?;
            if mail_on {
                let letter = mail::Letter {
                    site_name: &site,
                    to: &person.email,
                    subject: ctx.tf("invite.added_subject", &[("space", &grant.space.title)]),
                    greeting: ctx.tf("reset.mail_greeting", &[("name", &person.name)]),
                    paragraphs: vec![ctx.tf(
                        "invite.added_body",
                        &[
                            ("who", &by.name),
                            ("space", &grant.space.title),
                            ("role", &ctx.t(&format!("role.{}", role.as_str()))),
                        ],
                    )],
                    sections: Vec::new(),
                    action: Some((ctx.t("invite.open_space"), space_url.clone())),
                    footer: ctx.t("invite.footer"),
                };
                mail::enqueue(&txn, &mail::compose(letter)).await?;
            }
            notifications::added_to_space(&txn, person.id, grant.space.id, Some(by.id)).await?;
            ctx.tf("space.member_added", &[("name", &person.name)])
        }
        None => {
            let invited =
                invite(&state, &ctx, &txn, by, email.as_str(), &grant.space, role).await?;
            wrote = !matches!(invited, Invited::MailedLately(_));
            invited.said(&ctx, email.as_str(), role, false)
        }
    };
    txn.commit().await?;
    if wrote {
        limits.record(Action::Invitation, Who::Account(by.id), client);
    }
    if had.is_some_and(|had| had != role) {
        content::recheck_space_access(&state.db, &state.hub, grant.space.id).await?;
    }
    state.outbox.wake();
    flash(&session, FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/s/{}/members", grant.space.slug)).into_response())
}

/// Invites `email` into `space` (replacing an earlier invitation of the address there): the
/// mail with its single-use link, or — when the site sends no mail — the link to pass on.
/// An invitation mailed less than `crate::spaces::invitations::RESEND_AFTER` ago is not mailed
/// again (only its role follows the new choice): inviting twice is one invitation.
async fn invite(
    state: &AppState,
    ctx: &Ctx,
    txn: &sea_orm::DatabaseTransaction,
    by: &accounts::User,
    email: &str,
    space: &super::Space,
    role: Role,
) -> AppResult<Invited> {
    let site = state.settings.site_name.clone();
    if state.settings.mail.is_some() {
        let lately = crate::spaces::invitations::mailed_lately(txn, email, space.id, role).await?;
        if let Some(lately) = lately {
            return Ok(Invited::MailedLately(lately));
        }
    }
    let secret =
        crate::spaces::invitations::create_for_space(txn, by.id, email, space.id, role).await?;
    let link = format!("{}/invite/{secret}", state.settings.base_url);
    if state.settings.mail.is_none() {
        return Ok(Invited::Link(link));
    }
    let letter = mail::Letter {
        site_name: &site,
        to: email,
        subject: ctx.tf("invite.subject", &[("space", &space.title), ("site", &site)]),
        greeting: ctx.t("invite.greeting"),
        paragraphs: vec![
            ctx.tf("invite.body", &[("who", &by.name), ("space", &space.title), ("site", &site)]),
            ctx.tf(
                "invite.valid",
                &[("days", &crate::spaces::invitations::VALIDITY_DAYS.to_string())],
            ),
        ],
        sections: Vec::new(),
        action: Some((ctx.t("invite.accept"), link)),
        footer: ctx.t("invite.footer"),
    };
    mail::enqueue(txn, &mail::compose(letter)).await?;
    Ok(Invited::Mailed)
}

/// What became of an invitation.
enum Invited {
    Mailed,
    /// Mailed a short while ago already: not mailed again (its role follows the latest choice).
    MailedLately(crate::spaces::invitations::MailedLately),
    /// The site sends no mail: the link, for the person inviting to pass on.
    Link(String),
}

impl Invited {
    /// What to tell the person inviting `email` with `role` (`again`: they asked to send it
    /// again).
    fn said(&self, ctx: &Ctx, email: &str, role: Role, again: bool) -> String {
        match self {
            Invited::Mailed if again => ctx.tf("invite.resent", &[("email", email)]),
            Invited::Mailed => ctx.tf("invite.sent", &[("email", email)]),
            Invited::MailedLately(lately) => {
                let minutes = crate::spaces::invitations::RESEND_AFTER.num_minutes().to_string();
                let time = ctx.clock_at(lately.resend_at);
                let role = ctx.t(&format!("role.{}", role.as_str()));
                let args =
                    [("email", email), ("minutes", &minutes), ("time", &time), ("role", &role)];
                match lately.role_changed {
                    true => ctx.tf("invite.already_sent_role", &args),
                    false => ctx.tf("invite.already_sent", &args),
                }
            }
            Invited::Link(link) => ctx.tf("invite.link", &[("email", email), ("link", link)]),
        }
    }
}

/// `POST /s/{space}/invitations/{id}/resend`: the invitation leaves again, with a new link (the
/// old one stops working) valid for its full time again.
pub(crate) async fn resend_invitation(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ctx: Ctx,
    session: Session,
    Path((slug, id)): Path<(String, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    let by = ctx.user.as_ref().ok_or(AppError::Unauthorized)?;
    let limits = &state.action_limits;
    if let Err(spent) = limits.check(Action::Invitation, Who::Account(by.id), client) {
        return Ok(spent.into_response());
    }
    let waiting = crate::spaces::invitations::pending_for_space(&state.db, grant.space.id).await?;
    let Some(invitation) = waiting.into_iter().find(|i| i.id == id) else {
        return Err(AppError::NotFound);
    };
    let (Some(email), Some(role)) =
        (invitation.email.as_deref(), invitation.role.as_deref().and_then(Role::parse))
    else {
        return Err(AppError::NotFound);
    };
    let txn = state.db.begin().await?;
    let invited = invite(&state, &ctx, &txn, by, email, &grant.space, role).await?;
    txn.commit().await?;
    if !matches!(invited, Invited::MailedLately(_)) {
        limits.record(Action::Invitation, Who::Account(by.id), client);
    }
    state.outbox.wake();
    let said = invited.said(&ctx, email, role, true);
    flash(&session, FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/s/{}/members", grant.space.slug)).into_response())
}

/// The members page, with the people, the requests and the invitations waiting.
async fn members_page(
    state: &AppState,
    ctx: &Ctx,
    space: &super::Space,
    error: Option<String>,
    email: &str,
) -> AppResult<Html<String>> {
    let members = store::members(&state.db, space.id).await?;
    let waiting = requests::pending(&state.db, space.id).await?;
    let invited = crate::spaces::invitations::pending_for_space(&state.db, space.id).await?;
    let mail_on = state.settings.mail.is_some();
    Ok(views::members(ctx, space, &members, &waiting, (&invited, mail_on), error, email))
}

/// `POST /s/{space}/invitations/{id}/withdraw`: the invitation's link stops working.
pub(crate) async fn withdraw_invitation(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path((slug, id)): Path<(String, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    if !crate::spaces::invitations::withdraw(&state.db, grant.space.id, id).await? {
        return Err(AppError::NotFound);
    }
    flash(&session, FlashKind::Success, ctx.t("invite.withdrawn")).await?;
    Ok(Redirect::to(&format!("/s/{}/members", grant.space.slug)).into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

#[derive(Deserialize)]
pub(crate) struct MemberFields {
    action: String,
    #[serde(default)]
    role: String,
}

/// `POST /s/{space}/members/{user}` with `action=role` (and `role`) or `action=remove`.
pub(crate) async fn change_member(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path((slug, user)): Path<(String, i64)>,
    CsrfForm(fields): CsrfForm<MemberFields>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    let target = UserId(user);
    if store::role_of(&state.db, grant.space.id, target).await?.is_none() {
        return Err(AppError::NotFound);
    }
    match fields.action.as_str() {
        "role" => {
            let role = Role::parse(&fields.role)
                .ok_or_else(|| AppError::BadRequest(ctx.t("space.bad_role")))?;
            store::set_member(&state.db, grant.space.id, target, role)
                .await
                .map_err(|e| space_error(&ctx, e))?;
        }
        "remove" => {
            store::remove_member(&state.db, grant.space.id, target)
                .await
                .map_err(|e| space_error(&ctx, e))?;
        }
        _ => return Err(AppError::BadRequest(ctx.t("error.bad_request"))),
    }
    content::recheck_space_access(&state.db, &state.hub, grant.space.id).await?;
    flash(&session, FlashKind::Success, ctx.t("admin.saved")).await?;
    Ok(Redirect::to(&format!("/s/{}/members", grant.space.slug)).into_response())
}

pub(crate) async fn settings_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> AppResult<Html<String>> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    let form = SpaceForm {
        title: grant.space.title.clone(),
        description: grant.space.description.clone(),
        visibility: Some(grant.space.visibility),
        ..Default::default()
    };
    Ok(views::settings(&ctx, &grant.space, &form))
}

/// `GET /s/{space}/export.zip`: the space as Markdown files (its owners).
pub async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    // Written to a temporary file (gone once sent), then sent from it: the files of a space
    // can weigh far more than a request should hold in memory.
    let mut out = tempfile::tempfile().map_err(|e| anyhow::anyhow!("a temporary file: {e}"))?;
    backup::markdown::export(
        &state.db,
        &state.settings.uploads_dir,
        &state.settings.base_url,
        std::slice::from_ref(&grant.space),
        &mut out,
    )
    .await?;
    let (body, length) =
        download::written(out).await.map_err(|e| anyhow::anyhow!("the export: {e}"))?;
    let name = format!("{}-{}.zip", grant.space.slug, chrono::Utc::now().format("%Y-%m-%d"));
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/zip".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (axum::http::header::CACHE_CONTROL, "private, no-store".to_owned()),
            (axum::http::header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response())
}

pub(crate) async fn update_settings(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path(slug): Path<String>,
    CsrfForm(fields): CsrfForm<SpaceFields>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Manage).await?;
    let visibility = Visibility::parse(&fields.visibility).unwrap_or(grant.space.visibility);
    let changes = SpaceChanges {
        title: fields.title.clone(),
        description: fields.description.clone(),
        visibility,
        comments: spaces::CommentPolicy::parse(&fields.comments),
    };
    match store::update(&state.db, grant.space.id, changes).await {
        Ok(space) => {
            content::recheck_space_access(&state.db, &state.hub, space.id).await?;
            flash(&session, FlashKind::Success, ctx.t("admin.saved")).await?;
            Ok(Redirect::to(&format!("/s/{}", space.slug)).into_response())
        }
        Err(SpaceError::EmptyTitle) => {
            let form = SpaceForm {
                title: fields.title,
                description: fields.description,
                visibility: Some(visibility),
                title_error: Some(ctx.t("space.title_required")),
                ..Default::default()
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, views::settings(&ctx, &grant.space, &form))
                .into_response())
        }
        Err(err) => Err(space_error(&ctx, err)),
    }
}
