//! What other processes say about the page (updates they stored, their presence), the
//! catch-up from storage when some were missed, and reading the page again from storage.
use std::collections::VecDeque;

use tokio::time::Instant;
use yrs::{sync::Awareness, updates::decoder::Decode, ReadTxn as _, Transact as _, Update};

use super::{apply_stored, new_doc, sync::FieldsWatch, DocState, Effect, CLOSE_ERROR};
use crate::{notes::Note, protocol, store};

impl<R> DocState<R> {
    /// What another process said about this document.
    pub(super) fn remote(&mut self, note: Note, now: Instant, fx: &mut VecDeque<Effect<R>>) {
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
            Note::Awareness(data) => self.heard_presence(&data, fx),
            Note::QueryAwareness => self.publish_presence(fx),
            Note::Kick | Note::Forget => {} // handled with the inputs that show or end the page
        }
    }

    /// What storage holds after `last_seq`: applied and forwarded to the connections here.
    pub(super) fn caught(
        &mut self,
        stored: store::Stored,
        now: Instant,
        fx: &mut VecDeque<Effect<R>>,
    ) {
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

    /// Replaces the document by what storage holds (after it was poisoned); presence is kept,
    /// and every connection is closed so that clients sync again (they may hold changes that
    /// are no longer here).
    pub(super) fn reload(&mut self, stored: &store::Stored, fx: &mut VecDeque<Effect<R>>) {
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
    use super::super::testing::*;

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
    fn hearing_that_some_were_missed_asks_storage_without_waiting_for_it() {
        let mut doc = page(limits());
        let fx = input(&mut doc, Input::CatchUp);
        assert!(matches!(fx.iter().collect::<Vec<_>>().as_slice(), [Effect::CatchUp]));
        // Storage cannot be read now: nothing waits for it (asked again when heard again).
        assert!(input(&mut doc, Input::CatchUpFailed).is_empty());
        assert_eq!(doc.last_seq(), 0);
    }
}
