//! What the site writes to others, bounded (issue 31): every action that mails or notifies
//! someone has its budget per account and per client address, each kind its own; asking the
//! same thing twice is one ask; an invitation serves only the address it was sent to; reset
//! links and sign-up tell nobody who has an account. Each probe as it was made, against the
//! real server and a real SMTP server.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod common;

use std::time::Duration;

use common::{smtp::SmtpSink, TestApp, PASSWORD};
use reqwest::{Client, StatusCode};

on_each_backend!(
    one_address_gets_a_few_reset_links_and_one_client_asks_for_a_few_dozen,
    asking_for_links_never_makes_a_right_password_wait,
    failed_sign_ins_do_not_stop_asking_for_a_link
);

/// The site over `app`'s database, sending its mail to `sink` (if any) and trusting the local
/// proxy, so that a test plays several client addresses with `X-Forwarded-For`.
async fn site(app: &TestApp, sink: Option<&SmtpSink>) -> TestApp {
    site_with(app, sink, |_| {}).await
}

async fn site_with(
    app: &TestApp,
    sink: Option<&SmtpSink>,
    more: impl FnOnce(&mut ruche::config::Settings),
) -> TestApp {
    let url = sink.map(SmtpSink::url);
    TestApp::start_configured(&app.database_url, move |s| {
        if let Some(url) = url {
            s.mail =
                Some(ruche::mail::MailSettings::new(&url, "Chantiers <wiki@example.org>").unwrap());
        }
        s.outbox.first_retry = Duration::from_millis(200);
        s.outbox.poll = Duration::from_millis(100);
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        more(s);
    })
    .await
}

/// Posts a form from the page at `page` (taking its CSRF token) to `action`, as the client at
/// address `from`.
async fn post_from(
    app: &TestApp,
    client: &Client,
    from: &str,
    (page, action): (&str, &str),
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = app.csrf(client, page).await;
    let mut all = vec![("_csrf", token.as_str())];
    all.extend_from_slice(fields);
    client.post(app.url(action)).header("x-forwarded-for", from).form(&all).send().await.unwrap()
}

/// Asks for a reset link for `email` from a fresh browser at address `from`.
async fn ask_link(app: &TestApp, email: &str, from: &str) -> reqwest::Response {
    let page = "/password/forgot";
    post_from(app, &app.browser(), from, (page, page), &[("email", email)]).await
}

/// Waits a little, then answers every mail `sink` received (so that a count is final).
async fn settled(sink: &SmtpSink) -> Vec<common::smtp::Received> {
    tokio::time::sleep(Duration::from_millis(700)).await;
    sink.received()
}

/// A readable 429: a French page saying what was refused, and when to come back.
async fn assert_refused(response: reqwest::Response, words: &str) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = response.text().await.unwrap();
    assert!(page.contains(words), "{page}");
}

// --- 3. Every action that writes to someone else ------------------------------------------

async fn one_address_gets_a_few_reset_links_and_one_client_asks_for_a_few_dozen(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    // Claire's address, from four places: three links, then no more for a while.
    for n in 1..=3 {
        let asked = ask_link(&app, "claire@example.org", &format!("203.0.113.{n}")).await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    }
    let fourth = ask_link(&app, "Claire@Example.org", "198.51.100.4").await;
    assert_refused(fourth, "Trop de demandes de lien").await;
    sink.wait_for(3).await;
    assert_eq!(settled(&sink).await.len(), 3);
    // Made-up addresses from one client: twenty, then that client waits; another does not.
    for n in 0..20 {
        let asked = ask_link(&app, &format!("personne{n}@example.org"), "192.0.2.9").await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER, "request {n}");
    }
    assert_refused(ask_link(&app, "encore@example.org", "192.0.2.9").await, "depuis votre").await;
    let other = ask_link(&app, "encore@example.org", "192.0.2.10").await;
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

// --- 8. Each kind of action on its own budget ----------------------------------------------

async fn asking_for_links_never_makes_a_right_password_wait(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    for n in 0..25 {
        ask_link(&app, &format!("invente{n}@example.org"), "203.0.113.9").await;
    }
    let browser = app.browser();
    let token = app.csrf(&browser, "/login").await;
    let signed = browser
        .post(app.url("/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .form(&[("_csrf", token.as_str()), ("email", "claire@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER, "the right password gets in");
    app.stop().await;
}

async fn failed_sign_ins_do_not_stop_asking_for_a_link(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    let attempt = |email: String| {
        let app = &app;
        async move {
            let browser = app.browser();
            let fields = [("email", email.as_str()), ("password", "pas le bon")];
            post_from(app, &browser, "203.0.113.9", ("/login", "/login"), &fields).await.status()
        }
    };
    for n in 0..20 {
        attempt(format!("x{n}@example.org")).await;
    }
    assert_eq!(attempt("y@example.org".into()).await, StatusCode::TOO_MANY_REQUESTS);
    // The person who failed to remember asks for a link: that budget is untouched.
    let asked = ask_link(&app, "claire@example.org", "203.0.113.9").await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(sink.wait_for(1).await[0].to, ["claire@example.org"]);
    app.stop().await;
}
