//! What the state machine's tests share: a page, connections, typing, storing.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
                               // What every part's tests use, in one glob.
pub(super) use std::{collections::VecDeque, time::Duration};

pub(super) use bytes::Bytes;
pub(super) use tokio::time::Instant;
pub(super) use yrs::{
    block::ClientID,
    sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry},
    updates::decoder::Decode as _,
    GetString as _, Map as _, ReadTxn as _, StateVector, Text as _, Transact as _, Update,
};

pub(super) use super::{
    full_state, new_doc, DocState, Effect, Input, Invalid, Limits, Refusal, Step, CLOSE_ERROR,
    CLOSE_INVALID, CLOSE_POLICY, FIELDS_BY_FORM, MISSING_CHANGES,
};
pub(super) use crate::{
    notes::Note,
    presence::{self, ConnId},
    protocol::{self, Message},
    store,
};

pub(super) type Fx = VecDeque<Effect<u32>>;

pub(super) fn limits() -> Limits {
    Limits {
        max_page_chars: 100,
        max_presence_bytes: 1024,
        settle: Duration::from_secs(2),
        revision_quiet: Duration::from_secs(120),
        compact_every: 3,
        relayed: false,
        takes_turns: false,
        busy_page_window: Duration::from_millis(10),
    }
}

pub(super) fn page(limits: Limits) -> DocState<u32> {
    DocState::new(limits, &store::Stored::default(), [], Instant::now())
}

pub(super) fn who() -> presence::Identity {
    presence::Identity::person(1, "Alice Martin")
}

/// Joins a connection and forgets what it was sent.
pub(super) fn join(doc: &mut DocState<u32>, conn: ConnId, can_write: bool) {
    let mut fx = Fx::new();
    let input = Input::Join { conn, can_write, author: Some(conn as i64), who: who() };
    assert!(matches!(doc.handle(input, Instant::now(), &mut fx), Step::Done));
}

/// A client's document typing `text` at the start; answers the update it sends.
pub(super) fn typed(client: &yrs::Doc, text: &str) -> Vec<u8> {
    let body = client.get_or_insert_text("body");
    let mut txn = client.transact_mut();
    body.insert(&mut txn, 0, text);
    txn.encode_update_v1()
}

pub(super) fn send(doc: &mut DocState<u32>, conn: ConnId, data: Vec<u8>) -> Fx {
    let mut fx = Fx::new();
    let input = Input::Message { conn, message: Message::Update(data) };
    assert!(matches!(doc.handle(input, Instant::now(), &mut fx), Step::Done));
    fx
}

pub(super) fn body(doc: &DocState<u32>) -> String {
    doc.content().markdown
}

/// Stores what waits as the next sequence numbers.
pub(super) fn store(doc: &mut DocState<u32>) -> Fx {
    let mut fx = Fx::new();
    let batch = doc.take_batch().expect("something waits");
    let first = doc.last_seq() + 1;
    doc.stored(batch, first, Instant::now(), &mut fx);
    fx
}

pub(super) fn closes(fx: &Fx) -> Vec<(ConnId, u16, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Close { conn, code, reason } => Some((*conn, *code, reason.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn broadcasts(fx: &Fx) -> Vec<(Option<ConnId>, Bytes)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Broadcast { except, frame } => Some((*except, frame.clone())),
            _ => None,
        })
        .collect()
}

/// Hands `doc` an input that does not wait for storage; answers what it asked.
pub(super) fn input(doc: &mut DocState<u32>, input: Input<u32>) -> Fx {
    let mut fx = Fx::new();
    assert!(matches!(doc.handle(input, Instant::now(), &mut fx), Step::Done));
    fx
}
