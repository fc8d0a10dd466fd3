//! Storing a batch: the numbers it takes in the page's log, turns with the other processes that
//! write the same page, catching up with what they stored first, and giving up. The task
//! writes (`Effect::Store`) and says how it went; the rules are here.
use std::{collections::VecDeque, time::Duration};

use tokio::time::Instant;

use super::{Batch, DocState, Effect};
use crate::store;

/// How many times a batch is tried again when other processes keep taking its numbers.
const MAX_STORE_ATTEMPTS: u32 = 20;
/// How long processes that collided on a page's log take turns on it.
const TAKE_TURNS_FOR: Duration = Duration::from_secs(5);
/// How long to wait before trying again when another process took the numbers and what it
/// stored could not be read yet.
const RETRY_AFTER: Duration = Duration::from_millis(5);

/// A batch being stored.
pub(super) struct Storing<R> {
    batch: Batch<R>,
    attempts: u32,
    /// A catch-up was asked before trying again.
    after_catch_up: Option<AfterCatchUp>,
}

enum AfterCatchUp {
    /// Try again at once.
    Retry,
    /// Another process took the numbers while this one knew the log up to here: when the
    /// catch-up brought nothing new, wait a little before trying again.
    PauseIfNothingAfter(i64),
}

impl<R> DocState<R> {
    /// The batch being stored, for the task to write.
    pub(crate) fn storing(&self) -> Option<&Batch<R>> {
        self.storing.as_ref().map(|s| &s.batch)
    }

    /// Stores what waits; sends what was heard from elsewhere when nothing does.
    pub(super) fn flush(&mut self, now: Instant, fx: &mut VecDeque<Effect<R>>) {
        if self.storing.is_some() {
            return;
        }
        let Some(batch) = self.take_batch() else {
            if self.send_heard(fx) {
                self.last_flush = Some(now);
            }
            return;
        };
        self.last_flush = Some(now);
        self.storing = Some(Storing { batch, attempts: 0, after_catch_up: None });
        self.store_next(now, fx);
    }

    /// Asks for the batch to be written after what is known here.
    fn store_next(&mut self, now: Instant, fx: &mut VecDeque<Effect<R>>) {
        let Some(storing) = &mut self.storing else { return };
        if storing.attempts == MAX_STORE_ATTEMPTS {
            tracing::error!(attempts = storing.attempts, "other processes kept taking the numbers");
            return self.store_failed("other processes kept taking the next numbers", fx);
        }
        storing.attempts += 1;
        let in_turn = self.turns_until.is_some_and(|until| now < until);
        fx.push_back(Effect::Store { first: self.last_seq + 1, in_turn });
    }

    /// The batch is stored from `first`, after what other processes stored first (`missed`):
    /// now it may be seen, and the log may be due for a snapshot.
    pub(super) fn stored_from(
        &mut self,
        first: i64,
        missed: Vec<store::StoredUpdate>,
        now: Instant,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        let Some(storing) = self.storing.take() else { return };
        if !missed.is_empty() {
            self.caught(store::Stored { updates: missed, ..Default::default() }, now, fx);
        }
        self.stored(storing.batch, first, now, fx);
        self.compact_if_due(fx);
    }

    /// Storing failed: nothing of the batch may be seen.
    pub(super) fn store_failed(&mut self, error: &str, fx: &mut VecDeque<Effect<R>>) {
        let Some(storing) = self.storing.take() else { return };
        self.not_stored(storing.batch, error, fx);
    }

    /// Another process stored under the numbers first: its updates are read, then the batch
    /// follows them. Where the processes can take turns, they do for a while.
    pub(super) fn turn_taken(&mut self, now: Instant, fx: &mut VecDeque<Effect<R>>) {
        let Some(storing) = &mut self.storing else { return };
        if self.limits.takes_turns {
            self.turns_until = Some(now + TAKE_TURNS_FOR);
        }
        storing.after_catch_up = Some(AfterCatchUp::PauseIfNothingAfter(self.last_seq));
        fx.push_back(Effect::CatchUp);
    }

