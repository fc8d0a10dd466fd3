//! Test helpers: start the real server on an ephemeral port over a fresh database (SQLite, and
//! PostgreSQL when RUCHE_TEST_POSTGRES names a server), and talk to it like a browser would.
#![allow(dead_code)]

use std::net::SocketAddr;

use reqwest::{redirect::Policy, Client, StatusCode};
use ruche::{
    accounts::{self, store::NewUser, User},
    app::{self, AppState},
    config::{sqlite_url, Settings},
    db::{self, Db},
    spaces::{self, store::NewSpace, Role, Space, SpaceSlug, Visibility},
};
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::oneshot;

pub mod fuzzing;
pub mod inert;
pub mod smtp;
pub mod yclient;

pub const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named test function once per backend: `name::sqlite` and `name::postgres` (the
/// latter only does something when RUCHE_TEST_POSTGRES is set).
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let app = $crate::common::TestApp::start($crate::common::Backend::Sqlite).await;
                    super::$name(&app).await;
                    app.stop().await;
                }

                #[tokio::test]
                async fn postgres() {
                    if std::env::var("RUCHE_TEST_POSTGRES").is_err() {
                        eprintln!("RUCHE_TEST_POSTGRES is not set: PostgreSQL variant not run");
                        return;
                    }
                    let app = $crate::common::TestApp::start($crate::common::Backend::Postgres).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            }
        )*
    };
}

