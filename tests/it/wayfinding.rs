//! A site people find their way in (issue 15): what they read is in words and in their time,
//! one line break is a line break, formatted texts are formatted.
use crate::common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

const SPACE: &str = "chantier-1";

async fn editor(app: &TestApp) -> (String, reqwest::Client) {
    let space = app.create_space(SPACE, "Chantier 1", Visibility::Public).await;
    let user = app.create_user("sophie@example.org", "Sophie Aouizerate", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    (app.token_for(&user.email).await, app.signed_in(&user.email).await)
}

async fn dates_and_times_are_in_words_in_the_site_zone(app: &TestApp) {
    let (token, browser) = editor(app).await;
    app.put_page(&token, SPACE, "notes", "Texte").await;
    let (_, page) = app.get_text(None, &format!("/s/{SPACE}/notes")).await;
    assert!(page.contains("Dernière modification"), "{page}");
    assert!(page.contains("à l'instant") || page.contains("il y a"), "{page}");
    let saved = app
        .post_form(
            &browser,
            &format!("/s/{SPACE}/notes/history"),
            &format!("/s/{SPACE}/notes/history/save"),
            &[("note", "")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, history) = app.get_text(None, &format!("/s/{SPACE}/notes/history")).await;
    let now = ruche::dates::long_date(
        ruche::i18n::Lang::Fr,
        chrono::Utc::now().with_timezone(&app.settings.time_zone).date_naive(),
    );
    assert!(history.contains(&now), "the day in words ({now}): {history}");
    let (_, changes) = app.get_text(None, "/changes").await;
    for page in [&page, &history, &changes] {
        assert!(!page.contains("UTC"), "{page}");
    }
    // An event: its dates in words, in its time zone.
    let slug = app
        .new_entry(
            &browser,
            SPACE,
            "Atelier",
            "event",
            &[
                ("when.start", "2030-03-12T14:00"),
                ("when.end", "2030-03-12T17:00"),
                ("when.tz", "Europe/Paris"),
                ("audience", "public"),
            ],
        )
        .await;
    let (_, event) = app.get_text(None, &format!("/s/{SPACE}/{slug}")).await;
    assert!(event.contains("mardi 12 mars 2030, de 14 h à 17 h"), "{event}");
    let (_, agenda) = app.get_text(None, "/agenda").await;
    assert!(agenda.contains("mardi 12 mars 2030, de 14 h à 17 h"), "{agenda}");
}

async fn a_single_line_break_is_a_line_break_and_long_texts_are_formatted(app: &TestApp) {
    let (token, browser) = editor(app).await;
    app.put_page(&token, SPACE, "titre", "Mon titre\nun\ntache").await;
    let (_, page) = app.get_text(None, &format!("/s/{SPACE}/titre")).await;
    assert!(page.contains("Mon titre<br>"), "{page}");
    let slug = app
        .new_entry(
            &browser,
            SPACE,
            "Le Labo",
            "organisation",
            &[
                ("name", "Le Labo"),
                ("description", "Un **réseau** d'acteurs.\n\n- premier\n- second"),
            ],
        )
        .await;
    let (_, sheet) = app.get_text(None, &format!("/s/{SPACE}/{slug}")).await;
    assert!(sheet.contains("<strong>réseau</strong>"), "{sheet}");
    assert!(sheet.contains("<li>premier</li>"), "{sheet}");
    assert!(!sheet.contains("**"), "{sheet}");
}

on_each_backend!(
    dates_and_times_are_in_words_in_the_site_zone,
    a_single_line_break_is_a_line_break_and_long_texts_are_formatted,
);

#[tokio::test]
async fn the_site_zone_is_a_setting() {
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.time_zone = chrono_tz::America::Martinique;
    })
    .await;
    let (_, browser) = editor(&app).await;
    let slug = app
        .new_entry(
            &browser,
            SPACE,
            "Atelier",
            "event",
            &[
                ("when.start", "2030-03-12T14:00"),
                ("when.end", "2030-03-12T17:00"),
                ("when.tz", "Europe/Paris"),
                ("audience", "public"),
            ],
        )
        .await;
    // Told in the event's own zone, which is not the site's: named.
    let (_, event) = app.get_text(None, &format!("/s/{SPACE}/{slug}")).await;
    assert!(event.contains("de 14 h à 17 h (Europe/Paris)"), "{event}");
    app.stop().await;
}

