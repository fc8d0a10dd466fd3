//! Known cross-site scripting vectors: through the Markdown renderer, and written by a member
//! into titles, texts, field values, names, places and search queries, then read back on every
//! page they appear on. None may leave anything that runs.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use common::{inert::dangers, Backend, TestApp};
use reqwest::StatusCode;
use ruche::{
    pages::render::{self, LinkState},
    spaces::{Role, Visibility},
};

/// Script tags, event handlers, `javascript:`/`data:`/`vbscript:` URLs (plain, entity-encoded,
/// split by whitespace), SVG and MathML, CSS expressions, HTML entity tricks, and abuses of
/// Markdown links, images and wiki links.
const VECTORS: &[&str] = &[
    "<script>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    "\"><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>x</details>",
    "<body onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<a href=\"javascript:alert(1)\">lien</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">lien</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">lien</a>",
    "<a href=\"  JaVaScRiPt:alert(1)\">lien</a>",
    "<a href=\"vbscript:msgbox(1)\">lien</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">lien</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<div style=\"width: expression(alert(1))\">x</div>",
    "<style>@import 'javascript:alert(1)';</style>",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
    "<base href=\"javascript:/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=\"javascript:alert(1)\">",
    "[lien](javascript:alert(1))",
    "[lien](JAVASCRIPT:alert(1))",
    "[lien](<javascript:alert(1)>)",
    "[lien](data:text/html,<script>alert(1)</script>)",
    "![image](javascript:alert(1))",
    "![image\" onerror=\"alert(1)](x.png)",
    "[lien](x \"titre\\\" onmouseover=\\\"alert(1)\")",
    "[[x\" onmouseover=\"alert(1)]]",
    "[[javascript:alert(1)|lien]]",
    "<a href=\"/s/x\" onclick=\"alert(1)\">lien</a>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</script>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<textarea></textarea><img src=x onerror=alert(1)>",
    "<template><script>alert(1)</script></template>",
    "`<script>alert(1)</script>`",
];

#[test]
fn the_checker_sees_what_runs() {
    for raw in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)></svg>",
        "<a href=\" JaVaScRiPt:alert(1)\">x</a>",
        "<a href=\"data:text/html,x\">x</a>",
        "<div style=\"x\">x</div>",
        "<iframe src=x></iframe>",
    ] {
        assert!(!dangers(raw, false).is_empty(), "{raw} should be seen as dangerous");
    }
    assert!(!dangers("<script>alert(1)</script>", true).is_empty());
    assert!(dangers("<script src=\"/assets/editor.js\"></script><p>ok</p>", true).is_empty());
}

#[test]
fn the_renderer_leaves_nothing_that_runs() {
    for vector in VECTORS {
        for markdown in
            [vector.to_string(), format!("Avant\n\n{vector}\n\nAprès"), format!("- {vector}")]
        {
            let html = render::to_html(&markdown, "chantier-1", render::Kind::Page, &|_| {
                LinkState::Exists
            });
            let found = dangers(&html, false);
            assert!(found.is_empty(), "{markdown:?} rendered as {html:?}: {found:?}");
        }
    }
}

#[tokio::test]
async fn vectors_written_everywhere_are_inert_on_every_page() {
    let app = TestApp::start(Backend::Sqlite).await;
    let home = app.create_space("accueil", "Accueil", Visibility::Public).await;
    let vector = VECTORS.join(" ");
    // A member whose name is a vector.
    let name = "<img src=x onerror=alert(1)>\"><script>alert(1)</script>";
    let member = app.create_user("pirate@example.org", name, false).await;
    app.add_member(&home, &member, Role::Editor).await;
    let token = app.token_for("pirate@example.org").await;
    let browser = app.signed_in("pirate@example.org").await;

    // A page whose text holds every vector, and whose title is one.
    let put = reqwest::Client::new()
        .put(app.url("/api/pages/accueil/page-piegee"))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({ "markdown": vector, "title": "<script>alert('titre')</script>" }),
        )
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    // Entries whose fields hold vectors: an event (place, description) and an organisation.
    app.new_entry(
        &browser,
        "accueil",
        "<svg onload=alert(1)> Rencontre",
        "event",
        &[
            ("when.start", "2030-03-27T09:30"),
            ("when.end", "2030-03-27T17:00"),
            ("place", "<img src=x onerror=alert('lieu')>"),
            ("description", &vector),
            ("audience", "public"),
        ],
    )
    .await;
    app.new_entry(
        &browser,
        "accueil",
        "Structure <b onmouseover=alert(1)>piégée</b>",
        "organisation",
        &[
            ("name", "<script>alert('nom')</script>"),
            ("description", &vector),
            ("website", "https://example.org/\"><script>alert(1)</script>"),
            ("address", "<iframe src=javascript:alert(1)>"),
            ("point.lat", "45.0"),
            ("point.lon", "4.8"),
            ("themes", "<script>alert(1)</script>, coopération"),
        ],
    )
    .await;
    // A comment and a reply holding every vector, and a discussion topic whose title and
    // message are vectors.
    let mut comment_ids = Vec::new();
    for reply_to in [None, Some(0)] {
        let reply_to = reply_to.and(comment_ids.first().copied());
        let posted = reqwest::Client::new()
            .post(app.url("/api/pages/accueil/page-piegee/comments"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "markdown": vector, "reply_to": reply_to }))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::CREATED);
        comment_ids.push(posted.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    app.new_entry(
        &browser,
        "accueil",
        "<img src=x onerror=alert('sujet')> Sujet",
        "discussion",
        &[("message", &vector)],
    )
    .await;
    // The projections and the search index catch up.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let thread = format!("/s/accueil/page-piegee/comments/{}/thread", comment_ids[0]);
    let edit = format!("/s/accueil/page-piegee/comments/{}/edit", comment_ids[0]);

    let search = format!(
        "/search?q={}",
        url::form_urlencoded::byte_serialize(b"<script>alert(1)</script> rencontre")
            .collect::<String>()
    );
    let pages = [
        "/",
        "/s/accueil",
        "/s/accueil/page-piegee",
        "/s/accueil/page-piegee/edit",
        "/s/accueil/page-piegee/history",
        "/s/accueil/changes",
        "/changes",
        "/directory",
        "/agenda",
        "/agenda?month=2030-03",
        "/resources",
        "/map",
        "/forms/organisation",
        "/forms/organisation?view=table",
        "/forms/event",
        "/s/accueil/members",
        "/s/accueil/discussions",
        "/discussions",
        "/forms/discussion",
        thread.as_str(),
        edit.as_str(),
        search.as_str(),
        "/search?q=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    ];
    for path in pages {
        let (status, html) = app.get_text(Some(&browser), path).await;
        assert!(status == StatusCode::OK || status == StatusCode::FORBIDDEN, "{path}: {status}");
        let found = dangers(&html, true);
        assert!(found.is_empty(), "{path}: {found:?}");
        assert!(!html.contains("<script>alert"), "{path} holds a live script tag");
    }
    // The event's and the organisation's own pages too.
    let listing = app.get_text(Some(&browser), "/s/accueil").await.1;
    let links: Vec<String> = scraper::Html::parse_document(&listing)
        .select(&scraper::Selector::parse("a[href^='/s/accueil/']").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert!(links.len() >= 3, "{links:?}");
    for path in links {
        let (_, html) = app.get_text(Some(&browser), &path).await;
        let found = dangers(&html, true);
        assert!(found.is_empty(), "{path}: {found:?}");
    }
    app.stop().await;
}
