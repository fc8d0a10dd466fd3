//! Sorting names as people do (the Unicode collation algorithm, CLDR root order, through the
//! `feruca` crate): accents and case do not decide before the letters ("Écologie" among the
//! E's, "e-graine" with them, "Zèbre" after "zèbre" only as a tie), not code points.
use std::{cell::RefCell, cmp::Ordering};
use unicode_normalization::UnicodeNormalization;

use feruca::Collator;

thread_local! {
    // The collator keeps buffers between comparisons: one per thread.
    static COLLATOR: RefCell<Collator> = RefCell::new(Collator::default());
}

/// How `a` and `b` compare as names.
pub fn compare(a: &str, b: &str) -> Ordering {
    COLLATOR.with(|c| c.borrow_mut().collate(a, b))
}

/// Sorts `items` by the name `name` gives each, as people do.
pub fn sort_by_name<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| compare(name(a), name(b)));
}

/// Lower case without accents, so "Coopération" is found by "cooperation": how typed words
/// are compared with names and titles.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_in_a_french_index() {
        let mut names =
            vec!["Zèbre", "e-graine", "Écologie", "ateliers", "Éducation", "Eau", "zèbre", "Âge"];
        sort_by_name(&mut names, |n| n);
        assert_eq!(
            names,
            vec!["Âge", "ateliers", "Eau", "Écologie", "Éducation", "e-graine", "zèbre", "Zèbre"]
        );
    }
}
