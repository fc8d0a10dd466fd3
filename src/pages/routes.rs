//! Handlers of page screens: read, create, edit (live editor with a plain form as fallback),
//! rename, trash and restore; and the websocket that co-edits a page.
use crate::query::Query;
use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use base64::Engine;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tower_sessions::Session;

use super::{
    render::LinkState,
    store::{self, LinkTarget, PageError},
    views, Page, PageSlug,
};
use crate::{
    access::{self, PageFor, SpaceAction, SpaceGrant},
    collab::{self, ws::Peer},
    error::{AppError, AppResult},
    layout::{flash, Ctx, FlashKind},
    session::{csrf::CsrfForm, MaybeUser},
    state::AppState,
};
use ruche_accounts::User;
use ruche_forms::builtin::TOPIC_FORM;

/// Renders a page's Markdown for this reader: wiki links to pages they may not read are left
/// as plain links, so nothing is learnt about them. Kept for the next reader who knows the same.
pub(crate) async fn render_for(
    state: &AppState,
    user: Option<&User>,
    current: &SpaceGrant,
    markdown: &str,
) -> AppResult<Arc<str>> {
    render_with(&state.db, &state.rendered, user, current, markdown, true).await
}

/// Renders a page's new text for anonymous readers as soon as it settles (when they may read
/// it), so that no reader's request has to: every read of a public page is a cache hit.
pub async fn warm(
    db: &crate::db::Db,
    cache: &super::render::RenderCache,
    doc: crate::collab::DocId,
    markdown: &str,
) -> anyhow::Result<()> {
    let Some(page) = store::get(db, super::PageId(doc.0)).await? else { return Ok(()) };
    let Some(space) = ruche_spaces::store::get(db, page.space_id).await? else { return Ok(()) };
    let Ok(grant) = access::space(db, None, space.slug.as_str(), SpaceAction::Read).await else {
        return Ok(());
    };
    if access::page(&grant, &page, SpaceAction::Read).is_err() {
        return Ok(());
    }
    render_with(db, cache, None, &grant, markdown, true).await?;
    Ok(())
}

async fn render_with(
    db: &crate::db::Db,
    cache: &super::render::RenderCache,
    user: Option<&User>,
    current: &SpaceGrant,
    markdown: &str,
    keep: bool,
) -> AppResult<Arc<str>> {
    let space = current.space.slug.as_str();
    let targets = cache.links(markdown, space).await?;
    let mut grants: HashMap<String, Option<SpaceGrant>> = HashMap::new();
    for target in targets.iter() {
        if !grants.contains_key(&target.space) {
            let grant = if target.space == space {
                Some(current.clone())
            } else {
                access::space(db, user, &target.space, SpaceAction::Read).await.ok()
            };
            grants.insert(target.space.clone(), grant);
        }
    }
    let lookups: Vec<_> = targets
        .iter()
        .filter_map(|t| {
            grants
                .get(&t.space)?
                .as_ref()
                .filter(|g| g.allows(SpaceAction::Read))
                .map(|g| (g.space.id, t.slug.clone()))
        })
        .collect();
    let existing = store::existing(db, &lookups).await?;
    let resolve = |target: &LinkTarget| -> LinkState {
        match grants.get(&target.space).and_then(Option::as_ref) {
            Some(g) if g.allows(SpaceAction::Read) => {
                if existing.contains(&(g.space.id, target.slug.clone())) {
                    LinkState::Exists
                } else if g.allows(SpaceAction::Edit) {
                    LinkState::Creatable
                } else {
                    LinkState::Unknown
                }
            }
            _ => LinkState::Unknown,
        }
    };
    let states = targets.iter().map(resolve).collect();
    Ok(cache.html(markdown, space, &targets, states, keep).await?)
}

pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
) -> AppResult<Response> {
    let content = state.hub.read(page.id.doc()).await?;
    let html = render_for(&state, ctx.user.as_ref(), &grant, &content.markdown).await?;
    let backlinks = readable_backlinks(&state, ctx.user.as_ref(), &grant, &page).await?;
    let last = ruche_history::store::latest(&state.db, page.id).await?;
    let entry = match ruche_forms::store::form_of(&state.db, &page).await? {
        Some(form) => Some(crate::forms::views::values(
            &ctx,
            &crate::forms::views::Known::titles(
                linked_titles(&state, ctx.user.as_ref(), &form, &content.fields).await?,
            )
            .long_texts(&state.rendered, grant.space.slug.as_str(), &form, &[&content.fields])
            .await?,
            &grant.space,
            &format!("/s/{}/{}", grant.space.slug, page.slug),
            &form,
            &content.fields,
            access::page_allows(&grant, &page, SpaceAction::ReadMembersOnlyFields),
        )),
        None => None,
    };
    // A member's profile says which spaces they belong to (those whose members the reader sees).
    let entry = match (entry, page.owner) {
        (Some(values), Some(owner)) => {
            let spaces = crate::directory::spaces_of(&state.db, ctx.user.as_ref(), owner).await?;
            Some(maud::html! {
                (values)
                @if !spaces.is_empty() {
                    h2 { (ctx.t("directory.spaces")) }
                    ul { @for (slug, title) in &spaces { li { a href={"/s/" (slug)} { (title) } } } }
                }
            })
        }
        (entry, _) => entry,
    };
    if let (Some(user), true) = (&ctx.user, ctx.unread > 0) {
        // Reading the page reads what told of it.
        ruche_notifications::mark_page_read(&state.db, user.id, page.id).await?;
    }
    let following = match &ctx.user {
        Some(user) => Some(
            ruche_notifications::follows(
                &state.db,
                user.id,
                &ruche_notifications::Target::Page(page.id),
            )
            .await?,
        ),
        None => None,
    };
    let handle = match page.owner {
        Some(owner) => ruche_accounts::store::find(&state.db, owner)
            .await?
            .filter(|u| !u.disabled && !u.handle.is_empty())
            .map(|u| u.handle),
        None => None,
    };
    let reading = views::Reading {
        html: &html,
        backlinks: &backlinks,
        last: last.as_ref(),
        entry,
        following,
        handle,
        discussion: crate::discussions::routes::under_page(&state, &ctx, &grant, &page).await?,
        files: super::files::attached(
            &state.db,
            &format!("/s/{}/{}", grant.space.slug, page.slug),
            page.id.0,
            &content.markdown,
        )
        .await?,
    };
    Ok(views::show(&ctx, &grant, &page, reading).into_response())
}

/// The titles of the entries an entry links to (`space/page` → title), for those this reader
/// may read: a link is then named like the sheet it leads to.
async fn linked_titles(
    state: &AppState,
    user: Option<&User>,
    form: &ruche_forms::Form,
    values: &serde_json::Value,
) -> AppResult<HashMap<String, String>> {
    let links: Vec<String> = form
        .fields
        .iter()
        .filter(|f| matches!(f.kind, ruche_forms::FieldKind::PageLink { .. }))
        .filter_map(|f| values.get(&f.key).and_then(|v| v.as_str()).map(str::to_owned))
        .collect();
    let grants = access::readable_spaces(&state.db, user).await?;
    crate::forms::query::link_titles(&state.db, &grants, links.iter().map(String::as_str)).await
}

/// The pages that link to `page` which this reader may read, each with its own space.
async fn readable_backlinks(
    state: &AppState,
    user: Option<&User>,
    grant: &SpaceGrant,
    page: &Page,
) -> AppResult<Vec<(String, Page)>> {
    let mut grants: HashMap<i64, Option<SpaceGrant>> = HashMap::new();
    let mut readable = Vec::new();
    for from in store::backlinks(&state.db, grant.space.slug.as_str(), page.slug.as_str()).await? {
        let known = match grants.get(&from.space_id.0) {
            Some(known) => known.clone(),
            None => {
                let other = if from.space_id == grant.space.id {
                    Some(grant.clone())
                } else {
                    match ruche_spaces::store::get(&state.db, from.space_id).await? {
                        Some(space) => {
                            access::space(&state.db, user, space.slug.as_str(), SpaceAction::Read)
                                .await
                                .ok()
                        }
                        None => None,
                    }
                };
                grants.insert(from.space_id.0, other.clone());
                other
            }
        };
        if let Some(g) = known {
            if access::page_allows(&g, &from, SpaceAction::Read) {
                readable.push((g.space.slug.to_string(), from));
            }
        }
    }
    Ok(readable)
}

#[derive(Deserialize)]
pub(crate) struct NewQuery {
    title: Option<String>,
    form: Option<String>,
}

pub(crate) async fn new_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(space): Path<String>,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &space, SpaceAction::Read).await?;
    let title = q.title.as_deref().unwrap_or("");
    if let Some(key) = q.form.as_deref().filter(|k| !k.is_empty()) {
        access::may_create_entry(&grant, key == TOPIC_FORM)?;
        let form = ruche_forms::store::find(&state.db, key).await?.ok_or(AppError::NotFound)?;
        return Ok(crate::forms::routes::new_entry(&ctx, &grant.space, &form, title));
    }
    let grant = access::space(&state.db, ctx.user.as_ref(), &space, SpaceAction::Edit).await?;
    let forms = kinds_for(&state, &grant).await?;
    let templates = crate::templates::offered(&state.db, ctx.user.as_ref(), &grant).await?;
    let choice = views::NewChoice { title, form: "", template: "" };
    Ok(views::new_page(&ctx, &grant.space, &choice, &forms, &templates, None).into_response())
}

