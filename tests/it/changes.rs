//! Recent changes and feeds: each reader sees only what they may read, feeds are valid Atom,
//! personal feed addresses are revocable; purging and retention remove history for good.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::TestApp;
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    recent_changes_and_feeds_show_each_reader_only_what_they_may_read,
    personal_feed_addresses_work_until_revoked,
    purging_a_page_removes_its_history,
    retention_keeps_the_newest_revision_of_each_page,
);

/// Three spaces, each with a page whose title says where it lives, created, renamed, trashed
/// and restored by its owner; returns the owner's API token.
async fn activity(app: &TestApp) -> String {
    let owner = app.create_user("owner@example.org", "Owner Person", false).await;
    let viewer = app.create_user("viewer@example.org", "Viewer Person", false).await;
    app.create_user("outsider@example.org", "Outsider Person", false).await;
    app.create_user("admin@example.org", "Admin Person", true).await;
    for (slug, visibility) in [
        ("public", Visibility::Public),
        ("members", Visibility::Members),
        ("private", Visibility::Private),
    ] {
        let space = app.create_space(slug, &format!("Space {slug}"), visibility).await;
        app.add_member(&space, &owner, Role::Owner).await;
        app.add_member(&space, &viewer, Role::Viewer).await;
    }
    let token = app.token_for("owner@example.org").await;
    let browser = app.signed_in("owner@example.org").await;
    for slug in ["public", "members", "private"] {
        let created = app
            .post_form(
                &browser,
                &format!("/s/{slug}/new"),
                &format!("/s/{slug}/pages"),
                &[("title", &format!("Marker {slug} first"))],
            )
            .await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        let page = format!("/s/{slug}/marker-{slug}-first");
        app.post_form(
            &browser,
            &format!("{page}/rename"),
            &format!("{page}/rename"),
            &[("title", &format!("Marker {slug} renamed")), ("slug", "")],
        )
        .await;
        let page = format!("/s/{slug}/marker-{slug}-renamed");
        app.post_form(&browser, &page, &format!("{page}/trash"), &[]).await;
        app.post_form(&browser, &format!("/s/{slug}/trash"), &format!("{page}/restore"), &[]).await;
    }
    token
}

async fn activity_then_readers(
    app: &TestApp,
) -> Vec<(&'static str, Option<reqwest::Client>, Vec<&'static str>)> {
    activity(app).await;
    vec![
        ("anonymous", None, vec!["public"]),
        ("outsider", Some(app.signed_in("outsider@example.org").await), vec!["public"]),
        (
            "viewer",
            Some(app.signed_in("viewer@example.org").await),
            vec!["public", "members", "private"],
        ),
        (
            "admin",
            Some(app.signed_in("admin@example.org").await),
            vec!["public", "members", "private"],
        ),
    ]
}

