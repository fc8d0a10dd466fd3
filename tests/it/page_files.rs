//! Pictures and files in pages (issue 19): uploaded with the checks of entries' files, linked
//! from the text, served only to the page's readers, carried by the export.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::TestApp;
use reqwest::{multipart, StatusCode};
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    a_picture_goes_into_a_page_and_only_its_readers_get_it,
    bad_files_are_refused_and_nothing_is_kept,
    files_no_page_uses_any_more_are_deleted
);

/// A 1×1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

const PAGE: &str = "/s/copil/notes";

/// Sends `bytes` as `name` to the page's files from `browser` (its CSRF token taken from the
/// editor), as the editor does (`json`) or as the plain form does.
async fn send(
    app: &TestApp,
    browser: &reqwest::Client,
    bytes: &[u8],
    name: &str,
    json: bool,
) -> reqwest::Response {
    let token = app.csrf(browser, &format!("{PAGE}/edit")).await;
    let form = multipart::Form::new()
        .text("_csrf", token)
        .text("description", "Le logo du réseau")
        .part("file", multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()));
    let mut request = browser.post(app.url(&format!("{PAGE}/files"))).multipart(form);
    if json {
        request = request.header("accept", "application/json");
    }
    request.send().await.unwrap()
}

async fn setup(app: &TestApp) -> (String, reqwest::Client) {
    let space = app.create_space("copil", "Comité de pilotage", Visibility::Private).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&space, &claire, Role::Editor).await;
    app.create_user("lea@example.org", "Léa", false).await;
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "copil", "notes", "Compte rendu.").await;
    (token, app.signed_in("claire@example.org").await)
}

