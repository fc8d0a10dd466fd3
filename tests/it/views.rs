//! The directory, agenda, resources, map and exports, as each kind of reader sees them:
//! members-only events and fields never reach anyone else — HTML, JSON, CSV, GeoJSON and ICS.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::TestApp;
use icalendar::{Component, EventLike};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    every_view_and_export_keeps_members_only_things_to_members,
    the_calendar_feed_parses_with_the_right_instants,
    a_profile_belongs_to_its_account
);

/// A public home space with Sophie as editor, a members-only chantier, and their entries.
async fn network(app: &TestApp) -> (reqwest::Client, String) {
    let home = app.create_space("accueil", "Chantiers coopératifs", Visibility::Public).await;
    let chantier = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let sophie = app.create_user("sophie@example.org", "Sophie Aouizerate", false).await;
    app.add_member(&home, &sophie, Role::Editor).await;
    app.add_member(&chantier, &sophie, Role::Editor).await;
    let browser = app.signed_in("sophie@example.org").await;
    app.new_entry(
        &browser,
        "accueil",
        "Restitution de la démarche",
        "event",
        &[
            ("when.start", "2025-03-27T09:30"),
            ("when.end", "2025-03-27T17:00"),
            ("when.tz", "Europe/Paris"),
            ("place", "Paris, Maison de l'ESS"),
            ("audience", "public"),
        ],
    )
    .await;
    app.new_entry(
        &browser,
        "accueil",
        "Journée interchantiers secrète",
        "event",
        &[
            ("when.start", "2024-10-02T10:00"),
            ("when.end", "2024-10-02T16:00"),
            ("audience", "members"),
            ("place", "Lieu réservé aux membres"),
        ],
    )
    .await;
    app.new_entry(
        &browser,
        "chantier-2",
        "Atelier outils financiers",
        "event",
        &[("when.start", "2024-05-14T14:00"), ("audience", "public")],
    )
    .await;
    app.new_entry(
        &browser,
        "accueil",
        "Le Labo de l'ESS",
        "organisation",
        &[
            ("name", "Le Labo de l'ESS"),
            ("point.lat", "48.8717"),
            ("point.lon", "2.3431"),
            ("themes", "coopération, ESS"),
            ("type", "association"),
        ],
    )
    .await;
    app.new_entry(
        &browser,
        "chantier-2",
        "Centsept",
        "organisation",
        &[("name", "Centsept"), ("point.lat", "45.76"), ("point.lon", "4.83")],
    )
    .await;
    app.new_entry(
        &browser,
        "accueil",
        "Référentiel métier de la coopération territoriale",
        "resource",
        &[("type", "référentiel"), ("themes", "chantier 1")],
    )
    .await;
    app.new_entry(
        &browser,
        "chantier-2",
        "Note interne sur les financements",
        "resource",
        &[("type", "fiche")],
    )
    .await;
    (browser, app.token_for("sophie@example.org").await)
}

const SECRETS: &[&str] = &[
    "Journée interchantiers secrète",
    "Lieu réservé aux membres",
    "Atelier outils financiers",
    "Centsept",
    "Note interne sur les financements",
];

