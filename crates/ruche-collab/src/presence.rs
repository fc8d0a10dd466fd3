//! Presence (awareness) is untrusted input like any form: each connection may announce a couple
//! of presence ids and a state of bounded size, a page holds a bounded total, and the `user`
//! part others see (name and colour) is set by the server from who is connected, whatever the
//! client claims. Pure: bytes and identities in, a cleaned update (or a refusal) out.
use std::collections::{HashMap, HashSet};

use yrs::{
    block::ClientID,
    sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry},
};

/// A connection's number within its process.
pub type ConnId = u64;

/// Presence ids one connection may introduce itself with: a browser tab has one; one more is
/// tolerated.
pub(crate) const MAX_IDS_PER_CONNECTION: usize = 2;

/// How many full-size states a page holds at most, all connections together.
const PAGE_STATES: usize = 256;

/// Colours given to people's cursors: dark enough for white text on them.
pub(crate) const PALETTE: [&str; 8] =
    ["#b3261e", "#1f6f43", "#0b57d0", "#7b1fa2", "#a15c00", "#00695c", "#ad1457", "#455a64"];

/// Who a connection is, as the others see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub color: &'static str,
}

impl Identity {
    /// A signed-in person: their name, and a colour that stays theirs.
    pub fn person(id: i64, name: &str) -> Self {
        let index = usize::try_from(id.rem_euclid(PALETTE.len() as i64)).unwrap_or(0);
        Self { name: ruche_base::slug::clean_label(name), color: PALETTE[index] }
    }

    /// Someone reading without an account.
    pub fn anonymous(conn: ConnId, name: &str) -> Self {
        let index = usize::try_from(conn % PALETTE.len() as u64).unwrap_or(0);
        Self { name: name.to_owned(), color: PALETTE[index] }
    }

    fn as_json(&self) -> serde_json::Value {
        serde_json::json!({ "name": self.name, "color": self.color })
    }
}

/// Why a connection's presence was refused (the reason its connection is closed with).
pub(crate) const TOO_LARGE: &str = "presence state too large";
pub(crate) const TOO_MANY_IDS: &str = "too many presence ids";

/// The presence ids of one connection.
///
/// Stock Yjs clients pass on every presence they hear (the `y-websocket` provider sends each
/// change of its awareness to the server, other people's included), and two tabs of one
/// browser hear each other directly (a `BroadcastChannel`), sometimes before the server hears
/// the author. So an id is not whoever's names it first: a connection introduces itself with
/// its first awareness message that names an id nobody else holds (a stock client sends its
/// own state first, as soon as it is connected), and those are the only ids it may ever hold;
/// what it sends later for any other id is passed-on presence, ignored (its author announces
/// it).
#[derive(Debug, Default)]
pub struct Own {
    /// The ids whose state is on the page now.
    held: HashSet<ClientID>,
    /// The ids it introduced itself with; empty until it did.
    named: HashSet<ClientID>,
}

impl Own {
    /// No state of this connection is on the page.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The ids whose state is on the page now.
    pub fn ids(&self) -> impl Iterator<Item = ClientID> + '_ {
        self.held.iter().copied()
    }
}

/// Which connection owns each presence id of a page, and what the page's presence weighs.
#[derive(Default)]
pub(crate) struct Ledger {
    owners: HashMap<ClientID, (ConnId, usize)>,
    total: usize,
}

