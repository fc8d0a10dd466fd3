//! The y-sync protocol with one connection: its state vector answered, its updates checked
//! (read-only, too long, fields, missing changes) and applied to wait for storage.
use std::{
    collections::VecDeque,
    panic::AssertUnwindSafe,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use yrs::{updates::decoder::Decode, ReadTxn as _, Text as _, Transact as _, Update};

use super::{DocState, Effect, Invalid, Pending, CLOSE_INVALID, CLOSE_POLICY, FIELDS_BY_FORM};
use crate::{
    presence::ConnId,
    protocol::{self, Message},
};

impl<R> DocState<R> {
    /// One sync message from a connection: its step 1 answered with what it lacks, its updates
    /// checked and applied, to wait for storage.
    pub(super) fn sync(&mut self, conn: ConnId, message: Message, fx: &mut VecDeque<Effect<R>>) {
        match message {
            Message::SyncStep1(sv) => {
                let diff = self.doc().transact().encode_diff_v1(&sv);
                fx.push_back(Effect::Send(conn, protocol::encode_sync_step2(&diff).into()));
            }
            Message::SyncStep2(data) | Message::Update(data) => {
                let Some(c) = self.conns.get(&conn) else { return };
                if !c.can_write {
                    if Update::decode_v1(&data).is_ok_and(|u| u.is_empty()) {
                        return; // a read-only client answering our step 1 with nothing
                    }
                    // The connection stays open; nothing is applied, and the client is told.
                    let denied = protocol::encode_permission_denied("lecture seule / read-only");
                    fx.push_back(Effect::Send(conn, denied.into()));
                    return;
                }
                let author = c.author;
                self.fields_watch.take();
                match self.apply(&data) {
                    Ok(true) if self.fields_watch.take() => {
                        // Not stored: the document is read again from storage without it.
                        tracing::info!(conn, "a live client wrote fields");
                        self.close(conn, CLOSE_POLICY, FIELDS_BY_FORM, fx);
                        self.poisoned = true;
                    }
                    Ok(true) if self.too_long() => {
                        // Not stored: the document is read again from storage without it.
                        tracing::info!(conn, "an update made the page too long");
                        self.close(conn, CLOSE_POLICY, "page too long", fx);
                        self.poisoned = true;
                    }
                    Ok(true) => {
                        self.pending.push(Pending { data, author, from: Some(conn), reply: None })
                    }
                    Ok(false) => {}
                    Err(invalid) => self.close(conn, CLOSE_INVALID, &invalid.to_string(), fx),
                }
            }
            Message::Awareness(_) | Message::QueryAwareness => {} // presence: `awareness.rs`
        }
    }

    /// Whether the body is longer than a page may be.
    pub(super) fn too_long(&self) -> bool {
        let body = self.doc().get_or_insert_text("body");
        body.len(&self.doc().transact()) > self.limits.max_page_chars
    }

    /// Applies an update; `Ok(false)` when it brings nothing to store.
    pub(super) fn apply(&mut self, data: &[u8]) -> Result<bool, Invalid> {
        let update = Update::decode_v1(data).map_err(|_| Invalid::Unreadable)?;
        if update.is_empty() {
            return Ok(false);
        }
        if !fits_what_is_known(self.doc(), &update) {
            return Err(Invalid::MissingChanges);
        }
        // yrs may panic on hostile input; the document is then reloaded from storage.
        let doc = self.doc();
        let applied = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut txn = doc.transact_mut();
            txn.apply_update(update).map(|()| txn.has_missing_updates())
        }));
        match applied {
            Ok(Ok(false)) => Ok(true),
            Ok(Ok(true)) => {
                // Part of it waits for changes this page does not have: not stored, and the
                // document is read again without it.
                self.poisoned = true;
                Err(Invalid::MissingChanges)
            }
            Ok(Err(_)) => Err(Invalid::NotApplicable),
            Err(_) => {
                tracing::error!("applying an update panicked; reloading the document");
                self.poisoned = true;
                Err(Invalid::NotApplicable)
            }
        }
    }
}

/// Watches a document's `fields` map: the flag is raised by any change to it (the observer lives
/// as long as the document).
pub(super) struct FieldsWatch {
    touched: Arc<AtomicBool>,
}

