//! What the live document's task does when its state machine asks: write to the connections,
//! publish, read and write storage (batches, snapshots, the page again), wait. No rule here:
//! each effect is carried out and what came of it is handed back as an input.
use super::{Command, LiveDoc, Reply};
use crate::{
    doc::{Effect, Input},
    presence::ConnId,
    socket::{self, Undelivered},
    store::{self, Appended, InTurn, NewUpdate},
};

impl LiveDoc {
    /// Carries out what the state machine asked, in order (what it asks meanwhile follows).
    pub(super) async fn carry_out(&mut self) {
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
                    let answer = match Box::pin(self.read_since()).await {
                        Some(stored) => Input::Caught(stored),
                        None => Input::CatchUpFailed,
                    };
                    self.hand(answer);
                }
                Effect::Reply(reply, result) => {
                    let _ = reply.send(result);
                }
                Effect::Store { first, in_turn } => {
                    let answer = self.store(first, in_turn).await;
                    self.hand(answer);
                }
                Effect::Pause(pause) => tokio::time::sleep(pause).await,
                Effect::Compact { state, seq, keep, background: true } => {
                    self.compact_later(state, seq, keep)
                }
                Effect::Compact { state, seq, keep, background: false } => {
                    let seq = Box::pin(self.compact(state, seq, keep)).await;
                    self.hand(Input::Compacted { seq, background: false });
                }
                Effect::Reload => Box::pin(self.reload()).await,
                Effect::Unload => self.leaving = true,
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

    /// Writes the batch being stored from number `first`: through the group commit, or in turn
    /// with the other processes (PostgreSQL's advisory lock); says how it went.
    async fn store(&self, first: i64, in_turn: bool) -> Input<Reply> {
        let Some(batch) = self.state.storing() else {
            return Input::StoreFailed("nothing to store".to_owned());
        };
        let stored = if in_turn {
            let rows: Vec<(&[u8], Option<i64>)> =
                batch.updates.iter().map(|p| (p.data.as_slice(), p.author)).collect();
            store::append_in_turn(&self.hub.db, self.id, first - 1, &rows).await.map(|turn| {
                match turn {
                    InTurn::Stored { first, missed } => Input::Stored { first, missed },
                    InTurn::Behind => Input::Behind,
                }
            })
        } else {
            let rows: Vec<NewUpdate<'_>> = batch
                .updates
                .iter()
                .zip(first..)
                .map(|(p, seq)| NewUpdate { seq, data: &p.data, author: p.author })
                .collect();
            self.hub.committer.append(self.id, &rows).await.map(|appended| match appended {
                Appended::Stored => Input::Stored { first, missed: Vec::new() },
                Appended::Taken => Input::TurnTaken,
            })
        };
        stored.unwrap_or_else(|err| {
            tracing::error!(doc = self.id.0, error = ?err, "could not store updates");
            Input::StoreFailed(format!("{err:#}"))
        })
    }

    /// Reads the document again from storage.
    pub(super) async fn reload(&mut self) {
        match store::load(&self.hub.db, self.id).await {
            Ok(stored) => self.hand(Input::Reloaded(stored)),
            Err(err) => {
                tracing::error!(doc = self.id.0, error = ?err, "could not reload a document")
            }
        }
    }

    /// Writes a snapshot without holding the page's task (another task writes it); the page
    /// is told when it is done. An older one finishing late is ignored by the store (it keeps
    /// the newest snapshot).
    fn compact_later(&self, state: Vec<u8>, seq: i64, keep: i64) {
        let (hub, id) = (self.hub.clone(), self.id);
        self.hub.tracker.spawn(async move {
            let written = match store::compact(&hub.db, id, state, seq, keep).await {
                Ok(()) => Some(seq),
                Err(err) => {
                    tracing::warn!(doc = id.0, error = ?err, "compaction failed; will retry");
                    None
                }
            };
            let live = hub.docs.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned();
            if let Some(page) = live {
                let _ = page.send(Command::Compacted(written)).await;
            }
        });
    }

    /// Writes a snapshot before going on; how far it reached.
    async fn compact(&self, state: Vec<u8>, seq: i64, keep: i64) -> Option<i64> {
        match store::compact(&self.hub.db, self.id, state, seq, keep).await {
            Ok(()) => Some(seq),
            Err(err) => {
                tracing::warn!(doc = self.id.0, error = ?err, "compaction failed; will retry");
                None
            }
        }
    }
}
