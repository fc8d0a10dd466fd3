//! Handlers of sign-in, sign-out, setup, sign-up, invitations and the account page.

use crate::query::Query;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Json,
};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    accounts::{
        signup::{self, SignupMode},
        store::{self, NewUser, NewUserError, PasswordChangeError, SignIn},
        tokens,
        views::{self, AccountForm, AccountPage},
        User,
    },
    ratelimit::{self, Action, Verdict, Who},
    session::{csrf::CsrfForm, sign_in, sign_out, CurrentUser},
};
use crate::{
    client_addr::ClientAddr,
    dates,
    error::{self, AppError, AppResult},
    i18n::{self, safe_next},
    layout::{flash, Ctx, FlashKind},
    state::{self, AppState},
};
use ruche_spaces as spaces;
use ruche_spaces::invitations::{self, AcceptError};

#[derive(Deserialize)]
pub struct AccountFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

impl AccountFields {
    fn into_new_user(self, is_admin: bool) -> NewUser {
        NewUser { email: self.email, name: self.name, password: self.password, is_admin }
    }
}

/// The form again, with the error next to its field, or the failure itself.
fn account_form_error(
    ctx: &Ctx,
    fields: (&str, &str),
    err: NewUserError,
) -> Result<AccountForm, AppError> {
    let mut form =
        AccountForm { name: fields.0.to_owned(), email: fields.1.to_owned(), ..Default::default() };
    match err {
        NewUserError::InvalidEmail => form.email_error = Some(ctx.t("account.invalid_email")),
        NewUserError::EmailTaken => form.email_error = Some(ctx.t("account.email_taken")),
        NewUserError::EmptyName => form.name_error = Some(ctx.t("account.name_required")),
        // The field's hint already says how long: the error says what is wrong.
        NewUserError::ShortPassword => form.password_error = Some(ctx.t("account.password_short")),
        NewUserError::Internal(e) => return Err(AppError::Internal(e)),
    }
    Ok(form)
}

/// Signs a new account in and takes it `to` its first page.
async fn welcome(ctx: &Ctx, session: &Session, user: &User, to: &str) -> AppResult<Response> {
    sign_in(session, user).await?;
    flash(session, FlashKind::Success, ctx.tf("account.welcome", &[("name", &user.name)])).await?;
    Ok(Redirect::to(to).into_response())
}

/// `GET /welcome`: where a new account lands — what to do next, in three steps.
pub(crate) async fn first_steps(CurrentUser(_): CurrentUser, ctx: Ctx) -> AppResult<Response> {
    Ok(views::first_steps(&ctx).into_response())
}

pub(crate) async fn setup_form(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    if store::count(&state.db).await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    let ctx = ctx.with_forms().await?;
    Ok(views::setup(&ctx, &AccountForm::default()).into_response())
}

/// Creates the first account, an administrator — only while the site has no account at all.
pub async fn setup(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<AccountFields>,
) -> AppResult<Response> {
    let txn = state.db.begin().await?;
    if store::count(&txn).await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    let (name, email) = (fields.name.clone(), fields.email.clone());
    match store::create(&txn, fields.into_new_user(true)).await {
        Ok(user) => {
            txn.commit().await?;
            // The site's first administrator starts from the site itself.
            welcome(&ctx, &session, &user, "/").await
        }
        Err(err) => {
            let form = account_form_error(&ctx, (&name, &email), err)?;
            let ctx = ctx.with_forms().await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, views::setup(&ctx, &form)).into_response())
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

pub(crate) async fn login_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    if store::count(&state.db).await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    let next = safe_next(q.next.as_deref()).to_owned();
    if ctx.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let ctx = ctx.with_forms().await?;
    let signup_open = signup::mode(&state.db).await? == SignupMode::Open;
    Ok(views::login(&ctx, "", &next, None, signup_open).into_response())
}