/// The kinds of entry offered on a new page of the space: those that belong there (a
/// member's card in the directory, not among a working group's minutes).
async fn kinds_for(state: &AppState, grant: &SpaceGrant) -> AppResult<Vec<ruche_forms::Form>> {
    let kept = store::forms_kept(&state.db).await?;
    let here = grant.space.id.0;
    Ok(ruche_forms::store::list(&state.db)
        .await?
        .into_iter()
        .filter(|f| {
            ruche_forms::builtin::belongs_in(
                &f.key,
                grant.space.slug.as_str(),
                kept.contains(&(here, f.key.clone())),
                kept.iter().any(|(_, k)| *k == f.key),
            )
        })
        .collect())
}

#[derive(Deserialize)]
pub struct NewFields {
    #[serde(default)]
    title: String,
    /// The form the page is an entry of, if any.
    #[serde(default)]
    form: String,
    /// The template its text starts from (`b:{key}`, `p:{id}`), if any.
    #[serde(default)]
    template: String,
}

pub async fn create(
    State(state): State<AppState>,
    crate::client_addr::ClientAddr(client): crate::client_addr::ClientAddr,
    ctx: Ctx,
    Path(space): Path<String>,
    CsrfForm(fields): CsrfForm<NewFields>,
) -> AppResult<Response> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &space, SpaceAction::Edit).await?;
    let author = ctx.user.as_ref().map(|u| u.id.0);
    // An entry is made by its own form, once that is valid: on to it, with the title typed.
    if let Some(form) = match fields.form.as_str() {
        "" => None,
        key => ruche_forms::store::find(&state.db, key).await?,
    } {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("form", &form.key)
            .append_pair("title", &fields.title)
            .finish();
        return Ok(Redirect::to(&format!("/s/{}/new?{query}", grant.space.slug)).into_response());
    }
    if let Err(spent) = may_make_page(&state, ctx.user.as_ref(), client) {
        return Ok(spent.into_response());
    }
    // From a template: the page is made with its text (its history starts there).
    let start = match fields.template.as_str() {
        "" => None,
        id => {
            crate::templates::text_of(&state.db, &state.hub, ctx.user.as_ref(), &grant, id).await?
        }
    };
    let made = match start {
        Some(text)
            if super::PageSlug::from_title(&crate::slug::clean_label(&fields.title)).is_some() =>
        {
            crate::content::create_with_text(&state.db, &grant.space, &fields.title, &text, author)
                .await
                .map_err(PageError::Internal)
        }
        _ => store::create(&state.db, grant.space.id, &fields.title, None, author).await,
    };
    match made {
        Ok(page) => {
            made_page(&state, ctx.user.as_ref(), client);
            state.search.touch(page.id.0);
            Ok(Redirect::to(&format!("/s/{}/{}/edit", grant.space.slug, page.slug)).into_response())
        }
        Err(PageError::EmptyTitle | PageError::NoSlug) => {
            let error = Some(ctx.t("page.title_invalid"));
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                views::new_page(
                    &ctx,
                    &grant.space,
                    &views::NewChoice {
                        title: &fields.title,
                        form: &fields.form,
                        template: &fields.template,
                    },
                    &kinds_for(&state, &grant).await?,
                    &crate::templates::offered(&state.db, ctx.user.as_ref(), &grant).await?,
                    error,
                ),
            )
                .into_response())
        }
        Err(PageError::Internal(e)) => Err(e.into()),
    }
}

/// Whether `user` may make one more page from `client`: a new page tells the followers of its
/// space, so pages share the budget of new entries and topics (`Action::NewEntry`), by
/// whichever route they are made. Spent by `made_page` once the page exists.
pub(super) fn may_make_page(
    state: &AppState,
    user: Option<&User>,
    client: std::net::IpAddr,
) -> Result<(), crate::ratelimit::Spent> {
    use crate::ratelimit::{Action, Who};
    match user {
        Some(user) => state.action_limits.check(Action::NewEntry, Who::Account(user.id), client),
        None => Ok(()),
    }
}

/// Counts a page made by `user` from `client` (after `may_make_page`).
pub(super) fn made_page(state: &AppState, user: Option<&User>, client: std::net::IpAddr) {
    use crate::ratelimit::{Action, Who};
    if let Some(user) = user {
        state.action_limits.record(Action::NewEntry, Who::Account(user.id), client);
    }
}

