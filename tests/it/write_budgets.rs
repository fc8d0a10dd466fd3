//! What still wrote to others without a budget after issue 31 (an attacker's second look):
//! pages made by any route, members added again, invitations withdrawn and sent again,
//! mentions from one client address; and a sign-in that told a sign-up's prober the address
//! was free. Each probe as it was made, against the real server.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{smtp::SmtpSink, TestApp};
use reqwest::{Client, StatusCode};
use ruche::spaces::{Role, Visibility};

use super::outgoing_limits::{claires_space, people_to_name, settled, site_with, MEMBERS};

on_each_backend!(
    pages_made_by_any_route_spend_the_budget_of_new_entries,
    mentions_from_one_client_address_have_a_budget,
    adding_a_member_again_with_the_same_role_tells_nobody,
    withdrawing_and_inviting_again_mails_once,
    a_right_password_on_an_unconfirmed_account_answers_as_a_wrong_one
);

/// `PUT /api/pages/chantier-1/{slug}` as the holder of `token`.
async fn put_page(app: &TestApp, token: &str, slug: &str) -> reqwest::Response {
    Client::new()
        .put(app.url(&format!("/api/pages/chantier-1/{slug}")))
        .bearer_auth(token)
        .header("x-forwarded-for", "203.0.113.5")
        .json(&serde_json::json!({ "markdown": "Publicité." }))
        .send()
        .await
        .unwrap()
}

async fn pages_made_by_any_route_spend_the_budget_of_new_entries(app: &TestApp) {
    let app = site_with(app, None, |_| {}).await;
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Members).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    app.add_member(&space, &julien, Role::Editor).await;
    let token = app.token_for("julien@example.org").await;
    let browser = app.signed_in("julien@example.org").await;
    // Twenty pages through the API, ten through the "new page" form: thirty new pages.
    for n in 0..20 {
        let made = put_page(&app, &token, &format!("pub-{n}")).await;
        assert_eq!(made.status(), StatusCode::CREATED, "page {n}");
    }
    for n in 20..30 {
        let title = format!("Pub {n}");
        let fields = [("title", title.as_str())];
        let made =
            app.post_form(&browser, "/s/chantier-1/new", "/s/chantier-1/pages", &fields).await;
        assert_eq!(made.status(), StatusCode::SEE_OTHER, "page {n}");
    }
    // Writing to a page that exists is no new page: still allowed.
    assert_eq!(put_page(&app, &token, "pub-0").await.status(), StatusCode::OK);
    let refused = put_page(&app, &token, "pub-30").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let said: serde_json::Value = refused.json().await.unwrap();
    assert!(said["message"].as_str().unwrap().contains("n'a pas été créée"), "{said}");
    let fields = [("title", "Pub 31")];
    let refused =
        app.post_form(&browser, "/s/chantier-1/new", "/s/chantier-1/pages", &fields).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Trop de nouvelles fiches"), "{page}");
    let made = ruche::pages::store::list(&app.db, space.id, false).await.unwrap();
    let made = made.iter().filter(|p| p.slug.to_string().starts_with("pub")).count();
    assert_eq!(made, 30, "no page made beyond the budget");
    app.stop().await;
}

