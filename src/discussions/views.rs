//! How a discussion is shown under its page: threads of comments with their replies, what the
//! reader may do with each, and the form to write one. Everything works without JavaScript
//! (forms and links); `comments.js` adds the changes of others as they happen.
use std::{collections::HashMap, sync::Arc};

use axum::response::Html;
use maud::{html, Markup, PreEscaped};

use super::Comment;
use crate::layout::{page, Ctx};
use crate::{access, layout};

/// What showing comments needs looked up first: their authors' names (by account) and the
/// texts the reader may read, rendered (by comment).
#[derive(Default)]
pub struct Prepared {
    pub names: HashMap<i64, String>,
    pub bodies: HashMap<i64, Arc<str>>,
}

/// Whether the reader of `grant` may read `c`'s text: a hidden one's only moderators, a
/// deleted one's nobody.
pub fn readable(grant: &access::SpaceGrant, c: &Comment) -> bool {
    !c.deleted && (!c.hidden || access::may_moderate(grant))
}

/// What the reader may do, and with whom they speak.
pub struct Discussion<'a> {
    /// `/s/{space}/{page}`: the page the comments are under.
    pub base: String,
    pub space: &'a str,
    pub shown: &'a Prepared,
    /// The reader may write a comment or a reply.
    pub may_comment: bool,
    /// The reader hides, shows again and deletes anyone's comments.
    pub moderator: bool,
    /// The reader's account.
    pub me: Option<i64>,
    /// Why the reader may not comment, when they may not.
    pub closed: Option<ClosedBecause>,
}

/// Why someone reading a discussion may not take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedBecause {
    SignedOut,
    MembersOnly,
    Nobody,
}

/// " · 3 commentaires", leading to the discussion, on a card or in a list (nothing when none).
pub(crate) fn count_link(ctx: &Ctx, url: &str, n: u64) -> Markup {
    html! {
        @if n > 0 {
            " · " a href={(url) "#discussion"} { (super::exchanges::answers(ctx, n)) }
        }
    }
}

/// "Marie Dupont" → "MD".
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// The section under the page: its threads, and the form to start one.
pub fn section(ctx: &Ctx, d: &Discussion<'_>, threads: &[(Comment, Vec<Comment>)]) -> Markup {
    let shown: usize = threads
        .iter()
        .map(|(t, r)| usize::from(!t.deleted && !t.hidden) + r.iter().filter(|c| !c.hidden).count())
        .sum();
    html! {
        section.discussion #discussion aria-labelledby="discussion-title"
            data-events={(d.base) "/comments/events"} data-base=(d.base) {
            h2 #discussion-title {
                (ctx.t("comments.title"))
                " " span.meta data-role="comment-count" { (ctx.tf("comments.count", &[("count", &shown.to_string())])) }
            }
            @if threads.is_empty() {
                p.meta data-role="no-comment" { (ctx.t("comments.none")) }
            }
            ol.comments data-role="threads" {
                @for (top, replies) in threads { (thread(ctx, d, top, replies)) }
            }
            @if d.may_comment {
                (write_form(ctx, d, None, "", None))
            } @else {
                @match d.closed {
                    Some(ClosedBecause::SignedOut) => {
                        p { a href={"/login?next=" (layout::urlencode(&format!("{}#discussion", d.base)))} { (ctx.t("comments.sign_in")) } }
                    }
                    Some(ClosedBecause::MembersOnly) => { p.meta { (ctx.t("comments.members_only")) } }
                    Some(ClosedBecause::Nobody) => { p.meta { (ctx.t("comments.closed")) } }
                    None => {}
                }
            }
            script src="/assets/comments.js" defer {}
        }
    }
}

/// One thread: the comment at its top and its replies (also what the live view fetches).
pub fn thread(ctx: &Ctx, d: &Discussion<'_>, top: &Comment, replies: &[Comment]) -> Markup {
    html! {
        li.thread #{"thread-" (top.id)} data-thread=(top.id) {
            (one(ctx, d, top))
            @if !replies.is_empty() {
                ol.replies aria-label=(ctx.tf("comments.replies_to", &[("who", &author(ctx, d, top))])) {
                    @for reply in replies { li { (one(ctx, d, reply)) } }
                }
            }
            @if d.may_comment && !top.deleted {
                details.reply {
                    summary { (ctx.t("comments.reply")) }
                    (write_form(ctx, d, Some(top.id), "", None))
                }
            }
        }
    }
}

fn author(ctx: &Ctx, d: &Discussion<'_>, c: &Comment) -> String {
    c.author_id
        .and_then(|a| d.shown.names.get(&a).cloned())
        .unwrap_or_else(|| ctx.t("comments.former_member"))
}

