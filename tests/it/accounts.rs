//! Accounts as people use them: first administrator, sign-in and out, invitations, tokens.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{csrf_in, TestApp, PASSWORD};
use reqwest::StatusCode;

on_each_backend!(
    first_visit_offers_to_create_the_administrator,
    setup_is_closed_once_an_account_exists,
    people_sign_in_and_out,
    a_wrong_password_is_refused,
    sign_in_attempts_are_rate_limited,
    a_form_without_its_csrf_token_is_refused,
    an_invitation_link_works_once,
    sign_up_follows_the_administrators_choice,
    a_disabled_account_cannot_sign_in,
    a_disabled_account_loses_its_open_session,
    api_tokens_act_as_their_owner_until_revoked,
    people_change_their_password,
    restart_keeps_accounts_sessions_and_spaces,
);

async fn first_visit_offers_to_create_the_administrator(app: &TestApp) {
    let browser = app.browser();
    let home = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], "/setup");

    let response = app
        .post_form(
            &browser,
            "/setup",
            "/setup",
            &[("name", "Céline Coubard"), ("email", "celine@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let home = browser.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Céline Coubard"), "the new administrator is signed in");
    assert!(home.contains("/admin/users"), "and sees the administration link");
}

async fn setup_is_closed_once_an_account_exists(app: &TestApp) {
    app.create_user("first@example.org", "First", true).await;
    let browser = app.browser();
    let page = browser.get(app.url("/setup")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/login");

    // Even a form posted from an old page cannot create a second administrator.
    let token = app.csrf(&browser, "/login").await;
    let response = browser
        .post(app.url("/setup"))
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "Intruder"),
            ("email", "x@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(ruche::accounts::store::find_by_email(&app.db, "x@example.org")
        .await
        .unwrap()
        .is_none());
}

async fn people_sign_in_and_out(app: &TestApp) {
    app.create_user("sophie@example.org", "Sophie Aouizerate", false).await;
    let browser = app.signed_in("sophie@example.org").await;
    let home = browser.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Sophie Aouizerate"));

    let account = browser.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    let token = csrf_in(&account).unwrap();
    let out = browser.post(app.url("/logout")).form(&[("_csrf", token)]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);

    let account = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        account.status(),
        StatusCode::SEE_OTHER,
        "signed out: the account page asks to sign in"
    );
    assert!(account.headers()["location"].to_str().unwrap().starts_with("/login"));
}

async fn a_wrong_password_is_refused(app: &TestApp) {
    app.create_user("sophie@example.org", "Sophie", false).await;
    let browser = app.browser();
    let response = app.sign_in_response(&browser, "sophie@example.org", "not the password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let page = response.text().await.unwrap();
    assert!(page.contains("mot de passe incorrect"), "the person is told, in French");
    let account = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), StatusCode::SEE_OTHER);
}

