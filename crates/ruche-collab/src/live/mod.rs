//! One live document's task: it owns the page's state machine (`doc/`) and carries out what
//! it asks — storing batches (group commit), reading what other processes stored, writing to
//! the connections (through their `socket::Writer`), publishing to the other processes,
//! timers, compaction and leaving memory. The rules (when to store, take turns, catch up,
//! reload, compact, leave) are the state machine's; nothing here knows about HTTP.
mod effects;

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use tokio::{
    sync::{mpsc, oneshot},
    time::{sleep_until, Instant},
};

pub use crate::doc::{Content, CLOSE_ERROR, CLOSE_INVALID, CLOSE_POLICY, WINDOW_PER_CONNECTION};
/// Identifies one websocket connection to a document.
pub use crate::presence::ConnId;
use crate::{
    doc::{DocState, Effect, Input, Limits, Refusal, Step},
    notes::Note,
    presence,
    protocol::Message,
    sender_for,
    socket::Writer,
    store::{self, DocId},
    HubInner,
};

/// How many updates a batch may hold before it is written (bounds the work between writes).
const MAX_BATCH: usize = 512;
/// Updates larger than this are applied on a blocking thread.
const LARGE_UPDATE_BYTES: usize = 256 * 1024;

/// Requests to a live document.
///
/// Small (40 bytes): an idle page's inbox holds a block of 32 of them from the start, so its
/// rare, larger variants are boxed.
pub enum Command {
    Join(Box<Join>),
    Frame {
        conn: ConnId,
        messages: Vec<Message>,
    },
    Leave {
        conn: ConnId,
    },
    /// A change of the text or the fields, answered once stored (or refused).
    Edit(Box<Input<Reply>>),
    Read {
        reply: oneshot::Sender<Content>,
    },
    /// The content and the people who changed it since the last revision (then forgotten).
    TakeRevision {
        reply: oneshot::Sender<(Content, Vec<i64>)>,
    },
    /// Who may do what changed: close every connection, so clients reconnect and are checked again.
    Kick,
    /// The document is being deleted: close every connection and leave memory without saving.
    Forget {
        done: oneshot::Sender<()>,
    },
    /// What another process said about this document.
    Remote(Note),
    /// Read what other processes stored since the last update known here.
    CatchUp,
    /// A compaction written off the task finished (up to this number; `None`: it failed).
    Compacted(Option<i64>),
}

/// A connection joining a document.
pub struct Join {
    pub conn: ConnId,
    /// Where the document writes the connection's frames.
    pub writer: Writer,
    pub can_write: bool,
    pub author: Option<i64>,
    pub who: presence::Identity,
}

/// What became of a document after a batch of commands.
enum Handled {
    /// It left memory (it was deleted).
    Left,
    /// Something came from this process (a connection, an edit).
    Local,
    /// Only what other processes said.
    Remote,
}

/// How a caller waiting for its edit is answered: done, or refused and why.
pub(crate) type Reply = oneshot::Sender<Result<(), Refusal>>;

pub(crate) struct LiveDoc {
    id: DocId,
    hub: Arc<HubInner>,
    state: DocState<Reply>,
    /// The connections the document writes to (a connection that ended is no longer here,
    /// though its edits may still be on their way).
    writers: HashMap<ConnId, Writer>,
    /// What the state machine asked for and is not done yet, in order.
    effects: VecDeque<Effect<Reply>>,
    /// The state machine asked to leave memory.
    leaving: bool,
}

impl LiveDoc {
    /// Builds the document from storage.
    pub async fn load(id: DocId, hub: Arc<HubInner>) -> anyhow::Result<Self> {
        // Listen to the other processes first: what they store from now on is not missed.
        if let Some(relay) = &hub.relay {
            relay.watch(id);
        }
        let stored = store::load(&hub.db, id).await?;
        // Changes stored but not yet in a revision (the process stopped before): recorded soon.
        let authors = store::authors_since(&hub.db, id, stored.base_seq).await?;
        let state = DocState::new(limits(&hub), &stored, authors, Instant::now());
        Ok(Self {
            id,
            state,
            writers: HashMap::new(),
            effects: VecDeque::new(),
            leaving: false,
            hub,
        })
    }

