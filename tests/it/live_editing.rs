//! Co-editing over the websocket: convergence, offline merging, access, bad frames, HTTP edits.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{
    yclient::{open, Event, YClient},
    TestApp,
};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    two_people_typing_at_once_converge_to_what_is_stored,
    twenty_people_typing_at_once_converge,
    a_client_offline_merges_when_it_comes_back,
    what_clients_received_survives_a_restart,
    a_viewer_reads_live_but_cannot_change_the_text,
    outsiders_cannot_open_a_private_page,
    each_malformed_frame_closes_only_its_connection,
    an_http_edit_merges_with_live_typing,
    compaction_keeps_the_text_and_bounds_the_log,
    a_late_compaction_never_replaces_a_newer_snapshot,
    wiki_links_and_backlinks_follow_the_text,
    an_idle_document_leaves_memory_and_comes_back_whole,
    edits_sent_just_before_closing_are_kept,
    a_crowded_page_holding_updates_delivers_every_key_in_order,
    pages_written_together_each_get_their_own_answer,
);

const SPACE: &str = "chantier-1";
const PAGE: &str = "feuille-de-route";

struct Cast {
    editor: String,
    editor2: String,
    viewer: String,
}

/// A members-only space with two editors and a viewer, and one page.
async fn cast(app: &TestApp, visibility: Visibility) -> Cast {
    let space = app.create_space(SPACE, "Chantier 1", visibility).await;
    for (email, role) in [
        ("sophie@example.org", Role::Editor),
        ("celine@example.org", Role::Editor),
        ("lea@example.org", Role::Viewer),
    ] {
        let user = app.create_user(email, email, false).await;
        app.add_member(&space, &user, role).await;
    }
    let cast = Cast {
        editor: app.token_for("sophie@example.org").await,
        editor2: app.token_for("celine@example.org").await,
        viewer: app.token_for("lea@example.org").await,
    };
    let created = app.put_page(&cast.editor, SPACE, PAGE, "").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    cast
}

async fn two_people_typing_at_once_converge_to_what_is_stored(app: &TestApp) {
    let cast = cast(app, Visibility::Members).await;
    let url = app.ws_url(SPACE, PAGE);
    let a = YClient::connect(&url, Some(&cast.editor)).await;
    let b = YClient::connect(&url, Some(&cast.editor2)).await;
    for i in 0..25 {
        a.type_at(0, &format!("é{i} "));
        b.append(&format!("👋{i} "));
    }
    let done =
        |t: &str| (0..25).all(|i| t.contains(&format!("é{i} ")) && t.contains(&format!("👋{i} ")));
    let text_a = a.wait_for("A to have everything", done).await;
    let text_b = b.wait_for("B to have everything", |t| t == text_a).await;
    assert_eq!(text_a, text_b);
    assert_eq!(
        app.page_text(&cast.editor, SPACE, PAGE).await,
        text_a,
        "what the server stores is what they see"
    );
}

async fn twenty_people_typing_at_once_converge(app: &TestApp) {
    let cast = cast(app, Visibility::Members).await;
    let url = app.ws_url(SPACE, PAGE);
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(YClient::connect(&url, Some(&cast.editor)).await);
    }
    for round in 0..5 {
        for (n, client) in clients.iter().enumerate() {
            // At the start or the end, so that no one types inside another's marker.
            let at = if n % 2 == 0 { 0 } else { u32::MAX };
            client.type_at(at, &format!("[{n}.{round}]"));
        }
    }
    let all = |t: &str| (0..20).all(|n| (0..5).all(|r| t.contains(&format!("[{n}.{r}]"))));
    let reference = clients[0].wait_for("the first client to have every edit", all).await;
    for client in &clients {
        client.wait_for("every client to converge", |t| t == reference).await;
    }
    assert_eq!(app.page_text(&cast.editor, SPACE, PAGE).await, reference);
}

