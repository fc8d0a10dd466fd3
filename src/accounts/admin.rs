//! Site administration of accounts: the list, invitations, disabling, promoting, sign-up mode.
use axum::{
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::html;
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    accounts::{
        signup::{self, SignupMode},
        store, User, UserId,
    },
    session::{csrf::CsrfForm, AdminUser},
};
use crate::{
    error::{AppError, AppResult},
    layout::{flash, page, Ctx, Field, FlashKind},
    state::AppState,
};
use ruche_spaces as spaces;
use ruche_spaces::invitations::{self, Invitation};

pub async fn users(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ctx: Ctx,
) -> AppResult<Html<String>> {
    render(&state, &ctx, None).await
}

async fn render(state: &AppState, ctx: &Ctx, new_link: Option<String>) -> AppResult<Html<String>> {
    let users = store::list(&state.db).await?;
    let invitations = invitations::recent(&state.db).await?;
    // The spaces invitations lead into, by id (slug, title).
    let spaces: std::collections::HashMap<i64, (String, String)> = spaces::store::all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id.0, (s.slug.to_string(), s.title)))
        .collect();
    let mode = signup::mode(&state.db).await?;
    let contact = signup::contact(&state.db).await?.unwrap_or_default();
    Ok(view(ctx, &users, (&invitations, &spaces), (mode, &contact), new_link))
}

