//! Live co-editing: the y-websocket protocol, live documents (one task each), their storage,
//! and the websocket adapter. The core (protocol, the page's state machine in `doc`, store)
//! knows nothing of axum; `live` is the task that carries out what `doc` asks.
pub mod doc;
pub mod entity;
pub mod live;
pub mod notes;
pub mod presence;
pub mod protocol;
pub mod relay;
pub mod shape;
pub mod socket;
pub mod store;
pub mod text;
pub mod ws;

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub use doc::{Invalid, Refusal};
pub use live::{Command, ConnId, Content};
pub use relay::Relay;
pub use store::DocId;

use ruche_base::db::Db;

/// How live documents behave; every value has a default a site can change.
#[derive(Debug, Clone)]
pub struct CollabSettings {
    /// A document nobody is connected to leaves memory after this long.
    pub idle_unload: Duration,
    /// Projections (plain text, links) are refreshed once edits pause this long.
    pub settle: Duration,
    /// An editing session that stays quiet this long is recorded as a revision.
    pub revision_quiet: Duration,
    /// The update log is folded into a snapshot after this many updates.
    pub compact_every: i64,
    /// Largest websocket frame accepted.
    pub max_frame_bytes: usize,
    /// Frames waiting for a slow client before it is dropped.
    pub outbox_capacity: usize,
    /// How long, at most, a busy page holds its updates to send them together (one frame per
    /// connection instead of one per update): `live::WINDOW_PER_CONNECTION` per connection,
    /// up to this. Zero sends each batch as soon as it is stored, and writes each page's
    /// batch without waiting for other pages' (see `store::Committer`).
    pub busy_page_window: Duration,
    /// Messages per second one connection may send (bursts of three seconds' worth allowed);
    /// a faster client is slowed down, and closed if it keeps on for `flood_grace`.
    pub max_messages_per_second: u32,
    pub flood_grace: Duration,
    /// Live connections from one client address (0: no limit).
    pub max_connections_per_address: usize,
    /// Longest page text, in UTF-16 code units (what browsers count).
    pub max_page_chars: u32,
    /// Largest presence state one connection may announce (name, colour, cursor), in bytes;
    /// a larger one closes the connection.
    pub max_presence_bytes: usize,
}

impl Default for CollabSettings {
    fn default() -> Self {
        Self {
            idle_unload: Duration::from_secs(60),
            settle: Duration::from_secs(2),
            revision_quiet: Duration::from_secs(120),
            compact_every: 500,
            max_frame_bytes: 4 * 1024 * 1024,
            outbox_capacity: 1024,
            busy_page_window: Duration::from_millis(10),
            max_messages_per_second: 100,
            flood_grace: Duration::from_secs(5),
            max_connections_per_address: 100,
            max_page_chars: 2_000_000,
            max_presence_bytes: 8 * 1024,
        }
    }
}

/// A change refused because the page would be longer than `max_page_chars`; nothing of it is
/// stored.
#[derive(Debug, thiserror::Error)]
#[error("the page would be longer than {max} characters")]
pub struct PageTooLong {
    pub max: u32,
}

/// Why a change through the hub (a text, an edit form, form values) was not made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The page would be longer than `max_page_chars`: nothing of the change is stored.
    #[error(transparent)]
    TooLong(PageTooLong),
    /// The change cannot be applied to this document (an edit form's `base` that is not a
    /// state of a page, or holds changes this page does not have): nothing of it is stored.
    #[error("the change cannot be applied: {0}")]
    Invalid(Invalid),
    /// The page could not be reached, or storage failed.
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<Refusal> for EditError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::TooLong(max) => EditError::TooLong(PageTooLong { max }),
            Refusal::Invalid(invalid) => EditError::Invalid(invalid),
            Refusal::NotStored(why) => EditError::Internal(anyhow::anyhow!(why)),
        }
    }
}

/// The document's task could not be reached or did not answer.
impl From<anyhow::Error> for EditError {
    fn from(err: anyhow::Error) -> Self {
        EditError::Internal(err)
    }
}

type HookFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
/// Called when a document's changes have settled, to refresh what is derived from it.
pub(crate) type OnSettled = Arc<dyn Fn(DocId, Content) -> HookFuture + Send + Sync>;
/// Called when an editing session has gone quiet, with the people who changed the document
/// since the previous call: the moment to record a revision.
pub(crate) type OnQuiet = Arc<dyn Fn(DocId, Content, Vec<i64>) -> HookFuture + Send + Sync>;