async fn a_client_offline_merges_when_it_comes_back(app: &TestApp) {
    let cast = cast(app, Visibility::Members).await;
    let url = app.ws_url(SPACE, PAGE);
    let a = YClient::connect(&url, Some(&cast.editor)).await;
    let b = YClient::connect(&url, Some(&cast.editor2)).await;
    a.append("Objectifs partagés. ");
    b.wait_for("B to see A's text", |t| t.contains("Objectifs")).await;

    let offline = b.disconnect().await;
    YClient::type_offline(&offline, "Écrit hors ligne. ");
    a.append("Pendant ce temps. ");

    let back = YClient::connect_with(&url, Some(&cast.editor2), offline).await;
    let both = |t: &str| t.contains("Écrit hors ligne.") && t.contains("Pendant ce temps.");
    let text = back.wait_for("B to merge", both).await;
    a.wait_for("A to receive the offline text", |t| t == text).await;
    assert_eq!(app.page_text(&cast.editor, SPACE, PAGE).await, text);
}

async fn what_clients_received_survives_a_restart(app: &TestApp) {
    // Uses its own server over the same database, restarted cleanly in the middle.
    let server = TestApp::start_on(&app.database_url).await;
    let cast = cast(&server, Visibility::Members).await;
    let a = YClient::connect(&server.ws_url(SPACE, PAGE), Some(&cast.editor)).await;
    let b = YClient::connect(&server.ws_url(SPACE, PAGE), Some(&cast.editor2)).await;
    for i in 0..30 {
        a.append(&format!("mot{i} "));
    }
    let seen = b.wait_for("B to receive A's words", |t| t.contains("mot29 ")).await;
    drop((a, b));
    let server = server.restart().await;
    assert_eq!(server.page_text(&cast.editor, SPACE, PAGE).await, seen);
    server.stop().await;
}

async fn a_viewer_reads_live_but_cannot_change_the_text(app: &TestApp) {
    let cast = cast(app, Visibility::Members).await;
    let url = app.ws_url(SPACE, PAGE);
    let editor = YClient::connect(&url, Some(&cast.editor)).await;
    let viewer = YClient::connect(&url, Some(&cast.viewer)).await;
    editor.append("Texte de la rédaction. ");
    viewer.wait_for("the viewer to see the edit live", |t| t.contains("rédaction")).await;

    viewer.append("Tentative de lecture seule. ");
    common::yclient::wait_until("the viewer to be told", || {
        viewer.events().iter().any(|e| matches!(e, Event::PermissionDenied(_))).then_some(())
    })
    .await;
    assert!(
        !viewer.events().iter().any(|e| matches!(e, Event::Closed(_))),
        "the connection stays open"
    );
    editor.append("Suite. ");
    viewer.wait_for("the viewer to keep receiving", |t| t.contains("Suite.")).await;
    let stored = app.page_text(&cast.editor, SPACE, PAGE).await;
    assert!(!stored.contains("Tentative"), "nothing from the viewer was applied: {stored}");
    assert!(!editor.text().contains("Tentative"));
}

async fn outsiders_cannot_open_a_private_page(app: &TestApp) {
    let cast = cast(app, Visibility::Private).await;
    app.create_user("outsider@example.org", "Outsider", false).await;
    let outsider = app.token_for("outsider@example.org").await;
    let editor = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&cast.editor)).await;
    editor.append("Secret du comité. ");
    editor.wait_for("the text to be there", |t| t.contains("Secret")).await;

    assert_eq!(open(&app.ws_url(SPACE, PAGE), Some(&outsider)).await.err(), Some(404));
    assert_eq!(open(&app.ws_url(SPACE, PAGE), None).await.err(), Some(404));
    assert_eq!(open(&app.ws_url(SPACE, "nothing"), Some(&cast.editor)).await.err(), Some(404));
    let api = reqwest::Client::new()
        .get(app.url(&format!("/api/pages/{SPACE}/{PAGE}")))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(!api.text().await.unwrap().contains("Secret"));
}

