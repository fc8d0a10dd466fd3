//! Who sees and does what with spaces: every person × every visibility × every place to look.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod common;

use common::TestApp;
use reqwest::{Client, StatusCode};
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    access_matrix_holds_for_every_person_and_space,
    private_space_answers_like_a_missing_one,
    owners_manage_members_and_settings
);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Outsider,
    Viewer,
    Editor,
    Owner,
    Admin,
}

const PUBLIC_TITLE: &str = "Ressources publiques";
const MEMBERS_TITLE: &str = "Chantier réservé";
const PRIVATE_TITLE: &str = "Comité de pilotage secret";

/// Sets up the three spaces and one person per role; returns a client for each.
async fn cast(app: &TestApp) -> Vec<(Who, Client)> {
    let spaces = [
        app.create_space("public", PUBLIC_TITLE, Visibility::Public).await,
        app.create_space("members", MEMBERS_TITLE, Visibility::Members).await,
        app.create_space("private", PRIVATE_TITLE, Visibility::Private).await,
    ];
    app.create_user("admin@example.org", "Admin", true).await;
    app.create_user("outsider@example.org", "Outsider", false).await;
    for (role, email) in [
        (Role::Viewer, "viewer@example.org"),
        (Role::Editor, "editor@example.org"),
        (Role::Owner, "owner@example.org"),
    ] {
        let user = app.create_user(email, email, false).await;
        for space in &spaces {
            app.add_member(space, &user, role).await;
        }
    }
    vec![
        (Who::Anonymous, app.browser()),
        (Who::Outsider, app.signed_in("outsider@example.org").await),
        (Who::Viewer, app.signed_in("viewer@example.org").await),
        (Who::Editor, app.signed_in("editor@example.org").await),
        (Who::Owner, app.signed_in("owner@example.org").await),
        (Who::Admin, app.signed_in("admin@example.org").await),
    ]
}

fn is_member(who: Who) -> bool {
    matches!(who, Who::Viewer | Who::Editor | Who::Owner | Who::Admin)
}

