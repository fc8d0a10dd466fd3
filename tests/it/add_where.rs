//! Adding from a site-wide page (issue 33 §3): *Ajouter un événement* on the agenda asks in
//! which space, among those where the person may add, and says who will see the entry there;
//! nothing lands in a space the person did not choose.
use crate::common;

use common::TestApp;
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

/// Sophie writes in a public chantier and in a members' workshop, only reads another public
/// space, and is in no way part of a private committee: her browser.
async fn sophie_in_several_spaces(app: &TestApp) -> reqwest::Client {
    let sophie = app.create_user("sophie@example.org", "Sophie Aouizerate", false).await;
    let public = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    // Titled to come first by name: public spaces must still come before it.
    let members = app.create_space("atelier", "Atelier des membres", Visibility::Members).await;
    let read_only = app.create_space("lecture", "Bibliothèque", Visibility::Public).await;
    app.create_space("comite", "Comité secret", Visibility::Private).await;
    app.add_member(&public, &sophie, Role::Editor).await;
    app.add_member(&members, &sophie, Role::Editor).await;
    app.add_member(&read_only, &sophie, Role::Viewer).await;
    app.signed_in("sophie@example.org").await
}

async fn adding_an_event_from_the_agenda_asks_in_which_space(app: &TestApp) {
    let sophie = sophie_in_several_spaces(app).await;
    let (_, agenda) = app.get_text(Some(&sophie), "/agenda").await;
    assert!(agenda.contains("href=\"/add/event\""), "{agenda}");
    let (status, step) = app.get_text(Some(&sophie), "/add/event").await;
    assert_eq!(status, StatusCode::OK);
    assert!(step.contains("Dans quel espace ?"), "{step}");
    // Only the spaces where she may add: not the one she only reads, never the private one.
    assert!(step.contains("type=\"radio\" name=\"space\" value=\"chantier-1\""), "{step}");
    assert!(step.contains("type=\"radio\" name=\"space\" value=\"atelier\""), "{step}");
    assert!(!step.contains("value=\"lecture\""), "{step}");
    assert!(!step.contains("comite") && !step.contains("Comité secret"), "{step}");
    // Public first, and who will see it there, in words.
    let public = step.find("value=\"chantier-1\"").expect("chantier 1");
    let members = step.find("value=\"atelier\"").expect("atelier");
    assert!(public < members, "public spaces first: {step}");
    assert!(step.contains("Visible par tout le monde"), "{step}");
    // The space's name is just above: not said twice.
    assert!(step.contains("Visible par les membres de cet espace seulement."), "{step}");
    // No space is chosen for her.
    assert!(!step.contains("checked"), "{step}");
}

on_each_backend!(adding_an_event_from_the_agenda_asks_in_which_space);

