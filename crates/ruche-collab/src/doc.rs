//! A page's live document as a state machine, without I/O: what arrives (a client's message, an
//! edit made over HTTP, what another process stored, a timer) goes in, and what must happen comes
//! out as effects (send to one connection, broadcast, close a connection with its reason,
//! publish to the other processes, read storage, answer a caller). No database, channel or
//! socket here: `live.rs` carries the effects out, and every rule is tested with bytes in and
//! effects out (`tests` below).
//!
//! The one rule that shapes the interface: **nothing anyone sees is unstored**. Updates applied
//! here wait in a batch until the task stores them (`take_batch`, then `stored`); an input that
//! would show the document to someone (a connection joining, a client's sync step 1, a kick)
//! is handed back with [`Step::StoreFirst`] while updates wait.
use std::{
    collections::{HashMap, HashSet, VecDeque},
    panic::AssertUnwindSafe,
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use tokio::time::Instant;
use yrs::{
    block::ClientID,
    sync::{awareness::AwarenessUpdate, Awareness},
    types::ToJson,
    updates::{decoder::Decode, encoder::Encode},
    GetString, Map as _, OffsetKind, Options, ReadTxn, StateVector, Text as _, Transact, Update,
};

use super::{
    notes::Note,
    presence::{self, ConnId},
    protocol::{self, Message},
    store, text,
};

/// Close codes (RFC 6455): invalid data, policy violation, internal error.
pub const CLOSE_INVALID: u16 = 1007;
pub const CLOSE_POLICY: u16 = 1008;
pub const CLOSE_ERROR: u16 = 1011;

/// Why a client's update that writes the page's `fields` is refused: field values are checked
/// against the form (kinds, choices, files, audience), so only the fields form writes them.
pub const FIELDS_BY_FORM: &str = "fields are written through the form";

/// Why a client's update that depends on changes this page does not have is refused.
pub const MISSING_CHANGES: &str = "update depends on changes this page does not have";

/// The page's content, as the HTTP side reads it.
#[derive(Debug, Clone)]
pub struct Content {
    pub markdown: String,
    pub fields: serde_json::Value,
    /// The whole document, encoded: an edit form carries it back so that its changes merge
    /// with what others typed in the meantime.
    pub state: Vec<u8>,
}

/// What bounds and paces a document (from the site's settings).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest page text, in UTF-16 code units.
    pub max_page_chars: u32,
    /// Largest presence state one connection may announce, in bytes.
    pub max_presence_bytes: usize,
    /// Projections are refreshed once edits pause this long.
    pub settle: Duration,
    /// An editing session quiet this long is recorded as a revision.
    pub revision_quiet: Duration,
    /// The update log is folded into a snapshot after this many updates.
    pub compact_every: i64,
    /// Other processes serve the site: stored updates and presence are published to them.
    pub relayed: bool,
}

/// What arrives. `R` is how a caller waiting for its edit is answered (a channel in the task,
/// anything in tests).
pub enum Input<R> {
    /// A connection opens the page (checked at the door: it may read, perhaps write).
    Join {
        conn: ConnId,
        can_write: bool,
        author: Option<i64>,
        who: presence::Identity,
    },
    /// One message of a client's frame.
    Message {
        conn: ConnId,
        message: Message,
    },
    Leave {
        conn: ConnId,
    },
    /// Make the body read `markdown` (as a diff), on behalf of `author`. With `base` (the text
    /// the writer started from), only the writer's changes are applied.
    SetText {
        markdown: String,
        base: Option<String>,
        author: Option<i64>,
        reply: R,
    },
    /// Apply an update made elsewhere (an edit form's changes), on behalf of `author`.
    Apply {
        data: Vec<u8>,
        author: Option<i64>,
        reply: R,
    },
    /// Set these form values in the `fields` map (`null` removes one), on behalf of `author`.
    SetFields {
        values: serde_json::Map<String, serde_json::Value>,
        author: Option<i64>,
        reply: R,
    },
    /// Who may do what changed: every connection is closed, to be checked again.
    Kick,
    /// The page is being deleted: every connection is closed; nothing more is stored.
    Forget,
    /// What another process said about this document.
    Remote(Note),
    /// What storage holds after [`DocState::last_seq`] (the answer to [`Effect::CatchUp`], or
    /// updates another process stored before a batch of ours).
    Caught(store::Stored),
}

impl<R> Input<R> {
    /// The bytes of the update this input applies (to apply a large one off the runtime).
    pub fn update_bytes(&self) -> usize {
        match self {
            Input::Message { message: Message::SyncStep2(d) | Message::Update(d), .. } => d.len(),
            Input::Apply { data, .. } => data.len(),
            _ => 0,
        }
    }
}

/// Why an update cannot be applied to this document: a live client is closed with its
/// reason (`CLOSE_INVALID`), a caller over HTTP is answered with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// It does not decode as an update (or an edit form's `base` is not a state of a page).
    #[error("invalid update")]
    Unreadable,
    /// It depends on changes this page does not have.
    #[error("{}", MISSING_CHANGES)]
    MissingChanges,
    /// yrs could not apply it.
    #[error("update could not be applied")]
    NotApplicable,
}

/// Why an edit made for a caller was not made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The page would be longer than this: nothing of the edit is kept.
    #[error("the page would be longer than {0} characters")]
    TooLong(u32),
    /// The update cannot be applied to this document.
    #[error(transparent)]
    Invalid(Invalid),
    /// Storage failed: nothing of the edit is kept.
    #[error("{0}")]
    NotStored(String),
}

/// What must happen.
#[derive(Debug)]
pub enum Effect<R> {
    /// One frame to one connection.
    Send(ConnId, Bytes),
    /// One frame to every connection but `except` (one buffer, shared).
    Broadcast { except: Option<ConnId>, frame: Bytes },
    /// Close a connection with a code and a reason; it is no longer part of the page.
    Close { conn: ConnId, code: u16, reason: String },
    /// Tell the other processes.
    Publish(Note),
    /// Read what storage holds after `last_seq()` and hand it back as [`Input::Caught`].
    CatchUp,
    /// Answer a caller waiting for its edit.
    Reply(R, Result<(), Refusal>),
}

/// Whether an input was handled, or must wait for the waiting updates to be stored.
#[must_use]
pub enum Step<R> {
    Done,
    /// Store the batch (`take_batch`), then hand this input in again.
    StoreFirst(Input<R>),
}

/// Updates applied here and not stored yet, in the order they were applied.
pub struct Batch<R> {
    pub updates: Vec<Pending<R>>,
}

pub struct Pending<R> {
    pub data: Vec<u8>,
    pub author: Option<i64>,
    /// The connection that sent it (`None`: an edit over HTTP).
    pub from: Option<ConnId>,
    reply: Option<R>,
}

struct Conn {
    can_write: bool,
    author: Option<i64>,
    /// Who the others see in this connection's presence.
    who: presence::Identity,
    /// Awareness client ids this connection announced, dropped when it leaves.
    clients: presence::Own,
}

