//! Mail (issue 17): it leaves through the outbox to a real SMTP server started by the test, and
//! brings people back into their account.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::time::Duration;

use common::{smtp::SmtpSink, Backend, TestApp};
use reqwest::StatusCode;

on_each_backend!(
    forgetting_ones_password_gets_one_back_in,
    the_answer_does_not_tell_who_has_an_account,
    a_mail_queued_while_the_server_is_away_arrives_once_it_is_back,
    a_recipient_the_server_refuses_is_given_up_without_blocking_others,
    an_administrator_sends_a_way_back_in_and_follows_the_mail,
    an_invitation_into_a_space_arrives_and_works_once,
    an_open_sign_up_confirms_the_address_by_mail,
    two_processes_send_each_mail_once,
    a_request_to_join_reaches_the_owners_and_its_answer_the_person,
    following_a_page_tells_of_each_session_of_changes_once,
    following_a_space_tells_of_its_pages,
    a_mention_tells_the_person_named_only_if_they_may_read,
    the_daily_digest_groups_a_days_notifications_and_one_click_stops_them,
    following_a_form_tells_of_its_new_entries,
    an_invitation_is_sent_again_with_a_new_link
);

/// The site, sending its mail to `sink`, retrying quickly.
async fn site(app: &TestApp, sink_url: &str) -> TestApp {
    site_with(app, sink_url, |_| {}).await
}

/// The same, with more settings.
async fn site_with(
    app: &TestApp,
    sink_url: &str,
    more: impl FnOnce(&mut ruche::config::Settings),
) -> TestApp {
    let url = sink_url.to_owned();
    TestApp::start_configured(&app.database_url, move |s| {
        s.mail =
            Some(ruche::mail::MailSettings::new(&url, "Chantiers <wiki@example.org>").unwrap());
        s.outbox.first_retry = Duration::from_millis(200);
        s.outbox.poll = Duration::from_millis(100);
        more(s);
    })
    .await
}

/// Asks for a reset link for `email`, from a fresh browser; answers the response.
async fn ask_link(app: &TestApp, email: &str) -> reqwest::Response {
    let browser = app.browser();
    app.post_form(&browser, "/password/forgot", "/password/forgot", &[("email", email)]).await
}

async fn forgetting_ones_password_gets_one_back_in(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, &sink.url()).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    let elsewhere = app.signed_in("claire@example.org").await;
    let (_, login) = app.get_text(None, "/login").await;
    assert!(login.contains("href=\"/password/forgot\""), "the way back starts at sign-in");

    let asked = ask_link(&app, "Claire@Example.org ").await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(asked.headers()["location"], "/password/forgot?sent=1");
    // What to do next, without the empty form again.
    let (_, sent) = app.get_text(None, "/password/forgot?sent=1").await;
    assert!(sent.contains("un courriel vient de lui être envoyé"), "{sent}");
    assert!(!sent.contains("name=\"email\""), "{sent}");
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["claire@example.org"]);
    assert!(mail.subject().contains("Choisir un nouveau mot de passe"), "{}", mail.subject());
    assert!(mail.text().contains("Bonjour Claire Martin"), "{}", mail.text());
    assert!(mail.html().contains("Choisir un nouveau mot de passe</a>"), "an HTML part too");
    let link = mail.link(&app.url("/password/reset/"));
    let path = link.trim_start_matches(&app.url(""));

    let browser = app.browser();
    let (status, form) = app.get_text(Some(&browser), path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"password_confirmation\""), "{form}");
    let mismatch = app
        .post_form(
            &browser,
            path,
            path,
            &[
                ("password", "un autre mot de passe"),
                ("password_confirmation", "pas pareil du tout"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = app
        .post_form(
            &browser,
            path,
            path,
            &[
                ("password", "un autre mot de passe"),
                ("password_confirmation", "un autre mot de passe"),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let (_, account) = app.get_text(Some(&browser), "/account").await;
    assert!(account.contains("claire@example.org"), "signed in at once: {account}");
    // The other session ended; the link is used up; the new password works.
    let old = elsewhere.get(app.url("/account")).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::SEE_OTHER, "the old session is signed out");
    let (status, again) = app.get_text(None, path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        again.contains("Ce lien ne marche plus") && again.contains("/password/forgot"),
        "{again}"
    );
    let fresh = app.browser();
    let signed = app.sign_in_response(&fresh, "claire@example.org", "un autre mot de passe").await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    // A made-up token reads exactly like a used one.
    let (status, guessed) = app.get_text(None, "/password/reset/abcdefghijklmnop").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(guessed.contains("Ce lien ne marche plus"));
    app.stop().await;
}

async fn the_answer_does_not_tell_who_has_an_account(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, &sink.url()).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    let known = ask_link(&app, "claire@example.org").await;
    let unknown = ask_link(&app, "personne@example.org").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.headers()["location"], unknown.headers()["location"]);
    let (known, unknown) = (known.bytes().await.unwrap(), unknown.bytes().await.unwrap());
    assert_eq!(known, unknown, "byte for byte");
    assert_eq!(sink.wait_for(1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 1, "nothing is sent to an address without an account");
    app.stop().await;
}

async fn a_mail_queued_while_the_server_is_away_arrives_once_it_is_back(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let port = sink.stop();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = site(app, &url).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    assert_eq!(ask_link(&app, "claire@example.org").await.status(), StatusCode::SEE_OTHER);
    // Refused a few times meanwhile: kept, with the reason.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let queued = ruche::outbox::recent_of(&app.db, ruche::mail::KIND, 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].attempts >= 1 && queued[0].sent_at.is_none(), "{queued:?}");
    assert!(queued[0].last_error.is_some());
    // The server is back: the mail arrives, once.
    let sink = SmtpSink::start_on(port).await;
    sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.received().len(), 1);
    let sent = ruche::outbox::recent_of(&app.db, ruche::mail::KIND, 10).await.unwrap();
    assert!(sent[0].sent_at.is_some(), "{sent:?}");
    app.stop().await;
}

async fn a_recipient_the_server_refuses_is_given_up_without_blocking_others(app: &TestApp) {
    let sink = SmtpSink::start().await;
    sink.refuse("parti@example.org");
    let app = site(app, &sink.url()).await;
    app.create_user("parti@example.org", "Parti", false).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    ask_link(&app, "parti@example.org").await;
    ask_link(&app, "claire@example.org").await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].to, ["claire@example.org"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let outbox = ruche::outbox::recent_of(&app.db, ruche::mail::KIND, 10).await.unwrap();
    let refused = outbox.iter().find(|m| m.recipient == "parti@example.org").unwrap();
    assert!(refused.failed_at.is_some(), "given up at once: {refused:?}");
    assert!(refused.last_error.as_deref().unwrap_or("").contains("550"), "{refused:?}");
    app.stop().await;
}

#[tokio::test]
async fn without_mail_the_site_says_so() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (_, page) = app.get_text(None, "/password/forgot").await;
    assert!(page.contains("Ce site n'envoie pas de courriels"), "{page}");
    assert!(!page.contains("name=\"email\""), "no form that would send nothing");
    app.stop().await;
}