/// A fresh, empty database of the given kind; returns its URL and keeps any temporary folder alive.
pub async fn fresh_database(backend: Backend) -> (String, Option<tempfile::TempDir>) {
    // PostgreSQL test databases are dropped when their test app stops (see `TestApp::stop`).
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            (sqlite_url(&dir.path().join("ruche.db")), Some(dir))
        }
        Backend::Postgres => {
            let admin_url = std::env::var("RUCHE_TEST_POSTGRES").expect("RUCHE_TEST_POSTGRES");
            let name = format!("ruche_test_{}", uuid_like());
            let admin =
                Database::connect(&admin_url).await.expect("connecting to RUCHE_TEST_POSTGRES");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("creating a test database");
            admin.close().await.ok();
            let mut url = url::Url::parse(&admin_url).expect("RUCHE_TEST_POSTGRES is a URL");
            url.set_path(&format!("/{name}"));
            (url.to_string(), None)
        }
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16).map(|_| char::from(b'a' + rng.gen_range(0..26))).collect()
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The server's live documents, to observe them.
    pub hub: ruche::collab::Hub,
    /// The server's rendered pages, to observe them.
    pub rendered: std::sync::Arc<ruche::pages::render::RenderCache>,
    pub search: ruche::search::SearchIndex,
    pub base: String,
    pub db: Db,
    pub database_url: String,
    /// What the server runs with (its own data directory included).
    pub settings: Settings,
    data: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts on a fresh database with settings changed by `configure`.
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Self {
        let (url, dir) = fresh_database(backend).await;
        let mut app = Self::start_configured(&url, configure).await;
        app._dir = dir;
        app
    }

    /// Starts the real application on port 0 over the database at `url`.
    pub async fn start_on(url: &str) -> Self {
        Self::start_configured(url, |_| {}).await
    }

    pub async fn start_configured(url: &str, configure: impl FnOnce(&mut Settings)) -> Self {
        let data_dir = tempfile::tempdir().expect("data directory");
        Self::start_in(url, data_dir, configure).await
    }

    /// Starts on `url` with this data directory (uploads, search index).
    pub async fn start_in(
        url: &str,
        data_dir: tempfile::TempDir,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        // Server logs (warnings and errors) show in a failing test's output.
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
        let data = data_dir.path().to_owned();
        let db = db::connect(url).await.expect("database opens and migrates");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let mut settings = Settings::new(data, url.to_owned());
        settings.addr = addr;
        settings.base_url = format!("http://{addr}");
        // Projections catch up quickly, so tests need not wait.
        settings.collab.settle = std::time::Duration::from_millis(50);
        configure(&mut settings);
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(db.clone(), settings.clone()).await.expect("application starts");
        let hub = state.hub.clone();
        let rendered = state.rendered.clone();
        let search = state.search.clone();
        let server = tokio::spawn(async move {
            app::launch(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            addr,
            hub,
            rendered,
            search,
            base: format!("http://{addr}"),
            db,
            database_url: url.to_owned(),
            settings,
            data: Some(data_dir),
            stop: Some(stop),
            server: Some(server),
            _dir: None,
        }
    }

    /// Stops the server and waits until it has finished.
    pub async fn stop(mut self) {
        self.shutdown().await;
        self.drop_database().await;
    }

    /// Stops the server but leaves its database (another test app may share it).
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.db.clone().close().await.ok();
    }

    /// Drops a PostgreSQL test database once nothing uses it.
    async fn drop_database(&self) {
        let (Ok(admin_url), Some(name)) =
            (std::env::var("RUCHE_TEST_POSTGRES"), self.database_url.strip_prefix("postgres"))
        else {
            return;
        };
        let Some(name) = name.rsplit('/').next().filter(|n| n.starts_with("ruche_test_")) else {
            return;
        };
        if let Ok(admin) = Database::connect(&admin_url).await {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
    }

    /// Stops this server and starts another on the same database (and folder).
    pub async fn restart(mut self) -> Self {
        self.shutdown().await;
        let dir = self._dir.take();
        let data = self.data.take().expect("data directory");
        let mut again = Self::start_in(&self.database_url, data, |_| {}).await;
        again._dir = dir;
        again
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn browser(&self) -> Client {
        Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client")
    }

    pub async fn create_user(&self, email: &str, name: &str, is_admin: bool) -> User {
        let new =
            NewUser { email: email.into(), name: name.into(), password: PASSWORD.into(), is_admin };
        accounts::store::create(&self.db, new).await.expect("account created")
    }

    pub async fn create_space(&self, slug: &str, title: &str, visibility: Visibility) -> Space {
        let new = NewSpace {
            slug: SpaceSlug::parse(slug).expect("valid slug"),
            title: title.into(),
            description: format!("Description of {title}"),
            visibility,
        };
        spaces::store::create(&self.db, new, None).await.expect("space created")
    }

    pub async fn add_member(&self, space: &Space, user: &User, role: Role) {
        spaces::store::set_member(&self.db, space.id, user.id, role).await.expect("member added");
    }

    /// An API token for the account `email`.
    pub async fn token_for(&self, email: &str) -> String {
        let user = accounts::store::find_by_email(&self.db, email)
            .await
            .expect("lookup")
            .expect("account exists");
        accounts::tokens::create(&self.db, user.id, "test").await.expect("token").1
    }

    /// The websocket address of a page.
    pub fn ws_url(&self, space: &str, page: &str) -> String {
        format!("ws://{}/ws/{space}/{page}", self.addr)
    }

    /// `PUT /api/pages/{space}/{page}` with Markdown, as the token's owner.
    pub async fn put_page(
        &self,
        token: &str,
        space: &str,
        page: &str,
        markdown: &str,
    ) -> reqwest::Response {
        reqwest::Client::new()
            .put(self.url(&format!("/api/pages/{space}/{page}")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "markdown": markdown }))
            .send()
            .await
            .expect("PUT page")
    }

    /// `PUT /api/pages/{space}/{page}` of `markdown`, written from the text `base`.
    pub async fn put_page_from(
        &self,
        token: &str,
        space: &str,
        page: &str,
        base: &str,
        markdown: &str,
    ) -> reqwest::Response {
        reqwest::Client::new()
            .put(self.url(&format!("/api/pages/{space}/{page}")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "markdown": markdown, "base_markdown": base }))
            .send()
            .await
            .expect("PUT page")
    }

    /// The page's Markdown as `GET /api/pages/...` returns it.
    pub async fn page_text(&self, token: &str, space: &str, page: &str) -> String {
        let body: serde_json::Value = reqwest::Client::new()
            .get(self.url(&format!("/api/pages/{space}/{page}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET page")
            .json()
            .await
            .expect("JSON page");
        body["markdown"].as_str().expect("markdown").to_owned()
    }

    /// A page's plain edit form as `client` gets it: its HTML, and the state of the document it
    /// was opened on (the `base` field).
    pub async fn edit_form(&self, client: &Client, space: &str, page: &str) -> (String, String) {
        let path = format!("/s/{space}/{page}/edit");
        let html =
            client.get(self.url(&path)).send().await.expect("GET").text().await.expect("body");
        let selector = scraper::Selector::parse("input[name=base]").expect("selector");
        let base = scraper::Html::parse_document(&html)
            .select(&selector)
            .next()
            .and_then(|input| input.value().attr("value").map(str::to_owned))
            .unwrap_or_else(|| panic!("no base field on {path}"));
        (html, base)
    }

    /// The CSRF token of the form on the page at `path`, fetched with `client`.
    pub async fn csrf(&self, client: &Client, path: &str) -> String {
        let html =
            client.get(self.url(path)).send().await.expect("GET").text().await.expect("body");
        csrf_in(&html).unwrap_or_else(|| panic!("no CSRF field on {path}"))
    }

    /// Signs in through the form and returns the response to the form's submission.
    pub async fn sign_in_response(
        &self,
        client: &Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let token = self.csrf(client, "/login").await;
        client
            .post(self.url("/login"))
            .form(&[
                ("_csrf", token.as_str()),
                ("email", email),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("POST /login")
    }

    /// A browser signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> Client {
        let client = self.browser();
        let response = self.sign_in_response(&client, email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {email} should succeed");
        client
    }

    /// Posts a form from the page at `page` (taking its CSRF token) to `action`.
    pub async fn post_form(
        &self,
        client: &Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf(client, page).await;
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        client.post(self.url(action)).form(&all).send().await.expect("POST form")
    }
}

impl TestApp {
    /// Creates an entry of `form` titled `title` in `space` through the form a person uses (title
    /// and fields on one page), with these field values; answers its address within the space.
    pub async fn new_entry(
        &self,
        client: &Client,
        space: &str,
        title: &str,
        form: &str,
        fields: &[(&str, &str)],
    ) -> String {
        let path = format!("/s/{space}/new?form={form}");
        let mut all = vec![("_title", title)];
        all.extend_from_slice(fields);
        let created = self.post_form(client, &path, &path, &all).await;
        let status = created.status();
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "entry {title} created: {}",
            created.text().await.unwrap_or_default()
        );
        let location = created.headers()["location"].to_str().expect("location").to_owned();
        location.trim_start_matches(&format!("/s/{space}/")).to_owned()
    }

    /// GET anonymously, answering the body as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        reqwest::get(self.url(path)).await.expect("GET").json().await.expect("JSON")
    }

    /// GET with an API token, answering the body as JSON.
    pub async fn get_json_as(&self, token: &str, path: &str) -> serde_json::Value {
        Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON")
    }

    /// GET as `client` (or anonymously), answering the status and the body.
    pub async fn get_text(&self, client: Option<&Client>, path: &str) -> (StatusCode, String) {
        let response = match client {
            Some(c) => c.get(self.url(path)).send().await,
            None => reqwest::get(self.url(path)).await,
        }
        .expect("GET");
        let status = response.status();
        (status, response.text().await.expect("body"))
    }
}

/// The value of the first `_csrf` hidden field in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(r#"input[name="_csrf"]"#).ok()?;
    let value = doc.select(&selector).next()?.value().attr("value")?.to_owned();
    (!value.is_empty()).then_some(value)
}

/// A real `ruche` process (the built binary), for tests that kill processes or run several.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub base: String,
    pub ws: String,
}

