//! Hardening, second round (issue 31), on access: the people list names only people the writer may
//! know of, redirects go back only to this site as they are sent, a file stored once shows each
//! page its own upload, live comment streams end when their reader loses the page, and a page in
//! the trash is unseen wherever pages are named — against the real server.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::time::Duration;

use common::{yclient::YClient, TestApp};
use reqwest::{multipart, StatusCode};
use ruche::spaces::{Role, Space, Visibility};

on_each_backend!(
    the_people_list_of_a_profile_names_only_public_profiles,
    the_people_list_names_only_people_who_share_a_space_with_the_writer,
    following_a_list_goes_back_only_to_a_page_of_this_site,
    signing_in_or_switching_language_goes_back_only_to_a_page_of_this_site,
    a_file_sent_again_elsewhere_shows_only_its_own_name_and_sender,
    an_entry_saved_again_keeps_the_name_its_own_file_was_sent_with,
    records_made_before_keep_names_only_where_the_file_was_first_sent,
    a_comment_stream_ends_when_its_reader_leaves_the_space,
    a_comment_stream_ends_when_the_space_closes_to_its_reader,
    a_comment_stream_ends_when_its_page_goes_to_the_trash,
    a_role_changed_from_the_members_page_is_checked_again_live,
    a_page_in_the_trash_is_unseen_on_every_surface_but_its_owners_trash,
    live_connections_end_with_the_password_or_token_that_opened_them,
    the_old_address_of_a_page_in_the_trash_tells_nothing_of_its_new_name,
);

/// A space with its owner Sophie, editor Claire and viewer Julien, and a page "notes".
async fn people(app: &TestApp, visibility: Visibility) -> Space {
    let space = app.create_space("chantier-1", "Chantier 1", visibility).await;
    for (email, name, role) in [
        ("sophie@example.org", "Sophie Aouizerate", Role::Owner),
        ("claire@example.org", "Claire Martin", Role::Editor),
        ("julien@example.org", "Julien Roux", Role::Viewer),
    ] {
        let user = app.create_user(email, name, false).await;
        app.add_member(&space, &user, role).await;
    }
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-1", "notes", "Ordre du jour de la réunion.").await;
    space
}

