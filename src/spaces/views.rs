//! Pages of spaces: the list, a space's home, its members and its settings.
use axum::response::Html;
use maud::{html, Markup, PreEscaped};

use super::{
    requests::{JoinRequest, Status},
    store::Member,
    Role, Space, Visibility,
};
use crate::{
    access::{SpaceAction, SpaceGrant},
    discussions,
    layout::{page, Ctx, Field},
    notifications, pages, spaces,
};
use ruche_accounts::User;

pub(crate) fn visibility_badge(ctx: &Ctx, visibility: Visibility) -> Markup {
    html! { span class={"badge badge-" (visibility.as_str())} { (ctx.t(&format!("space.visibility_{}", visibility.as_str()))) } }
}

/// What a space's page says about joining it.
#[derive(Default)]
pub struct Joining {
    /// The owners' names, for an outsider who is signed in.
    pub owners: Vec<String>,
    /// The outsider's own request, if they made one.
    pub request: Option<JoinRequest>,
    /// Whether the outsider may ask (or ask again).
    pub may_ask: bool,
    /// For owners: how many requests wait for an answer.
    pub waiting: usize,
}

/// Names joined the French way: "A", "A et B", "A, B et C".
fn names(ctx: &Ctx, names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {} {}", rest.join(", "), ctx.t("words.and"), last),
    }
}

/// For someone who may not read a members-only space: who to ask, and the request itself.
fn outsider(ctx: &Ctx, space: &Space, joining: &Joining) -> Markup {
    if ctx.user.is_none() {
        return html! {
            div.notice role="note" {
                p { (ctx.t("space.members_only_sign_in")) }
                p.actions {
                    a.button href={"/login?next=/s/" (space.slug)} { (ctx.t("nav.sign_in")) }
                }
            }
        };
    };
    let pending = joining.request.as_ref().filter(|r| r.status == Status::Pending);
    let declined = joining.request.as_ref().filter(|r| r.status == Status::Declined);
    html! {
        section.notice.join aria-labelledby="join-title" {
            h2 #join-title { (ctx.t("join.title")) }
            p { (ctx.t("join.members_only")) }
            @if !joining.owners.is_empty() {
                p { (ctx.tf("join.owners", &[("names", &names(ctx, &joining.owners))])) }
            }
            @if let Some(request) = pending {
                p role="status" { strong { (ctx.tf("join.pending", &[("when", &ctx.moment(request.asked_at))])) } }
                p { (ctx.t("join.pending_next")) }
                @if request.message.is_empty() {
                    p { (ctx.t("join.no_message")) }
                } @else {
                    p { (ctx.t("join.your_message")) }
                    blockquote.message { (request.message) }
                }
                // The same form, holding the message as it stands: changing it mails nobody.
                details {
                    summary { (ctx.t(if request.message.is_empty() { "join.add_message" } else { "join.change_message" })) }
                    form method="post" action={"/s/" (space.slug) "/members/requests"} {
                        (ctx.csrf_field())
                        (Field::new("message", ctx.t("join.message")).kind("textarea").optional().value(&request.message)
                            .hint(ctx.t("join.change_hint")).maxlength(super::requests::MAX_MESSAGE_CHARS).render())
                        button type="submit" { (ctx.t("join.save_message")) }
                    }
                }
            } @else if let Some(request) = declined {
                p role="status" { strong { (ctx.tf("join.declined_on", &[("when", &ctx.moment(request.answered_at.unwrap_or(request.asked_at)))])) } }
                p { (ctx.t("join.declined_next")) }
            } @else if joining.may_ask {
                form method="post" action={"/s/" (space.slug) "/members/requests"} {
                    (ctx.csrf_field())
                    (Field::new("message", ctx.t("join.message")).kind("textarea").optional()
                        .hint(ctx.t("join.message_hint")).maxlength(super::requests::MAX_MESSAGE_CHARS).render())
                    button type="submit" { (ctx.t("join.ask")) }
                }
            }
        }
    }
}

