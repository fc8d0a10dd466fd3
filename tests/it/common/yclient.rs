//! A y-websocket client for tests: its own yrs document, synced over a real websocket.
#![allow(dead_code)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use ruche::collab::protocol::{self, Message};
use tokio::{net::TcpStream, sync::mpsc, task::JoinHandle};
use tokio_tungstenite::{
    tungstenite::{
        client::IntoClientRequest, http::HeaderValue, protocol::CloseFrame, Message as Ws,
    },
    MaybeTlsStream, WebSocketStream,
};
use yrs::{
    updates::decoder::Decode, Doc, GetString, OffsetKind, Options, ReadTxn, Text, Transact, Update,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the server did to the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    PermissionDenied(String),
    Closed(Option<(u16, String)>),
}

pub struct YClient {
    pub doc: Arc<Mutex<Doc>>,
    /// The presence states received (awareness client id → JSON).
    presence: Arc<Mutex<std::collections::HashMap<u64, String>>>,
    outgoing: Option<mpsc::UnboundedSender<Ws>>,
    events: Arc<Mutex<Vec<Event>>>,
    tasks: Vec<JoinHandle<()>>,
}

pub fn new_doc() -> Doc {
    Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Default::default() })
}

/// Opens the websocket, with a bearer token if given; returns the HTTP status on refusal.
pub async fn open(url: &str, token: Option<&str>) -> Result<Socket, u16> {
    open_forwarded(url, token, None).await
}

/// `open` through a reverse proxy that says the client is `forwarded_for`.
pub async fn open_forwarded(
    url: &str,
    token: Option<&str>,
    forwarded_for: Option<&str>,
) -> Result<Socket, u16> {
    let mut request = url.into_client_request().expect("request");
    if let Some(client) = forwarded_for {
        request
            .headers_mut()
            .insert("x-forwarded-for", HeaderValue::from_str(client).expect("header"));
    }
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("websocket failed: {other}"),
    }
}

impl YClient {
    /// Connects with a fresh document.
    pub async fn connect(url: &str, token: Option<&str>) -> Self {
        Self::connect_with(url, token, Arc::new(Mutex::new(new_doc()))).await
    }

