//! Turning "the text should now be X" into the smallest CRDT edit, so concurrent typing survives.
use similar::{ChangeTag, TextDiff};
use yrs::{GetString, Text, TextRef, TransactionMut};

/// UTF-16 length of a string: Yjs positions count UTF-16 code units (the document is created
/// with `OffsetKind::Utf16`, like the browser).
pub(crate) fn utf16_len(s: &str) -> u32 {
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
    // The diff is by character; consecutive changes of one kind become one edit. (One insert
    // per character made a new 40 000-character page take 25 s: yrs walks its items to find
    // each position, and a transaction's inserts are only merged when it ends.)
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        match runs.last_mut() {
            Some((tag, run)) if *tag == change.tag() => run.push_str(change.value()),
            _ => runs.push((change.tag(), change.value().to_owned())),
        }
    }
    let mut pos: u32 = 0;
    for (tag, run) in runs {
        let len = utf16_len(&run);
        match tag {
            ChangeTag::Equal => pos += len,
            ChangeTag::Delete => text.remove_range(txn, pos, len),
            ChangeTag::Insert => {
                text.insert(txn, pos, &run);
                pos += len;
            }
        }
    }
    true
}

/// Applies to `text` the changes that turn `base` into `wanted`, where `base` is the text the
/// writer started from. What others changed since `base` stays: each of the writer's changes is
/// moved to where its place is now (a three-way merge). Returns whether anything changed.
pub(crate) fn merge_text(
    txn: &mut TransactionMut,
    text: &TextRef,
    base: &str,
    wanted: &str,
) -> bool {
    let current = text.get_string(txn);
    let base_chars: Vec<char> = base.chars().collect();
    // Where each base position (in chars) now lies in the current text (in chars).
    let mut moved = vec![0usize; base_chars.len() + 1];
    let theirs = TextDiff::configure()
        .timeout(std::time::Duration::from_millis(200))
        .diff_chars(base, current.as_str());
    let (mut b, mut c) = (0usize, 0usize);
    for change in theirs.iter_all_changes() {
        let n = change.value().chars().count();
        match change.tag() {
            ChangeTag::Equal => {
                for k in 0..n {
                    moved[b + k] = c + k;
                }
                b += n;
                c += n;
            }
            ChangeTag::Delete => {
                for k in 0..n {
                    moved[b + k] = c;
                }
                b += n;
            }
            ChangeTag::Insert => c += n,
        }
    }
    moved[base_chars.len()] = current.chars().count();

    // The writer's own changes, in base positions, applied from the end so earlier ones stay put.
    let ours = TextDiff::configure()
        .timeout(std::time::Duration::from_millis(200))
        .diff_chars(base, wanted);
    let mut edits: Vec<(usize, usize, String)> = Vec::new(); // (from, to) in base chars, inserted text
    let mut pos = 0usize;
    for change in ours.iter_all_changes() {
        let n = change.value().chars().count();
        match change.tag() {
            ChangeTag::Equal => pos += n,
            ChangeTag::Delete => {
                match edits.last_mut() {
                    Some(last) if last.1 == pos => last.1 += n,
                    _ => edits.push((pos, pos + n, String::new())),
                }
                pos += n;
            }
            ChangeTag::Insert => match edits.last_mut() {
                Some(last) if last.1 == pos => last.2.push_str(change.value()),
                _ => edits.push((pos, pos, change.value().to_owned())),
            },
        }
    }
    if edits.is_empty() {
        return false;
    }
    // UTF-16 offset of each char boundary of the current text.
    let mut utf16 = Vec::with_capacity(current.len() + 1);
    let mut offset = 0u32;
    utf16.push(0);
    for ch in current.chars() {
        offset += u32::try_from(ch.len_utf16()).unwrap_or(2);
        utf16.push(offset);
    }
    for (from, to, insert) in edits.into_iter().rev() {
        let (start, end) = (utf16[moved[from]], utf16[moved[to].max(moved[from])]);
        if end > start {
            text.remove_range(txn, start, end - start);
        }
        if !insert.is_empty() {
            text.insert(txn, start, &insert);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{merge_text, set_text};
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
    fn a_merge_keeps_what_others_changed_since_the_base() {
        let d = doc();
        let body = d.get_or_insert_text("body");
        // Someone typed at the end and fixed a word at the start after the writer's copy.
        body.insert(
            &mut d.transact_mut(),
            0,
            "Bonjour à tous 👋. Première ligne.\nTapé en direct.",
        );
        let base = "Bonjour a tous 👋. Première ligne.\n";
        let wanted = "Bonjour a tous 👋. Première ligne, corrigée.\nAjout.";
        assert!(merge_text(&mut d.transact_mut(), &body, base, wanted));
        assert_eq!(
            body.get_string(&d.transact()),
            "Bonjour à tous 👋. Première ligne, corrigée.\nTapé en direct.Ajout."
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
