//! Who sees and does what with spaces: every person × every visibility × every place to look.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

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

on_each_backend!(
    a_trashed_page_is_read_by_its_managers_only_on_every_surface,
    a_members_only_entry_is_for_members_on_every_surface
);

/// The people around one public space: its owner, an editor, and someone from outside, each with
/// a browser and an API token.
async fn people(app: &TestApp) -> Vec<(&'static str, Client, String)> {
    let space = app.create_space("public", PUBLIC_TITLE, Visibility::Public).await;
    let mut people = Vec::new();
    for (who, role) in
        [("manager", Some(Role::Owner)), ("member", Some(Role::Editor)), ("outsider", None)]
    {
        let email = format!("{who}@example.org");
        let user = app.create_user(&email, who, false).await;
        if let Some(role) = role {
            app.add_member(&space, &user, role).await;
        }
        people.push((who, app.signed_in(&email).await, app.token_for(&email).await));
    }
    people
}

/// What each surface of a page answers `who` (HTML, history, API, revisions, file, websocket).
async fn surfaces(
    app: &TestApp,
    browser: &Client,
    token: &str,
    slug: &str,
    revision: &str,
    file: Option<&str>,
) -> Vec<(String, u16)> {
    let mut seen = Vec::new();
    let mut paths = vec![format!("/s/public/{slug}"), format!("/s/public/{slug}/history")];
    paths.push(format!("/s/public/{slug}/history/{revision}"));
    if let Some(hash) = file {
        paths.push(format!("/s/public/{slug}/files/{hash}"));
    }
    for path in paths {
        let status = browser.get(app.url(&path)).send().await.unwrap().status().as_u16();
        seen.push((path, status));
    }
    for path in [
        format!("/api/pages/public/{slug}"),
        format!("/api/pages/public/{slug}/revisions"),
        format!("/api/pages/public/{slug}/revisions/{revision}"),
    ] {
        let status = Client::new()
            .get(app.url(&path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        seen.push((path, status));
    }
    let ws = common::yclient::open(&app.ws_url("public", slug), Some(token)).await;
    seen.push(("websocket".to_owned(), ws.map_or_else(|status| status, |_| 101)));
    seen
}

/// A revision of the page, saved on demand by `editor`; answers its id.
async fn a_revision(app: &TestApp, editor: &Client, token: &str, slug: &str) -> String {
    let history = format!("/s/public/{slug}/history");
    let saved =
        app.post_form(editor, &history, &format!("{history}/save"), &[("note", "v1")]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let list = app.get_json_as(token, &format!("/api/pages/public/{slug}/revisions")).await;
    list["revisions"][0]["id"].to_string()
}

async fn a_trashed_page_is_read_by_its_managers_only_on_every_surface(app: &TestApp) {
    let people = people(app).await;
    let (_, manager, manager_token) = &people[0];
    // A resource with a file, and a revision of it.
    let path = "/s/public/new?form=resource";
    let csrf = app.csrf(manager, path).await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf)
        .text("_title", "Compte rendu")
        .text("type", "fiche")
        .part(
            "file",
            reqwest::multipart::Part::bytes(&b"Notes de la rencontre"[..]).file_name("notes.txt"),
        );
    let made = manager.post(app.url(path)).multipart(form).send().await.unwrap();
    assert_eq!(made.status(), StatusCode::SEE_OTHER, "{}", made.text().await.unwrap());
    let (_, page) = app.get_text(Some(manager), "/s/public/compte-rendu").await;
    let hash: String = page
        .split("/files/")
        .nth(1)
        .map(|rest| rest.chars().take_while(char::is_ascii_hexdigit).collect())
        .expect("a link to the file");
    let revision = a_revision(app, manager, manager_token, "compte-rendu").await;
    let trashed =
        app.post_form(manager, "/s/public/compte-rendu", "/s/public/compte-rendu/trash", &[]).await;
    assert_eq!(trashed.status(), StatusCode::SEE_OTHER);

    for (who, browser, token) in &people {
        let seen = surfaces(app, browser, token, "compte-rendu", &revision, Some(&hash)).await;
        for (surface, status) in seen {
            let expected = if *who == "manager" { [200, 101] } else { [404, 404] };
            assert!(expected.contains(&status), "{who} on {surface} of a trashed page: {status}");
        }
    }
    // Read, not changed: its managers are told to restore it first.
    let (_, shown) = app.get_text(Some(manager), "/s/public/compte-rendu").await;
    assert!(shown.contains("corbeille"), "the banner says where it is");
    for action in ["/s/public/compte-rendu/fields", "/s/public/compte-rendu/edit"] {
        let refused = app
            .post_form(
                manager,
                "/s/public/compte-rendu",
                action,
                &[("markdown", "x"), ("base", "")],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::CONFLICT, "{action}");
    }
    let restore = app
        .post_form(
            manager,
            "/s/public/compte-rendu",
            &format!("/s/public/compte-rendu/history/{revision}/restore"),
            &[],
        )
        .await;
    assert_eq!(restore.status(), StatusCode::CONFLICT, "a revision is not restored into the trash");
}

async fn a_members_only_entry_is_for_members_on_every_surface(app: &TestApp) {
    let people = people(app).await;
    let (_, manager, manager_token) = &people[0];
    let slug = app
        .new_entry(
            manager,
            "public",
            "Réunion d'équipe",
            "event",
            &[
                ("when.start", "2031-03-12T09:30"),
                ("when.end", "2031-03-12T12:00"),
                ("audience", "members"),
            ],
        )
        .await;
    let revision = a_revision(app, manager, manager_token, &slug).await;
    for (who, browser, token) in &people {
        for (surface, status) in surfaces(app, browser, token, &slug, &revision, None).await {
            let expected = if *who == "outsider" { [404, 404] } else { [200, 101] };
            assert!(
                expected.contains(&status),
                "{who} on {surface} of a members-only entry: {status}"
            );
        }
    }
}