fn view(
    ctx: &Ctx,
    users: &[User],
    (invitations, spaces): (&[Invitation], &std::collections::HashMap<i64, (String, String)>),
    (mode, contact): (SignupMode, &str),
    new_link: Option<String>,
) -> Html<String> {
    let title = ctx.t("admin.title");
    let me = ctx.user.as_ref().map(|u| u.id);
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            p.actions { a.button.secondary href="/admin/mail" { (ctx.t("admin.mail")) } }
            section aria-labelledby="invite" {
                h2 #invite { (ctx.t("admin.invite")) }
                p { (ctx.t("admin.invite_intro")) }
                p { (ctx.t("admin.invite_space")) }
                @if let Some(link) = &new_link {
                    div.flash.flash-ok role="status" {
                        p { (ctx.t("admin.invite_created")) }
                        p { code.secret { (link) } }
                    }
                }
                form.card method="post" action="/admin/invitations" {
                    (ctx.csrf_field())
                    (Field::new("note", ctx.t("admin.invite_note")).optional().render())
                    button type="submit" { (ctx.t("admin.invite_submit")) }
                }
                @if !invitations.is_empty() {
                    details {
                        summary { (ctx.t("admin.invitations")) }
                        ul {
                            @for inv in invitations {
                                @let pending = !inv.used && inv.expires_at >= chrono::Utc::now();
                                @let space = inv.space_id.and_then(|id| spaces.get(&id));
                                li {
                                    (ctx.moment(inv.created_at)) " — "
                                    @if let Some(email) = &inv.email { strong { (email) } " — " }
                                    @if let Some((slug, title)) = space {
                                        (ctx.t("admin.invitation_into")) " " a href={"/s/" (slug) "/members"} { (title) } " — "
                                    }
                                    @if !inv.note.is_empty() { (inv.note) " — " }
                                    @if inv.used { (ctx.t("admin.invitation_used")) }
                                    @else if !pending { (ctx.t("admin.invitation_expired")) }
                                    @else { (ctx.t("admin.invitation_pending")) }
                                    @if let (true, Some((slug, _)), Some(email)) = (pending, space, &inv.email) {
                                        form.inline method="post" action={"/s/" (slug) "/invitations/" (inv.id) "/resend"} {
                                            (ctx.csrf_field())
                                            button.small.secondary type="submit" aria-label={(ctx.t("invite.resend")) " — " (email)} { (ctx.t("invite.resend")) }
                                        }
                                        form.inline method="post" action={"/s/" (slug) "/invitations/" (inv.id) "/withdraw"} {
                                            (ctx.csrf_field())
                                            button.small.secondary type="submit" aria-label={(ctx.t("invite.withdraw")) " — " (email)} { (ctx.t("invite.withdraw")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="signup" {
                h2 #signup { (ctx.t("admin.signup")) }
                form.card method="post" action="/admin/signup" {
                    (ctx.csrf_field())
                    fieldset {
                        legend { (ctx.t("admin.signup_legend")) }
                        @for option in [SignupMode::InvitationOnly, SignupMode::Open] {
                            label.choice {
                                input type="radio" name="mode" value=(option.as_str()) checked[option == mode];
                                " " (ctx.t(&format!("admin.signup_{}", option.as_str())))
                            }
                        }
                    }
                    div.field {
                        label for="signup-contact" { (ctx.t("admin.signup_contact")) }
                        p.hint #signup-contact-hint { (ctx.t("admin.signup_contact_hint")) }
                        input #signup-contact name="contact" value=(contact) maxlength="200" aria-describedby="signup-contact-hint";
                    }
                    button type="submit" { (ctx.t("admin.save")) }
                }
            }
            section aria-labelledby="people" {
                h2 #people { (ctx.t("admin.people")) }
                div.table-wrap {
                    table {
                        thead { tr {
                            th scope="col" { (ctx.t("account.name")) }
                            th scope="col" { (ctx.t("account.email")) }
                            th scope="col" { (ctx.t("admin.status")) }
                            th scope="col" { (ctx.t("tokens.actions")) }
                        } }
                        tbody {
                            @for user in users {
                                tr {
                                    td { (user.name) }
                                    td { (user.email) }
                                    td {
                                        @if user.disabled { (ctx.t("admin.disabled")) }
                                        @else if user.is_admin { (ctx.t("account.admin")) }
                                        @else { (ctx.t("admin.active")) }
                                    }
                                    td.actions {
                                        form method="post" action={"/admin/users/" (user.id.0) "/reset"} {
                                            (ctx.csrf_field())
                                            button.small.secondary type="submit" aria-label={(ctx.t("admin.reset")) " — " (user.name)} {
                                                (ctx.t("admin.reset"))
                                            }
                                        }
                                        @if Some(user.id) != me {
                                            @let actions = [
                                                (if user.disabled { "enable" } else { "disable" }),
                                                (if user.is_admin { "demote" } else { "promote" }),
                                            ];
                                            @for action in actions {
                                                form method="post" action={"/admin/users/" (user.id.0) "/" (action)} {
                                                    (ctx.csrf_field())
                                                    button.small type="submit" aria-label={(ctx.t(&format!("admin.{action}"))) " — " (user.name)} {
                                                        (ctx.t(&format!("admin.{action}")))
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct InviteFields {
    #[serde(default)]
    note: String,
}

/// Creates an invitation and shows its link, this once, for the administrator to pass on.
pub async fn invite(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ctx: Ctx,
    CsrfForm(fields): CsrfForm<InviteFields>,
) -> AppResult<Html<String>> {
    let secret = invitations::create(&state.db, admin.id, &fields.note).await?;
    let link = format!("{}/invite/{secret}", state.settings.base_url);
    render(&state, &ctx, Some(link)).await
}

#[derive(Deserialize)]
pub(crate) struct SignupFields {
    mode: String,
    #[serde(default)]
    contact: String,
}

pub(crate) async fn set_signup(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<SignupFields>,
) -> AppResult<Response> {
    let mode = SignupMode::parse(&fields.mode)
        .ok_or_else(|| AppError::BadRequest(ctx.t("admin.bad_mode")))?;
    signup::set_mode(&state.db, mode).await?;
    signup::set_contact(&state.db, &fields.contact).await?;
    flash(&session, FlashKind::Success, ctx.t("admin.saved")).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

/// A way back into an account for someone who lost their password: by mail when mail is set
/// up, else a link shown once for the administrator to pass on.
async fn reset_link(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    target: UserId,
) -> AppResult<Response> {
    let user = store::find(&state.db, target).await?.ok_or(AppError::NotFound)?;
    let said = if state.settings.mail.is_some() {
        super::reset::send_link(state, ctx.lang, &user).await?;
        ctx.tf("admin.reset_sent", &[("email", &user.email)])
    } else {
        let link = super::reset::new_link(&state.db, &state.settings.base_url, &user).await?;
        ctx.tf("admin.reset_link", &[("name", &user.name), ("link", &link)])
    };
    flash(session, FlashKind::Success, said).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// `POST /admin/users/{id}/{disable|enable|promote|demote|reset}`; nobody changes their own account
/// here, so the site always keeps the administrator doing it.
pub(crate) async fn change_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ctx: Ctx,
    session: Session,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let target = UserId(id);
    if action == "reset" {
        return reset_link(&state, &ctx, &session, target).await;
    }
    if target == admin.id {
        return Err(AppError::Conflict(ctx.t("admin.not_yourself")));
    }
    let found = match action.as_str() {
        "disable" => store::set_disabled(&state.db, target, true).await?,
        "enable" => store::set_disabled(&state.db, target, false).await?,
        "promote" => store::set_admin(&state.db, target, true).await?,
        "demote" => store::set_admin(&state.db, target, false).await?,
        _ => return Err(AppError::NotFound),
    };
    if !found {
        return Err(AppError::NotFound);
    }
    if matches!(action.as_str(), "disable" | "demote") {
        state.hub.kick_all().await;
    }
    flash(&session, FlashKind::Success, ctx.t("admin.saved")).await?;
    Ok(Redirect::to("/admin/users").into_response())
}