#[derive(Deserialize)]
pub(crate) struct TemplateFields {
    #[serde(default)]
    scope: String,
}

/// `POST /s/{space}/{page}/template` with `scope=space`, `site` (administrators) or `none`: the
/// page is offered, or no more, as the start of new pages.
pub(crate) async fn set_template(
    State(state): State<AppState>,
    ctx: Ctx,
    session: tower_sessions::Session,
    PageFor { grant, page, .. }: PageFor<access::Manage>,
    CsrfForm(fields): CsrfForm<TemplateFields>,
) -> AppResult<Response> {
    let scope = match fields.scope.as_str() {
        "none" => None,
        s => Some(
            super::TemplateScope::parse(s)
                .ok_or_else(|| AppError::BadRequest(ctx.t("error.bad_request")))?,
        ),
    };
    if scope == Some(super::TemplateScope::Site) && !access::may_administer_site(ctx.user.as_ref())
    {
        return Err(AppError::Forbidden);
    }
    crate::templates::set(&state.db, page.id, scope).await?;
    let said = match scope {
        Some(s) => ctx.t(&format!("template.offered_{}", s.as_str())),
        None => ctx.t("template.withdrawn"),
    };
    crate::layout::flash(&session, crate::layout::FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Read>,
) -> AppResult<Response> {
    let content = state.hub.read(page.id.doc()).await?;
    let base = base64::engine::general_purpose::STANDARD.encode(&content.state);
    let can_write = access::may_change(&grant, &page);
    // Its editors are told here too when the page is shown as written (a cache hit, mostly:
    // the page was rendered for its readers).
    let as_written = can_write
        && super::render::shown_as_written(
            &render_for(&state, ctx.user.as_ref(), &grant, &content.markdown).await?,
        );
    Ok(views::edit(&ctx, &grant.space, &page, &content.markdown, &base, can_write, as_written)
        .into_response())
}

#[derive(Deserialize)]
pub struct EditFields {
    #[serde(default)]
    markdown: String,
    #[serde(default)]
    base: String,
}

/// Saves the plain edit form: only what this person changed since they opened the form is
/// applied, merged with what others typed meanwhile.
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
    CsrfForm(fields): CsrfForm<EditFields>,
) -> AppResult<Response> {
    let base = base64::engine::general_purpose::STANDARD
        .decode(fields.base.trim())
        .map_err(|_| AppError::BadRequest(ctx.t("page.form_outdated")))?;
    let author = ctx.user.as_ref().map(|u| u.id.0);
    let markdown = fields.markdown.replace("\r\n", "\n");
    // Refused (too long, or from a state this page does not have): the person is told why.
    state.hub.edit_from(page.id.doc(), &base, &markdown, author).await?;
    flash(&session, FlashKind::Success, ctx.t("page.saved")).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

pub(crate) async fn rename_form(
    ctx: Ctx,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
) -> AppResult<Response> {
    Ok(views::rename(&ctx, &grant.space, &page, &page.title, page.slug.as_str(), None)
        .into_response())
}

#[derive(Deserialize)]
pub struct RenameFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    slug: String,
}

