//! Page templates (issue 19): a new page starts from one of the site's four, or from a page its
//! owners (or an administrator, for every space) offer as a template.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::TestApp;
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(a_new_page_starts_from_a_template, owners_offer_their_pages_as_templates);

async fn a_new_page_starts_from_a_template(app: &TestApp) {
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Members).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&space, &claire, Role::Editor).await;
    let browser = app.signed_in("claire@example.org").await;
    let (_, form) = app.get_text(Some(&browser), "/s/chantier-1/new").await;
    for name in [
        "Une page vide",
        "Note de cadrage",
        "Compte rendu de réunion",
        "Feuille de route",
        "Fiche d&#39;expérience",
    ] {
        assert!(
            form.contains(name) || form.contains(&name.replace("&#39;", "'")),
            "{name}: {form}"
        );
    }
    let made = app
        .post_form(
            &browser,
            "/s/chantier-1/new",
            "/s/chantier-1/pages",
            &[("title", "Réunion du 3 mars"), ("template", "b:compte-rendu"), ("form", "")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(made.headers()["location"], "/s/chantier-1/reunion-du-3-mars/edit");
    let token = app.token_for("claire@example.org").await;
    let text = app.page_text(&token, "chantier-1", "reunion-du-3-mars").await;
    for heading in ["## Présents", "## Ordre du jour", "## Décisions", "## Actions"] {
        assert!(text.contains(heading), "{heading}: {text}");
    }
    // An ordinary page: its history starts with the template's text, written by Claire.
    let history =
        app.get_json_as(&token, "/api/pages/chantier-1/reunion-du-3-mars/revisions").await;
    assert_eq!(history["total"], 1, "{history}");
    let first = &history["revisions"][0];
    assert_eq!(first["contributors"][0], "Claire Martin", "{history}");
    let id = first["id"].as_i64().unwrap();
    let revision = app
        .get_json_as(&token, &format!("/api/pages/chantier-1/reunion-du-3-mars/revisions/{id}"))
        .await;
    assert!(revision["markdown"].as_str().unwrap().contains("## Décisions"), "{revision}");
    // An unknown template: an empty page, nothing else.
    app.post_form(
        &browser,
        "/s/chantier-1/new",
        "/s/chantier-1/pages",
        &[("title", "Vide"), ("template", "p:999999"), ("form", "")],
    )
    .await;
    assert_eq!(app.page_text(&token, "chantier-1", "vide").await, "");
}

async fn owners_offer_their_pages_as_templates(app: &TestApp) {
    let one = app.create_space("chantier-1", "Chantier 1", Visibility::Members).await;
    let two = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let sophie = app.create_user("sophie@example.org", "Sophie Aouizerate", false).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let admin = app.create_user("admin@example.org", "Admin", true).await;
    app.add_member(&one, &sophie, Role::Owner).await;
    app.add_member(&one, &claire, Role::Editor).await;
    app.add_member(&two, &claire, Role::Editor).await;
    let token = app.token_for("sophie@example.org").await;
    app.put_page(&token, "chantier-1", "atelier-type", "## Déroulé de l'atelier\n\n1. Accueil")
        .await;
    let owner = app.signed_in("sophie@example.org").await;
    let page = "/s/chantier-1/atelier-type";
    let (_, shown) = app.get_text(Some(&owner), page).await;
    assert!(shown.contains("Proposer comme modèle dans cet espace"), "{shown}");
    assert!(!shown.contains("dans tous les espaces"), "only administrators offer to every space");
    let refused =
        app.post_form(&owner, page, &format!("{page}/template"), &[("scope", "site")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let offered =
        app.post_form(&owner, page, &format!("{page}/template"), &[("scope", "space")]).await;
    assert_eq!(offered.status(), StatusCode::SEE_OTHER);
    // Offered in its space, not in another.
    let claire_browser = app.signed_in("claire@example.org").await;
    let (_, here) = app.get_text(Some(&claire_browser), "/s/chantier-1/new").await;
    assert!(here.contains("Atelier type"), "{here}");
    let (_, there) = app.get_text(Some(&claire_browser), "/s/chantier-2/new").await;
    assert!(!there.contains("Atelier type"), "{there}");
    // An editor may not change what is offered.
    let not_hers = app
        .post_form(&claire_browser, page, &format!("{page}/template"), &[("scope", "none")])
        .await;
    assert_eq!(not_hers.status(), StatusCode::FORBIDDEN);
    // An administrator offers it to every space: Claire finds it in chantier 2 and starts from it.
    let admin_browser = app.signed_in(&admin.email).await;
    app.post_form(&admin_browser, page, &format!("{page}/template"), &[("scope", "site")]).await;
    let (_, there) = app.get_text(Some(&claire_browser), "/s/chantier-2/new").await;
    assert!(there.contains("Atelier type"), "{there}");
    let id = ruche::pages::store::find(&app.db, one.id, "atelier-type").await.unwrap();
    let Some(ruche::pages::store::Found::Page(template)) = id else { panic!("the page exists") };
    app.post_form(
        &claire_browser,
        "/s/chantier-2/new",
        "/s/chantier-2/pages",
        &[
            ("title", "Atelier de mars"),
            ("template", &format!("p:{}", template.id.0)),
            ("form", ""),
        ],
    )
    .await;
    let claire_token = app.token_for("claire@example.org").await;
    assert!(app
        .page_text(&claire_token, "chantier-2", "atelier-de-mars")
        .await
        .contains("Déroulé"));
    // Someone who may not read the template's space is not offered it, and cannot use it.
    let lea = app.create_user("lea@example.org", "Léa", false).await;
    let three = app.create_space("chantier-3", "Chantier 3", Visibility::Members).await;
    app.add_member(&three, &lea, Role::Editor).await;
    let lea_browser = app.signed_in("lea@example.org").await;
    let (_, hers) = app.get_text(Some(&lea_browser), "/s/chantier-3/new").await;
    assert!(!hers.contains("Atelier type"), "{hers}");
    app.post_form(
        &lea_browser,
        "/s/chantier-3/new",
        "/s/chantier-3/pages",
        &[("title", "Essai"), ("template", &format!("p:{}", template.id.0)), ("form", "")],
    )
    .await;
    let lea_token = app.token_for("lea@example.org").await;
    assert_eq!(app.page_text(&lea_token, "chantier-3", "essai").await, "");
    // No longer offered.
    app.post_form(&owner, page, &format!("{page}/template"), &[("scope", "none")]).await;
    let (_, here) = app.get_text(Some(&claire_browser), "/s/chantier-1/new").await;
    assert!(!here.contains("Atelier type"), "{here}");
}
