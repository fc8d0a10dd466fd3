//! The stock `y-websocket` provider from npm connects to Ruche unchanged: it syncs, sends and
//! receives updates, and sees presence come and go. Needs Node and `web/node_modules`
//! (`npm ci` in `web/`); CI installs both.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::TestApp;
use ruche::spaces::{Role, Visibility};

#[tokio::test]
async fn the_stock_y_websocket_client_syncs_and_sees_presence() {
    let root = env!("CARGO_MANIFEST_DIR");
    let modules = std::path::Path::new(root).join("web/node_modules/y-websocket");
    if !modules.exists() {
        assert!(std::env::var("CI").is_err(), "CI must install web/node_modules (npm ci in web/)");
        eprintln!("web/node_modules is missing: run `npm ci` in web/ to run this test");
        return;
    }
    let app = TestApp::start(common::Backend::Sqlite).await;
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let user = app.create_user("woafae@example.org", "Woafae", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("woafae@example.org").await;
    app.put_page(&token, "chantier-2", "outils", "Bonjour, coopération").await;

    let output = tokio::process::Command::new("node")
        .arg(format!("{root}/tests/js/stock-client.mjs"))
        .arg(format!("ws://{}/ws/chantier-2", app.addr))
        .arg("outils")
        .arg(&token)
        .output()
        .await
        .expect("node runs");
    assert!(output.status.success(), "node failed: {}", String::from_utf8_lossy(&output.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(seen["initial"], "Bonjour, coopération");
    assert_eq!(seen["seenByB"], "Bonjour, coopération — écrit par Alice 👋");
    assert!(seen["presence"].as_array().unwrap().iter().any(|n| n == "Alice"), "{seen}");
    assert!(!seen["presenceAfter"].as_array().unwrap().iter().any(|n| n == "Alice"), "{seen}");
    // The burst reached both stock clients whole (merged batches included), and is stored.
    assert_eq!(seen["burst"]["same"], true, "{seen}");
    assert_eq!(seen["burst"]["complete"], true, "{seen}");
    assert_eq!(app.page_text(&token, "chantier-2", "outils").await, seen["burst"]["text"]);
    app.stop().await;
}
