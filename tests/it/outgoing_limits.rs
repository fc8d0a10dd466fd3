//! What the site writes to others, bounded (issue 31): every action that mails or notifies
//! someone has its budget per account and per client address, each kind its own; asking the
//! same thing twice is one ask; an invitation serves only the address it was sent to; reset
//! links and sign-up tell nobody who has an account. Each probe as it was made, against the
//! real server and a real SMTP server.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::time::Duration;

use common::{smtp::SmtpSink, TestApp, PASSWORD};
use reqwest::{Client, StatusCode};
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    asking_again_to_join_mails_the_owners_once,
    join_requests_have_a_budget_per_person,
    changing_a_pending_request_spends_nothing_and_the_owners_see_it_changed,
    one_address_gets_a_few_reset_links_and_one_network_asks_for_a_hundred,
    a_room_on_one_network_signs_up_and_a_mistake_spends_nothing,
    a_room_on_one_network_asks_to_join_and_the_next_is_told_it_is_the_network,
    asking_for_links_never_makes_a_right_password_wait,
    failed_sign_ins_do_not_stop_asking_for_a_link,
    inviting_twice_in_a_short_time_mails_once,
    invitations_have_a_budget_per_person,
    comments_from_one_client_address_have_a_budget,
    naming_someone_again_tells_them_once,
    mentions_have_a_budget_per_author,
    new_topics_have_a_budget_per_person,
    an_invitation_opened_by_someone_else_signed_in_makes_and_joins_nothing,
    an_invitation_makes_only_the_address_it_was_sent_to,
    the_invitation_form_shows_its_address_read_only_and_whom_to_ask_for_another,
    an_invitation_sent_to_ones_own_address_joins_ones_account,
    a_link_passed_on_by_hand_has_its_address_confirmed_by_mail,
    a_sign_up_link_opened_signed_in_says_it_is_not_needed,
    using_one_reset_link_revokes_the_others,
    changing_the_password_revokes_outstanding_links,
    confirming_the_address_stops_every_other_confirmation_link,
    a_reset_request_writes_the_same_whatever_the_address,
    signing_up_with_a_taken_address_answers_the_same_and_tells_its_owner
);

/// The site over `app`'s database, sending its mail to `sink` (if any) and trusting the local
/// proxy, so that a test plays several client addresses with `X-Forwarded-For`.
async fn site(app: &TestApp, sink: Option<&SmtpSink>) -> TestApp {
    site_with(app, sink, |_| {}).await
}

pub(crate) async fn site_with(
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
pub(crate) async fn settled(sink: &SmtpSink) -> Vec<common::smtp::Received> {
    tokio::time::sleep(Duration::from_millis(700)).await;
    sink.received()
}

/// A readable 429: a French page saying what was refused, and when to come back.
async fn assert_refused(response: reqwest::Response, words: &str) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = response.text().await.unwrap();
    assert!(page.contains(words), "{page}");
}

/// The path of the first link in `mail` that starts with `prefix` (`/invite/`, …).
fn path_in(app: &TestApp, mail: &common::smtp::Received, prefix: &str) -> String {
    mail.link(&app.url(prefix)).trim_start_matches(&app.url("")).to_owned()
}

// --- 3. Every action that writes to someone else ------------------------------------------

/// A members-only space "copil" run by Claire and Sophie, and Julien outside it, signed in.
async fn copil_and_an_outsider(app: &TestApp) -> Client {
    let space = app.create_space("copil", "Comité de pilotage", Visibility::Members).await;
    for (email, name) in [("claire@example.org", "Claire Martin"), ("sophie@example.org", "Sophie")]
    {
        let owner = app.create_user(email, name, false).await;
        app.add_member(&space, &owner, Role::Owner).await;
    }
    app.create_user("julien@example.org", "Julien Roux", false).await;
    app.signed_in("julien@example.org").await
}

async fn asking_again_to_join_mails_the_owners_once(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    let julien = copil_and_an_outsider(&app).await;
    for n in 1..=5 {
        let message = format!("Bonjour, demande n° {n}");
        let asked = app
            .post_form(&julien, "/s/copil", "/s/copil/members/requests", &[("message", &message)])
            .await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    }
    let mails = settled(&sink).await;
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["claire@example.org", "sophie@example.org"], "one mail to each owner");
    // The request carries the last message; the person is told it was updated.
    let (_, page) = app.get_text(Some(&julien), "/s/copil").await;
    assert!(page.contains("mise à jour"), "{page}");
    let claire = app.signed_in("claire@example.org").await;
    let (_, members) = app.get_text(Some(&claire), "/s/copil/members").await;
    assert!(members.contains("demande n° 5"), "{members}");
    assert_eq!(members.matches("demande n°").count(), 1, "{members}");
    app.stop().await;
}

