//! Several processes serving one site: real `ruche` processes on one PostgreSQL database and
//! one Redis. Run when RUCHE_TEST_POSTGRES and RUCHE_TEST_REDIS are set (`.ci/run` sets both);
//! the Redis restart test starts a Redis of its own (`redis-server` must be installed).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::time::Duration;

use common::{
    stored_text,
    yclient::{wait_until, YClient},
    Backend, ServerProcess, TestApp,
};
use ruche::{
    pages::store::Found,
    spaces::{Role, Visibility},
};

fn cluster_urls() -> Option<String> {
    match (std::env::var("RUCHE_TEST_POSTGRES"), std::env::var("RUCHE_TEST_REDIS")) {
        (Ok(_), Ok(redis)) => Some(redis),
        _ => {
            eprintln!("RUCHE_TEST_POSTGRES and RUCHE_TEST_REDIS are not both set: not run");
            None
        }
    }
}

/// A site on a fresh PostgreSQL database with a space, an editor, a token and a page; the
/// in-process server used to set it up is a member of the cluster when `redis` is given.
async fn site(redis: Option<&str>) -> (TestApp, String, i64) {
    let app =
        TestApp::start_with(Backend::Postgres, |s| s.redis_url = redis.map(str::to_owned)).await;
    let space = app.create_space("chantier-2", "Chantier 2", Visibility::Members).await;
    let user = app.create_user("celine@example.org", "Céline", false).await;
    app.add_member(&space, &user, Role::Editor).await;
    let token = app.token_for("celine@example.org").await;
    assert!(app
        .put_page(&token, "chantier-2", "feuille-de-route", "Début. ")
        .await
        .status()
        .is_success());
    let Some(Found::Page(page)) =
        ruche::pages::store::find(&app.db, space.id, "feuille-de-route").await.unwrap()
    else {
        panic!("the page exists");
    };
    (app, token, page.id.0)
}

/// Two `ruche` processes on the site's database and the Redis at `redis`, with a client on
/// the page on each, both synced.
async fn two_processes(
    app: &TestApp,
    token: &str,
    redis: &str,
) -> (ServerProcess, ServerProcess, YClient, YClient) {
    let env = [("REDIS_URL", redis)];
    let a = ServerProcess::spawn(&app.database_url, &env).await;
    let b = ServerProcess::spawn(&app.database_url, &env).await;
    let on_a = YClient::connect(&a.ws_url("chantier-2", "feuille-de-route"), Some(token)).await;
    let on_b = YClient::connect(&b.ws_url("chantier-2", "feuille-de-route"), Some(token)).await;
    on_a.wait_for("A's client to sync", |t| t == "Début. ").await;
    on_b.wait_for("B's client to sync", |t| t == "Début. ").await;
    (a, b, on_a, on_b)
}

/// Waits until every client holds the same text, containing every word in `words`.
async fn converge(clients: &[&YClient], words: &[String]) -> String {
    wait_until("the clients to converge", || {
        let first = clients[0].text();
        let same = clients.iter().all(|c| c.text() == first);
        (same && words.iter().all(|w| first.contains(w.as_str()))).then_some(first)
    })
    .await
}

