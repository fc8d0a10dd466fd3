//! Folding the update log into a snapshot: when it is due and what exactly is folded.
use yrs::Transact as _;

use super::{full_state, DocState};

impl<R> DocState<R> {
    /// Whether the log is long enough to be folded into a snapshot.
    pub(crate) fn compaction_due(&self) -> bool {
        self.last_seq - self.snapshot_seq >= self.limits.compact_every
    }

    /// The state to store as a snapshot, and the sequence number it covers: exactly what is
    /// stored up to there (`None` when there is nothing to fold, or the document holds what
    /// must not be stored).
    pub(crate) fn state_to_compact(&self) -> Option<(Vec<u8>, i64)> {
        if self.last_seq == self.snapshot_seq || self.poisoned || !self.pending.is_empty() {
            return None;
        }
        Some((full_state(&self.doc().transact()), self.last_seq))
    }

    /// A snapshot up to `seq` is stored.
    pub(crate) fn compacted(&mut self, seq: i64) {
        self.snapshot_seq = self.snapshot_seq.max(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

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