    /// In turn, but storage holds more than this document: catch up, then try again.
    pub(super) fn behind(&mut self, fx: &mut VecDeque<Effect<R>>) {
        let Some(storing) = &mut self.storing else { return };
        storing.after_catch_up = Some(AfterCatchUp::Retry);
        fx.push_back(Effect::CatchUp);
    }

    /// A catch-up is done (or could not read storage): a batch waiting for it is tried again.
    pub(super) fn caught_up_while_storing(&mut self, now: Instant, fx: &mut VecDeque<Effect<R>>) {
        let Some(storing) = &mut self.storing else { return };
        let Some(after) = storing.after_catch_up.take() else { return };
        if let AfterCatchUp::PauseIfNothingAfter(known) = after {
            if self.last_seq == known {
                fx.push_back(Effect::Pause(RETRY_AFTER));
            }
        }
        self.store_next(now, fx);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::{MAX_STORE_ATTEMPTS, RETRY_AFTER};

    /// Another process's update, stored under `seq`.
    fn theirs(seq: i64, text: &str) -> store::StoredUpdate {
        store::StoredUpdate { seq, data: typed(&new_doc(), text), author: Some(9) }
    }

    fn stores(fx: &Fx) -> Vec<(i64, bool)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Store { first, in_turn } => Some((*first, *in_turn)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_batch_is_written_after_what_is_known_and_seen_once_stored() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        join(&mut doc, 2, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "Bonjour"));
        let fx = input(&mut doc, Input::Flush);
        assert_eq!(stores(&fx), vec![(1, false)]);
        assert!(broadcasts(&fx).is_empty(), "nothing is seen before it is stored");
        assert_eq!(doc.storing().map(|b| b.updates.len()), Some(1));
        assert!(input(&mut doc, Input::Flush).is_empty(), "one batch is stored at a time");
        let fx = input(&mut doc, Input::Stored { first: 1, missed: vec![] });
        assert_eq!(broadcasts(&fx).len(), 1);
        assert_eq!(doc.last_seq(), 1);
        assert!(doc.storing().is_none());
    }