#[tokio::test]
async fn a_page_created_and_written_in_one_session_is_one_line_of_changes() {
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.collab.revision_quiet = std::time::Duration::from_millis(300);
    })
    .await;
    let (token, _) = editor(&app).await;
    app.put_page(&token, SPACE, "notes", "Premier jet").await;
    app.put_page(&token, SPACE, "notes", "Premier jet, complété").await;
    let path = format!("href=\"/s/{SPACE}/notes\"");
    let mut changes = String::new();
    for _ in 0..100 {
        changes = app.get_text(None, "/changes").await.1;
        if changes.contains("/history/") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(changes.contains("/history/"), "the session's version is linked: {changes}");
    assert_eq!(changes.matches(&path).count(), 1, "one line: {changes}");
    app.stop().await;
}

async fn lists_sort_as_people_do(app: &TestApp) {
    let (_, browser) = editor(app).await;
    for name in ["Zèbre", "e-graine", "Écologie", "ateliers", "Eau"] {
        app.new_entry(&browser, SPACE, name, "organisation", &[("name", name)]).await;
    }
    let (_, list) = app.get_text(None, "/forms/organisation").await;
    let at =
        |name: &str| list.find(&format!(">{name}</a>")).unwrap_or_else(|| panic!("{name} listed"));
    let order = ["ateliers", "Eau", "Écologie", "e-graine", "Zèbre"];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
    }
}

on_each_backend!(lists_sort_as_people_do);

