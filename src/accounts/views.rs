//! Pages of accounts: setup, sign-in, sign-up, invitations, the account page.
use maud::{html, Markup};

use super::{tokens::ApiToken, MIN_PASSWORD_LEN};
use crate::layout::{page, Ctx, Field};
use crate::{dates, layout};
use axum::response::Html;
use ruche_notifications as notifications;

/// What a new-account form holds, and its errors field by field.
#[derive(Default)]
pub(crate) struct AccountForm {
    pub name: String,
    pub email: String,
    pub name_error: Option<String>,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
}

fn account_fields(ctx: &Ctx, form: &AccountForm) -> Markup {
    let min = MIN_PASSWORD_LEN.to_string();
    html! {
        (Field::new("name", ctx.t("account.name")).value(&form.name).error(form.name_error.clone()).autocomplete("name").render())
        (Field::new("email", ctx.t("account.email")).kind("email").value(&form.email).error(form.email_error.clone()).autocomplete("email").render())
        (Field::new("password", ctx.t("account.password")).kind("password").error(form.password_error.clone())
            .hint(ctx.tf("account.password_hint", &[("min", &min)])).autocomplete("new-password").render())
    }
}

pub fn setup(ctx: &Ctx, form: &AccountForm) -> Html<String> {
    let title = ctx.t("setup.title");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("setup.intro")) }
            form.card method="post" action="/setup" {
                (ctx.csrf_field())
                (account_fields(ctx, form))
                button type="submit" { (ctx.t("setup.submit")) }
            }
        },
    )
}

/// The sign-in page. `signup_open`: anyone may make an account; else the site is joined by
/// invitation, and the page says how instead of offering a form that would refuse.
pub fn login(
    ctx: &Ctx,
    email: &str,
    next: &str,
    error: Option<String>,
    signup_open: bool,
) -> Html<String> {
    let title = ctx.t("login.title");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            form.card method="post" action="/login" {
                (ctx.csrf_field())
                input type="hidden" name="next" value=(next);
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                    // For every failed sign-in alike: whether an account waits for its
                    // confirmation is nobody else's to learn.
                    p.hint { (ctx.t("login.unconfirmed_hint")) }
                }
                (Field::new("email", ctx.t("account.email")).kind("email").value(email).autocomplete("email").render())
                (Field::new("password", ctx.t("account.password")).kind("password").autocomplete("current-password").render())
                button type="submit" { (ctx.t("login.submit")) }
            }
            p { a href="/password/forgot" { (ctx.t("login.forgot")) } }
            @if signup_open {
                p { a href="/signup" { (ctx.t("login.no_account")) } }
            } @else {
                p { (ctx.t("login.no_account_invitation")) " " a href="/signup" { (ctx.t("login.how_to_join")) } }
            }
        },
    )
}

pub fn signup(ctx: &Ctx, form: &AccountForm) -> Html<String> {
    let title = ctx.t("signup.title");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            form.card method="post" action="/signup" {
                (ctx.csrf_field())
                (account_fields(ctx, form))
                button type="submit" { (ctx.t("signup.submit")) }
            }
        },
    )
}

/// Sign-up by invitation only: says so, and whom to ask when the administrators said.
pub(crate) fn signup_closed(ctx: &Ctx, contact: Option<&str>) -> Html<String> {
    let title = ctx.t("signup.title");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("signup.closed_lead")) }
            @match contact {
                Some(c) if c.contains('@') && !c.contains(' ') => p { (ctx.t("signup.ask")) " " a href={"mailto:" (c)} { (c) } "." },
                Some(c) => p { (ctx.t("signup.ask")) " " (c) "." },
                None => p { (ctx.t("signup.ask_admins")) },
            }
            p { a href="/login" { (ctx.t("nav.sign_in")) } }
        },
    )
}

/// What an invitation's page says of it.
pub(crate) struct Offer {
    /// The address it was sent to (none for a link an administrator passes on by hand).
    pub invited: Option<String>,
    /// The title of the space it leads into, if any.
    pub space: Option<String>,
    /// The name of who made it, if their account is still there.
    pub by: Option<String>,
}