/// Runs the `ruche` command over `data`, with `stdin`; answers (success, standard output and
/// error together).
async fn ruche(data: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ruche"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn the_command_line_sends_a_test_mail_and_sets_a_lost_password() {
    let sink = SmtpSink::start().await;
    let data = tempfile::tempdir().unwrap();
    let (ok, said) =
        ruche(data.path(), &["--smtp-url", &sink.url(), "mail", "test", "claire@example.org"], "")
            .await;
    assert!(ok && said.contains("250"), "{said}");
    assert_eq!(sink.wait_for(1).await[0].to, ["claire@example.org"]);
    let (ok, said) = ruche(data.path(), &["mail", "test", "claire@example.org"], "").await;
    assert!(!ok && said.contains("mail is not set up"), "{said}");

    let (ok, said) = ruche(
        data.path(),
        &["user", "add", "admin@example.org", "--name", "Admin", "--password-stdin", "--admin"],
        "un mot de passe assez long\n",
    )
    .await;
    assert!(ok, "{said}");
    let (ok, said) = ruche(
        data.path(),
        &["user", "password", "admin@example.org", "--password-stdin"],
        "court\n",
    )
    .await;
    assert!(!ok && said.contains("too short"), "{said}");
    let (ok, said) = ruche(
        data.path(),
        &["user", "password", "admin@example.org", "--password-stdin"],
        "le nouveau mot de passe\n",
    )
    .await;
    assert!(ok, "{said}");
    let db = ruche::db::connect(&ruche::config::sqlite_url(&data.path().join("ruche.db")))
        .await
        .unwrap();
    let signed =
        ruche::accounts::store::authenticate(&db, "admin@example.org", "le nouveau mot de passe")
            .await
            .unwrap();
    assert!(matches!(signed, ruche::accounts::store::SignIn::Ok(_)));
}

