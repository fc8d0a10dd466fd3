//! Search: French stems and accents, phrases, the index following live edits, trash and
//! access — a private space never shows in a hit, a count or a facet, whatever the query.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{yclient::YClient, TestApp};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};
use serde_json::Value;

on_each_backend!(
    french_words_match_whatever_their_accents_and_endings,
    the_index_follows_live_edits_trash_and_access,
    facets_and_counts_only_count_what_the_reader_may_see,
    an_index_holding_comments_is_in_step_and_not_rebuilt_at_start,
    passages_show_values_as_the_entry_page_does
);

async fn search(app: &TestApp, token: Option<&str>, query: &str) -> Value {
    let mut request = reqwest::Client::new().get(app.url("/api/search")).query(&[("q", query)]);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

fn titles(found: &Value) -> Vec<String> {
    found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Searches until `check` holds (the index follows changes after they settle).
async fn eventually(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = search(app, token, query).await;
        if check(&found) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "search for {query:?} never matched: {found}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn french_words_match_whatever_their_accents_and_endings(app: &TestApp) {
    app.create_space("ressources", "Ressources", Visibility::Public).await;
    app.create_user("admin@example.org", "Admin", true).await;
    let token = app.token_for("admin@example.org").await;
    app.put_page(
        &token,
        "ressources",
        "cahier",
        "Les coopérations territoriales pour une transition écologique juste.",
    )
    .await;
    app.put_page(
        &token,
        "ressources",
        "ecologie",
        "Une écologie de la transition, juste et solidaire.",
    )
    .await;
    app.put_page(&token, "ressources", "english", "Cooperation networks are running workshops.")
        .await;
    for query in ["coopération", "cooperations", "COOPERATION", "coopérative"] {
        let found = eventually(app, None, query, |f| f["total"].as_u64() > Some(0)).await;
        assert!(titles(&found).contains(&"Cahier".to_owned()), "{query}: {found}");
    }
    let found = search(app, None, "territorial").await;
    assert!(titles(&found).contains(&"Cahier".to_owned()), "singular finds plural");
    // A phrase in quotes matches those words in that order only.
    let phrase = search(app, None, "\"transition écologique\"").await;
    assert_eq!(titles(&phrase), ["Cahier"], "{phrase}");
    let words = search(app, None, "transition écologique").await;
    assert_eq!(words["total"], 2, "without quotes both pages have both words: {words}");
    // English pages are searchable too, with English endings.
    let english = search(app, None, "workshop run").await;
    assert_eq!(titles(&english), ["English"], "{english}");
    // The matching passage is highlighted, and escaped.
    assert!(phrase["hits"][0]["passage"].as_str().unwrap().contains("<mark>"));
    // Nonsense and unbalanced quotes are not errors; an overlong query is refused clearly.
    assert!(search(app, None, "\"transition AND (").await["total"].as_u64().is_some());
    let long = "mot ".repeat(100);
    let refused = reqwest::Client::new()
        .get(app.url("/api/search"))
        .query(&[("q", &long)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = reqwest::Client::new()
        .get(app.url("/search"))
        .query(&[("q", "coopération")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<mark>coopérations</mark>") || html.contains("<mark>coopération"),
        "{html}"
    );
}

async fn the_index_follows_live_edits_trash_and_access(app: &TestApp) {
    let space = app.create_space("chantier-4", "Chantier 4", Visibility::Public).await;
    let owner = app.create_user("celine@example.org", "Céline", false).await;
    app.add_member(&space, &owner, Role::Owner).await;
    let token = app.token_for("celine@example.org").await;
    app.put_page(&token, "chantier-4", "ecosystemes", "Développer les écosystèmes coopératifs.")
        .await;
    eventually(app, None, "écosystèmes", |f| f["total"] == 1).await;

    // Typed over the websocket: found by the new words once settled, not by the removed ones.
    let live = YClient::connect(&app.ws_url("chantier-4", "ecosystemes"), Some(&token)).await;
    live.wait_for("the text", |t| t.contains("écosystèmes")).await;
    live.delete(0, "Développer".encode_utf16().count() as u32);
    live.type_at(0, "Cartographier");
    live.wait_for("the edit", |t| t.starts_with("Cartographier")).await;
    eventually(app, None, "cartographier", |f| f["total"] == 1).await;
    eventually(app, None, "développer", |f| f["total"] == 0).await;

    // Trashed: gone; restored: back.
    let owner_browser = app.signed_in("celine@example.org").await;
    let trashed = app
        .post_form(
            &owner_browser,
            "/s/chantier-4/ecosystemes",
            "/s/chantier-4/ecosystemes/trash",
            &[],
        )
        .await;
    assert_eq!(trashed.status(), StatusCode::SEE_OTHER);
    eventually(app, Some(&token), "cartographier", |f| f["total"] == 0).await;
    app.post_form(&owner_browser, "/s/chantier-4/trash", "/s/chantier-4/ecosystemes/restore", &[])
        .await;
    eventually(app, None, "cartographier", |f| f["total"] == 1).await;

    // The space becomes private: outsiders find nothing, at once; its members still do.
    let made_private = reqwest::Client::new()
        .put(app.url("/api/spaces/chantier-4"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "title": "Chantier 4", "visibility": "private" }))
        .send()
        .await
        .unwrap();
    if made_private.status() == StatusCode::METHOD_NOT_ALLOWED {
        let settings = app
            .post_form(
                &owner_browser,
                "/s/chantier-4/settings",
                "/s/chantier-4/settings",
                &[("title", "Chantier 4"), ("description", ""), ("visibility", "private")],
            )
            .await;
        assert_eq!(settings.status(), StatusCode::SEE_OTHER);
    }
    let outsider = search(app, None, "cartographier").await;
    assert_eq!(outsider["total"], 0, "{outsider}");
    assert!(outsider["spaces"].as_array().unwrap().is_empty());
    assert_eq!(search(app, Some(&token), "cartographier").await["total"], 1);
    let (_, html) = app.get_text(None, "/search?q=cartographier").await;
    assert!(
        !html.contains("Chantier 4") && !html.contains("Cartographier"),
        "nothing about the private space"
    );
}

async fn facets_and_counts_only_count_what_the_reader_may_see(app: &TestApp) {
    let public = app.create_space("accueil", "Accueil", Visibility::Public).await;
    let comite = app.create_space("comite", "Comité de pilotage", Visibility::Private).await;
    let members = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let sophie = app.create_user("sophie@example.org", "Sophie", false).await;
    for space in [&public, &comite, &members] {
        app.add_member(space, &sophie, Role::Editor).await;
    }
    let token = app.token_for("sophie@example.org").await;
    app.put_page(&token, "accueil", "financement", "Le financement de la coopération.").await;
    app.put_page(&token, "comite", "budget", "Le financement secret du comité.").await;
    app.put_page(&token, "chantier-2", "outils", "Outils de financement.").await;
    let browser = app.signed_in("sophie@example.org").await;
    app.new_entry(
        &browser,
        "accueil",
        "Atelier financement",
        "event",
        &[("when.start", "2025-05-01T10:00"), ("audience", "members")],
    )
    .await;
    eventually(app, Some(&token), "financement", |f| f["total"] == 4).await;
    // The event became members-only when its details were saved, just after it was created:
    // the index follows within a moment (hits themselves are checked again at query time).
    eventually(app, None, "financement", |f| f["total"] == 1).await;

    app.create_user("outsider@example.org", "Outsider", false).await;
    let outsider = app.token_for("outsider@example.org").await;
    for (who, bearer, total) in [
        ("anonymous", None, 1),
        ("outsider", Some(outsider.as_str()), 1),
        ("member", Some(token.as_str()), 4),
    ] {
        let found = search(app, bearer, "financement").await;
        assert_eq!(found["total"], total, "{who}: {found}");
        let facet_sum: u64 =
            found["spaces"].as_array().unwrap().iter().map(|f| f["count"].as_u64().unwrap()).sum();
        assert_eq!(facet_sum, total, "{who}: space facets count what {who} sees");
        let labels = found["spaces"].to_string();
        if who != "member" {
            assert!(
                !labels.contains("Comité") && !labels.contains("Chantier 2"),
                "{who}: {labels}"
            );
            assert!(
                !found.to_string().contains("secret"),
                "{who}: no passage of the private space"
            );
            assert!(!found.to_string().contains("Atelier"), "{who}: no members-only event");
        }
    }
    // Narrowing to a space one may not read gives nothing, like an unknown space.
    let narrowed = reqwest::Client::new()
        .get(app.url("/api/search"))
        .query(&[("q", "financement"), ("space", "comite")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(narrowed["total"], 0);
    let by_form = reqwest::Client::new()
        .get(app.url("/api/search"))
        .query(&[("q", "financement"), ("form", "event")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(titles(&by_form), ["Atelier financement"]);
}

#[tokio::test]
async fn a_lost_or_corrupt_index_is_rebuilt_at_start() {
    let mut app = TestApp::start(common::Backend::Sqlite).await;
    app.create_space("accueil", "Accueil", Visibility::Public).await;
    app.create_user("admin@example.org", "Admin", true).await;
    let token = app.token_for("admin@example.org").await;
    app.put_page(&token, "accueil", "bienvenue", "Bienvenue dans les chantiers coopératifs.").await;
    eventually(&app, None, "bienvenue", |f| f["total"] == 1).await;
    let index = app.settings.data_dir.join("search");
    for damage in ["kept", "corrupt", "lost"] {
        match damage {
            "kept" => {}
            "corrupt" => {
                for entry in std::fs::read_dir(&index).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_file() {
                        std::fs::write(&path, b"\0garbage\0").unwrap();
                    }
                }
            }
            _ => std::fs::remove_dir_all(&index).unwrap(),
        }
        app = app.restart().await;
        let (status, _) = app.get_text(None, "/healthz").await;
        assert_eq!(status, StatusCode::OK, "the site runs with its index {damage}");
        eventually(&app, None, "chantiers", |f| f["total"] == 1).await;
    }
    app.stop().await;
}

/// The index holds a document per page and per readable comment; the check made at every start
/// counts both (counting pages alone, it rebuilt the whole index at each start once a page had
/// a comment).
async fn an_index_holding_comments_is_in_step_and_not_rebuilt_at_start(app: &TestApp) {
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    let editor = app.create_user("claire@example.org", "Claire", false).await;
    app.add_member(&space, &editor, Role::Editor).await;
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-1", "notes", "Des notes.").await;
    let posted = reqwest::Client::new()
        .post(app.url("/api/pages/chantier-1/notes/comments"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "markdown": "Un commentaire sur la coopération." }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    for _ in 0..100 {
        if search(app, None, "commentaire").await["total"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(search(app, None, "commentaire").await["total"], 1, "the comment is indexed");
    assert!(app.search.in_step(&app.db).await.unwrap(), "two documents, two expected");
}

/// A hit's passage shows an entry's values as its page does: dates in words, who may see it
/// never as a stored word (`public`), no ISO date; the dates are found by their words.
async fn passages_show_values_as_the_entry_page_does(app: &TestApp) {
    let space = app.create_space("accueil", "Accueil", Visibility::Public).await;
    let sophie = app.create_user("sophie@example.org", "Sophie", false).await;
    app.add_member(&space, &sophie, Role::Editor).await;
    let browser = app.signed_in("sophie@example.org").await;
    app.new_entry(
        &browser,
        "accueil",
        "Atelier de prototypage",
        "event",
        &[
            ("when.start", "2025-05-01T10:00"),
            ("when.end", "2025-05-01T12:00"),
            ("place", "Dijon"),
            ("audience", "public"),
        ],
    )
    .await;
    let found = eventually(app, None, "Dijon", |f| f["total"] == 1).await;
    let passage = found["hits"][0]["passage"].as_str().unwrap().to_owned();
    assert!(passage.contains("Dijon"), "{passage}");
    assert!(!passage.contains("2025-05-01") && !passage.contains("public"), "{passage}");
    let by_words = eventually(app, None, "jeudi 1er mai", |f| f["total"] == 1).await;
    let passage = by_words["hits"][0]["passage"].as_str().unwrap();
    assert!(passage.contains("mai") && passage.contains("10 h"), "{passage}");
    assert!(!passage.contains("T10:00"), "{passage}");
}