async fn mentions_from_one_client_address_have_a_budget(app: &TestApp) {
    use ruche::notifications::entity::notification;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let app = site_with(app, None, |s| s.comments.per_minute = 10).await;
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    let changes = ruche::spaces::store::SpaceChanges {
        title: space.title.clone(),
        description: space.description.clone(),
        visibility: space.visibility,
        comments: Some(ruche::spaces::CommentPolicy::Readers),
    };
    ruche::spaces::store::update(&app.db, space.id, changes).await.unwrap();
    // Three authors behind one address, 180 people to name (made directly: their passwords
    // play no part).
    let mut tokens = Vec::new();
    for n in 0..3 {
        let email = format!("auteur{n}@example.org");
        let author = app.create_user(&email, &format!("Auteur {n}"), false).await;
        app.add_member(&space, &author, Role::Editor).await;
        tokens.push(app.token_for(&email).await);
    }
    app.put_page(&tokens[0], "chantier-1", "notes", "Ordre du jour.").await;
    people_to_name(&app, 180).await;
    // Each author names sixty people in three comments: fifty each would be told, 150 in all.
    for (a, token) in tokens.iter().enumerate() {
        for batch in 0..3 {
            let first = a * 60 + batch * 20;
            let named: Vec<String> = (first..first + 20).map(|n| format!("@p{n}")).collect();
            let posted = Client::new()
                .post(app.url("/api/pages/chantier-1/notes/comments"))
                .bearer_auth(token)
                .header("x-forwarded-for", "203.0.113.5")
                .json(&serde_json::json!({ "markdown": named.join(" ") }))
                .send()
                .await
                .unwrap();
            assert_eq!(posted.status(), StatusCode::CREATED, "the comment itself is taken");
        }
    }
    let told = notification::Entity::find()
        .filter(notification::Column::Kind.eq("mention"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(told, 100, "a hundred people an hour from one client address");
    app.stop().await;
}

/// The "added to a space" notifications there are.
async fn added_notifications(app: &TestApp) -> u64 {
    use ruche::notifications::entity::notification;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    notification::Entity::find()
        .filter(notification::Column::Kind.eq("added"))
        .count(&app.db)
        .await
        .unwrap()
}

async fn adding_a_member_again_with_the_same_role_tells_nobody(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site_with(app, Some(&sink), |_| {}).await;
    let (_, claire) = claires_space(&app).await;
    app.create_user("nadia@example.org", "Nadia Benali", false).await;
    let add = |role: &'static str| {
        let (app, claire) = (&app, &claire);
        async move {
            let fields = [("email", "nadia@example.org"), ("role", role)];
            app.post_form(claire, MEMBERS, MEMBERS, &fields).await
        }
    };
    for _ in 0..6 {
        assert_eq!(add("viewer").await.status(), StatusCode::SEE_OTHER);
    }
    let (_, page) = app.get_text(Some(&claire), MEMBERS).await;
    assert!(page.contains("rien n&#39;a changé") || page.contains("rien n'a changé"), "{page}");
    assert_eq!(settled(&sink).await.len(), 1, "one mail for six adds");
    assert_eq!(added_notifications(&app).await, 1);
    // A change of role is news: told once.
    assert_eq!(add("editor").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(add("editor").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(settled(&sink).await.len(), 2);
    assert_eq!(added_notifications(&app).await, 2);
    app.stop().await;
}

async fn withdrawing_and_inviting_again_mails_once(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site_with(app, Some(&sink), |_| {}).await;
    let (space, claire) = claires_space(&app).await;
    for cycle in 0..4 {
        let fields = [("email", "x@example.org"), ("role", "viewer")];
        let invited = app.post_form(&claire, MEMBERS, MEMBERS, &fields).await;
        assert_eq!(invited.status(), StatusCode::SEE_OTHER, "cycle {cycle}");
        let waiting =
            ruche::spaces::invitations::pending_for_space(&app.db, space.id).await.unwrap();
        assert_eq!(waiting.len(), 1, "cycle {cycle}");
        let withdraw = format!("/s/chantier-2/invitations/{}/withdraw", waiting[0].id);
        let withdrawn = app.post_form(&claire, MEMBERS, &withdraw, &[]).await;
        assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
        let waiting =
            ruche::spaces::invitations::pending_for_space(&app.db, space.id).await.unwrap();
        assert!(waiting.is_empty(), "withdrawn");
    }
    assert_eq!(settled(&sink).await.len(), 1, "one invitation mail in four cycles");
    app.stop().await;
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
    // Tried again and again, both are refused alike.
    for attempt in 0..6 {
        let free = login_answer(&app, "lea@example.org", password).await;
        let taken = login_answer(&app, "claire@example.org", password).await;
        assert_eq!(free.0, taken.0, "attempt {attempt}");
    }
    // Léa is not stuck: her link comes again.
    let mails = sink.wait_for(2).await;
    assert!(mails.iter().all(|m| m.to == ["lea@example.org"]), "{mails:?}");
    assert!(mails[1].link(&app.url("/signup/confirm/")).contains("/signup/confirm/"));
    app.stop().await;
}