impl Offer {
    /// "Claire Martin", or "the person who invited you" when that is not known.
    fn who(&self, ctx: &Ctx) -> String {
        self.by.clone().unwrap_or_else(|| ctx.t("invite.someone"))
    }
}

/// What an invitation's page says first: who invites into what (once, not twice).
fn invitation_lead(ctx: &Ctx, offer: &Offer) -> Markup {
    let said = match (&offer.space, &offer.by) {
        (Some(space), Some(by)) => ctx.tf("invite.into_space_by", &[("who", by), ("space", space)]),
        (Some(space), None) => ctx.tf("invite.into_space", &[("space", space)]),
        (None, Some(by)) => ctx.tf("invite.into_site_by", &[("who", by)]),
        (None, None) => ctx.t("invite.into_site"),
    };
    html! { p.lead { strong { (said) } } }
}

/// The form of an invitation's link for someone signed out. The address it was sent to is
/// shown, not asked: the account is made with it, and no other can be given (a read-only field
/// that browsers remember the password with). A link passed on by hand, sent to no address,
/// asks for one (confirmed by mail afterwards).
pub fn invitation(ctx: &Ctx, token: &str, form: &AccountForm, offer: &Offer) -> Html<String> {
    let title = ctx.t("invite.title");
    let min = MIN_PASSWORD_LEN.to_string();
    let next = if offer.space.is_some() { "invite.create_space" } else { "invite.create_site" };
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            (invitation_lead(ctx, offer))
            p { (ctx.t(next)) }
            form.card method="post" action={"/invite/" (token)} {
                (ctx.csrf_field())
                @if let Some(invited) = &offer.invited {
                    (Field::new("name", ctx.t("account.name")).value(&form.name).error(form.name_error.clone()).autocomplete("name").render())
                    div.field {
                        label for="f-invited" { (ctx.t("account.email")) }
                        p.hint #f-invited-hint { (ctx.tf("invite.address_fixed", &[("who", &offer.who(ctx))])) }
                        @if let Some(error) = &form.email_error { p.error #f-invited-error role="alert" { (error) } }
                        // No name: the server never reads it; the account gets the invited address.
                        input #f-invited type="email" value=(invited) readonly autocomplete="username"
                            aria-describedby="f-invited-hint";
                    }
                    (Field::new("password", ctx.t("account.password")).kind("password").error(form.password_error.clone())
                        .hint(ctx.tf("account.password_hint", &[("min", &min)])).autocomplete("new-password").render())
                } @else {
                    (account_fields(ctx, form))
                }
                button type="submit" { (ctx.t("signup.submit")) }
            }
        },
    )
}

/// An invitation sent to the signed-in person's own address: one button joins their account.
pub(crate) fn invitation_join(
    ctx: &Ctx,
    token: &str,
    offer: &Offer,
    invited: &str,
) -> Html<String> {
    let title = ctx.t("invite.title");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            (invitation_lead(ctx, offer))
            p { (ctx.tf("invite.yours", &[("email", invited)])) }
            form.card method="post" action={"/invite/" (token)} {
                (ctx.csrf_field())
                button type="submit" { (ctx.t("invite.accept")) }
            }
        },
    )
}