async fn an_invitation_only_site_says_whom_to_ask(app: &TestApp) {
    app.create_user("admin@example.org", "Admin", true).await;
    let (status, page) = app.get_text(None, "/signup").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("demandez-la à l'équipe"), "{page}");
    let admin = app.signed_in("admin@example.org").await;
    let saved = app
        .post_form(
            &admin,
            "/admin/users",
            "/admin/signup",
            &[("mode", "invitation"), ("contact", "accueil@reseau.example")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(None, "/signup").await;
    assert!(page.contains("href=\"mailto:accueil@reseau.example\""), "{page}");
}

on_each_backend!(an_invitation_only_site_says_whom_to_ask);

async fn a_word_with_a_typo_still_finds_without_leaking(app: &TestApp) {
    let (token, _) = editor(app).await;
    app.put_page(&token, SPACE, "notes", "La coopération territoriale avance.").await;
    let committee = app.create_space("comite", "Comité", Visibility::Private).await;
    let chair = app.create_user("chair@example.org", "Chair", false).await;
    app.add_member(&committee, &chair, Role::Owner).await;
    let chair_token = app.token_for("chair@example.org").await;
    app.put_page(&chair_token, "comite", "secret", "Le budget confidentialité.").await;
    let search = |q: &'static str| async move {
        let found: serde_json::Value = reqwest::Client::new()
            .get(app.url("/api/search"))
            .query(&[("q", q)])
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        found
    };
    // The index catches up in the background.
    for _ in 0..100 {
        if search("cooperation").await["total"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let found = search("coperation").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["corrected"], "coopération", "{found}");
    let (_, page) = app.get_text(None, "/search?q=coperation").await;
    assert!(page.contains("Résultats pour « coopération »"), "{page}");
    // A word only a private page holds is never suggested to others.
    let found = search("confidentialitee").await;
    assert_eq!(found["total"], 0, "{found}");
    assert!(found["corrected"].is_null(), "{found}");
}

on_each_backend!(a_word_with_a_typo_still_finds_without_leaking);

async fn the_front_page_starts_with_what_is_public(app: &TestApp) {
    let (token, browser) = editor(app).await;
    app.put_page(&token, SPACE, "bienvenue", "Bienvenue dans le réseau des chantiers.").await;
    app.put_page(&token, SPACE, "autre", "Une autre page.").await;
    app.new_entry(
        &browser,
        SPACE,
        "Rencontre régionale",
        "event",
        &[
            ("when.start", "2031-03-12T09:30"),
            ("when.end", "2031-03-12T17:00"),
            ("audience", "public"),
        ],
    )
    .await;
    app.new_entry(&browser, SPACE, "Guide de la coopération", "resource", &[("type", "fiche")])
        .await;
    let committee = app.create_space("comite", "Comité de pilotage", Visibility::Private).await;
    let chair = app.create_user("chair@example.org", "Chair", false).await;
    app.add_member(&committee, &chair, Role::Owner).await;
    let (status, home) = app.get_text(None, "/").await;
    assert_eq!(status, StatusCode::OK);
    let at = |text: &str| {
        home.find(text).unwrap_or_else(|| panic!("{text:?} on the front page: {home}"))
    };
    assert!(at("Bienvenue dans le réseau") < at("Prochains rendez-vous"));
    assert!(at("Rencontre régionale") < at("Dernières ressources"));
    assert!(at("Guide de la coopération") < at("Chantier 1</a>"));
    assert!(home.contains("mercredi 12 mars 2031"), "{home}");
    assert!(!home.contains("Comité de pilotage"), "a private space stays unseen");
    assert!(!home.contains("Une autre page"), "only the welcome page");
}

on_each_backend!(the_front_page_starts_with_what_is_public);

async fn one_changes_ones_name_and_finds_ones_sheet_from_the_account(app: &TestApp) {
    let (_, browser) = editor(app).await;
    let (_, page) = app.get_text(Some(&browser), "/account").await;
    assert!(page.contains("href=\"/account/profile\""), "a way to one's directory sheet");
    assert!(page.contains("<details class=\"advanced\""), "API keys are out of the way");
    let refused = app
        .post_form(&browser, "/account", "/account/name", &[("display_name", "  \u{202e} ")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let saved = app
        .post_form(&browser, "/account", "/account/name", &[("display_name", "Sophie A.")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(Some(&browser), "/account").await;
    assert!(
        page.contains("value=\"Sophie A.\"") && page.contains("Votre nom a été changé"),
        "{page}"
    );
}

on_each_backend!(one_changes_ones_name_and_finds_ones_sheet_from_the_account);

async fn nobody_is_told_everyone_sees_what_the_public_cannot(app: &TestApp) {
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let user = app.create_user("julien@example.org", "Julien", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let browser = app.signed_in(&user.email).await;
    let slug = app
        .new_entry(
            &browser,
            "chantier-2",
            "Réunion",
            "event",
            &[
                ("when.start", "2031-03-12T09:30"),
                ("when.end", "2031-03-12T17:00"),
                ("audience", "public"),
            ],
        )
        .await;
    for path in [format!("/s/chantier-2/{slug}"), format!("/s/chantier-2/{slug}/fields")] {
        let (_, page) = app.get_text(Some(&browser), &path).await;
        assert!(!page.contains("Tout le monde"), "{path}: {page}");
        assert!(page.contains("Les personnes qui peuvent lire l'espace"), "{path}");
    }
}

async fn descriptions_keep_their_lists_and_the_site_has_an_icon(app: &TestApp) {
    let space = ruche::spaces::store::create(
        &app.db,
        ruche::spaces::store::NewSpace {
            slug: ruche::spaces::SpaceSlug::parse("chantier-3").expect("slug"),
            title: "Chantier 3".into(),
            description: "Ce chantier :\n\n- invente des dispositifs\n- les formalise".into(),
            visibility: Visibility::Public,
        },
        None,
    )
    .await
    .expect("space");
    let (_, page) = app.get_text(None, &format!("/s/{}", space.slug)).await;
    assert!(page.contains("<li>invente des dispositifs</li>"), "{page}");
    let icon = reqwest::get(app.url("/favicon.svg")).await.expect("GET");
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(page.contains("rel=\"icon\""));
}

on_each_backend!(
    nobody_is_told_everyone_sees_what_the_public_cannot,
    descriptions_keep_their_lists_and_the_site_has_an_icon,
);

#[tokio::test]
async fn the_demo_looks_alive() {
    let app = TestApp::start(Backend::Sqlite).await;
    ruche::demo::fill(&app.db).await.expect("demo");
    let geo = app.get_json("/api/forms/organisation/entries.geojson").await;
    let placed = geo["features"].as_array().map_or(0, Vec::len);
    assert!(placed >= 10, "organisations on the map: {placed}");
    let (_, agenda) = app.get_text(None, "/agenda").await;
    let upcoming = agenda.split("Prochains").nth(1).unwrap_or(&agenda);
    assert!(upcoming.contains("(exemple)"), "the agenda has a future: {agenda}");
    let (_, home) = app.get_text(None, "/").await;
    assert!(home.contains("(exemple)"), "the front page shows the next events");
    let (_, roadmap) = app.get_text(None, "/s/accueil").await;
    assert!(!roadmap.contains("• "), "lists are lists: {roadmap}");
    // A referent's sheet names their organisation like its own sheet does, and links to it.
    let (_, sheet) = app.get_text(None, "/s/annuaire/sophie-aouizerate").await;
    assert!(
        sheet.contains("href=\"/s/structures-cooperantes/savoir-devenir\">Savoir Devenir</a>"),
        "{sheet}"
    );
    // Tables and cards name a linked sheet by its title, never by its address.
    for path in ["/forms/member?view=table", "/forms/member"] {
        let (_, list) = app.get_text(None, path).await;
        assert!(
            list.contains("href=\"/s/structures-cooperantes/savoir-devenir\">Savoir Devenir</a>"),
            "{path}: {list}"
        );
    }
    // A roadmap's contact leads to their sheet and their organisation's.
    app.create_user("visite@example.org", "Visite", true).await;
    let admin = app.signed_in("visite@example.org").await;
    let (_, roadmap) =
        app.get_text(Some(&admin), "/s/chantier-1-competences-metiers/feuille-de-route").await;
    assert!(roadmap.contains("href=\"/s/annuaire/sophie-aouizerate\""), "{roadmap}");
    assert!(roadmap.contains("href=\"/s/structures-cooperantes/savoir-devenir\""), "{roadmap}");
    app.stop().await;
}

async fn the_forms_editor_shows_each_field_only_its_own_settings(app: &TestApp) {
    app.create_user("admin@example.org", "Admin", true).await;
    let admin = app.signed_in("admin@example.org").await;
    let (_, editor) = app.get_text(Some(&admin), "/admin/forms/organisation").await;
    // The organisation form has one list of choices ("Type de structure") and no link to
    // another form: one choices box for it, one for a new field; no target list but the new
    // field's.
    assert_eq!(editor.matches("-choices\"").count() / 2, 2, "{editor}");
    assert!(editor.matches("-target\"").count() <= 2, "{editor}");
}

on_each_backend!(the_forms_editor_shows_each_field_only_its_own_settings);

async fn adding_an_event_is_one_obvious_button(app: &TestApp) {
    let (_, browser) = editor(app).await;
    let (_, agenda) = app.get_text(Some(&browser), "/agenda").await;
    assert!(
        agenda.contains("href=\"/add/event\"") && agenda.contains("Ajouter un événement"),
        "{agenda}"
    );
    // One space to write in: it is named, with who will see the event, and leads to its form.
    let (status, add) = app.get_text(Some(&browser), "/add/event").await;
    assert_eq!(status, StatusCode::OK);
    assert!(add.contains("Il sera ajouté dans l'espace « Chantier 1 »"), "{add}");
    assert!(add.contains(&format!("href=\"/s/{SPACE}/new?form=event\"")), "{add}");
    // Signed out: sign in first, then back here.
    let anonymous = app.browser().get(app.url("/add/resource")).send().await.expect("GET");
    assert_eq!(anonymous.headers()["location"], "/login?next=/add/resource");
}

on_each_backend!(adding_an_event_is_one_obvious_button);

/// A members-only "copil" run by Claire Martin, and Julien Roux signed in, a member of nothing:
/// (Claire's browser, Julien's).
async fn copil_and_an_outsider(app: &TestApp) -> (reqwest::Client, reqwest::Client) {
    let space = app.create_space("copil", "Comité de pilotage", Visibility::Members).await;
    let owner = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&space, &owner, Role::Owner).await;
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let outsider = app.signed_in("julien@example.org").await;
    (app.signed_in("claire@example.org").await, outsider)
}

/// The owner's answer to request `id` of the copil.
async fn answer(
    app: &TestApp,
    owner: &reqwest::Client,
    id: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.post_form(owner, "/s/copil/members", &format!("/s/copil/members/requests/{id}"), fields)
        .await
}

async fn an_outsider_asks_to_join_and_the_owners_answer(app: &TestApp) {
    let (owner_browser, outsider) = copil_and_an_outsider(app).await;

    // The outsider is told who runs the space and may ask.
    let (_, page) = app.get_text(Some(&outsider), "/s/copil").await;
    assert!(page.contains("Claire Martin") && page.contains("Demander à rejoindre"), "{page}");
    let asked = app
        .post_form(
            &outsider,
            "/s/copil",
            "/s/copil/members/requests",
            &[("message", "Je coordonne le chantier 2.\u{202e}")],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(Some(&outsider), "/s/copil").await;
    assert!(page.contains("Vous avez demandé à rejoindre cet espace le"), "{page}");
    assert!(!page.contains("Demander à rejoindre</button>"), "asked once: {page}");

    // The owner sees it on the space, on the home page and on the members page.
    let (_, space_page) = app.get_text(Some(&owner_browser), "/s/copil").await;
    assert!(space_page.contains("Une personne demande à rejoindre cet espace"), "{space_page}");
    let (_, home) = app.get_text(Some(&owner_browser), "/").await;
    assert!(home.contains("Demandes à traiter") && home.contains("/s/copil/members#demandes"));
    let (_, members) = app.get_text(Some(&owner_browser), "/s/copil/members").await;
    assert!(members.contains("Julien Roux") && members.contains("Je coordonne le chantier 2."));
    assert!(!members.contains('\u{202e}'), "direction marks are dropped");
    let id = request_id(&members);

    // Someone else cannot answer it.
    let refused = app
        .post_form(
            &outsider,
            "/s/copil",
            &format!("/s/copil/members/requests/{id}"),
            &[("action", "accept"), ("role", "owner")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let accepted =
        answer(app, &owner_browser, &id, &[("action", "accept"), ("role", "viewer")]).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let (_, members) = app.get_text(Some(&owner_browser), "/s/copil/members").await;
    assert!(members.contains("Julien Roux fait maintenant partie de l'espace"), "{members}");
    assert!(!members.contains("id=\"demandes\""), "nothing waits any more");

    // The person is told, and now reads the space (as a reader: the role chosen).
    let (_, home) = app.get_text(Some(&outsider), "/").await;
    assert!(home.contains("Vos demandes pour rejoindre un espace") && home.contains("acceptée le"));
    let (status, page) = app.get_text(Some(&outsider), "/s/copil").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Rejoindre cet espace"), "{page}");
    let token = app.token_for("julien@example.org").await;
    let roles = app.get_json_as(&token, "/api/spaces/copil/members").await;
    assert!(roles.to_string().contains("\"viewer\""), "{roles}");

    // Answering twice changes nothing.
    let again = answer(app, &owner_browser, &id, &[("action", "decline")]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.get_text(Some(&outsider), "/s/copil").await;
    assert_eq!(status, StatusCode::OK);
}

on_each_backend!(an_outsider_asks_to_join_and_the_owners_answer);

/// The id of the first request on a members page.
fn request_id(members: &str) -> String {
    let start = members.find("/members/requests/").expect("a request on the page") + 18;
    members[start..].chars().take_while(char::is_ascii_digit).collect()
}

async fn a_declined_request_is_told_and_not_asked_again(app: &TestApp) {
    let (owner_browser, outsider) = copil_and_an_outsider(app).await;
    app.post_form(&outsider, "/s/copil", "/s/copil/members/requests", &[("message", "")]).await;
    let (_, members) = app.get_text(Some(&owner_browser), "/s/copil/members").await;
    let id = request_id(&members);
    let declined = answer(app, &owner_browser, &id, &[("action", "decline")]).await;
    assert_eq!(declined.status(), StatusCode::SEE_OTHER);

    let (status, page) = app.get_text(Some(&outsider), "/s/copil").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("a été refusée le"), "{page}");
    assert!(!page.contains("Demander à rejoindre</button>"), "{page}");
    let (_, home) = app.get_text(Some(&outsider), "/").await;
    assert!(home.contains("refusée le"), "{home}");
    // Asking again through a kept form does not put it back in front of the owners.
    app.post_form(&outsider, "/s/copil", "/s/copil/members/requests", &[("message", "Encore")])
        .await;
    let (_, members) = app.get_text(Some(&owner_browser), "/s/copil/members").await;
    assert!(!members.contains("id=\"demandes\""), "{members}");
}

on_each_backend!(a_declined_request_is_told_and_not_asked_again);

async fn only_outsiders_of_a_members_space_may_ask(app: &TestApp) {
    let members_space = app.create_space("copil", "Comité de pilotage", Visibility::Members).await;
    app.create_space("ouvert", "Espace ouvert", Visibility::Public).await;
    let private = app.create_space("secret", "Secret", Visibility::Private).await;
    let member = app.create_user("claire@example.org", "Claire Martin", false).await;
    app.add_member(&members_space, &member, Role::Owner).await;
    app.add_member(&private, &member, Role::Owner).await;
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let outsider = app.signed_in("julien@example.org").await;
    let claire = app.signed_in("claire@example.org").await;

    // A member need not ask; a public space has nothing to ask; a private one does not exist.
    let asked = app.post_form(&claire, "/s/copil", "/s/copil/members/requests", &[]).await;
    assert_eq!(asked.status(), StatusCode::CONFLICT);
    let asked = app.post_form(&outsider, "/s/ouvert", "/s/ouvert/members/requests", &[]).await;
    assert_eq!(asked.status(), StatusCode::CONFLICT);
    let asked = app.post_form(&outsider, "/", "/s/secret/members/requests", &[]).await;
    assert_eq!(asked.status(), StatusCode::NOT_FOUND);
    // Signed out: the page says to sign in, and a post without a session is refused.
    let (_, page) = app.get_text(None, "/s/copil").await;
    assert!(page.contains("/login?next=/s/copil") && !page.contains("Claire Martin"), "{page}");
    let anonymous = app
        .browser()
        .post(app.url("/s/copil/members/requests"))
        .form(&[("message", "x")])
        .send()
        .await
        .expect("POST");
    assert!(anonymous.status().is_client_error(), "{}", anonymous.status());
    // Without a token, the form is refused (CSRF).
    let forged = outsider
        .post(app.url("/s/copil/members/requests"))
        .form(&[("message", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

on_each_backend!(only_outsiders_of_a_members_space_may_ask);

async fn an_entry_is_made_only_when_its_form_is_valid(app: &TestApp) {
    let (token, browser) = editor(app).await;
    let path = format!("/s/{SPACE}/new?form=event");
    let (_, form) = app.get_text(Some(&browser), &path).await;
    assert!(form.contains("name=\"_title\"") && form.contains("name=\"when.start\""), "{form}");
    // Giving up halfway, or sending an invalid form, leaves nothing behind.
    let refused = app
        .post_form(
            &browser,
            &path,
            &path,
            &[("_title", "Assemblée générale"), ("when.start", ""), ("audience", "public")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.expect("body");
    assert!(html.contains("value=\"Assemblée générale\""), "what was typed is kept");
    let untitled = app
        .post_form(
            &browser,
            &path,
            &path,
            &[
                ("_title", " "),
                ("when.start", "2031-03-12T09:30"),
                ("when.end", "2031-03-12T12:00"),
                ("audience", "public"),
            ],
        )
        .await;
    assert_eq!(untitled.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listed = app.get_json_as(&token, &format!("/api/spaces/{SPACE}/pages")).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "no empty entry: {listed}");

    // The form of the new page's kind leads to the same form, nothing made yet.
    let chosen = app
        .post_form(
            &browser,
            &format!("/s/{SPACE}/new"),
            &format!("/s/{SPACE}/pages"),
            &[("title", "Assemblée générale"), ("form", "event")],
        )
        .await;
    assert_eq!(
        chosen.headers()["location"],
        format!("/s/{SPACE}/new?form=event&title=Assembl%C3%A9e+g%C3%A9n%C3%A9rale")
    );

    // Valid: made at once, with its fields; an organisation takes its name as title.
    let slug = app
        .new_entry(
            &browser,
            SPACE,
            "Assemblée générale",
            "event",
            &[
                ("when.start", "2031-03-12T09:30"),
                ("when.end", "2031-03-12T12:00"),
                ("audience", "public"),
            ],
        )
        .await;
    let (_, page) = app.get_text(None, &format!("/s/{SPACE}/{slug}")).await;
    assert!(page.contains("mercredi 12 mars 2031"), "{page}");
    let slug =
        app.new_entry(&browser, SPACE, "", "organisation", &[("name", "Savoir Devenir")]).await;
    assert_eq!(slug, "savoir-devenir");
}

on_each_backend!(an_entry_is_made_only_when_its_form_is_valid);

/// The first `<time>` of a page: its machine value and the moment it says in words.
fn first_time(page: &str) -> (chrono::DateTime<chrono::Utc>, String) {
    let doc = scraper::Html::parse_document(page);
    let selector = scraper::Selector::parse("time[title]").expect("selector");
    let time = doc.select(&selector).next().expect("a <time> with its exact moment");
    let at = time.value().attr("datetime").expect("datetime");
    let at =
        chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339").with_timezone(&chrono::Utc);
    (at, time.value().attr("title").expect("title").to_owned())
}

async fn a_person_may_read_times_in_their_own_zone(app: &TestApp) {
    let (token, browser) = editor(app).await;
    app.put_page(&token, SPACE, "notes", "Texte").await;
    let path = format!("/s/{SPACE}/notes");
    let (_, page) = app.get_text(Some(&browser), &path).await;
    let (at, said) = first_time(&page);
    let paris = ruche::dates::parse_zone("Europe/Paris").expect("zone");
    assert_eq!(said, ruche::dates::moment(ruche::i18n::Lang::Fr, paris, at), "the site's zone");

    let refused = app
        .post_form(&browser, "/account", "/account/time-zone", &[("time_zone", "Mars/Olympus")])
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let saved = app
        .post_form(&browser, "/account", "/account/time-zone", &[("time_zone", "Pacific/Noumea")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, account) = app.get_text(Some(&browser), "/account").await;
    assert!(account.contains("<option value=\"Pacific/Noumea\" selected"), "{account}");
    let (_, page) = app.get_text(Some(&browser), &path).await;
    let noumea = ruche::dates::parse_zone("Pacific/Noumea").expect("zone");
    assert_eq!(first_time(&page).1, ruche::dates::moment(ruche::i18n::Lang::Fr, noumea, at));
    // Others still read the site's time.
    let (_, page) = app.get_text(None, &path).await;
    assert_eq!(first_time(&page).1, ruche::dates::moment(ruche::i18n::Lang::Fr, paris, at));
}

on_each_backend!(a_person_may_read_times_in_their_own_zone);

async fn spaces_are_found_by_their_name_and_description(app: &TestApp) {
    app.create_space("chantier-2", "Chantier 2 : Outils financiers", Visibility::Members).await;
    let secret = app.create_space("copil", "Comité de pilotage", Visibility::Private).await;
    let member = app.create_user("claire@example.org", "Claire", false).await;
    app.add_member(&secret, &member, Role::Owner).await;
    let (_, found) = app.get_text(None, "/search?q=Financiers").await;
    assert!(found.contains("href=\"/s/chantier-2\""), "{found}");
    let json = app.get_json("/api/search?q=financiers").await;
    assert_eq!(json["matching_spaces"][0]["url"], "/s/chantier-2", "{json}");
    // A private space is found by its members only.
    let (_, found) = app.get_text(None, "/search?q=pilotage").await;
    assert!(!found.contains("/s/copil"), "{found}");
    let browser = app.signed_in("claire@example.org").await;
    let (_, found) = app.get_text(Some(&browser), "/search?q=comite").await;
    assert!(found.contains("href=\"/s/copil\""), "{found}");
}

on_each_backend!(spaces_are_found_by_their_name_and_description);