#[derive(Deserialize)]
pub struct LoginFields {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<LoginFields>,
) -> AppResult<Response> {
    match state.sign_in_limits.verdict(&fields.email, client) {
        Verdict::Allow => {}
        Verdict::SlowDown => tokio::time::sleep(ratelimit::SLOW_DOWN).await,
        Verdict::Refuse => {
            tracing::warn!(client = %client, "sign-in attempts limited");
            return Err(AppError::TooManyRequests);
        }
    }
    let next = safe_next(fields.next.as_deref()).to_owned();
    let error = match store::authenticate(&state.db, &fields.email, &fields.password).await? {
        SignIn::Ok(user) => {
            sign_in(&session, &user).await?;
            return Ok(Redirect::to(&next).into_response());
        }
        SignIn::WrongCredentials => {
            state.sign_in_limits.failed(&fields.email, client);
            ctx.t("login.wrong")
        }
        SignIn::Disabled => ctx.t("login.disabled"),
        SignIn::Unconfirmed(user) => {
            if state.settings.mail.is_none() {
                // Mail was turned off since: nothing can confirm the address any more.
                store::set_confirmed(&state.db, user.id, true).await?;
                sign_in(&session, &user).await?;
                return Ok(Redirect::to(&next).into_response());
            }
            // The right password: the link is sent again, off the answer — a few times an hour
            // at most (its own budget: it is no failure, and cannot fill the mailbox). The answer
            // is a wrong password's, whose page tells everyone to open that link first: saying
            // "not confirmed yet" would tell a sign-up's prober the address was free. Counted
            // as a failure too (it signs nobody in), or a free address would never be refused.
            state.sign_in_limits.failed(&fields.email, client);
            if state
                .action_limits
                .spend(Action::Confirmation, Who::Account(user.id), client)
                .is_ok()
            {
                let (state, lang) = (state.clone(), ctx.lang);
                tokio::spawn(async move {
                    if let Err(err) = resend_confirmation(&state, lang, &user).await {
                        tracing::error!(error = %format!("{err:#}"), "sending a confirmation again");
                    }
                });
            }
            ctx.t("login.wrong")
        }
    };
    let ctx = ctx.with_forms().await?;
    Ok((
        StatusCode::UNAUTHORIZED,
        views::login(
            &ctx,
            &fields.email,
            &next,
            Some(error),
            signup::mode(&state.db).await? == SignupMode::Open,
        ),
    )
        .into_response())
}

/// Writes `user`'s confirmation link and its mail again, and wakes the outbox.
async fn resend_confirmation(
    state: &AppState,
    lang: i18n::Lang,
    user: &User,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let txn = state.db.begin().await.context("opening a transaction")?;
    super::reset::write_confirmation(&txn, state, lang, user).await?;
    txn.commit().await.context("writing a confirmation link")?;
    state.outbox.wake();
    Ok(())
}

#[derive(Deserialize)]
pub struct Empty {}

#[derive(Deserialize)]
pub struct LogoutFields {
    /// Where to go once signed out (an invitation meant for someone else, opened again).
    next: Option<String>,
}

pub async fn logout(
    session: Session,
    CsrfForm(fields): CsrfForm<LogoutFields>,
) -> AppResult<Response> {
    sign_out(&session).await?;
    Ok(Redirect::to(safe_next(fields.next.as_deref())).into_response())
}

pub(crate) async fn signup_form(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    if signup::mode(&state.db).await? != SignupMode::Open {
        let contact = signup::contact(&state.db).await?;
        return Ok(
            (StatusCode::FORBIDDEN, views::signup_closed(&ctx, contact.as_deref())).into_response()
        );
    }
    let ctx = ctx.with_forms().await?;
    Ok(views::signup(&ctx, &AccountForm::default()).into_response())
}

