//! Discussions (issue 18): comments under pages, with replies, moderation, who may comment,
//! live changes, and the same access rules everywhere a comment shows.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::time::Duration;

use common::TestApp;
use reqwest::StatusCode;
use ruche::spaces::{Role, Space, Visibility};

on_each_backend!(
    people_comment_reply_edit_delete_and_owners_moderate,
    who_may_comment_follows_the_space_setting,
    a_private_spaces_comments_reach_nobody_outside,
    bad_comments_are_refused_with_the_reason_and_nothing_is_stored,
    readers_on_the_page_are_told_of_each_change,
    a_mention_in_a_comment_tells_a_member_and_not_an_outsider,
    exchanges_gather_topics_and_pages_with_comments,
    comments_are_searched_exported_backed_up_and_purged_with_their_page
);

/// A space with its owner Sophie, editor Claire, viewer Julien, and Léa, signed up but in no
/// space; a page "notes" written by Claire.
async fn people(app: &TestApp, visibility: Visibility) -> Space {
    let space = app.create_space("chantier-1", "Chantier 1", visibility).await;
    for (email, name, role) in [
        ("sophie@example.org", "Sophie Aouizerate", Some(Role::Owner)),
        ("claire@example.org", "Claire Martin", Some(Role::Editor)),
        ("julien@example.org", "Julien Roux", Some(Role::Viewer)),
        ("lea@example.org", "Léa Moreau", None),
    ] {
        let user = app.create_user(email, name, false).await;
        if let Some(role) = role {
            app.add_member(&space, &user, role).await;
        }
    }
    let token = app.token_for("claire@example.org").await;
    app.put_page(&token, "chantier-1", "notes", "Ordre du jour de la réunion.").await;
    space
}

const PAGE: &str = "/s/chantier-1/notes";
const API: &str = "/api/pages/chantier-1/notes/comments";