    /// Connects with an existing document (a client coming back online).
    pub async fn connect_with(url: &str, token: Option<&str>, doc: Arc<Mutex<Doc>>) -> Self {
        let socket = open(url, token)
            .await
            .unwrap_or_else(|status| panic!("websocket refused with {status}"));
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut queue) = mpsc::unbounded_channel::<Ws>();
        let events = Arc::new(Mutex::new(Vec::new()));
        let presence = Arc::new(Mutex::new(std::collections::HashMap::new()));
        let writer = tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader = {
            let doc = doc.clone();
            let events = events.clone();
            let presence = presence.clone();
            let reply = outgoing.clone();
            tokio::spawn(async move {
                while let Some(message) = stream.next().await {
                    match message {
                        Ok(Ws::Binary(bytes)) => {
                            if bytes.first() == Some(&2) {
                                let reason = String::from_utf8_lossy(&bytes[3..]).into_owned();
                                events
                                    .lock()
                                    .expect("events")
                                    .push(Event::PermissionDenied(reason));
                                continue;
                            }
                            let messages = protocol::decode_frame(&bytes)
                                .expect("the server sends valid frames");
                            for m in messages {
                                match m {
                                    Message::SyncStep1(sv) => {
                                        let diff =
                                            doc.lock().expect("doc").transact().encode_diff_v1(&sv);
                                        let _ = reply.send(Ws::Binary(
                                            protocol::encode_sync_step2(&diff).into(),
                                        ));
                                    }
                                    Message::SyncStep2(data) | Message::Update(data) => {
                                        let update =
                                            Update::decode_v1(&data).expect("update decodes");
                                        doc.lock()
                                            .expect("doc")
                                            .transact_mut()
                                            .apply_update(update)
                                            .expect("applies");
                                    }
                                    Message::Awareness(update) => {
                                        let mut presence = presence.lock().expect("presence");
                                        for (client, entry) in update.clients {
                                            if &*entry.json == "null" {
                                                presence.remove(&client.get());
                                            } else {
                                                presence
                                                    .insert(client.get(), entry.json.to_string());
                                            }
                                        }
                                    }
                                    Message::QueryAwareness => {}
                                }
                            }
                        }
                        Ok(Ws::Close(frame)) => {
                            let frame = frame.map(|CloseFrame { code, reason }| {
                                (u16::from(code), reason.to_string())
                            });
                            events.lock().expect("events").push(Event::Closed(frame));
                            break;
                        }
                        Ok(_) => {}
                        Err(_) => {
                            events.lock().expect("events").push(Event::Closed(None));
                            break;
                        }
                    }
                }
            })
        };
        let client =
            Self { doc, presence, outgoing: Some(outgoing), events, tasks: vec![writer, reader] };
        let sv = client.doc.lock().expect("doc").transact().state_vector();
        client.send_raw(protocol::encode_sync_step1(&sv));
        client
    }

    /// Announces this client's presence (`json`, e.g. `{"user":{"name":"Céline"}}`) as
    /// awareness client `id`, like a browser's editor does.
    pub fn announce(&self, id: u64, clock: u32, json: &str) {
        self.announce_all(&[(id, clock, json)]);
    }

    /// Announces several presence states (id, clock, state) in one message.
    pub fn announce_all(&self, states: &[(u64, u32, &str)]) {
        use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
        let clients = states
            .iter()
            .map(|(id, clock, json)| {
                let entry = AwarenessUpdateEntry { clock: *clock, json: (*json).into() };
                (yrs::block::ClientID::new(*id), entry)
            })
            .collect();
        self.send_raw(protocol::encode_awareness(&AwarenessUpdate { clients }));
    }

    /// The presence states received from others, by awareness client id.
    pub fn presence(&self) -> std::collections::HashMap<u64, String> {
        self.presence.lock().expect("presence").clone()
    }

    pub fn send_raw(&self, frame: Vec<u8>) {
        if let Some(out) = &self.outgoing {
            let _ = out.send(Ws::Binary(frame.into()));
        }
    }

    /// Types `text` at UTF-16 position `index` (clamped to the end) and sends the change.
    pub fn type_at(&self, index: u32, text: &str) {
        let update = {
            let doc = self.doc.lock().expect("doc");
            let body = doc.get_or_insert_text("body");
            let mut txn = doc.transact_mut();
            let end = body.len(&txn);
            body.insert(&mut txn, index.min(end), text);
            txn.encode_update_v1()
        };
        self.send_raw(protocol::encode_update(&update));
    }

    /// Deletes `len` UTF-16 units at `index` and sends the change.
    pub fn delete(&self, index: u32, len: u32) {
        let update = {
            let doc = self.doc.lock().expect("doc");
            let body = doc.get_or_insert_text("body");
            let mut txn = doc.transact_mut();
            body.remove_range(&mut txn, index, len);
            txn.encode_update_v1()
        };
        self.send_raw(protocol::encode_update(&update));
    }

    /// Types at the end of the text.
    pub fn append(&self, text: &str) {
        self.type_at(u32::MAX, text);
    }

    /// Changes the local document without sending anything (a client offline).
    pub fn type_offline(doc: &Arc<Mutex<Doc>>, text: &str) {
        let doc = doc.lock().expect("doc");
        let body = doc.get_or_insert_text("body");
        let mut txn = doc.transact_mut();
        let end = body.len(&txn);
        body.insert(&mut txn, end, text);
    }

    pub fn text(&self) -> String {
        let doc = self.doc.lock().expect("doc");
        let body = doc.get_or_insert_text("body");
        let txn = doc.transact();
        body.get_string(&txn)
    }

    /// The document's `fields` map, as JSON.
    pub fn fields(&self) -> serde_json::Value {
        use yrs::types::ToJson;
        let doc = self.doc.lock().expect("doc");
        let fields = doc.get_or_insert_map("fields");
        let txn = doc.transact();
        serde_json::to_value(fields.to_json(&txn)).unwrap_or_default()
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("events").clone()
    }

    /// Waits (up to 20 s) until `check` holds for the text; panics with the text otherwise.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        wait_until(what, || {
            let text = self.text();
            check(&text).then_some(text)
        })
        .await
    }

    /// Waits until the server closed the connection; returns the close code and reason.
    pub async fn wait_closed(&self) -> Option<(u16, String)> {
        wait_until("the connection to close", || {
            self.events().into_iter().find_map(|e| match e {
                Event::Closed(frame) => Some(frame),
                _ => None,
            })
        })
        .await
    }

    /// Closes the connection from this side (the document stays, like a browser tab going offline).
    pub async fn disconnect(mut self) -> Arc<Mutex<Doc>> {
        if let Some(out) = self.outgoing.take() {
            let _ = out.send(Ws::Close(None));
        }
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        self.doc.clone()
    }
}

impl Drop for YClient {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Polls `probe` every 20 ms for up to 20 s.
pub async fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Fetches `path` until its page contains `needle` (projections catch up after edits settle).
pub async fn wait_until_async_text(app: &super::TestApp, path: &str, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let html = reqwest::get(app.url(path)).await.expect("GET").text().await.expect("body");
        if html.contains(needle) {
            return html;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {needle:?} on {path}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
