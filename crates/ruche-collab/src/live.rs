//! One live document's task: it owns the page's state machine (`doc.rs`) and carries out what
//! it asks — storing batches (group commit), reading what other processes stored, writing to
//! the connections (through their `socket::Writer`), publishing to the other processes,
//! timers, compaction and leaving memory. Nothing here knows about HTTP.
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicBool, AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::{
    sync::{mpsc, oneshot},
    time::{sleep_until, Instant},
};

pub use super::doc::{Content, CLOSE_ERROR, CLOSE_INVALID, CLOSE_POLICY};
use super::{
    doc::{DocState, Effect, Input, Limits, Refusal, Step},
    notes::Note,
    presence,
    protocol::Message,
    socket::{self, Undelivered, Writer},
    store::{self, Appended, DocId, NewUpdate},
    HubInner,
};

/// Identifies one websocket connection to a document.
pub use super::presence::ConnId;

/// How many updates a batch may hold before it is written (bounds the work between writes).
const MAX_BATCH: usize = 512;
/// How many times a batch is tried again when other processes keep taking its sequence numbers.
const MAX_STORE_ATTEMPTS: usize = 20;
/// How long processes that collided on a document's log take turns on it.
const TAKE_TURNS_FOR: Duration = Duration::from_secs(5);

/// How much longer a busy page holds its updates for each connection they go to. Writing a
/// frame into a socket costs the server about 5 µs (the kernel's `send`, with the receiving
/// side of a local connection): 53–62 % of its CPU in workload (a) of `benches/compare.sh`,
/// 200 people typing on one page. 50 µs a connection makes a busy page spend at most about a
/// tenth of a core writing to its connections; capped by the setting (10 ms: 200 people).
/// Measured on (a), 20 → 40 → 50 µs: CPU 4.3–4.6 → 3.0–3.4 → 2.9–3.0 s, p50 4.9 → 7.0 → 8.3
/// ms, p99 unchanged within noise (18–25 ms on a shared 2-core machine, set by the clients).
pub const WINDOW_PER_CONNECTION: Duration = Duration::from_micros(50);

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
    /// A compaction written off the task finished: the log may be due for another.
    Compacted,
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
pub type Reply = oneshot::Sender<Result<(), Refusal>>;

pub struct LiveDoc {
    id: DocId,
    hub: Arc<HubInner>,
    state: DocState<Reply>,
    /// The connections the document writes to (a connection that ended is no longer here,
    /// though its edits may still be on their way).
    writers: HashMap<ConnId, Writer>,
    /// What the state machine asked for and is not done yet, in order.
    effects: VecDeque<Effect<Reply>>,
    /// Until when this process takes turns with others on the document's log (they collided).
    turns_until: Option<Instant>,
    /// When the last batch was stored and sent.
    last_flush: Option<Instant>,
    /// A compaction is being written off this task, and how far the last one written reached.
    compacting: Arc<AtomicBool>,
    compacted_to: Arc<AtomicI64>,
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
            turns_until: None,
            last_flush: None,
            compacting: Arc::default(),
            compacted_to: Arc::new(AtomicI64::new(stored.base_seq)),
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
            self.compact().await;
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
            .any(|c| !matches!(c, Command::Remote(_) | Command::CatchUp | Command::Compacted));
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
        if self.state.poisoned() {
            self.reload().await;
        }
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
            Command::CatchUp => {
                self.catch_up().await;
                return;
            }
            Command::Compacted => {
                self.catch_up_compactions();
                if self.state.compaction_due() {
                    self.compact_later();
                }
                return;
            }
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
                    self.flush().await;
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