async fn a_picture_goes_into_a_page_and_only_its_readers_get_it(app: &TestApp) {
    let (token, claire) = setup(app).await;
    // From the editor: the Markdown to write at the cursor, with the description given.
    let sent = send(app, &claire, PNG, "logo.png", true).await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: serde_json::Value = sent.json().await.unwrap();
    let url = sent["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/s/copil/notes/files/"), "{sent}");
    assert_eq!(sent["markdown"], format!("![Le logo du réseau]({url})"));
    assert_eq!(sent["image"], true);
    // Not linked yet: not served.
    assert_eq!(claire.get(app.url(&url)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    app.put_page(
        &token,
        "copil",
        "notes",
        &format!("Compte rendu.\n\n{}", sent["markdown"].as_str().unwrap()),
    )
    .await;
    let served = claire.get(app.url(&url)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
    let (_, page) = app.get_text(Some(&claire), PAGE).await;
    assert!(
        page.contains("Fichiers joints")
            && page.contains("logo.png")
            && page.contains("ajouté par Claire Martin"),
        "{page}"
    );
    // Someone outside the private space, or signed out: as if there were nothing.
    let lea = app.signed_in("lea@example.org").await;
    assert_eq!(lea.get(app.url(&url)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert!(app.browser().get(app.url(&url)).send().await.unwrap().status().is_client_error());
    // Without JavaScript: the plain form adds the link at the end of the text.
    let plain = send(app, &claire, b"Ordre du jour\n", "ordre-du-jour.txt", false).await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    assert_eq!(plain.headers()["location"], format!("{PAGE}/edit"));
    let text = app.page_text(&token, "copil", "notes").await;
    assert!(
        text.trim_end().ends_with(')')
            && text.contains("[ordre-du-jour.txt](/s/copil/notes/files/"),
        "{text}"
    );
    // The export carries the files beside the page, linked relatively.
    let owner = app.create_user("sophie@example.org", "Sophie", true).await;
    let admin = app.signed_in(&owner.email).await;
    let zip =
        admin.get(app.url("/s/copil/export.zip")).send().await.unwrap().bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut md = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("copil/notes.md").unwrap(), &mut md)
        .unwrap();
    assert!(md.contains("![Le logo du réseau](<notes.files/logo.png>)"), "{md}");
    let mut picture = Vec::new();
    std::io::Read::read_to_end(
        &mut archive.by_name("copil/notes.files/logo.png").unwrap(),
        &mut picture,
    )
    .unwrap();
    assert_eq!(picture, PNG);
}

async fn bad_files_are_refused_and_nothing_is_kept(app: &TestApp) {
    let app = TestApp::start_configured(&app.database_url, |s| s.max_upload_bytes = 4096).await;
    let (_, claire) = setup(&app).await;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let before = ruche::forms::entity::upload::Entity::find().count(&app.db).await.unwrap();
    for (bytes, name, status) in [
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
            "x.svg",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            b"<html><script>alert(1)</script></html>".to_vec(),
            "x.html",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ([PNG, &[0u8; 5000]].concat(), "gros.png", StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let refused = send(&app, &claire, &bytes, name, true).await;
        assert_eq!(refused.status(), status, "{name}");
        let said: serde_json::Value = refused.json().await.unwrap();
        assert!(!said["error"].as_str().unwrap().is_empty(), "{name}: a reason");
    }
    assert_eq!(ruche::forms::entity::upload::Entity::find().count(&app.db).await.unwrap(), before);
    // Someone who may not write the page may not send it files.
    let lea = app.signed_in("lea@example.org").await;
    let form = multipart::Form::new()
        .part("file", multipart::Part::bytes(PNG.to_vec()).file_name("x.png"));
    let refused = lea.post(app.url(&format!("{PAGE}/files"))).multipart(form).send().await.unwrap();
    assert!(refused.status().is_client_error());
    app.stop().await;
}

async fn files_no_page_uses_any_more_are_deleted(app: &TestApp) {
    let (token, claire) = setup(app).await;
    let collect = || {
        ruche::content::collect_unused(&app.db, &app.settings.uploads_dir, chrono::Duration::zero())
    };
    let file_of = |url: &str| {
        let hash = url.rsplit('/').next().unwrap().to_owned();
        app.settings.uploads_dir.join(&hash[..2]).join(&hash)
    };
    // Uploaded but never written into the page (a paste given up): deleted.
    let unused: serde_json::Value =
        send(app, &claire, PNG, "logo.png", true).await.json().await.unwrap();
    let unused_file = file_of(unused["url"].as_str().unwrap());
    assert!(unused_file.exists());
    assert_eq!(collect().await.unwrap(), 1);
    assert!(!unused_file.exists());
    // Linked, then taken out of the text: kept while a revision holds it (a restore brings it
    // back), deleted once the page is purged.
    let kept: serde_json::Value =
        send(app, &claire, b"Notes\n", "notes.txt", true).await.json().await.unwrap();
    let kept_file = file_of(kept["url"].as_str().unwrap());
    app.put_page(&token, "copil", "notes", &format!("Avec {}", kept["markdown"].as_str().unwrap()))
        .await;
    let revision = app
        .post_form(
            &claire,
            &format!("{PAGE}/history"),
            &format!("{PAGE}/history/save"),
            &[("note", "avec le fichier")],
        )
        .await;
    assert!(revision.status().is_redirection(), "{}", revision.status());
    app.put_page(&token, "copil", "notes", "Sans le fichier").await;
    assert_eq!(collect().await.unwrap(), 0);
    assert!(kept_file.exists(), "a revision still holds it");
    let admin = app.create_user("admin@example.org", "Admin", true).await;
    let admin = app.signed_in(&admin.email).await;
    app.post_form(&admin, PAGE, &format!("{PAGE}/trash"), &[]).await;
    let purged = app.post_form(&admin, "/s/copil/trash", &format!("{PAGE}/purge"), &[]).await;
    assert!(purged.status().is_redirection(), "{}", purged.status());
    assert_eq!(collect().await.unwrap(), 1);
    assert!(!kept_file.exists());
}