async fn an_administrator_sends_a_way_back_in_and_follows_the_mail(app: &TestApp) {
    let sink = SmtpSink::start().await;
    sink.refuse("parti@example.org");
    let app = site(app, &sink.url()).await;
    app.create_user("admin@example.org", "Admin", true).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let parti = app.create_user("parti@example.org", "Parti", false).await;
    let admin = app.signed_in("admin@example.org").await;
    for user in [&claire, &parti] {
        let sent = app
            .post_form(&admin, "/admin/users", &format!("/admin/users/{}/reset", user.id.0), &[])
            .await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    }
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["claire@example.org"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, page) = app.get_text(Some(&admin), "/admin/mail").await;
    assert!(page.contains("claire@example.org") && page.contains("Envoyé le"), "{page}");
    assert!(page.contains("Abandonné") && page.contains("550"), "{page}");
    // Sent again (the server still refuses: given up again, and nothing else is disturbed).
    let failed = ruche::outbox::recent_of(&app.db, ruche::mail::KIND, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == "parti@example.org")
        .unwrap();
    let again = app
        .post_form(&admin, "/admin/mail", &format!("/admin/mail/{}/again", failed.id), &[])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    // Others may not see this page.
    let claire_browser = app.signed_in("claire@example.org").await;
    let refused = claire_browser.get(app.url("/admin/mail")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn without_mail_the_administrator_gets_the_link_to_pass_on() {
    let app = TestApp::start(Backend::Sqlite).await;
    app.create_user("admin@example.org", "Admin", true).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let admin = app.signed_in("admin@example.org").await;
    app.post_form(&admin, "/admin/users", &format!("/admin/users/{}/reset", claire.id.0), &[])
        .await;
    let (_, page) = app.get_text(Some(&admin), "/admin/users").await;
    let start = page.find("/password/reset/").expect("the link is shown");
    let token: String = page[start + 16..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let (status, form) = app.get_text(None, &format!("/password/reset/{token}")).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    let (_, mail) = app.get_text(Some(&admin), "/admin/mail").await;
    assert!(mail.contains("Le courrier n'est pas configuré"), "{mail}");
    app.stop().await;
}

async fn an_invitation_into_a_space_arrives_and_works_once(app: &TestApp) {
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let app = site(app, &sink.url()).await;
    let space = app.create_space("copil", "Comité de pilotage", Visibility::Private).await;
    let owner = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&space, &owner, Role::Owner).await;
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let claire = app.signed_in("claire@example.org").await;

    // Someone with an account is added at once, and told.
    let added = app
        .post_form(
            &claire,
            "/s/copil/members",
            "/s/copil/members",
            &[("email", "julien@example.org"), ("role", "viewer")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let told = sink.wait_for(1).await.remove(0);
    assert_eq!(told.to, ["julien@example.org"]);
    assert!(told.subject().contains("Comité de pilotage"), "{}", told.subject());

    // Someone without one gets an invitation into the space.
    let bad = app
        .post_form(
            &claire,
            "/s/copil/members",
            "/s/copil/members",
            &[("email", "pas une adresse"), ("role", "editor")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let invited = app
        .post_form(
            &claire,
            "/s/copil/members",
            "/s/copil/members",
            &[("email", "Nadia@Example.org"), ("role", "editor")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    let (_, members) = app.get_text(Some(&claire), "/s/copil/members").await;
    assert!(
        members.contains("Invitations en attente") && members.contains("nadia@example.org"),
        "{members}"
    );
    // Where roles are chosen, each is said in words, and every role list points there.
    assert!(
        members.contains("id=\"roles-help\"")
            && members.contains("écrit et modifie les pages")
            && members.contains("aria-describedby=\"roles-help\""),
        "{members}"
    );
    let mail = sink.wait_for(2).await.remove(1);
    assert_eq!(mail.to, ["nadia@example.org"]);
    assert!(mail.text().contains("Claire Martin vous invite"), "{}", mail.text());
    let link = mail.link(&app.url("/invite/"));
    let path = link.trim_start_matches(&app.url("")).to_owned();
    let browser = app.browser();
    let (_, form) = app.get_text(Some(&browser), &path).await;
    // The account is made with the address invited: it is said, and cannot be changed.
    assert!(
        form.contains("Comité de pilotage")
            && form.contains("nadia@example.org")
            && !form.contains("name=\"email\""),
        "{form}"
    );
    let made = app
        .post_form(
            &browser,
            &path,
            &path,
            &[
                ("name", "Nadia Benali"),
                ("email", "nadia@example.org"),
                ("password", "un mot de passe solide"),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER, "{}", made.text().await.unwrap());
    // Straight into the space, told so (not to first steps that say to ask to join).
    assert_eq!(made.headers()["location"], "/s/copil");
    let (status, space) = app.get_text(Some(&browser), "/s/copil").await;
    assert_eq!(status, StatusCode::OK, "a member of the private space at once");
    assert!(
        space.contains(
            "Invitation acceptée : vous faites maintenant partie de « Comité de pilotage »"
        ),
        "{space}"
    );
    let (status, _) = app.get_text(None, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the link works once");
    let (_, members) = app.get_text(Some(&claire), "/s/copil/members").await;
    assert!(!members.contains("Invitations en attente"), "{members}");
    app.stop().await;
}

async fn an_open_sign_up_confirms_the_address_by_mail(app: &TestApp) {
    use ruche::accounts::signup::{set_mode, SignupMode};
    let sink = SmtpSink::start().await;
    let app = site(app, &sink.url()).await;
    app.create_user("admin@example.org", "Admin", true).await;
    set_mode(&app.db, SignupMode::Open).await.unwrap();
    let browser = app.browser();
    let made = app
        .post_form(
            &browser,
            "/signup",
            "/signup",
            &[
                ("name", "Nadia Benali"),
                ("email", "nadia@example.org"),
                ("password", "un mot de passe solide"),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(made.headers()["location"], "/signup/check");
    let (_, check) = app.get_text(Some(&browser), "/signup/check").await;
    assert!(check.contains("Confirmez votre adresse"), "{check}");
    assert!(check.contains("un courriel à nadia@example.org"), "{check}");
    // Not signed in yet, and not until the address is confirmed: signing in sends the link again
    // (once the account is made, after the answer: its confirmation mail says it is).
    let (status, _) = app.get_text(Some(&browser), "/account").await;
    assert_ne!(status, StatusCode::OK);
    sink.wait_for(1).await;
    let refused =
        app.sign_in_response(&app.browser(), "nadia@example.org", "un mot de passe solide").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("ouvrez d'abord le lien reçu par courriel"));
    let mails = sink.wait_for(2).await;
    assert!(mails.iter().all(|m| m.to == ["nadia@example.org"]));
    let link = mails[0].link(&app.url("/signup/confirm/"));
    let path = link.trim_start_matches(&app.url("")).to_owned();
    let confirmed = browser.get(app.url(&path)).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(confirmed.headers()["location"], "/welcome");
    let (status, account) = app.get_text(Some(&browser), "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(account.contains("nadia@example.org"));
    let (status, _) = app.get_text(None, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "once");
    // A password-reset link is not a confirmation link, nor the reverse.
    let reset_path = path.replace("/signup/confirm/", "/password/reset/");
    let (status, _) = app.get_text(None, &reset_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn two_processes_send_each_mail_once(app: &TestApp) {
    if !app.database_url.starts_with("postgres") {
        return; // one process writes a SQLite database
    }
    const N: usize = 200;
    let sink = SmtpSink::start().await;
    let (a, b) = (site(app, &sink.url()).await, site(app, &sink.url()).await);
    let started = std::time::Instant::now();
    for i in 0..N {
        let mail = ruche::mail::Mail {
            to: format!("personne{i}@example.org"),
            subject: format!("Message {i}"),
            text: "Bonjour".into(),
            html: "<p>Bonjour</p>".into(),
            unsubscribe: None,
        };
        ruche::mail::enqueue(&app.db, &mail).await.unwrap();
    }
    let received = sink.wait_for(N).await;
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), N, "each mail once");
    let mut to: Vec<String> = received.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), N);
    eprintln!(
        "outbox: {N} mails through two processes to a local SMTP server in {:.2} s ({:.0} mails/s)",
        elapsed.as_secs_f64(),
        N as f64 / elapsed.as_secs_f64()
    );
    a.stop().await;
    b.stop().await;
}

async fn a_request_to_join_reaches_the_owners_and_its_answer_the_person(app: &TestApp) {
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let app = site(app, &sink.url()).await;
    let space = app.create_space("copil", "Comité de pilotage", Visibility::Members).await;
    let owner = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&space, &owner, Role::Owner).await;
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let julien = app.signed_in("julien@example.org").await;
    app.post_form(
        &julien,
        "/s/copil",
        "/s/copil/members/requests",
        &[("message", "Je coordonne le chantier 2.")],
    )
    .await;
    let asked = sink.wait_for(1).await.remove(0);
    assert_eq!(asked.to, ["claire@example.org"]);
    assert!(asked.text().contains("Julien Roux demande à rejoindre"), "{}", asked.text());
    assert!(asked.text().contains("Je coordonne le chantier 2."));
    assert!(asked.text().contains("/s/copil/members#demandes"));
    let claire = app.signed_in("claire@example.org").await;
    let (_, members) = app.get_text(Some(&claire), "/s/copil/members").await;
    let start = members.find("/members/requests/").unwrap() + 18;
    let id: String = members[start..].chars().take_while(char::is_ascii_digit).collect();
    app.post_form(
        &claire,
        "/s/copil/members",
        &format!("/s/copil/members/requests/{id}"),
        &[("action", "accept"), ("role", "editor")],
    )
    .await;
    let answered = sink.wait_for(2).await.remove(1);
    assert_eq!(answered.to, ["julien@example.org"]);
    assert!(answered.subject().contains("Bienvenue"), "{}", answered.subject());
    app.stop().await;
}

/// Waits until `probe` holds (10 s at most).
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut probe: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !probe().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn unread(app: &TestApp, token: &str) -> serde_json::Value {
    app.get_json_as(token, "/api/notifications").await
}

async fn following_a_page_tells_of_each_session_of_changes_once(app: &TestApp) {
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let app =
        site_with(app, &sink.url(), |s| s.collab.revision_quiet = Duration::from_millis(300)).await;
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    app.add_member(&space, &claire, Role::Editor).await;
    app.add_member(&space, &julien, Role::Editor).await;
    let (claire_token, julien_token) =
        (app.token_for("claire@example.org").await, app.token_for("julien@example.org").await);
    app.put_page(&claire_token, "chantier-2", "notes", "Premier jet").await;
    // Claire wrote it: she follows it (once the session settled); Julien asks to.
    eventually("the first session becomes a revision", || async {
        ruche::notifications::follows(
            &app.db,
            claire.id,
            &ruche::notifications::Target::Page(page_id(&app).await),
        )
        .await
        .unwrap()
    })
    .await;
    let browser = app.signed_in("julien@example.org").await;
    let (_, page) = app.get_text(Some(&browser), "/s/chantier-2/notes").await;
    assert!(page.contains("Suivre cette page"), "{page}");
    let followed = app
        .post_form(
            &browser,
            "/s/chantier-2/notes",
            "/s/chantier-2/notes/follow",
            &[("action", "follow")],
        )
        .await;
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);

    // Claire changes it (two writes, one session): Julien is told once, by the site and by mail.
    app.put_page(&claire_token, "chantier-2", "notes", "Premier jet, relu").await;
    app.put_page(&claire_token, "chantier-2", "notes", "Premier jet, relu et complété").await;
    eventually("Julien is told", || async { unread(&app, &julien_token).await["unread"] == 1 })
        .await;
    let told = unread(&app, &julien_token).await;
    assert_eq!(told["notifications"][0]["title"], "Notes", "{told}");
    assert_eq!(told["notifications"][0]["who"], "Claire Martin");
    assert_eq!(
        unread(&app, &claire_token).await["unread"],
        0,
        "the author is not told of her own change"
    );
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["julien@example.org"]);
    assert!(mail.subject().contains("Claire Martin a modifié « Notes »"), "{}", mail.subject());
    // The bell says it; the page of notifications lists it and reads it.
    let (_, home) = app.get_text(Some(&browser), "/").await;
    assert!(home.contains("<span class=\"count\">1</span>"), "{home}");
    let (_, list) = app.get_text(Some(&browser), "/notifications").await;
    assert!(list.contains("Claire Martin a modifié « Notes »"), "{list}");
    assert!(list.contains("Tout marquer comme lu"), "{list}");
    assert_eq!(unread(&app, &julien_token).await["unread"], 1, "listing is not reading");
    // Opening it reads it, and leads to the page.
    let id = told["notifications"][0]["id"].as_i64().unwrap();
    let opened = browser.get(app.url(&format!("/notifications/{id}"))).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert_eq!(opened.headers()["location"], "/s/chantier-2/notes");
    assert_eq!(unread(&app, &julien_token).await["unread"], 0);
    // Nobody opens another's.
    let claire_browser = app.signed_in("claire@example.org").await;
    let other = claire_browser.get(app.url(&format!("/notifications/{id}"))).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    // Removed from the space, Julien hears nothing more of it, and sees nothing of it.
    ruche::spaces::store::remove_member(&app.db, space.id, julien.id).await.unwrap();
    app.put_page(&claire_token, "chantier-2", "notes", "Version du comité").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = unread(&app, &julien_token).await;
    assert_eq!(after["unread"], 0, "{after}");
    assert_eq!(
        after["notifications"].as_array().map(Vec::len),
        Some(0),
        "not even the old one: {after}"
    );
    assert_eq!(sink.received().len(), 1, "no mail either");
    app.stop().await;
}

async fn page_id(app: &TestApp) -> ruche::pages::PageId {
    let space = ruche::spaces::store::find(&app.db, "chantier-2").await.unwrap().unwrap();
    match ruche::pages::store::find(&app.db, space.id, "notes").await.unwrap() {
        Some(ruche::pages::store::Found::Page(p)) => p.id,
        _ => panic!("the page exists"),
    }
}

/// Figures for the note (not a test of speed: run by hand with `--ignored --nocapture`): from
/// an editing session settling (the notification is made) to its mail accepted by a local SMTP
/// server, over 100 sessions.
#[tokio::test]
#[ignore = "a measurement, run by hand"]
async fn measure_settling_to_mail() {
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::start_with(Backend::Sqlite, move |s| {
        s.mail =
            Some(ruche::mail::MailSettings::new(&url, "Chantiers <wiki@example.org>").unwrap());
        s.collab.revision_quiet = Duration::from_millis(100);
    })
    .await;
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    app.add_member(&space, &claire, Role::Editor).await;
    app.add_member(&space, &julien, Role::Editor).await;
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-2", "notes", "0").await;
    let page = page_id(&app).await;
    ruche::notifications::follow(&app.db, julien.id, &ruche::notifications::Target::Page(page))
        .await
        .unwrap();
    for i in 1..=100 {
        app.put_page(&token, "chantier-2", "notes", &format!("version {i}")).await;
        sink.wait_for(i).await;
    }
    use sea_orm::{EntityTrait, QueryOrder};
    let made: Vec<_> = ruche::notifications::entity::notification::Entity::find()
        .order_by_asc(ruche::notifications::entity::notification::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let mut delays: Vec<f64> = made
        .iter()
        .zip(sink.received())
        .map(|(n, m)| (m.at - n.created_at).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        .collect();
    delays.sort_by(f64::total_cmp);
    eprintln!(
        "settled -> mail accepted, over {}: median {:.1} ms, 90th {:.1} ms, max {:.1} ms",
        delays.len(),
        delays[delays.len() / 2],
        delays[delays.len() * 9 / 10],
        delays[delays.len() - 1]
    );
    app.stop().await;
}

async fn following_a_space_tells_of_its_pages(app: &TestApp) {
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let app =
        site_with(app, &sink.url(), |s| s.collab.revision_quiet = Duration::from_millis(300)).await;
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    app.create_user("lea@example.org", "Léa", false).await;
    app.add_member(&space, &claire, Role::Editor).await;
    app.add_member(&space, &julien, Role::Viewer).await;
    let julien_browser = app.signed_in("julien@example.org").await;
    let (_, page) = app.get_text(Some(&julien_browser), "/s/chantier-2").await;
    assert!(page.contains("Suivre l&#39;espace") || page.contains("Suivre l'espace"), "{page}");
    let followed = app
        .post_form(
            &julien_browser,
            "/s/chantier-2",
            "/follow/space/chantier-2",
            &[("action", "follow")],
        )
        .await;
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);
    // Someone outside may not follow what they may not read.
    let lea = app.signed_in("lea@example.org").await;
    let refused =
        app.post_form(&lea, "/", "/follow/space/chantier-2", &[("action", "follow")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-2", "compte-rendu", "Réunion du 12").await;
    let julien_token = app.token_for("julien@example.org").await;
    eventually("Julien is told of a page of the space", || async {
        unread(&app, &julien_token).await["unread"] == 1
    })
    .await;
    assert_eq!(sink.wait_for(1).await[0].to, ["julien@example.org"]);
    app.stop().await;
}

async fn a_mention_tells_the_person_named_only_if_they_may_read(app: &TestApp) {
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let app =
        site_with(app, &sink.url(), |s| s.collab.revision_quiet = Duration::from_millis(300)).await;
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    let lea = app.create_user("lea@example.org", "Léa Moreau", false).await;
    app.add_member(&space, &claire, Role::Editor).await;
    app.add_member(&space, &julien, Role::Viewer).await;
    // Each account has a handle, made from its name, shown on its account page.
    assert_eq!((julien.handle.as_str(), lea.handle.as_str()), ("julien-roux", "lea-moreau"));
    let julien_browser = app.signed_in("julien@example.org").await;
    let (_, account) = app.get_text(Some(&julien_browser), "/account").await;
    assert!(account.contains("@julien-roux"), "{account}");

    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-2", "notes", "Premier jet").await;
    // The editor offers, after @, only people who may read the page.
    let offered = app.get_json_as(&token, "/api/pages/chantier-2/notes/people?q=jul").await;
    assert_eq!(offered["people"][0]["handle"], "julien-roux", "{offered}");
    let hidden = app.get_json_as(&token, "/api/pages/chantier-2/notes/people?q=lea").await;
    assert_eq!(hidden["people"].as_array().map(Vec::len), Some(0), "{hidden}");
    let outsider = app.token_for("lea@example.org").await;
    let refused = reqwest::Client::new()
        .get(app.url("/api/pages/chantier-2/notes/people?q=jul"))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error(), "an outsider is offered nobody");

    app.put_page(&token, "chantier-2", "notes", "Merci @julien-roux et @lea-moreau, et @personne.")
        .await;
    let julien_token = app.token_for("julien@example.org").await;
    eventually("Julien is told he is mentioned", || async {
        unread(&app, &julien_token).await["unread"] == 1
    })
    .await;
    let told = unread(&app, &julien_token).await;
    assert_eq!(told["notifications"][0]["kind"], "mention", "{told}");
    // Opening the page reads what told of it.
    app.get_text(Some(&julien_browser), "/s/chantier-2/notes").await;
    assert_eq!(unread(&app, &julien_token).await["unread"], 0);
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["julien@example.org"]);
    assert!(mail.subject().contains("Claire Martin vous a mentionné·e dans « Notes »"));
    // Léa may not read the page: nothing, neither in the site nor by mail.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(unread(&app, &outsider).await["unread"], 0);
    assert_eq!(sink.received().len(), 1);
    // Mentioned again in the next version (already there): not told twice.
    app.put_page(&token, "chantier-2", "notes", "Merci @julien-roux, relu.").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let after = unread(&app, &julien_token).await;
    assert_eq!(after["notifications"].as_array().map(Vec::len), Some(1), "told once: {after}");
    app.stop().await;
}

/// A zone where it is not yet 23 h (so that "next hour" is still today).
fn a_zone_before_eleven_pm() -> &'static str {
    use chrono::Timelike;
    ["Europe/Paris", "America/Martinique", "Indian/Reunion", "Pacific/Noumea"]
        .into_iter()
        .find(|z| {
            let zone: chrono_tz::Tz = z.parse().unwrap();
            chrono::Utc::now().with_timezone(&zone).hour() < 22
        })
        .unwrap()
}

async fn the_daily_digest_groups_a_days_notifications_and_one_click_stops_them(app: &TestApp) {
    use chrono::Timelike;
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let app = site_with(app, &sink.url(), |s| {
        s.collab.revision_quiet = Duration::from_millis(300);
        s.notify.digest_every = Duration::from_millis(200);
    })
    .await;
    let two = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let three = app.create_space("chantier-3", "Chantier 3", Visibility::Public).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    for space in [&two, &three] {
        app.add_member(space, &claire, Role::Editor).await;
        app.add_member(space, &julien, Role::Viewer).await;
    }
    // Julien wants one mail a day, at the next hour in his zone; he follows both spaces.
    let zone = a_zone_before_eleven_pm();
    let browser = app.signed_in("julien@example.org").await;
    app.post_form(&browser, "/account", "/account/time-zone", &[("time_zone", zone)]).await;
    let now: chrono_tz::Tz = zone.parse().unwrap();
    let hour = chrono::Utc::now().with_timezone(&now).hour();
    let later = (hour + 1).to_string();
    let chose = app
        .post_form(
            &browser,
            "/account",
            "/account/notifications",
            &[("choice", "daily"), ("hour", &later)],
        )
        .await;
    assert_eq!(chose.status(), StatusCode::SEE_OTHER);
    let (_, account) = app.get_text(Some(&browser), "/account").await;
    assert!(account.contains("value=\"daily\" checked"), "{account}");
    for space in ["chantier-2", "chantier-3"] {
        let path = format!("/follow/space/{space}");
        app.post_form(&browser, &format!("/s/{space}"), &path, &[("action", "follow")]).await;
    }
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-2", "notes", "Ordre du jour").await;
    app.put_page(&token, "chantier-3", "bilan", "Bilan de l'année").await;
    app.put_page(&token, "chantier-3", "suite", "La suite").await;
    let julien_token = app.token_for("julien@example.org").await;
    eventually("three notifications", || async {
        unread(&app, &julien_token).await["unread"] == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(sink.received().is_empty(), "nothing before his hour");

    // His hour comes (he moves it to now): one mail, grouped by space.
    app.post_form(
        &browser,
        "/account",
        "/account/notifications",
        &[("choice", "daily"), ("hour", &hour.to_string())],
    )
    .await;
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["julien@example.org"]);
    assert!(mail.subject().contains("3 nouveautés"), "{}", mail.subject());
    let text = mail.text();
    let (two_at, three_at) = (text.find("Chantier 2").unwrap(), text.find("Chantier 3").unwrap());
    let (notes, bilan, suite) = (
        text.find("« Notes »").unwrap(),
        text.find("« Bilan »").unwrap(),
        text.find("« Suite »").unwrap(),
    );
    // Each under its space's heading (the spaces in the order things happened).
    let under = |at: usize| {
        if (two_at < at) && (three_at > at || three_at < two_at) {
            2
        } else if three_at < at && (two_at > at || two_at < three_at) {
            3
        } else {
            0
        }
    };
    assert_eq!((under(notes), under(bilan), under(suite)), (2, 3, 3), "{text}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.received().len(), 1, "one digest a day");

    // The mail says how to stop, in one click, without signing in (RFC 8058).
    let link = mail.header("List-Unsubscribe").unwrap();
    assert_eq!(mail.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let url = link.trim_matches(|c| c == '<' || c == '>').to_owned();
    assert!(text.contains(&url), "the link is also in the text: {text}");
    let page = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "opening it asks first");
    assert_eq!(
        ruche::accounts::store::find(&app.db, julien.id).await.unwrap().unwrap().notify_by_mail,
        "daily"
    );
    let clicked = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), StatusCode::OK);
    assert_eq!(
        ruche::accounts::store::find(&app.db, julien.id).await.unwrap().unwrap().notify_by_mail,
        "never"
    );
    let guessed = reqwest::Client::new().post(app.url("/unsubscribe/0123")).send().await.unwrap();
    assert_eq!(guessed.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn following_a_form_tells_of_its_new_entries(app: &TestApp) {
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let app = site(app, &sink.url()).await;
    let open = app.create_space("chantier-2", "Chantier 2", Visibility::Public).await;
    let closed = app.create_space("copil", "Comité de pilotage", Visibility::Members).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.create_user("julien@example.org", "Julien Roux", false).await;
    app.add_member(&open, &claire, Role::Editor).await;
    app.add_member(&closed, &claire, Role::Editor).await;
    // Julien follows the agenda, from the agenda.
    let julien = app.signed_in("julien@example.org").await;
    let (_, agenda) = app.get_text(Some(&julien), "/agenda").await;
    assert!(agenda.contains("Suivre cette liste"), "{agenda}");
    let followed = app
        .post_form(
            &julien,
            "/agenda",
            "/follow/form/event",
            &[("action", "follow"), ("back", "/agenda")],
        )
        .await;
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);
    assert_eq!(followed.headers()["location"], "/agenda");
    let elsewhere = app
        .post_form(
            &julien,
            "/agenda",
            "/follow/form/event",
            &[("action", "follow"), ("back", "//evil.example")],
        )
        .await;
    assert_eq!(elsewhere.headers()["location"], "/forms/event", "never back to another site");

    let claire_browser = app.signed_in("claire@example.org").await;
    let when = [
        ("when.start", "2031-03-12T09:30"),
        ("when.end", "2031-03-12T12:00"),
        ("audience", "public"),
    ];
    app.new_entry(&claire_browser, "copil", "Réunion du comité", "event", &when).await;
    app.new_entry(&claire_browser, "chantier-2", "Atelier ouvert", "event", &when).await;
    let token = app.token_for("julien@example.org").await;
    eventually("Julien is told of the open one", || async {
        unread(&app, &token).await["unread"] == 1
    })
    .await;
    let told = unread(&app, &token).await;
    assert_eq!(told["notifications"][0]["kind"], "entry", "{told}");
    assert_eq!(told["notifications"][0]["title"], "Atelier ouvert", "{told}");
    let mail = sink.wait_for(1).await.remove(0);
    assert!(mail.subject().contains("Claire Martin a ajouté la fiche « Atelier ouvert »"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 1, "nothing of the committee's meeting");
    app.stop().await;
}

async fn an_invitation_is_sent_again_with_a_new_link(app: &TestApp) {
    use ruche::spaces::{Role, Visibility};
    let sink = SmtpSink::start().await;
    let app = site(app, &sink.url()).await;
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&space, &claire, Role::Owner).await;
    let owner = app.signed_in("claire@example.org").await;
    let members = "/s/chantier-2/members";
    app.post_form(&owner, members, members, &[("email", "nadia@example.org"), ("role", "editor")])
        .await;
    let first = sink.wait_for(1).await.remove(0).link(&app.url("/invite/"));
    let (_, page) = app.get_text(Some(&owner), members).await;
    assert!(page.contains("vous pourrez la renvoyer à") && !page.contains("Renvoyer"), "{page}");
    let id = ruche::spaces::invitations::pending_for_space(&app.db, space.id).await.unwrap()[0].id;
    // Sent a while ago (within a quarter of an hour, it would not be mailed again).
    {
        use ruche::accounts::entity::invitation;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let earlier = chrono::Utc::now() - chrono::Duration::minutes(20);
        invitation::Entity::update_many()
            .col_expr(invitation::Column::CreatedAt, sea_orm::sea_query::Expr::value(earlier))
            .filter(invitation::Column::Id.eq(id))
            .exec(&app.db)
            .await
            .unwrap();
    }
    let (_, page) = app.get_text(Some(&owner), members).await;
    assert!(page.contains("Renvoyer") && !page.contains("vous pourrez la renvoyer"), "{page}");
    let resent = app
        .post_form(&owner, members, &format!("/s/chantier-2/invitations/{id}/resend"), &[])
        .await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    let second = sink.wait_for(2).await.remove(1);
    assert_eq!(second.to, ["nadia@example.org"]);
    let second = second.link(&app.url("/invite/"));
    assert_ne!(first, second);
    let old = app.browser().get(&first).send().await.unwrap();
    assert!(old.text().await.unwrap().contains("plus valable"), "the old link no longer works");
    let new = app.browser().get(&second).send().await.unwrap();
    assert_eq!(new.status(), StatusCode::OK);
    // Someone who is not an owner cannot.
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let julien = app.signed_in("julien@example.org").await;
    let id = ruche::spaces::invitations::pending_for_space(&app.db, space.id).await.unwrap()[0].id;
    let refused =
        app.post_form(&julien, "/", &format!("/s/chantier-2/invitations/{id}/resend"), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // An account added to the space is told on the site too.
    let added = app.create_user("lea@example.org", "Léa Moreau", false).await;
    app.post_form(&owner, members, members, &[("email", "lea@example.org"), ("role", "viewer")])
        .await;
    let token = app.token_for("lea@example.org").await;
    let told = unread(&app, &token).await;
    assert_eq!(told["notifications"][0]["kind"], "added", "{told}");
    assert_eq!(told["notifications"][0]["url"], "/s/chantier-2", "{told}");
    assert!(added.handle.starts_with("lea"));
    app.stop().await;
}