async fn sign_in_attempts_are_rate_limited(app: &TestApp) {
    app.create_user("sophie@example.org", "Sophie", false).await;
    let browser = app.browser();
    for _ in 0..5 {
        let response = app.sign_in_response(&browser, "sophie@example.org", "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app.sign_in_response(&browser, "sophie@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(response.text().await.unwrap().contains("Trop de tentatives"));
}

async fn a_form_without_its_csrf_token_is_refused(app: &TestApp) {
    app.create_user("sophie@example.org", "Sophie", false).await;
    let browser = app.signed_in("sophie@example.org").await;
    let forged =
        browser.post(app.url("/account/tokens")).form(&[("name", "forged")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let wrong = browser
        .post(app.url("/account/tokens"))
        .form(&[("_csrf", "wrong"), ("name", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let user = ruche::accounts::store::find_by_email(&app.db, "sophie@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(
        ruche::accounts::tokens::list(&app.db, user.id).await.unwrap().is_empty(),
        "nothing was created"
    );
}

async fn an_invitation_link_works_once(app: &TestApp) {
    app.create_user("admin@example.org", "Admin", true).await;
    let admin = app.signed_in("admin@example.org").await;
    let page = app
        .post_form(&admin, "/admin/users", "/admin/invitations", &[("note", "pour Julien")])
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let link = html
        .split(&format!("{}/invite/", app.base))
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the page shows the invitation link")
        .to_owned();
    let path = format!("/invite/{link}");

    let julien = app.browser();
    let response = app
        .post_form(
            &julien,
            &path,
            &path,
            &[("name", "Julien Neiertz"), ("email", "julien@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let home = julien.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Julien Neiertz"));

    let second = app.browser();
    let again = second.get(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(again.text().await.unwrap().contains("plus valable"));
}

async fn sign_up_follows_the_administrators_choice(app: &TestApp) {
    app.create_user("admin@example.org", "Admin", true).await;
    let visitor = app.browser();
    let closed = visitor.get(app.url("/signup")).send().await.unwrap();
    assert_eq!(closed.status(), StatusCode::FORBIDDEN, "by invitation by default");
    // By invitation, the sign-in page and the home page say how to join instead of offering an
    // account that would be refused; the home page's tab says the site's name once.
    let (_, login) = app.get_text(Some(&visitor), "/login").await;
    assert!(login.contains("On entre sur ce site sur invitation"), "{login}");
    assert!(
        login.contains("Comment rejoindre le site")
            && !login.contains("Pas encore de compte ?</a>")
    );
    let (_, home) = app.get_text(Some(&visitor), "/").await;
    assert!(
        home.contains("Comment rejoindre le site") && !home.contains("Créer un compte"),
        "{home}"
    );
    assert!(!home.contains("Ruche · Ruche"), "{home}");

    let admin = app.signed_in("admin@example.org").await;
    let saved = app.post_form(&admin, "/admin/users", "/admin/signup", &[("mode", "open")]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, login) = app.get_text(Some(&visitor), "/login").await;
    assert!(login.contains("Pas encore de compte ?</a>"), "{login}");
    let (_, home) = app.get_text(Some(&visitor), "/").await;
    assert!(home.contains("Créer un compte"), "{home}");

    let response = app
        .post_form(
            &visitor,
            "/signup",
            "/signup",
            &[("name", "Woafae"), ("email", "woafae@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(ruche::accounts::store::find_by_email(&app.db, "woafae@example.org")
        .await
        .unwrap()
        .is_some());
    // A new member lands on what to do next, not on an empty list.
    assert_eq!(response.headers()["location"], "/welcome");
    let (_, first) = app.get_text(Some(&visitor), "/welcome").await;
    assert!(
        first.contains("Présentez-vous") && first.contains("href=\"/account/profile\""),
        "{first}"
    );
}

async fn a_disabled_account_cannot_sign_in(app: &TestApp) {
    app.create_user("admin@example.org", "Admin", true).await;
    let sylvia = app.create_user("sylvia@example.org", "Sylvia", false).await;
    let admin = app.signed_in("admin@example.org").await;
    let response = app
        .post_form(&admin, "/admin/users", &format!("/admin/users/{}/disable", sylvia.id.0), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let browser = app.browser();
    let refused = app.sign_in_response(&browser, "sylvia@example.org", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("désactivé"));

    app.post_form(&admin, "/admin/users", &format!("/admin/users/{}/enable", sylvia.id.0), &[])
        .await;
    let again = app.sign_in_response(&browser, "sylvia@example.org", PASSWORD).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER, "re-enabled, she signs in");
}

async fn a_disabled_account_loses_its_open_session(app: &TestApp) {
    let sylvia = app.create_user("sylvia@example.org", "Sylvia", false).await;
    let browser = app.signed_in("sylvia@example.org").await;
    ruche::accounts::store::set_disabled(&app.db, sylvia.id, true).await.unwrap();
    let account = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), StatusCode::SEE_OTHER, "the session no longer counts");
}

async fn api_tokens_act_as_their_owner_until_revoked(app: &TestApp) {
    app.create_user("celine@example.org", "Céline", false).await;
    let browser = app.signed_in("celine@example.org").await;
    let page = app.post_form(&browser, "/account", "/account/tokens", &[("name", "script")]).await;
    let html = page.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let secret_selector = scraper::Selector::parse("code.secret").unwrap();
    let token = doc
        .select(&secret_selector)
        .next()
        .expect("the new token is shown")
        .text()
        .collect::<String>();

    let api = reqwest::Client::new();
    let me = api.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["email"], "celine@example.org");

    let user = ruche::accounts::store::find_by_email(&app.db, "celine@example.org")
        .await
        .unwrap()
        .unwrap();
    let id = ruche::accounts::tokens::list(&app.db, user.id).await.unwrap()[0].id;
    let revoked =
        app.post_form(&browser, "/account", &format!("/account/tokens/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);

    let refused = api.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
}

async fn people_change_their_password(app: &TestApp) {
    app.create_user("celine@example.org", "Céline", false).await;
    let browser = app.signed_in("celine@example.org").await;
    let wrong = app
        .post_form(
            &browser,
            "/account",
            "/account/password",
            &[("current", "nope"), ("password", "a brand new secret")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app
        .post_form(
            &browser,
            "/account",
            "/account/password",
            &[("current", PASSWORD), ("password", "a brand new secret")],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);

    let other = app.browser();
    let old = app.sign_in_response(&other, "celine@example.org", PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.sign_in_response(&other, "celine@example.org", "a brand new secret").await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

async fn restart_keeps_accounts_sessions_and_spaces(app: &TestApp) {
    // The macro owns `app`; restart a second server over a copy of its database instead.
    let second = TestApp::start_on(&app.database_url).await;
    second.create_user("admin@example.org", "Admin", true).await;
    second.create_space("chantier-1", "Chantier 1", ruche::spaces::Visibility::Members).await;
    let browser = second.signed_in("admin@example.org").await;

    let second = second.restart().await;
    let home = browser.get(second.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Admin"), "still signed in after the restart");
    assert!(home.contains("Chantier 1"), "the space is still there");
    second.stop().await;
}
