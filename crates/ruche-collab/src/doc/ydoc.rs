//! The yrs document of a page: made with the options every page uses, read as content,
//! encoded whole, built from what storage holds.
use std::panic::AssertUnwindSafe;

use yrs::{
    types::ToJson, updates::decoder::Decode, GetString as _, OffsetKind, Options, ReadTxn,
    StateVector, Transact as _, Update,
};

use super::Content;
use crate::store;

/// The document's whole state, with the updates still waiting for what they depend on. yrs
/// panics encoding some of those (found by fuzzing: `fuzz/seeds/ws_frame/crash-pending-…`); the
/// state is then encoded without them: they were never part of what anyone saw.
pub fn full_state<T: ReadTxn>(txn: &T) -> Vec<u8> {
    let whole = std::panic::catch_unwind(AssertUnwindSafe(|| {
        txn.encode_state_as_update_v1(&StateVector::default())
    }));
    whole.unwrap_or_else(|_| {
        tracing::warn!("a document's pending updates could not be encoded; left out");
        txn.encode_diff_v1(&StateVector::default())
    })
}

/// A document's content: its Markdown body, its fields and its whole encoded state.
pub fn content_of(doc: &yrs::Doc) -> Content {
    let body = doc.get_or_insert_text("body");
    let fields = doc.get_or_insert_map("fields");
    let txn = doc.transact();
    let fields = serde_json::to_value(fields.to_json(&txn)).unwrap_or(serde_json::Value::Null);
    let state = full_state(&txn);
    Content { markdown: body.get_string(&txn), fields, state }
}

/// An empty document with the options every page uses (offsets in UTF-16, as browsers count).
pub fn new_doc() -> yrs::Doc {
    yrs::Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Default::default() })
}

/// The content of a new document holding `markdown` and these field values (for pages made
/// without a live editor: the demo, imports, a new entry's form).
pub fn initial_content(
    markdown: &str,
    values: &serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<Content> {
    use yrs::{Map, Text};
    let doc = new_doc();
    let body = doc.get_or_insert_text("body");
    let fields = doc.get_or_insert_map("fields");
    {
        let mut txn = doc.transact_mut();
        body.insert(&mut txn, 0, markdown);
        for (key, value) in values.iter().filter(|(_, v)| !v.is_null()) {
            fields.insert(&mut txn, key.as_str(), yrs::Any::from_json(&value.to_string())?);
        }
    }
    Ok(content_of(&doc))
}

/// Applies what storage holds, in order.
pub(crate) fn apply_stored(doc: &yrs::Doc, stored: &store::Stored) {
    let mut txn = doc.transact_mut();
    for data in stored.snapshot.iter().chain(stored.updates.iter().map(|u| &u.data)) {
        let applied = Update::decode_v1(data)
            .map_err(anyhow::Error::from)
            .and_then(|u| Ok(txn.apply_update(u)?));
        if let Err(err) = applied {
            // Never stored unless it decoded and applied; log loudly if storage was tampered with.
            tracing::error!(error = ?err, "a stored update does not apply");
        }
    }
}

#[cfg(test)]
mod tests {
    use yrs::Text as _;

    use super::*;

    #[test]
    fn a_pending_update_yrs_cannot_encode_is_left_out_of_the_state() {
        // Found by fuzzing: JSON content under a parent nobody has, which yrs keeps pending and
        // then panics encoding (the decoder refuses such content at the door since).
        let hex = "0102010002040001050000000000000009000000000000003c3c3c3c3c3c3c3c016c3c3c916e3c";
        let payload: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let doc = new_doc();
        doc.get_or_insert_text("body").insert(&mut doc.transact_mut(), 0, "Bonjour");
        let update = Update::decode_v1(&payload).expect("yrs decodes it");
        doc.transact_mut().apply_update(update).expect("yrs applies it");
        let state = full_state(&doc.transact());
        let again = new_doc();
        again
            .transact_mut()
            .apply_update(Update::decode_v1(&state).expect("decodes"))
            .expect("applies");
        assert_eq!(again.get_or_insert_text("body").get_string(&again.transact()), "Bonjour");
    }
}
