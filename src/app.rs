//! The application: its state put together, every route in one place, and the launch function
//! used by `main` and by the tests. The only file that names every capability.
use std::{future::Future, sync::Arc, time::Duration};

use axum::http::{header, HeaderValue};
use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request},
    middleware,
    routing::{get, post},
    Router,
};
use tokio::net::TcpListener;
use tower_http::{
    compression::CompressionLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use crate::{
    access, accounts, agenda,
    collab::{self, Hub},
    config::Settings,
    content,
    db::Db,
    directory, discussions,
    error::AppError,
    forms, history, home, i18n, layout, listener, mail, map, notifications, outbox, pages,
    ratelimit::{ActionLimits, SignInLimits},
    resources, search,
    session::{store::DbSessionStore, MaybeUser},
    spaces,
};

pub use crate::state::AppState;

/// Largest form or JSON body accepted.
/// How often expired sessions and idle rate-limit entries are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

impl AppState {
    /// The application over `db`. Opens (or rebuilds) the search index in the data directory,
    /// and links up with the other processes of the site when Redis is configured.
    pub async fn new(db: Db, settings: Settings) -> anyhow::Result<Self> {
        let limits = SignInLimits::new(settings.login_attempts_per_minute);
        let action_limits = ActionLimits::new(settings.comments.per_minute);
        let (projections_db, history_db) = (db.clone(), db.clone());
        let search = search::SearchIndex::open(&settings.data_dir, db.clone())?;
        let discussions = discussions::live::Live::default();
        let relay = match &settings.redis_url {
            Some(url) => {
                let relay = collab::Relay::new(url, &relay_site_id(&db).await?)?;
                search.announce_through(relay.clone());
                discussions.announce_through(relay.clone());
                Some(relay)
            }
            None => None,
        };
        let (touched, reindexed, reindex_db) = (search.clone(), search.clone(), db.clone());
        let searched = search.clone();
        let rendered = Arc::new(pages::render::RenderCache::default());
        let mailing = settings.mailing();
        let mut senders = std::collections::HashMap::new();
        if let Some(mail) = &settings.mail {
            senders.insert(mail::KIND.to_owned(), mail::Mailer::new(mail)?.sender());
            // Reset links and sign-ups asked for are looked up off the request, by the same
            // worker.
            let asked = accounts::reset::asked_sender(
                db.clone(),
                settings.base_url.clone(),
                settings.site_name.clone(),
            );
            senders.insert(accounts::reset::ASKED.to_owned(), asked);
            let signed_up = accounts::signup::asked_sender(
                db.clone(),
                settings.base_url.clone(),
                settings.site_name.clone(),
            );
            senders.insert(accounts::signup::ASKED.to_owned(), signed_up);
        }
        let outbox = outbox::Outbox::new(db.clone(), senders, settings.outbox.clone());
        let quiet_outbox = outbox.clone();
        let warmed = rendered.clone();
        let hooks = collab::Hooks {
            on_settled: Arc::new(move |doc, content| {
                let db = projections_db.clone();
                let search = searched.clone();
                let cache = warmed.clone();
                Box::pin(async move {
                    let markdown = content.markdown.clone();
                    content::project(&db, doc, content).await?;
                    search.touch(doc.0);
                    // Off the page's own task: its next edits need not wait for the rendering.
                    let warm_db = db.clone();
                    tokio::spawn(async move {
                        if let Err(err) =
                            pages::routes::warm(&warm_db, &cache, doc, &markdown).await
                        {
                            tracing::debug!(doc = doc.0, error = ?err, "page not rendered ahead");
                        }
                    });
                    Ok(())
                })
            }),
            on_quiet: Arc::new(move |doc, content, authors| {
                let db = history_db.clone();
                let mailing = mailing.clone();
                let outbox = quiet_outbox.clone();
                Box::pin(async move {
                    let Some(revision) =
                        history::record_session(&db, doc, content, authors.clone()).await?
                    else {
                        return Ok(());
                    };
                    // Followers are told once per editing session, never once per keystroke.
                    let page = pages::PageId(doc.0);
                    let told =
                        notifications::revision_settled(&db, &mailing, page, revision.id, &authors)
                            .await?;
                    if told > 0 {
                        outbox.wake();
                    }
                    Ok(())
                })
            }),
            on_touched: Arc::new(move |page| touched.touch_here(page)),
            on_commented: {
                let discussions = discussions.clone();
                Arc::new(move |page, comment| discussions.deliver(page, comment))
            },
            on_kicked: {
                let discussions = discussions.clone();
                Arc::new(move |docs: Option<&[collab::DocId]>| {
                    let pages: Option<Vec<i64>> = docs.map(|d| d.iter().map(|d| d.0).collect());
                    discussions.recheck(pages.as_deref());
                })
            },
            on_reconnected: Arc::new(move || reindexed.touch_everything(reindex_db.clone())),
        };
        let hub = Hub::new(db.clone(), settings.collab.clone(), hooks, relay);
        let content_security_policy =
            layout::content_security_policy(&settings.base_url, &settings.map_tiles).into();
        Ok(Self {
            db,
            settings: Arc::new(settings),
            sign_in_limits: Arc::new(limits),
            action_limits: Arc::new(action_limits),
            hub,
            search,
            rendered,
            diffs: Arc::new(history::DiffCache::new(history::diff::DIFF_CACHE_BYTES)),
            content_security_policy,
            outbox,
            discussions,
        })
    }
}

pub(crate) fn router(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("ruche_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(state.settings.session_idle)
                .unwrap_or(time::Duration::days(14)),
        ));

    let html = Router::new()
        .route("/", get(home::show))
        .route("/setup", get(accounts::routes::setup_form).post(accounts::routes::setup))
        .route("/login", get(accounts::routes::login_form).post(accounts::routes::login))
        .route("/signup/check", get(accounts::reset::check_mailbox))
        .route("/signup/confirm/{token}", get(accounts::reset::confirm))
        .route("/password/forgot", get(accounts::reset::forgot_form).post(accounts::reset::forgot))
        .route(
            "/password/reset/{token}",
            get(accounts::reset::reset_form).post(accounts::reset::reset),
        )
        .route("/logout", post(accounts::routes::logout))
        .route("/signup", get(accounts::routes::signup_form).post(accounts::routes::signup))
        .route(
            "/invite/{token}",
            get(accounts::routes::invitation_form).post(accounts::routes::accept_invitation),
        )
        .route("/account", get(accounts::routes::show))
        .route("/account/password", post(accounts::routes::change_password))
        .route("/account/name", post(accounts::routes::change_name))
        .route("/account/time-zone", post(accounts::routes::change_time_zone))
        .route("/account/editor", post(accounts::routes::editor_preference))
        .route("/welcome", get(accounts::routes::first_steps))
        .route("/account/tokens", post(accounts::routes::create_token))
        .route("/account/tokens/{id}/revoke", post(accounts::routes::revoke_token))
        .route("/admin/users", get(accounts::admin::users))
        .route("/admin/mail", get(mail::admin::list))
        .route("/notifications", get(notifications::routes::list))
        .route("/notifications/read", post(notifications::routes::mark_all))
        .route("/notifications/{id}", get(notifications::routes::open))
        .route(
            "/unsubscribe/{key}",
            get(notifications::routes::unsubscribe_page).post(notifications::routes::unsubscribe),
        )
        .route("/follow/form/{key}", post(notifications::routes::follow_form))
        .route("/account/notifications", post(notifications::routes::mail_choice))
        .route("/s/{space}/{page}/follow", post(notifications::routes::follow_page))
        .route("/s/{space}/{page}/comments", post(discussions::routes::create))
        .route("/s/{space}/discussions", get(discussions::exchanges::space))
        .route("/discussions", get(discussions::exchanges::site))
        .route("/s/{space}/{page}/comments/events", get(discussions::routes::events))
        .route(
            "/s/{space}/{page}/comments/{id}/edit",
            get(discussions::routes::edit_form).post(discussions::routes::edit),
        )
        .route(
            "/s/{space}/{page}/comments/{id}/delete",
            get(discussions::routes::delete_form).post(discussions::routes::delete),
        )
        .route("/s/{space}/{page}/comments/{id}/hide", post(discussions::routes::hide))
        .route("/s/{space}/{page}/comments/{id}/thread", get(discussions::routes::thread))
        .route("/follow/space/{space}", post(notifications::routes::follow_space))
        .route("/admin/mail/{id}/again", post(mail::admin::again))
        .route("/admin/forms", get(forms::admin::index).post(forms::admin::create))
        .route("/admin/forms/{key}", get(forms::admin::edit).post(forms::admin::save))
        .route("/admin/invitations", post(accounts::admin::invite))
        .route("/admin/signup", post(accounts::admin::set_signup))
        .route("/admin/users/{id}/{action}", post(accounts::admin::change_user))
        .route("/spaces/new", get(spaces::routes::new_form))
        .route("/spaces", post(spaces::routes::create))
        .route("/s/{space}", get(spaces::routes::show))
        .route("/s/{space}/members", get(spaces::routes::members).post(spaces::routes::add_member))
        .route("/s/{space}/members/requests", post(spaces::routes::ask_to_join))
        .route("/s/{space}/members/requests/{id}", post(spaces::routes::answer_request))
        .route("/s/{space}/members/{user}", post(spaces::routes::change_member))
        .route("/s/{space}/invitations/{id}/withdraw", post(spaces::routes::withdraw_invitation))
        .route("/s/{space}/invitations/{id}/resend", post(spaces::routes::resend_invitation))
        .route(
            "/s/{space}/settings",
            get(spaces::routes::settings_form).post(spaces::routes::update_settings),
        )
        .route("/s/{space}/export.zip", get(spaces::routes::export))
        .route("/s/{space}/new", get(pages::routes::new_form).post(forms::routes::create))
        .route("/s/{space}/pages", post(pages::routes::create))
        .route("/s/{space}/trash", get(pages::routes::trash_list))
        .route("/s/{space}/{page}", get(pages::routes::show))
        .route(
            "/s/{space}/{page}/edit",
            get(pages::routes::edit_form)
                .post(pages::routes::save)
                .route_layer(middleware::from_fn_with_state(
                    state.clone(),
                    large_bodies_from_writers,
                ))
                .layer(DefaultBodyLimit::max(state.settings.page_body_bytes())),
        )
        .route(
            "/s/{space}/{page}/rename",
            get(pages::routes::rename_form).post(pages::routes::rename),
        )
        .route("/s/{space}/{page}/trash", post(pages::routes::trash))
        .route("/s/{space}/{page}/restore", post(pages::routes::restore))
        .route("/s/{space}/{page}/purge", post(pages::routes::purge))
        .route("/s/{space}/{page}/template", post(pages::routes::set_template))
        .route(
            "/s/{space}/{page}/fields",
            get(forms::routes::edit_form)
                .post(forms::routes::save)
                .route_layer(middleware::from_fn_with_state(
                    state.clone(),
                    large_bodies_from_writers,
                ))
                .layer(DefaultBodyLimit::max(
                    state.settings.max_upload_bytes.saturating_add(state.settings.max_body_bytes),
                )),
        )
        .route("/s/{space}/{page}/files/{hash}", get(forms::files::serve))
        .route(
            "/s/{space}/{page}/files",
            post(pages::files::upload)
                .route_layer(middleware::from_fn_with_state(
                    state.clone(),
                    large_bodies_from_writers,
                ))
                .layer(DefaultBodyLimit::max(
                    state.settings.max_upload_bytes.saturating_add(state.settings.max_body_bytes),
                )),
        )
        .route("/add/{form}", get(forms::add::choose_space))
        .route("/ws/{space}/{page}", get(pages::routes::websocket))
        .route("/s/{space}/{page}/history", get(history::routes::list))
        .route("/s/{space}/{page}/history/save", post(history::routes::save))
        .route("/s/{space}/{page}/history/{id}", get(history::routes::show))
        .route("/s/{space}/{page}/history/{id}/restore", post(history::routes::restore))
        .route("/s/{space}/{page}/compare", get(history::routes::compare))
        .route("/lang/{code}", get(i18n::switch))
        .route("/directory", get(directory::index))
        .route("/search", get(search::routes::page))
        .route("/resources", get(resources::index))
        .route("/forms", get(forms::lists::index))
        .route("/forms/{key}", get(forms::lists::show))
        .route("/map", get(map::index))
        .route("/agenda", get(agenda::site))
        .route("/agenda.ics", get(agenda::site_ics))
        .route("/s/{space}/agenda", get(agenda::space))
        .route("/s/{space}/agenda.ics", get(agenda::space_ics))
        .route("/account/profile", get(directory::profile).post(directory::create_profile))
        .route("/changes", get(history::changes::site))
        .route("/changes.atom", get(history::changes::site_atom))
        .route("/changes/feed-token", post(history::changes::create_feed_token))
        .route("/changes/feed-token/revoke", post(history::changes::revoke_feed_token))
        .route("/s/{space}/changes", get(history::changes::space))
        .route("/s/{space}/changes.atom", get(history::changes::space_atom));

    let api = Router::new()
        .route("/api/me", get(accounts::routes::me))
        .route("/api/spaces", get(spaces::api::list).post(spaces::api::create))
        .route("/api/spaces/{space}", get(spaces::api::show))
        .route("/api/spaces/{space}/members", get(spaces::api::members))
        .route("/api/spaces/{space}/pages", get(pages::api::list))
        .route("/api/render", post(pages::routes::preview))
        .route("/api/search", get(search::routes::api))
        .route("/api/notifications", get(notifications::routes::api))
        .route("/api/notifications/unread", get(notifications::routes::unread))
        .route(
            "/api/pages/{space}/{page}/comments",
            get(discussions::api::list).post(discussions::api::create),
        )
        .route(
            "/api/comments/{id}",
            axum::routing::patch(discussions::api::update).delete(discussions::api::delete),
        )
        .route("/api/pages/{space}/{page}/people", get(notifications::routes::people))
        .route("/api/forms", get(forms::exports::list))
        .route("/api/forms/{key}", get(forms::exports::show))
        .route("/api/forms/{key}/entries", get(forms::exports::entries))
        .route("/api/forms/{key}/entries.csv", get(forms::exports::entries_csv))
        .route("/api/forms/{key}/entries.geojson", get(forms::exports::entries_geojson))
        .route("/api/forms/{key}/entries.ics", get(forms::exports::entries_ics))
        .route("/api/pages/{space}/{page}/revisions", get(history::api::list))
        .route("/api/pages/{space}/{page}/revisions/{id}", get(history::api::show))
        .route(
            "/api/pages/{space}/{page}",
            get(pages::api::show)
                .put(pages::api::put)
                .route_layer(middleware::from_fn_with_state(
                    state.clone(),
                    large_bodies_from_writers,
                ))
                .layer(DefaultBodyLimit::max(state.settings.page_body_bytes())),
        )
        .route(
            "/api/spaces/{space}/members/{user}",
            axum::routing::put(spaces::api::put_member).delete(spaces::api::remove_member),
        );

    Router::new()
        .merge(html)
        .merge(api)
        .route("/healthz", get(healthz))
        .route("/assets/ruche.css", get(layout::stylesheet))
        .route("/favicon.svg", get(layout::favicon))
        // Browsers ask for it even when pages name the SVG icon.
        .route("/favicon.ico", get(|| async { axum::response::Redirect::permanent("/favicon.svg") }))
        .route("/assets/editor.js", get(layout::editor_script))
        .route("/assets/bell.js", get(layout::bell_script))
        .route("/assets/password.js", get(layout::password_script))
        .route("/assets/bell.svg", get(layout::bell_icon))
        .route("/assets/comments.js", get(layout::comments_script))
        .route("/assets/map.js", get(map::script))
        .route("/assets/leaflet.css", get(map::stylesheet))
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn_with_state(state.clone(), layout::error_pages))
        .layer(middleware::from_fn_with_state(state.clone(), layout::content_security))
        // Every answer: its policy unless it has its own (uploaded files are sandboxed), and
        // no sniffing, no framing, no full addresses sent to other sites.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(sessions)
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        // Pages, the stylesheet and the editor bundle (600 KB, 180 KB gzipped) reach phones faster.
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
            tracing::info_span!("request", method = %request.method(), route = route.as_deref().unwrap_or("(unmatched)"))
        }))
        .with_state(state)
}