/// An invitation opened while signed in with another address (or, for one that only makes an
/// account, signed in at all): it cannot serve this account. Sent to someone else, it may be the
/// same person with another address: the one who invited can add this account instead. Signing
/// out comes second, for someone else at the same computer; the way home is always there.
pub(crate) fn invitation_elsewhere(
    ctx: &Ctx,
    token: &str,
    offer: &Offer,
    signed_in: &str,
) -> Html<String> {
    let title = ctx.t("invite.title");
    let back = format!("/invite/{token}");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            @match &offer.invited {
                Some(invited) => {
                    p.lead { (ctx.tf("invite.for_another", &[("email", invited), ("me", signed_in)])) }
                    p { strong { (ctx.tf("invite.ask_with_mine", &[("who", &offer.who(ctx)), ("me", signed_in)])) } }
                }
                None => p.lead { (ctx.tf("invite.new_accounts_only", &[("me", signed_in)])) },
            }
            p { a.button href="/" { (ctx.t("error.back_home")) } }
            p { (ctx.t("invite.sign_out_first")) }
            form method="post" action="/logout" {
                (ctx.csrf_field())
                input type="hidden" name="next" value=(back);
                button.secondary type="submit" { (ctx.t("nav.sign_out")) }
            }
        },
    )
}

/// An invitation sent to an address that has an account, opened signed out: sign in first.
pub(crate) fn invitation_sign_in(
    ctx: &Ctx,
    token: &str,
    offer: &Offer,
    invited: &str,
) -> Html<String> {
    let title = ctx.t("invite.title");
    let back = format!("/invite/{token}");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            (invitation_lead(ctx, offer))
            p { (ctx.tf("invite.has_account", &[("email", invited)])) }
            p { a.button href={"/login?next=" (layout::urlencode(&back))} { (ctx.t("nav.sign_in")) } }
        },
    )
}

pub(crate) fn invitation_invalid(ctx: &Ctx) -> Html<String> {
    let title = ctx.t("invite.title");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("invite.invalid")) }
        },
    )
}

/// What the account page shows besides the person.
#[derive(Default)]
pub(crate) struct AccountPage {
    pub tokens: Vec<ApiToken>,
    /// A token just created, shown this once.
    pub new_token: Option<String>,
    pub password_error: Option<String>,
    pub name_error: Option<String>,
}