async fn join_requests_have_a_budget_per_person(app: &TestApp) {
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let julien = app.signed_in("julien@example.org").await;
    for n in 0..11 {
        let slug = format!("espace-{n}");
        let space = app.create_space(&slug, &format!("Espace {n}"), Visibility::Members).await;
        let owner = app.create_user(&format!("owner{n}@example.org"), "Responsable", false).await;
        app.add_member(&space, &owner, Role::Owner).await;
        let (page, action) = (format!("/s/{slug}"), format!("/s/{slug}/members/requests"));
        let asked = app.post_form(&julien, &page, &action, &[("message", "Bonjour")]).await;
        if n < 10 {
            assert_eq!(asked.status(), StatusCode::SEE_OTHER, "request {n}");
        } else {
            let page = refused_page(asked, "demandé à rejoindre beaucoup d'espaces").await;
            assert!(page.contains("Réessayez vers"), "{page}");
        }
    }
}

async fn changing_a_pending_request_spends_nothing_and_the_owners_see_it_changed(app: &TestApp) {
    let julien = copil_and_an_outsider(app).await;
    let ask = |slug: String, message: String| {
        let julien = &julien;
        async move {
            let (page, action) = (format!("/s/{slug}"), format!("/s/{slug}/members/requests"));
            app.post_form(julien, &page, &action, &[("message", &message)]).await
        }
    };
    assert_eq!(ask("copil".into(), "Bonjour".into()).await.status(), StatusCode::SEE_OTHER);
    // The space shows the request's message, and the same form holding it, to change it.
    let (_, page) = app.get_text(Some(&julien), "/s/copil").await;
    assert!(
        page.contains("Votre message aux responsables") && page.contains("Modifier mon message")
    );
    assert!(page.contains(">Bonjour</textarea>"), "{page}");
    // Twelve corrections: each one changes the message, none counts as asking a space.
    for n in 1..=12 {
        let changed = ask("copil".into(), format!("Bonjour, version {n}")).await;
        assert_eq!(changed.status(), StatusCode::SEE_OTHER, "correction {n}");
    }
    let (_, page) = app.get_text(Some(&julien), "/s/copil").await;
    assert!(page.contains(">Bonjour, version 12</textarea>"), "{page}");
    // The owners see the message as it stands, and that it was changed.
    let claire = app.signed_in("claire@example.org").await;
    let (_, members) = app.get_text(Some(&claire), "/s/copil/members").await;
    assert!(
        members.contains("Bonjour, version 12") && members.contains("modifiée le"),
        "{members}"
    );
    // Nine more spaces: ten in all, the budget of one person.
    for n in 0..10 {
        app.create_space(&format!("espace-{n}"), &format!("Espace {n}"), Visibility::Members).await;
    }
    for n in 0..9 {
        let asked = ask(format!("espace-{n}"), "Bonjour".into()).await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER, "space {n}");
    }
    // The eleventh is refused: the page leads back to that space and keeps the message.
    let refused = ask("espace-9".into(), "Je coordonne le chantier 9.".into()).await;
    let page = refused_page(refused, "demandé à rejoindre beaucoup d'espaces").await;
    assert!(
        page.contains("href=\"/s/espace-9\"") && page.contains("Revenir à l'espace « Espace 9 »")
    );
    assert!(page.contains("Je coordonne le chantier 9."), "{page}");
    // Changing the waiting one still goes through.
    let changed = ask("copil".into(), "Bonjour, dernière version".into()).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
}

async fn one_address_gets_a_few_reset_links_and_one_network_asks_for_a_hundred(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    // Claire's address, from four places: three links, then no more for a while — and the page
    // says it is about this address, and when to try again.
    let started = chrono::Utc::now();
    for n in 1..=3 {
        let asked = ask_link(&app, "claire@example.org", &format!("203.0.113.{n}")).await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    }
    let fourth = ask_link(&app, "Claire@Example.org", "198.51.100.4").await;
    let page = refused_page(fourth, "Trop de demandes de lien").await;
    assert!(page.contains("pour cette adresse") && !page.contains("réseau"), "{page}");
    assert_try_again_an_hour_after(&page, started);
    sink.wait_for(3).await;
    assert_eq!(settled(&sink).await.len(), 3);
    // Made-up addresses from one network: a hundred, then that network waits; another does not.
    // What is no address at all spends nothing.
    let started = chrono::Utc::now();
    for n in 0..100 {
        if n == 50 {
            let slip = ask_link(&app, "claire@example", "192.0.2.9").await;
            assert_eq!(slip.status(), StatusCode::SEE_OTHER);
        }
        let asked = ask_link(&app, &format!("personne{n}@example.org"), "192.0.2.9").await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER, "request {n}");
    }
    let page = refused_page(ask_link(&app, "encore@example.org", "192.0.2.9").await, "").await;
    assert!(page.contains("depuis votre réseau (même box ou wifi)"), "{page}");
    assert!(!page.contains("connexion"), "{page}");
    assert_try_again_an_hour_after(&page, started);
    let other = ask_link(&app, "encore@example.org", "192.0.2.10").await;
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

