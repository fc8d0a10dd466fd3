//! Edits made over HTTP (a text, form values): turned into updates, refused with a reason or
//! answered once stored.
use std::collections::VecDeque;

use yrs::{updates::decoder::Decode, Map as _, Transact as _, Update};

use super::{DocState, Effect, Pending, Refusal};
use crate::text;

impl<R> DocState<R> {
    /// Applies an update made elsewhere (an edit form's changes), to be stored.
    pub(super) fn apply_edit(
        &mut self,
        data: Vec<u8>,
        author: Option<i64>,
        reply: R,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        match self.apply(&data) {
            Ok(true) if self.too_long() => {
                self.poisoned = true;
                let refusal = Refusal::TooLong(self.limits.max_page_chars);
                fx.push_back(Effect::Reply(reply, Err(refusal)));
            }
            Ok(true) => self.pending.push(Pending { data, author, from: None, reply: Some(reply) }),
            Ok(false) => fx.push_back(Effect::Reply(reply, Ok(()))),
            Err(invalid) => fx.push_back(Effect::Reply(reply, Err(Refusal::Invalid(invalid)))),
        }
    }

    pub(super) fn set_text(
        &mut self,
        markdown: &str,
        base: Option<&str>,
        author: Option<i64>,
        reply: R,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        let max = self.limits.max_page_chars;
        if text::utf16_len(markdown) > max {
            fx.push_back(Effect::Reply(reply, Err(Refusal::TooLong(max))));
            return;
        }
        let body = self.doc().get_or_insert_text("body");
        let data = {
            let mut txn = self.doc().transact_mut();
            match base {
                Some(base) => text::merge_text(&mut txn, &body, base, markdown),
                None => text::set_text(&mut txn, &body, markdown),
            };
            txn.encode_update_v1()
        };
        if is_empty_update(&data) {
            fx.push_back(Effect::Reply(reply, Ok(())));
        } else if self.too_long() {
            // Merged with what others typed, it went past the limit: not stored, and the
            // document is read again from storage without it.
            self.poisoned = true;
            fx.push_back(Effect::Reply(reply, Err(Refusal::TooLong(max))));
        } else {
            self.pending.push(Pending { data, author, from: None, reply: Some(reply) });
        }
    }

    pub(super) fn set_fields(
        &mut self,
        values: &serde_json::Map<String, serde_json::Value>,
        author: Option<i64>,
        reply: R,
        fx: &mut VecDeque<Effect<R>>,
    ) {
        let current = self.content().fields;
        let fields = self.doc().get_or_insert_map("fields");
        let data = {
            let mut txn = self.doc().transact_mut();
            for (key, value) in values {
                if current.get(key) == Some(value)
                    || (value.is_null() && current.get(key).is_none())
                {
                    continue;
                }
                if value.is_null() {
                    fields.remove(&mut txn, key);
                } else if let Ok(any) = yrs::Any::from_json(&value.to_string()) {
                    fields.insert(&mut txn, key.as_str(), any);
                }
            }
            txn.encode_update_v1()
        };
        if is_empty_update(&data) {
            fx.push_back(Effect::Reply(reply, Ok(())));
        } else {
            self.pending.push(Pending { data, author, from: None, reply: Some(reply) });
        }
    }
}

fn is_empty_update(data: &[u8]) -> bool {
    Update::decode_v1(data).map(|u| u.is_empty()).unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn an_edit_over_http_past_the_limit_is_refused_with_the_limit() {
        let mut doc = page(limits());
        let mut fx = Fx::new();
        let input =
            Input::SetText { markdown: "a".repeat(101), base: None, author: None, reply: 7 };
        let _ = doc.handle(input, Instant::now(), &mut fx);
        assert!(matches!(fx.pop_front(), Some(Effect::Reply(7, Err(Refusal::TooLong(100))))));
        let input =
            Input::SetText { markdown: "Court".into(), base: None, author: Some(3), reply: 8 };
        let _ = doc.handle(input, Instant::now(), &mut fx);
        assert!(fx.is_empty(), "answered once stored");
        let fx = store(&mut doc);
        assert!(matches!(fx.back(), Some(Effect::Reply(8, Ok(())))));
        assert_eq!(doc.take_revision().1, vec![3]);
    }

    #[test]
    fn an_edit_over_http_depending_on_unknown_changes_is_refused_as_invalid() {
        let mut doc = page(limits());
        let elsewhere = new_doc();
        let _unknown = typed(&elsewhere, "Ailleurs ");
        let data = typed(&elsewhere, "puis ");
        let mut fx = Fx::new();
        let _ = doc.handle(Input::Apply { data, author: None, reply: 4 }, Instant::now(), &mut fx);
        assert!(matches!(
            fx.pop_front(),
            Some(Effect::Reply(4, Err(Refusal::Invalid(Invalid::MissingChanges))))
        ));
        assert!(doc.take_batch().is_none(), "nothing of it is stored");
        let mut fx = Fx::new();
        let garbage = Input::Apply { data: vec![0xff, 0x01], author: None, reply: 5 };
        let _ = doc.handle(garbage, Instant::now(), &mut fx);
        assert!(matches!(
            fx.pop_front(),
            Some(Effect::Reply(5, Err(Refusal::Invalid(Invalid::Unreadable))))
        ));
    }
}