#[tokio::test]
async fn two_processes_edit_one_page_and_converge() {
    let Some(redis) = cluster_urls() else { return };
    let (app, token, page) = site(Some(&redis)).await;
    let (a, b, on_a, on_b) = two_processes(&app, &token, &redis).await;

    // Presence crosses processes.
    on_a.announce(4242, 1, r#"{"user":{"name":"Céline"}}"#);
    wait_until("B's client to see Céline", || {
        on_b.presence().get(&4242).filter(|s| s.contains("Céline")).cloned()
    })
    .await;

    // Both type at once: A at the start, B at the end.
    let mut words = Vec::new();
    for i in 0..120 {
        on_a.type_at(0, &format!("a{i} "));
        on_b.append(&format!("b{i} "));
        words.push(format!("a{i} "));
        words.push(format!("b{i} "));
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let text = converge(&[&on_a, &on_b], &words).await;
    assert_eq!(stored_text(&app.db, page).await, text, "the stored text is what both see");

    // A third client, on either process (or the in-process one), sees the same.
    let third = YClient::connect(&app.ws_url("chantier-2", "feuille-de-route"), Some(&token)).await;
    third.wait_for("a third client to get the same text", |t| t == text).await;
    let fourth = YClient::connect(&b.ws_url("chantier-2", "feuille-de-route"), Some(&token)).await;
    fourth.wait_for("a fourth client to get the same text", |t| t == text).await;
    // The in-process member saw it through Redis too, and an HTTP edit there reaches A and B.
    assert!(app
        .put_page_from(&token, "chantier-2", "feuille-de-route", &text, &format!("{text}fin."))
        .await
        .status()
        .is_success());
    on_a.wait_for("A's client to get the HTTP edit", |t| t.ends_with("fin.")).await;
    on_b.wait_for("B's client to get the HTTP edit", |t| t.ends_with("fin.")).await;

    // Leaving removes the presence elsewhere.
    on_a.disconnect().await;
    wait_until("Céline's presence to go", || (!on_b.presence().contains_key(&4242)).then_some(()))
        .await;

    // A page written through one process is found by the search of another.
    let put = reqwest::Client::new()
        .put(format!("{}/api/pages/chantier-2/compte-rendu", a.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "markdown": "Réunion des coopérations de Haute-Loire." }))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let search_b = || async {
        let found: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/search", b.base))
            .query(&[("q", "cooperation haute-loire")])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        found["total"].as_u64().unwrap_or(0)
    };
    for _ in 0..200 {
        if search_b().await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(search_b().await, 1, "B's search index learnt of the page written on A");

    // Rights change on one process: the connections on the others are closed and checked again.
    let admin = app.create_user("admin@example.org", "Admin", true).await;
    let admin_token = app.token_for(&admin.email).await;
    let removed = reqwest::Client::new()
        .delete(format!("{}/api/spaces/chantier-2/members/celine@example.org", a.base))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_success(), "{}", removed.status());
    let (code, _) = on_b.wait_closed().await.expect("a close frame");
    assert_eq!(code, 1008);
    let refused = common::yclient::open(&b.ws_url("chantier-2", "feuille-de-route"), Some(&token))
        .await
        .map(|_| ());
    assert_eq!(refused, Err(403), "no longer a member of this members-only space");
    drop((a, b));
    app.stop().await;
}

#[tokio::test]
async fn killing_one_process_loses_nothing_clients_received() {
    let Some(redis) = cluster_urls() else { return };
    let (app, token, page) = site(Some(&redis)).await;
    let (a, b, on_a, on_b) = two_processes(&app, &token, &redis).await;
    let url_b = b.ws_url("chantier-2", "feuille-de-route");

    let mut words = Vec::new();
    let mut a = Some(a);
    let mut seen_before_kill = (String::new(), String::new());
    for i in 0..200 {
        on_a.append(&format!("a{i} "));
        on_b.type_at(0, &format!("b{i} "));
        words.push(format!("a{i} "));
        words.push(format!("b{i} "));
        if i == 100 {
            on_b.wait_for("B's client to receive A's words", |t| t.contains("a60 ")).await;
            // kill -9 while both type.
            a.take().unwrap().kill().await;
            seen_before_kill = (on_a.text(), on_b.text());
        }
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // A's client notices and comes back, to the other process, with what it holds.
    on_a.wait_closed().await;
    let doc = on_a.disconnect().await;
    let on_a = YClient::connect_with(&url_b, Some(&token), doc).await;
    let text = converge(&[&on_a, &on_b], &words).await;
    for (who, seen) in [("A's client", &seen_before_kill.0), ("B's client", &seen_before_kill.1)] {
        for word in seen.split_whitespace() {
            assert!(text.contains(word), "{who} had received {word:?}, now lost: {text:?}");
        }
    }
    assert_eq!(stored_text(&app.db, page).await, text);
    drop(b);
    app.stop().await;
}

#[tokio::test]
async fn a_redis_restart_in_the_middle_of_editing_is_caught_up() {
    let Some(_) = cluster_urls() else { return };
    let mut redis = OwnRedis::start().await;
    let url = redis.url();
    // The in-process server only sets the site up; the two processes share this Redis.
    let (app, token, page) = site(None).await;
    let (a, b, on_a, on_b) = two_processes(&app, &token, &url).await;

    let mut words = Vec::new();
    let mut type_round = |round: &str| {
        for i in 0..40 {
            on_a.append(&format!("{round}a{i} "));
            on_b.type_at(0, &format!("{round}b{i} "));
            words.push(format!("{round}a{i} "));
            words.push(format!("{round}b{i} "));
        }
        words.clone()
    };
    let before = type_round("avant");
    converge(&[&on_a, &on_b], &before).await;

    // Redis goes away while people type: the processes read the database meanwhile.
    redis.stop().await;
    let during = type_round("pendant");
    converge(&[&on_a, &on_b], &during).await;

    // Redis comes back (empty: it keeps nothing); both processes subscribe again.
    redis.restart().await;
    wait_until("both processes to subscribe again", || {
        let channels = redis.channels_blocking();
        (channels.iter().filter(|c| c.contains(&format!(":doc:{page}"))).count() == 1
            && redis.subscribers_blocking(&channels) >= 2)
            .then_some(())
    })
    .await;
    let after = type_round("apres");
    let text = converge(&[&on_a, &on_b], &after).await;
    assert_eq!(stored_text(&app.db, page).await, text);
    drop((a, b));
    app.stop().await;
}

/// A Redis server of the test's own, on a free port, that it can stop and start again.
struct OwnRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl OwnRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = Self { port, child: None };
        redis.restart().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn restart(&mut self) {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        wait_until("Redis to answer", || {
            client
                .get_connection()
                .ok()
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c).ok())
        })
        .await;
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
    }

    fn channels_blocking(&self) -> Vec<String> {
        let client = redis::Client::open(self.url()).unwrap();
        let Ok(mut conn) = client.get_connection() else { return Vec::new() };
        redis::cmd("PUBSUB").arg("CHANNELS").arg("ruche:*").query(&mut conn).unwrap_or_default()
    }

    /// The fewest subscribers any of these channels has.
    fn subscribers_blocking(&self, channels: &[String]) -> i64 {
        let client = redis::Client::open(self.url()).unwrap();
        let Ok(mut conn) = client.get_connection() else { return 0 };
        let counts: Vec<(String, i64)> =
            redis::cmd("PUBSUB").arg("NUMSUB").arg(channels).query(&mut conn).unwrap_or_default();
        counts.into_iter().map(|(_, n)| n).min().unwrap_or(0)
    }
}