/// One page's live state.
pub struct DocState<R> {
    limits: Limits,
    awareness: Awareness,
    /// Which connection holds each presence id, and what presence weighs.
    presence: presence::Ledger,
    /// Raised when the `fields` map changes (clients may not change it).
    fields_watch: FieldsWatch,
    conns: HashMap<ConnId, Conn>,
    pending: Vec<Pending<R>>,
    /// Updates stored elsewhere (another process, a catch-up), applied here and not sent yet:
    /// they go out with the next batch stored here (one frame for both) or on their own when
    /// none comes within the page's window.
    heard: Vec<Vec<u8>>,
    /// The sequence number of the last stored update this document holds.
    last_seq: i64,
    /// Sequence number covered by the stored snapshot.
    snapshot_seq: i64,
    /// When projections are due (edits paused).
    settle_at: Option<Instant>,
    /// When the editing session counts as quiet (a revision is due).
    quiet_at: Option<Instant>,
    /// People who changed the document since the last revision.
    authors: HashSet<i64>,
    /// Whether this process stored changes since the last revision (the one to record it).
    changed_here: bool,
    /// Set when the page is being deleted.
    forgotten: bool,
    /// Set when the document holds something that must not be stored (an update that panicked,
    /// made the page too long, wrote fields, or waits for missing changes): it is read again
    /// from storage (`reload`).
    poisoned: bool,
}

impl<R> DocState<R> {
    /// The document as storage holds it. `authors`: who changed it since its last revision
    /// (stored by a process that stopped before recording it).
    pub fn new(
        limits: Limits,
        stored: &store::Stored,
        authors: impl IntoIterator<Item = i64>,
        now: Instant,
    ) -> Self {
        let doc = new_doc();
        apply_stored(&doc, stored);
        // Changes stored but not yet in a revision: record them soon.
        let quiet_at = (!stored.updates.is_empty()).then(|| now + limits.revision_quiet);
        Self {
            fields_watch: FieldsWatch::on(&doc),
            awareness: Awareness::new(doc),
            presence: presence::Ledger::default(),
            conns: HashMap::new(),
            pending: Vec::new(),
            heard: Vec::new(),
            last_seq: stored.last_seq,
            snapshot_seq: stored.base_seq,
            settle_at: None,
            quiet_at,
            authors: authors.into_iter().collect(),
            changed_here: quiet_at.is_some(),
            forgotten: false,
            poisoned: false,
            limits,
        }
    }

