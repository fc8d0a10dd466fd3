//! The site as a whole: health, languages, error pages, and the `ruche` command itself.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::{io::Write, process::Stdio};

use common::{fresh_database, Backend, TestApp, PASSWORD};
use reqwest::StatusCode;

on_each_backend!(
    health_check_answers,
    english_is_available_by_header_and_by_switch,
    errors_are_pages_or_json,
    public_space_home_needs_no_account
);

async fn health_check_answers(app: &TestApp) {
    let response = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

async fn english_is_available_by_header_and_by_switch(app: &TestApp) {
    app.create_user("admin@example.org", "Admin", true).await;
    let browser = app.browser();
    let french = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(french.contains("<html lang=\"fr\"") && french.contains("Se connecter"));

    let english = browser
        .get(app.url("/login"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(english.text().await.unwrap().contains("Sign in"));

    let switched = browser.get(app.url("/lang/en?next=/login")).send().await.unwrap();
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(switched.headers()["location"], "/login");
    let page = browser
        .get(app.url("/login"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"en\""), "the switch sticks over the browser's preference");

    let elsewhere = browser.get(app.url("/lang/fr?next=//evil.example")).send().await.unwrap();
    assert_eq!(
        elsewhere.headers()["location"],
        "/",
        "the switch never sends people to another site"
    );
}

async fn errors_are_pages_or_json(app: &TestApp) {
    let browser = app.browser();
    let page = browser.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<main") && html.contains("Page introuvable"),
        "a readable page in the layout"
    );

    let json = browser
        .get(app.url("/no/such/page"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = json.json().await.unwrap();
    assert_eq!(body["error"], "not_found");

    let api = browser
        .get(app.url("/api/spaces/none"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["message"], "This page does not exist, or you do not have access to it.");

    let bad = browser
        .post(app.url("/api/spaces"))
        .json(&serde_json::json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
}

async fn public_space_home_needs_no_account(app: &TestApp) {
    app.create_space(
        "ressources",
        "Ressources de la coopération",
        ruche::spaces::Visibility::Public,
    )
    .await;
    let page = app.browser().get(app.url("/s/ressources")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Ressources de la coopération") && html.contains("Description of"));
}

fn ruche(database_url: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ruche"));
    command.env("DATABASE_URL", database_url).env("RUST_LOG", "warn");
    command
}

#[tokio::test]
async fn the_command_line_creates_accounts_and_tokens() {
    let (url, _dir) = fresh_database(Backend::Sqlite).await;
    let mut add = ruche(&url)
        .args([
            "user",
            "add",
            "admin@example.org",
            "--name",
            "Mickaël Vartuaroglu",
            "--password-stdin",
            "--admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    let output = add.wait_with_output().unwrap();
    assert!(output.status.success(), "user add: {}", String::from_utf8_lossy(&output.stdout));

    let output = ruche(&url)
        .args(["token", "create", "admin@example.org", "--name", "robot"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();

    let app = TestApp::start_on(&url).await;
    let me: serde_json::Value = reqwest::Client::new()
        .get(app.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Mickaël Vartuaroglu");
    assert_eq!(me["is_admin"], true);
    let browser = app.browser();
    let signed = app.sign_in_response(&browser, "admin@example.org", PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER, "the password read from stdin works");
    app.stop().await;
}

#[tokio::test]
async fn demo_fills_an_empty_site_once() {
    let (url, _dir) = fresh_database(Backend::Sqlite).await;
    let output = ruche(&url).arg("demo").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    let password = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .expect("the demo prints how to sign in")
        .trim()
        .to_owned();

    let app = TestApp::start_on(&url).await;
    let anonymous = app.browser().get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(anonymous.contains("Chantier 1 : Développer les compétences"));
    assert!(!anonymous.contains("Comité de pilotage"), "the steering committee is private");

    let admin = app.browser();
    let signed = app.sign_in_response(&admin, "admin@demo.example.org", &password).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let home = admin.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Comité de pilotage"));
    let orgs = admin
        .get(app.url("/s/structures-cooperantes/liste-des-structures"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        orgs.contains("Fonds de dotation Que Vol&#39;terre")
            || orgs.contains("Fonds de dotation Que Vol'terre")
    );
    let roadmap = admin
        .get(app.url("/s/chantier-1-competences-metiers/feuille-de-route"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        roadmap.contains("Élaborer un référentiel métier"),
        "each chantier has its roadmap page"
    );
    let welcome = app
        .browser()
        .get(app.url("/s/accueil/bienvenue"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(welcome.contains("href=\"/agenda\""), "the public home links to the agenda");
    // Events, resources, organisations and the referents' profiles are entries of their forms.
    let public = |path: &'static str| {
        let url = app.url(path);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let agenda = public("/agenda?when=past").await;
    assert!(agenda.contains("Restitution de la démarche"), "public events in the agenda");
    assert!(!agenda.contains("Journée de lancement"), "meetings between chantiers are for members");
    assert!(public("/resources")
        .await
        .contains("Référentiel métier de la coopération territoriale"));
    assert!(public("/directory?kind=people").await.contains("Sophie Aouizerate"));
    assert!(public("/directory?q=centsept").await.contains("Centsept"));
    let members_agenda =
        admin.get(app.url("/agenda?when=past")).send().await.unwrap().text().await.unwrap();
    assert!(members_agenda.contains("Journée de lancement"));
    app.stop().await;

    let again = ruche(&url).arg("demo").output().unwrap();
    assert!(!again.status.success(), "a second run refuses to touch a filled site");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has spaces"));
}

#[tokio::test]
async fn the_editor_bundle_is_served_compressed() {
    let app = TestApp::start(Backend::Sqlite).await;
    let plain = reqwest::Client::builder().no_gzip().build().unwrap();
    let response = plain
        .get(app.url("/assets/editor.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = response.bytes().await.unwrap().len();
    assert!(compressed < include_str!("../../web/dist/editor.js").len() / 2, "{compressed} bytes");
    app.stop().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::start(Backend::Sqlite).await;
    for path in ["/", "/login", "/map", "/api/me", "/assets/editor.js", "/no-such-page"] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        let script = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert_eq!(script.trim(), "script-src 'self'", "{path}: no inline script anywhere");
        assert!(csp.contains("style-src 'self' 'nonce-"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("https://tile.openstreetmap.org"), "the map's tiles may load: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin", "{path}");
    }
    app.stop().await;
}