/// Routes that take large bodies (a whole page, a file) take them only from people who may write
/// in the space: anyone else is held to the ordinary limit before a byte of the body is read
/// (20 anonymous 30 MiB posts took 300 MB before authorisation and the form token were checked).
async fn large_bodies_from_writers(
    axum::extract::State(state): axum::extract::State<AppState>,
    MaybeUser(user): MaybeUser,
    axum::extract::Path(params): axum::extract::Path<Vec<(String, String)>>,
    request: Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if request.method() == axum::http::Method::GET {
        return next.run(request).await;
    }
    let space = params.iter().find(|(k, _)| k == "space").map_or("", |(_, v)| v.as_str());
    let writer = match &user {
        Some(_) => {
            access::space(&state.db, user.as_ref(), space, access::SpaceAction::Edit).await.is_ok()
        }
        None => false,
    };
    if writer {
        return next.run(request).await;
    }
    let small = state.settings.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > small as u64) {
        return AppError::TooLarge.into_response();
    }
    let (parts, body) = request.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, small));
    next.run(Request::from_parts(parts, limited)).await
}

/// `GET /healthz`: the process answers and its database too.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, AppError> {
    use sea_orm::ConnectionTrait;
    state.db.execute_unprepared("SELECT 1").await?;
    Ok("ok")
}

