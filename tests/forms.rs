//! Entries of forms: validated on the server, written into the live document, projected into
//! SQL, and members-only fields kept from everyone else.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod common;

use common::{yclient::YClient, TestApp};
use reqwest::StatusCode;
use ruche::spaces::{Role, Visibility};

on_each_backend!(
    an_event_is_validated_and_reaches_live_clients,
    members_only_fields_never_reach_outsiders
);

async fn an_event_is_validated_and_reaches_live_clients(app: &TestApp) {
    let space = app.create_space("chantier-1", "Chantier 1", Visibility::Public).await;
    let user = app.create_user("sophie@example.org", "Sophie", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("sophie@example.org").await;
    let browser = app.signed_in("sophie@example.org").await;

    let created = app
        .post_form(
            &browser,
            "/s/chantier-1/new?form=event",
            "/s/chantier-1/pages",
            &[("title", "Restitution de la démarche"), ("form", "event")],
        )
        .await;
    assert_eq!(created.headers()["location"], "/s/chantier-1/restitution-de-la-demarche/fields");
    let url = "/s/chantier-1/restitution-de-la-demarche/fields";
    let live =
        YClient::connect(&app.ws_url("chantier-1", "restitution-de-la-demarche"), Some(&token))
            .await;

    // End before start: refused, what was typed is kept, nothing is stored.
    let refused = app
        .post_form(
            &browser,
            url,
            url,
            &[
                ("when.start", "2025-03-27T18:00"),
                ("when.end", "2025-03-27T09:00"),
                ("place", "Paris, Maison de l'ESS"),
                ("audience", "public"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("La fin doit venir après le début."));
    assert!(
        html.contains("value=\"Paris, Maison de l&#39;ESS\"")
            || html.contains("value=\"Paris, Maison de l'ESS\""),
        "typed values are kept"
    );
    let api: serde_json::Value = reqwest::Client::new()
        .get(app.url("/api/pages/chantier-1/restitution-de-la-demarche"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["fields"], serde_json::json!({}), "nothing stored");

    let saved = app
        .post_form(
            &browser,
            url,
            url,
            &[
                ("when.start", "2025-03-27T09:30"),
                ("when.end", "2025-03-27T17:00"),
                ("when.tz", "Europe/Paris"),
                ("place", "Paris"),
                ("audience", "public"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    common::yclient::wait_until("the live client to receive the fields", || {
        live.fields().get("when").cloned()
    })
    .await;
    assert_eq!(live.fields()["place"], "Paris");
    let page = reqwest::get(app.url("/s/chantier-1/restitution-de-la-demarche"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("2025-03-27 09:30") && page.contains("Paris"));

    // Projected into SQL with the right instant (09:30 in Paris in March is 08:30 UTC).
    use ruche::forms::entity::entry_field;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut starts = None;
    for _ in 0..200 {
        starts = entry_field::Entity::find()
            .filter(entry_field::Column::Key.eq("when"))
            .one(&app.db)
            .await
            .unwrap()
            .and_then(|r| r.starts_at);
        if starts.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(starts.unwrap().to_rfc3339(), "2025-03-27T08:30:00+00:00");
}

async fn members_only_fields_never_reach_outsiders(app: &TestApp) {
    let space = app.create_space("equipe", "Équipe", Visibility::Public).await;
    let user = app.create_user("celine@example.org", "Céline", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("celine@example.org").await;
    let browser = app.signed_in("celine@example.org").await;
    app.post_form(
        &browser,
        "/s/equipe/new",
        "/s/equipe/pages",
        &[("title", "Céline Coubard"), ("form", "member")],
    )
    .await;
    let url = "/s/equipe/celine-coubard/fields";
    let saved = app
        .post_form(
            &browser,
            url,
            url,
            &[
                ("name", "Céline Coubard"),
                ("email", "celine.coubard@example.org"),
                ("phone", "01 23 45 67 89"),
                ("function", "Coordinatrice"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let member_view = browser
        .get(app.url("/s/equipe/celine-coubard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(member_view.contains("celine.coubard@example.org"), "members see the contact");

    app.create_user("outsider@example.org", "Outsider", false).await;
    let outsider_token = app.token_for("outsider@example.org").await;
    let anonymous =
        reqwest::get(app.url("/s/equipe/celine-coubard")).await.unwrap().text().await.unwrap();
    assert!(anonymous.contains("Coordinatrice"));
    for secret in ["celine.coubard@example.org", "01 23 45 67 89"] {
        assert!(!anonymous.contains(secret), "anonymous HTML leaks {secret}");
    }
    for (who, bearer) in [("anonymous", None), ("outsider", Some(outsider_token.as_str()))] {
        let mut request = reqwest::Client::new().get(app.url("/api/pages/equipe/celine-coubard"));
        if let Some(t) = bearer {
            request = request.bearer_auth(t);
        }
        let json = request.send().await.unwrap().text().await.unwrap();
        assert!(
            json.contains("Coordinatrice") && !json.contains("celine.coubard@example.org"),
            "{who}: {json}"
        );
    }
    assert_eq!(
        common::yclient::open(&app.ws_url("equipe", "celine-coubard"), None).await.err(),
        Some(401)
    );
    assert_eq!(
        common::yclient::open(&app.ws_url("equipe", "celine-coubard"), Some(&outsider_token))
            .await
            .err(),
        Some(403)
    );
    assert!(common::yclient::open(&app.ws_url("equipe", "celine-coubard"), Some(&token))
        .await
        .is_ok());
}