/// A 429 page, with `words` in it; answers the page.
async fn refused_page(response: reqwest::Response, words: &str) -> String {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let page = response.text().await.unwrap();
    assert!(page.contains(words), "{page}");
    page
}

/// The page says, in words and in the site's time zone, to come back about an hour after the
/// budget's first action (sent after `started`, and before now).
fn assert_try_again_an_hour_after(page: &str, started: chrono::DateTime<chrono::Utc>) {
    use ruche::{dates, i18n::Lang};
    let hour = chrono::Duration::hours(1);
    let around =
        |t| format!("Réessayez vers {}.", dates::about(Lang::Fr, dates::DEFAULT_TIME_ZONE, t));
    let (early, late) = (around(started + hour), around(chrono::Utc::now() + hour));
    assert!(page.contains(&early) || page.contains(&late), "{early} / {late}: {page}");
}

async fn a_room_on_one_network_signs_up_and_a_mistake_spends_nothing(app: &TestApp) {
    use ruche::accounts::signup::{set_mode, SignupMode};
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    set_mode(&app.db, SignupMode::Open).await.unwrap();
    let sign_up = |email: String, password: &'static str| {
        let app = &app;
        async move {
            let fields =
                [("name", "Participant"), ("email", email.as_str()), ("password", password)];
            post_from(app, &app.browser(), "192.0.2.50", ("/signup", "/signup"), &fields).await
        }
    };
    // A workshop: a hundred people on the same wifi, one of whom first types too short a
    // password (the form comes back; nothing was asked, nothing spent).
    let started = chrono::Utc::now();
    for n in 0..100 {
        let email = format!("participant{n}@example.org");
        if n == 16 {
            let short = sign_up(email.clone(), "court").await;
            assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let made = sign_up(email, "un mot de passe solide").await;
        assert_eq!(made.status(), StatusCode::SEE_OTHER, "participant {n}");
    }
    // The hundred and first is told it is the network's budget, and when to come back.
    let refused = sign_up("participant100@example.org".into(), "un mot de passe solide").await;
    let page = refused_page(refused, "Trop de demandes de compte").await;
    assert!(page.contains("depuis votre réseau (même box ou wifi)"), "{page}");
    assert_try_again_an_hour_after(&page, started);
    // Someone on another network signs up all the same.
    let fields =
        [("name", "Léa"), ("email", "lea@example.org"), ("password", "un mot de passe solide")];
    let elsewhere =
        post_from(&app, &app.browser(), "198.51.100.7", ("/signup", "/signup"), &fields).await;
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

async fn a_room_on_one_network_asks_to_join_and_the_next_is_told_it_is_the_network(app: &TestApp) {
    let app = site(app, None).await;
    for n in 0..10 {
        app.create_space(&format!("espace-{n}"), &format!("Espace {n}"), Visibility::Members).await;
    }
    // Ten colleagues on one network each ask to join the ten spaces of their work.
    for person in 0..11 {
        let email = format!("collegue{person}@example.org");
        app.create_user(&email, &format!("Collègue {person}"), false).await;
        let browser = app.signed_in(&email).await;
        for n in 0..10 {
            let (page, action) =
                (format!("/s/espace-{n}"), format!("/s/espace-{n}/members/requests"));
            let fields = [("message", "Bonjour")];
            let asked = post_from(&app, &browser, "192.0.2.60", (&page, &action), &fields).await;
            if person < 10 {
                assert_eq!(asked.status(), StatusCode::SEE_OTHER, "{person} asks {n}");
                continue;
            }
            // The eleventh's very first request: refused for the network, not for them.
            let page = refused_page(asked, "Trop de demandes pour rejoindre").await;
            assert!(page.contains("depuis votre réseau (même box ou wifi)"), "{page}");
            assert!(!page.contains("Vous avez demandé à rejoindre beaucoup"), "{page}");
            break;
        }
    }
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

/// A space "chantier-2" run by Claire; her signed-in browser.
pub(crate) async fn claires_space(app: &TestApp) -> (ruche::spaces::Space, Client) {
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Private).await;
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&space, &claire, Role::Owner).await;
    (space, app.signed_in("claire@example.org").await)
}

pub(crate) const MEMBERS: &str = "/s/chantier-2/members";

