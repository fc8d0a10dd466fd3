//! The agenda: events (entries of the `event` form) as a month grid, an upcoming list and a
//! list of past events, for the whole site or one space; and iCalendar feeds that calendar
//! applications subscribe to (members-only events through a personal address only).
use crate::query::Query;
use axum::{
    extract::{Path, State},
    response::{Html, Response},
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use maud::{html, Markup};
use serde_json::Value;

use crate::{
    access::{self, SpaceAction},
    dates, discussions,
    error::{AppError, AppResult},
    forms::{
        exports,
        query::{self, Entry, Filter},
        views::{self as form_views, FilterSelect},
    },
    layout::{page as layout_page, Ctx},
    notifications,
    session::FeedReader,
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_forms as forms;
use ruche_forms::Form;

/// The form whose entries are events.
pub(crate) const EVENT_FORM: &str = "event";
const PER_PAGE: usize = 20;

async fn event_form(state: &AppState) -> AppResult<Form> {
    forms::store::find(&state.db, EVENT_FORM).await?.ok_or(AppError::NotFound)
}

/// The events this reader may see (in one space if `space` is given), by start.
async fn events(
    state: &AppState,
    user: Option<&accounts::User>,
    space: Option<i64>,
) -> AppResult<(Form, Vec<Entry>)> {
    let form = event_form(state).await?;
    let grants = access::readable_spaces(&state.db, user).await?;
    let mut entries: Vec<Entry> = query::entries(&state.db, &grants, &form, space)
        .await?
        .into_iter()
        .filter(|e| e.starts_at.is_some())
        .collect();
    entries.sort_by_key(|e| e.starts_at);
    Ok((form, entries))
}

/// The next `n` events this reader may see, soonest first (for the front page).
pub async fn upcoming(
    state: &AppState,
    user: Option<&accounts::User>,
    n: usize,
) -> AppResult<Vec<Entry>> {
    let now = Utc::now();
    let (_, entries) = events(state, user, None).await?;
    Ok(entries.into_iter().filter(|e| e.ends_at.is_some_and(|t| t >= now)).take(n).collect())
}

/// When an event happens, in its own time zone, in plain words.
pub fn when(ctx: &Ctx, e: &Entry) -> String {
    let Some(range) = e.values.get("when") else {
        return String::new();
    };
    let tz: Tz = range
        .get("tz")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .unwrap_or(ctx.time_zone);
    let (Some(start), Some(end)) = (e.starts_at, e.ends_at) else { return String::new() };
    let (start, end) = (start.with_timezone(&tz), end.with_timezone(&tz));
    let mut text = dates::range(ctx.lang, start.naive_local(), end.naive_local());
    if tz != ctx.time_zone {
        text.push_str(&format!(" ({tz})"));
    }
    text
}

fn long_date(ctx: &Ctx, d: NaiveDate) -> String {
    dates::long_date(ctx.lang, d)
}

/// Which part of the agenda the address asks for.
struct View {
    month: NaiveDate,
    past: bool,
}

fn view_of(filter: &Filter, now: DateTime<Utc>, tz: Tz) -> View {
    let today = now.with_timezone(&tz).date_naive();
    let month = filter
        .rest
        .get("month")
        .and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok())
        .unwrap_or_else(|| today.with_day(1).unwrap_or(today));
    View { month, past: filter.rest.get("when").is_some_and(|w| w == "past") }
}

/// `GET /agenda`
pub async fn site(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(filter): Query<Filter>,
) -> AppResult<Html<String>> {
    let (form, entries) = events(&state, ctx.user.as_ref(), None).await?;
    let follow = notifications::views::form_follow(&ctx, &state.db, &form.key).await?;
    Ok(render(&ctx, &form, entries, &filter, "/agenda", None, follow))
}

/// `GET /s/{space}/agenda`
pub async fn space(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(filter): Query<Filter>,
) -> AppResult<Html<String>> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &slug, SpaceAction::Read).await?;
    let (form, entries) = events(&state, ctx.user.as_ref(), Some(grant.space.id.0)).await?;
    let base = format!("/s/{}/agenda", grant.space.slug);
    Ok(render(
        &ctx,
        &form,
        entries,
        &filter,
        &base,
        Some((&grant.space.slug.to_string(), &grant.space.title)),
        None,
    ))
}

fn render(
    ctx: &Ctx,
    form: &Form,
    entries: Vec<Entry>,
    filter: &Filter,
    base: &str,
    space: Option<(&String, &String)>,
    follow: Option<maud::Markup>,
) -> Html<String> {
    let now = Utc::now();
    let view = view_of(filter, now, ctx.time_zone);
    let mut selects = Vec::new();
    if space.is_none() {
        selects.push(FilterSelect::of_space(ctx, filter, &entries));
    }
    let entries = filter.apply(form, entries);
    let title = match space {
        Some((_, name)) => ctx.tf("agenda.of_space", &[("space", name)]),
        None => ctx.t("agenda.title"),
    };
    let (listed, heading): (Vec<Entry>, String) = if view.past {
        let mut past: Vec<Entry> =
            entries.iter().filter(|e| e.ends_at.is_some_and(|t| t < now)).cloned().collect();
        past.reverse();
        (past, ctx.t("agenda.past"))
    } else {
        (
            entries.iter().filter(|e| e.ends_at.is_some_and(|t| t >= now)).cloned().collect(),
            ctx.t("agenda.upcoming"),
        )
    };
    let paged = query::paginate(listed, filter.page_number(), PER_PAGE);
    let feed = format!("{base}.ics");
    layout_page(
        ctx,
        &title,
        html! {
            @if let Some((slug, name)) = space {
                nav.crumbs aria-label=(ctx.t("page.breadcrumb")) { a href={"/s/" (slug)} { (name) } }
            }
            h1 { (title) }
            @if let Some(follow) = &follow { (follow) }
            p.actions {
                a.button href="/add/event" { (ctx.t("agenda.add")) }
                a.button.secondary href=(feed) { (ctx.t("agenda.subscribe")) }
                @if space.is_some() { a.button.secondary href="/agenda" { (ctx.t("agenda.whole_site")) } }
            }
            p.hint { (ctx.t("agenda.subscribe_hint")) @if ctx.user.is_some() { " " (ctx.t("agenda.private_feed_hint")) " " a href="/changes" { (ctx.t("agenda.private_feed_link")) } } }
            (form_views::filter_bar(ctx, base, filter, &selects))
            (month_grid(ctx, base, filter, view.month, &entries))
            section aria-labelledby="list-heading" {
                h2 #list-heading { (heading) }
                p {
                    @if view.past { a href=(base) { (ctx.t("agenda.see_upcoming")) } }
                    @else { a href={(base) "?" (filter.query_string(&[("when", "past")]))} { (ctx.t("agenda.see_past")) } }
                }
                (form_views::count(ctx, paged.total))
                ol.events {
                    @for e in &paged.items { li { (event_item(ctx, e)) } }
                }
                (form_views::pager(ctx, base, filter, &paged))
            }
        },
    )
}

