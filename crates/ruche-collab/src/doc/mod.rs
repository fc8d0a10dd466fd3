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
mod storing;
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
    batching::WINDOW_PER_CONNECTION,
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
    /// Processes that collide on the page's log take turns on it (PostgreSQL's advisory locks).
    pub takes_turns: bool,
    /// How long, at most, a busy page holds its updates to send them together.
    pub busy_page_window: Duration,
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
    /// Updates may have been stored elsewhere without this process hearing of them: read
    /// what storage holds after [`DocState::last_seq`].
    CatchUp,
    /// What storage holds after [`DocState::last_seq`] (the answer to `Effect::CatchUp`).
    Caught(store::Stored),
    /// Storage could not be read to catch up (tried again later).
    CatchUpFailed,
    /// Store what waits (or send what was heard, when nothing does): after a batch of
    /// commands, and before anyone is shown the document.
    Flush,
    /// The batch being stored is stored from number `first`, after `missed` (what other
    /// processes stored first, read while taking turns).
    Stored {
        first: i64,
        missed: Vec<store::StoredUpdate>,
    },
    /// The batch being stored could not be stored.
    StoreFailed(String),
    /// Another process stored under the numbers first.
    TurnTaken,
    /// Taking turns, storage holds more than this document: catch up first.
    Behind,
    /// A snapshot was written up to `seq` (`None`: it failed), by another task or not.
    Compacted {
        seq: Option<i64>,
        background: bool,
    },
    /// A batch of commands was handled.
    BatchDone,
    /// What storage holds, read again (the answer to `Effect::Reload`).
    Reloaded(store::Stored),
    /// Nobody has been here for a while: the page may leave memory.
    Idle,
    /// Leaving memory was refused: someone came meanwhile.
    UnloadRefused,
    /// The site is stopping.
    Stopping,
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
    /// Read what storage holds after `last_seq()` and hand it back as [`Input::Caught`] (or
    /// [`Input::CatchUpFailed`]).
    CatchUp,
    /// Write the batch being stored (`DocState::storing`) from number `first` (`in_turn`: in
    /// turn with other processes); answered with [`Input::Stored`], [`Input::StoreFailed`],
    /// [`Input::TurnTaken`] or [`Input::Behind`].
    Store { first: i64, in_turn: bool },
    /// Wait this long before the next effect.
    Pause(Duration),
    /// Write `state` as the snapshot covering `seq`, keeping the last `keep` updates of the
    /// log; answered with [`Input::Compacted`]. In the `background` (another task writes it,
    /// the page goes on), or before anything else.
    Compact { state: Vec<u8>, seq: i64, keep: i64, background: bool },
    /// Read the document again from storage; answered with [`Input::Reloaded`].
    Reload,
    /// Leave memory (answered with [`Input::UnloadRefused`] when someone came meanwhile).
    Unload,
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
    /// The batch being stored, and how its storing goes.
    storing: Option<storing::Storing<R>>,
    /// Until when this process takes turns with others on the page's log (they collided).
    turns_until: Option<Instant>,
    /// When the last batch was stored and sent.
    last_flush: Option<Instant>,
    /// A snapshot is being written in the background.
    compacting: bool,
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
            storing: None,
            turns_until: None,
            last_flush: None,
            compacting: false,
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

    pub fn is_connected(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    pub(crate) fn has_connections(&self) -> bool {
        !self.conns.is_empty()
    }

    #[cfg(test)]
    fn poisoned(&self) -> bool {
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
                | Input::Idle
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
            Input::Caught(stored) => {
                self.caught(stored, now, fx);
                self.caught_up_while_storing(now, fx);
            }
            Input::CatchUp => fx.push_back(Effect::CatchUp),
            Input::CatchUpFailed => self.caught_up_while_storing(now, fx),
            Input::Flush => self.flush(now, fx),
            Input::Stored { first, missed } => self.stored_from(first, missed, now, fx),
            Input::StoreFailed(error) => self.store_failed(&error, fx),
            Input::TurnTaken => self.turn_taken(now, fx),
            Input::Behind => self.behind(fx),
            Input::Compacted { seq, background } => self.compaction_done(seq, background, fx),
            Input::BatchDone if self.poisoned => fx.push_back(Effect::Reload),
            Input::BatchDone => {}
            Input::Reloaded(stored) => self.reload(&stored, fx),
            Input::Idle => self.leave_memory(fx),
            Input::UnloadRefused => {} // it stays, and leaves when idle again
            Input::Stopping => self.compact_now(fx),
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
}
