//! `ruche backup` while people type, `ruche restore` on another database, and back: the same
//! site comes out (pages, their documents, history, accounts, forms and entries, files).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use common::{fresh_database, stored_text, yclient::YClient, Backend, TestApp};
use reqwest::StatusCode;
use ruche::db::Db;
use sea_orm::{EntityTrait, QueryOrder};

/// Runs the `ruche` binary on a database and data directory, checks it succeeded, and returns
/// what it printed.
fn ruche(database_url: &str, data: &Path, uploads: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ruche"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUCHE_DATA", data)
        .env("RUCHE_UPLOADS", uploads)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ruche {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Everything a person would miss if it were lost, in a comparable form.
#[derive(Debug, PartialEq)]
#[allow(clippy::type_complexity)]
struct Site {
    users: Vec<(i64, String, String, String, bool)>,
    spaces: Vec<(i64, String, String, String)>,
    memberships: Vec<String>,
    pages: Vec<(i64, i64, String, String, Option<String>, bool, bool)>,
    texts: Vec<(i64, String)>,
    revisions: Vec<(i64, i64, String, String, String)>,
    revision_authors: Vec<(i64, i64)>,
    fields: Vec<(i64, String, String)>,
    forms: Vec<(String, String)>,
    uploads: Vec<(String, String, i64)>,
}

/// Compares part by part, so that a failure names what differs.
fn assert_same(a: &Site, b: &Site) {
    assert_eq!(a.users, b.users, "accounts");
    assert_eq!(a.spaces, b.spaces, "spaces");
    assert_eq!(a.memberships, b.memberships, "memberships");
    assert_eq!(a.pages, b.pages, "pages");
    assert_eq!(a.texts, b.texts, "texts");
    assert_eq!(a.revisions, b.revisions, "revisions");
    assert_eq!(a.revision_authors, b.revision_authors, "revision authors");
    assert_eq!(a.fields, b.fields, "entry values");
    assert_eq!(a.forms, b.forms, "forms");
    assert_eq!(a.uploads, b.uploads, "uploads");
}

async fn site(db: &Db, except_page: Option<i64>) -> Site {
    use ruche::{
        accounts::entity::user,
        forms::entity::{entry_field, form, upload},
        history::entity::{revision, revision_author},
        pages::entity::page,
        spaces::entity::{membership, space},
    };
    let pages = page::Entity::find().order_by_asc(page::Column::Id).all(db).await.unwrap();
    let mut texts = Vec::new();
    for p in &pages {
        if Some(p.id) != except_page {
            texts.push((p.id, stored_text(db, p.id).await));
        }
    }
    Site {
        users: user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| (u.id, u.email, u.name, u.password_hash, u.is_admin))
            .collect(),
        spaces: space::Entity::find()
            .order_by_asc(space::Column::Id)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.slug, s.title, s.visibility))
            .collect(),
        memberships: {
            let mut m: Vec<String> = membership::Entity::find()
                .all(db)
                .await
                .unwrap()
                .into_iter()
                .map(|m| format!("{} {} {}", m.space_id, m.user_id, m.role))
                .collect();
            m.sort();
            m
        },
        pages: pages
            .iter()
            .map(|p| {
                (
                    p.id,
                    p.space_id,
                    p.slug.clone(),
                    p.title.clone(),
                    p.form.clone(),
                    p.trashed_at.is_some(),
                    p.members_only,
                )
            })
            .collect(),
        texts,
        revisions: revision::Entity::find()
            .order_by_asc(revision::Column::Id)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.page_id, r.kind, r.markdown, r.fields))
            .collect(),
        revision_authors: {
            let mut a: Vec<(i64, i64)> = revision_author::Entity::find()
                .all(db)
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.revision_id, a.user_id))
                .collect();
            a.sort();
            a
        },
        fields: {
            let mut f: Vec<(i64, String, String)> = entry_field::Entity::find()
                .all(db)
                .await
                .unwrap()
                .into_iter()
                .filter(|f| Some(f.page_id) != except_page)
                .map(|f| (f.page_id, f.key, f.value))
                .collect();
            f.sort();
            f
        },
        forms: form::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            // Times are compared elsewhere: PostgreSQL keeps microseconds, SQLite more.
            .map(|f| {
                (f.key.clone(), format!("{} {} {} {}", f.name, f.description, f.fields, f.builtin))
            })
            .collect(),
        uploads: upload::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| (u.hash, u.name, u.size))
            .collect(),
    }
}

