//! A page's live document as a state machine, without I/O: what arrives (a client's message, an
//! edit made over HTTP, what another process stored, a timer) goes in, and what must happen comes
//! out as effects (send to one connection, broadcast, close a connection with its reason,
//! publish to the other processes, read storage, answer a caller). No database, channel or
//! socket here: `live.rs` carries the effects out, and every rule is tested with bytes in and
//! effects out (each part's `tests`).
//!
//! The one rule that shapes the interface: **nothing anyone sees is unstored**. Updates applied
//! here wait in a batch until the task stores them (`take_batch`, then `stored`); an input that
//! would show the document to someone (a connection joining, a client's sync step 1, a kick)
//! is handed back with [`Step::StoreFirst`] while updates wait.
mod awareness;
mod batching;
mod compaction;
mod edits;
mod remote;
mod sync;
#[cfg(test)]
mod testing;
mod timers;
mod ydoc;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::Duration,
};

use bytes::Bytes;
use tokio::time::Instant;
use yrs::{sync::Awareness, ReadTxn as _, Transact as _};

use self::sync::FieldsWatch;
pub(crate) use self::ydoc::apply_stored;
pub use self::{
    sync::fits_what_is_known,
    ydoc::{content_of, full_state, initial_content, new_doc},
};
use crate::{
    notes::Note,
    presence::{self, ConnId},
    protocol::{self, Message},
    store,
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
    pub(crate) fn update_bytes(&self) -> usize {
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
pub(crate) enum Effect<R> {
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
pub(crate) enum Step<R> {
    Done,
    /// Store the batch (`take_batch`), then hand this input in again.
    StoreFirst(Input<R>),
}

/// Updates applied here and not stored yet, in the order they were applied.
pub(crate) struct Batch<R> {
    pub updates: Vec<Pending<R>>,
}

pub(crate) struct Pending<R> {
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

    pub(crate) fn last_seq(&self) -> i64 {
        self.last_seq
    }

    pub(crate) fn is_connected(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    pub(crate) fn has_connections(&self) -> bool {
        !self.conns.is_empty()
    }

    pub(crate) fn poisoned(&self) -> bool {
        self.poisoned
    }

    pub(crate) fn forgotten(&self) -> bool {
        self.forgotten
    }

    pub fn content(&self) -> Content {
        content_of(self.doc())
    }

    /// Handles one input; effects are appended to `fx` in the order they must happen.
    pub(crate) fn handle(
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
            Input::Message { conn, message } if self.conns.contains_key(&conn) => match message {
                Message::Awareness(update) => self.announce(conn, update, fx),
                Message::QueryAwareness => self.tell_presence(conn, fx),
                message => self.sync(conn, message, fx),
            },
            Input::Message { .. } => {} // a connection that is gone
            Input::Leave { conn } => self.leave(conn, fx),
            Input::SetText { markdown, base, author, reply } => {
                self.set_text(&markdown, base.as_deref(), author, reply, fx)
            }
            Input::Apply { data, author, reply } => self.apply_edit(data, author, reply, fx),
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

    /// Replaces the document by what storage holds (after it was poisoned); presence is kept,
    /// and every connection is closed so that clients sync again (they may hold changes that
    /// are no longer here).
    pub(crate) fn reload(&mut self, stored: &store::Stored, fx: &mut VecDeque<Effect<R>>) {
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
}

#[cfg(test)]
mod tests {
    use super::testing::*;

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
}
