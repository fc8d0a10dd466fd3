//! Page history: revisions when editing goes quiet, contributors, comparing, restoring live.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::time::Duration;

use common::{yclient::YClient, Backend, TestApp};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    quiet_sessions_become_revisions_and_nothing_new_makes_none,
    contributors_are_the_people_who_typed,
    compare_shows_inserted_and_deleted_words,
    a_restore_reaches_live_editors_and_is_a_revision,
    restoring_an_entry_brings_its_fields_back_live
);

const SPACE: &str = "chantier-2";
const PAGE: &str = "outils";

async fn server(app: &TestApp) -> TestApp {
    TestApp::start_configured(&app.database_url, |s| {
        s.collab.revision_quiet = Duration::from_millis(300)
    })
    .await
}

async fn cast(app: &TestApp) -> (String, String) {
    let space = app.create_space(SPACE, "Chantier 2", Visibility::Members).await;
    for (email, name) in
        [("woafae@example.org", "Woafae Kerzazi"), ("julien@example.org", "Julien Neiertz")]
    {
        let user = app.create_user(email, name, false).await;
        app.add_member(&space, &user, Role::Editor).await;
    }
    let a = app.token_for("woafae@example.org").await;
    let b = app.token_for("julien@example.org").await;
    assert_eq!(app.put_page(&a, SPACE, PAGE, "").await.status(), StatusCode::CREATED);
    (a, b)
}

async fn revisions(app: &TestApp, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(app.url(&format!("/api/pages/{SPACE}/{PAGE}/revisions")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_revisions(app: &TestApp, token: &str, count: u64) -> serde_json::Value {
    for _ in 0..400 {
        let list = revisions(app, token).await;
        if list["total"].as_u64() == Some(count) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("expected {count} revisions, got {}", revisions(app, token).await);
}

async fn quiet_sessions_become_revisions_and_nothing_new_makes_none(app: &TestApp) {
    let app = server(app).await;
    let (a, _) = cast(&app).await;
    let client = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&a)).await;
    client.append("Recenser les outils de financement.");
    let list = wait_revisions(&app, &a, 1).await;
    assert_eq!(list["revisions"][0]["kind"], "session");

    // Nothing typed: however long it stays quiet, no new revision.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(revisions(&app, &a).await["total"], 1);

    client.append(" Et les problématiser.");
    let list = wait_revisions(&app, &a, 2).await;
    let id = list["revisions"][0]["id"].as_i64().unwrap();
    let revision: serde_json::Value = reqwest::Client::new()
        .get(app.url(&format!("/api/pages/{SPACE}/{PAGE}/revisions/{id}")))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(revision["markdown"], "Recenser les outils de financement. Et les problématiser.");
    drop(client);
    app.stop().await;
}

async fn contributors_are_the_people_who_typed(app: &TestApp) {
    let app = server(app).await;
    let (a, b) = cast(&app).await;
    let woafae = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&a)).await;
    let julien = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&b)).await;
    woafae.append("Problématiser les freins. ");
    julien.append("Recenser les outils. ");
    let list = wait_revisions(&app, &a, 1).await;
    let names: Vec<&str> = list["revisions"][0]["contributors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names, ["Julien Neiertz", "Woafae Kerzazi"]);

    let html = reqwest::Client::new()
        .get(app.url(&format!("/s/{SPACE}/{PAGE}")))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Dernière modification par Julien Neiertz, Woafae Kerzazi"),
        "the page says who changed it last"
    );
    app.stop().await;
}

async fn compare_shows_inserted_and_deleted_words(app: &TestApp) {
    let app = server(app).await;
    let (a, _) = cast(&app).await;
    app.put_page(&a, SPACE, PAGE, "Les outils financiers existants.").await;
    wait_revisions(&app, &a, 1).await;
    app.put_page(&a, SPACE, PAGE, "Les nouveaux outils existants.").await;
    let list = wait_revisions(&app, &a, 2).await;
    let (new, old) = (
        list["revisions"][0]["id"].as_i64().unwrap(),
        list["revisions"][1]["id"].as_i64().unwrap(),
    );
    let html = reqwest::Client::new()
        .get(app.url(&format!("/s/{SPACE}/{PAGE}/compare?from={old}&to={new}")))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<ins><span class=\"visually-hidden\">[ajouté : </span>nouveaux"),
        "{html}"
    );
    assert!(
        html.contains("<del><span class=\"visually-hidden\">[supprimé : </span> financiers"),
        "{html}"
    );
    app.stop().await;
}