/// `POST /signup`. With mail, the answer is the same whether the address is free or taken
/// ("check your mail"), and so is its work: what was typed is checked and the password hashed,
/// then the sign-up is written down; the outbox worker makes the account and mails its
/// confirmation link, or tells the owner of a taken address that someone tried (with the ways
/// to sign in). Without mail nothing can confirm an address: the account signs in at once, and
/// a taken address is said so.
pub async fn signup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<AccountFields>,
) -> AppResult<Response> {
    if signup::mode(&state.db).await? != SignupMode::Open {
        let contact = signup::contact(&state.db).await?;
        return Ok(
            (StatusCode::FORBIDDEN, views::signup_closed(&ctx, contact.as_deref())).into_response()
        );
    }
    // A form sent back for a mistake (a short password…) writes to nobody: only a sign-up that
    // goes through spends the budgets.
    let limits = &state.action_limits;
    if let Err(spent) = limits.check(Action::SignUp, Who::Mailbox(&fields.email), client) {
        return Ok(spent.into_response());
    }
    let (name, email) = (fields.name.clone(), fields.email.clone());
    let new = fields.into_new_user(false);
    if state.settings.mail.is_some() {
        let checked = match store::check(&new) {
            Ok(checked) => checked,
            Err(err) => {
                let form = account_form_error(&ctx, (&name, &email), err)?;
                let ctx = ctx.with_forms().await?;
                return Ok(
                    (StatusCode::UNPROCESSABLE_ENTITY, views::signup(&ctx, &form)).into_response()
                );
            }
        };
        let hash = super::password::hash(new.password).await?;
        signup::ask(&state.db, (&checked.0, &checked.1), hash, ctx.lang).await?;
        limits.record(Action::SignUp, Who::Mailbox(&email), client);
        super::reset::remember_address(&session, checked.0.as_str()).await?;
        state.outbox.wake();
        return Ok(Redirect::to("/signup/check").into_response());
    }
    match store::create(&state.db, new).await {
        Ok(user) => {
            limits.record(Action::SignUp, Who::Mailbox(&email), client);
            welcome(&ctx, &session, &user, "/welcome").await
        }
        Err(err) => {
            let form = account_form_error(&ctx, (&name, &email), err)?;
            let ctx = ctx.with_forms().await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, views::signup(&ctx, &form)).into_response())
        }
    }
}

/// `GET /invite/{token}`: what the invitation offers this visitor (see `invitation_page`).
pub(crate) async fn invitation_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let Some(offer) = offer(&state, &token).await? else {
        return Ok((StatusCode::NOT_FOUND, views::invitation_invalid(&ctx)).into_response());
    };
    let ctx = ctx.with_forms().await?;
    let form = AccountForm::default();
    Ok(invitation_page(&state, &ctx, &token, &offer, &form).await?.into_response())
}

/// An invitation's page. Signed in: a button when it was sent to this person's address, else
/// why it cannot serve them (and what to do instead). Signed out: the new account's form —
/// with the address it was sent to, which cannot be changed — or, when that address has an
/// account already, a way to sign in first.
async fn invitation_page(
    state: &AppState,
    ctx: &Ctx,
    token: &str,
    offer: &views::Offer,
    form: &AccountForm,
) -> AppResult<axum::response::Html<String>> {
    Ok(match (&ctx.user, offer.invited.as_deref()) {
        (Some(me), Some(invited)) if invitations::is_same_address(invited, &me.email) => {
            views::invitation_join(ctx, token, offer, invited)
        }
        (Some(me), _) => views::invitation_elsewhere(ctx, token, offer, &me.email),
        (None, Some(invited)) if store::find_by_email(&state.db, invited).await?.is_some() => {
            views::invitation_sign_in(ctx, token, offer, invited)
        }
        (None, _) => views::invitation(ctx, token, form, offer),
    })
}

/// What an invitation's page says of it: the address it was sent to, the space it leads into,
/// who sent it; none when its link no longer works.
async fn offer(state: &AppState, token: &str) -> AppResult<Option<views::Offer>> {
    use sea_orm::EntityTrait;
    let Some(invitation) = invitations::details(&state.db, token).await? else {
        return Ok(None);
    };
    let space = match invitation.space_id {
        Some(id) => {
            spaces::entity::space::Entity::find_by_id(id).one(&state.db).await?.map(|s| s.title)
        }
        None => None,
    };
    let by = store::find(&state.db, invitation.created_by).await?.map(|u| u.name);
    Ok(Some(views::Offer { invited: invitation.email, space, by }))
}