async fn inviting_twice_in_a_short_time_mails_once(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    let (space, claire) = claires_space(&app).await;
    let invite = |role: &'static str| {
        let (app, claire) = (&app, &claire);
        async move {
            let fields = [("email", "nadia@example.org"), ("role", role)];
            app.post_form(claire, MEMBERS, MEMBERS, &fields).await
        }
    };
    assert_eq!(invite("editor").await.status(), StatusCode::SEE_OTHER);
    sink.wait_for(1).await;
    let waiting = ruche::spaces::invitations::pending_for_space(&app.db, space.id).await.unwrap();
    let resend_at = waiting[0].created_at + chrono::Duration::minutes(15);
    let at =
        ruche::dates::clock_at(ruche::i18n::Lang::Fr, ruche::dates::DEFAULT_TIME_ZONE, resend_at);
    // The list says the role, and when it may be sent again — no "send again" before that.
    let (_, page) = app.get_text(Some(&claire), MEMBERS).await;
    assert!(page.contains("nadia@example.org</strong> — Rédaction — invitée le"), "{page}");
    assert!(page.contains(&format!("vous pourrez la renvoyer à {at}")), "{at}: {page}");
    assert!(!page.contains("/resend\""), "{page}");
    // Again at once, with another role: the same invitation, not a second mail; said so.
    assert_eq!(invite("viewer").await.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(Some(&claire), MEMBERS).await;
    assert!(page.contains("il y a moins de 15 minutes"), "{page}");
    assert!(page.contains("rôle mis à jour : Lecture"), "{page}");
    assert!(page.contains(&format!("Vous pourrez la renvoyer à {at}.")), "{page}");
    assert!(page.contains("nadia@example.org</strong> — Lecture — invitée le"), "{page}");
    let waiting = ruche::spaces::invitations::pending_for_space(&app.db, space.id).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].role.as_deref(), Some("viewer"), "the latest choice holds");
    // The same role once more: nothing about roles.
    assert_eq!(invite("viewer").await.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(Some(&claire), MEMBERS).await;
    assert!(page.contains("il y a moins de 15 minutes") && !page.contains("rôle mis à jour"));
    // "Send again" asked all the same (a page kept open): not mailed either.
    let resend = format!("/s/chantier-2/invitations/{}/resend", waiting[0].id);
    assert_eq!(app.post_form(&claire, MEMBERS, &resend, &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(settled(&sink).await.len(), 1, "one mail in all");
    app.stop().await;
}

async fn invitations_have_a_budget_per_person(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    let (_, claire) = claires_space(&app).await;
    // The same address ten times is one invitation, and spends one.
    for _ in 0..10 {
        let fields = [("email", "nadia@example.org"), ("role", "viewer")];
        let added = app.post_form(&claire, MEMBERS, MEMBERS, &fields).await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
    }
    for n in 1..51 {
        let email = format!("personne{n}@example.org");
        let fields = [("email", email.as_str()), ("role", "viewer")];
        let added = app.post_form(&claire, MEMBERS, MEMBERS, &fields).await;
        if n < 50 {
            assert_eq!(added.status(), StatusCode::SEE_OTHER, "invitation {n}");
        } else {
            assert_refused(added, "Trop d'invitations").await;
        }
    }
    app.stop().await;
}

/// A public page "chantier-1/notes" whose comments anyone signed in may write.
async fn open_discussion(app: &TestApp) {
    use ruche::spaces::{store, CommentPolicy};
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    let changes = store::SpaceChanges {
        title: space.title.clone(),
        description: space.description.clone(),
        visibility: space.visibility,
        comments: Some(CommentPolicy::Readers),
    };
    store::update(&app.db, space.id, changes).await.unwrap();
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&space, &claire, Role::Editor).await;
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-1", "notes", "Ordre du jour.").await;
}

/// Comments on "chantier-1/notes" through the API, as the holder of `token`, from `from`.
async fn comment(app: &TestApp, token: &str, from: &str, markdown: &str) -> reqwest::Response {
    Client::new()
        .post(app.url("/api/pages/chantier-1/notes/comments"))
        .bearer_auth(token)
        .header("x-forwarded-for", from)
        .json(&serde_json::json!({ "markdown": markdown }))
        .send()
        .await
        .unwrap()
}

async fn comments_from_one_client_address_have_a_budget(app: &TestApp) {
    // One comment a minute each: ten a minute from one client address (a room discussing).
    let app = site_with(app, None, |s| s.comments.per_minute = 1).await;
    open_discussion(&app).await;
    let mut tokens = Vec::new();
    for n in 0..11 {
        let email = format!("personne{n}@example.org");
        app.create_user(&email, &format!("Personne {n}"), false).await;
        tokens.push(app.token_for(&email).await);
    }
    for token in &tokens[..10] {
        let posted = comment(&app, token, "203.0.113.5", "Bonjour").await;
        assert_eq!(posted.status(), StatusCode::CREATED);
    }
    // The eleventh wrote nothing yet: the refusal says it is the network's.
    let refused = comment(&app, &tokens[10], "203.0.113.5", "Bonjour").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let said: serde_json::Value = refused.json().await.unwrap();
    let said = said["error"].as_str().unwrap();
    assert!(said.contains("depuis votre réseau") && said.contains("attendez une minute"), "{said}");
    let elsewhere = comment(&app, &tokens[10], "198.51.100.7", "Bonjour").await;
    assert_eq!(elsewhere.status(), StatusCode::CREATED, "another client");
    // Their own second comment within the minute: their own budget.
    let again = comment(&app, &tokens[10], "198.51.100.7", "Encore").await;
    let said: serde_json::Value = again.json().await.unwrap();
    assert!(said["error"].as_str().unwrap().contains("Vous publiez beaucoup"), "{said}");
    app.stop().await;
}

/// Mention notifications made by `author`'s comments.
async fn mentions_by(
    app: &TestApp,
    author: i64,
) -> Vec<ruche::notifications::entity::notification::Model> {
    use ruche::notifications::entity::notification;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    notification::Entity::find()
        .filter(notification::Column::Kind.eq("mention"))
        .filter(notification::Column::ActorId.eq(author))
        .all(&app.db)
        .await
        .unwrap()
}

async fn naming_someone_again_tells_them_once(app: &TestApp) {
    open_discussion(app).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    let claire = app.token_for("claire@example.org").await;
    for text in ["@julien-roux, tu viens ?", "@julien-roux, tu viens ??", "@julien-roux !!!"] {
        assert_eq!(comment(app, &claire, "203.0.113.5", text).await.status(), StatusCode::CREATED);
    }
    let token = app.token_for(&julien.email).await;
    let told = app.get_json_as(&token, "/api/notifications").await;
    assert_eq!(told["unread"], 1, "one notification until it is read: {told}");
}

/// `count` people with handles `p0`, `p1`… to be named (made directly: their passwords play no
/// part).
pub(crate) async fn people_to_name(app: &TestApp, count: usize) {
    use ruche::accounts::entity::user;
    use sea_orm::{ActiveModelTrait, Set};
    for n in 0..count {
        user::ActiveModel {
            email: Set(format!("p{n}@example.org")),
            name: Set(format!("P {n}")),
            password_hash: Set("-".into()),
            is_admin: Set(false),
            disabled: Set(false),
            created_at: Set(chrono::Utc::now()),
            email_confirmed: Set(true),
            notify_by_mail: Set("never".into()),
            handle: Set(Some(format!("p{n}"))),
            digest_hour: Set(8),
            show_markdown: Set(false),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
}

async fn mentions_have_a_budget_per_author(app: &TestApp) {
    open_discussion(app).await;
    people_to_name(app, 60).await;
    let claire = ruche::accounts::store::find_by_email(&app.db, "claire@example.org")
        .await
        .unwrap()
        .unwrap();
    let token = app.token_for("claire@example.org").await;
    for batch in 0..3 {
        let named: Vec<String> = (batch * 20..batch * 20 + 20).map(|n| format!("@p{n}")).collect();
        let posted = comment(app, &token, "203.0.113.5", &named.join(" ")).await;
        assert_eq!(posted.status(), StatusCode::CREATED, "the comment itself is taken");
    }
    assert_eq!(mentions_by(app, claire.id.0).await.len(), 50, "fifty people an hour");
}

async fn new_topics_have_a_budget_per_person(app: &TestApp) {
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Members).await;
    let julien = app.create_user("julien@example.org", "Julien Roux", false).await;
    app.add_member(&space, &julien, Role::Viewer).await;
    let browser = app.signed_in("julien@example.org").await;
    let path = "/s/chantier-1/new?form=discussion";
    for n in 0..31 {
        let title = format!("Sujet {n}");
        let fields = [("_title", title.as_str()), ("message", "Qui en parle ?")];
        let made = app.post_form(&browser, path, path, &fields).await;
        if n < 30 {
            assert_eq!(made.status(), StatusCode::SEE_OTHER, "topic {n}");
        } else {
            assert_refused(made, "Trop de nouvelles fiches").await;
        }
    }
}

// --- 7. An invitation is bound to its address ----------------------------------------------

/// Claire invites nadia@example.org into "chantier-2" (private); answers the link's path.
async fn nadia_invited(app: &TestApp, sink: &SmtpSink) -> (ruche::spaces::Space, String) {
    let (space, claire) = claires_space(app).await;
    let fields = [("email", "nadia@example.org"), ("role", "editor")];
    assert_eq!(app.post_form(&claire, MEMBERS, MEMBERS, &fields).await.status(), 303);
    let mail = sink.wait_for(1).await.remove(0);
    (space, path_in(app, &mail, "/invite/"))
}

async fn account_of(app: &TestApp, email: &str) -> Option<ruche::accounts::User> {
    ruche::accounts::store::find_by_email(&app.db, email).await.unwrap()
}

async fn an_invitation_opened_by_someone_else_signed_in_makes_and_joins_nothing(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    let (space, link) = nadia_invited(&app, &sink).await;
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let julien = app.signed_in("julien@example.org").await;
    let (status, page) = app.get_text(Some(&julien), &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("envoyée à nadia@example.org")
            && page.contains("julien@example.org")
            && page.contains("action=\"/logout\"")
            && !page.contains("name=\"password\""),
        "{page}"
    );
    // Two addresses, one person: the way is to be added with this one, not a second account.
    assert!(page.contains(
        "C'est vous, avec une autre adresse ? Demandez à Claire Martin de vous ajouter avec \
         julien@example.org."
    ));
    assert!(page.contains("<a class=\"button\" href=\"/\">Revenir à l'accueil</a>"), "{page}");
    assert!(!page.contains("puis ouvrez de nouveau ce lien"), "{page}");
    // The probe: another address typed into the form.
    let fields = [
        ("name", "Pirate"),
        ("email", "pirate@example.org"),
        ("password", "un mot de passe solide"),
    ];
    let tried = app.post_form(&julien, &link, &link, &fields).await;
    assert_eq!(tried.status(), StatusCode::FORBIDDEN);
    assert!(account_of(&app, "pirate@example.org").await.is_none());
    assert!(account_of(&app, "nadia@example.org").await.is_none());
    let (status, _) = app.get_text(Some(&julien), "/s/chantier-2").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "Julien did not join");
    let waiting = ruche::spaces::invitations::pending_for_space(&app.db, space.id).await.unwrap();
    assert_eq!(waiting.len(), 1, "the invitation still waits for Nadia");
    // Signing out, as offered, comes back to the invitation, for Nadia to accept.
    let out = app.post_form(&julien, &link, "/logout", &[("next", &link)]).await;
    assert_eq!(out.headers()["location"], link.as_str());
    let (_, page) = app.get_text(Some(&julien), &link).await;
    assert!(page.contains("name=\"password\"") && page.contains("nadia@example.org"), "{page}");
    app.stop().await;
}

async fn an_invitation_makes_only_the_address_it_was_sent_to(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    let (_, link) = nadia_invited(&app, &sink).await;
    let browser = app.browser();
    let fields = [
        ("name", "Nadia Benali"),
        ("email", "pirate@example.org"),
        ("password", "un mot de passe solide"),
    ];
    let made = app.post_form(&browser, &link, &link, &fields).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert!(account_of(&app, "pirate@example.org").await.is_none(), "no address of one's choice");
    assert!(account_of(&app, "nadia@example.org").await.is_some());
    let (_, account) = app.get_text(Some(&browser), "/account").await;
    assert!(account.contains("nadia@example.org"), "{account}");
    app.stop().await;
}

async fn the_invitation_form_shows_its_address_read_only_and_whom_to_ask_for_another(
    app: &TestApp,
) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    let (_, link) = nadia_invited(&app, &sink).await;
    let browser = app.browser();
    let (status, page) = app.get_text(Some(&browser), &link).await;
    assert_eq!(status, StatusCode::OK);
    // Who invites into what, said once.
    assert!(page.contains("Claire Martin vous invite à rejoindre l'espace « Chantier 2 »."));
    assert_eq!(page.matches("invité·e").count(), 0, "{page}");
    // The address, read-only, for the browser to keep the password with; whom to ask instead.
    assert!(
        page.contains("value=\"nadia@example.org\" readonly autocomplete=\"username\""),
        "{page}"
    );
    assert!(page.contains(
        "Pour utiliser une autre adresse, demandez à Claire Martin de vous inviter avec celle-ci."
    ));
    // Too short a password: said once what is wrong, once how long it must be.
    let fields = [("name", "Nadia Benali"), ("password", "court")];
    let refused = app.post_form(&browser, &link, &link, &fields).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert_eq!(page.matches("Au moins 10 caractères.").count(), 1, "{page}");
    assert!(page.contains("Ce mot de passe est trop court."), "{page}");
    assert!(page.contains("value=\"Nadia Benali\""), "the name typed is kept: {page}");
    app.stop().await;
}

