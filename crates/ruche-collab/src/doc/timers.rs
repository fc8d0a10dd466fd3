//! When projections are refreshed and revisions recorded, and who wrote since the last one.
use tokio::time::Instant;

use super::{Content, DocState};

impl<R> DocState<R> {
    /// When the next timer is due (projections, revision).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match (self.settle_at, self.quiet_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The content for the projections, when edits have paused (by `now`; any time with `None`).
    pub(crate) fn take_settled(&mut self, now: Option<Instant>) -> Option<Content> {
        let due = self.settle_at.is_some_and(|at| now.is_none_or(|now| at <= now));
        due.then(|| {
            self.settle_at = None;
            self.content()
        })
    }

    /// The content and its contributors for a revision, when the editing session went quiet
    /// (by `now`; any time with `None`) and this process stored changes since the last one.
    pub(crate) fn take_quiet(&mut self, now: Option<Instant>) -> Option<(Content, Vec<i64>)> {
        let due = self.quiet_at.is_some_and(|at| now.is_none_or(|now| at <= now));
        if !due {
            return None;
        }
        self.quiet_at = None;
        if !std::mem::take(&mut self.changed_here) {
            // Changed by other processes only: the one that stored the changes records them.
            self.authors.clear();
            return None;
        }
        Some((self.content(), self.authors.drain().collect()))
    }

    /// The revision could not be recorded: these authors wait for the next try.
    pub(crate) fn quiet_failed(&mut self, authors: Vec<i64>, now: Instant) {
        self.authors.extend(authors);
        self.changed_here = true;
        self.quiet_at = Some(now + self.limits.revision_quiet);
    }

    /// The content now, with the people who changed it since the last revision (then
    /// forgotten: the caller records the revision).
    pub(crate) fn take_revision(&mut self) -> (Content, Vec<i64>) {
        self.quiet_at = None;
        self.changed_here = false;
        (self.content(), self.authors.drain().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn timers_refresh_projections_then_record_a_revision_with_its_authors() {
        let start = Instant::now();
        let mut doc = page(limits());
        join(&mut doc, 1, true);
        let _ = send(&mut doc, 1, typed(&new_doc(), "Texte"));
        let mut fx = Fx::new();
        let batch = doc.take_batch().expect("waits");
        doc.stored(batch, 1, start, &mut fx);
        assert_eq!(doc.next_deadline(), Some(start + Duration::from_secs(2)));
        assert!(doc.take_settled(Some(start + Duration::from_secs(1))).is_none());
        assert!(doc.take_settled(Some(start + Duration::from_secs(2))).is_some());
        assert!(doc.take_quiet(Some(start + Duration::from_secs(60))).is_none());
        let (content, authors) =
            doc.take_quiet(Some(start + Duration::from_secs(120))).expect("a revision is due");
        assert_eq!((content.markdown.as_str(), authors), ("Texte", vec![1]));
        // A failed recording is tried again later with the same authors.
        doc.quiet_failed(vec![1], start);
        assert_eq!(doc.take_quiet(None).map(|(_, a)| a), Some(vec![1]));
    }
}