impl Ledger {
    /// The part of `update` that connection `conn` (with the ids `own`, being `who`) may
    /// announce, with its `user` set by the server; `Err` with the close reason when the
    /// connection oversteps. States of ids another connection holds are ignored, and so are
    /// ids it did not introduce itself with (see [`Own`]) and a new state the page has no room
    /// for (the person still edits, unseen).
    pub fn admit(
        &mut self,
        conn: ConnId,
        own: &mut Own,
        who: &Identity,
        update: AwarenessUpdate,
        max_state_bytes: usize,
    ) -> Result<AwarenessUpdate, &'static str> {
        // Refused before anything changes: nothing of a refused update stays on the page.
        if update.clients.values().any(|entry| entry.json.len() > max_state_bytes) {
            return Err(TOO_LARGE);
        }
        let introducing = own.named.is_empty();
        if introducing {
            let named = update.clients.iter().filter(|(client, entry)| {
                &*entry.json != "null"
                    && self.owners.get(client).is_none_or(|(owner, _)| *owner == conn)
            });
            if named.count() > MAX_IDS_PER_CONNECTION {
                return Err(TOO_MANY_IDS);
            }
        }
        let mut clean = HashMap::new();
        for (client, entry) in update.clients {
            if let Some((owner, _)) = self.owners.get(&client) {
                if *owner != conn {
                    continue;
                }
            }
            if &*entry.json == "null" {
                if own.held.remove(&client) {
                    self.release(client);
                    clean.insert(client, entry);
                }
                continue;
            }
            if !own.named.contains(&client) {
                if !introducing {
                    continue; // someone else's presence, passed on
                }
                own.named.insert(client);
            }
            let Some(json) = with_identity(&entry.json, who) else { continue };
            let previous = self.owners.get(&client).map_or(0, |(_, size)| *size);
            if self.total - previous + json.len() > PAGE_STATES * max_state_bytes {
                continue;
            }
            self.total = self.total - previous + json.len();
            self.owners.insert(client, (conn, json.len()));
            own.held.insert(client);
            clean.insert(client, AwarenessUpdateEntry { clock: entry.clock, json: json.into() });
        }
        Ok(AwarenessUpdate { clients: clean })
    }

    /// Forgets a presence id (its connection left).
    pub fn release(&mut self, client: ClientID) {
        if let Some((_, size)) = self.owners.remove(&client) {
            self.total -= size;
        }
    }

    /// What the page's presence states weigh, in bytes (for the tests: the bound is kept inside).
    #[cfg(test)]
    pub fn total(&self) -> usize {
        self.total
    }
}