/// Serves the site on `listener` until `shutdown` completes, then finishes the requests under way.
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    forms::store::ensure_builtin(&state.db).await?;
    accounts::store::ensure_handles(&state.db).await?;
    directory::ensure_space(&state.db).await?;
    let sweeper = tokio::spawn(sweep(state.clone()));
    // Mail leaves from here (when mail is set up), until the site stops.
    let outbox_stop = tokio_util::sync::CancellationToken::new();
    let outbox = state
        .settings
        .mail
        .is_some()
        .then(|| tokio::spawn(state.outbox.clone().run(outbox_stop.clone())));
    // Daily digests are written from here, at each person's hour.
    let digests = state.settings.mail.is_some().then(|| {
        tokio::spawn(notifications::digest::run(
            state.db.clone(),
            state.settings.mailing(),
            state.outbox.clone(),
            state.settings.notify.digest_every,
        ))
    });
    let hub = state.hub.clone();
    let search = state.search.clone();
    let limits = listener::Limits {
        per_address: state.settings.max_http_connections_per_address,
        header_timeout: state.settings.header_timeout,
        write_timeout: state.settings.write_timeout,
        trusted_proxies: state.settings.trusted_proxies.clone(),
    };
    let served = listener::serve(listener, router(state), limits, shutdown).await;
    sweeper.abort();
    if let Some(digests) = digests {
        digests.abort();
    }
    outbox_stop.cancel();
    if let Some(outbox) = outbox {
        let _ = outbox.await;
    }
    // Every live document compacts and stops before the process ends.
    hub.shutdown().await;
    // Last projections are written; the index's lock is released for whoever opens it next.
    search.flush().await;
    tokio::task::spawn_blocking(move || search.close()).await?;
    served?;
    Ok(())
}