impl ServerProcess {
    /// Starts the binary on a free port over `database_url`, with its own data directory and
    /// these extra environment variables; waits until it answers.
    pub async fn spawn(database_url: &str, env: &[(&str, &str)]) -> Self {
        Self::spawn_logging(database_url, env, std::process::Stdio::inherit()).await
    }

    /// `spawn`, with what the process logs (its standard error) sent to `log`.
    pub async fn spawn_logging(
        database_url: &str,
        env: &[(&str, &str)],
        log: impl Into<std::process::Stdio>,
    ) -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            probe.local_addr().expect("port").port()
        };
        let data = tempfile::tempdir().expect("data directory").keep();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ruche"));
        command
            .env("DATABASE_URL", database_url)
            .env("RUCHE_DATA", &data)
            .env("RUCHE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the ruche binary starts");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..400 {
            if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
                if r.status().is_success() {
                    return Self { child, ws: format!("ws://127.0.0.1:{port}"), base };
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server process ended at start: {status}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server process did not start");
    }

    /// The websocket address of a page on this process.
    pub fn ws_url(&self, space: &str, page: &str) -> String {
        format!("{}/ws/{space}/{page}", self.ws)
    }

    /// `kill -9`, and waits for the process to be gone.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("kill");
        self.child.wait().await.expect("the process ends");
    }
}

/// The Markdown of a page as stored in the database (snapshot and update log), read directly.
pub async fn stored_text(db: &Db, page: i64) -> String {
    use yrs::{updates::decoder::Decode, GetString, Transact};
    let stored =
        ruche::collab::store::load(db, ruche::collab::DocId(page)).await.expect("stored document");
    let doc = ruche::collab::doc::new_doc();
    {
        let mut txn = doc.transact_mut();
        for data in stored.snapshot.iter().chain(stored.updates.iter().map(|u| &u.data)) {
            txn.apply_update(yrs::Update::decode_v1(data).expect("decodes")).expect("applies");
        }
    }
    let body = doc.get_or_insert_text("body");
    let txn = doc.transact();
    body.get_string(&txn)
}