/// The state `json` with its `user` replaced by the server's; `None` when it is not a JSON
/// object (Yjs clients always send one).
fn with_identity(json: &str, who: &Identity) -> Option<String> {
    let mut state: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    state.insert("user".to_owned(), who.as_json());
    serde_json::to_string(&state).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(entries: &[(u64, &str)]) -> AwarenessUpdate {
        AwarenessUpdate {
            clients: entries
                .iter()
                .map(|(c, j)| (id(*c), AwarenessUpdateEntry { clock: 1, json: (*j).into() }))
                .collect(),
        }
    }

    fn id(n: u64) -> ClientID {
        ClientID::new(n)
    }

    fn alice() -> Identity {
        Identity::person(7, "Alice Martin")
    }

    #[test]
    fn the_server_names_and_colours_each_connection() {
        let mut ledger = Ledger::default();
        let mut own = Own::default();
        let claimed = r#"{"user":{"name":"Administratrice de la démo","color":"red; position:fixed"},"cursor":{"anchor":3}}"#;
        let clean =
            ledger.admit(1, &mut own, &alice(), update(&[(42, claimed)]), 8192).expect("admitted");
        let state: serde_json::Value =
            serde_json::from_str(&clean.clients[&id(42)].json).expect("JSON");
        assert_eq!(state["user"]["name"], "Alice Martin");
        assert!(PALETTE.contains(&state["user"]["color"].as_str().expect("colour")));
        assert_eq!(state["cursor"]["anchor"], 3);
    }

    #[test]
    fn states_too_large_and_too_many_ids_close_the_connection() {
        let mut ledger = Ledger::default();
        let mut own = Own::default();
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(9000));
        assert_eq!(
            ledger.admit(1, &mut own, &alice(), update(&[(1, &big)]), 8192).err(),
            Some(TOO_LARGE)
        );
        let three = update(&[(1, "{}"), (2, "{}"), (3, "{}")]);
        assert_eq!(ledger.admit(1, &mut own, &alice(), three, 8192).err(), Some(TOO_MANY_IDS));
        assert!(own.is_empty() && ledger.total() == 0, "nothing of a refused update stays");
        let mut own = Own::default();
        let two = ledger.admit(2, &mut own, &alice(), update(&[(4, "{}"), (5, "{}")]), 8192);
        assert_eq!(two.expect("within").clients.len(), MAX_IDS_PER_CONNECTION);
        // Updating one's own state is always fine.
        ledger.admit(2, &mut own, &alice(), update(&[(4, r#"{"a":1}"#)]), 8192).expect("own id");
    }

    #[test]
    fn presence_passed_on_by_another_connection_stays_its_authors() {
        // Two tabs of one browser: Bruno's tab hears Alice's state from her tab directly and
        // passes it on before the server hears Alice herself.
        let mut ledger = Ledger::default();
        let (mut alice_tab, mut bruno_tab) = (Own::default(), Own::default());
        let bruno = Identity::person(8, "Bruno");
        ledger.admit(2, &mut bruno_tab, &bruno, update(&[(6, "{}")]), 8192).expect("introduced");
        let passed_on =
            ledger.admit(2, &mut bruno_tab, &bruno, update(&[(5, "{}")]), 8192).expect("ignored");
        assert!(passed_on.clients.is_empty(), "{:?}", passed_on.clients.keys());
        let hers =
            ledger.admit(1, &mut alice_tab, &alice(), update(&[(5, "{}")]), 8192).expect("hers");
        assert_eq!(hers.clients.keys().copied().collect::<Vec<_>>(), [id(5)]);
        assert_eq!(alice_tab.ids().collect::<Vec<_>>(), [id(5)]);
        assert_eq!(bruno_tab.ids().collect::<Vec<_>>(), [id(6)]);
        // Alice leaves: her id is released, and Bruno's tab passing her state on again (its
        // copy revived by her tab's goodbye) does not take it.
        ledger.release(id(5));
        let stale =
            ledger.admit(2, &mut bruno_tab, &bruno, update(&[(5, "{}")]), 8192).expect("ignored");
        assert!(stale.clients.is_empty());
        assert_eq!(bruno_tab.ids().collect::<Vec<_>>(), [id(6)]);
    }

    #[test]
    fn a_connection_introduces_itself_with_an_id_nobody_holds_and_may_take_it_back() {
        let mut ledger = Ledger::default();
        let (mut a, mut reader) = (Own::default(), Own::default());
        ledger.admit(1, &mut a, &alice(), update(&[(5, "{}")]), 8192).expect("a");
        // A client without a state of its own passes Alice's on first: that introduces nothing.
        let bob = Identity::person(8, "Bob");
        ledger.admit(2, &mut reader, &bob, update(&[(5, "{}")]), 8192).expect("ignored");
        assert!(reader.is_empty());
        let own = ledger.admit(2, &mut reader, &bob, update(&[(7, "{}")]), 8192).expect("own");
        assert_eq!(own.clients.len(), 1);
        // Letting its state go and setting it again: the id is still its own.
        let gone = ledger.admit(2, &mut reader, &bob, update(&[(7, "null")]), 8192).expect("null");
        assert_eq!(gone.clients.len(), 1);
        assert!(reader.is_empty());
        let back = ledger.admit(2, &mut reader, &bob, update(&[(7, "{}")]), 8192).expect("back");
        assert_eq!(back.clients.len(), 1);
        assert_eq!(reader.ids().collect::<Vec<_>>(), [id(7)]);
    }

    #[test]
    fn nobody_overwrites_or_removes_another_connections_presence() {
        let mut ledger = Ledger::default();
        let (mut a, mut b) = (Own::default(), Own::default());
        ledger.admit(1, &mut a, &alice(), update(&[(5, "{}")]), 8192).expect("a");
        let bob = Identity::person(8, "Bob");
        let taken =
            ledger.admit(2, &mut b, &bob, update(&[(5, "{}"), (6, "null")]), 8192).expect("b");
        assert!(taken.clients.is_empty(), "{:?}", taken.clients.keys());
        assert!(b.is_empty());
        assert!(ledger.total() > 0);
        ledger.release(id(5));
        assert_eq!(ledger.total(), 0);
    }

    #[test]
    fn a_page_holds_a_bounded_total() {
        let mut ledger = Ledger::default();
        let state = format!(r#"{{"x":"{}"}}"#, "a".repeat(900));
        for conn in 0..(PAGE_STATES as u64 * 20) {
            let mut own = Own::default();
            ledger
                .admit(conn, &mut own, &alice(), update(&[(conn, &state)]), 1024)
                .expect("not refused");
        }
        assert!(ledger.total() <= PAGE_STATES * 1024, "{}", ledger.total());
    }
}
