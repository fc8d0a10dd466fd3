//! The y-websocket protocol (y-protocols encoding), bytes in and bytes out, with no I/O.
//!
//! Decoding is strict: a frame must hold at least one whole message and nothing after the last
//! one, and every payload must decode (state vector, update, awareness) before anything uses it.
//! yrs's own `MessageReader` silently yields nothing for several malformed frames, hence this.
use yrs::{
    encoding::{
        read::{Cursor, Read},
        write::Write,
    },
    sync::AwarenessUpdate,
    updates::{
        decoder::Decode,
        encoder::{Encode, Encoder, EncoderV1},
    },
    StateVector, Update,
};

use super::shape;

const MSG_SYNC: u64 = 0;
const MSG_AWARENESS: u64 = 1;
const MSG_AUTH: u64 = 2;
const MSG_QUERY_AWARENESS: u64 = 3;

const SYNC_STEP1: u64 = 0;
const SYNC_STEP2: u64 = 1;
const SYNC_UPDATE: u64 = 2;

const AUTH_PERMISSION_DENIED: u64 = 0;

/// One protocol message from a client.
#[derive(Debug)]
pub enum Message {
    /// "Here is what I have; send me what I miss."
    SyncStep1(StateVector),
    /// The answer to a step 1: what the other side missed. Carries document changes.
    SyncStep2(Vec<u8>),
    /// A live change to the document.
    Update(Vec<u8>),
    /// Presence: who is here, their cursor.
    Awareness(AwarenessUpdate),
    /// "Send me everyone's presence."
    QueryAwareness,
}

/// Why a frame was refused; the text goes into the websocket close reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("empty frame")]
    Empty,
    #[error("truncated message")]
    Truncated,
    #[error("unknown message type {0}")]
    UnknownType(u64),
    #[error("unknown sync message type {0}")]
    UnknownSyncType(u64),
    #[error("unexpected auth message from a client")]
    UnexpectedAuth,
    #[error("invalid state vector")]
    BadStateVector,
    #[error("invalid update")]
    BadUpdate,
    #[error("invalid awareness update")]
    BadAwareness,
}

impl From<yrs::encoding::read::Error> for ProtocolError {
    fn from(_: yrs::encoding::read::Error) -> Self {
        ProtocolError::Truncated
    }
}

/// Decodes one websocket frame into its messages.
pub fn decode_frame(frame: &[u8]) -> Result<Vec<Message>, ProtocolError> {
    if frame.is_empty() {
        return Err(ProtocolError::Empty);
    }
    let mut cursor = Cursor::new(frame);
    let mut messages = Vec::new();
    while cursor.has_content() {
        messages.push(decode_message(&mut cursor)?);
    }
    Ok(messages)
}

fn decode_message(cursor: &mut Cursor<'_>) -> Result<Message, ProtocolError> {
    match cursor.read_var::<u64>()? {
        MSG_SYNC => {
            let kind = cursor.read_var::<u64>()?;
            let payload = cursor.read_buf()?;
            match kind {
                SYNC_STEP1 => {
                    shape::state_vector(payload).map_err(|_| ProtocolError::BadStateVector)?;
                    Ok(Message::SyncStep1(
                        StateVector::decode_v1(payload)
                            .map_err(|_| ProtocolError::BadStateVector)?,
                    ))
                }
                SYNC_STEP2 => Ok(Message::SyncStep2(checked_update(payload)?)),
                SYNC_UPDATE => Ok(Message::Update(checked_update(payload)?)),
                other => Err(ProtocolError::UnknownSyncType(other)),
            }
        }
        MSG_AWARENESS => {
            let payload = cursor.read_buf()?;
            shape::awareness(payload).map_err(|_| ProtocolError::BadAwareness)?;
            let update =
                AwarenessUpdate::decode_v1(payload).map_err(|_| ProtocolError::BadAwareness)?;
            for entry in update.clients.values() {
                // Each state is JSON ("null" when a client leaves); anything else is garbage.
                if serde_json::from_str::<serde_json::Value>(&entry.json).is_err() {
                    return Err(ProtocolError::BadAwareness);
                }
            }
            Ok(Message::Awareness(update))
        }
        MSG_AUTH => Err(ProtocolError::UnexpectedAuth),
        MSG_QUERY_AWARENESS => Ok(Message::QueryAwareness),
        other => Err(ProtocolError::UnknownType(other)),
    }
}

/// The payload, once it is known to decode as a v1 update.
fn checked_update(payload: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    decode_update(payload)?;
    Ok(payload.to_vec())
}

/// Decodes a v1 update from outside (a client, a form), its shape checked first so that no
/// count it declares makes yrs reserve more than it holds.
pub(crate) fn decode_update(payload: &[u8]) -> Result<Update, ProtocolError> {
    shape::update(payload).map_err(|_| ProtocolError::BadUpdate)?;
    Update::decode_v1(payload).map_err(|_| ProtocolError::BadUpdate)
}

fn sync_message(kind: u64, payload: &[u8]) -> Vec<u8> {
    let mut encoder = EncoderV1::new();
    encoder.write_var(MSG_SYNC);
    encoder.write_var(kind);
    encoder.write_buf(payload);
    encoder.to_vec()
}

