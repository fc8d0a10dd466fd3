//! The relay between the processes serving one site: after a process has stored updates, it
//! publishes them on the document's Redis channel; every other process that has the document
//! live applies them and forwards them to its own clients. Presence, "check again" orders (for
//! every live connection: documents and comment streams) and page changes (for search) travel
//! the same way.
//!
//! Redis pub/sub may drop messages (a reconnect, a slow subscriber). Updates carry their
//! sequence numbers from the update log: a document that sees a gap, or a notice that the log
//! went further than it knows, reads what it missed from the database. While Redis is away,
//! live documents read the database every second instead, so nobody stays behind.
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{hear, store::DocId, Heard, HubInner};

/// How often live documents read the database while Redis is away, and how often the relay
/// tries to reconnect.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Notes waiting to be published; beyond that, only "you missed something" notices are kept.
const OUTBOX: usize = 8192;

pub use super::notes::{Note, SiteNote};

enum Control {
    Watch(DocId),
    Unwatch(DocId),
}

struct Outbound {
    channel: String,
    payload: Vec<u8>,
    /// For updates: the document and the head it reaches, to announce again if lost.
    head: Option<(DocId, i64)>,
}

/// A process's link to the others. Cheap to share; its tasks run until the hub stops.
pub struct Relay {
    client: redis::Client,
    /// This process, so that it ignores its own messages.
    origin: u64,
    /// Channel names start with it: one Redis may serve several sites.
    prefix: String,
    out: mpsc::Sender<Outbound>,
    outgoing: Mutex<Option<mpsc::Receiver<Outbound>>>,
    control: mpsc::UnboundedSender<Control>,
    controls: Mutex<Option<mpsc::UnboundedReceiver<Control>>>,
    connected: AtomicBool,
    /// Heads that could not be published (Redis away, outbox full), announced once it is back.
    missed: Mutex<HashMap<DocId, i64>>,
}

impl Relay {
    /// A relay over the Redis at `url` for the site named `site` (its id in the database).
    pub fn new(url: &str, site: &str) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)
            .map_err(|err| anyhow::anyhow!("the Redis URL {url:?} is not usable: {err}"))?;
        let (out, outgoing) = mpsc::channel(OUTBOX);
        let (control, controls) = mpsc::unbounded_channel();
        Ok(Arc::new(Self {
            client,
            origin: rand::random(),
            prefix: format!("ruche:{site}"),
            out,
            outgoing: Mutex::new(Some(outgoing)),
            control,
            controls: Mutex::new(Some(controls)),
            connected: AtomicBool::new(false),
            missed: Mutex::new(HashMap::new()),
        }))
    }

    /// Whether the relay is subscribed to Redis right now.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    fn doc_channel(&self, doc: DocId) -> String {
        format!("{}:doc:{}", self.prefix, doc.0)
    }

    fn site_channel(&self) -> String {
        format!("{}:site", self.prefix)
    }

    /// Tells the other processes about a document (never waits).
    pub(crate) fn publish(&self, doc: DocId, note: &Note) {
        let head = match note {
            Note::Updates { first, updates } => {
                Some((doc, first + i64::try_from(updates.len()).unwrap_or(1) - 1))
            }
            Note::Head(seq) => Some((doc, *seq)),
            _ => None,
        };
        let payload = encode_note(self.origin, note);
        self.send(Outbound { channel: self.doc_channel(doc), payload, head });
    }

    /// Tells the other processes about the site (never waits).
    pub fn publish_site(&self, note: &SiteNote) {
        let payload = encode_site_note(self.origin, note);
        self.send(Outbound { channel: self.site_channel(), payload, head: None });
    }

    fn send(&self, outbound: Outbound) {
        if let Err(err) = self.out.try_send(outbound) {
            let lost = match err {
                mpsc::error::TrySendError::Full(o) | mpsc::error::TrySendError::Closed(o) => o,
            };
            self.remember(lost.head);
        }
    }

    fn remember(&self, head: Option<(DocId, i64)>) {
        if let Some((doc, seq)) = head {
            let mut missed = self.missed.lock().unwrap_or_else(|p| p.into_inner());
            let known = missed.entry(doc).or_insert(seq);
            *known = (*known).max(seq);
        }
    }

    /// A document became live here: receive what others say about it.
    pub fn watch(&self, doc: DocId) {
        let _ = self.control.send(Control::Watch(doc));
    }

    /// A document left memory here.
    pub(crate) fn unwatch(&self, doc: DocId) {
        let _ = self.control.send(Control::Unwatch(doc));
    }

    /// Starts the publishing and subscribing tasks (once).
    pub(crate) fn start(self: &Arc<Self>, hub: &Arc<HubInner>) {
        let outgoing = self.outgoing.lock().unwrap_or_else(|p| p.into_inner()).take();
        let controls = self.controls.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (Some(outgoing), Some(controls)) = (outgoing, controls) else { return };
        hub.tracker.spawn(publish_loop(self.clone(), hub.clone(), outgoing));
        hub.tracker.spawn(subscribe_loop(self.clone(), hub.clone(), controls));
    }
}

