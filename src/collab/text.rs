//! Turning "the text should now be X" into the smallest CRDT edit, so concurrent typing survives.
use similar::{ChangeTag, TextDiff};
use yrs::{GetString, Text, TextRef, TransactionMut};

/// UTF-16 length of a string: Yjs positions count UTF-16 code units (the document is created
/// with `OffsetKind::Utf16`, like the browser).
fn utf16_len(s: &str) -> u32 {
    u32::try_from(s.encode_utf16().count()).unwrap_or(u32::MAX)
}

/// Edits `text` so it reads `wanted`, as deletes and inserts of the characters that differ.
/// Returns whether anything changed.
pub fn set_text(txn: &mut TransactionMut, text: &TextRef, wanted: &str) -> bool {
    let current = text.get_string(txn);
    if current == wanted {
        return false;
    }
    let diff = TextDiff::configure()
        .timeout(std::time::Duration::from_millis(200))
        .diff_chars(current.as_str(), wanted);
    let mut pos: u32 = 0;
    for change in diff.iter_all_changes() {
        let value = change.value();
        let len = utf16_len(value);
        match change.tag() {
            ChangeTag::Equal => pos += len,
            ChangeTag::Delete => text.remove_range(txn, pos, len),
            ChangeTag::Insert => {
                text.insert(txn, pos, value);
                pos += len;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::set_text;
    use yrs::{
        updates::decoder::Decode, Doc, GetString, OffsetKind, Options, ReadTxn, Text, Transact,
        Update,
    };

    fn doc() -> Doc {
        Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Default::default() })
    }

    #[test]
    fn a_diff_keeps_what_someone_else_typed_meanwhile() {
        let server = doc();
        let body = server.get_or_insert_text("body");
        body.insert(&mut server.transact_mut(), 0, "Objectifs : coopérer 👋 ensemble");

        // A browser has the same text and types at the end, concurrently.
        let browser = doc();
        let state = server.transact().encode_state_as_update_v1(&Default::default());
        browser.transact_mut().apply_update(Update::decode_v1(&state).unwrap()).unwrap();
        let browser_body = browser.get_or_insert_text("body");
        let end = browser_body.len(&browser.transact());
        browser_body.insert(&mut browser.transact_mut(), end, " demain");

        // Meanwhile the HTTP API replaces one word.
        let changed = set_text(
            &mut server.transact_mut(),
            &body,
            "Objectifs : coopérer 👋 vraiment ensemble",
        );
        assert!(changed);

        let sv = server.transact().state_vector();
        let from_browser = browser.transact().encode_state_as_update_v1(&sv);
        server.transact_mut().apply_update(Update::decode_v1(&from_browser).unwrap()).unwrap();
        assert_eq!(
            body.get_string(&server.transact()),
            "Objectifs : coopérer 👋 vraiment ensemble demain"
        );
    }

    #[test]
    fn the_same_text_changes_nothing() {
        let d = doc();
        let body = d.get_or_insert_text("body");
        body.insert(&mut d.transact_mut(), 0, "é👋");
        assert!(!set_text(&mut d.transact_mut(), &body, "é👋"));
    }
}