#[tokio::test]
async fn a_backup_taken_while_people_type_restores_on_another_database_and_back() {
    let app = TestApp::start(Backend::Sqlite).await;
    let demo = ruche::demo::fill(&app.db).await.unwrap();
    let admin = app.create_user("sauvegarde@example.org", "Sauvegarde", true).await;
    let token = app.token_for(&admin.email).await;
    let pdf = b"%PDF-1.4\n% compte rendu du comite de pilotage\n".to_vec();
    let chantier = ruche::spaces::store::find(&app.db, "chantier-1-competences-metiers")
        .await
        .unwrap()
        .unwrap();
    let Some(ruche::pages::store::Found::Page(roadmap)) =
        ruche::pages::store::find(&app.db, chantier.id, "feuille-de-route").await.unwrap()
    else {
        panic!("the roadmap exists")
    };
    let stored = ruche::forms::uploads::store(
        &app.db,
        &app.settings.uploads_dir,
        "compte-rendu.pdf",
        "application/pdf",
        &pdf,
        Some(roadmap.id.0),
        Some(admin.id.0),
    )
    .await
    .unwrap();
    let hash = stored["hash"].as_str().unwrap().to_owned();

    // Someone types on a page during the whole backup.
    let (space, slug) = ("chantier-1-competences-metiers", "feuille-de-route");
    let writer = YClient::connect(&app.ws_url(space, slug), Some(&token)).await;
    writer.wait_for("the page to load", |t| !t.is_empty()).await;
    let typed_page = {
        let s = ruche::spaces::store::find(&app.db, space).await.unwrap().unwrap();
        match ruche::pages::store::find(&app.db, s.id, slug).await.unwrap().unwrap() {
            ruche::pages::store::Found::Page(p) => p.id.0,
            _ => panic!("the roadmap is a page"),
        }
    };
    let typing = Arc::new(AtomicBool::new(true));
    let typist = {
        let typing = typing.clone();
        let doc = writer.doc.clone();
        let writer = writer;
        tokio::spawn(async move {
            let mut i = 0;
            while typing.load(Ordering::Relaxed) {
                writer.append(&format!(" mot{i}"));
                i += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(doc);
            writer
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before_backup = stored_text(&app.db, typed_page).await;

    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("sauvegarde.zip");
    let printed = ruche(
        &app.database_url,
        &work.path().join("unused"),
        &app.settings.uploads_dir,
        &["backup", archive.to_str().unwrap()],
    );
    assert!(printed.contains("Backup written"), "{printed}");
    assert!(
        printed.lines().any(|l| l.trim_start().starts_with("pages") && l.ends_with(" 81")),
        "the summary counts the 81 pages (72, the demo's 3 example meetings and each chantier's launch minutes): {printed}"
    );
    typing.store(false, Ordering::Relaxed);
    let writer = typist.await.unwrap();
    let final_text = writer.wait_for("the last words", |t| t.contains(" mot")).await;
    let original = site(&app.db, Some(typed_page)).await;

    // Restore on PostgreSQL when there is one, else on another SQLite database.
    let backend = if std::env::var("RUCHE_TEST_POSTGRES").is_ok() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let (target_url, _target_dir) = fresh_database(backend).await;
    let target_data = work.path().join("restored");
    let target_uploads = target_data.join("uploads");
    let printed =
        ruche(&target_url, &target_data, &target_uploads, &["restore", archive.to_str().unwrap()]);
    assert!(printed.contains("Site restored"), "{printed}");
    let restored_db = ruche::db::connect(&target_url).await.unwrap();
    assert_same(&site(&restored_db, Some(typed_page)).await, &original);
    let restored_text = stored_text(&restored_db, typed_page).await;
    assert!(
        restored_text.len() >= before_backup.len() && final_text.starts_with(&restored_text),
        "the page as it was during the backup: {restored_text:?}\nbefore: {before_backup:?}\nafter: {final_text:?}"
    );
    let file = ruche::forms::uploads::stored_path(&target_uploads, &hash).unwrap();
    assert_eq!(std::fs::read(file).unwrap(), pdf);

    // A restored site serves: the demo administrator signs in with the same password and
    // reads the page; new pages get new ids (sequences follow the restored rows).
    let restored = TestApp::start_on(&target_url).await;
    let browser = restored.browser();
    let signed = restored.sign_in_response(&browser, &demo.admin_email, &demo.password).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let page = browser.get(restored.url(&format!("/s/{space}/{slug}"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let token = restored.token_for(&admin.email).await;
    let created = restored.put_page(&token, space, "apres-restauration", "Nouvelle page.").await;
    assert!(created.status().is_success(), "{}", created.status());

    // And back: the restored site's backup restores on SQLite, the same.
    let again = work.path().join("retour.zip");
    ruche(&target_url, &target_data, &target_uploads, &["backup", again.to_str().unwrap()]);
    let (back_url, _back_dir) = fresh_database(Backend::Sqlite).await;
    let back_data = work.path().join("back");
    ruche(&back_url, &back_data, &back_data.join("uploads"), &["restore", again.to_str().unwrap()]);
    let back_db = ruche::db::connect(&back_url).await.unwrap();
    assert_same(&site(&back_db, None).await, &site(&restored_db, None).await);
    assert_eq!(
        std::fs::read(
            ruche::forms::uploads::stored_path(&back_data.join("uploads"), &hash).unwrap()
        )
        .unwrap(),
        pdf
    );
    restored.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn restore_refuses_a_site_that_exists_and_a_file_that_is_not_a_backup() {
    let app = TestApp::start(Backend::Sqlite).await;
    app.create_user("deja@example.org", "Déjà là", true).await;
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("site.zip");
    ruche(&app.database_url, work.path(), work.path(), &["backup", archive.to_str().unwrap()]);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ruche"))
            .args(args)
            .env("DATABASE_URL", &app.database_url)
            .env("RUCHE_DATA", work.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let refused = run(&["restore", archive.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already holds a site"));
    let not_zip = work.path().join("notes.txt");
    std::fs::write(&not_zip, "pas une sauvegarde").unwrap();
    let refused = run(&["restore", not_zip.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a Ruche backup"));
    app.stop().await;
}

/// Every relative link of every Markdown file of the archive, with the file it should reach.
fn relative_links(archive: &[u8]) -> (Vec<String>, Vec<(String, String)>) {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let mut links = Vec::new();
    for name in names.iter().filter(|n| n.ends_with(".md")) {
        let mut text = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut text).unwrap();
        let folder: Vec<&str> =
            name.split('/').collect::<Vec<_>>()[..name.split('/').count() - 1].to_vec();
        for event in pulldown_cmark::Parser::new(&text) {
            if let pulldown_cmark::Event::Start(pulldown_cmark::Tag::Link { dest_url, .. }) = event
            {
                if dest_url.contains("://")
                    || dest_url.starts_with('#')
                    || dest_url.starts_with("mailto:")
                {
                    continue;
                }
                let mut path: Vec<&str> = folder.clone();
                for part in dest_url.split('/') {
                    match part {
                        ".." => {
                            path.pop();
                        }
                        "." | "" => {}
                        p => path.push(p),
                    }
                }
                links.push((name.clone(), path.join("/")));
            }
        }
    }
    (names, links)
}

#[tokio::test]
async fn a_space_exports_as_markdown_whose_links_resolve() {
    let app = TestApp::start(Backend::Sqlite).await;
    let demo = ruche::demo::fill(&app.db).await.unwrap();
    let owner = app.browser();
    let signed = app.sign_in_response(&owner, &demo.admin_email, &demo.password).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    // A report with its document attached.
    let accueil = ruche::spaces::store::find(&app.db, "accueil").await.unwrap().unwrap();
    let Some(ruche::pages::store::Found::Page(report)) = ruche::pages::store::find(
        &app.db,
        accueil.id,
        "rapport-vers-une-societe-de-la-cooperation-2024",
    )
    .await
    .unwrap() else {
        panic!("the report exists")
    };
    let pdf = b"%PDF-1.4\n% rapport\n".to_vec();
    let file = ruche::forms::uploads::store(
        &app.db,
        &app.settings.uploads_dir,
        "rapport 2024.pdf",
        "application/pdf",
        &pdf,
        Some(report.id.0),
        None,
    )
    .await
    .unwrap();
    let mut values = serde_json::Map::new();
    values.insert("file".to_owned(), file);
    app.hub.set_fields(report.id.doc(), values, None).await.unwrap();
    let settings =
        owner.get(app.url("/s/accueil/settings")).send().await.unwrap().text().await.unwrap();
    assert!(settings.contains("/s/accueil/export.zip"), "the settings page offers the export");
    let response = owner.get(app.url("/s/accueil/export.zip")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let archive = response.bytes().await.unwrap();
    let (names, links) = relative_links(&archive);
    assert!(names.contains(&"accueil/bienvenue.md".to_owned()), "{names:?}");
    assert!(names.contains(&"index.md".to_owned()));
    for (from, to) in &links {
        assert!(names.contains(to), "{from} links to {to}, which is not in the archive");
    }
    // Front matter: the title and the event's fields, readable as YAML (JSON values).
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&archive[..])).unwrap();
    let mut event = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("accueil/restitution-de-la-demarche.md").unwrap(),
        &mut event,
    )
    .unwrap();
    assert!(
        event.starts_with("---\ntitle: \"Restitution de la démarche\"\nform: \"event\"\n"),
        "{event}"
    );
    assert!(event.contains("  \"when\": {\"end\":\"2025-03-27T17:00\""), "{event}");

    let attached = "accueil/rapport-vers-une-societe-de-la-cooperation-2024.files/rapport 2024.pdf";
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(attached).unwrap(), &mut bytes).unwrap();
    assert_eq!(bytes, pdf, "the attached file is beside its page");
    assert!(links.iter().any(|(_, to)| to == attached), "the page links to its file");

    // Someone who does not manage the space cannot take it out.
    let reader = app.browser();
    let member = demo.people[0].1.clone();
    app.sign_in_response(&reader, &member, &demo.password).await;
    let refused = reader.get(app.url("/s/accueil/export.zip")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let anonymous =
        app.browser().get(app.url("/s/comite-de-pilotage/export.zip")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::NOT_FOUND, "a private space stays unknown");

    // The whole site from the command line: links between spaces resolve too.
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("site.zip");
    let printed = ruche(
        &app.database_url,
        work.path(),
        &app.settings.uploads_dir,
        &["export", file.to_str().unwrap()],
    );
    assert!(printed.contains("Exported 9 spaces, 81 pages"), "{printed}");
    let archive = std::fs::read(&file).unwrap();
    let (names, links) = relative_links(&archive);
    let across: Vec<_> = links.iter().filter(|(_, to)| to.starts_with("chantier-1")).collect();
    assert!(!across.is_empty(), "the welcome page links to the roadmaps of the chantiers");
    for (from, to) in &links {
        assert!(names.contains(to), "{from} links to {to}, which is not in the archive");
    }
    app.stop().await;
}