    fn doc(&self) -> &yrs::Doc {
        self.awareness.doc()
    }

    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    pub fn is_connected(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    pub fn has_connections(&self) -> bool {
        !self.conns.is_empty()
    }

    pub fn poisoned(&self) -> bool {
        self.poisoned
    }

    pub fn forgotten(&self) -> bool {
        self.forgotten
    }

    pub fn content(&self) -> Content {
        content_of(self.doc())
    }

    /// Handles one input; effects are appended to `fx` in the order they must happen.
    pub fn handle(
        &mut self,
        input: Input<R>,
        now: Instant,
        fx: &mut VecDeque<Effect<R>>,
    ) -> Step<R> {
        if self.forgotten {
            return Step::Done;
        }
        let shows_the_document = matches!(
            &input,
            Input::Join { .. }
                | Input::Kick
                | Input::Remote(Note::Kick)
                | Input::Message { message: Message::SyncStep1(_), .. }
        );
        if shows_the_document && !self.pending.is_empty() {
            return Step::StoreFirst(input);
        }
        match input {
            Input::Join { conn, can_write, author, who } => {
                let sv = self.doc().transact().state_vector();
                fx.push_back(Effect::Send(conn, protocol::encode_sync_step1(&sv).into()));
                if let Ok(presence) = self.awareness.update() {
                    if !presence.clients.is_empty() {
                        fx.push_back(Effect::Send(
                            conn,
                            protocol::encode_awareness(&presence).into(),
                        ));
                    }
                }
                self.conns.insert(
                    conn,
                    Conn { can_write, author, who, clients: presence::Own::default() },
                );
            }
            Input::Message { conn, message } => {
                if self.conns.contains_key(&conn) {
                    self.message(conn, message, fx);
                }
            }
            Input::Leave { conn } => self.leave(conn, fx),
            Input::SetText { markdown, base, author, reply } => {
                self.set_text(&markdown, base.as_deref(), author, reply, fx)
            }
            Input::Apply { data, author, reply } => match self.apply(&data) {
                Ok(true) if self.too_long() => {
                    self.poisoned = true;
                    fx.push_back(Effect::Reply(
                        reply,
                        Err(Refusal::TooLong(self.limits.max_page_chars)),
                    ));
                }
                Ok(true) => {
                    self.pending.push(Pending { data, author, from: None, reply: Some(reply) })
                }
                Ok(false) => fx.push_back(Effect::Reply(reply, Ok(()))),
                Err(reason) => fx.push_back(Effect::Reply(reply, Err(Refusal::Invalid(reason)))),
            },
            Input::SetFields { values, author, reply } => {
                self.set_fields(&values, author, reply, fx)
            }
            Input::Kick | Input::Remote(Note::Kick) => {
                self.close_all(CLOSE_POLICY, "access changed; reconnect", fx)
            }
            Input::Forget | Input::Remote(Note::Forget) => {
                self.pending.clear();
                self.close_all(CLOSE_POLICY, "page deleted", fx);
                self.forgotten = true;
            }
            Input::Remote(note) => self.remote(note, now, fx),
            Input::Caught(stored) => self.caught(stored, now, fx),
        }
        Step::Done
    }

    fn message(&mut self, conn: ConnId, message: Message, fx: &mut VecDeque<Effect<R>>) {
        match message {
            Message::SyncStep1(sv) => {
                let diff = self.doc().transact().encode_diff_v1(&sv);
                fx.push_back(Effect::Send(conn, protocol::encode_sync_step2(&diff).into()));
            }
            Message::SyncStep2(data) | Message::Update(data) => {
                let Some(c) = self.conns.get(&conn) else { return };
                if !c.can_write {
                    if Update::decode_v1(&data).is_ok_and(|u| u.is_empty()) {
                        return; // a read-only client answering our step 1 with nothing
                    }
                    // The connection stays open; nothing is applied, and the client is told.
                    let denied = protocol::encode_permission_denied("lecture seule / read-only");
                    fx.push_back(Effect::Send(conn, denied.into()));
                    return;
                }
                let author = c.author;
                self.fields_watch.take();
                match self.apply(&data) {
                    Ok(true) if self.fields_watch.take() => {
                        // Not stored: the document is read again from storage without it.
                        tracing::info!(conn, "a live client wrote fields");
                        self.close(conn, CLOSE_POLICY, FIELDS_BY_FORM, fx);
                        self.poisoned = true;
                    }
                    Ok(true) if self.too_long() => {
                        // Not stored: the document is read again from storage without it.
                        tracing::info!(conn, "an update made the page too long");
                        self.close(conn, CLOSE_POLICY, "page too long", fx);
                        self.poisoned = true;
                    }
                    Ok(true) => {
                        self.pending.push(Pending { data, author, from: Some(conn), reply: None })
                    }
                    Ok(false) => {}
                    Err(invalid) => self.close(conn, CLOSE_INVALID, &invalid.to_string(), fx),
                }
            }
            Message::Awareness(update) => {
                let Some(c) = self.conns.get_mut(&conn) else { return };
                let max = self.limits.max_presence_bytes;
                let update = match self.presence.admit(conn, &mut c.clients, &c.who, update, max) {
                    Ok(clean) if clean.clients.is_empty() => return,
                    Ok(clean) => clean,
                    Err(reason) => return self.close(conn, CLOSE_POLICY, reason, fx),
                };
                if self.awareness.apply_update(update.clone()).is_err() {
                    return self.close(conn, CLOSE_INVALID, "invalid awareness update", fx);
                }
                let frame = protocol::encode_awareness(&update).into();
                fx.push_back(Effect::Broadcast { except: Some(conn), frame });
                if self.limits.relayed {
                    fx.push_back(Effect::Publish(Note::Awareness(update.encode_v1())));
                }
            }
            Message::QueryAwareness => {
                if let Ok(presence) = self.awareness.update() {
                    fx.push_back(Effect::Send(conn, protocol::encode_awareness(&presence).into()));
                }
            }
        }
    }

    fn set_text(
        &mut self,
        markdown: &str,
        base: Option<&str>,
        author: Option<i64>,
        reply: R,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        let max = self.limits.max_page_chars;
        if text::utf16_len(markdown) > max {
            fx.push_back(Effect::Reply(reply, Err(Refusal::TooLong(max))));
            return;
        }
        let body = self.doc().get_or_insert_text("body");
        let data = {
            let mut txn = self.doc().transact_mut();
            match base {
                Some(base) => text::merge_text(&mut txn, &body, base, markdown),
                None => text::set_text(&mut txn, &body, markdown),
            };
            txn.encode_update_v1()
        };
        if is_empty_update(&data) {
            fx.push_back(Effect::Reply(reply, Ok(())));
        } else if self.too_long() {
            // Merged with what others typed, it went past the limit: not stored, and the
            // document is read again from storage without it.
            self.poisoned = true;
            fx.push_back(Effect::Reply(reply, Err(Refusal::TooLong(max))));
        } else {
            self.pending.push(Pending { data, author, from: None, reply: Some(reply) });
        }
    }

    fn set_fields(
        &mut self,
        values: &serde_json::Map<String, serde_json::Value>,
        author: Option<i64>,
        reply: R,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        let current = self.content().fields;
        let fields = self.doc().get_or_insert_map("fields");
        let data = {
            let mut txn = self.doc().transact_mut();
            for (key, value) in values {
                if current.get(key) == Some(value)
                    || (value.is_null() && current.get(key).is_none())
                {
                    continue;
                }
                if value.is_null() {
                    fields.remove(&mut txn, key);
                } else if let Ok(any) = yrs::Any::from_json(&value.to_string()) {
                    fields.insert(&mut txn, key.as_str(), any);
                }
            }
            txn.encode_update_v1()
        };
        if is_empty_update(&data) {
            fx.push_back(Effect::Reply(reply, Ok(())));
        } else {
            self.pending.push(Pending { data, author, from: None, reply: Some(reply) });
        }
    }

    /// What another process said about this document.
    fn remote(&mut self, note: Note, now: Instant, fx: &mut VecDeque<Effect<R>>) {
        match note {
            Note::Updates { first, updates } => {
                let mut applied = Vec::new();
                for (seq, (author, data)) in (first..).zip(updates) {
                    if seq <= self.last_seq {
                        continue; // known already
                    }
                    if seq > self.last_seq + 1 {
                        self.heard.extend(applied);
                        fx.push_back(Effect::CatchUp); // some were lost on the way
                        return;
                    }
                    self.apply_stored_update(seq, &data, author, now);
                    applied.push(data);
                }
                self.heard.extend(applied);
            }
            Note::Head(seq) => {
                if seq > self.last_seq {
                    fx.push_back(Effect::CatchUp);
                }
            }
            Note::Awareness(data) => {
                let Ok(update) = AwarenessUpdate::decode_v1(&data) else { return };
                if self.awareness.apply_update(update.clone()).is_ok() {
                    let frame = protocol::encode_awareness(&update).into();
                    fx.push_back(Effect::Broadcast { except: None, frame });
                }
            }
            Note::QueryAwareness => {
                let here: Vec<ClientID> =
                    self.conns.values().flat_map(|c| c.clients.ids()).collect();
                if here.is_empty() {
                    return;
                }
                if let Ok(presence) = self.awareness.update_with_clients(here) {
                    fx.push_back(Effect::Publish(Note::Awareness(presence.encode_v1())));
                }
            }
            Note::Kick | Note::Forget => {} // handled with the inputs that show or end the page
        }
    }

    /// What storage holds after `last_seq`: applied and forwarded to the connections here.
    fn caught(&mut self, stored: store::Stored, now: Instant, fx: &mut VecDeque<Effect<R>>) {
        if let Some(snapshot) = &stored.snapshot {
            // Compacted meanwhile: the snapshot holds what the log no longer does. Only what
            // this document lacks is applied and forwarded (taken from the stored snapshot, so
            // nothing unstored goes out).
            let missing = match Update::decode_v1(snapshot) {
                Ok(update) => {
                    let scratch = new_doc();
                    let applied = scratch.transact_mut().apply_update(update);
                    let sv = self.doc().transact().state_vector();
                    applied.map(|()| scratch.transact().encode_diff_v1(&sv)).ok()
                }
                Err(_) => None,
            };
            let Some(missing) = missing else {
                tracing::error!("a stored snapshot does not apply");
                return;
            };
            if let Err(reason) = self.apply(&missing) {
                tracing::error!(reason = %reason, "a stored snapshot does not apply");
            }
            fx.push_back(Effect::Broadcast {
                except: None,
                frame: protocol::encode_update(&missing).into(),
            });
            self.snapshot_seq = self.snapshot_seq.max(stored.base_seq);
            self.last_seq = self.last_seq.max(stored.base_seq);
            self.quiet_at = Some(now + self.limits.revision_quiet);
        }
        for update in stored.updates {
            if update.seq > self.last_seq {
                self.apply_stored_update(update.seq, &update.data, update.author, now);
                self.heard.push(update.data);
            }
        }
    }

    /// Applies an update another process stored under `seq` (the next one); the caller keeps
    /// it in `heard`, to be sent.
    fn apply_stored_update(&mut self, seq: i64, data: &[u8], author: Option<i64>, now: Instant) {
        if let Err(reason) = self.apply(data) {
            tracing::error!(seq, reason = %reason, "a stored update does not apply");
        }
        self.last_seq = seq;
        self.authors.extend(author);
        self.quiet_at = Some(now + self.limits.revision_quiet);
    }

    /// Sends the updates stored elsewhere that wait (`heard`), when no batch of this process's
    /// carries them; whether there were any.
    pub fn send_heard(&mut self, fx: &mut VecDeque<Effect<R>>) -> bool {
        let heard = std::mem::take(&mut self.heard);
        self.broadcast_stored(&heard, fx);
        !heard.is_empty()
    }

    /// Updates stored elsewhere (another process, or read back from storage) go out to every
    /// connection here as one merged update, like a batch stored here.
    fn broadcast_stored(&self, updates: &[Vec<u8>], fx: &mut VecDeque<Effect<R>>) {
        let merged = match updates {
            [] => return,
            [one] => Ok(one.clone()),
            many => yrs::merge_updates_v1(many.iter().map(Vec::as_slice)),
        };
        match merged {
            Ok(merged) => fx.push_back(Effect::Broadcast {
                except: None,
                frame: protocol::encode_update(&merged).into(),
            }),
            Err(err) => {
                tracing::warn!(error = %err, "stored updates not merged; sent one by one");
                for data in updates {
                    let frame = protocol::encode_update(data).into();
                    fx.push_back(Effect::Broadcast { except: None, frame });
                }
            }
        }
    }

    /// Whether the body is longer than a page may be.
    fn too_long(&self) -> bool {
        let body = self.doc().get_or_insert_text("body");
        body.len(&self.doc().transact()) > self.limits.max_page_chars
    }

    /// Applies an update; `Ok(false)` when it brings nothing to store.
    fn apply(&mut self, data: &[u8]) -> Result<bool, Invalid> {
        let update = Update::decode_v1(data).map_err(|_| Invalid::Unreadable)?;
        if update.is_empty() {
            return Ok(false);
        }
        if !fits_what_is_known(self.doc(), &update) {
            return Err(Invalid::MissingChanges);
        }
        // yrs may panic on hostile input; the document is then reloaded from storage.
        let doc = self.doc();
        let applied = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut txn = doc.transact_mut();
            txn.apply_update(update).map(|()| txn.has_missing_updates())
        }));
        match applied {
            Ok(Ok(false)) => Ok(true),
            Ok(Ok(true)) => {
                // Part of it waits for changes this page does not have: not stored, and the
                // document is read again without it.
                self.poisoned = true;
                Err(Invalid::MissingChanges)
            }
            Ok(Err(_)) => Err(Invalid::NotApplicable),
            Err(_) => {
                tracing::error!("applying an update panicked; reloading the document");
                self.poisoned = true;
                Err(Invalid::NotApplicable)
            }
        }
    }

    /// Whether updates wait to be stored or sent (this process's, or stored elsewhere).
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || !self.heard.is_empty()
    }

    /// The updates waiting to be stored, taken out to be stored.
    pub fn take_batch(&mut self) -> Option<Batch<R>> {
        (!self.pending.is_empty()).then(|| Batch { updates: std::mem::take(&mut self.pending) })
    }

    /// The batch is stored from sequence number `first`: now it may be seen.
    pub fn stored(
        &mut self,
        batch: Batch<R>,
        first: i64,
        now: Instant,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        let updates = batch.updates;
        self.last_seq = first - 1 + i64::try_from(updates.len()).unwrap_or(0);
        self.authors.extend(updates.iter().filter_map(|p| p.author));
        self.quiet_at = Some(now + self.limits.revision_quiet);
        self.settle_at = Some(now + self.limits.settle);
        self.changed_here = true;
        if self.limits.relayed {
            let published = updates.iter().map(|p| (p.author, p.data.clone())).collect();
            fx.push_back(Effect::Publish(Note::Updates { first, updates: published }));
        }
        if self.heard.is_empty() {
            self.broadcast_batch(&updates, fx);
        } else {
            // With what was heard meanwhile: one frame for both, to everyone.
            let mut all = std::mem::take(&mut self.heard);
            all.extend(updates.iter().map(|p| p.data.clone()));
            self.broadcast_stored(&all, fx);
        }
        for p in updates {
            if let Some(reply) = p.reply {
                fx.push_back(Effect::Reply(reply, Ok(())));
            }
        }
    }

    /// Storing the batch failed: nothing of it may be seen. Its authors' clients still hold
    /// their changes and send them again when they reconnect; the document is read again.
    pub fn not_stored(&mut self, batch: Batch<R>, error: &str, fx: &mut VecDeque<Effect<R>>) {
        for p in batch.updates {
            if let Some(conn) = p.from {
                self.close(conn, CLOSE_ERROR, "could not save; reconnecting", fx);
            }
            if let Some(reply) = p.reply {
                let refusal = Refusal::NotStored(format!("could not store the change: {error}"));
                fx.push_back(Effect::Reply(reply, Err(refusal)));
            }
        }
        self.poisoned = true;
    }

    /// The updates of a stored batch go out as one merged update (one frame, one buffer for
    /// everyone). Its authors receive their own changes back too, which Yjs applies as nothing
    /// new — as the reference server does; a batch from one connection skips it.
    fn broadcast_batch(&self, batch: &[Pending<R>], fx: &mut VecDeque<Effect<R>>) {
        if let [one] = batch {
            let frame = protocol::encode_update(&one.data).into();
            fx.push_back(Effect::Broadcast { except: one.from, frame });
            return;
        }
        let origins: HashSet<Option<ConnId>> = batch.iter().map(|p| p.from).collect();
        let except = if origins.len() == 1 { batch.first().and_then(|p| p.from) } else { None };
        match yrs::merge_updates_v1(batch.iter().map(|p| p.data.as_slice())) {
            Ok(merged) => fx.push_back(Effect::Broadcast {
                except,
                frame: protocol::encode_update(&merged).into(),
            }),
            Err(err) => {
                tracing::warn!(error = %err, "updates not merged; sent one by one");
                for p in batch {
                    let frame = protocol::encode_update(&p.data).into();
                    fx.push_back(Effect::Broadcast { except: p.from, frame });
                }
            }
        }
    }

    fn close_all(&mut self, code: u16, reason: &str, fx: &mut VecDeque<Effect<R>>) {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.close(conn, code, reason, fx);
        }
    }

    fn close(&mut self, conn: ConnId, code: u16, reason: &str, fx: &mut VecDeque<Effect<R>>) {
        if self.conns.contains_key(&conn) {
            fx.push_back(Effect::Close { conn, code, reason: reason.to_owned() });
        }
        self.leave(conn, fx);
    }

    /// Forgets a connection (it left, or could not keep up) and tells the others its presence
    /// is gone.
    pub fn leave(&mut self, conn: ConnId, fx: &mut VecDeque<Effect<R>>) {
        let Some(c) = self.conns.remove(&conn) else { return };
        if c.clients.is_empty() {
            return;
        }
        for client in c.clients.ids() {
            self.awareness.remove_state(client);
            self.presence.release(client);
        }
        if let Ok(gone) = self.awareness.update_with_clients(c.clients.ids()) {
            fx.push_back(Effect::Broadcast {
                except: None,
                frame: protocol::encode_awareness(&gone).into(),
            });
            if self.limits.relayed {
                fx.push_back(Effect::Publish(Note::Awareness(gone.encode_v1())));
            }
        }
    }

    /// Replaces the document by what storage holds (after it was poisoned); presence is kept,
    /// and every connection is closed so that clients sync again (they may hold changes that
    /// are no longer here).
    pub fn reload(&mut self, stored: &store::Stored, fx: &mut VecDeque<Effect<R>>) {
        let doc = new_doc();
        apply_stored(&doc, stored);
        self.snapshot_seq = stored.base_seq;
        self.last_seq = stored.last_seq;
        self.fields_watch = FieldsWatch::on(&doc);
        let mut awareness = Awareness::new(doc);
        if let Ok(presence) = self.awareness.update() {
            let _ = awareness.apply_update(presence);
        }
        self.awareness = awareness;
        self.poisoned = false;
        self.heard.clear(); // every connection syncs again
        self.close_all(CLOSE_ERROR, "document reloaded; reconnecting", fx);
    }

    /// When the next timer is due (projections, revision).
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.settle_at, self.quiet_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The content for the projections, when edits have paused (by `now`; any time with `None`).
    pub fn take_settled(&mut self, now: Option<Instant>) -> Option<Content> {
        let due = self.settle_at.is_some_and(|at| now.is_none_or(|now| at <= now));
        due.then(|| {
            self.settle_at = None;
            self.content()
        })
    }

    /// The content and its contributors for a revision, when the editing session went quiet
    /// (by `now`; any time with `None`) and this process stored changes since the last one.
    pub fn take_quiet(&mut self, now: Option<Instant>) -> Option<(Content, Vec<i64>)> {
        let due = self.quiet_at.is_some_and(|at| now.is_none_or(|now| at <= now));
        if !due {
            return None;
        }
        self.quiet_at = None;
        if !std::mem::take(&mut self.changed_here) {
            // Changed by other processes only: the one that stored the changes records them.
            self.authors.clear();
            return None;
        }
        Some((self.content(), self.authors.drain().collect()))
    }

    /// The revision could not be recorded: these authors wait for the next try.
    pub fn quiet_failed(&mut self, authors: Vec<i64>, now: Instant) {
        self.authors.extend(authors);
        self.changed_here = true;
        self.quiet_at = Some(now + self.limits.revision_quiet);
    }

    /// The content now, with the people who changed it since the last revision (then
    /// forgotten: the caller records the revision).
    pub fn take_revision(&mut self) -> (Content, Vec<i64>) {
        self.quiet_at = None;
        self.changed_here = false;
        (self.content(), self.authors.drain().collect())
    }

    /// Whether the log is long enough to be folded into a snapshot.
    pub fn compaction_due(&self) -> bool {
        self.last_seq - self.snapshot_seq >= self.limits.compact_every
    }

    /// The state to store as a snapshot, and the sequence number it covers: exactly what is
    /// stored up to there (`None` when there is nothing to fold, or the document holds what
    /// must not be stored).
    pub fn state_to_compact(&self) -> Option<(Vec<u8>, i64)> {
        if self.last_seq == self.snapshot_seq || self.poisoned || !self.pending.is_empty() {
            return None;
        }
        Some((full_state(&self.doc().transact()), self.last_seq))
    }

    /// A snapshot up to `seq` is stored.
    pub fn compacted(&mut self, seq: i64) {
        self.snapshot_seq = self.snapshot_seq.max(seq);
    }
}