/// A space's home. `description` is the space's description rendered (`RenderCache::snippet`);
/// `pages` come with their comment counts, for readers.
pub fn show(
    ctx: &Ctx,
    grant: &SpaceGrant,
    description: &str,
    pages: Option<(&[pages::Page], &std::collections::HashMap<i64, u64>)>,
    joining: &Joining,
    following: Option<bool>,
    discussions: &[discussions::exchanges::Active],
) -> Html<String> {
    let space = &grant.space;
    page(
        ctx,
        &space.title,
        html! {
            h1 { (space.title) }
            p.meta { (visibility_badge(ctx, space.visibility)) }
            // Written like a page: paragraphs, lists and links kept.
            div.content { (PreEscaped(description)) }
            @if !grant.allows(SpaceAction::Read) {
                (outsider(ctx, space, joining))
            } @else {
                @if joining.waiting > 0 {
                    p.notice role="status" {
                        @if joining.waiting == 1 { (ctx.t("join.waiting_one")) } @else { (ctx.tf("join.waiting_many", &[("n", &joining.waiting.to_string())])) }
                        " "
                        a href={"/s/" (space.slug) "/members#demandes"} { (ctx.t("join.answer")) }
                    }
                }
                @if grant.allows(SpaceAction::Manage) {
                    nav.actions aria-label=(ctx.t("space.manage")) {
                        a.button href={"/s/" (space.slug) "/members"} { (ctx.t("space.members")) }
                        a.button href={"/s/" (space.slug) "/settings"} { (ctx.t("space.settings")) }
                    }
                }
                p.actions {
                    a.button.secondary href={"/s/" (space.slug) "/discussions"} { (ctx.t("nav.exchanges")) }
                    a.button.secondary href={"/s/" (space.slug) "/agenda"} { (ctx.t("nav.agenda")) }
                    a.button.secondary href={"/s/" (space.slug) "/changes"} { (ctx.t("nav.changes")) }
                }
                @if let Some(following) = following {
                    (notifications::views::follow_form(ctx, &format!("/follow/space/{}", space.slug), &notifications::Target::Space(space.id), following))
                }
                @if !discussions.is_empty() {
                    section aria-labelledby="latest-discussions" {
                        h2 #latest-discussions { (ctx.t("exchanges.latest")) }
                        (discussions::exchanges::list(ctx, discussions, false))
                        p { a href={"/s/" (space.slug) "/discussions"} { (ctx.t("exchanges.all")) } }
                    }
                }
                @if let Some((pages, comments)) = pages { (pages::views::list(ctx, grant, pages, comments)) }
            }
        },
    )
}

fn role_select(ctx: &Ctx, id: &str, selected: Role) -> Markup {
    html! {
        select id=(id) name="role" aria-describedby="roles-help" {
            @for role in Role::ALL {
                option value=(role.as_str()) selected[role == selected] { (ctx.t(&format!("role.{}", role.as_str()))) }
            }
        }
    }
}

/// What each role lets a member do, in words, once on the page where roles are chosen (every
/// role list points to it).
fn roles_help(ctx: &Ctx) -> Markup {
    html! {
        div.roles-help #roles-help {
            p { (ctx.t("role.help_intro")) }
            ul {
                @for role in Role::ALL {
                    li {
                        strong { (ctx.t(&format!("role.{}", role.as_str()))) } " : "
                        (ctx.t(&format!("role.{}_help", role.as_str())))
                    }
                }
            }
        }
    }
}