/// Publishes what the documents hand over, in order, pipelined; what cannot be published is
/// announced again (as the document's head) once Redis answers.
async fn publish_loop(
    relay: Arc<Relay>,
    hub: Arc<HubInner>,
    mut outgoing: mpsc::Receiver<Outbound>,
) {
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    let mut retry = tokio::time::interval(RETRY_EVERY);
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            next = outgoing.recv() => match next {
                Some(first) => batch.push(first),
                None => return,
            },
            _ = retry.tick() => {}
            _ = hub.cancel.cancelled() => return,
        }
        while batch.len() < 256 {
            match outgoing.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            conn = connect(&relay.client).await;
        }
        let Some(c) = conn.as_mut() else {
            for o in batch {
                relay.remember(o.head);
            }
            continue;
        };
        // Heads that were lost before go first: the documents behind read the database.
        let missed: Vec<(DocId, i64)> =
            relay.missed.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
        let mut pipe = redis::pipe();
        for (doc, seq) in &missed {
            let payload = encode_note(relay.origin, &Note::Head(*seq));
            pipe.publish(relay.doc_channel(*doc), payload).ignore();
        }
        for o in &batch {
            pipe.publish(&o.channel, o.payload.as_slice()).ignore();
        }
        if missed.is_empty() && batch.is_empty() {
            continue;
        }
        let sent: redis::RedisResult<()> =
            match tokio::time::timeout(Duration::from_secs(5), pipe.query_async(c)).await {
                Ok(result) => result,
                Err(_) => Err(redis::RedisError::from((redis::ErrorKind::Io, "timed out"))),
            };
        if let Err(err) = sent {
            tracing::warn!(error = %err, "could not publish to Redis; will announce again");
            conn = None;
            for (doc, seq) in missed {
                relay.remember(Some((doc, seq)));
            }
            for o in batch {
                relay.remember(o.head);
            }
        }
    }
}

async fn connect(client: &redis::Client) -> Option<redis::aio::MultiplexedConnection> {
    match tokio::time::timeout(Duration::from_secs(2), client.get_multiplexed_async_connection())
        .await
    {
        Ok(Ok(conn)) => Some(conn),
        _ => None,
    }
}