async fn each_malformed_frame_closes_only_its_connection(app: &TestApp) {
    let cast = cast(app, Visibility::Members).await;
    let url = app.ws_url(SPACE, PAGE);
    let bystander = YClient::connect(&url, Some(&cast.editor)).await;
    bystander.append("Texte intact. ");
    let before = stored_text(app, &cast.editor, |t| t.contains("intact")).await;

    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/y-protocol-vectors.json")).unwrap();
    let mut frames: Vec<(String, Vec<u8>)> = vectors["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_owned(), unhex(v["hex"].as_str().unwrap())))
        .collect();
    // An update whose header decodes but whose content points nowhere.
    frames.push(("update_bad_content".into(), vec![0, 2, 6, 1, 1, 0xde, 0xad, 0xbe, 0xef]));
    // An update that starts after changes the page never had (its author's first keystroke).
    let gap = {
        use yrs::{ReadTxn, Text, Transact};
        let doc = yrs::Doc::with_client_id(424_242);
        let body = doc.get_or_insert_text("body");
        body.insert(&mut doc.transact_mut(), 0, "a");
        let known = doc.transact().state_vector();
        body.insert(&mut doc.transact_mut(), 1, "b");
        let diff = doc.transact().encode_diff_v1(&known);
        diff
    };
    frames.push((
        "update_after_missing_changes".into(),
        ruche::collab::protocol::encode_update(&gap),
    ));
    // What fuzzing found.
    let found = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/ws_frame");
    for entry in std::fs::read_dir(found).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("crash-") {
            frames.push((name, std::fs::read(&path).unwrap()));
        }
    }
    for (name, frame) in frames {
        let attacker = YClient::connect(&url, Some(&cast.editor2)).await;
        attacker.send_raw(frame);
        let closed = attacker.wait_closed().await;
        let (code, reason) = closed.unwrap_or_else(|| panic!("{name}: closed without a reason"));
        assert!(code == 1007 || code == 1009, "{name}: close code {code}");
        assert!(!reason.is_empty(), "{name}: the close says why");
    }
    bystander.append("Toujours là. ");
    let after = stored_text(app, &cast.editor, |t| t.contains("Toujours là.")).await;
    assert_eq!(
        after,
        format!("{before}Toujours là. "),
        "the document is untouched by the bad frames"
    );
}

async fn an_http_edit_merges_with_live_typing(app: &TestApp) {
    let cast = cast(app, Visibility::Members).await;
    let a = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&cast.editor)).await;
    a.append("Première ligne.\n");
    let stored = stored_text(app, &cast.editor, |t| t.contains("Première")).await;
    assert_eq!(stored, "Première ligne.\n");

    // The browser types while the HTTP client rewrites the first line of the text it read:
    // whichever reaches the server first, both edits survive.
    a.append("Tapé en direct.");
    let response =
        app.put_page_from(&cast.editor2, SPACE, PAGE, &stored, "Première ligne, corrigée.\n").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text =
        a.wait_for("both edits", |t| t.contains("corrigée") && t.contains("Tapé en direct.")).await;
    assert_eq!(text, "Première ligne, corrigée.\nTapé en direct.");
    assert_eq!(app.page_text(&cast.editor, SPACE, PAGE).await, text);
}

async fn compaction_keeps_the_text_and_bounds_the_log(app: &TestApp) {
    let server =
        TestApp::start_configured(&app.database_url, |s| s.collab.compact_every = 20).await;
    let cast = cast(&server, Visibility::Members).await;
    let a = YClient::connect(&server.ws_url(SPACE, PAGE), Some(&cast.editor)).await;
    for i in 0..95 {
        a.append(&format!("{i},"));
    }
    let text = a.wait_for("every keystroke", |t| t.contains("94,")).await;
    // The client's own text holds its keystrokes at once; the server's, once they arrived.
    assert_eq!(stored_text(&server, &cast.editor, |t| t.contains("94,")).await, text);
    let page = ruche::pages::store::list(
        &server.db,
        ruche::spaces::store::find(&server.db, SPACE).await.unwrap().unwrap().id,
        false,
    )
    .await
    .unwrap()
    .remove(0);
    // Compactions are written off the page's task: the log is folded soon after.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let log = ruche::collab::store::log_length(&server.db, page.id.doc()).await.unwrap();
        if log < 20 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the log holds {log} updates");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(a);
    let server = server.restart().await;
    assert_eq!(
        server.page_text(&cast.editor, SPACE, PAGE).await,
        text,
        "the snapshot gives the same text"
    );
    server.stop().await;
}