async fn every_view_and_export_keeps_members_only_things_to_members(app: &TestApp) {
    let (sophie, token) = network(app).await;
    app.create_user("outsider@example.org", "Outsider", false).await;
    let outsider = app.signed_in("outsider@example.org").await;

    let paths = [
        "/agenda?when=past",
        "/agenda?when=past&month=2024-10",
        "/s/accueil/agenda?when=past",
        "/agenda.ics",
        "/s/accueil/agenda.ics",
        "/resources",
        "/map",
        "/directory",
        "/forms/event",
        "/forms/event?view=table",
        "/forms/organisation",
        "/api/forms/event/entries",
        "/api/forms/event/entries.csv",
        "/api/forms/event/entries.ics",
        "/api/forms/organisation/entries",
        "/api/forms/organisation/entries.csv",
        "/api/forms/organisation/entries.geojson",
        "/api/forms/resource/entries",
        "/api/forms/resource/entries.csv",
        "/changes",
        "/changes.atom",
    ];
    for (who, client) in [("anonymous", None), ("outsider", Some(&outsider))] {
        for path in paths {
            let (status, body) = app.get_text(client, path).await;
            assert_eq!(status, StatusCode::OK, "{who} {path}");
            for secret in SECRETS {
                assert!(!body.contains(secret), "{who} sees {secret:?} on {path}");
            }
        }
        let (_, agenda) = app.get_text(client, "/agenda?when=past").await;
        assert!(agenda.contains("Restitution de la démarche"), "{who} sees the public event");
        let (_, map) = app.get_text(client, "/api/forms/organisation/entries.geojson").await;
        assert!(map.contains("Le Labo de l'ESS"));
    }
    // The members-only event's own page is unseen, like a page that does not exist.
    let (status, _) = app.get_text(None, "/s/accueil/journee-interchantiers-secrete").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get_text(None, "/api/pages/accueil/journee-interchantiers-secrete").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        app.get_text(Some(&outsider), "/s/accueil/journee-interchantiers-secrete").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The member sees everything, in every form.
    for path in ["/agenda?when=past", "/api/forms/event/entries", "/api/forms/event/entries.csv"] {
        let (_, body) = app.get_text(Some(&sophie), path).await;
        assert!(body.contains("Journée interchantiers secrète"), "member on {path}");
        assert!(body.contains("Atelier outils financiers"), "member on {path}");
    }
    let (_, map) = app.get_text(Some(&sophie), "/map").await;
    assert!(map.contains("Centsept"));
    let (_, resources) = app.get_text(Some(&sophie), "/resources").await;
    assert!(resources.contains("Note interne sur les financements"));
    let json: serde_json::Value = reqwest::Client::new()
        .get(app.url("/api/forms/resource/entries"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2, "the API token reads as its owner");

    // Calendar applications get members-only events through the personal address only.
    let created = app.post_form(&sophie, "/changes", "/changes/feed-token", &[]).await;
    let shown = created.text().await.unwrap();
    let calendar_url = shown
        .split("<code class=\"secret calendar\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the personal calendar address is shown once")
        .to_owned();
    let feed_token = calendar_url.split("token=").nth(1).unwrap().to_owned();
    assert_eq!(calendar_url, app.url(&format!("/agenda.ics?token={feed_token}")));
    let (status, personal) = app.get_text(None, &format!("/agenda.ics?token={feed_token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(personal.contains("Journée interchantiers secrète"));
    let (status, _) = app.get_text(None, "/agenda.ics?token=not-a-real-token").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a wrong personal address is refused");
    let (status, _) = app.get_text(None, "/s/chantier-2/agenda.ics").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, space_feed) =
        app.get_text(None, &format!("/s/chantier-2/agenda.ics?token={feed_token}")).await;
    assert!(space_feed.contains("Atelier outils financiers"));

    // Filters narrow lists by field values and free text (accents folded).
    let (_, filtered) = app.get_text(None, "/directory?field.themes=ESS").await;
    assert!(filtered.contains("Le Labo de l&#39;ESS") || filtered.contains("Le Labo de l'ESS"));
    let (_, none) = app.get_text(None, "/resources?q=cooperation+territoriale").await;
    assert!(none.contains("Référentiel métier"), "free text ignores accents");
    let (_, typed) = app.get_text(None, "/resources?field.type=rapport").await;
    assert!(!typed.contains("Référentiel métier"), "filtered out by type");
}

async fn the_calendar_feed_parses_with_the_right_instants(app: &TestApp) {
    network(app).await;
    let (_, text) = app.get_text(None, "/agenda.ics").await;
    let calendar: icalendar::Calendar = text.parse().expect("valid iCalendar");
    let events: Vec<icalendar::Event> = calendar
        .components
        .iter()
        .filter_map(|c| match c {
            icalendar::CalendarComponent::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 1, "only the public event of a readable space: {text}");
    let event = &events[0];
    assert_eq!(event.get_summary(), Some("Restitution de la démarche"));
    let instant = |d: Option<icalendar::DatePerhapsTime>| match d {
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Utc(t))) => {
            t.to_rfc3339()
        }
        other => panic!("expected a UTC instant, got {other:?}"),
    };
    // 09:30 and 17:00 in Paris, in March (winter time, UTC+1).
    assert_eq!(instant(event.get_start()), "2025-03-27T08:30:00+00:00");
    assert_eq!(instant(event.get_end()), "2025-03-27T16:00:00+00:00");
    assert_eq!(
        event.get_url(),
        Some(app.url("/s/accueil/restitution-de-la-demarche").as_str()),
        "the URL leads back to the event"
    );
    assert_eq!(event.get_location(), Some("Paris, Maison de l'ESS"));
    let uid = event.get_uid().expect("a UID").to_owned();
    let (_, again) = app.get_text(None, "/agenda.ics").await;
    assert!(again.contains(&format!("UID:{uid}")), "the UID stays the same");
    let response = reqwest::get(app.url("/agenda.ics")).await.unwrap();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
}

async fn a_profile_belongs_to_its_account(app: &TestApp) {
    app.create_user("celine@example.org", "Céline Coubard", false).await;
    app.create_user("julien@example.org", "Julien Neiertz", false).await;
    let celine = app.signed_in("celine@example.org").await;
    let julien = app.signed_in("julien@example.org").await;
    let created = app.post_form(&celine, "/account/profile", "/account/profile", &[]).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let fields = created.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(fields, "/s/annuaire/celine-coubard/fields");
    let saved = app
        .post_form(
            &celine,
            &fields,
            &fields,
            &[
                ("name", "Céline Coubard"),
                ("function", "Coordinatrice"),
                ("email", "celine.coubard@example.org"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "she edits her own profile");
    // Only once: a second request leads to the same profile.
    let again = app.post_form(&celine, "/directory", "/account/profile", &[]).await;
    assert_eq!(again.headers()["location"].to_str().unwrap(), fields);

    // Someone else may read it, contact included once signed in, but not change it.
    let (status, _) = app.get_text(Some(&julien), &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, seen) = app.get_text(Some(&julien), "/directory").await;
    assert!(seen.contains("Céline Coubard") && seen.contains("Coordinatrice"));
    let (_, profile) = app.get_text(Some(&julien), "/s/annuaire/celine-coubard").await;
    assert!(profile.contains("celine.coubard@example.org"), "signed-in people see the contact");
    for path in [
        "/s/annuaire/celine-coubard",
        "/directory",
        "/api/forms/member/entries",
        "/api/forms/member/entries.csv",
    ] {
        let (_, anonymous) = app.get_text(None, path).await;
        assert!(anonymous.contains("Céline Coubard"), "{path}");
        assert!(
            !anonymous.contains("celine.coubard@example.org"),
            "anonymous sees the contact on {path}"
        );
    }
}