fn event_item(ctx: &Ctx, e: &Entry) -> Markup {
    let place = e.text("place");
    html! {
        article.event {
            h3 { a href=(e.url()) { (e.page.title) } }
            @if e.comments > 0 {
                p.meta { a href={(e.url()) "#discussion"} { (discussions::exchanges::answers(ctx, e.comments)) } }
            }
            p.when { (when(ctx, e)) }
            @if !place.is_empty() { p { (ctx.t("agenda.place")) " : " (place) } }
            @if !e.text("online").is_empty() { p { (ctx.t("agenda.online")) } }
            p.meta {
                a href={"/s/" (e.space.slug)} { (e.space.title) }
                @if e.page.members_only { " · " span.badge.badge-members { (ctx.t("agenda.members_only")) } }
            }
        }
    }
}

/// The month as a table of weeks (Monday first), each day listing its events.
fn month_grid(
    ctx: &Ctx,
    base: &str,
    filter: &Filter,
    month: NaiveDate,
    entries: &[Entry],
) -> Markup {
    let first = month;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .unwrap_or(first);
    let previous = (first - Duration::days(1)).with_day(1).unwrap_or(first);
    let start = first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
    let today = Utc::now().with_timezone(&ctx.time_zone).date_naive();
    let local_day = |t: DateTime<Utc>| t.with_timezone(&ctx.time_zone).date_naive();
    let on = |day: NaiveDate| -> Vec<&Entry> {
        entries
            .iter()
            .filter(|e| match (e.starts_at, e.ends_at) {
                (Some(s), Some(end)) => local_day(s) <= day && day <= local_day(end),
                _ => false,
            })
            .collect()
    };
    let month_name =
        format!("{} {}", ctx.t(&format!("agenda.month_{}", first.month())), first.year());
    let link = |d: NaiveDate| {
        format!("{base}?{}", filter.query_string(&[("month", &d.format("%Y-%m").to_string())]))
    };
    let weeks = ((next - start).num_days() + 6) / 7;
    html! {
        section.month aria-labelledby="month-heading" {
            div.month-nav {
                a href=(link(previous)) rel="prev" { "← " (ctx.t("agenda.previous_month")) }
                h2 #month-heading { (month_name) }
                a href=(link(next)) rel="next" { (ctx.t("agenda.next_month")) " →" }
            }
            div.table-wrap {
                table.calendar {
                    caption.visually-hidden { (ctx.tf("agenda.grid_caption", &[("month", &month_name)])) }
                    thead { tr { @for d in 1..=7 { th scope="col" abbr=(ctx.t(&format!("agenda.weekday_{d}"))) { (ctx.t(&format!("agenda.weekday_short_{d}"))) } } } }
                    tbody {
                        @for w in 0..weeks {
                            tr {
                                @for d in 0..7 {
                                    @let day = start + Duration::days(w * 7 + d);
                                    @let events = on(day);
                                    td class={ @if day.month() != first.month() { "other-month" } @if day == today { " today" } @if !events.is_empty() { " has-events" } }
                                        aria-current=[(day == today).then_some("date")] {
                                        span.day-number { span.visually-hidden { (long_date(ctx, day)) } span aria-hidden="true" { (day.day()) } }
                                        @if !events.is_empty() {
                                            ul { @for e in events { li { a href=(e.url()) { (e.page.title) } } } }
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

/// `GET /agenda.ics`: every event the reader may see (with `?token=`, as its owner would).
pub(crate) async fn site_ics(
    State(state): State<AppState>,
    crate::i18n::AskedLang(lang): crate::i18n::AskedLang,
    reader: FeedReader,
) -> AppResult<Response> {
    let (form, entries) = events(&state, reader.0.as_ref(), None).await?;
    let name = format!("{} — {}", state.settings.site_name, lang.t("agenda.title"));
    Ok(exports::ics_response(exports::ics(&state.settings.base_url, &name, &form, &entries)))
}

/// `GET /s/{space}/agenda.ics`
pub(crate) async fn space_ics(
    State(state): State<AppState>,
    reader: FeedReader,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, reader.0.as_ref(), &slug, SpaceAction::Read).await?;
    let (form, entries) = events(&state, reader.0.as_ref(), Some(grant.space.id.0)).await?;
    let name = format!("{} — {}", state.settings.site_name, grant.space.title);
    Ok(exports::ics_response(exports::ics(&state.settings.base_url, &name, &form, &entries)))
}