fn is_empty_update(data: &[u8]) -> bool {
    Update::decode_v1(data).map(|u| u.is_empty()).unwrap_or(true)
}

/// Watches a document's `fields` map: the flag is raised by any change to it (the observer lives
/// as long as the document).
struct FieldsWatch {
    touched: Arc<std::sync::atomic::AtomicBool>,
}

impl FieldsWatch {
    fn on(doc: &yrs::Doc) -> Self {
        use yrs::DeepObservable;
        let touched = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = touched.clone();
        let fields = doc.get_or_insert_map("fields");
        fields.observe_deep("ruche-fields-watch", move |_, _| {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        Self { touched }
    }

    /// Whether the fields changed since the last call.
    fn take(&self) -> bool {
        self.touched.swap(false, std::sync::atomic::Ordering::Relaxed)
    }
}

/// Whether `update` fits what this document knows of each author in it: it starts where that
/// knowledge ends (or before), and none of its ranges straddles that end (all of a range is
/// known already, or none of it). Otherwise yrs keeps it pending or splits what it has, and
/// with hostile blocks that read freed memory or built ranges running backwards (found by
/// fuzzing: `fuzz/seeds/ws_frame/crash-pending-blocks-overlapping`,
/// `crash-state-with-backward-range`). An honest client never sends such an update: it sends
/// each change once, in order, and after a reconnection syncs from the server's state vector.
pub fn fits_what_is_known(doc: &yrs::Doc, update: &Update) -> bool {
    let known = doc.transact().state_vector();
    let starts_known =
        update.state_vector_lower().iter().all(|(client, &clock)| clock <= known.get(client));
    starts_known
        && update.insertions(true).iter().all(|(client, ranges)| {
            let end = known.get(client);
            ranges.iter().all(|range| range.end <= end || range.start >= end)
        })
}

/// The document's whole state, with the updates still waiting for what they depend on. yrs
/// panics encoding some of those (found by fuzzing: `fuzz/seeds/ws_frame/crash-pending-…`); the
/// state is then encoded without them: they were never part of what anyone saw.
pub fn full_state<T: ReadTxn>(txn: &T) -> Vec<u8> {
    let whole = std::panic::catch_unwind(AssertUnwindSafe(|| {
        txn.encode_state_as_update_v1(&StateVector::default())
    }));
    whole.unwrap_or_else(|_| {
        tracing::warn!("a document's pending updates could not be encoded; left out");
        txn.encode_diff_v1(&StateVector::default())
    })
}

/// A document's content: its Markdown body, its fields and its whole encoded state.
pub fn content_of(doc: &yrs::Doc) -> Content {
    let body = doc.get_or_insert_text("body");
    let fields = doc.get_or_insert_map("fields");
    let txn = doc.transact();
    let fields = serde_json::to_value(fields.to_json(&txn)).unwrap_or(serde_json::Value::Null);
    let state = full_state(&txn);
    Content { markdown: body.get_string(&txn), fields, state }
}

/// An empty document with the options every page uses (offsets in UTF-16, as browsers count).
pub fn new_doc() -> yrs::Doc {
    yrs::Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Default::default() })
}