/// `POST /invite/{token}`: takes the invitation up — the signed-in person's account when it was
/// sent to their address, else a new account with the address it was sent to. An invitation
/// passed on by hand (sent to no address) makes an account whose address is confirmed by mail
/// first, when the site sends mail.
pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path(token): Path<String>,
    CsrfForm(fields): CsrfForm<AccountFields>,
) -> AppResult<Response> {
    let (name, email) = (fields.name.clone(), fields.email.clone());
    let signed_in = ctx.user.is_some();
    let taker = match ctx.user.clone() {
        Some(me) => invitations::Taker::Account(me),
        None => invitations::Taker::NewAccount(fields.into_new_user(false)),
    };
    let txn = state.db.begin().await?;
    let err = match invitations::accept(&txn, &token, taker).await {
        Ok(accepted) => {
            let confirm = accepted.address_unchecked && state.settings.mail.is_some();
            if confirm {
                store::set_confirmed(&txn, accepted.user.id, false).await?;
                super::reset::write_confirmation(&txn, &state, ctx.lang, &accepted.user).await?;
            }
            txn.commit().await?;
            if confirm {
                state.outbox.wake();
                super::reset::remember_address(&session, &accepted.user.email).await?;
                return Ok(Redirect::to("/signup/check").into_response());
            }
            let space = match accepted.space {
                Some(id) => spaces::store::get(&state.db, spaces::SpaceId(id)).await?,
                None => None,
            };
            // Into a space, new account or not: that space, saying they are in it (the first
            // steps' "ask to join" would send them to a group they are already in).
            let (said, to) = match (space, signed_in) {
                (Some(space), _) => (
                    ctx.tf("invite.joined", &[("space", &space.title)]),
                    format!("/s/{}", space.slug),
                ),
                (None, true) => (ctx.t("invite.accepted"), "/".to_owned()),
                (None, false) => return welcome(&ctx, &session, &accepted.user, "/welcome").await,
            };
            if !signed_in {
                sign_in(&session, &accepted.user).await?;
            }
            flash(&session, FlashKind::Success, said).await?;
            return Ok(Redirect::to(&to).into_response());
        }
        Err(err) => err,
    };
    drop(txn);
    let Some(offer) = offer(&state, &token).await? else {
        return Ok((StatusCode::NOT_FOUND, views::invitation_invalid(&ctx)).into_response());
    };
    let ctx = ctx.with_forms().await?;
    let (status, form) = match err {
        AcceptError::Invalid => {
            return Ok((StatusCode::NOT_FOUND, views::invitation_invalid(&ctx)).into_response())
        }
        // Nothing was made or joined: the page says whose invitation it is.
        AcceptError::ForSomeoneElse => (StatusCode::FORBIDDEN, AccountForm::default()),
        AcceptError::NewUser(NewUserError::EmailTaken) if offer.invited.is_some() => {
            (StatusCode::CONFLICT, AccountForm::default())
        }
        AcceptError::NewUser(err) => {
            (StatusCode::UNPROCESSABLE_ENTITY, account_form_error(&ctx, (&name, &email), err)?)
        }
    };
    let page = invitation_page(&state, &ctx, &token, &offer, &form).await?;
    Ok((status, page).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
) -> AppResult<Response> {
    let data =
        AccountPage { tokens: tokens::list(&state.db, user.id).await?, ..Default::default() };
    Ok(views::account(&ctx, &data).into_response())
}

#[derive(Deserialize)]
pub(crate) struct NameFields {
    #[serde(default)]
    display_name: String,
}

/// `POST /account/name`: the name others see (in pages' histories, presence, the directory).
pub(crate) async fn change_name(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<NameFields>,
) -> AppResult<Response> {
    match store::set_name(&state.db, user.id, &fields.display_name).await {
        Ok(()) => {
            flash(&session, FlashKind::Success, ctx.t("account.name_changed")).await?;
            Ok(Redirect::to("/account").into_response())
        }
        Err(store::NameError::Empty) => {
            let data = AccountPage {
                tokens: tokens::list(&state.db, user.id).await?,
                name_error: Some(ctx.t("account.name_required")),
                ..Default::default()
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, views::account(&ctx, &data)).into_response())
        }
        Err(store::NameError::Internal(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(crate) struct ZoneFields {
    #[serde(default)]
    time_zone: String,
}

/// `POST /account/time-zone`: the zone this person reads times in (empty: the site's).
pub(crate) async fn change_time_zone(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<ZoneFields>,
) -> AppResult<Response> {
    let zone = match fields.time_zone.as_str() {
        "" => None,
        name => Some(
            dates::ZONES
                .iter()
                .find(|(z, _)| *z == name)
                .and_then(|(z, _)| dates::parse_zone(z))
                .ok_or_else(|| AppError::BadRequest(ctx.t("account.bad_time_zone")))?,
        ),
    };
    store::set_time_zone(&state.db, user.id, zone).await?;
    flash(&session, FlashKind::Success, ctx.t("account.time_zone_changed")).await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Deserialize)]
pub struct PasswordFields {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    CsrfForm(fields): CsrfForm<PasswordFields>,
) -> AppResult<Response> {
    let error =
        match store::change_password(&state.db, user.id, &fields.current, &fields.password).await {
            Ok(()) => {
                // Every other session ends (they signed in with the old password); this one stays.
                if let Some(changed) = store::find(&state.db, user.id).await? {
                    crate::session::extract::remember_credential(&session, &changed).await?;
                }
                // Live connections and streams opened with the old password are asked again
                // who they are (the browsers of this session come back as they were).
                state.hub.kick_all().await;
                let message = if tokens::list(&state.db, user.id).await?.is_empty() {
                    ctx.t("account.password_changed")
                } else {
                    ctx.t("account.password_changed_tokens")
                };
                flash(&session, FlashKind::Success, message).await?;
                return Ok(Redirect::to("/account").into_response());
            }
            Err(PasswordChangeError::WrongCurrent) => ctx.t("account.wrong_current"),
            Err(PasswordChangeError::ShortPassword) => ctx.t("account.password_short"),
            Err(PasswordChangeError::Internal(e)) => return Err(e.into()),
        };
    let data = AccountPage {
        tokens: tokens::list(&state.db, user.id).await?,
        password_error: Some(error),
        ..Default::default()
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, views::account(&ctx, &data)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct TokenFields {
    #[serde(default)]
    name: String,
}

/// Creates a token and shows its secret on the page answering the form, this once.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    CsrfForm(fields): CsrfForm<TokenFields>,
) -> AppResult<Response> {
    let (_, secret) = tokens::create(&state.db, user.id, &fields.name).await?;
    let data = AccountPage {
        tokens: tokens::list(&state.db, user.id).await?,
        new_token: Some(secret),
        ..Default::default()
    };
    Ok(views::account(&ctx, &data).into_response())
}

pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: Ctx,
    session: Session,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    if !tokens::revoke(&state.db, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    // What the token holds open (a live page, a stream) is asked again who it is.
    state.hub.kick_all().await;
    flash(&session, FlashKind::Success, ctx.t("tokens.revoked")).await?;
    Ok(Redirect::to("/account").into_response())
}

/// `GET /api/me`: who the token or session acts as.
pub async fn me(CurrentUser(user): CurrentUser) -> Json<User> {
    Json(user)
}

#[derive(serde::Deserialize)]
pub(crate) struct EditorFields {
    #[serde(default)]
    show_markdown: String,
}

/// `POST /account/editor` (`show_markdown=1` or `0`): how this person's editor shows the text,
/// on every computer they use.
pub(crate) async fn editor_preference(
    axum::extract::State(state): axum::extract::State<state::AppState>,
    crate::session::CurrentUser(user): crate::session::CurrentUser,
    crate::session::csrf::CsrfForm(fields): crate::session::csrf::CsrfForm<EditorFields>,
) -> error::AppResult<axum::http::StatusCode> {
    super::store::set_show_markdown(&state.db, user.id, fields.show_markdown == "1").await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