async fn the_chosen_space_gets_the_entry_and_its_form_says_who_will_see_it(app: &TestApp) {
    let sophie = sophie_in_several_spaces(app).await;
    let chosen =
        sophie.get(app.url("/add/event?space=atelier&step=space")).send().await.expect("GET");
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let form = chosen.headers()["location"].to_str().expect("location").to_owned();
    assert_eq!(form, "/s/atelier/new?form=event");
    let (_, page) = app.get_text(Some(&sophie), &form).await;
    assert!(page.contains("Qui le verra ?"), "{page}");
    assert!(
        page.contains("Visible par les membres de « Atelier des membres » seulement"),
        "{page}"
    );
    let slug = app
        .new_entry(
            &sophie,
            "atelier",
            "Webinaire ouvert",
            "event",
            &[
                ("when.start", "2030-03-12T14:00"),
                ("when.end", "2030-03-12T17:00"),
                ("when.tz", "Europe/Paris"),
                ("audience", "public"),
            ],
        )
        .await;
    let (status, _) = app.get_text(Some(&sophie), &format!("/s/atelier/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get_text(Some(&sophie), &format!("/s/chantier-1/{slug}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing in a space she did not choose");
    // In a public space, the event's form says it is public unless kept for the members.
    let (_, public) = app.get_text(Some(&sophie), "/s/chantier-1/new?form=event").await;
    assert!(public.contains("Visible par tout le monde, même sans compte, sauf si"), "{public}");
}

on_each_backend!(the_chosen_space_gets_the_entry_and_its_form_says_who_will_see_it);

async fn a_space_not_offered_cannot_be_chosen(app: &TestApp) {
    let sophie = sophie_in_several_spaces(app).await;
    for refused in ["comite", "lecture", "nulle-part"] {
        let path = format!("/add/resource?space={refused}&step=space");
        let (status, step) = app.get_text(Some(&sophie), &path).await;
        assert_eq!(status, StatusCode::OK, "{refused}: asked again, not sent on");
        assert!(step.contains("Choisissez un espace dans la liste"), "{step}");
        assert!(!step.contains("Comité secret"), "{step}");
    }
    // Sent without a choice: asked again, saying what to do.
    let (_, step) = app.get_text(Some(&sophie), "/add/resource?step=space").await;
    assert!(step.contains("Choisissez un espace dans la liste"), "{step}");
}

on_each_backend!(a_space_not_offered_cannot_be_chosen);

async fn one_space_to_add_in_is_named_with_who_will_see_it(app: &TestApp) {
    let claire = app.create_user("claire@example.org", "Claire Martin", false).await;
    let comite = app.create_space("comite", "Comité", Visibility::Private).await;
    app.add_member(&comite, &claire, Role::Editor).await;
    let claire = app.signed_in("claire@example.org").await;
    let (status, step) = app.get_text(Some(&claire), "/add/resource").await;
    assert_eq!(status, StatusCode::OK, "said, not done silently");
    assert!(step.contains("Il sera ajouté dans l'espace « Comité »"), "{step}");
    assert!(
        step.contains("Visible par les membres de « Comité » seulement (espace privé)"),
        "{step}"
    );
    assert!(step.contains("href=\"/s/comite/new?form=resource\""), "{step}");
}

on_each_backend!(one_space_to_add_in_is_named_with_who_will_see_it);

async fn no_space_to_add_in_says_how_to_join_one(app: &TestApp) {
    app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    app.create_user("julien@example.org", "Julien Roux", false).await;
    let julien = app.signed_in("julien@example.org").await;
    let (status, step) = app.get_text(Some(&julien), "/add/event").await;
    assert_eq!(status, StatusCode::OK);
    assert!(step.contains("Rejoindre cet espace"), "{step}");
    assert!(!step.contains("name=\"space\""), "{step}");
}

on_each_backend!(no_space_to_add_in_says_how_to_join_one);

async fn a_new_page_offers_the_kinds_that_belong_in_its_space(app: &TestApp) {
    let sophie = sophie_in_several_spaces(app).await;
    let user = ruche::accounts::store::find_by_email(&app.db, "sophie@example.org")
        .await
        .expect("lookup")
        .expect("Sophie's account");
    let structures = app.create_space("structures", "Structures", Visibility::Public).await;
    app.add_member(&structures, &user, Role::Editor).await;
    app.new_entry(&sophie, "structures", "Centsept", "organisation", &[("name", "Centsept")]).await;
    let (_, minutes) = app.get_text(Some(&sophie), "/s/chantier-1/new").await;
    assert!(minutes.contains("Ce que vous écrivez"), "{minutes}");
    for offered in ["value=\"\"", "value=\"event\"", "value=\"resource\"", "value=\"discussion\""] {
        assert!(minutes.contains(&format!("type=\"radio\" name=\"form\" {offered}")), "{minutes}");
    }
    assert!(minutes.contains("Une rencontre, un atelier, un webinaire"), "in words: {minutes}");
    assert!(!minutes.contains("value=\"member\""), "{minutes}");
    assert!(!minutes.contains("value=\"organisation\""), "{minutes}");
    let (_, kept) = app.get_text(Some(&sophie), "/s/structures/new").await;
    assert!(kept.contains("value=\"organisation\""), "where organisations are kept: {kept}");
}

on_each_backend!(a_new_page_offers_the_kinds_that_belong_in_its_space);
