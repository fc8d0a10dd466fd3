//! Pages as people handle them in the browser: create, collide, rename, trash, restore, edit
//! without JavaScript.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{csrf_in, TestApp};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    a_page_is_created_whole_or_not_at_all,
    pages_are_created_renamed_trashed_and_restored,
    the_plain_form_merges_with_live_typing,
    an_edit_form_from_another_page_is_refused_with_its_reason
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

async fn an_edit_form_from_another_page_is_refused_with_its_reason(app: &TestApp) {
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let user = app.create_user("woafae@example.org", "Woafae", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("woafae@example.org").await;
    app.put_page(&token, "chantier-2", "financements", "Outils existants.").await;
    app.put_page(&token, "chantier-2", "calendrier", "Réunion lundi.").await;
    let browser = app.signed_in("woafae@example.org").await;

    // The form of one page, its state sent to another: its changes build on text that page
    // never had.
    let (form, other_base) = app.edit_form(&browser, "chantier-2", "calendrier").await;
    let send = |base: String| {
        browser.post(app.url("/s/chantier-2/financements/edit")).form(&[
            ("_csrf", csrf_in(&form).unwrap()),
            ("base", base),
            ("markdown", "Réunion lundi, puis mardi.".to_owned()),
        ])
    };
    let refused = send(other_base).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Modification impossible"), "its title says what happened");
    assert!(page.contains("une version de la page que le serveur"), "and why: {page}");

    // A base that is no state of any page at all.
    use base64::Engine as _;
    let garbage = base64::engine::general_purpose::STANDARD.encode([0xff, 0x01, 0x02]);
    let refused = send(garbage).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("ne correspond à aucun état de cette page"));

    // Nothing of either was stored.
    assert_eq!(app.page_text(&token, "chantier-2", "financements").await, "Outils existants.");
}

/// Rows of `table` (every table a page's creation writes to).
async fn rows(app: &TestApp, table: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = app
        .db
        .query_one(sea_orm::Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn a_page_is_created_whole_or_not_at_all(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    let author = app.create_user("sophie@example.org", "Sophie", false).await;
    let form = ruche::forms::store::find(&app.db, "event").await.unwrap().unwrap();
    let values = serde_json::json!({
        "when": { "start": "2031-03-12T09:30", "end": "2031-03-12T12:00", "tz": "Europe/Paris" },
        "audience": "public",
    });
    let values = values.as_object().unwrap();
    let written = [
        "doc_snapshots",
        "page_links",
        "entry_fields",
        "revisions",
        "revision_authors",
        "page_events",
    ];
    // Each step of the creation fails in turn (its table is gone): nothing of the page remains.
    for failing in written {
        let run = |sql: String| {
            let db = app.db.clone();
            async move { db.execute_unprepared(&sql).await.unwrap() }
        };
        run(format!("ALTER TABLE {failing} RENAME TO {failing}_away")).await;
        let made = ruche::content::create_entry(
            &app.db,
            &space,
            "Atelier",
            "Voir [[Feuille de route]].",
            &form,
            values,
            Some(author.id.0),
        )
        .await;
        run(format!("ALTER TABLE {failing}_away RENAME TO {failing}")).await;
        assert!(made.is_err(), "the creation fails when {failing} cannot be written");
        for table in ["pages"].iter().chain(written.iter()) {
            assert_eq!(rows(app, table).await, 0, "{table} after a failure writing {failing}");
        }
    }
    // Nothing failing: everything is there.
    let page = ruche::content::create_entry(
        &app.db,
        &space,
        "Atelier",
        "Voir [[Feuille de route]].",
        &form,
        values,
        Some(author.id.0),
    )
    .await
    .unwrap();
    for table in ["pages"].iter().chain(written.iter()) {
        assert!(rows(app, table).await > 0, "{table} holds the new page");
    }
    let (_, shown) = app.get_text(None, &format!("/s/chantier-1/{}", page.slug)).await;
    assert!(shown.contains("mercredi 12 mars 2031"), "{shown}");
}
