//! A crash loses nothing anyone has seen: `kill -9` of a real server process while people type.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{yclient::YClient, ServerProcess, TestApp};
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    every_update_a_client_received_survives_kill_9,
    an_oversized_frame_closes_the_connection
);

async fn every_update_a_client_received_survives_kill_9(app: &TestApp) {
    let space = app.create_space("chantier-4", "Chantier 4", Visibility::Members).await;
    let user = app.create_user("celine@example.org", "Céline", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("celine@example.org").await;
    app.put_page(&token, "chantier-4", "ecosystemes", "Début. ").await;

    let mut server = ServerProcess::spawn(&app.database_url, &[]).await;
    let url = format!("{}/ws/chantier-4/ecosystemes", server.ws);
    let writer = YClient::connect(&url, Some(&token)).await;
    let watcher = YClient::connect(&url, Some(&token)).await;
    writer.wait_for("the writer to sync", |t| t.starts_with("Début.")).await;
    for i in 0..200 {
        writer.append(&format!("mot{i} "));
        if i == 120 {
            // Kill while words are still flowing.
            watcher.wait_for("the watcher to receive some words", |t| t.contains("mot60 ")).await;
            server.child.start_kill().unwrap();
        }
    }
    server.child.wait().await.unwrap();
    let watcher_saw = watcher.text();
    assert!(watcher_saw.contains("mot60 "));

    let restarted = ServerProcess::spawn(&app.database_url, &[]).await;
    let stored: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/pages/chantier-4/ecosystemes", restarted.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored = stored["markdown"].as_str().unwrap();
    assert!(
        stored.starts_with(&watcher_saw),
        "stored {stored:?}\nwatcher had seen {watcher_saw:?}"
    );
}

async fn an_oversized_frame_closes_the_connection(app: &TestApp) {
    let server =
        TestApp::start_configured(&app.database_url, |s| s.collab.max_frame_bytes = 64 * 1024)
            .await;
    let space = server.create_space("chantier-5", "Chantier 5", Visibility::Members).await;
    let user = server.create_user("julien@example.org", "Julien", false).await;
    server.add_member(&space, &user, Role::Editor).await;
    let token = server.token_for("julien@example.org").await;
    server.put_page(&token, "chantier-5", "national", "Texte.").await;

    let client = YClient::connect(&server.ws_url("chantier-5", "national"), Some(&token)).await;
    client.wait_for("sync", |t| t == "Texte.").await;
    let mut huge = vec![0u8, 2];
    huge.extend(std::iter::repeat_n(7u8, 100 * 1024));
    client.send_raw(huge);
    let (code, reason) = client.wait_closed().await.expect("a close frame with a reason");
    assert_eq!((code, reason.as_str()), (1009, "frame too large"));
    assert_eq!(server.page_text(&token, "chantier-5", "national").await, "Texte.");
    server.stop().await;
}