async fn a_restore_reaches_live_editors_and_is_a_revision(app: &TestApp) {
    let app = server(app).await;
    let (a, _) = cast(&app).await;
    app.put_page(&a, SPACE, PAGE, "Version validée.").await;
    let first = wait_revisions(&app, &a, 1).await["revisions"][0]["id"].as_i64().unwrap();
    let live = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&a)).await;
    live.wait_for("sync", |t| t == "Version validée.").await;
    live.append(" Brouillon à jeter.");
    wait_revisions(&app, &a, 2).await;

    let browser = app.signed_in("woafae@example.org").await;
    // Saving a version is explained where it is offered: every change is saved already.
    let (_, page) = app.get_text(Some(&browser), &format!("/s/{SPACE}/{PAGE}/history")).await;
    assert!(page.contains("Chaque modification est déjà enregistrée"), "{page}");
    let restored = app
        .post_form(
            &browser,
            &format!("/s/{SPACE}/{PAGE}/history"),
            &format!("/s/{SPACE}/{PAGE}/history/{first}/restore"),
            &[],
        )
        .await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    live.wait_for("the live editor to see the restored text", |t| t == "Version validée.").await;
    let kinds: Vec<String> = revisions(&app, &a).await["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds[0], "restore");

    live.append(" Suite normale.");
    live.wait_for("typing to go on", |t| t == "Version validée. Suite normale.").await;
    for _ in 0..200 {
        if app.page_text(&a, SPACE, PAGE).await == "Version validée. Suite normale." {
            app.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("later edits were not stored");
}

#[tokio::test]
async fn history_is_private_to_those_who_may_read_the_page() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (a, _) = cast(&app).await;
    app.put_page(&a, SPACE, PAGE, "Secret du chantier.").await;
    let anonymous = app.browser();
    assert_eq!(
        anonymous
            .get(app.url(&format!("/api/pages/{SPACE}/{PAGE}/revisions")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous
            .get(app.url(&format!("/s/{SPACE}/{PAGE}/history")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

async fn restoring_an_entry_brings_its_fields_back_live(app: &TestApp) {
    let (token, _) = cast(app).await;
    let browser = app.signed_in("woafae@example.org").await;
    let slug = app
        .new_entry(
            &browser,
            SPACE,
            "Atelier",
            "event",
            &[
                ("when.start", "2031-03-12T09:30"),
                ("when.end", "2031-03-12T12:00"),
                ("place", "Lyon"),
                ("audience", "public"),
            ],
        )
        .await;
    let page = format!("/s/{SPACE}/{slug}");
    let history = format!("{page}/history");
    app.post_form(&browser, &history, &format!("{history}/save"), &[("note", "à Lyon")]).await;
    let fields = format!("{page}/fields");
    let moved = app
        .post_form(
            &browser,
            &fields,
            &fields,
            &[
                ("when.start", "2031-03-12T09:30"),
                ("when.end", "2031-03-12T12:00"),
                ("place", "Paris"),
                ("online", "https://visio.example.org/atelier"),
                ("audience", "members"),
            ],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    app.post_form(&browser, &history, &format!("{history}/save"), &[("note", "à Paris")]).await;
    let list = app.get_json_as(&token, &format!("/api/pages/{SPACE}/{slug}/revisions")).await;
    let ids: Vec<i64> =
        list["revisions"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let (paris, lyon) = (ids[0], ids[1]);

    // The comparison names the values that changed, as people read them.
    let (_, compare) =
        app.get_text(Some(&browser), &format!("{page}/compare?from={lyon}&to={paris}")).await;
    assert!(compare.contains("Informations modifiées"), "{compare}");
    assert!(
        compare.contains("<del>Lyon</del>") && compare.contains("<ins>Paris</ins>"),
        "{compare}"
    );
    assert!(compare.contains("Lien de la visio"), "a value added is a change too");

    let live = YClient::connect(&app.ws_url(SPACE, &slug), Some(&token)).await;
    common::yclient::wait_until("the live client to hold the fields", || {
        live.fields().get("place").filter(|p| *p == "Paris").cloned()
    })
    .await;
    let restored =
        app.post_form(&browser, &history, &format!("{history}/{lyon}/restore"), &[]).await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    common::yclient::wait_until("the restored fields to reach the live client", || {
        live.fields().get("place").filter(|p| *p == "Lyon").cloned()
    })
    .await;
    assert!(live.fields().get("online").is_none_or(|v| v.is_null()), "{:?}", live.fields());
    // Lists follow at once (they read the projection).
    let (_, table) = app.get_text(Some(&browser), "/forms/event?view=table").await;
    assert!(table.contains("Lyon") && !table.contains("Paris"), "{table}");
}
