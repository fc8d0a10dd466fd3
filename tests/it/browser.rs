//! Runs the browser tests (`tests/browser/*.test.mjs`, Playwright driving Debian's Chromium)
//! against a real server with real data. Needs Chromium (`apt-get install chromium
//! chromium-driver`) and `npm ci` in `web/`; CI installs both, and fails if they are missing.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{Backend, TestApp, PASSWORD};
use ruche::spaces::{Role, Visibility};

/// Debian's Chromium (or `CHROMIUM`), when it and `web/node_modules` are there; `None` (the test
/// skipped) when they are not, except in CI, which must have them.
fn chromium() -> Option<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = std::path::Path::new(&chromium).exists()
        && std::path::Path::new(root).join("web/node_modules/playwright-core").exists();
    if !ready {
        assert!(std::env::var("CI").is_err(), "CI must install chromium and web/node_modules");
        eprintln!("browser tests skipped: install chromium and run `npm ci` in web/");
        return None;
    }
    Some(chromium)
}

const GUIDE: &str = "# Guide de la coopération\n\nUne ressource publique pour les acteur·rice·s.\n\n## Première étape\n\n| Format | Titre |\n| --- | --- |\n| Webinaire | Le Générateur BFC |\n\n- [x] lire le guide\n- [ ] le partager\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_co_edit_in_real_chromium() {
    let Some(chromium) = chromium() else { return };
    // Mail goes to a real SMTP server of the test's (the forgotten password's form shows).
    let sink = common::smtp::SmtpSink::start().await;
    let smtp = sink.url();
    // The scenarios sign the same people in many times within a minute.
    let app = TestApp::start_with(Backend::Sqlite, move |s| {
        s.mail = Some(ruche::mail::MailSettings::new(&smtp, "Ruche <ruche@example.org>").unwrap());
        s.login_attempts_per_minute = 1000;
        // Editing sessions settle (and tell those who follow or are named) within a second or
        // two; open pages ask for the bell's count every second.
        s.collab.revision_quiet = std::time::Duration::from_secs(1);
        s.notify.bell_every = std::time::Duration::from_secs(1);
        // No tile server in tests: the map draws its markers on an empty background.
        s.map_tiles = "/no-tiles/{z}/{x}/{y}.png".into();
    })
    .await;
    let chantier = app
        .create_space("chantier-1", "Chantier 1 : compétences et métiers", Visibility::Members)
        .await;
    let ressources = app.create_space("ressources", "Ressources", Visibility::Public).await;
    for (email, name, role) in [
        ("sophie@example.org", "Sophie Aouizerate", Role::Owner),
        ("celine@example.org", "Céline Coubard", Role::Editor),
        ("lea@example.org", "Léa Martin", Role::Viewer),
        // A name that is markup: shown as text wherever the browser code puts it.
        ("piege@example.org", "<img src=x id=injected-name>Piège", Role::Editor),
    ] {
        let user = app.create_user(email, name, false).await;
        app.add_member(&chantier, &user, role).await;
        app.add_member(&ressources, &user, role).await;
    }
    // Someone new, in no space yet: they ask to join the chantier.
    app.create_user("nadia@example.org", "Nadia Benali", false).await;
    let token = app.token_for("sophie@example.org").await;
    app.put_page(&token, "chantier-1", "feuille-de-route", "Objectifs du chantier.").await;
    app.put_page(&token, "chantier-1", "boite-a-outils", "Outils :").await;
    app.put_page(&token, "chantier-1", "brouillon", "").await;
    app.put_page(&token, "ressources", "guide", GUIDE).await;
    // A discussion under the guide: a comment and its reply.
    let mut first = None;
    for text in ["Merci pour ce guide, très clair.", "Il manque la partie sur le financement."] {
        let posted = reqwest::Client::new()
            .post(app.url("/api/pages/ressources/guide/comments"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "markdown": text, "reply_to": first }))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), reqwest::StatusCode::CREATED);
        first = first.or(posted.json::<serde_json::Value>().await.unwrap()["id"].as_i64());
    }
    // Entries for the directory, the agenda, the resources and the map.
    let sophie = app.signed_in("sophie@example.org").await;
    app.new_entry(
        &sophie,
        "ressources",
        "Le Labo de l'ESS",
        "organisation",
        &[
            ("name", "Le Labo de l'ESS"),
            ("point.lat", "48.8717"),
            ("point.lon", "2.3431"),
            ("address", "Paris"),
            ("themes", "coopération, ESS"),
        ],
    )
    .await;
    app.new_entry(
        &sophie,
        "ressources",
        "<img src=x id=injected-title>Structure piège",
        "organisation",
        &[("name", "Piège"), ("point.lat", "47.3220"), ("point.lon", "5.0415")],
    )
    .await;
    app.new_entry(
        &sophie,
        "ressources",
        "Savoir Devenir",
        "organisation",
        &[("name", "Savoir Devenir")],
    )
    .await;
    // Today in the agenda's time zone, all day, so the event is both today's and upcoming.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    app.new_entry(
        &sophie,
        "ressources",
        "Atelier de prototypage",
        "event",
        &[
            ("when.start", &format!("{today}T00:05")),
            ("when.end", &format!("{today}T23:59")),
            ("place", "Dijon"),
            ("audience", "public"),
        ],
    )
    .await;
    app.new_entry(
        &sophie,
        "ressources",
        "Référentiel métier de la coopération territoriale",
        "resource",
        &[("type", "référentiel"), ("themes", "chantier 1")],
    )
    .await;

    let shots = screenshots();
    println!("browser screenshots: {}", shots.display());
    let (ok, report) = run_node_test("editing.test.mjs", &app.base, &token, &chromium).await;
    assert!(ok, "browser tests failed (screenshots in {}):\n{report}", shots.display());
    app.stop().await;
}

