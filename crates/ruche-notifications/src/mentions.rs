//! `@handle` in a text: who a page's text mentions, and who a new version mentions for the
//! first time.
use std::collections::BTreeSet;

/// Longest handle looked for (accounts' handles are at most 40 characters, plus `-NN`).
const MAX: usize = 48;

/// The handles `@name` mentions in `text`, each once: an `@` at the start of a word (not in an
/// address like `marie@example.org`), then lower-case letters, digits and inner dashes.
pub fn handles(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('@') {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '@' || c == '/') {
            continue;
        }
        let mut end = at + 1;
        while end < bytes.len()
            && end - at <= MAX
            && (bytes[end].is_ascii_lowercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'-')
        {
            end += 1;
        }
        let handle = text[at + 1..end].trim_end_matches('-');
        if !handle.is_empty() && handle.len() <= MAX {
            found.insert(handle.to_owned());
        }
    }
    found
}

/// The handles `new` mentions that `old` did not.
pub fn added(old: &str, new: &str) -> Vec<String> {
    let before = handles(old);
    handles(new).into_iter().filter(|h| !before.contains(h)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_handles_at_word_starts_only() {
        let text =
            "Merci @marie-dupont et @paul. Écrire à marie@example.org, pas @ seul ; (@ana-2)";
        let found: Vec<String> = handles(text).into_iter().collect();
        assert_eq!(found, ["ana-2", "marie-dupont", "paul"]);
    }

    #[test]
    fn a_trailing_dash_is_not_part_of_the_handle() {
        assert_eq!(handles("@lea- bonjour").into_iter().collect::<Vec<_>>(), ["lea"]);
    }

    #[test]
    fn only_new_mentions_count() {
        assert_eq!(added("Bonjour @paul", "Bonjour @paul et @lea"), ["lea"]);
        assert!(added("@paul", "@paul @paul").is_empty());
    }

    #[test]
    fn a_very_long_word_is_cut_not_scanned_forever() {
        let long = format!("@{}", "a".repeat(10_000));
        let found = handles(&long);
        assert!(found.iter().all(|h| h.len() <= MAX));
    }
}