    /// Carries out what the state machine asked, in order (what it asks meanwhile follows).
    async fn carry_out(&mut self) {
        let max_waiting = self.hub.settings.outbox_capacity;
        while let Some(effect) = self.effects.pop_front() {
            match effect {
                Effect::Send(conn, frame) => {
                    let framed = socket::binary_frame(&frame);
                    let failed = match self.writers.get(&conn) {
                        Some(writer) => writer.send(&framed, max_waiting).err(),
                        None => None,
                    };
                    if let Some(failed) = failed {
                        self.undeliverable(conn, failed);
                    }
                }
                Effect::Broadcast { except, frame } => {
                    // Framed once; written into each socket (one system call each).
                    let framed = socket::binary_frame(&frame);
                    let failed: Vec<(ConnId, Undelivered)> = self
                        .writers
                        .iter()
                        .filter(|(id, _)| Some(**id) != except)
                        .filter_map(|(id, w)| w.send(&framed, max_waiting).err().map(|e| (*id, e)))
                        .collect();
                    for (conn, failed) in failed {
                        self.undeliverable(conn, failed);
                    }
                }
                Effect::Close { conn, code, reason } => {
                    if let Some(writer) = self.writers.remove(&conn) {
                        writer.close(code, reason);
                    }
                }
                Effect::Publish(note) => {
                    if let Some(relay) = &self.hub.relay {
                        relay.publish(self.id, &note);
                    }
                }
                Effect::CatchUp => {
                    // Rare: its read is a large future, not kept in every carry_out's.
                    if let Some(stored) = Box::pin(self.read_since()).await {
                        self.caught(stored);
                    }
                }
                Effect::Reply(reply, result) => {
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// A frame could not be delivered. Too slow: the connection is dropped rather than hold
    /// everyone else back, and closed at once (what waited for it is dropped; it stops
    /// forwarding edits nobody would apply). Ended: what it sent before (still on its way
    /// here, with its leaving) is applied all the same, so nothing is sent to it any more but
    /// it stays until it leaves.
    fn undeliverable(&mut self, conn: ConnId, failed: Undelivered) {
        if self.writers.remove(&conn).is_none() {
            return;
        }
        if failed == Undelivered::TooSlow {
            tracing::info!(doc = self.id.0, conn, "a connection too slow to keep up; closing");
            self.state.leave(conn, &mut self.effects);
        }
    }

    /// What storage holds after the last update known here (`None` when it cannot be read now).
    async fn read_since(&self) -> Option<store::Stored> {
        match store::load_since(&self.hub.db, self.id, self.state.last_seq()).await {
            Ok(stored) => Some(stored),
            Err(err) => {
                tracing::warn!(doc = self.id.0, error = ?err, "could not catch up; will retry");
                None
            }
        }
    }

    /// Hands what other processes stored to the state machine (never waits for storage).
    fn caught(&mut self, stored: store::Stored) {
        let step = self.state.handle(Input::Caught(stored), Instant::now(), &mut self.effects);
        debug_assert!(matches!(step, Step::Done));
    }

    /// Reads what other processes stored since the last update known here, applies it and
    /// forwards it to this process's clients.
    async fn catch_up(&mut self) {
        if let Some(stored) = self.read_since().await {
            self.caught(stored);
            self.carry_out().await;
        }
    }

    /// Until when the updates waiting go out with the next ones (see `hold_until`).
    fn hold_pending_until(&self) -> Option<Instant> {
        if !self.state.has_pending() {
            return None;
        }
        let cap = self.hub.settings.busy_page_window;
        hold_until(self.last_flush, Instant::now(), self.writers.len(), cap)
    }

    /// Stores the waiting updates in one transaction, then lets them be seen, with the updates
    /// heard from elsewhere meanwhile; sends those alone when nothing waits to be stored.
    async fn flush(&mut self) {
        let Some(batch) = self.state.take_batch() else {
            if self.state.send_heard(&mut self.effects) {
                self.last_flush = Some(Instant::now());
                self.carry_out().await;
            }
            return;
        };
        self.last_flush = Some(Instant::now());
        let rows: Vec<(&[u8], Option<i64>)> =
            batch.updates.iter().map(|p| (p.data.as_slice(), p.author)).collect();
        let stored = self.store_batch(&rows).await;
        drop(rows);
        match stored {
            Ok(first) => {
                self.state.stored(batch, first, Instant::now(), &mut self.effects);
                self.carry_out().await;
                self.catch_up_compactions();
                if self.state.compaction_due() {
                    self.compact_later();
                }
            }
            Err(err) => {
                tracing::error!(doc = self.id.0, error = ?err, "could not store updates");
                self.state.not_stored(batch, &format!("{err:#}"), &mut self.effects);
                self.carry_out().await;
            }
        }
    }

    /// Writes a batch after what other processes stored (catching up with it first); answers
    /// the sequence number of its first update. The next numbers are tried first; when another
    /// process took them (it writes the same document), PostgreSQL gives the processes turns
    /// for a while (an advisory lock per document) instead of letting them collide.
    async fn store_batch(&mut self, batch: &[(&[u8], Option<i64>)]) -> anyhow::Result<i64> {
        use sea_orm::ConnectionTrait;
        let can_take_turns = self.hub.db.get_database_backend() == sea_orm::DbBackend::Postgres;
        for _ in 0..MAX_STORE_ATTEMPTS {
            let known = self.state.last_seq();
            if self.turns_until.is_some_and(|until| Instant::now() < until) {
                match store::append_in_turn(&self.hub.db, self.id, known, batch).await? {
                    store::InTurn::Stored { first, missed } => {
                        let missed = store::Stored { updates: missed, ..Default::default() };
                        self.caught(missed);
                        self.carry_out().await;
                        return Ok(first);
                    }
                    store::InTurn::Behind => self.catch_up().await,
                }
                continue;
            }
            let first = known + 1;
            let rows: Vec<NewUpdate<'_>> = batch
                .iter()
                .zip(first..)
                .map(|((data, author), seq)| NewUpdate { seq, data, author: *author })
                .collect();
            match self.hub.committer.append(self.id, &rows).await? {
                Appended::Stored => return Ok(first),
                // Another process stored first: take its updates, then ours follow them.
                Appended::Taken => {
                    if can_take_turns {
                        self.turns_until = Some(Instant::now() + TAKE_TURNS_FOR);
                    }
                    self.catch_up().await;
                    if self.state.last_seq() == known {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
        }
        anyhow::bail!("other processes kept taking the next numbers")
    }

    /// Replaces the in-memory document by what storage holds.
    async fn reload(&mut self) {
        match store::load(&self.hub.db, self.id).await {
            Ok(stored) => {
                self.state.reload(&stored, &mut self.effects);
                self.carry_out().await;
            }
            Err(err) => {
                tracing::error!(doc = self.id.0, error = ?err, "could not reload a document")
            }
        }
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

    /// What the compactions written off this task reached.
    fn catch_up_compactions(&mut self) {
        self.state.compacted(self.compacted_to.load(Ordering::SeqCst));
    }

    /// With other processes, the log keeps a tail so they rarely need the whole snapshot.
    fn log_tail(&self) -> i64 {
        if self.hub.relay.is_some() {
            self.hub.settings.compact_every / 4
        } else {
            0
        }
    }

    /// Compacts without holding the page's task: the state is encoded here (it holds exactly
    /// what is stored up to `last_seq`), written by another task. One at a time; an older one
    /// finishing late is ignored by the store (it keeps the newest snapshot).
    fn compact_later(&mut self) {
        // One at a time: the state is not encoded while another is being written (the page is
        // told when it is done).
        if self.compacting.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some((state, seq)) = self.state.state_to_compact() else {
            self.compacting.store(false, Ordering::SeqCst);
            return;
        };
        let (hub, id, keep) = (self.hub.clone(), self.id, self.log_tail());
        let (busy, written) = (self.compacting.clone(), self.compacted_to.clone());
        self.hub.tracker.spawn(async move {
            match store::compact(&hub.db, id, state, seq, keep).await {
                Ok(()) => {
                    written.fetch_max(seq, Ordering::SeqCst);
                }
                Err(err) => {
                    tracing::warn!(doc = id.0, error = ?err, "compaction failed; will retry")
                }
            }
            busy.store(false, Ordering::SeqCst);
            // The page went on while this was written: it may be due for the next one.
            let live = hub.docs.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned();
            if let Some(page) = live {
                let _ = page.try_send(Command::Compacted);
            }
        });
    }

    async fn compact(&mut self) {
        self.catch_up_compactions();
        let Some((state, seq)) = self.state.state_to_compact() else { return };
        match store::compact(&self.hub.db, self.id, state, seq, self.log_tail()).await {
            Ok(()) => {
                self.state.compacted(seq);
                self.compacted_to.fetch_max(seq, Ordering::SeqCst);
            }
            Err(err) => {
                tracing::warn!(doc = self.id.0, error = ?err, "compaction failed; will retry")
            }
        }
    }

    /// Leaves memory when nobody is connected: compacts, then hands any late command to a new
    /// owner. True when the task may end.
    async fn try_unload(&mut self, inbox: &mut mpsc::Receiver<Command>) -> bool {
        self.timers(None).await;
        self.compact().await;
        let late = {
            let mut docs = self.hub.docs.lock().unwrap_or_else(|p| p.into_inner());
            if !inbox.is_empty() {
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
            let next = super::sender_for(&self.hub, self.id);
            if let Err(mpsc::error::TrySendError::Full(cmd)) = next.try_send(cmd) {
                tokio::spawn(async move {
                    let _ = next.send(cmd).await;
                });
            }
        }
        true
    }
}

/// Until when a page holds new updates to send them with the next ones: a page whose last
/// batch went out less than its window ago holds them until then. The window grows with the
/// connections each frame goes to (`WINDOW_PER_CONNECTION` each), up to `cap`; a page written
/// to now and then sends each update at once.
fn hold_until(
    last_flush: Option<Instant>,
    now: Instant,
    connections: usize,
    cap: Duration,
) -> Option<Instant> {
    let connections = u32::try_from(connections).unwrap_or(u32::MAX);
    let window = WINDOW_PER_CONNECTION.saturating_mul(connections).min(cap);
    let due = last_flush? + window;
    (due > now).then_some(due)
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

    #[test]
    fn a_busy_page_holds_updates_for_a_window_that_grows_with_its_connections() {
        let cap = Duration::from_millis(4);
        let now = Instant::now();
        let ms = Duration::from_millis;
        // Nothing sent yet, or the last batch long ago: at once.
        assert_eq!(hold_until(None, now, 200, cap), None);
        assert_eq!(hold_until(Some(now - ms(5)), now, 200, cap), None);
        // 80 connections: 4 ms after the last batch (50 µs each, the cap).
        assert_eq!(hold_until(Some(now - ms(1)), now, 80, cap), Some(now + ms(3)));
        assert_eq!(hold_until(Some(now - ms(1)), now, 200, cap), Some(now + ms(3)));
        // 10 connections: 0.5 ms.
        let last = now - Duration::from_micros(100);
        assert_eq!(hold_until(Some(last), now, 10, cap), Some(last + Duration::from_micros(500)));
        assert_eq!(hold_until(Some(now - ms(1)), now, 10, cap), None);
        // A thousand connections stay under the cap; a cap of zero never holds.
        assert_eq!(hold_until(Some(now), now, 1000, cap), Some(now + cap));
        assert_eq!(hold_until(Some(now), now, 1000, Duration::ZERO), None);
        assert_eq!(hold_until(Some(now), now, usize::MAX, cap), Some(now + cap));
    }
}