async fn wiki_links_and_backlinks_follow_the_text(app: &TestApp) {
    let cast = cast(app, Visibility::Public).await;
    let put = app
        .put_page(
            &cast.editor,
            SPACE,
            "compte-rendu",
            "Voir la [[Feuille de route]] et [[Budget prévisionnel]].\n\n<script>alert(1)</script>",
        )
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);

    let reader = reqwest::Client::new();
    let html = reader
        .get(app.url(&format!("/s/{SPACE}/compte-rendu")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("href=\"/s/{SPACE}/{PAGE}\"")), "an existing page is linked");
    assert!(!html.contains("<script>alert"), "scripts are removed");
    assert!(
        !html.contains("wikilink-missing"),
        "an anonymous reader is not offered to create pages"
    );

    let editor = app.browser();
    let browser = {
        let token = app.csrf(&editor, "/login").await;
        editor
            .post(app.url("/login"))
            .form(&[
                ("_csrf", token.as_str()),
                ("email", "sophie@example.org"),
                ("password", common::PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        editor
    };
    let html = browser
        .get(app.url(&format!("/s/{SPACE}/compte-rendu")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("/s/{SPACE}/new?title=Budget")),
        "an editor is offered to create the missing page"
    );

    let target = common::yclient::wait_until_async_text(
        app,
        &format!("/s/{SPACE}/{PAGE}"),
        ">Compte rendu<",
    )
    .await;
    assert!(target.contains("Pages qui mènent ici"));
}

/// The page's stored text once `check` holds for it (updates reach storage asynchronously).
async fn stored_text(app: &TestApp, token: &str, check: impl Fn(&str) -> bool) -> String {
    for _ in 0..400 {
        let text = app.page_text(token, SPACE, PAGE).await;
        if check(&text) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the stored text never got there: {:?}", app.page_text(token, SPACE, PAGE).await);
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Two people type at once, then one closes right after their last keys: what they sent
/// before closing is applied and stored, even though their connection is gone by the time the
/// page answers it (found with stock clients: the broadcast to the closed connection used to
/// drop it, and the edits it had sent with it).
async fn edits_sent_just_before_closing_are_kept(app: &TestApp) {
    let cast = cast(app, Visibility::Members).await;
    let a = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&cast.editor)).await;
    let b = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&cast.editor2)).await;
    a.wait_for("the first sync", |_| true).await;
    for i in 0..150 {
        a.append(&format!("a{i} "));
        b.type_at(0, &format!("b{i} "));
    }
    let a_doc = a.disconnect().await;
    let a_text = {
        let doc = a_doc.lock().unwrap();
        let text = yrs::GetString::get_string(
            &doc.get_or_insert_text("body"),
            &yrs::Transact::transact(&*doc),
        );
        text
    };
    let everything = |t: &str| t.contains("a149 ") && t.contains("b149 ");
    b.wait_for("every key", everything).await;
    let stored = stored_text(app, &cast.editor2, everything).await;
    let keys = |t: &str, who: char| -> Vec<String> {
        t.split(' ').filter(|w| w.starts_with(who)).map(str::to_owned).collect()
    };
    let typed: Vec<String> = (0..150).map(|i| format!("a{i}")).collect();
    assert_eq!(keys(&stored, 'a'), typed, "every key a typed, in order: {stored}");
    assert_eq!(keys(&a_text, 'a'), typed);
    assert_eq!(keys(&stored, 'b').len(), 150, "{stored}");
}