/// The handles a people list offers.
fn handles(offered: &serde_json::Value) -> Vec<String> {
    offered["people"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of people: {offered}"))
        .iter()
        .map(|p| p["handle"].as_str().unwrap().to_owned())
        .collect()
}

// --- 6. The people list ------------------------------------------------------------------

async fn the_people_list_of_a_profile_names_only_public_profiles(app: &TestApp) {
    use ruche::directory::create_profile_page;
    let copil = app.create_space("copil", "Comité de pilotage", Visibility::Private).await;
    // Léa is in no space; Paul steers in private, without a profile; Julien has a profile;
    // Marc's profile is in the trash.
    let lea = app.create_user("lea@example.org", "Léa Moreau", false).await;
    let paul = app.create_user("paul@example.org", "Paul Secret", false).await;
    app.add_member(&copil, &paul, Role::Owner).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    let marc = app.create_user("marc@example.org", "Marc Ancien", false).await;
    let mine = create_profile_page(&app.db, &lea, Default::default()).await.unwrap();
    create_profile_page(&app.db, &julien, Default::default()).await.unwrap();
    let gone = create_profile_page(&app.db, &marc, Default::default()).await.unwrap();
    ruche::pages::store::set_trashed(&app.db, &gone, true, None).await.unwrap();

    let token = app.token_for("lea@example.org").await;
    for q in ["", "p", "m"] {
        let path = format!("/api/pages/annuaire/{}/people?q={q}", mine.slug);
        let offered = handles(&app.get_json_as(&token, &path).await);
        assert!(!offered.contains(&"paul-secret".to_owned()), "{q:?}: {offered:?}");
        assert!(!offered.contains(&"marc-ancien".to_owned()), "{q:?}: {offered:?}");
    }
    let path = format!("/api/pages/annuaire/{}/people?q=jul", mine.slug);
    assert_eq!(handles(&app.get_json_as(&token, &path).await), ["julien-roux"]);
}

async fn the_people_list_names_only_people_who_share_a_space_with_the_writer(app: &TestApp) {
    let open = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    let copil = app.create_space("copil", "Comité de pilotage", Visibility::Private).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    let paul = app.create_user("paul@example.org", "Paul Secret", false).await;
    app.create_user("lea@example.org", "Léa Moreau", false).await;
    app.add_member(&open, &claire, Role::Editor).await;
    app.add_member(&open, &julien, Role::Viewer).await;
    app.add_member(&copil, &paul, Role::Owner).await;
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-1", "notes", "Ordre du jour").await;

    // Everyone may read this public page; Claire is offered only the people of her space.
    let offered = handles(&app.get_json_as(&token, "/api/pages/chantier-1/notes/people?q=").await);
    assert!(offered.contains(&"julien-roux".to_owned()), "{offered:?}");
    assert!(!offered.contains(&"lea-moreau".to_owned()), "{offered:?}");
    assert!(!offered.contains(&"paul-secret".to_owned()), "{offered:?}");
    let paul_typed = app.get_json_as(&token, "/api/pages/chantier-1/notes/people?q=pau").await;
    assert_eq!(handles(&paul_typed), Vec::<String>::new());
}

// --- 9. Redirects --------------------------------------------------------------------------

/// Addresses of another site, as a browser would read them from a `Location` header (tabs and
/// newlines dropped, backslashes as slashes), plainly or percent-encoded.
const ELSEWHERE: &[&str] = &[
    "//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "/\u{0b}/evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "https://evil.example",
    "javascript:alert(1)",
];

async fn following_a_list_goes_back_only_to_a_page_of_this_site(app: &TestApp) {
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let julien = app.signed_in("julien@example.org").await;
    for back in ELSEWHERE {
        let followed = app
            .post_form(
                &julien,
                "/agenda",
                "/follow/form/event",
                &[("action", "follow"), ("back", *back)],
            )
            .await;
        assert_eq!(followed.status(), StatusCode::SEE_OTHER, "{back:?}");
        assert_eq!(followed.headers()["location"], "/forms/event", "{back:?}");
    }
    let back = "/agenda?q=atelier";
    let followed = app
        .post_form(
            &julien,
            "/agenda",
            "/follow/form/event",
            &[("action", "unfollow"), ("back", back)],
        )
        .await;
    assert_eq!(followed.headers()["location"], back);
}

async fn signing_in_or_switching_language_goes_back_only_to_a_page_of_this_site(app: &TestApp) {
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let sign_in = |next: &'static str| async move {
        let browser = app.browser();
        let csrf = app.csrf(&browser, "/login").await;
        let fields = [
            ("_csrf", csrf.as_str()),
            ("email", "julien@example.org"),
            ("password", common::PASSWORD),
            ("next", next),
        ];
        browser.post(app.url("/login")).form(&fields).send().await.unwrap()
    };
    for next in ELSEWHERE {
        let signed_in = sign_in(next).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(signed_in.headers()["location"], "/", "{next:?}");
        let switched =
            app.browser().get(app.url("/lang/en")).query(&[("next", next)]).send().await.unwrap();
        assert_eq!(switched.headers()["location"], "/", "{next:?}");
    }
    let here = "/s/chantier-1?page=2";
    assert_eq!(sign_in(here).await.headers()["location"], here);
    let switched = app.browser().get(app.url("/lang/en")).query(&[("next", here)]).send().await;
    assert_eq!(switched.unwrap().headers()["location"], here);
}

// --- 10. Files stored once -----------------------------------------------------------------

/// The bytes of a private file, sent again elsewhere by someone else.
const SECRET: &[u8] = b"Salaires de la direction : 4 200, 3 900, 3 900.\n";

/// Sends `bytes` as `name` to the files of the page at `page` from `browser` (the plain form).
async fn send_file(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    bytes: &'static [u8],
    name: &str,
) {
    let csrf = app.csrf(browser, &format!("{page}/edit")).await;
    let form = multipart::Form::new()
        .text("_csrf", csrf)
        .part("file", multipart::Part::bytes(bytes).file_name(name.to_owned()));
    let sent = browser.post(app.url(&format!("{page}/files"))).multipart(form).send().await;
    assert_eq!(sent.unwrap().status(), StatusCode::SEE_OTHER, "{name} sent to {page}");
}

