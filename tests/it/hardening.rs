//! What an attacker tried (issue 14), each probe as it was made, against the real server: every
//! one must now get a clear answer and cost the server little, and nobody may learn, spoof or
//! keep what they should not.
use crate::common;

use std::time::Duration;

use common::{yclient::YClient, Backend, TestApp, PASSWORD};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SPACE: &str = "chantier-1";

/// A public space with an editor (token) and a page; answers the editor's token.
async fn public_page(app: &TestApp, text: &str) -> String {
    let space = app.create_space(SPACE, "Chantier 1", Visibility::Public).await;
    let editor = app.create_user("editrice@example.org", "Éditrice", false).await;
    app.add_member(&space, &editor, Role::Editor).await;
    let token = app.token_for(&editor.email).await;
    let created = app.put_page(&token, SPACE, "notes", text).await;
    assert!(created.status().is_success(), "page created: {}", created.status());
    token
}

/// An editor of a public space, and their signed-in browser.
async fn member_of_public_space(app: &TestApp) -> (ruche::accounts::User, reqwest::Client) {
    let editor = app.create_user("membre@example.org", "Membre", false).await;
    let space = app.create_space(SPACE, "Chantier 1", Visibility::Public).await;
    app.add_member(&space, &editor, Role::Editor).await;
    let browser = app.signed_in(&editor.email).await;
    (editor, browser)
}

// --- 1. Pagination and numbers from the address -------------------------------------------