/// Receives what other processes say, and (re)subscribes: at every (re)connection, every live
/// document reads what it may have missed from the database.
async fn subscribe_loop(
    relay: Arc<Relay>,
    hub: Arc<HubInner>,
    mut controls: mpsc::UnboundedReceiver<Control>,
) {
    // Set once a connection failed or was lost: later connections catch up with what was missed.
    let mut reconnecting = false;
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(2), relay.client.get_async_pubsub());
        let pubsub = tokio::select! {
            attempt = attempt => attempt,
            _ = hub.cancel.cancelled() => return,
        };
        let Ok(Ok(pubsub)) = pubsub else {
            if !reconnecting {
                tracing::warn!("Redis is unreachable: live documents read the database every second until it is back");
                reconnecting = true;
            }
            // Meanwhile, documents catch up from the database by themselves.
            catch_up_all(&hub);
            while controls.try_recv().is_ok() {}
            tokio::select! {
                _ = tokio::time::sleep(RETRY_EVERY) => continue,
                _ = hub.cancel.cancelled() => return,
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let live: Vec<DocId> = live_docs(&hub);
        let mut channels: Vec<String> = live.iter().map(|d| relay.doc_channel(*d)).collect();
        channels.push(relay.site_channel());
        if let Err(err) = sink.subscribe(channels).await {
            tracing::warn!(error = %err, "could not subscribe on Redis; retrying");
            tokio::time::sleep(RETRY_EVERY).await;
            continue;
        }
        relay.connected.store(true, Ordering::Relaxed);
        if reconnecting {
            tracing::info!("Redis is back: catching up");
            // Pages changed elsewhere meanwhile: search finds them again.
            (hub.hooks.on_reconnected)();
        }
        catch_up_all(&hub);
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else { break };
                    dispatch(&relay, &hub, message.get_channel_name(), message.get_payload_bytes());
                }
                control = controls.recv() => match control {
                    Some(Control::Watch(doc)) => {
                        if sink.subscribe(relay.doc_channel(doc)).await.is_err() {
                            break;
                        }
                        // Whatever was stored between loading and subscribing is read now, and
                        // the others say who is there.
                        hear(&hub, doc, Heard::MissedSome);
                        relay.publish(doc, &Note::QueryAwareness);
                    }
                    Some(Control::Unwatch(doc)) => {
                        if sink.unsubscribe(relay.doc_channel(doc)).await.is_err() {
                            break;
                        }
                    }
                    None => return,
                },
                _ = hub.cancel.cancelled() => return,
            }
        }
        relay.connected.store(false, Ordering::Relaxed);
        tracing::warn!("lost the connection to Redis: live documents read the database every second until it is back");
        reconnecting = true;
    }
}

fn live_docs(hub: &Arc<HubInner>) -> Vec<DocId> {
    hub.docs.lock().unwrap_or_else(|p| p.into_inner()).keys().copied().collect()
}

fn catch_up_all(hub: &Arc<HubInner>) {
    for doc in live_docs(hub) {
        hear(hub, doc, Heard::MissedSome);
    }
}

fn dispatch(relay: &Relay, hub: &Arc<HubInner>, channel: &str, payload: &[u8]) {
    let Some(rest) = channel.strip_prefix(relay.prefix.as_str()) else { return };
    if rest == ":site" {
        match decode_site_note(payload) {
            Some((origin, _)) if origin == relay.origin => {}
            Some((_, SiteNote::Touched(pages))) => {
                for page in pages {
                    (hub.hooks.on_touched)(page);
                }
            }
            Some((_, SiteNote::Kick(pages))) => {
                let docs: Vec<DocId> = pages.into_iter().map(DocId).collect();
                for doc in &docs {
                    hear(hub, *doc, Heard::Note(Note::Kick));
                }
                (hub.hooks.on_kicked)(Some(&docs));
            }
            Some((_, SiteNote::KickAll)) => {
                for doc in live_docs(hub) {
                    hear(hub, doc, Heard::Note(Note::Kick));
                }
                (hub.hooks.on_kicked)(None);
            }
            Some((_, SiteNote::Commented { page, comment })) => {
                (hub.hooks.on_commented)(page, comment);
            }
            None => tracing::warn!("an unreadable message on the site channel"),
        }
        return;
    }
    let Some(doc) = rest.strip_prefix(":doc:").and_then(|id| id.parse().ok()).map(DocId) else {
        return;
    };
    match decode_note(payload) {
        Some((origin, _)) if origin == relay.origin => {}
        Some((_, note)) => hear(hub, doc, Heard::Note(note)),
        None => tracing::warn!(doc = doc.0, "an unreadable message on a document's channel"),
    }
}

// The wire format: the origin (8 bytes), a tag, then the note's fields, little-endian.