pub async fn rename(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Edit>,
    CsrfForm(fields): CsrfForm<RenameFields>,
) -> AppResult<Response> {
    let wanted = if fields.slug.trim().is_empty() {
        PageSlug::from_title(&fields.title)
    } else {
        PageSlug::parse(&fields.slug)
    };
    let Some(wanted) = wanted else {
        let error = Some(ctx.t("page.slug_invalid"));
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            views::rename(&ctx, &grant.space, &page, &fields.title, &fields.slug, error),
        )
            .into_response());
    };
    match store::rename(
        &state.db,
        &page,
        &fields.title,
        Some(&wanted),
        ctx.user.as_ref().map(|u| u.id.0),
    )
    .await
    {
        Ok(renamed) => {
            state.search.touch(renamed.id.0);
            flash(&session, FlashKind::Success, ctx.t("page.renamed")).await?;
            Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, renamed.slug)).into_response())
        }
        Err(PageError::EmptyTitle | PageError::NoSlug) => {
            let error = Some(ctx.t("page.title_invalid"));
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                views::rename(&ctx, &grant.space, &page, &fields.title, &fields.slug, error),
            )
                .into_response())
        }
        Err(PageError::Internal(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn trash(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Manage>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    store::set_trashed(&state.db, &page, true, ctx.user.as_ref().map(|u| u.id.0)).await?;
    state.search.touch(page.id.0);
    state.hub.kick([page.id.doc()]).await;
    flash(&session, FlashKind::Success, ctx.tf("page.trashed", &[("title", &page.title)])).await?;
    Ok(Redirect::to(&format!("/s/{}", grant.space.slug)).into_response())
}

pub async fn restore(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Manage>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    store::set_trashed(&state.db, &page, false, ctx.user.as_ref().map(|u| u.id.0)).await?;
    state.search.touch(page.id.0);
    flash(&session, FlashKind::Success, ctx.tf("page.restored", &[("title", &page.title)])).await?;
    Ok(Redirect::to(&format!("/s/{}/{}", grant.space.slug, page.slug)).into_response())
}

/// Deletes a trashed page for good (owners): its history goes too.
pub async fn purge(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageFor { grant, page, .. }: PageFor<access::Manage>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    if !page.trashed {
        return Err(AppError::Conflict(ctx.t("page.purge_needs_trash")));
    }
    state.hub.forget(page.id.doc()).await;
    crate::content::purge(&state.db, &page).await?;
    state.search.touch(page.id.0);
    flash(&session, FlashKind::Success, ctx.tf("page.purged", &[("title", &page.title)])).await?;
    Ok(Redirect::to(&format!("/s/{}/trash", grant.space.slug)).into_response())
}

pub(crate) async fn trash_list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(space): Path<String>,
) -> AppResult<Html<String>> {
    let grant = access::space(&state.db, ctx.user.as_ref(), &space, SpaceAction::Manage).await?;
    let pages = store::list(&state.db, grant.space.id, true).await?;
    Ok(views::trash(&ctx, &grant.space, &pages))
}

#[derive(Deserialize)]
pub struct RenderRequest {
    space: String,
    markdown: String,
}

/// `POST /api/render`: the editor's preview, by the same renderer as published pages.
pub async fn preview(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    axum::Json(body): axum::Json<RenderRequest>,
) -> AppResult<axum::Json<serde_json::Value>> {
    let grant = access::space(&state.db, user.as_ref(), &body.space, SpaceAction::Read).await?;
    // Previews change with every keystroke: rendered, not kept.
    let html =
        render_with(&state.db, &state.rendered, user.as_ref(), &grant, &body.markdown, false)
            .await?;
    Ok(axum::Json(serde_json::json!({ "html": &*html })))
}

/// `GET /ws/{space}/{page}`: co-editing over the y-websocket protocol. Refused like the page
/// itself when the person may not read it; read-only when they may not edit.
pub async fn websocket(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    PageFor { grant, page, .. }: PageFor<access::Read>,
    crate::client_addr::ClientAddr(client): crate::client_addr::ClientAddr,
    crate::i18n::AskedLang(lang): crate::i18n::AskedLang,
    headers: axum::http::HeaderMap,
    upgrade: crate::upgrade::Upgrade,
) -> AppResult<Response> {
    let settings = &state.settings;
    if !crate::session::csrf::websocket_origin_allowed(
        &headers,
        &settings.base_url,
        &settings.allowed_origins,
    ) {
        tracing::warn!(origin = ?headers.get(axum::http::header::ORIGIN), "websocket from another origin refused");
        return Err(AppError::Forbidden);
    }
    // One address may not hold every connection the server can take.
    let admitted = state.hub.admit(client).ok_or(AppError::TooManyRequests)?;
    // The document holds every field: whether it holds members-only ones decides who may open
    // it. (Plain pages have no fields: live clients cannot write any.)
    let holds_members_only = match ruche_forms::store::form_of(&state.db, &page).await? {
        Some(form) => form.holds_members_only(&state.hub.read(page.id.doc()).await?.fields),
        None => false,
    };
    let kind = access::live_peer(&grant, &page, holds_members_only)?;
    let peer = Peer {
        can_write: kind == access::LivePeer::Writer,
        author: user.as_ref().map(|u| u.id.0),
        name: user.as_ref().map(|u| u.name.clone()),
        anonymous_name: lang.t("presence.anonymous"),
    };
    let hub = state.hub.clone();
    let max = hub.settings().max_frame_bytes;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
        // Edits are small: a 512-byte read buffer (it grows for a larger frame) instead of the
        // default 128 KiB, allocated per connection, took 10 000 connections from 1.5 GiB to
        // a fraction of it (benches/compare.sh, workload c).
        .read_buffer_size(512)
        // What tungstenite writes itself (pongs, pings, close frames) goes out at once.
        .write_buffer_size(0);
    Ok(upgrade.accept(config, move |socket| {
        collab::ws::serve(socket, hub, page.id.doc(), peer, admitted)
    }))
}