/// Sophie keeps `SECRET` as "salaires-direction.txt" on a page of the private steering
/// committee; Claire edits the public space `chantier-1`. Answers Claire's browser.
async fn a_private_file_and_a_public_editor(app: &TestApp) -> reqwest::Client {
    let copil = app.create_space("copil", "Comité de pilotage", Visibility::Private).await;
    let open = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    let sophie = app.create_user("sophie@example.org", "Sophie Aouizerate", false).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&copil, &sophie, Role::Editor).await;
    app.add_member(&open, &claire, Role::Editor).await;
    let token = app.token_for("sophie@example.org").await;
    app.put_page(&token, "copil", "budget", "Budget de l'année.").await;
    let sophie = app.signed_in("sophie@example.org").await;
    send_file(app, &sophie, "/s/copil/budget", SECRET, "salaires-direction.txt").await;
    app.signed_in("claire@example.org").await
}

fn tells_nothing_of_the_private_file(what: &str, text: &str) {
    for private in ["salaires-direction", "Sophie"] {
        assert!(!text.contains(private), "{what} tells {private:?}: {text}");
    }
}

async fn a_file_sent_again_elsewhere_shows_only_its_own_name_and_sender(app: &TestApp) {
    let claire = a_private_file_and_a_public_editor(app).await;
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-1", "notes", "Compte rendu.").await;
    send_file(app, &claire, "/s/chantier-1/notes", SECRET, "notes-reunion.txt").await;

    let (status, page) = app.get_text(None, "/s/chantier-1/notes").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("notes-reunion.txt") && page.contains("Claire Martin"), "{page}");
    tells_nothing_of_the_private_file("the page", &page);
    let href = page
        .split("href=\"")
        .find(|part| part.starts_with("/s/chantier-1/notes/files/"))
        .and_then(|part| part.split('"').next())
        .expect("a link to the file")
        .to_owned();
    let served = reqwest::get(app.url(&href)).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let disposition = served.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("notes-reunion.txt"), "{disposition}");
    tells_nothing_of_the_private_file("the download", &disposition);
    assert_eq!(served.bytes().await.unwrap().as_ref(), SECRET, "the same bytes, stored once");

    // The steering committee still sees its own upload as it was sent.
    let sophie = app.signed_in("sophie@example.org").await;
    let (_, theirs) = app.get_text(Some(&sophie), "/s/copil/budget").await;
    assert!(theirs.contains("salaires-direction.txt"), "{theirs}");
}

async fn an_entry_saved_again_keeps_the_name_its_own_file_was_sent_with(app: &TestApp) {
    use sha2::Digest;
    let claire = a_private_file_and_a_public_editor(app).await;
    let slug = app
        .new_entry(&claire, "chantier-1", "Compte rendu", "resource", &[("type", "rapport")])
        .await;
    let fields = format!("/s/chantier-1/{slug}/fields");
    let csrf = app.csrf(&claire, &fields).await;
    let form = multipart::Form::new()
        .text("_csrf", csrf)
        .text("type", "rapport")
        .part("file", multipart::Part::bytes(SECRET).file_name("document.txt"));
    let saved = claire.post(app.url(&fields)).multipart(form).send().await.unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    // Saved again, the file kept (as the form sends it back).
    let hash = format!("{:x}", sha2::Sha256::digest(SECRET));
    let kept = format!("{{\"hash\":\"{hash}\",\"name\":\"x\"}}");
    let again = app
        .post_form(&claire, &fields, &fields, &[("type", "rapport"), ("file.kept", &kept)])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);

    let (_, page) = app.get_text(None, &format!("/s/chantier-1/{slug}")).await;
    assert!(page.contains("document.txt"), "{page}");
    tells_nothing_of_the_private_file("the entry", &page);
    let (_, form) = app.get_text(Some(&claire), &fields).await;
    tells_nothing_of_the_private_file("the entry's form", &form);
}

