//! What a sign-in says of an account waiting for its confirmation: what a wrong password says,
//! so that a sign-up followed by a sign-in tells no prober whether an address was free.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::time::Duration;

use common::{smtp::SmtpSink, TestApp};
use reqwest::StatusCode;

on_each_backend!(a_right_password_on_an_unconfirmed_account_answers_as_a_wrong_one);

/// The site over `app`'s database, sending its mail to `sink` (if any) and trusting the local
/// proxy, so that a test plays several client addresses with `X-Forwarded-For`.
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

/// The login page answered to `email` with `password`, the CSRF token, the page's nonces and
/// the address typed (echoed in its field) put aside.
async fn login_answer(app: &TestApp, email: &str, password: &str) -> (StatusCode, String) {
    let browser = app.browser();
    let answer = app.sign_in_response(&browser, email, password).await;
    let status = answer.status();
    let mut page = answer.text().await.unwrap();
    if let Some(token) = common::csrf_in(&page) {
        page = page.replace(&token, "CSRF");
    }
    (status, without_nonces(&page).replace(email, "X"))
}

/// `page` with each `nonce="…"` emptied (a fresh one on every answer).
fn without_nonces(page: &str) -> String {
    let mut out = String::new();
    let mut rest = page;
    while let Some(at) = rest.find("nonce=\"") {
        let (before, after) = rest.split_at(at + "nonce=\"".len());
        out.push_str(before);
        rest = after.find('"').map_or("", |end| &after[end..]);
    }
    out.push_str(rest);
    out
}

async fn a_right_password_on_an_unconfirmed_account_answers_as_a_wrong_one(app: &TestApp) {
    use ruche::accounts::signup::{set_mode, SignupMode};
    let sink = SmtpSink::start().await;
    let app = site_with(app, Some(&sink), |_| {}).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    set_mode(&app.db, SignupMode::Open).await.unwrap();
    // The prober signs up with an address, then signs in with the password they chose.
    let password = "un mot de passe solide";
    let fields = [("name", "Probe"), ("email", "lea@example.org"), ("password", password)];
    let signed_up = app.post_form(&app.browser(), "/signup", "/signup", &fields).await;
    assert_eq!(signed_up.status(), StatusCode::SEE_OTHER);
    sink.wait_for(1).await; // the account is made and its link mailed
    let free = login_answer(&app, "lea@example.org", password).await;
    let taken = login_answer(&app, "claire@example.org", password).await;
    assert_eq!(free.0, StatusCode::UNAUTHORIZED);
    assert_eq!(free, taken, "byte for byte");
    assert!(free.1.contains("Adresse e-mail ou mot de passe incorrect."), "{}", free.1);
    assert!(free.1.contains("ouvrez d'abord le lien reçu par courriel"), "{}", free.1);
    // Léa is not stuck: her link comes again.
    let mails = sink.wait_for(2).await;
    assert!(mails.iter().all(|m| m.to == ["lea@example.org"]), "{mails:?}");
    assert!(mails[1].link(&app.url("/signup/confirm/")).contains("/signup/confirm/"));
    app.stop().await;
}
