//! Word-level differences between two texts, readable by everyone: insertions and deletions
//! are marked by more than colour (underline, strike-through, and words for screen readers).
use maud::{html, Markup};
use similar::{ChangeTag, TextDiff};

/// Words added and removed going from `old` to `new`.
pub fn word_counts(old: &str, new: &str) -> (usize, usize) {
    let diff = TextDiff::from_words(old, new);
    let mut counts = (0, 0);
    for change in diff.iter_all_changes() {
        if change.value().trim().is_empty() {
            continue;
        }
        match change.tag() {
            ChangeTag::Insert => counts.0 += 1,
            ChangeTag::Delete => counts.1 += 1,
            ChangeTag::Equal => {}
        }
    }
    counts
}

/// The text of `new`, with what `old` had and `new` has not shown struck through, and what is
/// new underlined. `added`/`removed` are the words screen readers say before each.
pub fn render(old: &str, new: &str, added: &str, removed: &str) -> Markup {
    let diff = TextDiff::from_words(old, new);
    html! {
        div.diff {
            @for change in diff.iter_all_changes() {
                @match change.tag() {
                    ChangeTag::Equal => (change.value()),
                    ChangeTag::Insert => ins { span.visually-hidden { "[" (added) " : " } (change.value()) span.visually-hidden { "]" } },
                    ChangeTag::Delete => del { span.visually-hidden { "[" (removed) " : " } (change.value()) span.visually-hidden { "]" } },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_marks_the_changed_words() {
        assert_eq!(word_counts("les outils financiers", "les nouveaux outils"), (1, 1));
        let html = render("les outils financiers", "les nouveaux outils", "ajouté", "supprimé")
            .into_string();
        assert!(html.contains("<ins>") && html.contains("nouveaux"), "{html}");
        assert!(html.contains("<del>") && html.contains("financiers"), "{html}");
    }
}