async fn access_matrix_holds_for_every_person_and_space(app: &TestApp) {
    for (who, client) in cast(app).await {
        let home = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        let api_list: Vec<serde_json::Value> = client
            .get(app.url("/api/spaces"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let listed: Vec<String> =
            api_list.iter().map(|s| s["slug"].as_str().unwrap().to_owned()).collect();

        for (slug, title, visibility) in [
            ("public", PUBLIC_TITLE, Visibility::Public),
            ("members", MEMBERS_TITLE, Visibility::Members),
            ("private", PRIVATE_TITLE, Visibility::Private),
        ] {
            let sees = visibility != Visibility::Private || is_member(who);
            let reads = visibility == Visibility::Public || is_member(who);
            let manages = matches!(who, Who::Owner | Who::Admin);
            let cell = format!("{who:?} × {slug}");

            // Listed on / and in the API.
            assert_eq!(home.contains(title), sees, "{cell}: listed on /");
            assert_eq!(listed.contains(&slug.to_owned()), sees, "{cell}: listed by /api/spaces");

            // The space's home.
            let page = client.get(app.url(&format!("/s/{slug}"))).send().await.unwrap();
            let status = page.status();
            let html = page.text().await.unwrap();
            if sees {
                assert_eq!(status, StatusCode::OK, "{cell}: space home");
                assert!(html.contains(title), "{cell}: space home shows the title");
                assert_eq!(
                    html.contains("réservé à ses membres"),
                    !reads,
                    "{cell}: members-only notice"
                );
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{cell}: space home is 404");
                assert!(!html.contains(title), "{cell}: 404 page leaks nothing");
            }

            // The API's view of it.
            let api = client.get(app.url(&format!("/api/spaces/{slug}"))).send().await.unwrap();
            if sees {
                assert_eq!(api.status(), StatusCode::OK, "{cell}: /api/spaces/{{space}}");
                let body: serde_json::Value = api.json().await.unwrap();
                assert_eq!(body["may_read"], reads, "{cell}: may_read");
                assert_eq!(body["may_manage"], manages, "{cell}: may_manage");
                assert_eq!(
                    body["may_edit"],
                    matches!(who, Who::Editor | Who::Owner | Who::Admin),
                    "{cell}: may_edit"
                );
            } else {
                assert_eq!(
                    api.status(),
                    StatusCode::NOT_FOUND,
                    "{cell}: /api/spaces/{{space}} is 404"
                );
                assert!(
                    !api.text().await.unwrap().contains(title),
                    "{cell}: API 404 leaks nothing"
                );
            }

            // Managing members, by page and by API.
            let members = client.get(app.url(&format!("/s/{slug}/members"))).send().await.unwrap();
            let expected = match (sees, manages, who) {
                (false, _, _) => StatusCode::NOT_FOUND,
                (true, true, _) => StatusCode::OK,
                (true, false, Who::Anonymous) => StatusCode::SEE_OTHER, // to the sign-in page
                (true, false, _) => StatusCode::FORBIDDEN,
            };
            assert_eq!(members.status(), expected, "{cell}: members page");
            let put = client
                .put(app.url(&format!("/api/spaces/{slug}/members/outsider@example.org")))
                .json(&serde_json::json!({"role": "viewer"}))
                .send()
                .await
                .unwrap();
            let expected = match (sees, manages, who) {
                (false, _, _) => StatusCode::NOT_FOUND,
                (true, true, _) => StatusCode::OK,
                (true, false, Who::Anonymous) => StatusCode::UNAUTHORIZED,
                (true, false, _) => StatusCode::FORBIDDEN,
            };
            assert_eq!(put.status(), expected, "{cell}: PUT member");
            if put.status() == StatusCode::OK {
                // Undo, so the outsider stays an outsider for the next people in the matrix.
                let deleted = client
                    .delete(app.url(&format!("/api/spaces/{slug}/members/outsider@example.org")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(deleted.status(), StatusCode::NO_CONTENT, "{cell}: DELETE member");
            }
        }
    }
}

async fn private_space_answers_like_a_missing_one(app: &TestApp) {
    app.create_space("private", PRIVATE_TITLE, Visibility::Private).await;
    app.create_user("outsider@example.org", "Outsider", false).await;
    let outsider = app.signed_in("outsider@example.org").await;
    for (existing, missing) in [
        ("/s/private", "/s/nothing-here"),
        ("/s/private/members", "/s/nothing-here/members"),
        ("/api/spaces/private", "/api/spaces/nothing-here"),
    ] {
        let a = outsider.get(app.url(existing)).send().await.unwrap();
        let b = outsider.get(app.url(missing)).send().await.unwrap();
        assert_eq!(a.status(), StatusCode::NOT_FOUND);
        assert_eq!(b.status(), StatusCode::NOT_FOUND);
        let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
        let neutral = |html: &str, path: &str| {
            html.replace(path, "X").replace(&path.replace('/', "%2F"), "X")
        };
        assert_eq!(
            neutral(&a, existing),
            neutral(&b, missing),
            "{existing} answers exactly like {missing}"
        );
    }
}

async fn owners_manage_members_and_settings(app: &TestApp) {
    let space = app.create_space("chantier-3", "Chantier 3", Visibility::Members).await;
    let owner = app.create_user("sylvia@example.org", "Sylvia Garzon", false).await;
    app.add_member(&space, &owner, Role::Owner).await;
    let newcomer = app.create_user("julien@example.org", "Julien Neiertz", false).await;
    let browser = app.signed_in("sylvia@example.org").await;

    let added = app
        .post_form(
            &browser,
            "/s/chantier-3/members",
            "/s/chantier-3/members",
            &[("email", "julien@example.org"), ("role", "editor")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let page =
        browser.get(app.url("/s/chantier-3/members")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Julien Neiertz"), "the new member is listed");
    assert_eq!(
        ruche::spaces::store::role_of(&app.db, space.id, newcomer.id).await.unwrap(),
        Some(Role::Editor)
    );

    // The last owner cannot step down and leave the space without one.
    let refused = app
        .post_form(
            &browser,
            "/s/chantier-3/members",
            &format!("/s/chantier-3/members/{}", owner.id.0),
            &[("action", "role"), ("role", "viewer")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("au moins un·e responsable"));

    let saved = app
        .post_form(
            &browser,
            "/s/chantier-3/settings",
            "/s/chantier-3/settings",
            &[
                ("title", "Chantier 3 : accompagnement"),
                ("description", "Nouvelle description"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let anonymous =
        app.browser().get(app.url("/s/chantier-3")).send().await.unwrap().text().await.unwrap();
    assert!(
        anonymous.contains("Chantier 3 : accompagnement")
            && anonymous.contains("Nouvelle description")
    );
}