/// Called when another process says a page changed (to refresh what this process derives).
pub(crate) type OnTouched = Arc<dyn Fn(i64) + Send + Sync>;
/// Called when another process says a comment of a page changed (page, comment).
pub(crate) type OnCommented = Arc<dyn Fn(i64, i64) + Send + Sync>;
/// Called when who may do what on these pages (`None`: on every page) changed, in this process
/// or another: the live connections the hub does not hold (comment streams) are checked again.
pub(crate) type OnKicked = Arc<dyn Fn(Option<&[DocId]>) + Send + Sync>;
/// Called when the link to the other processes is back after an outage.
pub(crate) type OnReconnected = Arc<dyn Fn() + Send + Sync>;

/// What the rest of the application does when documents change.
#[derive(Clone)]
pub struct Hooks {
    pub on_settled: OnSettled,
    pub on_quiet: OnQuiet,
    pub on_touched: OnTouched,
    pub on_commented: OnCommented,
    pub on_kicked: OnKicked,
    pub on_reconnected: OnReconnected,
}

pub(crate) struct HubInner {
    pub(crate) db: Db,
    /// Writes the pages' batches of updates, several pages' with one statement.
    pub(crate) committer: store::Committer,
    pub(crate) settings: CollabSettings,
    pub(crate) docs: Mutex<HashMap<DocId, mpsc::Sender<Command>>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) hooks: Hooks,
    /// The other processes serving the site, when there are (Redis).
    pub(crate) relay: Option<Arc<Relay>>,
    next_conn: AtomicU64,
    /// Live connections per client address.
    addresses: Arc<Mutex<HashMap<std::net::IpAddr, usize>>>,
}

/// One admitted connection from an address; it counts until dropped.
pub struct Admitted {
    addresses: Arc<Mutex<HashMap<std::net::IpAddr, usize>>>,
    ip: std::net::IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = addresses.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                addresses.remove(&self.ip);
            }
        }
    }
}

/// The registry of live documents: finds or starts the one task that owns each document.
#[derive(Clone)]
pub struct Hub(Arc<HubInner>);

/// How many commands may wait for a document's task.
const INBOX_CAPACITY: usize = 4096;

/// How long the writer of updates waits for more pages' batches while several pages write at
/// once (never more than the site's `busy_page_window`: 0 turns both off).
const GROUP_LINGER: Duration = Duration::from_millis(2);

impl Hub {
    /// The hub of one process; with a relay, documents stay in step with the other processes.
    pub fn new(db: Db, settings: CollabSettings, hooks: Hooks, relay: Option<Arc<Relay>>) -> Self {
        let inner = Arc::new(HubInner {
            committer: store::Committer::start(
                db.clone(),
                settings.busy_page_window.min(GROUP_LINGER),
            ),
            db,
            settings,
            docs: Mutex::new(HashMap::new()),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            hooks,
            relay,
            next_conn: AtomicU64::new(1),
            addresses: Arc::default(),
        });
        if let Some(relay) = &inner.relay {
            relay.start(&inner);
        }
        Hub(inner)
    }

    /// The link to the other processes, when there is one.
    pub fn relay(&self) -> Option<&Arc<Relay>> {
        self.0.relay.as_ref()
    }

    pub fn settings(&self) -> &CollabSettings {
        &self.0.settings
    }

    /// Counts a new connection from `ip`, unless that address already has as many as allowed.
    pub fn admit(&self, ip: std::net::IpAddr) -> Option<Admitted> {
        let limit = self.0.settings.max_connections_per_address;
        let mut addresses = self.0.addresses.lock().unwrap_or_else(|p| p.into_inner());
        let n = addresses.entry(ip).or_insert(0);
        if limit > 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(Admitted { addresses: self.0.addresses.clone(), ip })
    }