    #[test]
    fn storage_failing_answers_the_caller_and_reads_the_document_again() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let edit = Input::SetText { markdown: "Perdu".into(), base: None, author: None, reply: 9 };
        assert!(input(&mut doc, edit).is_empty());
        let _ = input(&mut doc, Input::Flush);
        let fx = input(&mut doc, Input::StoreFailed("disk full".into()));
        assert!(broadcasts(&fx).is_empty());
        let Some(Effect::Reply(9, Err(Refusal::NotStored(why)))) = fx.back() else {
            panic!("{fx:?}")
        };
        assert!(why.contains("disk full"));
        // At the end of the batch, the document is read again from storage.
        let fx = input(&mut doc, Input::BatchDone);
        assert!(matches!(fx.iter().collect::<Vec<_>>().as_slice(), [Effect::Reload]));
        let fx = input(&mut doc, Input::Reloaded(store::Stored::default()));
        assert_eq!(body(&doc), "");
        assert_eq!(closes(&fx), vec![(1, CLOSE_ERROR, "document reloaded; reconnecting".into())]);
        assert!(input(&mut doc, Input::BatchDone).is_empty(), "read once");
    }

    #[test]
    fn a_turn_lost_to_another_process_catches_up_then_stores_after_it_in_turn() {
        let mut doc = page(Limits { takes_turns: true, ..limits() });
        join(&mut doc, 1, true);
        join(&mut doc, 2, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "ici "));
        assert_eq!(stores(&input(&mut doc, Input::Flush)), vec![(1, false)]);
        let fx = input(&mut doc, Input::TurnTaken);
        assert!(matches!(fx.iter().collect::<Vec<_>>().as_slice(), [Effect::CatchUp]));
        let caught = store::Stored { updates: vec![theirs(1, "là ")], ..Default::default() };
        let fx = input(&mut doc, Input::Caught(caught));
        assert_eq!(stores(&fx), vec![(2, true)], "after theirs, taking turns, without waiting");
        assert!(!fx.iter().any(|e| matches!(e, Effect::Pause(_))));
        let fx = input(&mut doc, Input::Stored { first: 2, missed: vec![] });
        let out = broadcasts(&fx);
        assert_eq!(out.len(), 1, "theirs and ours in one frame");
        assert_eq!(out[0].0, None, "to everyone: its author had not seen theirs");
        assert_eq!(doc.last_seq(), 2);
        // The next batch goes in turn too, and what others stored first comes with the answer.
        let _ = send(&mut doc, 2, typed(&new_doc(), "encore "));
        assert_eq!(stores(&input(&mut doc, Input::Flush)), vec![(3, true)]);
        let missed = vec![theirs(3, "a "), theirs(4, "b ")];
        let fx = input(&mut doc, Input::Stored { first: 5, missed });
        assert_eq!(broadcasts(&fx).len(), 1);
        assert_eq!(doc.last_seq(), 5);
        assert!(["ici", "là", "encore", "a", "b"].iter().all(|w| body(&doc).contains(w)));
    }

    #[test]
    fn in_turn_but_behind_catches_up_then_tries_again_at_once() {
        let mut doc = page(Limits { takes_turns: true, ..limits() });
        join(&mut doc, 1, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "un "));
        let _ = input(&mut doc, Input::Flush);
        let _ = input(&mut doc, Input::TurnTaken);
        let _ = input(&mut doc, Input::CatchUpFailed);
        let _ = input(&mut doc, Input::Stored { first: 1, missed: vec![] });
        let _ = send(&mut doc, 1, typed(&new_doc(), "deux "));
        assert_eq!(stores(&input(&mut doc, Input::Flush)), vec![(2, true)]);
        let fx = input(&mut doc, Input::Behind);
        assert!(matches!(fx.iter().collect::<Vec<_>>().as_slice(), [Effect::CatchUp]));
        // Compacted meanwhile, storage can not be read yet: tried again all the same.
        let fx = input(&mut doc, Input::CatchUpFailed);
        assert!(matches!(fx.iter().collect::<Vec<_>>().as_slice(), [Effect::Store { .. }]));
    }

    #[test]
    fn a_turn_lost_with_nothing_new_to_read_waits_a_little_before_trying_again() {
        // SQLite: one process; the processes do not take turns.
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "Bonjour"));
        let _ = input(&mut doc, Input::Flush);
        let _ = input(&mut doc, Input::TurnTaken);
        let fx = input(&mut doc, Input::Caught(store::Stored::default()));
        let [Effect::Pause(pause), Effect::Store { first: 1, in_turn: false }] =
            fx.iter().collect::<Vec<_>>()[..]
        else {
            panic!("{fx:?}")
        };
        assert_eq!(*pause, RETRY_AFTER);
    }

    #[test]
    fn a_batch_whose_numbers_others_keep_taking_is_given_up() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "Bonjour"));
        let edit = Input::SetText { markdown: "Aussi".into(), base: None, author: None, reply: 3 };
        let _ = input(&mut doc, edit);
        let mut written = stores(&input(&mut doc, Input::Flush)).len();
        let fx = loop {
            let _ = input(&mut doc, Input::TurnTaken);
            let fx = input(&mut doc, Input::CatchUpFailed);
            match stores(&fx).len() {
                1 => written += 1,
                _ => break fx,
            }
        };
        assert_eq!(written, MAX_STORE_ATTEMPTS as usize);
        assert_eq!(closes(&fx), vec![(1, CLOSE_ERROR, "could not save; reconnecting".into())]);
        assert!(fx.iter().any(|e| matches!(e, Effect::Reply(3, Err(Refusal::NotStored(_))))));
        assert!(broadcasts(&fx).is_empty());
        assert!(doc.storing().is_none());
        assert_eq!(doc.last_seq(), 0);
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
}
