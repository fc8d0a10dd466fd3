//! Folding the update log into a snapshot (when it is due, what exactly is folded, one at a
//! time in the background), and leaving memory, which folds it first.
use std::collections::VecDeque;

use yrs::Transact as _;

use super::{full_state, DocState, Effect};

impl<R> DocState<R> {
    /// A snapshot is written in the background when the log is long enough, one at a time.
    pub(super) fn compact_if_due(&mut self, fx: &mut VecDeque<Effect<R>>) {
        if self.compacting || !self.compaction_due() {
            return;
        }
        let Some((state, seq)) = self.state_to_compact() else { return };
        self.compacting = true;
        fx.push_back(Effect::Compact { state, seq, keep: self.log_tail(), background: true });
    }

    /// Whatever the log holds is folded before going on (leaving memory, stopping).
    pub(super) fn compact_now(&mut self, fx: &mut VecDeque<Effect<R>>) {
        let Some((state, seq)) = self.state_to_compact() else { return };
        fx.push_back(Effect::Compact { state, seq, keep: self.log_tail(), background: false });
    }

    /// A snapshot was written up to `seq` (or failed). The page went on while one was written
    /// in the background: it may be due for the next.
    pub(super) fn compaction_done(
        &mut self,
        seq: Option<i64>,
        background: bool,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        if let Some(seq) = seq {
            self.compacted(seq);
        }
        if background {
            self.compacting = false;
            self.compact_if_due(fx);
        }
    }

    /// With other processes, the log keeps a tail so they rarely need the whole snapshot.
    fn log_tail(&self) -> i64 {
        if self.limits.relayed {
            self.limits.compact_every / 4
        } else {
            0
        }
    }

    /// Nobody has been here for a while: the log is folded, then the page leaves memory.
    pub(super) fn leave_memory(&mut self, fx: &mut VecDeque<Effect<R>>) {
        if self.has_connections() {
            return;
        }
        self.compact_now(fx);
        fx.push_back(Effect::Unload);
    }

    /// Whether the log is long enough to be folded into a snapshot.
    fn compaction_due(&self) -> bool {
        self.last_seq - self.snapshot_seq >= self.limits.compact_every
    }

    /// The state to store as a snapshot, and the sequence number it covers: exactly what is
    /// stored up to there (`None` when there is nothing to fold, or the document holds what
    /// must not be stored).
    pub(super) fn state_to_compact(&self) -> Option<(Vec<u8>, i64)> {
        if self.last_seq == self.snapshot_seq || self.poisoned || !self.pending.is_empty() {
            return None;
        }
        Some((full_state(&self.doc().transact()), self.last_seq))
    }

    /// A snapshot up to `seq` is stored.
    fn compacted(&mut self, seq: i64) {
        self.snapshot_seq = self.snapshot_seq.max(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    fn typing(doc: &mut DocState<u32>, words: &[&str]) {
        let client = new_doc();
        for word in words {
            let _ = send(doc, 1, typed(&client, word));
        }
    }

    fn compacts(fx: &Fx) -> Vec<(i64, i64, bool)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Compact { seq, keep, background, .. } => Some((*seq, *keep, *background)),
                _ => None,
            })
            .collect()
    }

    /// Stores what waits as the next numbers, through the inputs the task answers with.
    fn flushed(doc: &mut DocState<u32>) -> Fx {
        let fx = input(doc, Input::Flush);
        let Some(Effect::Store { first, .. }) = fx.back() else { panic!("{fx:?}") };
        input(doc, Input::Stored { first: *first, missed: vec![] })
    }

    #[test]
    fn a_long_log_is_folded_in_the_background_one_snapshot_at_a_time() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        typing(&mut doc, &["a", "b"]);
        assert!(compacts(&flushed(&mut doc)).is_empty(), "not due yet");
        typing(&mut doc, &["c"]);
        assert_eq!(compacts(&flushed(&mut doc)), vec![(3, 0, true)]);
        typing(&mut doc, &["d", "e", "f"]);
        assert!(compacts(&flushed(&mut doc)).is_empty(), "one is being written");
        // Written: the page went on meanwhile and is due for the next one.
        let fx = input(&mut doc, Input::Compacted { seq: Some(3), background: true });
        assert_eq!(compacts(&fx), vec![(6, 0, true)]);
        // That one fails: tried again.
        let fx = input(&mut doc, Input::Compacted { seq: None, background: true });
        assert_eq!(compacts(&fx), vec![(6, 0, true)]);
        assert!(input(&mut doc, Input::Compacted { seq: Some(6), background: true }).is_empty());
    }

    #[test]
    fn with_other_processes_the_log_keeps_a_tail() {
        let mut doc = page(Limits { relayed: true, compact_every: 8, ..limits() });
        join(&mut doc, 1, true);
        typing(&mut doc, &["a", "b", "c", "d", "e", "f", "g", "h"]);
        assert_eq!(compacts(&flushed(&mut doc)), vec![(8, 2, true)]);
    }

    #[test]
    fn leaving_memory_folds_the_log_first_and_waits_for_whoever_is_here() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        typing(&mut doc, &["a"]);
        let _ = flushed(&mut doc);
        assert!(input(&mut doc, Input::Idle).is_empty(), "someone is here");
        let _ = input(&mut doc, Input::Leave { conn: 1 });
        let fx = input(&mut doc, Input::Idle);
        assert_eq!(compacts(&fx), vec![(1, 0, false)], "folded before going on");
        assert!(matches!(fx.back(), Some(Effect::Unload)));
        let fx = input(&mut doc, Input::Compacted { seq: Some(1), background: false });
        assert!(fx.is_empty());
        // Someone came meanwhile: the page stays, and serves them.
        assert!(input(&mut doc, Input::UnloadRefused).is_empty());
        let fx =
            input(&mut doc, Input::Join { conn: 2, can_write: true, author: None, who: who() });
        assert!(matches!(fx.front(), Some(Effect::Send(2, _))));
        // Nothing more to fold: it only leaves.
        let _ = input(&mut doc, Input::Leave { conn: 2 });
        let fx = input(&mut doc, Input::Idle);
        assert!(matches!(fx.iter().collect::<Vec<_>>().as_slice(), [Effect::Unload]));
    }

    #[test]
    fn stopping_folds_whatever_is_stored_and_not_what_waits() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        typing(&mut doc, &["a"]);
        assert!(input(&mut doc, Input::Stopping).is_empty(), "an unstored update is not folded");
        let _ = flushed(&mut doc);
        assert_eq!(compacts(&input(&mut doc, Input::Stopping)), vec![(1, 0, false)]);
        let _ = input(&mut doc, Input::Compacted { seq: Some(1), background: false });
        assert!(input(&mut doc, Input::Stopping).is_empty(), "folded already");
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
}
