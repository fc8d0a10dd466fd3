//! Getting back into one's account: "Mot de passe oublié ?" sends a single-use link (valid one
//! hour, stored hashed) by mail; following it sets a new password, signs the person in and ends
//! every other session and every other link. The answer never tells whether an address has an
//! account, neither by its words nor by its time.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, TransactionTrait};
use serde::Deserialize;
use tower_sessions::Session;

pub use super::links::{
    asked_sender, confirmation_mail, mail, new_link, new_link_for, Purpose, ASKED, VALID_FOR,
};
use crate::accounts::links::{account_for, use_up, Asked};
use crate::{
    accounts::{
        entity::password_reset,
        store::{self, PasswordChangeError},
        tokens::hash_secret,
        User, MIN_PASSWORD_LEN,
    },
    ratelimit::{Action, Who},
    session::{csrf::CsrfForm, sign_in},
};
use crate::{
    client_addr::ClientAddr,
    error::{AppError, AppResult},
    i18n::{AskedLang, Lang},
    layout::{flash, page, Ctx, Field, FlashKind},
    query::Query,
    state::AppState,
};

/// Writes a reset link and its mail to the outbox, in one transaction; wakes the outbox.
pub(crate) async fn send_link(state: &AppState, lang: Lang, user: &User) -> anyhow::Result<()> {
    let txn = state.db.begin().await?;
    let link = new_link(&txn, &state.settings.base_url, user).await?;
    ruche_mail::mail::enqueue(&txn, &mail(lang, &state.settings.site_name, user, &link)).await?;
    txn.commit().await?;
    state.outbox.wake();
    Ok(())
}

#[derive(Deserialize, Default)]
pub(crate) struct ForgotQuery {
    #[serde(default)]
    sent: Option<String>,
}

/// `GET /password/forgot`: the address to send a link to (or, once sent, what to do next).
pub(crate) async fn forgot_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ForgotQuery>,
) -> AppResult<Html<String>> {
    let ctx = ctx.with_forms().await?;
    let mail_on = state.settings.mail.is_some();
    let title = ctx.t("reset.title");
    Ok(page(
        &ctx,
        &title,
        maud::html! {
            h1 { (title) }
            @if !mail_on {
                p.notice role="note" { (ctx.t("reset.no_mail")) }
            } @else if q.sent.is_some() {
                // Once sent, what to do next only: the empty form again would read as "not done".
                div.flash.flash-ok role="status" {
                    p { (ctx.t("reset.sent")) }
                    p { (ctx.tf("reset.sent_valid", &[("minutes", "60")])) }
                }
                p { (ctx.t("reset.nothing_came")) " " a href="/password/forgot" { (ctx.t("reset.ask_again")) } }
            } @else {
                p.lead { (ctx.t("reset.lead")) }
                form.card method="post" action="/password/forgot" {
                    (ctx.csrf_field())
                    (Field::new("email", ctx.t("account.email")).kind("email").autocomplete("email").render())
                    button type="submit" { (ctx.t("reset.send")) }
                }
            }
            p { a href="/login" { "← " (ctx.t("reset.back_to_sign_in")) } }
        },
    ))
}

#[derive(Deserialize)]
pub struct ForgotFields {
    #[serde(default)]
    email: String,
}

/// `POST /password/forgot`: asks for a link to be mailed if the address has an account; answers
/// the same either way (a redirect to the same page), so nobody learns who is registered. The
/// request only writes down what was asked (`ASKED`), the same for every address: whether the
/// address has an account is looked up after the answer, by the outbox worker, so the time of
/// the answer does not tell either.
pub async fn forgot(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    AskedLang(lang): AskedLang,
    CsrfForm(fields): CsrfForm<ForgotFields>,
) -> AppResult<Response> {
    let email = fields.email.trim().to_lowercase();
    if state.settings.mail.is_some() {
        // Its own budget: asking for links never makes anyone's sign-in wait. Something that
        // is no address at all (a slip of the keyboard) asks nothing and spends nothing.
        let limits = &state.action_limits;
        if let Err(spent) = limits.check(Action::ResetRequest, Who::Mailbox(&email), client) {
            return Ok(spent.into_response());
        }
        if let Some(email) = super::Email::parse(&email) {
            limits.record(Action::ResetRequest, Who::Mailbox(email.as_str()), client);
            let asked = Asked { email: email.as_str().to_owned(), lang: lang.code().to_owned() };
            let payload = serde_json::to_string(&asked).map_err(anyhow::Error::from)?;
            crate::outbox::enqueue(&state.db, ASKED, email.as_str(), &payload).await?;
            state.outbox.wake();
        }
    }
    Ok(Redirect::to("/password/forgot?sent=1").into_response())
}