async fn page_numbers_far_past_the_end_answer_the_last_page(app: &TestApp) {
    let token = public_page(app, "Un mot à chercher : coopération.").await;
    for _ in 0..3 {
        app.put_page(&token, SPACE, "notes", "coopération, encore").await;
    }
    let anonymous = reqwest::Client::new();
    // The index catches up in the background.
    let search = app.url("/api/search?q=cooperation");
    for _ in 0..100 {
        let found: serde_json::Value =
            anonymous.get(&search).send().await.expect("GET").json().await.expect("JSON");
        if found["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for page in ["999999999999", "18446744073709551615", "99999999999999999999999999"] {
        for path in [
            format!("/api/search?q=cooperation&page={page}"),
            format!("/search?q=cooperation&page={page}"),
            format!("/s/{SPACE}/notes/history?page={page}"),
            format!("/api/pages/{SPACE}/notes/revisions?page={page}"),
            format!("/agenda?page={page}"),
            format!("/resources?page={page}"),
            format!("/directory?page={page}"),
            format!("/forms/event?page={page}"),
        ] {
            let response = anonymous.get(app.url(&path)).send().await.expect("GET");
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }
    let found = app.get_json("/api/search?q=cooperation&page=999999999999").await;
    assert_eq!(found["page"], found["pages"], "the last page: {found}");
    assert_eq!(found["hits"].as_array().map(Vec::len), Some(1), "{found}");
    let revisions = app
        .get_json(&format!("/api/pages/{SPACE}/notes/revisions?page=18446744073709551615"))
        .await;
    assert!(revisions["page"].as_u64().is_some_and(|p| p >= 1), "{revisions}");
}

async fn values_that_are_not_numbers_get_a_readable_400(app: &TestApp) {
    public_page(app, "Texte").await;
    let anonymous = reqwest::Client::new();
    for path in [
        "/api/search?q=a&page=abc".to_owned(),
        "/search?q=a&page=-1".to_owned(),
        format!("/s/{SPACE}/notes/history?page=1e9"),
        format!("/s/{SPACE}/notes/compare?from=a&to=b"),
        "/changes?before=beaucoup".to_owned(),
    ] {
        let response = anonymous.get(app.url(&path)).send().await.expect("GET");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let body = response.text().await.expect("body");
        assert!(body.contains("valeur incorrecte"), "{path}: {body}");
    }
}

async fn every_query_the_search_parser_accepts_answers_without_error(app: &TestApp) {
    public_page(app, "Des mots, des mots : body et title.").await;
    for q in ["body:*", "title:*", "*", "body:", "a AND", "\"", "(", "[a TO", "a^", "~", "-", "+"] {
        let response = reqwest::Client::new()
            .get(app.url("/api/search"))
            .query(&[("q", q)])
            .send()
            .await
            .expect("GET");
        assert!(
            response.status() == StatusCode::OK || response.status() == StatusCode::BAD_REQUEST,
            "{q:?}: {}",
            response.status()
        );
    }
}

// --- 2. Rendering cost ---------------------------------------------------------------------

async fn deeply_nested_markdown_renders_capped(app: &TestApp) {
    let token = public_page(app, "").await;
    for deep in
        ["> ".repeat(40_000), "- ".repeat(40_000), "> - ".repeat(20_000), "1. ".repeat(30_000)]
    {
        let preview: serde_json::Value = reqwest::Client::new()
            .post(app.url("/api/render"))
            .json(&serde_json::json!({ "space": SPACE, "markdown": deep }))
            .send()
            .await
            .expect("POST")
            .json()
            .await
            .expect("JSON");
        let html = preview["html"].as_str().expect("html");
        let depth = html.matches("<blockquote>").count() + html.matches("<li>").count();
        assert!(depth <= 2 * ruche::pages::render::MAX_LINE_NESTING, "{depth} levels");
    }
    // A stored page of 100 000 '>' is read by anyone, twice: both answer.
    app.put_page(&token, SPACE, "notes", &">".repeat(100_000)).await;
    for _ in 0..2 {
        let (status, html) = app.get_text(None, &format!("/s/{SPACE}/notes")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.matches("<blockquote>").count() <= ruche::pages::render::MAX_LINE_NESTING);
    }
}

async fn a_public_page_is_rendered_when_it_settles_not_when_read(app: &TestApp) {
    let token = public_page(app, "").await;
    let text = "Une page publique, rendue avant qu'on la lise.";
    app.put_page(&token, SPACE, "notes", text).await;
    common::yclient::wait_until("the page rendered ahead", || {
        app.rendered.holds(text, SPACE, Vec::new()).then_some(())
    })
    .await;
    let (status, html) = app.get_text(None, &format!("/s/{SPACE}/notes")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(text));
}

// --- 3. Comparing large revisions ----------------------------------------------------------

async fn comparing_two_very_different_large_revisions_falls_back(app: &TestApp) {
    let token = public_page(app, "").await;
    let old: String = (0..40_000).map(|i| format!("ancien{i} ")).collect();
    let new: String = (0..40_000).map(|i| format!("nouveau{i} ")).collect();
    let save = |text: String| {
        let (app, token) = (app, token.clone());
        async move {
            app.put_page(&token, SPACE, "notes", &text).await;
            // "Save a version" through the API's owner: a revision of exactly this text.
            let editor = app.signed_in("editrice@example.org").await;
            let path = format!("/s/{SPACE}/notes/history");
            let saved =
                app.post_form(&editor, &path, &format!("{path}/save"), &[("note", "")]).await;
            assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        }
    };
    save(old).await;
    save(new).await;
    let list = app.get_json(&format!("/api/pages/{SPACE}/notes/revisions")).await;
    let ids: Vec<i64> = list["revisions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert!(ids.len() >= 2, "{list}");
    assert_eq!(list["revisions"][0]["words_added"], 40_000, "{list}");
    let path = format!("/s/{SPACE}/notes/compare?from={}&to={}", ids[1], ids[0]);
    for _ in 0..2 {
        let (status, html) = app.get_text(None, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("trop différentes"),
            "the reader is told why the comparison is coarse"
        );
        assert!(html.contains("nouveau39999"));
    }
}

// --- 4 and 13. Presence ----------------------------------------------------------------------

fn presence_of(client: &YClient, id: u64) -> Option<serde_json::Value> {
    client.presence().get(&id).and_then(|json| serde_json::from_str(json).ok())
}

async fn presence_is_bounded_and_named_by_the_server(app: &TestApp) {
    let token = public_page(app, "Texte").await;
    let url = app.ws_url(SPACE, "notes");
    let watcher = YClient::connect(&url, None).await;
    watcher.wait_for("the page", |t| t == "Texte").await;

    // A spoofed name and a colour that would be CSS.
    let spoofer = YClient::connect(&url, None).await;
    spoofer.announce(
        7001,
        1,
        r#"{"user":{"name":"Administratrice de la démo","color":"red; position:fixed"},"cursor":null}"#,
    );
    let seen =
        common::yclient::wait_until("the spoofer's presence", || presence_of(&watcher, 7001)).await;
    assert_eq!(seen["user"]["name"], "Lecteur anonyme", "{seen}");
    let colour = seen["user"]["color"].as_str().expect("colour");
    assert!(colour.len() == 7 && colour.starts_with('#'), "{colour}");

    // A state too large closes the connection with a reason; others are unaffected.
    let big = YClient::connect(&url, None).await;
    big.announce(7100, 1, &format!(r#"{{"x":"{}"}}"#, "a".repeat(3_000_000)));
    let closed = big.wait_closed().await;
    assert!(closed.is_some_and(|(_, reason)| reason.contains("presence state too large")));
    assert!(presence_of(&watcher, 7100).is_none());

    // A connection introduces itself with two presence ids at most: a third closes it.
    let cursor = r#"{"cursor":null}"#;
    let many = YClient::connect(&url, None).await;
    many.announce_all(&[(8000, 1, cursor), (8001, 1, cursor), (8002, 1, cursor)]);
    let closed = many.wait_closed().await;
    assert!(closed.is_some_and(|(_, reason)| reason.contains("too many presence ids")));

    // Ids it names after its introduction are other people's presence passed on (stock
    // clients pass on what they hear): ignored, however many, and the connection stays.
    let relayer = YClient::connect(&url, Some(&token)).await;
    relayer.announce(8100, 1, cursor);
    for id in 1..250u64 {
        relayer.announce(8100 + id, 1, cursor);
    }
    common::yclient::wait_until("the relayer's own presence", || presence_of(&watcher, 8100)).await;
    relayer.type_at(0, "encore là ");
    watcher.wait_for("the relayer's text", |t| t.starts_with("encore là ")).await;
    let held: Vec<u64> = watcher.presence().keys().copied().filter(|id| *id >= 8000).collect();
    assert_eq!(held, [8100]);

    // Nobody removes or overwrites another connection's presence.
    let owner = YClient::connect(&url, None).await;
    owner.announce(9001, 1, cursor);
    common::yclient::wait_until("the owner's presence", || presence_of(&watcher, 9001)).await;
    let intruder = YClient::connect(&url, None).await;
    intruder.announce(9001, 5, "null");
    intruder.announce(7001, 9, r#"{"user":{"name":"Autre"}}"#);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(presence_of(&watcher, 9001).is_some(), "still there");
    assert_eq!(presence_of(&watcher, 7001).expect("kept")["user"]["name"], "Lecteur anonyme");
}

async fn a_signed_in_person_is_shown_under_their_own_name(app: &TestApp) {
    let token = public_page(app, "Texte").await;
    let url = app.ws_url(SPACE, "notes");
    let watcher = YClient::connect(&url, None).await;
    let editor = YClient::connect(&url, Some(&token)).await;
    editor.announce(4242, 1, r##"{"user":{"name":"Le directeur","color":"#000000"}}"##);
    let seen = common::yclient::wait_until("the editor", || presence_of(&watcher, 4242)).await;
    assert_eq!(seen["user"]["name"], "Éditrice", "{seen}");
}

// --- 5. Fields over the websocket, files by hash ------------------------------------------

async fn live_clients_may_not_write_fields(app: &TestApp) {
    let (editor, browser) = member_of_public_space(app).await;
    let entry = app
        .new_entry(&browser, SPACE, "Ma structure", "organisation", &[("name", "Ma structure")])
        .await;
    let token = app.token_for(&editor.email).await;
    let client = YClient::connect(&app.ws_url(SPACE, &entry), Some(&token)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let update = {
        use yrs::{Map, Transact};
        let doc = client.doc.lock().expect("doc");
        let fields = doc.get_or_insert_map("fields");
        let mut txn = doc.transact_mut();
        fields.insert(
            &mut txn,
            "logo",
            r#"{"hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
        );
        txn.encode_update_v1()
    };
    client.send_raw(ruche::collab::protocol::encode_update(&update));
    let closed = client.wait_closed().await;
    assert!(
        closed.is_some_and(|(_, reason)| reason.contains("fields are written through the form"))
    );
    // Nothing of it was kept.
    let again = YClient::connect(&app.ws_url(SPACE, &entry), Some(&token)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(again.fields().get("logo").is_none(), "{}", again.fields());
}

/// A tiny PNG picture.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn a_file_is_served_only_for_the_page_it_was_uploaded_to(app: &TestApp) {
    // The committee keeps a logo in its private space.
    let committee = app.create_space("comite-de-pilotage", "Comité", Visibility::Private).await;
    let chair = app.create_user("presidente@example.org", "Présidente", false).await;
    app.add_member(&committee, &chair, Role::Owner).await;
    let chair_browser = app.signed_in(&chair.email).await;
    let secret = app
        .new_entry(
            &chair_browser,
            "comite-de-pilotage",
            "Structure secrète",
            "organisation",
            &[("name", "Secrète")],
        )
        .await;
    let fields = format!("/s/comite-de-pilotage/{secret}/fields");
    let csrf = app.csrf(&chair_browser, &fields).await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf)
        .text("name", "Secrète")
        .part("logo", reqwest::multipart::Part::bytes(PNG).file_name("logo.png"));
    let saved = chair_browser.post(app.url(&fields)).multipart(form).send().await.expect("POST");
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let content = app
        .hub
        .read(match ruche::pages::store::find(&app.db, committee.id, &secret).await.expect("db") {
            Some(ruche::pages::store::Found::Page(p)) => p.id.doc(),
            _ => panic!("the entry exists"),
        })
        .await
        .expect("content");
    let logo = content.fields["logo"].clone();
    let hash = logo["hash"].as_str().expect("hash").to_owned();
    let own = format!("/s/comite-de-pilotage/{secret}/files/{hash}");
    assert_eq!(
        chair_browser.get(app.url(&own)).send().await.expect("GET").status(),
        StatusCode::OK
    );

    // An editor's public entry is made to name that hash (as a raw live update once could).
    let (_, browser) = member_of_public_space(app).await;
    let mine =
        app.new_entry(&browser, SPACE, "Ma structure", "organisation", &[("name", "Mienne")]).await;
    let space = ruche::spaces::store::find(&app.db, SPACE).await.expect("db").expect("space");
    let Some(ruche::pages::store::Found::Page(page)) =
        ruche::pages::store::find(&app.db, space.id, &mine).await.expect("db")
    else {
        panic!("the entry exists")
    };
    let mut values = serde_json::Map::new();
    values.insert("logo".to_owned(), logo.clone());
    app.hub.set_fields(page.id.doc(), values, None).await.expect("fields set");
    let borrowed = format!("/s/{SPACE}/{mine}/files/{hash}");
    assert_eq!(
        reqwest::get(app.url(&borrowed)).await.expect("GET").status(),
        StatusCode::NOT_FOUND
    );
    // Nor can the form launder it: the file was not this editor's upload.
    let kept = app
        .post_form(
            &browser,
            &format!("/s/{SPACE}/{mine}/fields"),
            &format!("/s/{SPACE}/{mine}/fields"),
            &[("name", "Mienne"), ("logo.kept", &logo.to_string())],
        )
        .await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        reqwest::get(app.url(&borrowed)).await.expect("GET").status(),
        StatusCode::NOT_FOUND
    );
}

// --- 6 and 7. Privacy of field values follows the form at once, everywhere ---------------

async fn wait_for_hits(app: &TestApp, q: &str, wanted: u64) {
    for _ in 0..100 {
        let found: serde_json::Value = reqwest::Client::new()
            .get(app.url("/api/search"))
            .query(&[("q", q)])
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        if found["total"] == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("search for {q:?} never found {wanted}");
}

async fn values_made_private_or_removed_leave_every_outside_view(app: &TestApp) {
    app.create_user("admin@example.org", "Admin", true).await;
    app.create_space(SPACE, "Chantier 1", Visibility::Public).await;
    let admin = app.signed_in("admin@example.org").await;
    let created =
        app.post_form(&admin, "/admin/forms", "/admin/forms", &[("name", "Fiches")]).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let editor = "/admin/forms/fiches";
    let save = |fields: Vec<(&'static str, &'static str)>| {
        let admin = admin.clone();
        async move {
            let mut sent = vec![("name", "Fiches")];
            sent.extend(fields);
            let saved = app.post_form(&admin, editor, editor, &sent).await;
            assert_eq!(
                saved.status(),
                StatusCode::SEE_OTHER,
                "{}",
                saved.text().await.unwrap_or_default()
            );
        }
    };
    save(vec![("new.label", "Note"), ("new.kind", "short_text")]).await;
    save(vec![
        ("f0.key", "note"),
        ("f0.label", "Note"),
        ("f0.kind", "short_text"),
        ("new.label", "Secret"),
        ("new.kind", "short_text"),
    ])
    .await;
    let entry = app
        .new_entry(
            &admin,
            SPACE,
            "Fiche un",
            "fiches",
            &[("note", "zebrure"), ("secret", "chuchotement")],
        )
        .await;
    wait_for_hits(app, "zebrure", 1).await;
    let anonymous_fields = || async {
        let page: serde_json::Value = reqwest::get(app.url(&format!("/api/pages/{SPACE}/{entry}")))
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        page["fields"].clone()
    };
    assert_eq!(anonymous_fields().await["secret"], "chuchotement");
    let reader = YClient::connect(&app.ws_url(SPACE, &entry), None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // 6: the field "Secret" is removed: its value is for members only from now on.
    save(vec![
        ("f0.key", "note"),
        ("f0.label", "Note"),
        ("f0.kind", "short_text"),
        ("f1.key", "secret"),
        ("f1.label", "Secret"),
        ("f1.kind", "short_text"),
        ("f1.remove", "on"),
    ])
    .await;
    assert!(anonymous_fields().await.get("secret").is_none(), "{}", anonymous_fields().await);
    let closed = reader.wait_closed().await;
    assert!(closed.is_some(), "the live reader was made to reconnect");
    match common::yclient::open(&app.ws_url(SPACE, &entry), None).await {
        Err(status) => assert_eq!(status, 401),
        Ok(_) => panic!("an outsider may not receive the removed field's value live"),
    }

    // 7: "Note" becomes members-only: search forgets it.
    save(vec![
        ("f0.key", "note"),
        ("f0.label", "Note"),
        ("f0.kind", "short_text"),
        ("f0.members_only", "on"),
    ])
    .await;
    wait_for_hits(app, "zebrure", 0).await;
    assert!(anonymous_fields().await.get("note").is_none());
}

// --- 14. Link checks ----------------------------------------------------------------------

async fn a_link_to_an_unreadable_page_is_refused_like_a_missing_one(app: &TestApp) {
    let committee = app.create_space("comite-de-pilotage", "Comité", Visibility::Private).await;
    let chair = app.create_user("presidente@example.org", "Présidente", false).await;
    app.add_member(&committee, &chair, Role::Owner).await;
    let chair_browser = app.signed_in(&chair.email).await;
    app.new_entry(
        &chair_browser,
        "comite-de-pilotage",
        "Structure secrète",
        "organisation",
        &[("name", "Structure secrète")],
    )
    .await;
    let member = app.create_user("membre@example.org", "Membre", false).await;
    let browser = app.signed_in(&member.email).await;
    let created = app.post_form(&browser, "/account/profile", "/account/profile", &[]).await;
    let fields_path = created.headers()["location"].to_str().expect("location").to_owned();
    let answer = |target: &'static str| {
        let (browser, fields_path) = (browser.clone(), fields_path.clone());
        async move {
            let saved = app
                .post_form(
                    &browser,
                    &fields_path,
                    &fields_path,
                    &[("name", "Membre"), ("organisation", target)],
                )
                .await;
            (saved.status(), saved.text().await.unwrap_or_default())
        }
    };
    let (secret_status, secret_page) = answer("comite-de-pilotage/structure-secrete").await;
    let (missing_status, missing_page) = answer("comite-de-pilotage/n-existe-pas").await;
    assert_eq!(secret_status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(secret_status, missing_status);
    let error = |page: &str| {
        page.split("class=\"error\"").nth(1).map(|e| e.split('<').next().unwrap_or("").to_owned())
    };
    assert_eq!(error(&secret_page), error(&missing_page));
}

// --- 12. Idle connections ---------------------------------------------------------------------

#[tokio::test]
async fn idle_connections_are_closed_and_counted_per_address() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.header_timeout = Duration::from_secs(1);
        s.max_http_connections_per_address = 20;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("partial headers");
        idle.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // One more from the same address: closed at once, without an answer.
    let mut extra = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = [0u8; 64];
    let read =
        tokio::time::timeout(Duration::from_secs(5), extra.read(&mut buf)).await.expect("answered");
    assert!(matches!(read, Ok(0) | Err(_)), "refused: {read:?}");
    // The idle ones are closed once their time to send headers is over.
    for stream in &mut idle {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("closed in time");
        let closed = match read {
            Ok(0) | Err(_) => true,
            Ok(n) => String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
        };
        assert!(closed, "{read:?}");
    }
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ok = reqwest::get(app.url("/healthz")).await.expect("GET");
    assert_eq!(ok.status(), StatusCode::OK, "others are served again");
    app.stop().await;
}

// --- 22. Large bodies only from writers ------------------------------------------------------

async fn large_bodies_are_taken_only_from_writers(app: &TestApp) {
    let token = public_page(app, "Texte").await;
    let big = "mot ".repeat(1_500_000); // 6 MB
    let anonymous = reqwest::Client::new();
    let refused = anonymous
        .put(app.url(&format!("/api/pages/{SPACE}/notes")))
        .json(&serde_json::json!({ "markdown": big }))
        .send()
        .await
        .expect("PUT");
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Without a declared length, the body is cut at the ordinary limit.
    let chunks = futures_util::stream::iter(
        (0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'a'; 64 * 1024]))),
    );
    let streamed = anonymous
        .post(app.url(&format!("/s/{SPACE}/notes/edit")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("POST");
    // (The edit form's page is reached for editing before its body is read: refused at once.)
    assert_eq!(streamed.status(), StatusCode::UNAUTHORIZED);
    // A viewer is not a writer either; the editor is.
    let accepted = app.put_page(&token, SPACE, "notes", &"mot ".repeat(500_000)).await;
    assert!(accepted.status().is_success(), "{}", accepted.status());
}

// --- 8. Redirects ------------------------------------------------------------------------

async fn redirects_never_leave_the_site(app: &TestApp) {
    app.create_user("a@example.org", "A", true).await;
    let browser = app.browser();
    for next in [
        "/%09/evil.example",
        "/%0d%0a/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "/%0b/evil.example",
    ] {
        let response =
            browser.get(app.url(&format!("/lang/fr?next={next}"))).send().await.expect("GET");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(response.headers()["location"], "/", "{next}");
    }
    let token = app.csrf(&browser, "/login").await;
    let response = browser
        .post(app.url("/login"))
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "a@example.org"),
            ("password", PASSWORD),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.headers()["location"], "/");
    let response =
        browser.get(app.url("/login?next=/%0d%0aSet-Cookie:x=1")).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
}

// --- 9. Sign-in limits ---------------------------------------------------------------------

async fn a_guesser_cannot_lock_the_owner_out(app: &TestApp) {
    let admin = app.create_user("admin@example.org", "Admin", true).await;
    let attempt = |from: &'static str, password: &'static str| {
        let email = admin.email.clone();
        async move {
            let client = app.browser();
            let token = app.csrf(&client, "/login").await;
            client
                .post(app.url("/login"))
                .header("x-forwarded-for", from)
                .form(&[("_csrf", token.as_str()), ("email", &email), ("password", password)])
                .send()
                .await
                .expect("POST")
                .status()
        }
    };
    for _ in 0..8 {
        attempt("203.0.113.9", "devine").await;
    }
    assert_eq!(attempt("203.0.113.9", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt("198.51.100.1", PASSWORD).await, StatusCode::SEE_OTHER, "the owner gets in");
}

// --- 11. Websocket origins -----------------------------------------------------------------

async fn websockets_from_other_origins_with_cookies_are_refused(app: &TestApp) {
    let space = app.create_space(SPACE, "Chantier 1", Visibility::Private).await;
    let viewer = app.create_user("lectrice@example.org", "Lectrice", false).await;
    app.add_member(&space, &viewer, Role::Viewer).await;
    let token = app.token_for(&viewer.email).await;
    app.create_user("admin@example.org", "Admin", true).await;
    let admin = app.token_for("admin@example.org").await;
    app.put_page(&admin, SPACE, "secret", "Secret").await;
    let signed = app.sign_in_response(&app.browser(), &viewer.email, PASSWORD).await;
    let cookie: String = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let open = |origin: Option<String>, cookie: Option<String>, bearer: Option<String>| {
        let url = app.ws_url(SPACE, "secret");
        async move {
            let mut request = url.into_client_request().expect("request");
            if let Some(o) = origin {
                request.headers_mut().insert("origin", o.parse().expect("header"));
            }
            if let Some(c) = cookie {
                request.headers_mut().insert("cookie", c.parse().expect("header"));
            }
            if let Some(t) = bearer {
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {t}").parse().expect("header"));
            }
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
                Err(e) => panic!("{e}"),
            }
        }
    };
    let other = Some("http://evil.127.0.0.1.nip.io:8080".to_owned());
    assert_eq!(open(other.clone(), Some(cookie.clone()), None).await, 403);
    let sibling = Some(format!("http://127.0.0.1:{}", app.addr.port() + 1));
    assert_eq!(open(sibling, Some(cookie.clone()), None).await, 403);
    assert_eq!(open(Some(app.base.clone()), Some(cookie), None).await, 101);
    assert_eq!(
        open(other, None, Some(token)).await,
        101,
        "programs with a token are not concerned"
    );
}

// --- 15. CSV ----------------------------------------------------------------------------------

async fn titles_in_csv_are_never_formulas(app: &TestApp) {
    let (_, browser) = member_of_public_space(app).await;
    app.new_entry(
        &browser,
        SPACE,
        "=HYPERLINK(\"https://evil.example\",\"clic\")",
        "organisation",
        &[("name", "@SUM(1+1)")],
    )
    .await;
    let (status, csv) = app.get_text(None, "/api/forms/organisation/entries.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.lines().any(|l| l.starts_with("=") || l.starts_with("\"=")), "{csv}");
}

// --- 16 and 17. Sessions -------------------------------------------------------------------

async fn the_form_token_is_renewed_at_sign_in(app: &TestApp) {
    app.create_user("a@example.org", "A", false).await;
    let browser = app.browser();
    let before = app.csrf(&browser, "/login").await;
    let signed = app.sign_in_response(&browser, "a@example.org", PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let after = app.csrf(&browser, "/account").await;
    assert_ne!(before, after);
}

async fn changing_the_password_ends_the_other_sessions(app: &TestApp) {
    app.create_user("a@example.org", "A", false).await;
    let here = app.signed_in("a@example.org").await;
    let elsewhere = app.signed_in("a@example.org").await;
    let changed = app
        .post_form(
            &here,
            "/account",
            "/account/password",
            &[("current", PASSWORD), ("password", "un autre mot de passe")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let (status, page) = app.get_text(Some(&here), "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("déconnecté·e sur vos autres appareils"), "the person is told");
    let response = elsewhere.get(app.url("/account")).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the other session ended");
    assert!(response.headers()["location"].to_str().unwrap_or_default().starts_with("/login"));
}

// --- 18. Direction controls ----------------------------------------------------------------

async fn titles_and_names_lose_direction_controls(app: &TestApp) {
    let token = public_page(app, "").await;
    let created = app.put_page(&token, SPACE, "facture", "x").await;
    assert!(created.status().is_success());
    let admin = app.create_user("nom@example.org", "Nom \u{202e}exe.pdf", false).await;
    assert_eq!(admin.name, "Nom exe.pdf");
    let space = ruche::spaces::store::find(&app.db, SPACE).await.expect("db").expect("space");
    let page =
        ruche::pages::store::create(&app.db, space.id, "Facture \u{202e}fdp.exe", None, None)
            .await
            .expect("page");
    assert_eq!(page.title, "Facture fdp.exe");
}

// --- 19. iCalendar -------------------------------------------------------------------------

async fn carriage_returns_never_reach_calendar_lines(app: &TestApp) {
    let (_, browser) = member_of_public_space(app).await;
    app.new_entry(
        &browser,
        SPACE,
        "Atelier\rX-INJECTED:1",
        "event",
        &[
            ("when.start", "2030-03-12T14:00"),
            ("when.end", "2030-03-12T17:00"),
            ("place", "Salle 2\rX-EVIL:oui\r\nLOCATION:ailleurs"),
            ("audience", "public"),
        ],
    )
    .await;
    let (status, ics) = app.get_text(None, "/agenda.ics").await;
    assert_eq!(status, StatusCode::OK, "{ics}");
    assert!(ics.contains("Salle 2"), "{ics}");
    for line in ics.split("\r\n") {
        assert!(!line.contains('\r') && !line.contains('\n'), "a bare line break in {line:?}");
        assert!(!line.starts_with("X-EVIL") && !line.starts_with("X-INJECTED"), "{ics}");
    }
    assert_eq!(ics.matches("\r\nLOCATION:").count(), 1, "{ics}");
}

// --- 21. Bad tokens on pages --------------------------------------------------------------

async fn a_bad_token_on_a_page_gets_one_401(app: &TestApp) {
    public_page(app, "Texte").await;
    for path in ["/", "/login", &format!("/s/{SPACE}/notes")] {
        let response =
            app.browser().get(app.url(path)).bearer_auth("not-a-token").send().await.expect("GET");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(response.headers().get("location").is_none(), "{path}");
    }
}

on_each_backend!(
    page_numbers_far_past_the_end_answer_the_last_page,
    values_that_are_not_numbers_get_a_readable_400,
    every_query_the_search_parser_accepts_answers_without_error,
    deeply_nested_markdown_renders_capped,
    a_public_page_is_rendered_when_it_settles_not_when_read,
    comparing_two_very_different_large_revisions_falls_back,
    presence_is_bounded_and_named_by_the_server,
    a_signed_in_person_is_shown_under_their_own_name,
    live_clients_may_not_write_fields,
    redirects_never_leave_the_site,
    titles_in_csv_are_never_formulas,
    the_form_token_is_renewed_at_sign_in,
    changing_the_password_ends_the_other_sessions,
    titles_and_names_lose_direction_controls,
    carriage_returns_never_reach_calendar_lines,
    a_bad_token_on_a_page_gets_one_401,
    values_made_private_or_removed_leave_every_outside_view,
    a_link_to_an_unreadable_page_is_refused_like_a_missing_one,
    a_file_is_served_only_for_the_page_it_was_uploaded_to,
    large_bodies_are_taken_only_from_writers,
);

#[tokio::test]
async fn a_guesser_cannot_lock_the_owner_out_behind_a_proxy() {
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
    })
    .await;
    a_guesser_cannot_lock_the_owner_out(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn websocket_origins_are_checked() {
    let app = TestApp::start(Backend::Sqlite).await;
    websockets_from_other_origins_with_cookies_are_refused(&app).await;
    app.stop().await;
}

// --- Second round (issue 31): rendering HTML, files streamed, logs ---------------------------

/// `<b id=0><p>x<b id=1><p>x…` to `bytes`: formatting tags with distinct attributes, each
/// followed by a block (the HTML parser reopened every unclosed one at each block).
fn reopened_formatting(bytes: usize) -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(&format!("<b id={i}><p>x"));
        i += 1;
    }
    text
}

async fn preview(app: &TestApp, client: &reqwest::Client, markdown: &str) -> String {
    let answer = client
        .post(app.url("/api/render"))
        .json(&serde_json::json!({ "space": SPACE, "markdown": markdown }))
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status(), StatusCode::OK);
    let body: serde_json::Value = answer.json().await.expect("JSON");
    body["html"].as_str().expect("html").to_owned()
}

async fn html_written_in_a_text_is_shown_as_text_at_a_linear_cost(app: &TestApp) {
    public_page(app, "").await;
    let anonymous = reqwest::Client::new();
    for bytes in [40_000, 80_000] {
        let html = preview(app, &anonymous, &reopened_formatting(bytes)).await;
        // 26 MB for 40 KB, 102 MB for 80 KB before.
        assert!(html.len() < 64 * 1024 + 40 * bytes, "{bytes} bytes made {} of HTML", html.len());
        assert!(html.contains("&lt;b id=7&gt;"), "the tags are shown as typed: {}", &html[..300]);
        assert!(!html.contains("<b"), "no tag written in the text reaches the page");
    }
    // The few bare tags people use still work, closed where their paragraph ends.
    let html = preview(
        app,
        &anonymous,
        "m<sup>2</sup>, H<sub>2</sub>O, <kbd>Ctrl</kbd>, <u>souligné\n\nsuite",
    )
    .await;
    for kept in ["m<sup>2</sup>", "H<sub>2</sub>O", "<kbd>Ctrl</kbd>", "<u>souligné</u></p>"] {
        assert!(html.contains(kept), "{kept} in {html}");
    }
    // A comment stays unseen; other HTML blocks show as written.
    let html = preview(app, &anonymous, "<!-- note -->\n\n<div onclick=\"x\">\nbloc\n</div>").await;
    assert!(!html.contains("note") && html.contains("&lt;div onclick="), "{html}");
}

async fn a_text_too_costly_to_lay_out_is_shown_as_written(app: &TestApp) {
    let token = public_page(app, "").await;
    // A header 200 columns wide, then 5 000 short rows each padded to its width (10 MB).
    let text = format!("{}|\n{}|\n{}", "| a ".repeat(200), "|---".repeat(200), "x\n".repeat(5_000));
    app.put_page(&token, SPACE, "notes", &text).await;
    let (status, html) = app.get_text(None, &format!("/s/{SPACE}/notes")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    assert!(html.contains("<pre class=\"as-written\">| a | a"), "shown as written");
    assert!(
        !html.contains("pour tout le monde") && html.contains("Page affichée sans mise en forme."),
        "readers are told in a word, not asked to mend it"
    );
    let editor = app.signed_in("editrice@example.org").await;
    let (_, html) = app.get_text(Some(&editor), &format!("/s/{SPACE}/notes")).await;
    assert!(html.contains("affichée sans mise en forme, pour tout le monde"), "its editors are");
    let (_, edit) = app.get_text(Some(&editor), &format!("/s/{SPACE}/notes/edit")).await;
    assert!(edit.contains("pour tout le monde"), "on the editing page too");
    // Whatever the length, no more elements than the sanitiser holds cheaply: 750 KB of wiki
    // links (17 MB of HTML, 800 MB held while sanitised, before) are shown as written.
    let html = preview(app, &reqwest::Client::new(), &"[[a]] ".repeat(125_000)).await;
    assert!(html.starts_with("<pre class=\"as-written\">[[a]]"), "{}", &html[..100]);
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
}

async fn comments_are_rendered_once_bounded_and_kept(app: &TestApp) {
    let token = public_page(app, "Une page publique.").await;
    let shape: String = reopened_formatting(19_000);
    for i in 0..3 {
        let posted = reqwest::Client::new()
            .post(app.url(&format!("/api/pages/{SPACE}/notes/comments")))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "markdown": format!("{i}{shape}") }))
            .send()
            .await
            .expect("POST");
        assert_eq!(posted.status(), StatusCode::CREATED);
    }
    for _ in 0..2 {
        let (status, html) = app.get_text(None, &format!("/s/{SPACE}/notes")).await;
        assert_eq!(status, StatusCode::OK);
        // 20.9 MB a read before.
        assert!(html.len() < 3 * (64 * 1024 + 40 * 20_000), "{} bytes", html.len());
    }
    // Rendered by the one rendering path, and kept for the next reader.
    assert!(app.rendered.holds_snippet(&format!("1{shape}"), SPACE));
    let listed = app.get_json_as(&token, &format!("/api/pages/{SPACE}/notes/comments")).await;
    let html = listed["comments"][0]["html"].as_str().expect("html");
    assert!(html.contains("&lt;b id=3&gt;"), "{}", &html[..200]);
}

async fn headings_never_take_the_ids_of_the_page_itself(app: &TestApp) {
    public_page(app, "# Discussion\n\n## Comment 1\n\nTexte.\n\n# Discussion").await;
    let (_, html) = app.get_text(None, &format!("/s/{SPACE}/notes")).await;
    assert_eq!(html.matches("id=\"discussion\"").count(), 1, "the discussion section's own");
    assert!(
        html.contains("id=\"section-discussion\"") && html.contains("id=\"section-discussion-2\"")
    );
    assert!(html.contains("id=\"section-comment-1\""));
}

on_each_backend!(
    html_written_in_a_text_is_shown_as_text_at_a_linear_cost,
    a_text_too_costly_to_lay_out_is_shown_as_written,
    comments_are_rendered_once_bounded_and_kept,
    headings_never_take_the_ids_of_the_page_itself,
);

/// Uploads `bytes` as a text file to the public page and links it; answers its address.
async fn public_file(app: &TestApp, bytes: Vec<u8>) -> String {
    let token = public_page(app, "Un fichier.").await;
    let editor = app.signed_in("editrice@example.org").await;
    let csrf = app.csrf(&editor, &format!("/s/{SPACE}/notes/edit")).await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf)
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name("gros.txt"));
    let sent = editor
        .post(app.url(&format!("/s/{SPACE}/notes/files")))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: serde_json::Value = sent.json().await.expect("JSON");
    let markdown = sent["markdown"].as_str().expect("markdown");
    app.put_page(&token, SPACE, "notes", &format!("Un fichier : {markdown}")).await;
    sent["url"].as_str().expect("url").to_owned()
}