pub fn account(ctx: &Ctx, data: &AccountPage) -> Html<String> {
    let title = ctx.t("account.title");
    let Some(user) = &ctx.user else {
        return page(ctx, &title, html! {});
    };
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            dl.facts {
                dt { (ctx.t("account.email")) } dd { (user.email) }
                dt { (ctx.t("account.handle")) } dd { strong.handle { "@" (user.handle) } br; span.meta { (ctx.t("account.handle_hint")) } }
                @if user.is_admin { dt { (ctx.t("account.role")) } dd { (ctx.t("account.admin")) } }
            }
            p { a.button.secondary href="/account/profile" { (ctx.t("account.my_sheet")) } }
            section aria-labelledby="name" {
                h2 #name { (ctx.t("account.your_name")) }
                form.card method="post" action="/account/name" {
                    (ctx.csrf_field())
                    (Field::new("display_name", ctx.t("account.name")).value(&user.name).hint(ctx.t("account.name_hint")).error(data.name_error.clone()).render())
                    button type="submit" { (ctx.t("account.save_name")) }
                }
            }
            section aria-labelledby="zone" {
                h2 #zone { (ctx.t("account.time_zone")) }
                form.card method="post" action="/account/time-zone" {
                    (ctx.csrf_field())
                    div.field {
                        label for="time-zone" { (ctx.t("account.time_zone_label")) }
                        p.hint #time-zone-hint { (ctx.t("account.time_zone_hint")) }
                        @let mine = user.time_zone.map(|z| z.name());
                        select #time-zone name="time_zone" aria-describedby="time-zone-hint" {
                            option value="" selected[mine.is_none()] { (ctx.t("account.time_zone_site")) }
                            @for (zone, label) in dates::ZONES {
                                option value=(zone) selected[mine == Some(*zone)] { (ctx.t(label)) }
                            }
                        }
                    }
                    button type="submit" { (ctx.t("account.save_time_zone")) }
                }
            }
            section aria-labelledby="notifications" {
                h2 #notifications { (ctx.t("notify.settings")) }
                form.card method="post" action="/account/notifications" {
                    (ctx.csrf_field())
                    fieldset {
                        legend { (ctx.t("notify.by_mail")) }
                        @for choice in notifications::MAIL_CHOICES {
                            label.choice {
                                input type="radio" name="choice" value=(choice) checked[user.notify_by_mail == choice];
                                " " (ctx.t(&format!("notify.mail_{choice}")))
                            }
                        }
                        div.field {
                            label for="digest-hour" { (ctx.t("notify.digest_hour")) }
                            select #digest-hour name="hour" {
                                @for hour in 0..24u32 {
                                    option value=(hour) selected[user.digest_hour == hour] { (ctx.tf("notify.hour", &[("hour", &hour.to_string())])) }
                                }
                            }
                        }
                    }
                    button type="submit" { (ctx.t("admin.save")) }
                }
            }
            section aria-labelledby="pw" {
                h2 #pw { (ctx.t("account.change_password")) }
                form.card method="post" action="/account/password" {
                    (ctx.csrf_field())
                    (Field::new("current", ctx.t("account.current_password")).kind("password").autocomplete("current-password").render())
                    (Field::new("password", ctx.t("account.new_password")).kind("password").autocomplete("new-password")
                        .hint(ctx.tf("account.password_hint", &[("min", &MIN_PASSWORD_LEN.to_string())]))
                        .error(data.password_error.clone()).render())
                    button type="submit" { (ctx.t("account.change_password")) }
                }
            }
            // For people who connect programs: out of the way of everyone else.
            details.advanced open[data.new_token.is_some()] {
                summary { (ctx.t("account.advanced")) }
            section aria-labelledby="tokens" {
                h2 #tokens { (ctx.t("tokens.title")) }
                p { (ctx.t("tokens.intro")) }
                @if let Some(secret) = &data.new_token {
                    div.flash.flash-ok role="status" {
                        p { (ctx.t("tokens.created")) }
                        p { code.secret { (secret) } }
                    }
                }
                @if data.tokens.is_empty() {
                    p { (ctx.t("tokens.none")) }
                } @else {
                    div.table-wrap { table {
                        thead { tr { th scope="col" { (ctx.t("tokens.name")) } th scope="col" { (ctx.t("tokens.created_at")) } th scope="col" { (ctx.t("tokens.last_used")) } th scope="col" { span.visually-hidden { (ctx.t("tokens.actions")) } } } }
                        tbody {
                            @for token in &data.tokens {
                                tr {
                                    td { (token.name) }
                                    td { (ctx.moment(token.created_at)) }
                                    td { @match token.last_used_at { Some(t) => (ctx.time_ago(t)), None => (ctx.t("tokens.never")) } }
                                    td {
                                        form method="post" action={"/account/tokens/" (token.id) "/revoke"} {
                                            (ctx.csrf_field())
                                            button.danger type="submit" aria-label={(ctx.t("tokens.revoke")) " " (token.name)} { (ctx.t("tokens.revoke")) }
                                        }
                                    }
                                }
                            }
                        }
                    } }
                }
                form.card method="post" action="/account/tokens" {
                    (ctx.csrf_field())
                    (Field::new("name", ctx.t("tokens.name")).optional().render())
                    button type="submit" { (ctx.t("tokens.create")) }
                }
            }
            }
        },
    )
}

/// What a new member does next: their sheet, a space, joining one.
pub(crate) fn first_steps(ctx: &Ctx) -> Html<String> {
    let title = ctx.t("welcome.title");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("welcome.lead")) }
            ol.steps {
                li.card {
                    h2 { (ctx.t("welcome.sheet")) }
                    p { (ctx.t("welcome.sheet_why")) }
                    p { a.button href="/account/profile" { (ctx.t("welcome.sheet_go")) } }
                }
                li.card {
                    h2 { (ctx.t("welcome.spaces")) }
                    p { (ctx.t("welcome.spaces_why")) }
                    p { a.button.secondary href="/" { (ctx.t("welcome.spaces_go")) } }
                }
                li.card {
                    h2 { (ctx.t("welcome.join")) }
                    p { (ctx.t("welcome.join_why")) }
                }
            }
        },
    )
}