/// The content of a new document holding `markdown` and these field values (for pages made
/// without a live editor: the demo, imports, a new entry's form).
pub fn initial_content(
    markdown: &str,
    values: &serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<Content> {
    use yrs::{Map, Text};
    let doc = new_doc();
    let body = doc.get_or_insert_text("body");
    let fields = doc.get_or_insert_map("fields");
    {
        let mut txn = doc.transact_mut();
        body.insert(&mut txn, 0, markdown);
        for (key, value) in values.iter().filter(|(_, v)| !v.is_null()) {
            fields.insert(&mut txn, key.as_str(), yrs::Any::from_json(&value.to_string())?);
        }
    }
    Ok(content_of(&doc))
}

/// Applies what storage holds, in order.
pub(crate) fn apply_stored(doc: &yrs::Doc, stored: &store::Stored) {
    let mut txn = doc.transact_mut();
    for data in stored.snapshot.iter().chain(stored.updates.iter().map(|u| &u.data)) {
        let applied = Update::decode_v1(data)
            .map_err(anyhow::Error::from)
            .and_then(|u| Ok(txn.apply_update(u)?));
        if let Err(err) = applied {
            // Never stored unless it decoded and applied; log loudly if storage was tampered with.
            tracing::error!(error = ?err, "a stored update does not apply");
        }
    }
}

#[cfg(test)]
mod tests {
    use yrs::{sync::awareness::AwarenessUpdateEntry, updates::decoder::Decode, Text, Transact};

    use super::*;

    type Fx = VecDeque<Effect<u32>>;

    fn limits() -> Limits {
        Limits {
            max_page_chars: 100,
            max_presence_bytes: 1024,
            settle: Duration::from_secs(2),
            revision_quiet: Duration::from_secs(120),
            compact_every: 3,
            relayed: false,
        }
    }

    fn page(limits: Limits) -> DocState<u32> {
        DocState::new(limits, &store::Stored::default(), [], Instant::now())
    }

    fn who() -> presence::Identity {
        presence::Identity::person(1, "Alice Martin")
    }

    /// Joins a connection and forgets what it was sent.
    fn join(doc: &mut DocState<u32>, conn: ConnId, can_write: bool) {
        let mut fx = Fx::new();
        let input = Input::Join { conn, can_write, author: Some(conn as i64), who: who() };
        assert!(matches!(doc.handle(input, Instant::now(), &mut fx), Step::Done));
    }

    /// A client's document typing `text` at the start; answers the update it sends.
    fn typed(client: &yrs::Doc, text: &str) -> Vec<u8> {
        let body = client.get_or_insert_text("body");
        let mut txn = client.transact_mut();
        body.insert(&mut txn, 0, text);
        txn.encode_update_v1()
    }

    fn send(doc: &mut DocState<u32>, conn: ConnId, data: Vec<u8>) -> Fx {
        let mut fx = Fx::new();
        let input = Input::Message { conn, message: Message::Update(data) };
        assert!(matches!(doc.handle(input, Instant::now(), &mut fx), Step::Done));
        fx
    }

    fn body(doc: &DocState<u32>) -> String {
        doc.content().markdown
    }

    /// Stores what waits as the next sequence numbers.
    fn store(doc: &mut DocState<u32>) -> Fx {
        let mut fx = Fx::new();
        let batch = doc.take_batch().expect("something waits");
        let first = doc.last_seq() + 1;
        doc.stored(batch, first, Instant::now(), &mut fx);
        fx
    }

    fn closes(fx: &Fx) -> Vec<(ConnId, u16, String)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Close { conn, code, reason } => Some((*conn, *code, reason.clone())),
                _ => None,
            })
            .collect()
    }

    fn broadcasts(fx: &Fx) -> Vec<(Option<ConnId>, Bytes)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Broadcast { except, frame } => Some((*except, frame.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_update_is_seen_only_once_stored_and_by_everyone_else() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        join(&mut doc, 2, true);
        let fx = send(&mut doc, 1, typed(&new_doc(), "Bonjour"));
        assert!(fx.is_empty(), "nothing goes out before it is stored: {fx:?}");
        assert_eq!(body(&doc), "Bonjour");
        let fx = store(&mut doc);
        let out = broadcasts(&fx);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, Some(1), "its author is skipped");
        assert!(matches!(protocol::decode_frame(&out[0].1).as_deref(), Ok([Message::Update(_)])));
        assert_eq!(doc.last_seq(), 1);
        assert!(doc.take_batch().is_none());
    }

    #[test]
    fn whoever_joins_or_syncs_waits_for_what_is_pending_to_be_stored() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "Bonjour"));
        let mut fx = Fx::new();
        let joining = Input::Join { conn: 2, can_write: true, author: None, who: who() };
        let Step::StoreFirst(joining) = doc.handle(joining, Instant::now(), &mut fx) else {
            panic!("a join must wait for storage")
        };
        let sync = Input::Message { conn: 1, message: Message::SyncStep1(StateVector::default()) };
        assert!(matches!(doc.handle(sync, Instant::now(), &mut fx), Step::StoreFirst(_)));
        assert!(matches!(doc.handle(Input::Kick, Instant::now(), &mut fx), Step::StoreFirst(_)));
        assert!(fx.is_empty());
        let _ = store(&mut doc);
        assert!(matches!(doc.handle(joining, Instant::now(), &mut fx), Step::Done));
        // The newcomer is asked for what it has, then syncs and receives the stored text.
        assert!(matches!(fx.pop_front(), Some(Effect::Send(2, _))));
        let sync = Input::Message { conn: 2, message: Message::SyncStep1(StateVector::default()) };
        assert!(matches!(doc.handle(sync, Instant::now(), &mut fx), Step::Done));
        let Some(Effect::Send(2, frame)) = fx.pop_front() else { panic!("step 2 expected") };
        let Ok(messages) = protocol::decode_frame(&frame) else { panic!("a frame") };
        let [Message::SyncStep2(state)] = messages.as_slice() else { panic!("{messages:?}") };
        let client = new_doc();
        client
            .transact_mut()
            .apply_update(Update::decode_v1(state).expect("decodes"))
            .expect("applies");
        assert_eq!(client.get_or_insert_text("body").get_string(&client.transact()), "Bonjour");
    }

    #[test]
    fn a_batch_goes_out_as_one_merged_update_that_stock_clients_apply() {
        let mut doc = page(limits());
        for conn in 1..=3 {
            join(&mut doc, conn, true);
        }
        let (a, b) = (new_doc(), new_doc());
        let _ = send(&mut doc, 1, typed(&a, "Alice "));
        let _ = send(&mut doc, 2, typed(&b, "Bob "));
        let _ = send(&mut doc, 1, typed(&a, "encore "));
        let fx = store(&mut doc);
        let out = broadcasts(&fx);
        assert_eq!(out.len(), 1, "one frame for the whole batch");
        assert_eq!(
            out[0].0, None,
            "several authors: each gets the batch back (Yjs ignores what it has)"
        );
        let Ok(messages) = protocol::decode_frame(&out[0].1) else { panic!("a frame") };
        let [Message::Update(merged)] = messages.as_slice() else { panic!("{messages:?}") };
        let reader = new_doc();
        reader
            .transact_mut()
            .apply_update(Update::decode_v1(merged).expect("decodes"))
            .expect("applies");
        assert_eq!(reader.get_or_insert_text("body").get_string(&reader.transact()), body(&doc));
        assert_eq!(doc.last_seq(), 3);
    }

    #[test]
    fn what_another_process_stored_goes_out_with_the_next_batch_in_one_frame_to_everyone() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        join(&mut doc, 2, true);
        let (elsewhere, here) = (new_doc(), new_doc());
        let heard = typed(&elsewhere, "Ailleurs ");
        let mut fx = Fx::new();
        let note = Note::Updates { first: 1, updates: vec![(Some(5), heard)] };
        let _ = doc.handle(Input::Remote(note), Instant::now(), &mut fx);
        assert!(broadcasts(&fx).is_empty());
        let _ = send(&mut doc, 1, typed(&here, "ici "));
        let fx = store(&mut doc);
        let out = broadcasts(&fx);
        assert_eq!(out.len(), 1, "one frame for both");
        assert_eq!(out[0].0, None, "its author had not heard the other process's update");
        let Ok(messages) = protocol::decode_frame(&out[0].1) else { panic!("a frame") };
        let [Message::Update(merged)] = messages.as_slice() else { panic!("{messages:?}") };
        let reader = new_doc();
        reader.transact_mut().apply_update(Update::decode_v1(merged).expect("decodes")).unwrap();
        assert_eq!(reader.get_or_insert_text("body").get_string(&reader.transact()), body(&doc));
        assert_eq!(doc.last_seq(), 2);
        assert!(!doc.has_pending());
    }

    #[test]
    fn a_reader_may_not_write_and_is_told_so_without_being_closed() {
        let mut doc = page(limits());
        join(&mut doc, 1, false);
        let fx = send(&mut doc, 1, typed(&new_doc(), "Vandalisme"));
        assert_eq!(body(&doc), "");
        assert!(doc.take_batch().is_none());
        assert!(closes(&fx).is_empty());
        let Some(Effect::Send(1, frame)) = fx.front() else { panic!("{fx:?}") };
        assert!(String::from_utf8_lossy(frame).contains("read-only"));
        // Answering the server's step 1 with nothing is fine and says nothing.
        let empty = new_doc().transact().encode_state_as_update_v1(&StateVector::default());
        assert!(send(&mut doc, 1, empty).is_empty());
        assert!(doc.is_connected(1));
    }

    #[test]
    fn an_update_making_the_page_too_long_closes_its_sender_and_is_never_stored() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let fx = send(&mut doc, 1, typed(&new_doc(), &"a".repeat(101)));
        assert_eq!(closes(&fx), vec![(1, CLOSE_POLICY, "page too long".to_owned())]);
        assert!(doc.poisoned(), "read again from storage");
        // Reloading from what storage holds (nothing) closes whoever is left, to sync again.
        join(&mut doc, 2, true);
        let mut fx = Fx::new();
        doc.reload(&store::Stored::default(), &mut fx);
        assert_eq!(body(&doc), "");
        assert!(!doc.poisoned());
        assert_eq!(
            closes(&fx),
            vec![(2, CLOSE_ERROR, "document reloaded; reconnecting".to_owned())]
        );
    }

    #[test]
    fn an_edit_over_http_past_the_limit_is_refused_with_the_limit() {
        let mut doc = page(limits());
        let mut fx = Fx::new();
        let input =
            Input::SetText { markdown: "a".repeat(101), base: None, author: None, reply: 7 };
        let _ = doc.handle(input, Instant::now(), &mut fx);
        assert!(matches!(fx.pop_front(), Some(Effect::Reply(7, Err(Refusal::TooLong(100))))));
        let input =
            Input::SetText { markdown: "Court".into(), base: None, author: Some(3), reply: 8 };
        let _ = doc.handle(input, Instant::now(), &mut fx);
        assert!(fx.is_empty(), "answered once stored");
        let fx = store(&mut doc);
        assert!(matches!(fx.back(), Some(Effect::Reply(8, Ok(())))));
        assert_eq!(doc.take_revision().1, vec![3]);
    }

    #[test]
    fn an_edit_over_http_depending_on_unknown_changes_is_refused_as_invalid() {
        let mut doc = page(limits());
        let elsewhere = new_doc();
        let _unknown = typed(&elsewhere, "Ailleurs ");
        let data = typed(&elsewhere, "puis ");
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Apply { data, author: None, reply: 4 }, Instant::now(), &mut fx);
        assert!(matches!(
            fx.pop_front(),
            Some(Effect::Reply(4, Err(Refusal::Invalid(Invalid::MissingChanges))))
        ));
        assert!(doc.take_batch().is_none(), "nothing of it is stored");
        let mut fx = Fx::new();
        let garbage = Input::Apply { data: vec![0xff, 0x01], author: None, reply: 5 };
        let _ = doc.handle(garbage, Instant::now(), &mut fx);
        assert!(matches!(
            fx.pop_front(),
            Some(Effect::Reply(5, Err(Refusal::Invalid(Invalid::Unreadable))))
        ));
    }

    #[test]
    fn a_live_client_writing_fields_is_closed_and_its_change_dropped() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let client = new_doc();
        let update = {
            let fields = client.get_or_insert_map("fields");
            let mut txn = client.transact_mut();
            fields.insert(&mut txn, "email", "pirate@example.org");
            txn.encode_update_v1()
        };
        let fx = send(&mut doc, 1, update);
        assert_eq!(closes(&fx), vec![(1, CLOSE_POLICY, FIELDS_BY_FORM.to_owned())]);
        assert!(doc.poisoned());
        assert!(doc.take_batch().is_none());
    }

    #[test]
    fn an_update_depending_on_unknown_changes_closes_its_sender() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let client = new_doc();
        let _skipped = typed(&client, "un ");
        let fx = send(&mut doc, 1, typed(&client, "deux "));
        assert_eq!(closes(&fx), vec![(1, CLOSE_INVALID, MISSING_CHANGES.to_owned())]);
        assert!(doc.take_batch().is_none());
        let fx = send(&mut doc, 2, vec![0xff, 0x00]);
        assert!(fx.is_empty(), "an unknown connection is ignored");
    }

    #[test]
    fn storage_failing_closes_the_authors_answers_the_callers_and_shows_nothing() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        join(&mut doc, 2, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "Perdu"));
        let mut fx = Fx::new();
        let input = Input::SetText { markdown: "Aussi".into(), base: None, author: None, reply: 9 };
        let _ = doc.handle(input, Instant::now(), &mut fx);
        let batch = doc.take_batch().expect("waits");
        doc.not_stored(batch, "disk full", &mut fx);
        assert!(broadcasts(&fx).is_empty());
        assert_eq!(closes(&fx), vec![(1, CLOSE_ERROR, "could not save; reconnecting".to_owned())]);
        assert!(fx.iter().any(|e| matches!(e, Effect::Reply(9, Err(Refusal::NotStored(_))))));
        assert!(doc.poisoned());
        assert_eq!(doc.last_seq(), 0);
    }

    fn presence_update(client: u64, json: &str) -> AwarenessUpdate {
        AwarenessUpdate {
            clients: [(
                ClientID::new(client),
                AwarenessUpdateEntry { clock: 1, json: json.into() },
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn presence_is_named_by_the_server_and_cleared_when_its_connection_leaves() {
        let mut doc = page(Limits { relayed: true, ..limits() });
        join(&mut doc, 1, true);
        join(&mut doc, 2, false);
        let mut fx = Fx::new();
        let claimed = r#"{"user":{"name":"Quelqu'un d'autre"},"cursor":null}"#;
        let message = Message::Awareness(presence_update(42, claimed));
        let _ = doc.handle(Input::Message { conn: 2, message }, Instant::now(), &mut fx);
        let out = broadcasts(&fx);
        assert_eq!(out[0].0, Some(2));
        assert!(String::from_utf8_lossy(&out[0].1).contains("Alice Martin"));
        assert!(matches!(fx.back(), Some(Effect::Publish(Note::Awareness(_)))));
        // Leaving (or being dropped) tells the others, here and in the other processes.
        let mut fx = Fx::new();
        doc.leave(2, &mut fx);
        assert_eq!(broadcasts(&fx).len(), 1);
        assert!(matches!(fx.back(), Some(Effect::Publish(Note::Awareness(_)))));
        // A state too large closes its sender.
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(2000));
        let message = Message::Awareness(presence_update(43, &big));
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Message { conn: 1, message }, Instant::now(), &mut fx);
        assert_eq!(closes(&fx), vec![(1, CLOSE_POLICY, presence::TOO_LARGE.to_owned())]);
    }

    #[test]
    fn what_other_processes_stored_is_applied_in_order_and_a_gap_asks_storage() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let other = new_doc();
        let one = typed(&other, "un ");
        let two = typed(&other, "deux ");
        let three = typed(&other, "trois ");
        let mut fx = Fx::new();
        let reader = new_doc();
        reader.transact_mut().apply_update(Update::decode_v1(&one).unwrap()).unwrap();
        let note = Note::Updates { first: 1, updates: vec![(Some(5), one.clone())] };
        let _ = doc.handle(Input::Remote(note), Instant::now(), &mut fx);
        assert_eq!((doc.last_seq(), body(&doc).as_str()), (1, "un "));
        assert!(broadcasts(&fx).is_empty() && doc.has_pending(), "held for the page's window");
        assert!(doc.send_heard(&mut fx));
        assert_eq!(broadcasts(&fx).len(), 1);
        // Seen twice: nothing happens. Then number 3 arrives without 2: storage is read.
        let mut fx = Fx::new();
        let note = Note::Updates { first: 1, updates: vec![(Some(5), one)] };
        let _ = doc.handle(Input::Remote(note), Instant::now(), &mut fx);
        let note = Note::Updates { first: 3, updates: vec![(Some(5), three.clone())] };
        let _ = doc.handle(Input::Remote(note), Instant::now(), &mut fx);
        assert!(matches!(fx.iter().collect::<Vec<_>>().as_slice(), [Effect::CatchUp]));
        let stored = store::Stored {
            updates: vec![
                store::StoredUpdate { seq: 2, data: two, author: Some(5) },
                store::StoredUpdate { seq: 3, data: three, author: None },
            ],
            ..Default::default()
        };
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Caught(stored), Instant::now(), &mut fx);
        assert_eq!((doc.last_seq(), body(&doc).as_str()), (3, "trois deux un "));
        assert!(doc.send_heard(&mut fx));
        assert!(!doc.send_heard(&mut fx), "sent once");
        // Both go out as one merged update, which a client that had the first one applies.
        let out = broadcasts(&fx);
        assert_eq!(out.len(), 1, "one frame for what was caught up with");
        let Ok(messages) = protocol::decode_frame(&out[0].1) else { panic!("a frame") };
        let [Message::Update(merged)] = messages.as_slice() else { panic!("{messages:?}") };
        reader.transact_mut().apply_update(Update::decode_v1(merged).unwrap()).unwrap();
        assert_eq!(reader.get_or_insert_text("body").get_string(&reader.transact()), body(&doc));
        // A head further than what is known asks storage too.
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Remote(Note::Head(9)), Instant::now(), &mut fx);
        assert!(matches!(fx.front(), Some(Effect::CatchUp)));
        // Stored elsewhere: the revision is theirs to record, not this process's.
        assert!(doc.take_quiet(None).is_none());
    }

    #[test]
    fn a_snapshot_caught_up_with_forwards_only_what_is_missing() {
        let mut doc = page(limits());
        let other = new_doc();
        let _ = typed(&other, "ancien ");
        let snapshot = full_state(&other.transact());
        let stored = store::Stored { snapshot: Some(snapshot), base_seq: 40, ..Default::default() };
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Caught(stored), Instant::now(), &mut fx);
        assert_eq!((doc.last_seq(), body(&doc).as_str()), (40, "ancien "));
        assert_eq!(broadcasts(&fx).len(), 1);
    }

    #[test]
    fn a_kick_closes_everyone_and_forgetting_stores_nothing_more() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        join(&mut doc, 2, false);
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Kick, Instant::now(), &mut fx);
        assert_eq!(closes(&fx).len(), 2);
        assert!(!doc.has_connections());
        join(&mut doc, 3, true);
        let _ = send(&mut doc, 3, typed(&new_doc(), "Jamais"));
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Remote(Note::Forget), Instant::now(), &mut fx);
        assert_eq!(closes(&fx), vec![(3, CLOSE_POLICY, "page deleted".to_owned())]);
        assert!(doc.forgotten());
        assert!(doc.take_batch().is_none());
    }

    #[test]
    fn timers_refresh_projections_then_record_a_revision_with_its_authors() {
        let start = Instant::now();
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "Texte"));
        let mut fx = Fx::new();
        let batch = doc.take_batch().expect("waits");
        doc.stored(batch, 1, start, &mut fx);
        assert_eq!(doc.next_deadline(), Some(start + Duration::from_secs(2)));
        assert!(doc.take_settled(Some(start + Duration::from_secs(1))).is_none());
        assert!(doc.take_settled(Some(start + Duration::from_secs(2))).is_some());
        assert!(doc.take_quiet(Some(start + Duration::from_secs(60))).is_none());
        let (content, authors) =
            doc.take_quiet(Some(start + Duration::from_secs(120))).expect("a revision is due");
        assert_eq!((content.markdown.as_str(), authors), ("Texte", vec![1]));
        // A failed recording is tried again later with the same authors.
        doc.quiet_failed(vec![1], start);
        assert_eq!(doc.take_quiet(None).map(|(_, a)| a), Some(vec![1]));
    }

    #[test]
    fn compaction_folds_exactly_what_is_stored() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let client = new_doc();
        for word in ["a", "b", "c"] {
            let _ = send(&mut doc, 1, typed(&client, word));
        }
        assert!(doc.state_to_compact().is_none(), "nothing stored yet");
        let _ = store(&mut doc);
        assert!(doc.compaction_due());
        let _ = send(&mut doc, 1, typed(&client, "pas encore"));
        assert!(doc.state_to_compact().is_none(), "an unstored update would be folded in");
        let _ = store(&mut doc);
        let (state, seq) = doc.state_to_compact().expect("due");
        assert_eq!(seq, 4);
        let again = new_doc();
        again
            .transact_mut()
            .apply_update(Update::decode_v1(&state).expect("decodes"))
            .expect("applies");
        assert_eq!(again.get_or_insert_text("body").get_string(&again.transact()), body(&doc));
        doc.compacted(seq);
        assert!(!doc.compaction_due());
        assert!(doc.state_to_compact().is_none());
    }

    #[test]
    fn a_pending_update_yrs_cannot_encode_is_left_out_of_the_state() {
        // Found by fuzzing: JSON content under a parent nobody has, which yrs keeps pending and
        // then panics encoding (the decoder refuses such content at the door since).
        let hex = "0102010002040001050000000000000009000000000000003c3c3c3c3c3c3c3c016c3c3c916e3c";
        let payload: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let doc = new_doc();
        doc.get_or_insert_text("body").insert(&mut doc.transact_mut(), 0, "Bonjour");
        let update = Update::decode_v1(&payload).expect("yrs decodes it");
        doc.transact_mut().apply_update(update).expect("yrs applies it");
        let state = full_state(&doc.transact());
        let again = new_doc();
        again
            .transact_mut()
            .apply_update(Update::decode_v1(&state).expect("decodes"))
            .expect("applies");
        assert_eq!(again.get_or_insert_text("body").get_string(&again.transact()), "Bonjour");
    }
}