fn encode_note(origin: u64, note: &Note) -> Vec<u8> {
    let mut out = origin.to_le_bytes().to_vec();
    match note {
        Note::Updates { first, updates } => {
            out.push(b'U');
            out.extend_from_slice(&first.to_le_bytes());
            for (author, data) in updates {
                out.extend_from_slice(&author.unwrap_or(0).to_le_bytes());
                out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
                out.extend_from_slice(data);
            }
        }
        Note::Head(seq) => {
            out.push(b'H');
            out.extend_from_slice(&seq.to_le_bytes());
        }
        Note::Awareness(data) => {
            out.push(b'A');
            out.extend_from_slice(data);
        }
        Note::QueryAwareness => out.push(b'Q'),
        Note::Kick => out.push(b'K'),
        Note::Forget => out.push(b'F'),
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

fn decode_note(payload: &[u8]) -> Option<(u64, Note)> {
    let mut r = Reader(payload);
    let origin = r.u64()?;
    let note = match r.take(1)?[0] {
        b'U' => {
            let first = r.i64()?;
            let mut updates = Vec::new();
            while !r.0.is_empty() {
                let author = Some(r.i64()?).filter(|a| *a != 0);
                let len = usize::try_from(r.u32()?).ok()?;
                updates.push((author, r.take(len)?.to_vec()));
            }
            if updates.is_empty() {
                return None;
            }
            Note::Updates { first, updates }
        }
        b'H' => Note::Head(r.i64()?),
        b'A' => Note::Awareness(std::mem::take(&mut r.0).to_vec()),
        b'Q' => Note::QueryAwareness,
        b'K' => Note::Kick,
        b'F' => Note::Forget,
        _ => return None,
    };
    Some((origin, note))
}

fn encode_site_note(origin: u64, note: &SiteNote) -> Vec<u8> {
    let mut out = origin.to_le_bytes().to_vec();
    match note {
        SiteNote::Touched(pages) => {
            out.push(b'T');
            for page in pages {
                out.extend_from_slice(&page.to_le_bytes());
            }
        }
        SiteNote::Kick(pages) => {
            out.push(b'K');
            for page in pages {
                out.extend_from_slice(&page.to_le_bytes());
            }
        }
        SiteNote::KickAll => out.push(b'X'),
        SiteNote::Commented { page, comment } => {
            out.push(b'C');
            out.extend_from_slice(&page.to_le_bytes());
            out.extend_from_slice(&comment.to_le_bytes());
        }
    }
    out
}

fn decode_site_note(payload: &[u8]) -> Option<(u64, SiteNote)> {
    let mut r = Reader(payload);
    let origin = r.u64()?;
    let note = match r.take(1)?[0] {
        b'T' => {
            let mut pages = Vec::new();
            while !r.0.is_empty() {
                pages.push(r.i64()?);
            }
            SiteNote::Touched(pages)
        }
        b'K' => {
            let mut pages = Vec::new();
            while !r.0.is_empty() {
                pages.push(r.i64()?);
            }
            SiteNote::Kick(pages)
        }
        b'X' => SiteNote::KickAll,
        b'C' => SiteNote::Commented { page: r.i64()?, comment: r.i64()? },
        _ => return None,
    };
    Some((origin, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_back_as_written() {
        let notes = [
            Note::Updates { first: 41, updates: vec![(Some(7), vec![1, 2, 3]), (None, vec![])] },
            Note::Head(99),
            Note::Awareness(vec![1, 0, 5]),
            Note::QueryAwareness,
            Note::Kick,
            Note::Forget,
        ];
        for note in notes {
            assert_eq!(decode_note(&encode_note(12, &note)), Some((12, note)));
        }
        for note in [
            SiteNote::Touched(vec![1, 2, 300]),
            SiteNote::Kick(vec![4, 5]),
            SiteNote::KickAll,
            SiteNote::Commented { page: 7, comment: 42 },
        ] {
            assert_eq!(decode_site_note(&encode_site_note(5, &note)), Some((5, note)));
        }
    }

    #[test]
    fn truncated_or_unknown_notes_are_refused() {
        let full = encode_note(1, &Note::Updates { first: 1, updates: vec![(None, vec![9; 10])] });
        for cut in 0..full.len() {
            assert_eq!(decode_note(&full[..cut]), None, "cut at {cut}");
        }
        assert_eq!(decode_note(&[0, 0, 0, 0, 0, 0, 0, 0, b'Z']), None);
        assert_eq!(decode_site_note(&[0, 0, 0, 0, 0, 0, 0, 0, b'T', 1]), None);
    }
}