/// The editor shows the blocks the page will show: a corpus of tricky texts and scripts of what
/// people do with the toolbar and the keyboard (tests/browser/structure.test.mjs), each compared
/// with the server's HTML of the stored text.
///
/// With `RUCHE_BROWSER_HOLD=1`, the server stays up and prints what the script needs, to run
/// `node --test tests/browser/structure.test.mjs` by hand while changing the editor
/// (`RUCHE_ASSETS=web` serves the editor's script and styles from the working tree).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_shows_what_the_page_will_show() {
    let Some(chromium) = chromium() else { return };
    let app = TestApp::start_with(Backend::Sqlite, |s| s.login_attempts_per_minute = 1000).await;
    let space = app.create_space("atelier", "Atelier", Visibility::Members).await;
    let user = app.create_user("camille@example.org", "Camille Durand", false).await;
    app.add_member(&space, &user, Role::Owner).await;
    let token = app.token_for("camille@example.org").await;
    app.put_page(&token, "atelier", "essai", "").await;
    app.put_page(&token, "atelier", "feuille-de-route", "Objectifs.").await;
    if std::env::var("RUCHE_BROWSER_HOLD").is_ok() {
        println!(
            "RUCHE_URL={} RUCHE_PASSWORD='{PASSWORD}' RUCHE_TOKEN={token} RUCHE_SCREENSHOTS={}",
            app.base,
            screenshots().display()
        );
        std::future::pending::<()>().await;
    }
    let (ok, report) = run_node_test("structure.test.mjs", &app.base, &token, &chromium).await;
    assert!(ok, "the editor and the page differ:\n{report}");
    app.stop().await;
}

/// Where the browser tests write their screenshots (`target/browser-screenshots`).
fn screenshots() -> std::path::PathBuf {
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// Runs `node --test tests/browser/{file}` against the server at `base`, as the person whose API
/// token is `token`; whether it passed, and its report (printed too).
async fn run_node_test(file: &str, base: &str, token: &str, chromium: &str) -> (bool, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = tokio::process::Command::new("node")
        .arg("--test")
        .arg(format!("{root}/tests/browser/{file}"))
        .env("RUCHE_URL", base)
        .env("RUCHE_PASSWORD", PASSWORD)
        .env("RUCHE_TOKEN", token)
        .env("RUCHE_SCREENSHOTS", screenshots())
        .env("CHROMIUM", chromium)
        .output()
        .await
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{report}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    (output.status.success(), report)
}
