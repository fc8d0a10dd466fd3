//! Entries of forms: validated on the server, written into the live document, projected into
//! SQL, and members-only fields kept from everyone else.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{yclient::YClient, TestApp};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    an_event_is_validated_and_reaches_live_clients,
    members_only_fields_never_reach_outsiders,
    changing_a_form_keeps_stored_values,
    uploads_are_checked_stored_once_and_served_safely
);

/// A 1×1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

async fn changing_a_form_keeps_stored_values(app: &TestApp) {
    let space = app.create_space("chantier-3", "Chantier 3", Visibility::Public).await;
    let admin = app.create_user("admin@example.org", "Admin", true).await;
    app.add_member(&space, &admin, Role::Owner).await;
    let browser = app.signed_in("admin@example.org").await;

    // A new form, with two fields, from the browser.
    let created = app
        .post_form(
            &browser,
            "/admin/forms",
            "/admin/forms",
            &[("name", "Dispositifs d'accompagnement")],
        )
        .await;
    assert_eq!(created.headers()["location"], "/admin/forms/dispositifs-d-accompagnement");
    let editor = "/admin/forms/dispositifs-d-accompagnement";
    for (label, kind, choices) in
        [("Porteur", "short_text", ""), ("Étape", "single_choice", "cadrage\nprototypage\nancrage")]
    {
        let mut sent = vec![
            ("name", "Dispositifs d'accompagnement"),
            ("new.label", label),
            ("new.kind", kind),
            ("new.choices", choices),
        ];
        if label == "Étape" {
            sent.extend([
                ("f0.key", "porteur"),
                ("f0.label", "Porteur"),
                ("f0.kind", "short_text"),
            ]);
        }
        let saved = app.post_form(&browser, editor, editor, &sent).await;
        assert_eq!(
            saved.status(),
            StatusCode::SEE_OTHER,
            "{label}: {}",
            saved.text().await.unwrap()
        );
    }
    let slug = app
        .new_entry(
            &browser,
            "chantier-3",
            "Le Générateur BFC",
            "dispositifs-d-accompagnement",
            &[("porteur", "France Active"), ("etape", "prototypage")],
        )
        .await;
    let page = format!("/s/chantier-3/{slug}");
    let (_, shown) = app.get_text(None, &page).await;
    assert!(shown.contains("France Active") && shown.contains("prototypage"));

    // Renamed, reordered, one removed: the value of the removed one stays in the document.
    let saved = app
        .post_form(
            &browser,
            editor,
            editor,
            &[
                ("name", "Dispositifs"),
                ("f0.key", "porteur"),
                ("f0.label", "Structure porteuse"),
                ("f0.kind", "short_text"),
                ("f0.remove", "on"),
                ("f1.key", "etape"),
                ("f1.label", "Étape du dispositif"),
                ("f1.kind", "single_choice"),
                ("f1.choices", "cadrage\nprototypage\nancrage\nconcrétisation"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, shown) = app.get_text(None, &page).await;
    assert!(!shown.contains("France Active"), "a removed field is not shown");
    assert!(shown.contains("Étape du dispositif"), "a renamed field shows its new label");
    let token = app.token_for("admin@example.org").await;
    let api: serde_json::Value = reqwest::Client::new()
        .get(app.url(&format!("/api/pages/chantier-3/{slug}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["fields"]["porteur"], "France Active", "the value stays in the document");
    // Saving the entry's form meanwhile does not erase it either.
    let fields = format!("{page}/fields");
    let saved = app.post_form(&browser, &fields, &fields, &[("etape", "concrétisation")]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, editor_page) = app.get_text(Some(&browser), editor).await;
    assert!(editor_page.contains("restore.porteur"), "the removed field can be put back");
    let saved = app
        .post_form(
            &browser,
            editor,
            editor,
            &[
                ("name", "Dispositifs"),
                ("f0.key", "etape"),
                ("f0.label", "Étape du dispositif"),
                ("f0.kind", "single_choice"),
                ("f0.choices", "cadrage\nprototypage\nancrage\nconcrétisation"),
                ("restore.porteur", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, shown) = app.get_text(None, &page).await;
    assert!(shown.contains("France Active"), "the value comes back with its field");
    assert!(shown.contains("concrétisation"));

    // Only administrators change forms.
    app.create_user("editor@example.org", "Editor", false).await;
    let editor_browser = app.signed_in("editor@example.org").await;
    let (status, _) = app.get_text(Some(&editor_browser), editor).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn uploads_are_checked_stored_once_and_served_safely(app: &TestApp) {
    let space = app.create_space("ressources", "Ressources", Visibility::Public).await;
    let user = app.create_user("sylvia@example.org", "Sylvia", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let browser = app.signed_in("sylvia@example.org").await;
    let slug = app
        .new_entry(
            &browser,
            "ressources",
            "Cartographie des structures",
            "resource",
            &[("type", "cartographie")],
        )
        .await;
    let fields = format!("/s/ressources/{slug}/fields");
    let send = |file: &'static [u8], name: &'static str, field: &'static str| {
        let browser = browser.clone();
        let fields = fields.clone();
        async move {
            let csrf = app.csrf(&browser, &fields).await;
            let form = reqwest::multipart::Form::new()
                .text("_csrf", csrf)
                .text("type", "cartographie")
                .part(field, reqwest::multipart::Part::bytes(file).file_name(name));
            browser.post(app.url(&fields)).multipart(form).send().await.unwrap()
        }
    };
    let form_page = app.get_text(Some(&browser), &fields).await.1;
    assert!(form_page.contains("enctype=\"multipart/form-data\""), "the form can carry files");

    // An HTML page claiming to be a PDF, or anything that is not an accepted type: refused.
    let refused = send(b"<html><script>alert(1)</script></html>", "rapport.pdf", "file").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.text().await.unwrap();
    assert!(message.contains("Ce type de fichier") && message.contains("pas accepté"), "{message}");
    let svg = send(
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        "logo.svg",
        "file",
    )
    .await;
    assert_eq!(svg.status(), StatusCode::UNPROCESSABLE_ENTITY, "SVG can carry scripts");

    // A real picture is stored by its content hash and served as a picture, safely.
    let saved = send(PNG, "carte.png", "file").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(None, &format!("/s/ressources/{slug}")).await;
    let href = page
        .split("href=\"")
        .find(|part| part.contains("/files/"))
        .and_then(|part| part.split('"').next())
        .expect("a link to the file")
        .to_owned();
    let hash = href.rsplit('/').next().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    let stored = app.settings.data_dir.join("uploads").join(&hash[..2]).join(&hash);
    assert_eq!(std::fs::read(&stored).unwrap(), PNG, "stored under its hash in the data directory");
    let served = reqwest::get(app.url(&href)).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert!(served.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);

    // Saving again without a new file keeps it; a hash the entry does not hold is not served.
    let kept = app
        .post_form(
            &browser,
            &fields,
            &fields,
            &[
                ("type", "cartographie"),
                ("file.kept", &format!("{{\"hash\":\"{hash}\",\"name\":\"x\"}}")),
            ],
        )
        .await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    assert_eq!(reqwest::get(app.url(&href)).await.unwrap().status(), StatusCode::OK);
    let other = format!("/s/ressources/{slug}/files/{}", "0".repeat(64));
    assert_eq!(reqwest::get(app.url(&other)).await.unwrap().status(), StatusCode::NOT_FOUND);

    // Too large for the site's limit: a clear error next to the field, nothing stored.
    let big: &'static [u8] =
        Box::leak(vec![0x25u8; app.settings.max_upload_bytes + 10].into_boxed_slice());
    let too_big = send(big, "gros.txt", "file").await;
    assert_eq!(too_big.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_big.text().await.unwrap().contains("Ce fichier est trop gros."));
    let (_, page) = app.get_text(None, &format!("/s/ressources/{slug}")).await;
    assert!(page.contains(&hash), "the earlier file is still the entry's");
}

async fn an_event_is_validated_and_reaches_live_clients(app: &TestApp) {
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    let user = app.create_user("sophie@example.org", "Sophie", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("sophie@example.org").await;
    let browser = app.signed_in("sophie@example.org").await;

    let slug = app
        .new_entry(
            &browser,
            "chantier-1",
            "Restitution de la démarche",
            "event",
            &[
                ("when.start", "2025-03-20T09:00"),
                ("when.end", "2025-03-20T10:00"),
                ("place", "Lyon"),
                ("audience", "public"),
            ],
        )
        .await;
    assert_eq!(slug, "restitution-de-la-demarche");
    let url = "/s/chantier-1/restitution-de-la-demarche/fields";
    let live =
        YClient::connect(&app.ws_url("chantier-1", "restitution-de-la-demarche"), Some(&token))
            .await;

    // End before start: refused, what was typed is kept, nothing is stored.
    let refused = app
        .post_form(
            &browser,
            url,
            url,
            &[
                ("when.start", "2025-03-27T18:00"),
                ("when.end", "2025-03-27T09:00"),
                ("place", "Paris, Maison de l'ESS"),
                ("audience", "public"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("La fin doit venir après le début."));
    assert!(
        html.contains("value=\"Paris, Maison de l&#39;ESS\"")
            || html.contains("value=\"Paris, Maison de l'ESS\""),
        "typed values are kept"
    );
    let api: serde_json::Value = reqwest::Client::new()
        .get(app.url("/api/pages/chantier-1/restitution-de-la-demarche"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["fields"]["place"], "Lyon", "nothing stored");

    let saved = app
        .post_form(
            &browser,
            url,
            url,
            &[
                ("when.start", "2025-03-27T09:30"),
                ("when.end", "2025-03-27T17:00"),
                ("when.tz", "Europe/Paris"),
                ("place", "Paris"),
                ("audience", "public"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    common::yclient::wait_until("the live client to receive the fields", || {
        live.fields().get("place").filter(|p| *p == "Paris").cloned()
    })
    .await;
    let page = reqwest::get(app.url("/s/chantier-1/restitution-de-la-demarche"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // In words, in the site's time zone (no raw values on the page).
    assert!(page.contains("jeudi 27 mars 2025, de 9 h 30 à 17 h"), "{page}");
    assert!(!page.contains("2025-03-27") && !page.contains("Europe/Paris"), "{page}");

    // Projected into SQL with the right instant (09:30 in Paris in March is 08:30 UTC).
    use ruche::forms::entity::entry_field;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut starts = None;
    for _ in 0..200 {
        starts = entry_field::Entity::find()
            .filter(entry_field::Column::Key.eq("when"))
            .one(&app.db)
            .await
            .unwrap()
            .and_then(|r| r.starts_at)
            .map(|t| t.to_rfc3339());
        if starts.as_deref() == Some("2025-03-27T08:30:00+00:00") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(starts.as_deref(), Some("2025-03-27T08:30:00+00:00"));
}

async fn members_only_fields_never_reach_outsiders(app: &TestApp) {
    let space = app.create_space("equipe", "Équipe", Visibility::Public).await;
    let user = app.create_user("celine@example.org", "Céline", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("celine@example.org").await;
    let browser = app.signed_in("celine@example.org").await;
    let slug = app
        .new_entry(
            &browser,
            "equipe",
            "Céline Coubard",
            "member",
            &[
                ("name", "Céline Coubard"),
                ("email", "celine.coubard@example.org"),
                ("phone", "01 23 45 67 89"),
                ("function", "Coordinatrice"),
            ],
        )
        .await;
    assert_eq!(slug, "celine-coubard");

    let member_view = browser
        .get(app.url("/s/equipe/celine-coubard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(member_view.contains("celine.coubard@example.org"), "members see the contact");

    app.create_user("outsider@example.org", "Outsider", false).await;
    let outsider_token = app.token_for("outsider@example.org").await;
    let anonymous =
        reqwest::get(app.url("/s/equipe/celine-coubard")).await.unwrap().text().await.unwrap();
    assert!(anonymous.contains("Coordinatrice"));
    for secret in ["celine.coubard@example.org", "01 23 45 67 89"] {
        assert!(!anonymous.contains(secret), "anonymous HTML leaks {secret}");
    }
    for (who, bearer) in [("anonymous", None), ("outsider", Some(outsider_token.as_str()))] {
        let mut request = reqwest::Client::new().get(app.url("/api/pages/equipe/celine-coubard"));
        if let Some(t) = bearer {
            request = request.bearer_auth(t);
        }
        let json = request.send().await.unwrap().text().await.unwrap();
        assert!(
            json.contains("Coordinatrice") && !json.contains("celine.coubard@example.org"),
            "{who}: {json}"
        );
    }
    assert_eq!(
        common::yclient::open(&app.ws_url("equipe", "celine-coubard"), None).await.err(),
        Some(401)
    );
    assert_eq!(
        common::yclient::open(&app.ws_url("equipe", "celine-coubard"), Some(&outsider_token))
            .await
            .err(),
        Some(403)
    );
    assert!(common::yclient::open(&app.ws_url("equipe", "celine-coubard"), Some(&token))
        .await
        .is_ok());
}
