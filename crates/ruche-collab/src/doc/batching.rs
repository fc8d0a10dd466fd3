//! Updates applied here wait in a batch until stored, then go out as one merged frame (with
//! what other processes stored meanwhile); a batch storage failed to keep is shown to nobody.
use std::{
    collections::{HashSet, VecDeque},
    time::Duration,
};

use tokio::time::Instant;

use super::{Batch, DocState, Effect, Pending, Refusal, CLOSE_ERROR};
use crate::{notes::Note, presence::ConnId, protocol};

/// How much longer a busy page holds its updates for each connection they go to. Writing a
/// frame into a socket costs the server about 5 µs (the kernel's `send`, with the receiving
/// side of a local connection): 53–62 % of its CPU in workload (a) of `benches/compare.sh`,
/// 200 people typing on one page. 50 µs a connection makes a busy page spend at most about a
/// tenth of a core writing to its connections; capped by the setting (10 ms: 200 people).
/// Measured on (a), 20 → 40 → 50 µs: CPU 4.3–4.6 → 3.0–3.4 → 2.9–3.0 s, p50 4.9 → 7.0 → 8.3
/// ms, p99 unchanged within noise (18–25 ms on a shared 2-core machine, set by the clients).
pub const WINDOW_PER_CONNECTION: Duration = Duration::from_micros(50);

impl<R> DocState<R> {
    /// Until when the updates waiting go out with the next ones (see `hold_until`), written to
    /// this many connections.
    pub(crate) fn hold_pending_until(&self, now: Instant, connections: usize) -> Option<Instant> {
        if !self.has_pending() {
            return None;
        }
        hold_until(self.last_flush, now, connections, self.limits.busy_page_window)
    }

    /// Whether updates wait to be stored or sent (this process's, or stored elsewhere).
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty() || !self.heard.is_empty()
    }

    /// The updates waiting to be stored, taken out to be stored.
    pub(super) fn take_batch(&mut self) -> Option<Batch<R>> {
        (!self.pending.is_empty()).then(|| Batch { updates: std::mem::take(&mut self.pending) })
    }

    /// The batch is stored from sequence number `first`: now it may be seen.
    pub(super) fn stored(
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
    pub(super) fn not_stored(
        &mut self,
        batch: Batch<R>,
        error: &str,
        fx: &mut VecDeque<Effect<R>>,
    ) {
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

    /// Sends the updates stored elsewhere that wait (`heard`), when no batch of this process's
    /// carries them; whether there were any.
    pub(super) fn send_heard(&mut self, fx: &mut VecDeque<Effect<R>>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::hold_until;

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
}