/// Without Redis, two processes writing the same page take turns on the update log's numbers:
/// the second one reads what the first stored, and neither change is lost.
#[tokio::test]
async fn without_redis_two_processes_take_turns_on_the_log() {
    if std::env::var("RUCHE_TEST_POSTGRES").is_err() {
        eprintln!("RUCHE_TEST_POSTGRES is not set: not run");
        return;
    }
    let (first, token, page) = site(None).await;
    let second = TestApp::start_on(&first.database_url).await;
    let on_second =
        YClient::connect(&second.ws_url("chantier-2", "feuille-de-route"), Some(&token)).await;
    on_second.wait_for("the client to sync", |t| t == "Début. ").await;

    // The first process stores an edit the second does not hear about…
    let put =
        first.put_page_from(&token, "chantier-2", "feuille-de-route", "Début. ", "Début. Un.");
    assert!(put.await.status().is_success());
    // …then someone types on the second: its numbers are taken, so it catches up first.
    on_second.append(" Deux.");
    let text = on_second
        .wait_for("the client to get the other process's edit", |t| {
            t.contains("Un.") && t.contains("Deux.")
        })
        .await;
    // "Un." came from the log; " Deux." was typed by this very client, so it may see both a
    // moment before its own change is stored (under load, the catch-up is sent first).
    let mut stored = stored_text(&first.db, page).await;
    for _ in 0..200 {
        if stored == text {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        stored = stored_text(&first.db, page).await;
    }
    assert_eq!(stored, text, "both changes stored");
    let mut second = second;
    second.shutdown().await; // the database is dropped once, by the first
    first.stop().await;
}

#[tokio::test]
async fn a_comment_posted_on_one_process_reaches_readers_on_the_other() {
    use futures_util::StreamExt;
    let Some(redis) = cluster_urls() else { return };
    let (app, token, _) = site(None).await;
    let env = [("REDIS_URL", redis.as_str())];
    let a = ServerProcess::spawn(&app.database_url, &env).await;
    let b = ServerProcess::spawn(&app.database_url, &env).await;
    // A reader on B listens to the page's discussion.
    let events = reqwest::Client::new()
        .get(format!("{}/s/chantier-2/feuille-de-route/comments/events", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), reqwest::StatusCode::OK);
    // Both processes are subscribed once their first answers came; give Redis a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let posted = reqwest::Client::new()
        .post(format!("{}/api/pages/chantier-2/feuille-de-route/comments", a.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "markdown": "Depuis le processus A" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), reqwest::StatusCode::CREATED);
    let id = posted.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut stream = events.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains(&format!("data: {id}")) {
        let next =
            tokio::time::timeout_at(deadline, stream.next()).await.expect("the event in time");
        text.push_str(&String::from_utf8_lossy(&next.unwrap().unwrap()));
    }
    a.kill().await;
    b.kill().await;
    app.stop().await;
}
