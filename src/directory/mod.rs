//! The directory: people (member profiles, each bound to an account and edited by its owner)
//! and organisations, as cards to filter; and the space that holds the profiles.
use crate::query::Query;
use std::collections::{BTreeMap, HashMap, HashSet};

use axum::{
    extract::State,
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::html;
use tower_sessions::Session;

use crate::{
    access::{self, SpaceAction},
    collation, content,
    db::Db,
    discussions,
    error::{AppError, AppResult},
    forms::{
        query::{self, Entry, Filter},
        views::{self as form_views, FilterChoice, FilterSelect},
    },
    layout::{flash, page as layout_page, Ctx, FlashKind},
    session::{csrf::CsrfForm, CurrentUser},
    state::AppState,
};
use ruche_accounts::{User, UserId};
use ruche_forms as forms;
use ruche_forms::Form;
use ruche_pages as pages;
use ruche_spaces::{store as spaces_store, SpaceSlug, Visibility, PROFILES_SPACE};

const PER_PAGE: usize = 24;

/// Creates the space of profiles if the site has none (at start-up; safe with several processes).
pub(crate) async fn ensure_space(db: &Db) -> anyhow::Result<()> {
    if spaces_store::find(db, PROFILES_SPACE).await?.is_some() {
        return Ok(());
    }
    let slug = SpaceSlug::parse(PROFILES_SPACE).ok_or_else(|| anyhow::anyhow!("bad slug"))?;
    let created =
        spaces_store::create(
            db,
            spaces_store::NewSpace {
                slug,
                title: "Annuaire".into(),
                description:
                    "Les fiches des membres du réseau. Chacun et chacune tient la sienne à jour."
                        .into(),
                visibility: Visibility::Public,
            },
            None,
        )
        .await;
    match created {
        Ok(_) | Err(spaces_store::SpaceError::SlugTaken) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A card of the directory.
struct Card {
    entry: Entry,
    person: bool,
    /// For a person: the spaces they belong to (that the reader may see the members of).
    spaces: Vec<(String, String)>,
}

/// `GET /directory`: people and organisations as cards, filtered by kind, organisation, space,
/// theme and free text.
pub async fn index(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(filter): Query<Filter>,
) -> AppResult<Html<String>> {
    let grants = access::readable_spaces(&state.db, ctx.user.as_ref()).await?;
    let (people_form, org_form) = forms(&state.db).await?;
    let people = query::entries(&state.db, &grants, &people_form, None).await?;
    let orgs = query::entries(&state.db, &grants, &org_form, None).await?;

    // Which spaces each person belongs to, where the reader may see members.
    let listable: HashMap<i64, (String, String)> = grants
        .values()
        .filter(|g| g.allows(SpaceAction::ListMembers))
        .map(|g| (g.space.id.0, (g.space.slug.to_string(), g.space.title.clone())))
        .collect();
    let mut spaces_of: HashMap<UserId, Vec<(String, String)>> = HashMap::new();
    for (space, user) in spaces_store::memberships(&state.db).await? {
        if let Some(s) = listable.get(&space.0).filter(|s| s.0 != PROFILES_SPACE) {
            spaces_of.entry(user).or_default().push(s.clone());
        }
    }
    for list in spaces_of.values_mut() {
        list.sort_by(|a, b| a.1.cmp(&b.1));
    }
    let org_titles: HashMap<String, String> = orgs
        .iter()
        .map(|e| (format!("{}/{}", e.space.slug, e.page.slug), e.page.title.clone()))
        .collect();

    let kind = filter.rest.get("kind").map(String::as_str).unwrap_or("");
    let plain = Filter { space: String::new(), ..filter.clone() };
    let mut cards: Vec<Card> = Vec::new();
    if kind != "organisations" {
        for entry in people {
            let spaces =
                entry.page.owner.and_then(|u| spaces_of.get(&u).cloned()).unwrap_or_default();
            let in_space =
                filter.space.is_empty() || spaces.iter().any(|(slug, _)| *slug == filter.space);
            let org = filter.field("organisation");
            let org_ok = org.is_empty() || entry.text("organisation") == org;
            let theme_ok = filter.field("themes").is_empty();
            if in_space && org_ok && theme_ok && entry.matches_text(&filter.q) {
                cards.push(Card { entry, person: true, spaces });
            }
        }
    }
    if kind != "people" {
        let org = filter.field("organisation");
        for entry in orgs.iter().cloned() {
            let key = format!("{}/{}", entry.space.slug, entry.page.slug);
            let org_ok = org.is_empty() || key == org;
            let mut for_orgs = plain.clone();
            for_orgs.rest.remove("field.organisation");
            if org_ok
                && for_orgs.keep(&org_form, &entry)
                && (filter.space.is_empty() || entry.space.slug.as_str() == filter.space)
            {
                cards.push(Card { entry, person: false, spaces: Vec::new() });
            }
        }
    }
    collation::sort_by_name(&mut cards, |c| &c.entry.page.title);

    // The choices of the filters.
    let mut space_choices: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for (slug, title) in spaces_of.values().flatten() {
        space_choices.entry(slug.clone()).or_insert((title.clone(), 0)).1 += 1;
    }
    for e in &orgs {
        space_choices.entry(e.space.slug.to_string()).or_insert((e.space.title.clone(), 0)).1 += 1;
    }
    let selects = vec![
        FilterSelect {
            name: "kind".into(),
            label: ctx.t("directory.kind"),
            current: kind.to_owned(),
            choices: vec![
                FilterChoice {
                    value: "people".into(),
                    label: ctx.t("directory.people"),
                    count: cards_count(&cards, true),
                },
                FilterChoice {
                    value: "organisations".into(),
                    label: ctx.t("directory.organisations"),
                    count: cards_count(&cards, false),
                },
            ],
        },
        FilterSelect {
            name: "field.organisation".into(),
            label: ctx.t("directory.organisation"),
            current: filter.field("organisation").to_owned(),
            choices: org_choices(&org_titles, &cards),
        },
        FilterSelect {
            name: "space".into(),
            label: ctx.t("lists.space"),
            current: filter.space.clone(),
            choices: space_choices
                .into_iter()
                .map(|(value, (label, count))| FilterChoice { value, label, count })
                .collect(),
        },
        FilterSelect::of_field(&ctx.t("directory.theme"), "themes", &filter, &orgs),
    ];
    let has_profile = match &ctx.user {
        Some(u) => pages::store::owned_by(&state.db, u.id).await?,
        None => None,
    };
    let paged = query::paginate(cards, filter.page_number(), PER_PAGE);
    let title = ctx.t("directory.title");
    Ok(layout_page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            p.lead { (ctx.t("directory.lead")) }
            p.actions {
                @if ctx.user.is_some() {
                    @match &has_profile {
                        Some(p) => a.button.secondary href={"/s/" (PROFILES_SPACE) "/" (p.slug)} { (ctx.t("directory.my_profile")) },
                        None => a.button href="/account/profile" { (ctx.t("directory.create_profile")) },
                    }
                }
                a.button.secondary href="/add/organisation" { (ctx.t("directory.add_organisation")) }
            }
            (form_views::filter_bar(&ctx, "/directory", &filter, &selects))
            (form_views::count(&ctx, paged.total))
            ul.cards {
                @for card in &paged.items {
                    li.card.entry-card {
                        h2 { a href=(card.entry.url()) { (card.entry.page.title) } }
                        p { span.badge { (ctx.t(if card.person { "directory.person" } else { "directory.organisation_badge" })) } }
                        @if card.person {
                            @let function = card.entry.text("function");
                            @if !function.is_empty() { p { (function) } }
                            @let org = card.entry.text("organisation");
                            @if let Some(name) = org_titles.get(&org) { p { (ctx.t("directory.organisation")) " : " a href={"/s/" (org)} { (name) } } }
                            @if !card.spaces.is_empty() {
                                p.meta { (ctx.t("directory.spaces")) " : "
                                    @for (i, (slug, title)) in card.spaces.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        a href={"/s/" (slug)} { (title) }
                                    }
                                }
                            }
                        } @else {
                            @let kind = card.entry.text("type");
                            @if !kind.is_empty() { p { (kind) } }
                            @let address = card.entry.text("address");
                            @if !address.is_empty() { p.meta { (address) } }
                            @let themes = card.entry.items("themes");
                            @if !themes.is_empty() { ul.tags aria-label=(ctx.t("directory.theme")) { @for t in &themes { li { (t) } } } }
                        }
                        @if card.entry.comments > 0 {
                            p.meta { a href={(card.entry.url()) "#discussion"} { (discussions::exchanges::answers(&ctx, card.entry.comments)) } }
                        }
                    }
                }
            }
            (form_views::pager(&ctx, "/directory", &filter, &paged))
        },
    ))
}