    /// The task's loop: batches what waits in the inbox, until idle or shutdown. The task
    /// lives as long as the page is open, mostly waiting, so what it holds while it waits is
    /// kept small: the document is boxed, and the work on a batch (storing, catching up: the
    /// larger futures) runs as a boxed future of its own, freed once done — an open page's
    /// task took 5.8 KiB, most of it room for that work.
    pub async fn run(mut self: Box<Self>, mut inbox: mpsc::Receiver<Command>) {
        let idle_after = self.hub.settings.idle_unload;
        let mut idle_since = Instant::now();
        loop {
            let deadline = self.state.next_deadline();
            let first = tokio::select! {
                cmd = inbox.recv() => match cmd {
                    Some(cmd) => cmd,
                    None => break,
                },
                _ = sleep_until(deadline.unwrap_or_else(far_future)), if deadline.is_some() => {
                    self.timers(Some(Instant::now())).await;
                    continue;
                }
                _ = sleep_until(idle_since + idle_after), if !self.state.has_connections() => {
                    if Box::pin(self.try_unload(&mut inbox)).await {
                        return;
                    }
                    idle_since = Instant::now();
                    continue;
                }
                _ = self.hub.cancel.cancelled() => break,
            };
            match Box::pin(self.batch(first, &mut inbox)).await {
                Handled::Left => return,
                Handled::Local if !self.state.has_connections() => idle_since = Instant::now(),
                Handled::Local | Handled::Remote => {}
            }
        }
        // Shutting down: leave a compact, complete state behind, with its revision.
        Box::pin(async {
            self.timers(None).await;
            self.input(Input::Stopping).await;
        })
        .await;
    }

    /// Handles `first` and the commands waiting behind it (a busy page's for a little longer,
    /// see `hold_pending_until`), then stores what they changed and lets it be seen.
    async fn batch(&mut self, first: Command, inbox: &mut mpsc::Receiver<Command>) -> Handled {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match inbox.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
        // What other processes say does not keep a document nobody here has open in memory.
        let local = batch
            .iter()
            .any(|c| !matches!(c, Command::Remote(_) | Command::CatchUp | Command::Compacted(_)));
        for cmd in batch {
            self.command(cmd).await;
        }
        // A busy page's updates go out together: one frame per connection for several.
        if let Some(due) = self.hold_pending_until() {
            loop {
                tokio::select! {
                    cmd = inbox.recv() => match cmd {
                        Some(cmd) => self.command(cmd).await,
                        None => break,
                    },
                    _ = sleep_until(due) => break,
                }
                if !self.state.has_pending() {
                    break;
                }
            }
        }
        if !self.state.forgotten() {
            self.flush().await;
        }
        if self.state.forgotten() {
            self.hub.docs.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
            if let Some(relay) = &self.hub.relay {
                relay.unwatch(self.id);
            }
            return Handled::Left;
        }
        self.input(Input::BatchDone).await;
        if local {
            Handled::Local
        } else {
            Handled::Remote
        }
    }

    /// One command: what only this task can do (answer with the content), or an input for the
    /// state machine.
    async fn command(&mut self, cmd: Command) {
        let input = match cmd {
            Command::Join(join) => {
                let Join { conn, writer, can_write, author, who } = *join;
                // Whoever joins sees only what is stored, and not the batch stored for them.
                self.flush().await;
                self.writers.insert(conn, writer);
                Input::Join { conn, can_write, author, who }
            }
            Command::Frame { conn, messages } => {
                for message in messages {
                    if !self.state.is_connected(conn) {
                        break;
                    }
                    self.input(Input::Message { conn, message }).await;
                }
                return;
            }
            Command::Leave { conn } => {
                self.writers.remove(&conn);
                Input::Leave { conn }
            }
            Command::Edit(edit) => *edit,
            Command::Read { reply } => {
                self.flush().await;
                let _ = reply.send(self.state.content());
                return;
            }
            Command::TakeRevision { reply } => {
                self.flush().await;
                let _ = reply.send(self.state.take_revision());
                return;
            }
            Command::Kick => Input::Kick,
            Command::Forget { done } => {
                self.input(Input::Forget).await;
                let _ = done.send(());
                return;
            }
            Command::Remote(note) => Input::Remote(note),
            Command::CatchUp => Input::CatchUp,
            Command::Compacted(seq) => Input::Compacted { seq, background: true },
        };
        self.input(input).await;
    }

    /// Hands an input to the state machine (storing what waits first when it must), then
    /// carries out what it asks.
    async fn input(&mut self, mut input: Input<Reply>) {
        loop {
            let step = if input.update_bytes() > LARGE_UPDATE_BYTES {
                self.handle_off_runtime(input).await
            } else {
                self.state.handle(input, Instant::now(), &mut self.effects)
            };
            self.carry_out().await;
            match step {
                Step::Done => return,
                Step::StoreFirst(back) => {
                    self.hand(Input::Flush);
                    self.carry_out().await;
                    input = back;
                }
            }
        }
    }