/// Posts a comment through the API as the holder of `token` (none: anonymous).
async fn api_post(
    app: &TestApp,
    token: Option<&str>,
    body: serde_json::Value,
) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(app.url(API)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn comments(app: &TestApp, token: &str) -> Vec<serde_json::Value> {
    app.get_json_as(token, API).await["comments"].as_array().unwrap().clone()
}

/// The comment id a form's redirect leads to (`…#comment-12`).
fn anchor(response: &reqwest::Response) -> i64 {
    let location = response.headers()["location"].to_str().unwrap();
    location.rsplit("#comment-").next().unwrap().parse().unwrap()
}

async fn people_comment_reply_edit_delete_and_owners_moderate(app: &TestApp) {
    people(app, Visibility::Members).await;
    let claire = app.signed_in("claire@example.org").await;
    let (_, page) = app.get_text(Some(&claire), PAGE).await;
    assert!(page.contains("Pas encore de commentaire"), "{page}");
    // Claire comments with the form (no JavaScript needed).
    let posted = app
        .post_form(
            &claire,
            PAGE,
            &format!("{PAGE}/comments"),
            &[("markdown", "Je propose **mardi**.")],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let first = anchor(&posted);
    let (_, page) = app.get_text(Some(&claire), PAGE).await;
    assert!(page.contains("<strong>mardi</strong>"), "rendered: {page}");
    assert!(page.contains("Claire Martin") && page.contains(">CM<"), "name and initials");
    assert!(page.contains(&format!("id=\"comment-{first}\"")));

    // Julien (a viewer: a member) replies through the API; a reply to his reply joins the thread.
    let julien = app.token_for("julien@example.org").await;
    let reply = api_post(
        app,
        Some(&julien),
        serde_json::json!({"markdown": "Mardi me va.", "reply_to": first}),
    )
    .await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    let reply: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(reply["reply_to"], first);
    assert_eq!(reply["author"], "Julien Roux");
    assert!(reply["html"].as_str().unwrap().contains("Mardi me va."));
    let deeper = api_post(
        app,
        Some(&julien),
        serde_json::json!({"markdown": "Et 14 h ?", "reply_to": reply["id"]}),
    )
    .await;
    let deeper: serde_json::Value = deeper.json().await.unwrap();
    assert_eq!(deeper["reply_to"], first, "replies are one level deep");

    // Claire edits hers: "modifié". Julien may not edit it.
    let edit = format!("{PAGE}/comments/{first}/edit");
    let edited =
        app.post_form(&claire, &edit, &edit, &[("markdown", "Je propose **mercredi**.")]).await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(Some(&claire), PAGE).await;
    assert!(page.contains("<strong>mercredi</strong>") && page.contains("modifié"), "{page}");
    let refused = reqwest::Client::new()
        .patch(app.url(&format!("/api/comments/{first}")))
        .bearer_auth(&julien)
        .json(&serde_json::json!({"markdown": "piraté"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Julien deletes his last reply.
    let gone = reqwest::Client::new()
        .delete(app.url(&format!("/api/comments/{}", deeper["id"])))
        .bearer_auth(&julien)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);

    // Sophie (owner) hides Claire's comment: others read "masqué", she reads its text.
    let sophie = app.signed_in("sophie@example.org").await;
    let hide = format!("{PAGE}/comments/{first}/hide");
    let hidden = app.post_form(&sophie, PAGE, &hide, &[("action", "hide")]).await;
    assert_eq!(hidden.status(), StatusCode::SEE_OTHER);
    let julien_browser = app.signed_in("julien@example.org").await;
    let (_, seen) = app.get_text(Some(&julien_browser), PAGE).await;
    assert!(seen.contains("masqué par la modération") && !seen.contains("mercredi"), "{seen}");
    let (_, owner_sees) = app.get_text(Some(&sophie), PAGE).await;
    assert!(owner_sees.contains("mercredi") && owner_sees.contains("Afficher de nouveau"));
    let as_api = comments(app, &julien).await;
    assert_eq!(as_api[0]["markdown"], "", "the API hides it too: {as_api:?}");
    // Julien may not moderate.
    let not_his = app.post_form(&julien_browser, PAGE, &hide, &[("action", "show")]).await;
    assert_eq!(not_his.status(), StatusCode::FORBIDDEN);
    app.post_form(&sophie, PAGE, &hide, &[("action", "show")]).await;

    // Claire deletes hers (asked first): the thread stays readable.
    let delete = format!("{PAGE}/comments/{first}/delete");
    let (status, ask) = app.get_text(Some(&claire), &delete).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ask.contains("Supprimer ce commentaire"), "{ask}");
    let deleted = app.post_form(&claire, &delete, &delete, &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(Some(&julien_browser), PAGE).await;
    assert!(page.contains("Commentaire supprimé") && page.contains("Mardi me va."), "{page}");
    assert!(!page.contains("mercredi") && !page.contains("Et 14 h"), "{page}");

    // Recent changes say it, and lead to the comment.
    let (_, changes) = app.get_text(Some(&julien_browser), "/s/chantier-1/changes").await;
    assert!(changes.contains("nouveau commentaire de Julien Roux sur « Notes »"), "{changes}");
    assert!(changes.contains(&format!("#comment-{}", reply["id"])), "{changes}");
}

/// Sets who may comment in chantier-1, as its owner.
async fn set_policy(app: &TestApp, policy: &str, visibility: &str) {
    let sophie = app.signed_in("sophie@example.org").await;
    let settings = "/s/chantier-1/settings";
    let saved = app
        .post_form(
            &sophie,
            settings,
            settings,
            &[
                ("title", "Chantier 1"),
                ("description", ""),
                ("visibility", visibility),
                ("comments", policy),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
}

async fn who_may_comment_follows_the_space_setting(app: &TestApp) {
    people(app, Visibility::Public).await;
    let mut tokens = vec![("anonymous", None)];
    for (who, email) in [
        ("outsider", "lea@example.org"),
        ("viewer", "julien@example.org"),
        ("editor", "claire@example.org"),
        ("owner", "sophie@example.org"),
    ] {
        tokens.push((who, Some(app.token_for(email).await)));
    }
    // (setting, expected status for anonymous, outsider, viewer, editor, owner)
    let cases = [
        ("members", [401, 403, 201, 201, 201]),
        ("readers", [401, 201, 201, 201, 201]),
        ("nobody", [401, 403, 403, 403, 403]),
    ];
    for (policy, expected) in cases {
        set_policy(app, policy, "public").await;
        for ((who, token), want) in tokens.iter().zip(expected) {
            let response = api_post(
                app,
                token.as_deref(),
                serde_json::json!({"markdown": format!("{who} {policy}")}),
            )
            .await;
            assert_eq!(response.status().as_u16(), want, "{who} with {policy}");
        }
    }
    // The page says why one may not, in words.
    let lea = app.signed_in("lea@example.org").await;
    let (_, page) = app.get_text(Some(&lea), PAGE).await;
    assert!(page.contains("Les commentaires sont fermés"), "{page}");
    set_policy(app, "members", "public").await;
    let (_, page) = app.get_text(Some(&lea), PAGE).await;
    assert!(page.contains("Seuls les membres de cet espace"), "{page}");
    let (_, page) = app.get_text(None, PAGE).await;
    assert!(page.contains("Connectez-vous pour participer"), "{page}");
    assert!(!page.contains("name=\"markdown\""), "no form for who may not");
    // The comments written are there for every reader of the public space.
    let (_, page) = app.get_text(None, PAGE).await;
    assert!(page.contains("outsider readers") && page.contains("viewer members"), "{page}");
}

async fn a_private_spaces_comments_reach_nobody_outside(app: &TestApp) {
    people(app, Visibility::Private).await;
    let claire = app.token_for("claire@example.org").await;
    let posted =
        api_post(app, Some(&claire), serde_json::json!({"markdown": "Budget confidentiel 42 000"}))
            .await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    let id = posted.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let lea = app.token_for("lea@example.org").await;
    let lea_browser = app.signed_in("lea@example.org").await;
    for path in [
        PAGE.to_owned(),
        format!("{PAGE}/comments/{id}/thread"),
        format!("{PAGE}/comments/events"),
        API.to_owned(),
    ] {
        let (status, body) = app.get_text(Some(&lea_browser), &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains("confidentiel"), "{path}");
    }
    for path in
        ["/changes", "/changes.atom", "/search?q=confidentiel", "/api/search?q=confidentiel"]
    {
        let (_, body) = app.get_text(Some(&lea_browser), path).await;
        assert!(!body.contains("42 000") && !body.contains("Notes"), "{path}: {body}");
    }
    for (method, path) in
        [("PATCH", format!("/api/comments/{id}")), ("DELETE", format!("/api/comments/{id}"))]
    {
        let response = reqwest::Client::new()
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&lea)
            .json(&serde_json::json!({"markdown": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    // Its members see it in the changes.
    let julien = app.signed_in("julien@example.org").await;
    let (_, changes) = app.get_text(Some(&julien), "/changes").await;
    assert!(changes.contains("nouveau commentaire de Claire Martin"), "{changes}");
}

async fn bad_comments_are_refused_with_the_reason_and_nothing_is_stored(app: &TestApp) {
    let app = TestApp::start_configured(&app.database_url, |s| {
        s.comments.max_chars = 200;
        s.comments.per_minute = 3;
    })
    .await;
    people(&app, Visibility::Members).await;
    let claire = app.token_for("claire@example.org").await;
    let long =
        api_post(&app, Some(&claire), serde_json::json!({"markdown": "a".repeat(201)})).await;
    assert_eq!(long.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(long.text().await.unwrap().contains("200 caractères"));
    let empty = api_post(&app, Some(&claire), serde_json::json!({"markdown": "  \n "})).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(comments(&app, &claire).await.is_empty(), "nothing stored");
    // The form keeps what was typed, and says why.
    let browser = app.signed_in("claire@example.org").await;
    let typed = format!("Mon long texte {}", "b".repeat(200));
    let refused =
        app.post_form(&browser, PAGE, &format!("{PAGE}/comments"), &[("markdown", &typed)]).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = refused.text().await.unwrap();
    assert!(body.contains("trop long") && body.contains("Mon long texte"), "{body}");
    // Without the form's token: refused.
    let forged = browser
        .post(app.url(&format!("{PAGE}/comments")))
        .form(&[("markdown", "sans jeton")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // A reply to a comment of another page, or to a deleted one.
    app.put_page(&claire, "chantier-1", "autre", "Autre page").await;
    let elsewhere = reqwest::Client::new()
        .post(app.url("/api/pages/chantier-1/autre/comments"))
        .bearer_auth(&claire)
        .json(&serde_json::json!({"markdown": "ailleurs"}))
        .send()
        .await
        .unwrap();
    let elsewhere = elsewhere.json::<serde_json::Value>().await.unwrap()["id"].clone();
    let crossed =
        api_post(&app, Some(&claire), serde_json::json!({"markdown": "x", "reply_to": elsewhere}))
            .await;
    assert_eq!(crossed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let here = api_post(&app, Some(&claire), serde_json::json!({"markdown": "ici"})).await;
    let here = here.json::<serde_json::Value>().await.unwrap()["id"].clone();
    reqwest::Client::new()
        .delete(app.url(&format!("/api/comments/{here}")))
        .bearer_auth(&claire)
        .send()
        .await
        .unwrap();
    let to_deleted =
        api_post(&app, Some(&claire), serde_json::json!({"markdown": "x", "reply_to": here})).await;
    assert!(to_deleted.status().is_client_error());
    // Three a minute at most (two were posted): the fourth is refused.
    let third = api_post(&app, Some(&claire), serde_json::json!({"markdown": "trois"})).await;
    assert_eq!(third.status(), StatusCode::CREATED);
    let fourth = api_post(&app, Some(&claire), serde_json::json!({"markdown": "quatre"})).await;
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

/// Reads server-sent events from `response` until `want` comment ids came (5 s at most).
async fn events(response: reqwest::Response, want: usize) -> Vec<String> {
    use futures_util::StreamExt;
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ids.len() < want {
        let next = tokio::time::timeout_at(deadline, stream.next()).await.expect("events in time");
        text.push_str(&String::from_utf8_lossy(&next.unwrap().unwrap()));
        ids = text
            .split("\n\n")
            .filter(|e| e.contains("event: comment"))
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_owned))
            .collect();
    }
    ids
}

async fn readers_on_the_page_are_told_of_each_change(app: &TestApp) {
    people(app, Visibility::Members).await;
    let julien = app.signed_in("julien@example.org").await;
    let stream = julien.get(app.url(&format!("{PAGE}/comments/events"))).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let claire = app.token_for("claire@example.org").await;
    let posted = api_post(app, Some(&claire), serde_json::json!({"markdown": "En direct"})).await;
    let id = posted.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    reqwest::Client::new()
        .patch(app.url(&format!("/api/comments/{id}")))
        .bearer_auth(&claire)
        .json(&serde_json::json!({"markdown": "En direct, modifié"}))
        .send()
        .await
        .unwrap();
    assert_eq!(events(stream, 2).await, [id.to_string(), id.to_string()]);
    // What the page then asks for: the thread, as this reader sees it.
    let thread = julien.get(app.url(&format!("{PAGE}/comments/{id}/thread"))).send().await.unwrap();
    assert_eq!(thread.headers()["x-thread"], id.to_string().as_str());
    let html = thread.text().await.unwrap();
    assert!(
        html.starts_with("<li class=\"thread\"") && html.contains("En direct, modifié"),
        "{html}"
    );
}

async fn a_mention_in_a_comment_tells_a_member_and_not_an_outsider(app: &TestApp) {
    people(app, Visibility::Members).await;
    let claire = app.token_for("claire@example.org").await;
    let posted = api_post(
        app,
        Some(&claire),
        serde_json::json!({"markdown": "@julien-roux et @lea-moreau, qu'en pensez-vous ?"}),
    )
    .await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    let julien = app.token_for("julien@example.org").await;
    let told = app.get_json_as(&julien, "/api/notifications").await;
    assert_eq!(told["notifications"][0]["kind"], "mention", "{told}");
    assert!(told["notifications"][0]["url"].as_str().unwrap().contains("#comment-"), "{told}");
    let lea = app.token_for("lea@example.org").await;
    assert_eq!(app.get_json_as(&lea, "/api/notifications").await["unread"], 0);
    // Claire now follows the discussion: Julien's answer tells her, once until she reads it.
    for text in ["Bonne idée", "Et aussi…"] {
        api_post(app, Some(&julien), serde_json::json!({"markdown": text})).await;
    }
    let hers = app.get_json_as(&claire, "/api/notifications").await;
    assert_eq!(hers["unread"], 1, "grouped: {hers}");
    assert_eq!(hers["notifications"][0]["kind"], "comment");
}

async fn exchanges_gather_topics_and_pages_with_comments(app: &TestApp) {
    people(app, Visibility::Members).await;
    // Julien, a viewer, may not write pages but may start a topic (members may speak).
    let julien = app.signed_in("julien@example.org").await;
    let (_, exchanges) = app.get_text(Some(&julien), "/s/chantier-1/discussions").await;
    assert!(exchanges.contains("Lancer un nouveau sujet"), "{exchanges}");
    let topic = app
        .new_entry(
            &julien,
            "chantier-1",
            "Covoiturage pour la rencontre",
            "discussion",
            &[("message", "Qui part de Dijon ?")],
        )
        .await;
    let (_, page) = app.get_text(Some(&julien), &format!("/s/chantier-1/{topic}")).await;
    assert!(page.contains("Qui part de Dijon ?") && page.contains("id=\"discussion\""), "{page}");
    // Claire comments on the notes, then on the topic.
    let claire = app.token_for("claire@example.org").await;
    api_post(app, Some(&claire), serde_json::json!({"markdown": "Relu."})).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let answer = reqwest::Client::new()
        .post(app.url(&format!("/api/pages/chantier-1/{topic}/comments")))
        .bearer_auth(&claire)
        .json(&serde_json::json!({"markdown": "Moi, en voiture."}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    let (_, exchanges) = app.get_text(Some(&julien), "/s/chantier-1/discussions").await;
    let (at_topic, at_notes) =
        (exchanges.find("Covoiturage").unwrap(), exchanges.find("Notes").unwrap());
    assert!(at_topic < at_notes, "newest activity first: {exchanges}");
    assert!(exchanges.contains("dernier message de Claire Martin"), "{exchanges}");
    assert!(exchanges.contains("1 commentaire"), "{exchanges}");
    // The space's home shows the latest; the site's exchanges gather every space one reads.
    let (_, home) = app.get_text(Some(&julien), "/s/chantier-1").await;
    assert!(home.contains("Dernières discussions") && home.contains("Covoiturage"), "{home}");
    let (_, all) = app.get_text(Some(&julien), "/discussions").await;
    assert!(all.contains("Covoiturage") && all.contains("Chantier 1"), "{all}");
    // Lists count comments.
    let (_, list) = app.get_text(Some(&julien), "/forms/discussion").await;
    assert!(list.contains("1 commentaire"), "{list}");
    // Someone outside the space sees none of it.
    let lea = app.signed_in("lea@example.org").await;
    let (_, all) = app.get_text(Some(&lea), "/discussions").await;
    assert!(!all.contains("Covoiturage") && !all.contains("Notes"), "{all}");
    let refused = lea.get(app.url("/s/chantier-1/new?form=discussion")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Closed discussions: no new topic either (but editors still write pages).
    set_policy(app, "nobody", "members").await;
    let (_, exchanges) = app.get_text(Some(&julien), "/s/chantier-1/discussions").await;
    assert!(!exchanges.contains("Lancer un nouveau sujet"), "{exchanges}");
}

async fn comments_are_searched_exported_backed_up_and_purged_with_their_page(app: &TestApp) {
    people(app, Visibility::Members).await;
    let claire = app.token_for("claire@example.org").await;
    let posted = api_post(
        app,
        Some(&claire),
        serde_json::json!({"markdown": "Pensons au covoiturage solidaire."}),
    )
    .await;
    let id = posted.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    // Search finds it, and leads to it.
    let mut hit = serde_json::Value::Null;
    for _ in 0..50 {
        let found = app.get_json_as(&claire, "/api/search?q=covoiturage").await;
        if found["hits"].as_array().is_some_and(|h| !h.is_empty()) {
            hit = found["hits"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hit["url"], format!("/s/chantier-1/notes#comment-{id}"), "{hit}");
    // The owner's export has a Discussion section.
    let sophie = app.signed_in("sophie@example.org").await;
    let zip = sophie.get(app.url("/s/chantier-1/export.zip")).send().await.unwrap();
    let bytes = zip.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("chantier-1/notes.md").unwrap(), &mut text)
        .unwrap();
    assert!(
        text.contains("## Discussion")
            && text.contains("### Claire Martin, ")
            && text.contains("covoiturage solidaire"),
        "{text}"
    );
    // Trashed then purged: its comments go with it.
    let page = "/s/chantier-1/notes";
    app.post_form(&sophie, page, &format!("{page}/trash"), &[]).await;
    let purged = app.post_form(&sophie, "/s/chantier-1/trash", &format!("{page}/purge"), &[]).await;
    assert!(purged.status().is_redirection(), "{}", purged.status());
    use sea_orm::{EntityTrait, PaginatorTrait};
    let left = ruche::discussions::entity::comment::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(left, 0);
}