pub fn encode_sync_step1(state_vector: &StateVector) -> Vec<u8> {
    sync_message(SYNC_STEP1, &state_vector.encode_v1())
}

pub fn encode_sync_step2(update: &[u8]) -> Vec<u8> {
    sync_message(SYNC_STEP2, update)
}

pub fn encode_update(update: &[u8]) -> Vec<u8> {
    sync_message(SYNC_UPDATE, update)
}

pub fn encode_awareness(update: &AwarenessUpdate) -> Vec<u8> {
    let mut encoder = EncoderV1::new();
    encoder.write_var(MSG_AWARENESS);
    encoder.write_buf(update.encode_v1());
    encoder.to_vec()
}

pub fn encode_query_awareness() -> Vec<u8> {
    vec![MSG_QUERY_AWARENESS as u8]
}

/// Tells a client it may not do what it tried (the stock client logs the reason).
pub(crate) fn encode_permission_denied(reason: &str) -> Vec<u8> {
    let mut encoder = EncoderV1::new();
    encoder.write_var(MSG_AUTH);
    encoder.write_var(AUTH_PERMISSION_DENIED);
    encoder.write_string(reason);
    encoder.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, Text, Transact};

    #[derive(serde::Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
        malformed: Vec<Vector>,
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        hex: String,
        body_after_apply: Option<String>,
    }

    fn vectors() -> Vectors {
        serde_json::from_str(include_str!("../../../tests/fixtures/y-protocol-vectors.json"))
            .expect("fixture parses")
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn utf16_doc() -> Doc {
        Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Default::default() })
    }

    #[test]
    fn a_tiny_frame_declaring_millions_of_entries_is_refused_at_once() {
        // Sync step 1, update and awareness, each claiming 2^29 entries in five bytes: yrs
        // alone wrote 1 GiB of memory for each before failing.
        let huge = [0x80, 0x80, 0x80, 0x80, 0x02];
        for (kind, error) in [
            (vec![MSG_SYNC as u8, SYNC_STEP1 as u8], ProtocolError::BadStateVector),
            (vec![MSG_SYNC as u8, SYNC_UPDATE as u8], ProtocolError::BadUpdate),
            (vec![MSG_AWARENESS as u8], ProtocolError::BadAwareness),
        ] {
            let mut frame = kind;
            frame.push(huge.len() as u8);
            frame.extend_from_slice(&huge);
            assert_eq!(decode_frame(&frame).unwrap_err(), error);
        }
    }

    #[test]
    fn every_reference_frame_decodes_except_auth_which_clients_do_not_send() {
        for v in vectors().vectors {
            let decoded = decode_frame(&unhex(&v.hex));
            if v.name.starts_with("auth") {
                assert_eq!(decoded.unwrap_err(), ProtocolError::UnexpectedAuth, "{}", v.name);
            } else {
                assert_eq!(decoded.map(|m| m.len()), Ok(1), "{}", v.name);
            }
        }
    }

    #[test]
    fn every_malformed_frame_is_refused() {
        for v in vectors().malformed {
            assert!(decode_frame(&unhex(&v.hex)).is_err(), "{} should be refused", v.name);
        }
    }

    #[test]
    fn updates_from_the_browser_give_the_same_text_in_utf16() {
        let all = vectors().vectors;
        let find = |name: &str| all.iter().find(|v| v.name == name).expect("vector exists");
        let doc = utf16_doc();
        let text = doc.get_or_insert_text("body");
        for name in ["utf16_base_update", "utf16_insert_after_emoji"] {
            let Ok(mut messages) = decode_frame(&unhex(&find(name).hex)) else {
                panic!("{name} decodes")
            };
            let Some(Message::Update(bytes)) = messages.pop() else {
                panic!("{name} is an update")
            };
            doc.transact_mut()
                .apply_update(Update::decode_v1(&bytes).expect("decodes"))
                .expect("applies");
            assert_eq!(Some(text.get_string(&doc.transact())), find(name).body_after_apply.clone());
        }
        // And a position means the same thing on both sides: the emoji counts two, like in JS.
        text.insert(&mut doc.transact_mut(), 4, "!");
        assert_eq!(text.get_string(&doc.transact()), "a👋X!b");
    }

    #[test]
    fn messages_we_send_decode_back() {
        let doc = utf16_doc();
        let text = doc.get_or_insert_text("body");
        text.insert(&mut doc.transact_mut(), 0, "coopération");
        let sv = doc.transact().state_vector();
        assert!(matches!(
            decode_frame(&encode_sync_step1(&sv)).as_deref(),
            Ok([Message::SyncStep1(_)])
        ));
        let update = doc.transact().encode_state_as_update_v1(&StateVector::default());
        assert!(matches!(
            decode_frame(&encode_update(&update)).as_deref(),
            Ok([Message::Update(_)])
        ));
        assert!(matches!(
            decode_frame(&encode_sync_step2(&update)).as_deref(),
            Ok([Message::SyncStep2(_)])
        ));
        assert!(matches!(
            decode_frame(&encode_query_awareness()).as_deref(),
            Ok([Message::QueryAwareness])
        ));
    }
}