#[tokio::test]
async fn a_download_nobody_reads_is_let_go() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.write_timeout = Duration::from_secs(2);
        s.max_upload_bytes = 40 << 20;
    })
    .await;
    // Larger than what the kernel buffers between two sockets on this machine.
    let size = 32 << 20;
    let url = public_file(&app, b"ligne de texte\n".repeat(size / 15)).await;
    // Read whole by a client that reads: every byte, with its length announced.
    let whole = reqwest::get(app.url(&url)).await.expect("GET");
    assert_eq!(whole.content_length(), Some((size / 15 * 15) as u64));
    assert_eq!(whole.bytes().await.expect("body").len(), size / 15 * 15);
    // Asked by one that reads nothing: after the write timeout the server gives up.
    let mut stalled = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let request = format!("GET {url} HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr);
    stalled.write_all(request.as_bytes()).await.expect("request");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut got = 0usize;
    let mut buf = vec![0; 1 << 16];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => got += n,
            Err(_) => panic!("the connection is still open after {got} bytes"),
        }
    }
    assert!(got < size, "the server kept sending: {got} bytes");
    app.stop().await;
}

#[tokio::test]
async fn what_a_client_sends_does_not_choose_how_much_is_logged() {
    let app = TestApp::start(Backend::Sqlite).await;
    public_page(&app, "").await;
    let log_path = app.settings.data_dir.join("ruche.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let server =
        common::ServerProcess::spawn_logging(&app.database_url, &[("RUST_LOG", "info")], log).await;
    let before = std::fs::metadata(&log_path).expect("log").len();
    let markdown = "<table>x".repeat(16_384);
    let answer = reqwest::Client::new()
        .post(format!("{}/api/render", server.base))
        .json(&serde_json::json!({ "space": SPACE, "markdown": markdown }))
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let grown = std::fs::metadata(&log_path).expect("log").len() - before;
    // 2 MB before, one warning per tag.
    assert!(grown < 4096, "one request wrote {grown} bytes of log");
    server.kill().await;
    app.stop().await;
}