fn one(ctx: &Ctx, d: &Discussion<'_>, c: &Comment) -> Markup {
    let name = author(ctx, d, c);
    let mine = d.me.is_some() && d.me == c.author_id;
    let url = format!("{}/comments/{}", d.base, c.id);
    // A hidden comment's text is for the moderators; its author learns it was hidden.
    let readable = !c.deleted && (!c.hidden || d.moderator);
    html! {
        article.comment #{"comment-" (c.id)} .hidden[c.hidden] .gone[c.deleted] {
            @if c.deleted {
                p.meta { (ctx.t("comments.deleted")) }
            } @else {
                header.comment-head {
                    span.initials aria-hidden="true" { (initials(&name)) }
                    strong { (name) }
                    " " span.meta {
                        a href={(d.base) "#comment-" (c.id)} { (ctx.time_ago(c.created_at)) }
                        @if c.edited_at.is_some() { " · " (ctx.t("comments.edited")) }
                    }
                    @if c.hidden { " " span.badge { (ctx.t("comments.hidden_badge")) } }
                }
                @if readable {
                    div.comment-body.content {
                        @match d.shown.bodies.get(&c.id) {
                            Some(html) => (PreEscaped(&**html)),
                            None => p { (c.markdown) },
                        }
                    }
                } @else {
                    p.meta { (ctx.t("comments.hidden")) }
                }
                @if mine || d.moderator {
                    div.comment-actions {
                        @if mine { a.button.small.secondary href={(url) "/edit"} { (ctx.t("comments.edit")) } }
                        @if d.moderator {
                            form.inline method="post" action={(url) "/hide"} {
                                (ctx.csrf_field())
                                @if c.hidden {
                                    button.small.secondary type="submit" name="action" value="show" { (ctx.t("comments.show")) }
                                } @else {
                                    button.small.secondary type="submit" name="action" value="hide" { (ctx.t("comments.hide")) }
                                }
                            }
                        }
                        a.button.small.secondary href={(url) "/delete"} { (ctx.t("comments.delete")) }
                    }
                }
            }
        }
    }
}

/// The form to write a comment (or a reply to `reply_to`), with what was typed and why it was
/// refused, if it was.
fn write_form(
    ctx: &Ctx,
    d: &Discussion<'_>,
    reply_to: Option<i64>,
    typed: &str,
    error: Option<&str>,
) -> Markup {
    let id = match reply_to {
        Some(r) => format!("reply-{r}"),
        None => "new-comment".to_owned(),
    };
    let label = if reply_to.is_some() { "comments.your_reply" } else { "comments.your_comment" };
    html! {
        form.comment-form method="post" action={(d.base) "/comments"} {
            (ctx.csrf_field())
            @if let Some(r) = reply_to { input type="hidden" name="reply_to" value=(r); }
            div.field {
                label for=(id) { (ctx.t(label)) }
                p.hint #{(id) "-hint"} { (ctx.t("comments.hint")) }
                @if let Some(error) = error { p.error #{(id) "-error"} role="alert" { (error) } }
                textarea #(id) name="markdown" rows="4" required
                    aria-describedby={(id) "-hint" @if error.is_some() { " " (id) "-error" }}
                    aria-invalid=[error.map(|_| "true")] { (typed) }
            }
            button type="submit" { (ctx.t(if reply_to.is_some() { "comments.send_reply" } else { "comments.send" })) }
        }
    }
}

/// A refused comment: why, and the form again with what was typed.
pub fn refused(
    ctx: &Ctx,
    d: &Discussion<'_>,
    title: &str,
    reply_to: Option<i64>,
    typed: &str,
    error: &str,
) -> Html<String> {
    let heading = ctx.t("comments.not_sent");
    let body = html! {
        nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={(d.base) "#discussion"} { (title) } }
        h1 { (heading) }
        (write_form(ctx, d, reply_to, typed, Some(error)))
    };
    page(ctx, &heading, body)
}

/// Changing one's comment (a page of its own: works without JavaScript).
pub fn edit_form(
    ctx: &Ctx,
    base: &str,
    title: &str,
    c: &Comment,
    typed: Option<&str>,
    error: Option<&str>,
) -> Html<String> {
    let heading = ctx.t("comments.edit_title");
    let body = html! {
        nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={(base) "#comment-" (c.id)} { (title) } }
        h1 { (heading) }
        form.card method="post" action={(base) "/comments/" (c.id) "/edit"} {
            (ctx.csrf_field())
            div.field {
                label for="comment-text" { (ctx.t("comments.your_comment")) }
                p.hint #comment-text-hint { (ctx.t("comments.hint")) }
                @if let Some(error) = error { p.error #comment-text-error role="alert" { (error) } }
                textarea #comment-text name="markdown" rows="8" required aria-describedby="comment-text-hint" { (typed.unwrap_or(&c.markdown)) }
            }
            button type="submit" { (ctx.t("comments.save")) }
            " " a href={(base) "#comment-" (c.id)} { (ctx.t("comments.cancel")) }
        }
    };
    page(ctx, &heading, body)
}

/// Asking before a comment is deleted.
/// `html` is the comment's text rendered.
pub(crate) fn delete_form(
    ctx: &Ctx,
    base: &str,
    title: &str,
    c: &Comment,
    html: &str,
) -> Html<String> {
    let heading = ctx.t("comments.delete_title");
    let body = html! {
        nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={(base) "#comment-" (c.id)} { (title) } }
        h1 { (heading) }
        blockquote.content { (PreEscaped(html)) }
        p { (ctx.t("comments.delete_warning")) }
        form method="post" action={(base) "/comments/" (c.id) "/delete"} {
            (ctx.csrf_field())
            button.danger type="submit" { (ctx.t("comments.delete_confirm")) }
            " " a href={(base) "#comment-" (c.id)} { (ctx.t("comments.cancel")) }
        }
    };
    page(ctx, &heading, body)
}