impl FieldsWatch {
    pub(super) fn on(doc: &yrs::Doc) -> Self {
        use yrs::DeepObservable;
        let touched = Arc::new(AtomicBool::new(false));
        let flag = touched.clone();
        let fields = doc.get_or_insert_map("fields");
        fields.observe_deep("ruche-fields-watch", move |_, _| {
            flag.store(true, Ordering::Relaxed);
        });
        Self { touched }
    }

    /// Whether the fields changed since the last call.
    fn take(&self) -> bool {
        self.touched.swap(false, Ordering::Relaxed)
    }
}

/// Whether `update` fits what this document knows of each author in it: it starts where that
/// knowledge ends (or before), and none of its ranges straddles that end (all of a range is
/// known already, or none of it). Otherwise yrs keeps it pending or splits what it has, and
/// with hostile blocks that read freed memory or built ranges running backwards (found by
/// fuzzing: `fuzz/seeds/ws_frame/crash-pending-blocks-overlapping`,
/// `crash-state-with-backward-range`). An honest client never sends such an update: it sends
/// each change once, in order, and after a reconnection syncs from the server's state vector.
pub fn fits_what_is_known(doc: &yrs::Doc, update: &Update) -> bool {
    let known = doc.transact().state_vector();
    let starts_known =
        update.state_vector_lower().iter().all(|(client, &clock)| clock <= known.get(client));
    starts_known
        && update.insertions(true).iter().all(|(client, ranges)| {
            let end = known.get(client);
            ranges.iter().all(|range| range.end <= end || range.start >= end)
        })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn a_reader_may_not_write_and_is_told_so_without_being_closed() {
        let mut doc = page(limits());
        join(&mut doc, 1, false);
        let fx = send(&mut doc, 1, typed(&new_doc(), "Vandalisme"));
        assert_eq!(body(&doc), "");
        assert!(doc.take_batch().is_none());
        assert!(closes(&fx).is_empty());
        let Some(Effect::Send(1, frame)) = fx.front() else { panic!("{fx:?}") };
        assert!(String::from_utf8_lossy(frame).contains("read-only"));
        // Answering the server's step 1 with nothing is fine and says nothing.
        let empty = new_doc().transact().encode_state_as_update_v1(&StateVector::default());
        assert!(send(&mut doc, 1, empty).is_empty());
        assert!(doc.is_connected(1));
    }

    #[test]
    fn an_update_making_the_page_too_long_closes_its_sender_and_is_never_stored() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let fx = send(&mut doc, 1, typed(&new_doc(), &"a".repeat(101)));
        assert_eq!(closes(&fx), vec![(1, CLOSE_POLICY, "page too long".to_owned())]);
        assert!(doc.poisoned(), "read again from storage");
        // Reloading from what storage holds (nothing) closes whoever is left, to sync again.
        join(&mut doc, 2, true);
        let mut fx = Fx::new();
        doc.reload(&store::Stored::default(), &mut fx);
        assert_eq!(body(&doc), "");
        assert!(!doc.poisoned());
        assert_eq!(
            closes(&fx),
            vec![(2, CLOSE_ERROR, "document reloaded; reconnecting".to_owned())]
        );
    }

    #[test]
    fn a_live_client_writing_fields_is_closed_and_its_change_dropped() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let client = new_doc();
        let update = {
            let fields = client.get_or_insert_map("fields");
            let mut txn = client.transact_mut();
            fields.insert(&mut txn, "email", "pirate@example.org");
            txn.encode_update_v1()
        };
        let fx = send(&mut doc, 1, update);
        assert_eq!(closes(&fx), vec![(1, CLOSE_POLICY, FIELDS_BY_FORM.to_owned())]);
        assert!(doc.poisoned());
        assert!(doc.take_batch().is_none());
    }

    #[test]
    fn an_update_depending_on_unknown_changes_closes_its_sender() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let client = new_doc();
        let _skipped = typed(&client, "un ");
        let fx = send(&mut doc, 1, typed(&client, "deux "));
        assert_eq!(closes(&fx), vec![(1, CLOSE_INVALID, MISSING_CHANGES.to_owned())]);
        assert!(doc.take_batch().is_none());
        let fx = send(&mut doc, 2, vec![0xff, 0x00]);
        assert!(fx.is_empty(), "an unknown connection is ignored");
    }
}