async fn recent_changes_and_feeds_show_each_reader_only_what_they_may_read(app: &TestApp) {
    for (who, client, readable) in activity_then_readers(app).await {
        let client = client.unwrap_or_else(|| app.browser());
        let html = client.get(app.url("/changes")).send().await.unwrap().text().await.unwrap();
        for space in ["public", "members", "private"] {
            let visible = readable.contains(&space);
            assert_eq!(
                html.contains(&format!("Marker {space}")),
                visible,
                "{who} × {space} on /changes"
            );
            assert_eq!(
                html.contains(&format!("Space {space}")),
                visible,
                "{who} × {space} space name on /changes"
            );
            let page = client.get(app.url(&format!("/s/{space}/changes"))).send().await.unwrap();
            let status = page.status();
            let body = page.text().await.unwrap();
            if visible {
                assert_eq!(status, StatusCode::OK, "{who} × {space} /s/…/changes");
                assert_eq!(
                    body.matches("<li><time").count(),
                    4,
                    "{who} × {space}: created, renamed, trashed, restored"
                );
            } else {
                assert!(
                    !body.contains(&format!("Marker {space}")),
                    "{who} × {space}: nothing leaks"
                );
            }
        }
        // The public feed is the same for everyone: public spaces only.
        let feed =
            client.get(app.url("/changes.atom")).send().await.unwrap().bytes().await.unwrap();
        let feed = feed_rs::parser::parse(&feed[..]).expect("the public feed is valid Atom");
        let titles: Vec<String> = feed
            .entries
            .iter()
            .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
            .collect();
        assert_eq!(titles.len(), 4, "{who}: public feed {titles:?}");
        assert!(titles.iter().all(|t| t.contains("Marker public")), "{who}: {titles:?}");
    }
    // Feeds of spaces that are not public need a personal address.
    let anonymous = app.browser();
    assert_eq!(
        anonymous.get(app.url("/s/members/changes.atom")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let private = anonymous.get(app.url("/s/private/changes.atom")).send().await.unwrap();
    assert_eq!(private.status(), StatusCode::NOT_FOUND);
    assert!(!private.text().await.unwrap().contains("Marker"));
}

async fn personal_feed_addresses_work_until_revoked(app: &TestApp) {
    activity(app).await;
    let viewer = app.signed_in("viewer@example.org").await;
    let page = app.post_form(&viewer, "/changes", "/changes/feed-token", &[]).await;
    let html = page.text().await.unwrap();
    let url = html
        .split("<code class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let token = url.split("token=").nth(1).unwrap().to_owned();

    let site = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    let site = feed_rs::parser::parse(&site[..]).expect("the personal feed is valid Atom");
    assert_eq!(site.entries.len(), 12, "three spaces × four events");
    let members =
        reqwest::get(app.url(&format!("/s/members/changes.atom?token={token}"))).await.unwrap();
    assert_eq!(members.status(), StatusCode::OK);
    let members = feed_rs::parser::parse(&members.bytes().await.unwrap()[..]).unwrap();
    assert!(members.entries.iter().all(|e| e
        .title
        .as_ref()
        .unwrap()
        .content
        .contains("Marker members")));

    let revoked = app.post_form(&viewer, "/changes", "/changes/feed-token/revoke", &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), StatusCode::NOT_FOUND);
}

async fn purging_a_page_removes_its_history(app: &TestApp) {
    let token = activity(app).await;
    app.put_page(&token, "members", "compte-rendu", "Texte à supprimer.").await;
    let owner = app.signed_in("owner@example.org").await;
    let save = app
        .post_form(
            &owner,
            "/s/members/compte-rendu/history",
            "/s/members/compte-rendu/history/save",
            &[("note", "v1")],
        )
        .await;
    assert_eq!(save.status(), StatusCode::SEE_OTHER);
    let refused = app
        .post_form(&owner, "/s/members/compte-rendu", "/s/members/compte-rendu/purge", &[])
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT, "only trashed pages are purged");
    app.post_form(&owner, "/s/members/compte-rendu", "/s/members/compte-rendu/trash", &[]).await;
    let purged =
        app.post_form(&owner, "/s/members/trash", "/s/members/compte-rendu/purge", &[]).await;
    assert_eq!(purged.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        owner.get(app.url("/s/members/compte-rendu")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let api = reqwest::Client::new()
        .get(app.url("/api/pages/members/compte-rendu/revisions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let changes =
        owner.get(app.url("/s/members/changes")).send().await.unwrap().text().await.unwrap();
    assert!(!changes.contains("Compte rendu"), "its events went too");
    // The address is free again, and a new page there starts empty.
    let again = app.put_page(&token, "members", "compte-rendu", "Nouveau.").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(app.page_text(&token, "members", "compte-rendu").await, "Nouveau.");
}

async fn retention_keeps_the_newest_revision_of_each_page(app: &TestApp) {
    let token = activity(app).await;
    let owner = app.signed_in("owner@example.org").await;
    for text in ["Un.", "Deux.", "Trois."] {
        app.put_page(&token, "public", "notes", text).await;
        app.post_form(&owner, "/s/public/notes/history", "/s/public/notes/history/save", &[]).await;
    }
    let deleted = ruche::history::store::apply_retention(&app.db, 0).await.unwrap();
    assert!(deleted >= 2, "deleted {deleted}");
    let list: serde_json::Value = reqwest::Client::new()
        .get(app.url("/api/pages/public/notes/revisions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    let id = list["revisions"][0]["id"].as_i64().unwrap();
    let newest: serde_json::Value = reqwest::Client::new()
        .get(app.url(&format!("/api/pages/public/notes/revisions/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(newest["markdown"], "Trois.");
}