/// A page with a hundred people holds updates that come faster than its window (5 ms here) to
/// send them together: every key still reaches everyone, in order, and is stored — the last
/// ones too, though no later update comes to push them out.
async fn a_crowded_page_holding_updates_delivers_every_key_in_order(app: &TestApp) {
    let server = TestApp::start_configured(&app.database_url, |s| {
        s.collab.busy_page_window = std::time::Duration::from_secs(1);
        s.collab.max_connections_per_address = 0;
    })
    .await;
    let cast = cast(&server, Visibility::Members).await;
    let url = server.ws_url(SPACE, PAGE);
    let writer = YClient::connect(&url, Some(&cast.editor)).await;
    let mut readers = Vec::new();
    for _ in 0..99 {
        readers.push(YClient::connect(&url, Some(&cast.viewer)).await);
    }
    let mut expected = String::new();
    for i in 0..120 {
        let key = format!("k{i} ");
        writer.append(&key);
        expected.push_str(&key);
        if i % 3 == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
    for reader in &readers {
        reader.wait_for("every key, in order", |t| t == expected).await;
    }
    assert_eq!(stored_text(&server, &cast.editor, |t| t == expected).await, expected);
    server.stop().await;
}

async fn an_idle_document_leaves_memory_and_comes_back_whole(app: &TestApp) {
    let server = TestApp::start_configured(&app.database_url, |s| {
        s.collab.idle_unload = std::time::Duration::from_millis(200)
    })
    .await;
    let cast = cast(&server, Visibility::Members).await;
    let a = YClient::connect(&server.ws_url(SPACE, PAGE), Some(&cast.editor)).await;
    a.append("Avant la pause. ");
    stored_text(&server, &cast.editor, |t| t.contains("pause")).await;
    drop(a);
    let hub = server.hub.clone();
    common::yclient::wait_until("the document to leave memory", || {
        (hub.live_count() == 0).then_some(())
    })
    .await;

    let b = YClient::connect(&server.ws_url(SPACE, PAGE), Some(&cast.editor2)).await;
    b.wait_for("the text to come back", |t| t == "Avant la pause. ").await;
    b.append("Après.");
    let text = stored_text(&server, &cast.editor, |t| t.ends_with("Après.")).await;
    drop(b);
    let server = server.restart().await;
    assert_eq!(server.page_text(&cast.editor, SPACE, PAGE).await, text);
    server.stop().await;
}

#[tokio::test]
async fn a_removed_member_is_cut_off_from_the_live_page() {
    let app = TestApp::start(common::Backend::Sqlite).await;
    let cast = cast(&app, Visibility::Private).await;
    let editor = YClient::connect(&app.ws_url(SPACE, PAGE), Some(&cast.editor2)).await;
    editor.append("Avant le départ. ");
    stored_text(&app, &cast.editor, |t| t.contains("départ")).await;

    let removed = reqwest::Client::new()
        .delete(app.url(&format!("/api/spaces/{SPACE}/members/celine@example.org")))
        .bearer_auth(&cast.editor)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::FORBIDDEN, "an editor may not manage members");
    let space = ruche::spaces::store::find(&app.db, SPACE).await.unwrap().unwrap();
    let owner = app.create_user("owner@example.org", "Owner", false).await;
    app.add_member(&space, &owner, Role::Owner).await;
    let owner_token = app.token_for("owner@example.org").await;
    let removed = reqwest::Client::new()
        .delete(app.url(&format!("/api/spaces/{SPACE}/members/celine@example.org")))
        .bearer_auth(&owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);

    let (code, _) = editor.wait_closed().await.expect("closed with a reason");
    assert_eq!(code, 1008);
    assert_eq!(
        open(&app.ws_url(SPACE, PAGE), Some(&cast.editor2)).await.err(),
        Some(404),
        "and cannot come back"
    );
    app.stop().await;
}