/// The page for a link that does not work (used, expired, unknown): the same for each. Most
/// often it is an older mail opened after a newer link served: signing in comes first, a new
/// link second.
fn invalid(ctx: &Ctx) -> Response {
    let title = ctx.t("reset.invalid_title");
    (
        StatusCode::NOT_FOUND,
        page(
            ctx,
            &title,
            maud::html! {
                h1 { (title) }
                p.lead { (ctx.t("reset.invalid_since")) }
                p { (ctx.t("reset.invalid")) }
                p.actions {
                    a.button href="/login" { (ctx.t("nav.sign_in")) }
                    " "
                    a.button.secondary href="/password/forgot" { (ctx.t("reset.ask_again")) }
                }
            },
        ),
    )
        .into_response()
}

fn reset_page(ctx: &Ctx, token: &str, error: Option<String>) -> Html<String> {
    let title = ctx.t("reset.new_title");
    let min = MIN_PASSWORD_LEN.to_string();
    page(
        ctx,
        &title,
        maud::html! {
            h1 { (title) }
            form.card method="post" action={"/password/reset/" (token)} {
                (ctx.csrf_field())
                (Field::new("password", ctx.t("account.new_password")).kind("password").autocomplete("new-password")
                    .hint(ctx.tf("account.password_hint", &[("min", &min)])).error(error).render())
                (Field::new("password_confirmation", ctx.t("reset.confirm")).kind("password").autocomplete("new-password").render())
                button type="submit" { (ctx.t("reset.save")) }
            }
        },
    )
}

/// `GET /password/reset/{token}`: the new password's form, or why the link does not work.
pub(crate) async fn reset_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let ctx = ctx.with_forms().await?;
    if account_for(&state.db, &token, Purpose::Reset).await?.is_none() {
        return Ok(invalid(&ctx));
    }
    Ok(reset_page(&ctx, &token, None).into_response())
}

#[derive(Deserialize)]
pub struct ResetFields {
    #[serde(default)]
    password: String,
    password_confirmation: Option<String>,
}

/// `POST /password/reset/{token}`: sets the password, uses the link up, signs the person in.
pub async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path(token): Path<String>,
    CsrfForm(fields): CsrfForm<ResetFields>,
) -> AppResult<Response> {
    let ctx = ctx.with_forms().await?;
    let Some(user) = account_for(&state.db, &token, Purpose::Reset).await? else {
        return Ok(invalid(&ctx));
    };
    if fields.password_confirmation.as_ref().is_some_and(|c| *c != fields.password) {
        let error = Some(ctx.t("reset.mismatch"));
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, reset_page(&ctx, &token, error)).into_response()
        );
    }
    let txn = state.db.begin().await?;
    // Used up first: of two forms sent at once with the same link, one only goes through.
    if !use_up(&txn, &token).await? {
        return Ok(invalid(&ctx));
    }
    let changed = match store::set_password(&txn, user.id, &fields.password).await {
        Ok(changed) => changed,
        Err(PasswordChangeError::ShortPassword) => {
            let error = Some(ctx.t("account.password_short"));
            return Ok(
                (StatusCode::UNPROCESSABLE_ENTITY, reset_page(&ctx, &token, error)).into_response()
            );
        }
        Err(err) => return Err(AppError::Internal(anyhow::anyhow!("{err}"))),
    };
    txn.commit().await?;
    // The other sessions ended with the old password: what they hold open (a live page, a
    // stream) is asked again who it is.
    state.hub.kick_all().await;
    sign_in(&session, &changed).await?;
    flash(&session, FlashKind::Success, ctx.t("reset.done")).await?;
    Ok(Redirect::to("/").into_response())
}

