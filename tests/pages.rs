//! Pages as people handle them in the browser: create, collide, rename, trash, restore, edit
//! without JavaScript.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod common;

use common::{csrf_in, TestApp};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    pages_are_created_renamed_trashed_and_restored,
    the_plain_form_merges_with_live_typing
);

async fn pages_are_created_renamed_trashed_and_restored(app: &TestApp) {
    let space = app.create_space("chantier-3", "Chantier 3", Visibility::Public).await;
    let owner = app.create_user("sylvia@example.org", "Sylvia", false).await;
    let editor = app.create_user("julien@example.org", "Julien", false).await;
    app.add_member(&space, &owner, Role::Owner).await;
    app.add_member(&space, &editor, Role::Editor).await;
    let sylvia = app.signed_in("sylvia@example.org").await;
    let julien = app.signed_in("julien@example.org").await;

    // Two pages with the same title get two addresses.
    let first = app
        .post_form(
            &julien,
            "/s/chantier-3/new",
            "/s/chantier-3/pages",
            &[("title", "Méthodologies d'accompagnement")],
        )
        .await;
    assert_eq!(first.headers()["location"], "/s/chantier-3/methodologies-d-accompagnement/edit");
    let second = app
        .post_form(
            &julien,
            "/s/chantier-3/new",
            "/s/chantier-3/pages",
            &[("title", "Méthodologies d’accompagnement")],
        )
        .await;
    assert_eq!(second.headers()["location"], "/s/chantier-3/methodologies-d-accompagnement-2/edit");
    let listed = julien.get(app.url("/s/chantier-3")).send().await.unwrap().text().await.unwrap();
    assert!(listed.contains("/s/chantier-3/methodologies-d-accompagnement-2"));

    // Renaming keeps the old address leading to the page.
    let renamed = app
        .post_form(
            &julien,
            "/s/chantier-3/methodologies-d-accompagnement/rename",
            "/s/chantier-3/methodologies-d-accompagnement/rename",
            &[("title", "Méthodes"), ("slug", "")],
        )
        .await;
    assert_eq!(renamed.headers()["location"], "/s/chantier-3/methodes");
    let old = app
        .browser()
        .get(app.url("/s/chantier-3/methodologies-d-accompagnement"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(old.headers()["location"], "/s/chantier-3/methodes");

    // Editors may not trash; owners may, and restore.
    let page =
        julien.get(app.url("/s/chantier-3/methodes")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("/s/chantier-3/methodes/trash"), "no trash button for an editor");
    let refused = julien
        .post(app.url("/s/chantier-3/methodes/trash"))
        .form(&[("_csrf", csrf_in(&page).unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let trashed =
        app.post_form(&sylvia, "/s/chantier-3/methodes", "/s/chantier-3/methodes/trash", &[]).await;
    assert_eq!(trashed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser().get(app.url("/s/chantier-3/methodes")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        julien.get(app.url("/s/chantier-3/methodes")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let owner_page =
        sylvia.get(app.url("/s/chantier-3/methodes")).send().await.unwrap().text().await.unwrap();
    let edit = sylvia
        .post(app.url("/s/chantier-3/methodes/edit"))
        .form(&[("_csrf", csrf_in(&owner_page).unwrap().as_str()), ("base", ""), ("markdown", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), StatusCode::CONFLICT, "a trashed page is not edited until restored");
    let trash =
        sylvia.get(app.url("/s/chantier-3/trash")).send().await.unwrap().text().await.unwrap();
    assert!(trash.contains("Méthodes"));
    let restored =
        app.post_form(&sylvia, "/s/chantier-3/trash", "/s/chantier-3/methodes/restore", &[]).await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser().get(app.url("/s/chantier-3/methodes")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

async fn the_plain_form_merges_with_live_typing(app: &TestApp) {
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let user = app.create_user("woafae@example.org", "Woafae", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("woafae@example.org").await;
    app.put_page(&token, "chantier-2", "financements", "Outils existants.\n").await;
    let browser = app.signed_in("woafae@example.org").await;

    // The form is opened, then someone types live, then the form is sent.
    let (form, base) = app.edit_form(&browser, "chantier-2", "financements").await;
    let live =
        common::yclient::YClient::connect(&app.ws_url("chantier-2", "financements"), Some(&token))
            .await;
    live.wait_for("sync", |t| t.starts_with("Outils")).await;
    live.append("Tapé en direct.");
    for _ in 0..200 {
        if app.page_text(&token, "chantier-2", "financements").await.contains("direct") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let saved = browser
        .post(app.url("/s/chantier-2/financements/edit"))
        .form(&[
            ("_csrf", csrf_in(&form).unwrap().as_str()),
            ("base", base.as_str()),
            ("markdown", "Outils existants et à inventer.\r\n"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let text = app.page_text(&token, "chantier-2", "financements").await;
    assert_eq!(text, "Outils existants et à inventer.\nTapé en direct.");
    live.wait_for("the live editor to see the form's change", |t| t == text).await;
}