/// Two processes may compact the same document: the snapshot only ever moves forward, and the
/// log is read before the snapshot so a load racing a compaction misses nothing.
async fn a_late_compaction_never_replaces_a_newer_snapshot(app: &TestApp) {
    use ruche::collab::store::{self, Appended, NewUpdate};
    use yrs::{ReadTxn, Text, Transact};
    let space = app.create_space("chantier-3", "Chantier 3", Visibility::Public).await;
    let page = ruche::content::create_with_text(&app.db, &space, "Notes", "", None).await.unwrap();
    let doc = ruche::collab::doc::new_doc();
    let body = doc.get_or_insert_text("body");
    let mut states = Vec::new();
    for seq in 1..=10 {
        let data = {
            let mut txn = doc.transact_mut();
            body.push(&mut txn, &format!("mot{seq} "));
            txn.encode_update_v1()
        };
        let row = NewUpdate { seq, data: &data, author: None };
        assert_eq!(store::append(&app.db, page.id.doc(), &[row]).await.unwrap(), Appended::Stored);
        states.push(doc.transact().encode_state_as_update_v1(&Default::default()));
    }
    // The same number again is refused, not written twice.
    let again = NewUpdate { seq: 10, data: &[0, 0], author: None };
    assert_eq!(store::append(&app.db, page.id.doc(), &[again]).await.unwrap(), Appended::Taken);

    store::compact(&app.db, page.id.doc(), states[7].clone(), 8, 0).await.unwrap();
    // A slower process compacts what it had at 5: ignored, the updates 6..8 are not lost.
    store::compact(&app.db, page.id.doc(), states[4].clone(), 5, 0).await.unwrap();
    let stored = store::load(&app.db, page.id.doc()).await.unwrap();
    assert_eq!(stored.base_seq, 8);
    assert_eq!(stored.updates.iter().map(|u| u.seq).collect::<Vec<_>>(), vec![9, 10]);
    let since = store::load_since(&app.db, page.id.doc(), 3).await.unwrap();
    assert!(since.snapshot.is_some(), "updates 4..8 are only in the snapshot now");
    assert_eq!(since.last_seq, 10);
    // Compaction may keep a tail: a process just behind reads the log, not the snapshot.
    store::compact(&app.db, page.id.doc(), states[9].clone(), 10, 2).await.unwrap();
    let near = store::load_since(&app.db, page.id.doc(), 8).await.unwrap();
    assert!(near.snapshot.is_none());
    assert_eq!(near.updates.iter().map(|u| u.seq).collect::<Vec<_>>(), vec![9, 10]);
    let far = store::load_since(&app.db, page.id.doc(), 5).await.unwrap();
    assert!(far.snapshot.is_some() && far.updates.is_empty() && far.last_seq == 10);
    let full = store::load(&app.db, page.id.doc()).await.unwrap();
    assert!(full.snapshot.is_some() && full.updates.is_empty() && full.base_seq == 10);
    assert_eq!(
        common::stored_text(&app.db, page.id.0).await,
        (1..=10).map(|i| format!("mot{i} ")).collect::<String>()
    );
}

/// The batches of several pages go to the database together; each page gets the answer it
/// would have got alone: stored, or taken (another process wrote that number first) — one
/// page's collision refuses nothing of the others'.
async fn pages_written_together_each_get_their_own_answer(app: &TestApp) {
    use ruche::collab::store::{self, Appended, Committer, NewUpdate};
    use yrs::{Text, Transact};
    let space = app.create_space("chantier-4", "Chantier 4", Visibility::Public).await;
    let mut pages = Vec::new();
    for n in 0..12 {
        let title = format!("Page {n}");
        let page =
            ruche::content::create_with_text(&app.db, &space, &title, "", None).await.unwrap();
        pages.push(page.id.doc());
    }
    // Number 1 of the last page is already taken.
    let update = |text: &str| {
        let doc = ruche::collab::doc::new_doc();
        let body = doc.get_or_insert_text("body");
        let mut txn = doc.transact_mut();
        body.push(&mut txn, text);
        txn.encode_update_v1()
    };
    let first = update("ailleurs ");
    let taken = NewUpdate { seq: 1, data: &first, author: None };
    assert_eq!(store::append(&app.db, pages[11], &[taken]).await.unwrap(), Appended::Stored);
    // Everyone writes at once, many times over, the last page with its colliding number first:
    // groups form, some with the collision in them.
    let committer = Committer::start(app.db.clone(), std::time::Duration::from_millis(1));
    let writes = pages.iter().enumerate().map(|(n, &doc)| {
        let committer = committer.clone();
        async move {
            let mut answers = Vec::new();
            for seq in 1..=20 {
                let data = update(&format!("p{n}.{seq} "));
                let row = NewUpdate { seq, data: &data, author: None };
                answers.push(committer.append(doc, &[row]).await.unwrap());
            }
            answers
        }
    });
    let answers = futures_util::future::join_all(writes).await;
    for (n, answers) in answers.iter().enumerate().take(11) {
        assert!(answers.iter().all(|a| *a == Appended::Stored), "page {n}: {answers:?}");
    }
    assert_eq!(answers[11][0], Appended::Taken, "its number 1 was someone else's");
    assert!(answers[11][1..].iter().all(|a| *a == Appended::Stored));
    for (n, &doc) in pages.iter().enumerate() {
        let stored = store::load(&app.db, doc).await.unwrap();
        let seqs: Vec<i64> = stored.updates.iter().map(|u| u.seq).collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>(), "page {n}");
    }
    let last = store::load(&app.db, pages[11]).await.unwrap();
    assert_eq!(last.updates[0].data, first, "the number taken first kept its update");
}
