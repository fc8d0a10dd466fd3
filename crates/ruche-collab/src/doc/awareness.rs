//! Who is on the page (Yjs awareness): each connection's presence, named by the server,
//! bounded, and cleared when it leaves. The presence data itself is `crate::presence`.
use std::collections::VecDeque;

use yrs::{
    block::ClientID,
    sync::awareness::AwarenessUpdate,
    updates::{decoder::Decode, encoder::Encode},
};

use super::{DocState, Effect, CLOSE_INVALID, CLOSE_POLICY};
use crate::{notes::Note, presence::ConnId, protocol};

impl<R> DocState<R> {
    /// A connection announces its presence: named by the server, bounded, then shown to the
    /// others here and in the other processes.
    pub(super) fn announce(
        &mut self,
        conn: ConnId,
        update: AwarenessUpdate,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let max = self.limits.max_presence_bytes;
        let update = match self.presence.admit(conn, &mut c.clients, &c.who, update, max) {
            Ok(clean) if clean.clients.is_empty() => return,
            Ok(clean) => clean,
            Err(reason) => return self.close(conn, CLOSE_POLICY, reason, fx),
        };
        if self.awareness.apply_update(update.clone()).is_err() {
            return self.close(conn, CLOSE_INVALID, "invalid awareness update", fx);
        }
        let frame = protocol::encode_awareness(&update).into();
        fx.push_back(Effect::Broadcast { except: Some(conn), frame });
        if self.limits.relayed {
            fx.push_back(Effect::Publish(Note::Awareness(update.encode_v1())));
        }
    }

    /// A connection asks who is here.
    pub(super) fn tell_presence(&self, conn: ConnId, fx: &mut VecDeque<Effect<R>>) {
        if let Ok(presence) = self.awareness.update() {
            fx.push_back(Effect::Send(conn, protocol::encode_awareness(&presence).into()));
        }
    }

    /// Presence another process heard from its connections: shown to the connections here.
    pub(super) fn heard_presence(&mut self, data: &[u8], fx: &mut VecDeque<Effect<R>>) {
        let Ok(update) = AwarenessUpdate::decode_v1(data) else { return };
        if self.awareness.apply_update(update.clone()).is_ok() {
            let frame = protocol::encode_awareness(&update).into();
            fx.push_back(Effect::Broadcast { except: None, frame });
        }
    }

    /// Another process asks who is here: the presence of this process's connections.
    pub(super) fn publish_presence(&self, fx: &mut VecDeque<Effect<R>>) {
        let here: Vec<ClientID> = self.conns.values().flat_map(|c| c.clients.ids()).collect();
        if here.is_empty() {
            return;
        }
        if let Ok(presence) = self.awareness.update_with_clients(here) {
            fx.push_back(Effect::Publish(Note::Awareness(presence.encode_v1())));
        }
    }

    /// Forgets a connection (it left, or could not keep up) and tells the others its presence
    /// is gone.
    pub(crate) fn leave(&mut self, conn: ConnId, fx: &mut VecDeque<Effect<R>>) {
        let Some(c) = self.conns.remove(&conn) else { return };
        if c.clients.is_empty() {
            return;
        }
        for client in c.clients.ids() {
            self.awareness.remove_state(client);
            self.presence.release(client);
        }
        if let Ok(gone) = self.awareness.update_with_clients(c.clients.ids()) {
            fx.push_back(Effect::Broadcast {
                except: None,
                frame: protocol::encode_awareness(&gone).into(),
            });
            if self.limits.relayed {
                fx.push_back(Effect::Publish(Note::Awareness(gone.encode_v1())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    fn presence_update(client: u64, json: &str) -> AwarenessUpdate {
        AwarenessUpdate {
            clients: [(
                ClientID::new(client),
                AwarenessUpdateEntry { clock: 1, json: json.into() },
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn presence_is_named_by_the_server_and_cleared_when_its_connection_leaves() {
        let mut doc = page(Limits { relayed: true, ..limits() });
        join(&mut doc, 1, true);
        join(&mut doc, 2, false);
        let mut fx = Fx::new();
        let claimed = r#"{"user":{"name":"Quelqu'un d'autre"},"cursor":null}"#;
        let message = Message::Awareness(presence_update(42, claimed));
        let _ = doc.handle(Input::Message { conn: 2, message }, Instant::now(), &mut fx);
        let out = broadcasts(&fx);
        assert_eq!(out[0].0, Some(2));
        assert!(String::from_utf8_lossy(&out[0].1).contains("Alice Martin"));
        assert!(matches!(fx.back(), Some(Effect::Publish(Note::Awareness(_)))));
        // Leaving (or being dropped) tells the others, here and in the other processes.
        let mut fx = Fx::new();
        doc.leave(2, &mut fx);
        assert_eq!(broadcasts(&fx).len(), 1);
        assert!(matches!(fx.back(), Some(Effect::Publish(Note::Awareness(_)))));
        // A state too large closes its sender.
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(2000));
        let message = Message::Awareness(presence_update(43, &big));
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Message { conn: 1, message }, Instant::now(), &mut fx);
        assert_eq!(closes(&fx), vec![(1, CLOSE_POLICY, presence::TOO_LARGE.to_owned())]);
    }

    #[test]
    fn a_kick_closes_everyone_and_forgetting_stores_nothing_more() {
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        join(&mut doc, 2, false);
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Kick, Instant::now(), &mut fx);
        assert_eq!(closes(&fx).len(), 2);
        assert!(!doc.has_connections());
        join(&mut doc, 3, true);
        let _ = send(&mut doc, 3, typed(&new_doc(), "Jamais"));
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Remote(Note::Forget), Instant::now(), &mut fx);
        assert_eq!(closes(&fx), vec![(3, CLOSE_POLICY, "page deleted".to_owned())]);
        assert!(doc.forgotten());
        assert!(doc.take_batch().is_none());
    }
}