    /// A large update is applied on a blocking thread: one huge page never holds a runtime
    /// thread (this task waits, the others go on). The state machine goes there and back.
    async fn handle_off_runtime(&mut self, input: Input<Reply>) -> Step<Reply> {
        let blank = DocState::new(limits(&self.hub), &store::Stored::default(), [], Instant::now());
        let mut state = std::mem::replace(&mut self.state, blank);
        let mut effects = std::mem::take(&mut self.effects);
        let work = move || {
            let step = state.handle(input, Instant::now(), &mut effects);
            (state, effects, step)
        };
        match tokio::task::spawn_blocking(work).await {
            Ok((state, effects, step)) => {
                self.state = state;
                self.effects = effects;
                step
            }
            Err(err) => {
                // The state was lost with the thread: every connection starts over from storage.
                tracing::error!(doc = self.id.0, error = %err, "applying a large update failed");
                for (_, writer) in self.writers.drain() {
                    writer.close(CLOSE_ERROR, "document reloaded; reconnecting".to_owned());
                }
                self.reload().await;
                Step::Done
            }
        }
    }

    /// Hands the state machine an input that never waits for storage (the answer to what it
    /// asked, a flush) and carries out nothing yet.
    fn hand(&mut self, input: Input<Reply>) {
        let step = self.state.handle(input, Instant::now(), &mut self.effects);
        debug_assert!(matches!(step, Step::Done));
    }

    /// Until when the updates waiting go out with the next ones.
    fn hold_pending_until(&self) -> Option<Instant> {
        self.state.hold_pending_until(Instant::now(), self.writers.len())
    }

    /// Stores the waiting updates, then lets them be seen, with the updates heard from elsewhere
    /// meanwhile; sends those alone when nothing waits to be stored.
    async fn flush(&mut self) {
        self.hand(Input::Flush);
        self.carry_out().await;
    }

    /// Runs what is due: projections once edits paused, a revision once the session is quiet
    /// (everything pending with `None`: shutting down, leaving memory).
    async fn timers(&mut self, now: Option<Instant>) {
        if let Some(content) = self.state.take_settled(now) {
            if let Err(err) = (self.hub.hooks.on_settled)(self.id, content).await {
                tracing::warn!(doc = self.id.0, error = ?err, "could not update the projections");
            }
        }
        if let Some((content, authors)) = self.state.take_quiet(now) {
            if let Err(err) = (self.hub.hooks.on_quiet)(self.id, content, authors.clone()).await {
                tracing::warn!(doc = self.id.0, error = ?err, "could not record a revision; will retry");
                self.state.quiet_failed(authors, Instant::now());
            }
        }
    }

    /// Leaves memory when nobody is connected (the state machine folds the log first), unless a
    /// command came meanwhile; hands any late command to a new owner. True when the task may
    /// end.
    async fn try_unload(&mut self, inbox: &mut mpsc::Receiver<Command>) -> bool {
        self.timers(None).await;
        self.input(Input::Idle).await;
        if !std::mem::take(&mut self.leaving) {
            return false;
        }
        let late = {
            let mut docs = self.hub.docs.lock().unwrap_or_else(|p| p.into_inner());
            if !inbox.is_empty() {
                drop(docs);
                self.hand(Input::UnloadRefused);
                return false;
            }
            docs.remove(&self.id);
            if let Some(relay) = &self.hub.relay {
                relay.unwatch(self.id);
            }
            inbox.close();
            let mut late = Vec::new();
            while let Ok(cmd) = inbox.try_recv() {
                late.push(cmd);
            }
            late
        };
        // Commands that slipped in go to the next owner.
        for cmd in late {
            let next = sender_for(&self.hub, self.id);
            if let Err(mpsc::error::TrySendError::Full(cmd)) = next.try_send(cmd) {
                tokio::spawn(async move {
                    let _ = next.send(cmd).await;
                });
            }
        }
        true
    }
}

/// The state machine's bounds, from the site's settings.
fn limits(hub: &HubInner) -> Limits {
    let settings = &hub.settings;
    Limits {
        max_page_chars: settings.max_page_chars,
        max_presence_bytes: settings.max_presence_bytes,
        settle: settings.settle,
        revision_quiet: settings.revision_quiet,
        compact_every: settings.compact_every,
        relayed: hub.relay.is_some(),
        takes_turns: {
            use sea_orm::ConnectionTrait;
            hub.db.get_database_backend() == sea_orm::DbBackend::Postgres
        },
        busy_page_window: settings.busy_page_window,
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every open page's inbox holds a block of 32 commands from the start (1.3 KiB at 40
    /// bytes; it was 2.8 KiB when an edit or a join was carried inline).
    #[test]
    fn a_command_stays_small() {
        assert!(std::mem::size_of::<Command>() <= 40, "{}", std::mem::size_of::<Command>());
    }
}