    pub(crate) fn new_conn_id(&self) -> ConnId {
        self.0.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends the document a command; an error when its task could not be reached.
    pub async fn send(&self, doc: DocId, cmd: Command) -> anyhow::Result<()> {
        send_to(&self.0, doc, cmd).await
    }

    /// Sends the document a command carrying a reply channel, and waits for its answer.
    async fn ask<T>(
        &self,
        doc: DocId,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        self.send(doc, command(reply)).await?;
        answer.await.map_err(|_| anyhow::anyhow!("the document could not be loaded"))
    }

    /// The document's current content (loading it if needed).
    pub async fn read(&self, doc: DocId) -> anyhow::Result<Content> {
        self.ask(doc, |reply| Command::Read { reply }).await
    }

    /// Makes the body read `markdown`, as a CRDT edit merged with concurrent typing; returns
    /// once the change is stored and broadcast. With `base` (the text the writer started from),
    /// only the writer's own changes are applied, so what others typed since stays.
    pub async fn set_text(
        &self,
        doc: DocId,
        markdown: String,
        base: Option<String>,
        author: Option<i64>,
    ) -> Result<(), EditError> {
        Ok(self
            .ask(doc, |done| {
                Command::Edit(Box::new(doc::Input::SetText { markdown, base, author, reply: done }))
            })
            .await??)
    }

    /// Makes the body read `markdown` starting from an earlier state of the document (`base`,
    /// as an edit form received it): only the changes made since then are applied, so what
    /// others typed meanwhile stays.
    pub async fn edit_from(
        &self,
        doc: DocId,
        base: &[u8],
        markdown: &str,
        author: Option<i64>,
    ) -> Result<(), EditError> {
        use yrs::Transact;
        let max = self.0.settings.max_page_chars;
        if text::utf16_len(markdown) > max {
            return Err(EditError::TooLong(PageTooLong { max }));
        }
        let scratch = doc::new_doc();
        let unreadable = |e: &dyn std::fmt::Display| {
            tracing::info!(doc = doc.0, error = %e, "an edit's base is not a state of a page");
            EditError::Invalid(Invalid::Unreadable)
        };
        let update = protocol::decode_update(base).map_err(|e| unreadable(&e))?;
        scratch.transact_mut().apply_update(update).map_err(|e| unreadable(&e))?;
        let body = scratch.get_or_insert_text("body");
        let data = {
            let mut txn = scratch.transact_mut();
            text::set_text(&mut txn, &body, markdown);
            txn.encode_update_v1()
        };
        Ok(self
            .ask(doc, |done| {
                Command::Edit(Box::new(doc::Input::Apply { data, author, reply: done }))
            })
            .await??)
    }

    /// The content now, with the people who changed it since the last revision (who are then
    /// forgotten, as the caller records the revision).
    pub async fn take_revision(&self, doc: DocId) -> anyhow::Result<(Content, Vec<i64>)> {
        self.ask(doc, |reply| Command::TakeRevision { reply }).await
    }

    /// Removes the document from memory without saving and closes its connections (before its
    /// storage is deleted), in every process.
    pub async fn forget(&self, doc: DocId) {
        if let Some(relay) = &self.0.relay {
            relay.publish(doc, &relay::Note::Forget);
        }
        let sender = self.0.docs.lock().unwrap_or_else(|p| p.into_inner()).get(&doc).cloned();
        if let Some(sender) = sender {
            let (done, finished) = oneshot::channel();
            if sender.send(Command::Forget { done }).await.is_ok() {
                let _ = finished.await;
            }
        }
    }

    /// Sets form values in the document's `fields` map (`null` removes one), as a CRDT edit that
    /// live clients see; returns once stored and broadcast.
    pub async fn set_fields(
        &self,
        doc: DocId,
        values: serde_json::Map<String, serde_json::Value>,
        author: Option<i64>,
    ) -> Result<(), EditError> {
        Ok(self
            .ask(doc, |done| {
                Command::Edit(Box::new(doc::Input::SetFields { values, author, reply: done }))
            })
            .await??)
    }

    /// Closes the connections to these documents if they are live, in every process, so that
    /// every client reconnects and has its access checked again (after a change of roles or
    /// visibility); the other live connections to these pages (comment streams) are checked
    /// again too. Told on the site's channel: every process hears it, live document or not.
    pub async fn kick(&self, docs: impl IntoIterator<Item = DocId>) {
        let docs: Vec<DocId> = docs.into_iter().collect();
        if let Some(relay) = &self.0.relay {
            relay.publish_site(&relay::SiteNote::Kick(docs.iter().map(|d| d.0).collect()));
        }
        (self.0.hooks.on_kicked)(Some(&docs));
        self.kick_here(docs).await;
    }

    /// Closes the connections to these documents in this process.
    async fn kick_here(&self, docs: Vec<DocId>) {
        for doc in docs {
            let sender = self.0.docs.lock().unwrap_or_else(|p| p.into_inner()).get(&doc).cloned();
            if let Some(sender) = sender {
                let _ = sender.send(Command::Kick).await;
            }
        }
    }

    /// Closes every live connection, in every process (after an account was disabled or lost
    /// its rights).
    pub async fn kick_all(&self) {
        if let Some(relay) = &self.0.relay {
            relay.publish_site(&relay::SiteNote::KickAll);
        }
        (self.0.hooks.on_kicked)(None);
        let docs: Vec<DocId> =
            self.0.docs.lock().unwrap_or_else(|p| p.into_inner()).keys().copied().collect();
        self.kick_here(docs).await;
    }

    /// Number of documents in memory.
    pub fn live_count(&self) -> usize {
        self.0.docs.lock().map(|d| d.len()).unwrap_or(0)
    }

    /// Stops every document (each compacts and ends) and waits for them.
    pub async fn shutdown(&self) {
        self.0.cancel.cancel();
        self.0.tracker.close();
        self.0.tracker.wait().await;
    }
}

/// A document's content as stored (every update is stored before anyone sees it, so this is
/// what people saw), read without loading it live: for exports.
pub async fn stored_content(db: &Db, doc: DocId) -> anyhow::Result<Content> {
    let stored = store::load(db, doc).await?;
    let ydoc = doc::new_doc();
    doc::apply_stored(&ydoc, &stored);
    Ok(doc::content_of(&ydoc))
}

/// What the relay hands a live document.
pub(crate) enum Heard {
    /// What another process said about it.
    Note(relay::Note),
    /// Updates may have been stored without this process hearing of them (it just started
    /// listening, or the link was down): read what was stored since.
    MissedSome,
}

/// The one way what the other processes say reaches a document: only if it is live here
/// (nothing is loaded for it). A document too busy to take it reads what it missed from the
/// database instead.
pub(crate) fn hear(hub: &HubInner, doc: DocId, heard: Heard) {
    let sender = hub.docs.lock().unwrap_or_else(|p| p.into_inner()).get(&doc).cloned();
    let Some(sender) = sender else { return };
    let command = match heard {
        Heard::Note(note) => Command::Remote(note),
        Heard::MissedSome => Command::CatchUp,
    };
    if let Err(mpsc::error::TrySendError::Full(_)) = sender.try_send(command) {
        tokio::spawn(async move {
            let _ = sender.send(Command::CatchUp).await;
        });
    }
}

/// The inbox of the document's task, starting the task when it is not live (or just left).
pub(crate) fn sender_for(hub: &Arc<HubInner>, doc: DocId) -> mpsc::Sender<Command> {
    let mut docs = hub.docs.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(sender) = docs.get(&doc).filter(|s| !s.is_closed()) {
        return sender.clone();
    }
    let (sender, inbox) = mpsc::channel(INBOX_CAPACITY);
    docs.insert(doc, sender.clone());
    let inner = hub.clone();
    hub.tracker.spawn(async move {
        // Loading is boxed: the task's own future stays the size of `run`'s.
        match Box::pin(live::LiveDoc::load(doc, inner.clone())).await {
            Ok(live) => Box::new(live).run(inbox).await,
            Err(err) => {
                tracing::error!(doc = doc.0, error = ?err, "could not load a document");
                inner.docs.lock().unwrap_or_else(|p| p.into_inner()).remove(&doc);
            }
        }
    });
    sender
}

/// Sends to the document's task, starting it when needed.
pub(crate) async fn send_to(
    hub: &Arc<HubInner>,
    doc: DocId,
    mut cmd: Command,
) -> anyhow::Result<()> {
    if hub.cancel.is_cancelled() {
        anyhow::bail!("the site is stopping; try again in a moment");
    }
    for _ in 0..3 {
        match sender_for(hub, doc).send(cmd).await {
            Ok(()) => return Ok(()),
            Err(mpsc::error::SendError(back)) => cmd = back,
        }
    }
    tracing::error!(doc = doc.0, "a document's task kept going away; command not delivered");
    anyhow::bail!("the page could not be reached; try again")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_its_kind_up_to_the_caller() {
        assert!(matches!(
            EditError::from(Refusal::TooLong(100)),
            EditError::TooLong(PageTooLong { max: 100 })
        ));
        assert!(matches!(
            EditError::from(Refusal::Invalid(Invalid::MissingChanges)),
            EditError::Invalid(Invalid::MissingChanges)
        ));
        let EditError::Internal(err) = EditError::from(Refusal::NotStored("disk full".into()))
        else {
            panic!("storage failing is the server's fault")
        };
        assert!(err.to_string().contains("disk full"));
    }
}