async fn records_made_before_keep_names_only_where_the_file_was_first_sent(app: &TestApp) {
    use migration::{Migrator, MigratorTrait};
    let claire = a_private_file_and_a_public_editor(app).await;
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-1", "notes", "Compte rendu.").await;
    send_file(app, &claire, "/s/chantier-1/notes", SECRET, "notes-reunion.txt").await;
    let slug = app
        .new_entry(&claire, "chantier-1", "Compte rendu", "resource", &[("type", "rapport")])
        .await;
    let fields = format!("/s/chantier-1/{slug}/fields");
    let csrf = app.csrf(&claire, &fields).await;
    let form = multipart::Form::new()
        .text("_csrf", csrf)
        .text("type", "rapport")
        .part("file", multipart::Part::bytes(SECRET).file_name("document.txt"));
    let saved = claire.post(app.url(&fields)).multipart(form).send().await.unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    // As the site was before names were kept per page, then migrated.
    Migrator::down(&app.db, Some(1)).await.unwrap();
    Migrator::up(&app.db, None).await.unwrap();

    let (_, notes) = app.get_text(None, "/s/chantier-1/notes").await;
    tells_nothing_of_the_private_file("the page", &notes);
    let (_, entry) = app.get_text(None, &format!("/s/chantier-1/{slug}")).await;
    tells_nothing_of_the_private_file("the entry", &entry);
    let href = format!("/s/chantier-1/{slug}/files/");
    let link = entry.split("href=\"").find(|p| p.starts_with(&href)).unwrap();
    let served = reqwest::get(app.url(link.split('"').next().unwrap())).await.unwrap();
    let disposition = served.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("document.txt"), "the entry's own name: {disposition}");
    let sophie = app.signed_in("sophie@example.org").await;
    let (_, theirs) = app.get_text(Some(&sophie), "/s/copil/budget").await;
    assert!(theirs.contains("salaires-direction.txt") && theirs.contains("Sophie"), "{theirs}");
}

// --- 12. Live streams ----------------------------------------------------------------------

const EVENTS: &str = "/s/chantier-1/notes/comments/events";

/// Opens the page's comment stream as `client` (none: anonymously).
async fn open_stream(app: &TestApp, client: Option<&reqwest::Client>) -> reqwest::Response {
    let client = client.cloned().unwrap_or_default();
    let stream = client.get(app.url(EVENTS)).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    stream
}

/// What a stream tells within `wait`: the comment ids, and whether it ended.
async fn told(response: reqwest::Response, wait: Duration) -> (Vec<String>, bool) {
    use futures_util::StreamExt;
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    let ended = loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => break false,
            Ok(None) | Ok(Some(Err(_))) => break true,
            Ok(Some(Ok(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
        }
    };
    let ids = text
        .split("\n\n")
        .filter(|e| e.contains("event: comment"))
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_owned))
        .collect();
    (ids, ended)
}