async fn an_invitation_sent_to_ones_own_address_joins_ones_account(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    let (_, link) = nadia_invited(&app, &sink).await;
    // Nadia made her account meanwhile.
    app.create_user("nadia@example.org", "Nadia Benali", false).await;
    let (status, page) = app.get_text(None, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("a déjà un compte") && page.contains("/login?next="), "{page}");
    let nadia = app.signed_in("nadia@example.org").await;
    let (_, page) = app.get_text(Some(&nadia), &link).await;
    assert!(
        page.contains("envoyée à votre adresse") && !page.contains("name=\"password\""),
        "{page}"
    );
    let joined = app.post_form(&nadia, &link, &link, &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(joined.headers()["location"], "/s/chantier-2");
    let (status, space) = app.get_text(Some(&nadia), "/s/chantier-2").await;
    assert_eq!(status, StatusCode::OK);
    assert!(space.contains("vous faites maintenant partie"), "{space}");
    let (status, _) = app.get_text(None, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the link works once");
    app.stop().await;
}

/// An invitation link an administrator makes to pass on by hand (sent to no address).
async fn hand_made_link(app: &TestApp) -> String {
    app.create_user("admin@example.org", "Admin", true).await;
    let admin = app.signed_in("admin@example.org").await;
    let made = app.post_form(&admin, "/admin/users", "/admin/invitations", &[]).await;
    let html = made.text().await.unwrap();
    let token: String = html
        .split(&format!("{}/invite/", app.base))
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    format!("/invite/{token}")
}

async fn a_sign_up_link_opened_signed_in_says_it_is_not_needed(app: &TestApp) {
    let link = hand_made_link(app).await;
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let julien = app.signed_in("julien@example.org").await;
    let (status, page) = app.get_text(Some(&julien), &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Vous avez déjà un compte, avec l'adresse julien@example.org")
            && page.contains("vous n'en avez pas besoin")
            && page.contains("Revenir à l'accueil")
            && !page.contains("name=\"password\""),
        "{page}"
    );
}

async fn a_link_passed_on_by_hand_has_its_address_confirmed_by_mail(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    let link = hand_made_link(&app).await;
    let browser = app.browser();
    let fields = [
        ("name", "Léa Moreau"),
        ("email", "lea@example.org"),
        ("password", "un mot de passe solide"),
    ];
    let accepted = app.post_form(&browser, &link, &link, &fields).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(accepted.headers()["location"], "/signup/check");
    let (_, check) = app.get_text(Some(&browser), "/signup/check").await;
    assert!(check.contains("un courriel à lea@example.org"), "{check}");
    let (status, _) = app.get_text(Some(&browser), "/account").await;
    assert_ne!(status, StatusCode::OK, "not signed in before the address is confirmed");
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["lea@example.org"]);
    let confirm = path_in(&app, &mail, "/signup/confirm/");
    let confirmed = browser.get(app.url(&confirm)).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.get_text(Some(&browser), "/account").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

// --- 11. Reset links and sign-up ----------------------------------------------------------

async fn using_one_reset_link_revokes_the_others(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    ask_link(&app, "claire@example.org", "203.0.113.1").await;
    sink.wait_for(1).await;
    ask_link(&app, "claire@example.org", "203.0.113.1").await;
    let mails = sink.wait_for(2).await;
    let (first, second) = (
        path_in(&app, &mails[0], "/password/reset/"),
        path_in(&app, &mails[1], "/password/reset/"),
    );
    assert_ne!(first, second);
    let browser = app.browser();
    let new =
        [("password", "un autre mot de passe"), ("password_confirmation", "un autre mot de passe")];
    let done = app.post_form(&browser, &second, &second, &new).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let (_, home) = app.get_text(Some(&browser), "/").await;
    assert!(home.contains("Vous êtes déconnecté·e sur vos autres appareils."), "{home}");
    assert!(!home.contains("connexions"), "{home}");
    let (status, page) = app.get_text(None, &first).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the older mail opens nothing now");
    assert!(page.contains("Ce lien ne marche plus"), "{page}");
    // The likely case first: the password was chosen since; signing in is the main way on.
    assert!(page.contains(
        "Si vous avez choisi un mot de passe depuis, ce lien ne sert plus : connectez-vous."
    ));
    let sign_in = page.find("<a class=\"button\" href=\"/login\">Se connecter</a>");
    let ask = page.find("<a class=\"button secondary\" href=\"/password/forgot\">");
    assert!(sign_in.is_some() && ask.is_some() && sign_in < ask, "{page}");
    app.stop().await;
}

async fn changing_the_password_revokes_outstanding_links(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    ask_link(&app, "claire@example.org", "203.0.113.1").await;
    let link = path_in(&app, &sink.wait_for(1).await[0], "/password/reset/");
    let claire = app.signed_in("claire@example.org").await;
    let fields = [("current", PASSWORD), ("password", "un autre mot de passe")];
    let changed = app.post_form(&claire, "/account", "/account/password", &fields).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.get_text(None, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn confirming_the_address_stops_every_other_confirmation_link(app: &TestApp) {
    use ruche::accounts::signup::{set_mode, SignupMode};
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    set_mode(&app.db, SignupMode::Open).await.unwrap();
    let fields = [
        ("name", "Nadia Benali"),
        ("email", "nadia@example.org"),
        ("password", "un mot de passe solide"),
    ];
    let made = app.post_form(&app.browser(), "/signup", "/signup", &fields).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    sink.wait_for(1).await;
    // Signing in before confirming sends the link again, twice: three links in all.
    for n in 2..=3 {
        let (browser, password) = (app.browser(), "un mot de passe solide");
        let again = app.sign_in_response(&browser, "nadia@example.org", password).await;
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
        sink.wait_for(n).await;
    }
    let mails = sink.wait_for(3).await;
    let links: Vec<String> = mails.iter().map(|m| path_in(&app, m, "/signup/confirm/")).collect();
    let browser = app.browser();
    let confirmed = browser.get(app.url(&links[2])).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(confirmed.headers()["location"], "/welcome");
    // The earlier mails open nothing now, and say so kindly; nobody is signed in by them.
    for link in &links {
        let other = app.browser();
        let (status, page) = app.get_text(Some(&other), link).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("Votre adresse est déjà confirmée : connectez-vous."), "{page}");
        assert!(page.contains("href=\"/login\""), "{page}");
        let (status, _) = app.get_text(Some(&other), "/account").await;
        assert_ne!(status, StatusCode::OK, "not signed in by an older link");
    }
    app.stop().await;
}

async fn a_reset_request_writes_the_same_whatever_the_address(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    ask_link(&app, "claire@example.org", "203.0.113.1").await;
    ask_link(&app, "personne@example.org", "203.0.113.1").await;
    // What the requests wrote: one request each, alike; the account is looked up afterwards.
    let asked = ruche::outbox::recent_of(&app.db, ruche::accounts::reset::ASKED, 10).await.unwrap();
    let mut recipients: Vec<&str> = asked.iter().map(|m| m.recipient.as_str()).collect();
    recipients.sort();
    assert_eq!(recipients, ["claire@example.org", "personne@example.org"]);
    let mails = settled(&sink).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["claire@example.org"]);
    app.stop().await;
}

async fn signing_up_with_a_taken_address_answers_the_same_and_tells_its_owner(app: &TestApp) {
    use ruche::accounts::signup::{set_mode, SignupMode};
    let sink = SmtpSink::start().await;
    let app = site(app, Some(&sink)).await;
    app.create_user("claire@example.org", "Claire Martin", false).await;
    set_mode(&app.db, SignupMode::Open).await.unwrap();
    let sign_up = |email: &'static str, browser: Client| {
        let app = &app;
        async move {
            let fields =
                [("name", "Quelqu'un"), ("email", email), ("password", "un mot de passe solide")];
            app.post_form(&browser, "/signup", "/signup", &fields).await
        }
    };
    let (lea, someone) = (app.browser(), app.browser());
    let free = sign_up("lea@example.org", lea.clone()).await;
    let taken = sign_up("Claire@Example.org", someone.clone()).await;
    assert_eq!(free.status(), taken.status());
    assert_eq!(free.headers()["location"], "/signup/check");
    assert_eq!(taken.headers()["location"], "/signup/check");
    assert_eq!(free.bytes().await.unwrap(), taken.bytes().await.unwrap(), "byte for byte");
    // Each is shown the address they typed, and otherwise the very same page.
    let (_, free) = app.get_text(Some(&lea), "/signup/check").await;
    let (_, taken) = app.get_text(Some(&someone), "/signup/check").await;
    assert!(free.contains("Nous venons d'envoyer un courriel à lea@example.org"), "{free}");
    assert!(taken.contains("Nous venons d'envoyer un courriel à claire@example.org"), "{taken}");
    assert_eq!(free.replace("lea@", "x@"), taken.replace("claire@", "x@"));
    assert!(free.contains("<a href=\"/login\">connectez-vous</a> : le lien vous sera renvoyé"));
    let mails = sink.wait_for(2).await;
    let told = mails.iter().find(|m| m.to == ["claire@example.org"]).expect("Claire is told");
    assert!(told.subject().contains("Quelqu'un a voulu créer un compte"), "{}", told.subject());
    let text = told.text();
    assert!(text.contains("Bonjour Claire Martin"), "{text}");
    assert!(text.contains(&app.url("/login")) && text.contains(&app.url("/password/forgot")));
    assert_eq!(ruche::accounts::store::count(&app.db).await.unwrap(), 2, "Claire and Léa");
    let claire = account_of(&app, "claire@example.org").await.unwrap();
    assert_eq!(claire.name, "Claire Martin", "nothing changed on her account");
    app.stop().await;
}