/// Writes a confirmation link and its mail, in `db` (the sign-up's transaction).
pub(crate) async fn write_confirmation<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    lang: Lang,
    user: &User,
) -> anyhow::Result<()> {
    let link = new_link_for(db, &state.settings.base_url, user, Purpose::Confirm).await?;
    let mail = confirmation_mail(lang, &state.settings.site_name, user, &link);
    ruche_mail::mail::enqueue(db, &mail).await?;
    Ok(())
}

/// Where the address a person just gave is kept for `check_mailbox` (in their session only).
const CHECK_ADDRESS: &str = "check_address";

/// Remembers, for this browser's `/signup/check`, the address its confirmation went to (or, for
/// an address that has an account, the word to its owner: the page reads the same).
pub(crate) async fn remember_address(session: &Session, email: &str) -> AppResult<()> {
    session.insert(CHECK_ADDRESS, email).await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// `GET /signup/check`: after signing up, where the confirmation went — the address as it was
/// typed, taken or not — and what to do if nothing comes.
pub(crate) async fn check_mailbox(ctx: Ctx, session: Session) -> AppResult<Html<String>> {
    let address: Option<String> = session.get(CHECK_ADDRESS).await.map_err(anyhow::Error::from)?;
    let title = ctx.t("confirm.check_title");
    let spam = ctx.t("confirm.check_spam");
    let (before, after) = spam.split_once("%{sign_in}").unwrap_or((spam.as_str(), ""));
    Ok(page(
        &ctx,
        &title,
        maud::html! {
            h1 { (title) }
            p.lead {
                @match &address {
                    Some(address) => (ctx.tf("confirm.check_address", &[("email", address)])),
                    None => (ctx.t("confirm.check")),
                }
            }
            p { (before) a href="/login" { (ctx.t("confirm.check_sign_in")) } (after) }
        },
    ))
}

/// What a confirmation link opens.
enum Confirmation {
    /// It works: the account to confirm and sign in.
    Usable(User),
    /// It was for an account whose address is confirmed now (by this link or another).
    AlreadyConfirmed,
    /// Unknown, expired, used or not a confirmation link.
    Invalid,
}

async fn confirmation(state: &AppState, token: &str) -> anyhow::Result<Confirmation> {
    let row = password_reset::Entity::find_by_id(hash_secret(token)).one(&state.db).await?;
    let Some(row) = row.filter(|r| r.purpose == Purpose::Confirm.as_str()) else {
        return Ok(Confirmation::Invalid);
    };
    let user = store::find(&state.db, super::UserId(row.user_id)).await?.filter(|u| !u.disabled);
    let Some(user) = user else { return Ok(Confirmation::Invalid) };
    if store::is_confirmed(&state.db, user.id).await? {
        return Ok(Confirmation::AlreadyConfirmed);
    }
    if row.used_at.is_some() || row.expires_at <= Utc::now() {
        return Ok(Confirmation::Invalid);
    }
    Ok(Confirmation::Usable(user))
}

/// The page of a confirmation link that does not confirm (any more): signing in is the way on.
fn confirmation_refused(ctx: &Ctx, already: bool) -> Response {
    let (title, said) = match already {
        true => (ctx.t("confirm.already_title"), ctx.t("confirm.already")),
        false => (ctx.t("confirm.invalid_title"), ctx.t("confirm.invalid")),
    };
    let body = maud::html! {
        h1 { (title) }
        p { (said) }
        p { a.button href="/login" { (ctx.t("nav.sign_in")) } }
    };
    (StatusCode::NOT_FOUND, page(ctx, &title, body)).into_response()
}

/// `GET /signup/confirm/{token}`: the address is confirmed; the person is signed in. Once an
/// address is confirmed, every confirmation link of its account stops working (the one used
/// and the ones sent again meanwhile): it says so, and to sign in.
pub async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let user = match confirmation(&state, &token).await? {
        Confirmation::Usable(user) => user,
        Confirmation::AlreadyConfirmed => return Ok(confirmation_refused(&ctx, true)),
        Confirmation::Invalid => return Ok(confirmation_refused(&ctx, false)),
    };
    let txn = state.db.begin().await?;
    if !use_up(&txn, &token).await? {
        return Ok(confirmation_refused(&ctx, true));
    }
    store::set_confirmed(&txn, user.id, true).await?;
    txn.commit().await?;
    sign_in(&session, &user).await?;
    flash(&session, FlashKind::Success, ctx.t("confirm.done")).await?;
    Ok(Redirect::to("/welcome").into_response())
}
