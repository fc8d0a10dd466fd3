//! The follow buttons, as pages, spaces and the lists of a form show them.
use maud::{html, Markup};

use super::Target;
use crate::db;
use crate::layout::Ctx;

/// *Suivre* / *Ne plus suivre* for a page, a space or a form, posting to `action`; `back` is
/// the list to come back to (for a form).
pub(crate) fn follow_form(ctx: &Ctx, action: &str, target: &Target, following: bool) -> Markup {
    let what = match target {
        Target::Page(_) => "",
        Target::Space(_) => "_space",
        Target::Form(_) => "_form",
    };
    let (value, label, hint) = if following {
        ("unfollow", format!("notify.unfollow{what}"), format!("notify.following{what}_hint"))
    } else {
        ("follow", format!("notify.follow{what}"), format!("notify.follow{what}_hint"))
    };
    html! {
        form.follow method="post" action=(action) {
            (ctx.csrf_field())
            @if let Target::Form(_) = target {
                input type="hidden" name="back" value=(ctx.here);
            }
            button.secondary type="submit" name="action" value=(value) { (ctx.t(&label)) }
            " " span.meta { (ctx.t(&hint)) }
        }
    }
}

/// The follow button of a form's list (`/agenda`, `/resources`, `/forms/{key}`), for a
/// signed-in reader.
pub(crate) async fn form_follow(
    ctx: &Ctx,
    db: &db::Db,
    key: &str,
) -> anyhow::Result<Option<Markup>> {
    let Some(user) = &ctx.user else { return Ok(None) };
    let target = Target::Form(key.to_owned());
    let following = super::follows(db, user.id, &target).await?;
    Ok(Some(follow_form(ctx, &format!("/follow/form/{key}"), &target, following)))
}
