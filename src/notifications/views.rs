//! The follow buttons, as pages and spaces show them.
use maud::{html, Markup};

use super::Target;
use crate::layout::Ctx;

/// *Suivre* / *Ne plus suivre* for a page or a space, posting to `action`.
pub fn follow_form(ctx: &Ctx, action: &str, target: Target, following: bool) -> Markup {
    let what = match target {
        Target::Page(_) => "",
        Target::Space(_) => "_space",
    };
    let (value, label, hint) = if following {
        ("unfollow", format!("notify.unfollow{what}"), format!("notify.following{what}_hint"))
    } else {
        ("follow", format!("notify.follow{what}"), format!("notify.follow{what}_hint"))
    };
    html! {
        form.follow method="post" action=(action) {
            (ctx.csrf_field())
            button.secondary type="submit" name="action" value=(value) { (ctx.t(&label)) }
            " " span.meta { (ctx.t(&hint)) }
        }
    }
}