/// The requests waiting for an owner's answer, each with the role the person would get.
fn waiting_requests(ctx: &Ctx, space: &Space, waiting: &[(JoinRequest, User)]) -> Markup {
    html! {
        section #demandes aria-labelledby="requests-title" {
            h2 #requests-title { (ctx.t("join.requests")) }
            ul.plain.requests {
                @for (request, user) in waiting {
                    @let id = format!("request-role-{}", request.id);
                    li.card {
                        p { strong { (user.name) } " " small { (user.email) } }
                        p.meta {
                            (ctx.t("join.asked")) " " (ctx.time_ago(request.asked_at))
                            @if let Some(changed) = request.changed_at {
                                " · " strong { (ctx.tf("join.changed_on", &[("when", &ctx.moment(changed))])) }
                            }
                        }
                        @if !request.message.is_empty() { blockquote.message { (request.message) } }
                        form method="post" action={"/s/" (space.slug) "/members/requests/" (request.id)} {
                            (ctx.csrf_field())
                            div.field {
                                label for=(id) { (ctx.t("join.role")) }
                                (role_select(ctx, &id, Role::Editor))
                            }
                            p.actions {
                                button type="submit" name="action" value="accept"
                                    aria-label={(ctx.t("join.accept")) " — " (user.name)} { (ctx.t("join.accept")) }
                                button.secondary type="submit" name="action" value="decline"
                                    aria-label={(ctx.t("join.decline")) " — " (user.name)} { (ctx.t("join.decline")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn members(
    ctx: &Ctx,
    space: &Space,
    members: &[Member],
    waiting: &[(JoinRequest, User)],
    (invited, mail_on): (&[crate::spaces::invitations::Invitation], bool),
    error: Option<String>,
    email: &str,
) -> Html<String> {
    let title = ctx.tf("space.members_of", &[("space", &space.title)]);
    page(
        ctx,
        &title,
        html! {
            p { a href={"/s/" (space.slug)} { "← " (space.title) } }
            h1 { (title) }
            (roles_help(ctx))
            @if !waiting.is_empty() { (waiting_requests(ctx, space, waiting)) }
            div.table-wrap {
                table.stacked {
                    thead { tr {
                        th scope="col" { (ctx.t("account.name")) }
                        th scope="col" { (ctx.t("space.role")) }
                        th scope="col" { (ctx.t("tokens.actions")) }
                    } }
                    tbody {
                        @for member in members {
                            @let id = format!("role-{}", member.user.id.0);
                            tr {
                                td { (member.user.name) br; small { (member.user.email) } }
                                td {
                                    form.inline method="post" action={"/s/" (space.slug) "/members/" (member.user.id.0)} {
                                        (ctx.csrf_field())
                                        label.visually-hidden for=(id) { (ctx.t("space.role")) " — " (member.user.name) }
                                        (role_select(ctx, &id, member.role))
                                        button.small type="submit" name="action" value="role" { (ctx.t("space.change_role")) }
                                    }
                                }
                                td {
                                    form method="post" action={"/s/" (space.slug) "/members/" (member.user.id.0)} {
                                        (ctx.csrf_field())
                                        button.small.danger type="submit" name="action" value="remove"
                                            aria-label={(ctx.t("space.remove")) " — " (member.user.name)} { (ctx.t("space.remove")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !invited.is_empty() {
                h2 { (ctx.t("invite.pending")) }
                ul.plain {
                    @for inv in invited {
                        // Mailed a moment ago, it would not leave again: say when it can.
                        @let resend_at = crate::spaces::invitations::resend_at(inv.created_at);
                        @let too_soon = mail_on && resend_at > chrono::Utc::now();
                        li {
                            strong { (inv.email.as_deref().unwrap_or("")) } " — "
                            @if let Some(role) = inv.role.as_deref().and_then(Role::parse) {
                                (ctx.t(&format!("role.{}", role.as_str()))) " — "
                            }
                            (ctx.tf("invite.pending_since", &[("when", &ctx.moment(inv.created_at))]))
                            @if too_soon {
                                " — " (ctx.tf("invite.resend_at", &[("time", &ctx.clock_at(resend_at))])) " "
                            } @else {
                                form.inline method="post" action={"/s/" (space.slug) "/invitations/" (inv.id) "/resend"} {
                                    (ctx.csrf_field())
                                    button.small.secondary type="submit" aria-label={(ctx.t("invite.resend")) " — " (inv.email.as_deref().unwrap_or(""))} { (ctx.t("invite.resend")) }
                                }
                            }
                            form.inline method="post" action={"/s/" (space.slug) "/invitations/" (inv.id) "/withdraw"} {
                                (ctx.csrf_field())
                                button.small.secondary type="submit" aria-label={(ctx.t("invite.withdraw")) " — " (inv.email.as_deref().unwrap_or(""))} { (ctx.t("invite.withdraw")) }
                            }
                        }
                    }
                }
            }
            h2 { (ctx.t("space.add_member")) }
            form.card method="post" action={"/s/" (space.slug) "/members"} {
                (ctx.csrf_field())
                (Field::new("email", ctx.t("space.member_email")).kind("email").value(email).error(error)
                    .hint(ctx.t("space.member_email_hint")).render())
                div.field {
                    label for="new-role" { (ctx.t("space.role")) }
                    (role_select(ctx, "new-role", Role::Editor))
                }
                button type="submit" { (ctx.t("space.add")) }
            }
        },
    )
}

/// The fields of a space, for creating it (with its address) or changing it.
#[derive(Default)]
pub struct SpaceForm {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub visibility: Option<Visibility>,
    pub slug_error: Option<String>,
    pub title_error: Option<String>,
}

fn visibility_choice(ctx: &Ctx, current: Visibility) -> Markup {
    html! {
        fieldset {
            legend { (ctx.t("space.visibility")) }
            @for v in Visibility::ALL {
                label.choice {
                    input type="radio" name="visibility" value=(v.as_str()) checked[v == current];
                    " " strong { (ctx.t(&format!("space.visibility_{}", v.as_str()))) }
                    " — " (ctx.t(&format!("space.visibility_{}_help", v.as_str())))
                }
            }
        }
    }
}

fn comments_choice(ctx: &Ctx, current: spaces::CommentPolicy) -> Markup {
    html! {
        fieldset {
            legend { (ctx.t("space.comments")) }
            @for p in spaces::CommentPolicy::ALL {
                label.choice {
                    input type="radio" name="comments" value=(p.as_str()) checked[p == current];
                    " " (ctx.t(&format!("space.comments_{}", p.as_str())))
                }
            }
        }
    }
}

pub(crate) fn new_space(ctx: &Ctx, form: &SpaceForm) -> Html<String> {
    let title = ctx.t("spaces.new");
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            form.card method="post" action="/spaces" {
                (ctx.csrf_field())
                (Field::new("title", ctx.t("space.title")).value(&form.title).error(form.title_error.clone()).render())
                (Field::new("slug", ctx.t("space.slug")).value(&form.slug).error(form.slug_error.clone()).optional()
                    .hint(ctx.t("space.slug_hint")).render())
                (Field::new("description", ctx.t("space.description")).kind("textarea").value(&form.description).optional().render())
                (visibility_choice(ctx, form.visibility.unwrap_or(Visibility::Members)))
                button type="submit" { (ctx.t("spaces.create")) }
            }
        },
    )
}

pub fn settings(ctx: &Ctx, space: &Space, form: &SpaceForm) -> Html<String> {
    let title = ctx.tf("space.settings_of", &[("space", &space.title)]);
    page(
        ctx,
        &title,
        html! {
            p { a href={"/s/" (space.slug)} { "← " (space.title) } }
            h1 { (title) }
            form.card method="post" action={"/s/" (space.slug) "/settings"} {
                (ctx.csrf_field())
                (Field::new("title", ctx.t("space.title")).value(&form.title).error(form.title_error.clone()).render())
                (Field::new("description", ctx.t("space.description")).kind("textarea").value(&form.description).optional().render())
                (visibility_choice(ctx, form.visibility.unwrap_or(space.visibility)))
                (comments_choice(ctx, space.comments))
                button type="submit" { (ctx.t("admin.save")) }
            }
            section.card {
                h2 { (ctx.t("space.export_title")) }
                p { (ctx.t("space.export_help")) }
                a.button.secondary href={"/s/" (space.slug) "/export.zip"} download { (ctx.t("space.export_button")) }
            }
        },
    )
}
