//! Limits on what one client may do to a live page: how fast it sends, how many connections
//! one address opens, how long a page may grow. Each ends with a clear answer, never with
//! lost or corrupted text, and others go on unaffected.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::time::Duration;

use common::{
    yclient::{self, YClient},
    Backend, TestApp,
};
use ruche::spaces::{Role, Visibility};

/// A site configured by `configure`, with an editor's token and a page.
async fn site(configure: impl FnOnce(&mut ruche::config::Settings)) -> (TestApp, String) {
    let app = TestApp::start_with(Backend::Sqlite, configure).await;
    let space = app.create_space("chantier-3", "Chantier 3", Visibility::Members).await;
    let user = app.create_user("sylvia@example.org", "Sylvia", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("sylvia@example.org").await;
    app.put_page(&token, "chantier-3", "cartographie", "Début.").await;
    (app, token)
}

#[tokio::test]
async fn a_flooding_client_is_slowed_then_closed_and_others_go_on() {
    let (app, token) = site(|s| {
        s.collab.max_messages_per_second = 20;
        s.collab.flood_grace = Duration::from_secs(1);
    })
    .await;
    let url = app.ws_url("chantier-3", "cartographie");
    let calm = YClient::connect(&url, Some(&token)).await;
    let flood = YClient::connect(&url, Some(&token)).await;
    calm.wait_for("sync", |t| t == "Début.").await;
    flood.wait_for("sync", |t| t == "Début.").await;
    // Query-awareness messages as fast as the socket takes them.
    for _ in 0..5000 {
        flood.send_raw(vec![3]);
    }
    let (code, reason) = flood.wait_closed().await.expect("a close frame with a reason");
    assert_eq!((code, reason.as_str()), (1008, "too many messages"));
    calm.append(" Suite.");
    calm.wait_for("the calm client's edit", |t| t == "Début. Suite.").await;
    assert_eq!(app.page_text(&token, "chantier-3", "cartographie").await, "Début. Suite.");
    app.stop().await;
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let (app, token) = site(|s| s.collab.max_connections_per_address = 3).await;
    let url = app.ws_url("chantier-3", "cartographie");
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(YClient::connect(&url, Some(&token)).await);
    }
    assert_eq!(yclient::open(&url, Some(&token)).await.map(|_| ()).unwrap_err(), 429);
    // One leaves: a place is free again.
    open.pop().unwrap().disconnect().await;
    let mut admitted = false;
    for _ in 0..100 {
        if let Ok(socket) = yclient::open(&url, Some(&token)).await {
            drop(socket);
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a connection is admitted once another left");
    app.stop().await;
}

#[tokio::test]
async fn many_opening_a_page_at_once_all_get_in_and_a_stalled_request_holds_nobody_up() {
    use tokio::io::AsyncWriteExt;
    let (app, token) = site(|_| {}).await;
    // Requests that claim an upgrade, then never send the body they announced: they wait for
    // the body as long as they stay, and must not hold up anyone's handshake meanwhile.
    let mut stalled = Vec::new();
    for _ in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "PUT /api/pages/chantier-3/cartographie HTTP/1.1\r\nHost: {}\r\n\
             Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 1000\r\n\r\n{{",
            app.addr
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stalled.push(stream);
    }
    // Many more people than are let through at once open the page together: all get in.
    let url = app.ws_url("chantier-3", "cartographie");
    let everyone =
        futures_util::future::join_all((0..90).map(|_| YClient::connect(&url, Some(&token))));
    let clients = tokio::time::timeout(Duration::from_secs(30), everyone)
        .await
        .expect("every handshake answered, none held up by the stalled requests");
    for client in &clients {
        client.wait_for("sync", |t| t == "Début.").await;
    }
    clients[0].append(" Suite.");
    clients[89].wait_for("an edit", |t| t == "Début. Suite.").await;
    drop(stalled);
    app.stop().await;
}

#[tokio::test]
async fn a_page_cannot_grow_past_its_limit() {
    let (app, token) = site(|s| s.collab.max_page_chars = 1000).await;
    let url = app.ws_url("chantier-3", "cartographie");
    let writer = YClient::connect(&url, Some(&token)).await;
    let other = YClient::connect(&url, Some(&token)).await;
    writer.wait_for("sync", |t| t == "Début.").await;
    writer.append(" Un paragraphe raisonnable.");
    other.wait_for("the reasonable edit", |t| t.ends_with("raisonnable.")).await;
    writer.append(&"é".repeat(2000));
    let (code, reason) = writer.wait_closed().await.expect("a close frame with a reason");
    assert_eq!((code, reason.as_str()), (1008, "page too long"));
    // Nothing of it was stored; the page is as it was before.
    assert_eq!(
        app.page_text(&token, "chantier-3", "cartographie").await,
        "Début. Un paragraphe raisonnable."
    );
    let again = YClient::connect(&url, Some(&token)).await;
    again.wait_for("the page as stored", |t| t == "Début. Un paragraphe raisonnable.").await;
    app.stop().await;
}

#[tokio::test]
async fn a_page_written_over_http_cannot_grow_past_its_limit_either() {
    let (app, token) = site(|s| s.collab.max_page_chars = 1000).await;
    let before = "Début.";
    let long = "é".repeat(1200);

    // The API answers 413 with the reason, in JSON.
    let response = app.put_page(&token, "chantier-3", "cartographie", &long).await;
    assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body.to_string().contains("trop longue"), "a readable reason: {body}");
    assert_eq!(app.page_text(&token, "chantier-3", "cartographie").await, before);

    // Written from a base, merged with what is there: still refused, nothing stored.
    let response = app
        .put_page_from(&token, "chantier-3", "cartographie", before, &format!("{before}{long}"))
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.page_text(&token, "chantier-3", "cartographie").await, before);

    // The plain edit form: an error page saying why, in French.
    let browser = app.signed_in("sylvia@example.org").await;
    let (form, base) = app.edit_form(&browser, "chantier-3", "cartographie").await;
    let response = browser
        .post(app.url("/s/chantier-3/cartographie/edit"))
        .form(&[
            ("_csrf", common::csrf_in(&form).unwrap().as_str()),
            ("base", base.as_str()),
            ("markdown", long.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("Cette page serait trop longue"));
    assert_eq!(app.page_text(&token, "chantier-3", "cartographie").await, before);

    // Someone typing live makes a written text that fits go past the limit once merged.
    let url = app.ws_url("chantier-3", "cartographie");
    let live = YClient::connect(&url, Some(&token)).await;
    live.wait_for("sync", |t| t == before).await;
    live.append(&"a".repeat(600));
    let typed = format!("{before}{}", "a".repeat(600));
    for _ in 0..200 {
        if app.page_text(&token, "chantier-3", "cartographie").await == typed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let response = app
        .put_page_from(
            &token,
            "chantier-3",
            "cartographie",
            before,
            &format!("{}{before}", "b".repeat(600)),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.page_text(&token, "chantier-3", "cartographie").await, typed);
    // The live editor is asked to sync again and finds the page as stored.
    let again = YClient::connect(&url, Some(&token)).await;
    again.wait_for("the page as stored", |t| t == typed).await;
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit() {
    let (app, token) = site(|s| {
        s.collab.max_connections_per_address = 2;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let url = app.ws_url("chantier-3", "cartographie");
    let from = |client: &'static str| yclient::open_forwarded(&url, Some(&token), Some(client));
    let _first = (from("203.0.113.5").await.unwrap(), from("203.0.113.5").await.unwrap());
    assert_eq!(from("203.0.113.5").await.map(|_| ()).unwrap_err(), 429);
    // Another client behind the same proxy is not held back by the first one.
    let _second = from("198.51.100.7").await.unwrap();
    // What a client writes itself on the left is not believed: the proxy's entry counts.
    assert_eq!(from("198.51.100.8, 203.0.113.5").await.map(|_| ()).unwrap_err(), 429);
    app.stop().await;
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_addresses_are_ignored() {
    let (app, token) = site(|s| s.collab.max_connections_per_address = 2).await;
    let url = app.ws_url("chantier-3", "cartographie");
    let from = |client: &'static str| yclient::open_forwarded(&url, Some(&token), Some(client));
    let _open = (from("203.0.113.5").await.unwrap(), from("203.0.113.6").await.unwrap());
    assert_eq!(
        from("203.0.113.7").await.map(|_| ()).unwrap_err(),
        429,
        "one address, whatever it says"
    );
    app.stop().await;
}

#[tokio::test]
async fn sign_in_attempts_are_counted_per_client_behind_a_trusted_proxy() {
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.login_attempts_per_minute = 1;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.create_user("admin@example.org", "Admin", true).await; // the site is set up
    let site = &app;
    let attempt = |email: String, client: &'static str| {
        let browser = site.browser();
        async move {
            let csrf = site.csrf(&browser, "/login").await;
            browser
                .post(site.url("/login"))
                .header("x-forwarded-for", client)
                .form(&[("_csrf", csrf.as_str()), ("email", email.as_str()), ("password", "non")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Four attempts per minute per address (4 × the per-account figure), each on another account.
    for n in 0..4 {
        assert_eq!(attempt(format!("x{n}@example.org"), "203.0.113.5").await, 401);
    }
    assert_eq!(attempt("x9@example.org".into(), "203.0.113.5").await, 429);
    assert_eq!(attempt("y9@example.org".into(), "198.51.100.7").await, 401, "another client");
    app.stop().await;
}

#[tokio::test]
async fn bodies_are_limited_but_a_whole_page_always_fits() {
    let (app, token) = site(|s| {
        s.max_body_bytes = 64 * 1024;
        s.max_search_chars = 20;
    })
    .await;
    // A page of 40 000 characters (80 kB) is more than the body limit, and fits the page's own.
    let long = "é".repeat(40_000);
    let response = app.put_page(&token, "chantier-3", "cartographie", &long).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(app.page_text(&token, "chantier-3", "cartographie").await, long);
    // Anything else that large is refused, with the reason.
    let response = reqwest::Client::new()
        .post(app.url("/api/spaces"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "slug": "x", "title": "x".repeat(100_000) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    // The search box holds what a query may be; a longer query says why, in French.
    let (_, html) = app.get_text(None, "/search?q=coop").await;
    assert!(html.contains("maxlength=\"20\""), "{html}");
    let (status, html) =
        app.get_text(None, "/search?q=une%20recherche%20bien%20trop%20longue").await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert!(html.contains("Votre recherche est trop longue (20 caractères au plus)"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn a_site_sets_how_big_a_form_may_be() {
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.forms.max_fields = 1;
        s.forms.max_choices = 2;
    })
    .await;
    app.create_user("admin@example.org", "Admin", true).await;
    let browser = app.signed_in("admin@example.org").await;
    let created =
        app.post_form(&browser, "/admin/forms", "/admin/forms", &[("name", "Étapes")]).await;
    let editor = created.headers()["location"].to_str().unwrap().to_owned();
    let name = ("name", "Étapes");
    // Three choices where two are allowed: refused, saying the site's figure.
    let refused = app
        .post_form(
            &browser,
            &editor,
            &editor,
            &[
                name,
                ("new.label", "Étape"),
                ("new.kind", "single_choice"),
                ("new.choices", "a\nb\nc"),
            ],
        )
        .await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("Trop de choix (2 au plus)."));
    // Two choices: saved. A second field where one is allowed: refused, saying so.
    let fields =
        [name, ("new.label", "Étape"), ("new.kind", "single_choice"), ("new.choices", "a\nb")];
    let saved = app.post_form(&browser, &editor, &editor, &fields).await;
    assert_eq!(saved.status(), reqwest::StatusCode::SEE_OTHER);
    let second = [
        name,
        ("f0.key", "etape"),
        ("f0.label", "Étape"),
        ("f0.kind", "single_choice"),
        ("f0.choices", "a\nb"),
        ("new.label", "Porteur"),
        ("new.kind", "short_text"),
    ];
    let refused = app.post_form(&browser, &editor, &editor, &second).await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("Trop de champs (1 au plus)."));
    app.stop().await;
}

#[tokio::test]
async fn a_client_too_slow_to_keep_up_is_closed_with_its_reason_and_others_go_on() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let (app, token) = site(|s| {
        s.collab.outbox_capacity = 8;
        s.collab.max_page_chars = 100_000_000;
    })
    .await;
    let url = app.ws_url("chantier-3", "cartographie");
    // A client that joins and then reads nothing.
    let mut slow = yclient::open(&url, Some(&token)).await.unwrap();
    let writer = YClient::connect(&url, Some(&token)).await;
    let calm = YClient::connect(&url, Some(&token)).await;
    writer.wait_for("sync", |t| t == "Début.").await;
    calm.wait_for("sync", |t| t == "Début.").await;
    // Far more than the socket's buffers hold: the slow client falls behind.
    // One edit at a time, each seen by the calm client before the next.
    let chunk = "x".repeat(100_000);
    let mut total = "Début.".len();
    for _ in 0..150 {
        writer.append(&chunk);
        total += chunk.len();
        calm.wait_for("the edit", |t| t.len() == total).await;
    }
    // The slow one, reading at last, finds its connection closed, and why.
    let mut closed = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while closed.is_none() {
        let next = tokio::time::timeout_at(deadline, slow.next()).await.expect("the close in time");
        match next {
            Some(Ok(Message::Close(frame))) => {
                closed = Some(frame.map(|f| (u16::from(f.code), f.reason.to_string())))
            }
            Some(Ok(_)) => {}
            _ => panic!("the connection ended without a close frame"),
        }
    }
    assert_eq!(closed.unwrap(), Some((1013, "too slow to keep up; reconnect".to_owned())));
    assert_eq!(app.page_text(&token, "chantier-3", "cartographie").await.len(), total);
    app.stop().await;
}

#[tokio::test]
async fn a_command_that_cannot_reach_its_page_is_an_error_for_the_caller() {
    let (app, token) = site(|_| {}).await;
    // The live documents are stopped (as when the site shuts down): nothing can reach a page.
    app.hub.shutdown().await;
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        reqwest::Client::new()
            .get(app.url("/api/pages/chantier-3/cartographie"))
            .bearer_auth(&token)
            .send(),
    )
    .await
    .expect("an answer, not a wait")
    .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    let put = reqwest::Client::new()
        .put(app.url("/api/pages/chantier-3/cartographie"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "markdown": "Perdu ?" }))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_server_error(), "{}", put.status());
    app.stop().await;
}

#[tokio::test]
async fn a_large_edit_is_applied_off_the_runtime_and_seen_whole() {
    let (app, token) = site(|s| s.collab.max_page_chars = 10_000_000).await;
    let url = app.ws_url("chantier-3", "cartographie");
    let writer = YClient::connect(&url, Some(&token)).await;
    let reader = YClient::connect(&url, Some(&token)).await;
    writer.wait_for("sync", |t| t == "Début.").await;
    // Well past the size applied on a blocking thread (256 KiB).
    let big = "é".repeat(400_000);
    writer.append(&big);
    let expected = format!("Début.{big}");
    reader.wait_for("the large edit", |t| t == expected).await;
    assert_eq!(app.page_text(&token, "chantier-3", "cartographie").await, expected);
    app.stop().await;
}