async fn sweep(state: AppState) {
    let store = DbSessionStore::new(state.db.clone());
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        if let Err(err) = store.delete_expired().await {
            tracing::warn!(error = ?err, "could not delete expired sessions");
        }
        state.sign_in_limits.tidy();
        state.action_limits.tidy();
        let grace = content::UNUSED_GRACE;
        match content::collect_unused(&state.db, &state.settings.uploads_dir, grace).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "unused files deleted"),
            Err(err) => tracing::warn!(error = ?err, "could not delete unused files"),
        }
        if let Some(days) = state.settings.revision_retention_days {
            match history::store::apply_retention(&state.db, days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "old revisions deleted"),
                Err(err) => tracing::warn!(error = ?err, "could not apply the revision retention"),
            }
        }
    }
}

/// The site's own name on Redis, made once and kept in the database: every process of the site
/// reads the same, and two sites sharing a Redis never hear each other.
async fn relay_site_id(db: &Db) -> anyhow::Result<String> {
    use ruche_accounts::entity::site_setting;
    use sea_orm::{sea_query::OnConflict, EntityTrait, Set};
    const KEY: &str = "relay_site_id";
    let fresh: String = (0..12).map(|_| format!("{:x}", rand::random::<u8>() % 16)).collect();
    site_setting::Entity::insert(site_setting::ActiveModel {
        key: Set(KEY.to_owned()),
        value: Set(fresh),
    })
    .on_conflict(OnConflict::column(site_setting::Column::Key).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    let row = site_setting::Entity::find_by_id(KEY.to_owned()).one(db).await?;
    row.map(|r| r.value).ok_or_else(|| anyhow::anyhow!("the site's relay name could not be kept"))
}