/// Claire comments on the page (through the API); answers the comment's id.
async fn claire_comments(app: &TestApp, text: &str) -> String {
    let token = app.token_for("claire@example.org").await;
    let posted = reqwest::Client::new()
        .post(app.url("/api/pages/chantier-1/notes/comments"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "markdown": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    posted.json::<serde_json::Value>().await.unwrap()["id"].to_string()
}

async fn a_comment_stream_ends_when_its_reader_leaves_the_space(app: &TestApp) {
    people(app, Visibility::Members).await;
    let julien = app.signed_in("julien@example.org").await;
    let claire = app.signed_in("claire@example.org").await;
    let julien_stream = open_stream(app, Some(&julien)).await;
    let claire_stream = open_stream(app, Some(&claire)).await;

    let owner = app.token_for("sophie@example.org").await;
    let removed = reqwest::Client::new()
        .delete(app.url("/api/spaces/chantier-1/members/julien@example.org"))
        .bearer_auth(owner)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let id = claire_comments(app, "Après le départ de Julien").await;

    let (ids, ended) = told(julien_stream, Duration::from_secs(5)).await;
    assert!(ended && ids.is_empty(), "Julien's stream ended before telling {ids:?}");
    // Who still reads the page goes on hearing of it.
    let (ids, ended) = told(claire_stream, Duration::from_secs(1)).await;
    assert_eq!(ids, [id]);
    assert!(!ended, "Claire's stream goes on");
    let (status, _) = app.get_text(Some(&julien), EVENTS).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "and cannot be opened again");
}

/// The same across processes: the reader's stream is on B, they are removed through A (run when
/// RUCHE_TEST_POSTGRES and RUCHE_TEST_REDIS are both set, as for `tests/cluster.rs`).
#[tokio::test]
async fn a_comment_stream_on_another_process_ends_when_its_reader_leaves_the_space() {
    let (Ok(_), Ok(redis)) =
        (std::env::var("RUCHE_TEST_POSTGRES"), std::env::var("RUCHE_TEST_REDIS"))
    else {
        eprintln!("RUCHE_TEST_POSTGRES and RUCHE_TEST_REDIS are not both set: not run");
        return;
    };
    let app = TestApp::start(common::Backend::Postgres).await;
    people(&app, Visibility::Members).await;
    let env = [("REDIS_URL", redis.as_str())];
    let a = common::ServerProcess::spawn(&app.database_url, &env).await;
    let b = common::ServerProcess::spawn(&app.database_url, &env).await;
    let julien = app.token_for("julien@example.org").await;
    let stream = reqwest::Client::new()
        .get(format!("{}{EVENTS}", b.base))
        .bearer_auth(&julien)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    // Both processes are subscribed once their first answers came; give Redis a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let owner = app.token_for("sophie@example.org").await;
    let removed = reqwest::Client::new()
        .delete(format!("{}/api/spaces/chantier-1/members/julien@example.org", a.base))
        .bearer_auth(owner)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let (ids, ended) = told(stream, Duration::from_secs(5)).await;
    assert!(ended && ids.is_empty(), "Julien's stream on B ended ({ids:?})");
    a.kill().await;
    b.kill().await;
    app.stop().await;
}

async fn a_comment_stream_ends_when_the_space_closes_to_its_reader(app: &TestApp) {
    people(app, Visibility::Public).await;
    let anonymous = open_stream(app, None).await;
    let sophie = app.signed_in("sophie@example.org").await;
    let settings = "/s/chantier-1/settings";
    let closed = app
        .post_form(
            &sophie,
            settings,
            settings,
            &[("title", "Chantier 1"), ("visibility", "members"), ("comments", "members")],
        )
        .await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    claire_comments(app, "Entre nous").await;
    let (ids, ended) = told(anonymous, Duration::from_secs(5)).await;
    assert!(ended && ids.is_empty(), "the anonymous stream ended before telling {ids:?}");
}

async fn a_comment_stream_ends_when_its_page_goes_to_the_trash(app: &TestApp) {
    people(app, Visibility::Members).await;
    let julien = app.signed_in("julien@example.org").await;
    let stream = open_stream(app, Some(&julien)).await;
    let sophie = app.signed_in("sophie@example.org").await;
    let trashed =
        app.post_form(&sophie, "/s/chantier-1/notes", "/s/chantier-1/notes/trash", &[]).await;
    assert_eq!(trashed.status(), StatusCode::SEE_OTHER);
    let (ids, ended) = told(stream, Duration::from_secs(5)).await;
    assert!(ended && ids.is_empty(), "the viewer's stream ended ({ids:?})");
}

async fn a_role_changed_from_the_members_page_is_checked_again_live(app: &TestApp) {
    people(app, Visibility::Members).await;
    let claire_token = app.token_for("claire@example.org").await;
    let editor = YClient::connect(&app.ws_url("chantier-1", "notes"), Some(&claire_token)).await;
    let sophie = app.signed_in("sophie@example.org").await;
    let members = "/s/chantier-1/members";
    let changed = app
        .post_form(
            &sophie,
            members,
            members,
            &[("email", "claire@example.org"), ("role", "viewer")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let (code, _) = editor.wait_closed().await.expect("closed with a reason");
    assert_eq!(code, 1008, "Claire's connection is checked again as a viewer's");
}

// --- 13. The trash -------------------------------------------------------------------------

async fn a_page_in_the_trash_is_unseen_on_every_surface_but_its_owners_trash(app: &TestApp) {
    people(app, Visibility::Public).await;
    let token = app.token_for("claire@example.org").await;
    let put = reqwest::Client::new()
        .put(app.url("/api/pages/chantier-1/licenciements"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "markdown": "À ne pas ébruiter.", "title": TRASHED }))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let julien = app.signed_in("julien@example.org").await;
    let page = "/s/chantier-1/licenciements";
    let followed =
        app.post_form(&julien, page, &format!("{page}/follow"), &[("action", "follow")]).await;
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);
    let commented = reqwest::Client::new()
        .post(app.url("/api/pages/chantier-1/licenciements/comments"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "markdown": "Qui est au courant ?" }))
        .send()
        .await
        .unwrap();
    assert_eq!(commented.status(), StatusCode::CREATED);
    // Every surface that names pages tells of it before it goes to the trash.
    for path in SURFACES {
        let mut told = String::new();
        for _ in 0..100 {
            told = app.get_text(Some(&julien), path).await.1;
            if told.contains(TRASHED) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(told.contains(TRASHED), "{path} tells of it before: {told}");
    }

    let sophie = app.signed_in("sophie@example.org").await;
    let trashed = app.post_form(&sophie, page, &format!("{page}/trash"), &[]).await;
    assert_eq!(trashed.status(), StatusCode::SEE_OTHER);

    let claire = app.signed_in("claire@example.org").await;
    for path in SURFACES {
        let readers =
            [("anonymous", None), ("a viewer", Some(&julien)), ("an editor", Some(&claire))];
        for (who, client) in readers {
            let (_, text) = app.get_text(client, path).await;
            assert!(!text.contains(TRASHED), "{path} tells {who} of a page in the trash: {text}");
        }
    }
    // Its owners see it, in the trash.
    let (_, theirs) = app.get_text(Some(&sophie), "/s/chantier-1/changes").await;
    assert!(theirs.contains(TRASHED), "{theirs}");
}

/// The title of a page that goes to the trash.
const TRASHED: &str = "Plan de départs";

/// Where pages are named to their readers: recent changes, their feeds, notifications, the
/// lists of discussions, search.
const SURFACES: [&str; 8] = [
    "/changes",
    "/s/chantier-1/changes",
    "/changes.atom",
    "/s/chantier-1/changes.atom",
    "/api/notifications",
    "/discussions",
    "/s/chantier-1/discussions",
    "/api/search?q=ebruiter",
];

/// A stream opened by a session whose password is then changed (say, by its owner who fears it
/// was stolen), and a live page opened with a token then revoked: both end, and the old proof
/// opens neither again.
async fn live_connections_end_with_the_password_or_token_that_opened_them(app: &TestApp) {
    people(app, Visibility::Members).await;
    let stolen = app.signed_in("julien@example.org").await;
    let stream = open_stream(app, Some(&stolen)).await;
    let julien = app.signed_in("julien@example.org").await;
    let changed = app
        .post_form(
            &julien,
            "/account",
            "/account/password",
            &[("current", common::PASSWORD), ("password", "un tout nouveau secret")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    claire_comments(app, "Après le changement de mot de passe").await;
    let (ids, ended) = told(stream, Duration::from_secs(5)).await;
    assert!(ended && ids.is_empty(), "the old session's stream ended before telling {ids:?}");
    let (status, _) = app.get_text(Some(&stolen), EVENTS).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the old session is sent to sign in again");

    let token = app.token_for("claire@example.org").await;
    let url = app.ws_url("chantier-1", "notes");
    let live = YClient::connect(&url, Some(&token)).await;
    let claire = app.signed_in("claire@example.org").await;
    let (_, account) = app.get_text(Some(&claire), "/account").await;
    let revokes: Vec<String> = account
        .split("action=\"")
        .skip(1)
        .filter_map(|p| p.split('"').next())
        .filter(|a| a.starts_with("/account/tokens/") && a.ends_with("/revoke"))
        .map(str::to_owned)
        .collect();
    assert!(!revokes.is_empty(), "Claire's tokens are listed");
    for action in &revokes {
        let revoked = app.post_form(&claire, "/account", action, &[]).await;
        assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    }
    live.wait_closed().await;
    assert!(common::yclient::open(&url, Some(&token)).await.is_err(), "nor the live page");
}

/// A page renamed, then put in the trash: its old address answers like a missing page, not with
/// a redirect naming its new address (the title the committee gave it).
async fn the_old_address_of_a_page_in_the_trash_tells_nothing_of_its_new_name(app: &TestApp) {
    people(app, Visibility::Public).await;
    let claire = app.signed_in("claire@example.org").await;
    let made = app
        .post_form(&claire, "/s/chantier-1/new", "/s/chantier-1/pages", &[("title", "Brouillon")])
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let old = "/s/chantier-1/brouillon";
    let renamed = app
        .post_form(
            &claire,
            &format!("{old}/rename"),
            &format!("{old}/rename"),
            &[("title", "Plan de départs confidentiel"), ("slug", "")],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let before = app.browser().get(app.url(old)).send().await.unwrap();
    assert!(before.status().is_redirection(), "while readable, the old address leads to it");
    let new = "/s/chantier-1/plan-de-departs-confidentiel";
    let sophie = app.signed_in("sophie@example.org").await;
    let trashed = app.post_form(&sophie, new, &format!("{new}/trash"), &[]).await;
    assert_eq!(trashed.status(), StatusCode::SEE_OTHER);
    for path in [old.to_owned(), format!("{old}/history")] {
        let answer = app.browser().get(app.url(&path)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(answer.headers().get("location").is_none(), "{path}");
        let body = answer.text().await.unwrap();
        assert!(!body.contains("confidentiel"), "{path}: {body}");
    }
}