/// Each organisation with the number of listed cards it concerns (itself and its people).
fn org_choices(titles: &HashMap<String, String>, cards: &[Card]) -> Vec<FilterChoice> {
    let mut choices: Vec<FilterChoice> = titles
        .iter()
        .map(|(value, label)| FilterChoice {
            value: value.clone(),
            label: label.clone(),
            count: cards
                .iter()
                .filter(|c| c.person && c.entry.text("organisation") == *value)
                .count(),
        })
        .collect();
    collation::sort_by_name(&mut choices, |c| &c.label);
    choices
}

fn cards_count(cards: &[Card], person: bool) -> usize {
    cards.iter().filter(|c| c.person == person).count()
}

async fn forms(db: &Db) -> AppResult<(Form, Form)> {
    let people = forms::store::find(db, "member").await?.ok_or(AppError::NotFound)?;
    let orgs = forms::store::find(db, "organisation").await?.ok_or(AppError::NotFound)?;
    Ok((people, orgs))
}

/// `GET /account/profile`: one's own profile, or the offer to create it.
pub async fn profile(
    State(state): State<AppState>,
    ctx: Ctx,
    CurrentUser(user): CurrentUser,
) -> AppResult<Response> {
    if let Some(page) = pages::store::owned_by(&state.db, user.id).await? {
        return Ok(Redirect::to(&format!("/s/{PROFILES_SPACE}/{}", page.slug)).into_response());
    }
    let title = ctx.t("directory.create_profile");
    Ok(layout_page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            p { (ctx.t("directory.create_profile_lead")) }
            form method="post" action="/account/profile" {
                (ctx.csrf_field())
                button type="submit" { (ctx.t("directory.create_profile")) }
            }
        },
    )
    .into_response())
}

