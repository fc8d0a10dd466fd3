//! The site's front page, for someone who has never been here: what is public first — the
//! site's welcome page, the next events, the latest resources — then the spaces (one's own
//! first when signed in, then the public ones).
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use maud::{html, Markup, PreEscaped};

use crate::{
    access::{self, SpaceAction, SpaceGrant},
    agenda,
    error::AppResult,
    forms::{self, query::Entry},
    layout::{page as layout_page, Ctx},
    pages,
    spaces::views::visibility_badge,
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_spaces::PROFILES_SPACE;
use ruche_spaces::{
    requests::{self, JoinRequest, Status},
    Role, Visibility,
};

/// The welcome page shown on the front page: its title and rendered text.
struct Welcome {
    title: String,
    html: std::sync::Arc<str>,
}

/// `GET /`
pub async fn show(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    if ctx.user.is_none() && accounts::store::count(&state.db).await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    let mut spaces = access::visible_spaces(&state.db, ctx.user.as_ref()).await?;
    // One's own spaces first, then what anyone may read; each group by name (already sorted);
    // the directory's space (reached from the menu) last.
    spaces.sort_by_key(|g| {
        (
            g.space.slug.as_str() == PROFILES_SPACE,
            g.role.is_none(),
            match g.space.visibility {
                Visibility::Public => 0,
                Visibility::Members => 1,
                Visibility::Private => 2,
            },
        )
    });
    let welcome = welcome(&state, &ctx, &spaces).await?;
    let signup_open = ctx.user.is_none()
        && accounts::signup::mode(&state.db).await? == accounts::signup::SignupMode::Open;
    let events = agenda::upcoming(&state, ctx.user.as_ref(), 3).await?;
    let resources = latest_resources(&state, &ctx, 3).await?;
    let may_create = access::may_create_space(ctx.user.as_ref());
    let requests = requests_news(&state, &ctx, &spaces).await?;
    let title = ctx.site_name.clone();
    Ok(layout_page(
        &ctx,
        &title,
        html! {
            @match &welcome {
                Some(w) => {
                    h1 { (w.title) }
                    div.content.welcome { (PreEscaped(&*w.html)) }
                }
                None => h1 { (title) }
            }
            @if ctx.user.is_none() {
                p.notice role="note" {
                    (ctx.t("home.visitor")) " "
                    a href="/login" { (ctx.t("nav.sign_in")) } " · "
                    a href="/signup" {
                        @if signup_open { (ctx.t("home.join")) } @else { (ctx.t("home.how_to_join")) }
                    }
                }
            }
            (requests)
            div.home-columns {
                @if !events.is_empty() {
                    section.card aria-labelledby="home-events" {
                        h2 #home-events { (ctx.t("home.next_events")) }
                        ul.plain {
                            @for e in &events {
                                li { a href=(e.url()) { (e.page.title) } br; span.meta { (agenda::when(&ctx, e)) } }
                            }
                        }
                        p { a href="/agenda" { (ctx.t("home.whole_agenda")) " →" } }
                    }
                }
                @if !resources.is_empty() {
                    section.card aria-labelledby="home-resources" {
                        h2 #home-resources { (ctx.t("home.latest_resources")) }
                        ul.plain {
                            @for e in &resources {
                                li { a href=(e.url()) { (e.page.title) } }
                            }
                        }
                        p { a href="/resources" { (ctx.t("home.all_resources")) " →" } }
                    }
                }
            }
            h2 { (ctx.t("spaces.title")) }
            @if may_create { p { a.button href="/spaces/new" { (ctx.t("spaces.new")) } } }
            @if spaces.is_empty() {
                p.lead { (ctx.t("spaces.none")) }
            } @else {
                ul.cards {
                    @for grant in &spaces {
                        li.card {
                            h3 { a href={"/s/" (grant.space.slug)} { (grant.space.title) } }
                            p.meta {
                                (visibility_badge(&ctx, grant.space.visibility))
                                @if let Some(role) = grant.role { " " span.badge { (ctx.t(&format!("role.{}", role.as_str()))) } }
                            }
                            @if let Some(first) = grant.space.description.split("\n\n").next().filter(|p| !p.trim().is_empty()) {
                                p { (first) }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}

/// For a signed-in person: where their requests to join stand, and the requests that wait for
/// their answer in the spaces they run.
async fn requests_news(state: &AppState, ctx: &Ctx, spaces: &[SpaceGrant]) -> AppResult<Markup> {
    let Some(user) = ctx.user.as_ref() else { return Ok(html! {}) };
    let by_id: std::collections::HashMap<_, _> = spaces.iter().map(|g| (g.space.id, g)).collect();
    let mine: Vec<(JoinRequest, &SpaceGrant)> = requests::recent_of(&state.db, user.id)
        .await?
        .into_iter()
        .filter_map(|r| Some((r.clone(), *by_id.get(&r.space)?)))
        .collect();
    let mut to_answer = Vec::new();
    for grant in spaces.iter().filter(|g| g.role == Some(Role::Owner)) {
        let waiting = requests::pending(&state.db, grant.space.id).await?.len();
        if waiting > 0 {
            to_answer.push((grant, waiting));
        }
    }
    Ok(html! {
        @if !to_answer.is_empty() {
            section.card.news aria-labelledby="home-to-answer" {
                h2 #home-to-answer { (ctx.t("join.to_answer")) }
                ul.plain {
                    @for (grant, waiting) in &to_answer {
                        li {
                            a href={"/s/" (grant.space.slug) "/members#demandes"} { (grant.space.title) }
                            " — "
                            @if *waiting == 1 { (ctx.t("join.waiting_one")) }
                            @else { (ctx.tf("join.waiting_many", &[("n", &waiting.to_string())])) }
                        }
                    }
                }
            }
        }
        @if !mine.is_empty() {
            section.card.news aria-labelledby="home-requests" {
                h2 #home-requests { (ctx.t("join.yours")) }
                ul.plain {
                    @for (request, grant) in &mine {
                        li {
                            a href={"/s/" (grant.space.slug)} { (grant.space.title) } " : "
                            @match request.status {
                                Status::Pending => (ctx.tf("join.status_pending", &[("when", &ctx.moment(request.asked_at))])),
                                Status::Accepted => strong { (ctx.tf("join.status_accepted", &[("when", &ctx.moment(request.answered_at.unwrap_or(request.asked_at)))])) },
                                Status::Declined => (ctx.tf("join.status_declined", &[("when", &ctx.moment(request.answered_at.unwrap_or(request.asked_at)))])),
                            }
                        }
                    }
                }
            }
        }
    })
}

/// The page that welcomes people: the first page written in the oldest public space that has
/// pages (the network's own space, in practice).
async fn welcome(state: &AppState, ctx: &Ctx, spaces: &[SpaceGrant]) -> AppResult<Option<Welcome>> {
    let mut public: Vec<&SpaceGrant> = spaces
        .iter()
        .filter(|g| g.space.visibility == Visibility::Public && g.allows(SpaceAction::Read))
        .filter(|g| g.space.slug.as_str() != PROFILES_SPACE)
        .collect();
    public.sort_by_key(|g| g.space.id.0);
    let mut found = None;
    for grant in public {
        let pages = access::readable_pages(
            grant,
            pages::store::list(&state.db, grant.space.id, false).await?,
        );
        if let Some(page) = pages.into_iter().filter(|p| p.form.is_none()).min_by_key(|p| p.id.0) {
            found = Some((grant, page));
            break;
        }
    }
    let Some((grant, page)) = found else { return Ok(None) };
    let content = state.hub.read(page.id.doc()).await?;
    let html =
        pages::routes::render_for(state, ctx.user.as_ref(), grant, &content.markdown).await?;
    Ok(Some(Welcome { title: page.title.clone(), html }))
}

/// The resources most recently written that this reader may see.
async fn latest_resources(state: &AppState, ctx: &Ctx, n: usize) -> AppResult<Vec<Entry>> {
    let Some(form) = forms::store::find(&state.db, "resource").await? else {
        return Ok(Vec::new());
    };
    let grants = access::readable_spaces(&state.db, ctx.user.as_ref()).await?;
    let mut entries = forms::query::entries(&state.db, &grants, &form, None).await?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.page.updated_at));
    entries.truncate(n);
    Ok(entries)
}
