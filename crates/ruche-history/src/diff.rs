//! Word-level differences between two texts, readable by everyone: insertions and deletions
//! are marked by more than colour (underline, strike-through, and words for screen readers).
//!
//! A word diff is quadratic in the worst case (40 000 words replaced by 40 000 others took 18 s),
//! so every diff has a deadline: past it, the texts are compared by line, and past that again
//! the old text is shown replaced whole. Callers run it off the async runtime.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crate::cache;
use maud::{html, Markup};
use similar::{ChangeTag, TextDiff};

/// How long a word comparison may take before the coarser one is used instead.
const DEADLINE: Duration = Duration::from_millis(250);

/// How fine a comparison could be made within its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Words,
    Lines,
    Whole,
}

/// The changes going from `old` to `new`: runs of equal, inserted and deleted text.
#[derive(Debug, Clone)]
pub struct Changes {
    pub grain: Grain,
    pub runs: Vec<(ChangeTag, String)>,
}

impl Changes {
    /// Compares `old` and `new` by word, else by line, else whole, within about two deadlines.
    pub fn between(old: &str, new: &str) -> Self {
        if let Some(runs) = runs_within(TextDiff::configure().timeout(DEADLINE), old, new, true) {
            return Changes { grain: Grain::Words, runs };
        }
        if let Some(runs) = runs_within(TextDiff::configure().timeout(DEADLINE), old, new, false) {
            return Changes { grain: Grain::Lines, runs };
        }
        let mut runs = Vec::new();
        if !old.is_empty() {
            runs.push((ChangeTag::Delete, old.to_owned()));
        }
        if !new.is_empty() {
            runs.push((ChangeTag::Insert, new.to_owned()));
        }
        Changes { grain: Grain::Whole, runs }
    }

    /// Words added and removed.
    pub(crate) fn word_counts(&self) -> (usize, usize) {
        let mut counts = (0, 0);
        for (tag, text) in &self.runs {
            let words = text.split_whitespace().count();
            match tag {
                ChangeTag::Insert => counts.0 += words,
                ChangeTag::Delete => counts.1 += words,
                ChangeTag::Equal => {}
            }
        }
        counts
    }

    /// Approximate memory held, for caches.
    pub fn weight(&self) -> usize {
        self.runs.iter().map(|(_, t)| t.len() + 32).sum()
    }
}

/// The diff's runs, or `None` when it ran into its deadline (its result is then not minimal and
/// may be very fragmented: the coarser comparison reads better).
fn runs_within(
    config: &mut similar::TextDiffConfig,
    old: &str,
    new: &str,
    words: bool,
) -> Option<Vec<(ChangeTag, String)>> {
    let started = Instant::now();
    let diff = if words { config.diff_words(old, new) } else { config.diff_lines(old, new) };
    if started.elapsed() >= DEADLINE {
        return None;
    }
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        match runs.last_mut() {
            Some((tag, run)) if *tag == change.tag() => run.push_str(change.value()),
            _ => runs.push((change.tag(), change.value().to_owned())),
        }
    }
    Some(runs)
}

/// Comparisons already made, by the contents of both texts.
pub type DiffCache = cache::Bounded<([u8; 32], [u8; 32]), Arc<Changes>>;

/// What the comparison cache may hold, in bytes.
pub const DIFF_CACHE_BYTES: usize = 32 << 20;

/// The changes from `old` to `new`, from `cache` or compared off the async threads.
pub async fn compare(cache: &DiffCache, old: &str, new: &str) -> anyhow::Result<Arc<Changes>> {
    let key = (cache::digest(old), cache::digest(new));
    if let Some(found) = cache.get(&key) {
        return Ok(found);
    }
    let (old, new) = (old.to_owned(), new.to_owned());
    let changes =
        Arc::new(tokio::task::spawn_blocking(move || Changes::between(&old, &new)).await?);
    cache.insert(key, changes.clone(), changes.weight());
    Ok(changes)
}

/// Words added and removed going from `old` to `new`.
pub(crate) fn word_counts(old: &str, new: &str) -> (usize, usize) {
    Changes::between(old, new).word_counts()
}

/// The text of `new`, with what `old` had and `new` has not shown struck through, and what is
/// new underlined. `added`/`removed` are the words screen readers say before each.
pub fn render(changes: &Changes, added: &str, removed: &str) -> Markup {
    html! {
        div.diff {
            @for (tag, text) in &changes.runs {
                @match tag {
                    ChangeTag::Equal => (text),
                    ChangeTag::Insert => ins { span.visually-hidden { "[" (added) " : " } (text) span.visually-hidden { "]" } },
                    ChangeTag::Delete => del { span.visually-hidden { "[" (removed) " : " } (text) span.visually-hidden { "]" } },
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
        let changes = Changes::between("les outils financiers", "les nouveaux outils");
        assert_eq!(changes.grain, Grain::Words);
        let html = render(&changes, "ajouté", "supprimé").into_string();
        assert!(html.contains("<ins>") && html.contains("nouveaux"), "{html}");
        assert!(html.contains("<del>") && html.contains("financiers"), "{html}");
    }

    #[test]
    fn a_comparison_too_slow_by_word_falls_back_within_its_deadline() {
        // Every word replaced by another: the worst case of a word diff.
        let old: String = (0..40_000).map(|i| format!("ancien{i} ")).collect();
        let new: String = (0..40_000).map(|i| format!("nouveau{i} ")).collect();
        let started = Instant::now();
        let changes = Changes::between(&old, &new);
        let took = started.elapsed();
        assert_ne!(changes.grain, Grain::Words, "fell back (took {took:?})");
        assert_eq!(changes.word_counts(), (40_000, 40_000));
        // Whatever the grain, the runs rebuild both texts.
        let rebuilt = |keep: ChangeTag| -> String {
            changes.runs.iter().filter(|(t, _)| *t != keep).map(|(_, s)| s.as_str()).collect()
        };
        assert_eq!(rebuilt(ChangeTag::Insert), old);
        assert_eq!(rebuilt(ChangeTag::Delete), new);
    }
}