/// `POST /account/profile`: creates one's profile (once), then opens its form.
pub(crate) async fn create_profile(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    CurrentUser(user): CurrentUser,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let page = match pages::store::owned_by(&state.db, user.id).await? {
        Some(page) => page,
        None => create_profile_page(&state.db, &user, Default::default()).await?,
    };
    state.search.touch(page.id.0);
    flash(&session, FlashKind::Success, ctx.t("directory.profile_created")).await?;
    Ok(Redirect::to(&format!("/s/{PROFILES_SPACE}/{}/fields", page.slug)).into_response())
}

/// Creates the profile page of `user` with these values (their name at least), once: if they
/// have one already (another request made it first), that one is kept.
pub async fn create_profile_page(
    db: &Db,
    user: &User,
    values: serde_json::Map<String, serde_json::Value>,
) -> AppResult<pages::Page> {
    ensure_space(db).await?;
    let space = spaces_store::find(db, PROFILES_SPACE).await?.ok_or(AppError::NotFound)?;
    let form = forms::store::find(db, "member").await?.ok_or(AppError::NotFound)?;
    let mut values = values;
    values.entry("name").or_insert_with(|| serde_json::Value::String(user.name.clone()));
    let mut page =
        content::create_entry(db, &space, &user.name, "", &form, &values, Some(user.id.0)).await?;
    if let Err(err) = pages::store::set_owner(db, page.id, user.id).await {
        content::purge(db, &page).await?;
        tracing::info!(error = ?err, "profile already created");
        return pages::store::owned_by(db, user.id).await?.ok_or(AppError::NotFound);
    }
    page.owner = Some(user.id);
    Ok(page)
}

/// The spaces a profile's owner belongs to, that this reader may see the members of.
pub(crate) async fn spaces_of(
    db: &Db,
    reader: Option<&User>,
    owner: UserId,
) -> AppResult<Vec<(String, String)>> {
    let roles = spaces_store::roles_of(db, owner).await?;
    let ids: HashSet<i64> = roles.keys().map(|s| s.0).collect();
    Ok(access::visible_spaces(db, reader)
        .await?
        .into_iter()
        .filter(|g| ids.contains(&g.space.id.0) && g.allows(SpaceAction::ListMembers))
        .filter(|g| g.space.slug.as_str() != PROFILES_SPACE)
        .map(|g| (g.space.slug.to_string(), g.space.title))
        .collect())
}
