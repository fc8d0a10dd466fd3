//! What the fuzz targets (`fuzz/`) do with each input, shared with `tests/fuzz_regressions.rs`,
//! which replays the inputs kept in `tests/fuzz/` (the crashes fuzzing found, once fixed).
#![allow(dead_code)]

use std::{cell::Cell, collections::HashSet, panic::AssertUnwindSafe};

use ruche::{
    backup::markdown::rewrite_links,
    collab::{
        doc::{self, new_doc},
        protocol::{self, Message},
        shape,
        text::set_text,
    },
    pages::{
        render::{self, LinkState},
        store::LinkTarget,
    },
};
use yrs::{
    sync::Awareness,
    updates::{decoder::Decode, encoder::Encode},
    GetString, ReadTxn, Text, Transact, Update,
};

use super::inert::dangers;

thread_local! {
    /// Set while running code whose panics the server catches (applying an update: the live
    /// document is then reloaded from storage). The fuzz targets' panic hook lets those through.
    pub static TOLERATING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` the way the server runs it under `catch_unwind`.
fn tolerated<T>(f: impl FnOnce() -> T) -> Option<T> {
    TOLERATING.set(true);
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    TOLERATING.set(false);
    result.ok()
}

/// A websocket frame from a client, taken as the server takes it: decoded strictly, then each
/// message applied to a page that already has text, answered (step 1) or applied to presence.
/// Anything may be refused; nothing may panic outside what the server catches.
pub fn exercise_frame(frame: &[u8]) {
    let Ok(messages) = protocol::decode_frame(frame) else { return };
    let doc = new_doc();
    let body = doc.get_or_insert_text("body");
    body.insert(&mut doc.transact_mut(), 0, "Bonjour, coopération 👋");
    let mut awareness = Awareness::new(doc.clone());
    for message in messages {
        match message {
            Message::SyncStep1(sv) => {
                let diff = doc.transact().encode_diff_v1(&sv);
                assert!(Update::decode_v1(&diff).is_ok(), "our own answer must decode");
            }
            Message::SyncStep2(data) | Message::Update(data) => {
                let update = Update::decode_v1(&data).expect("decode_frame checked the update");
                if !doc::fits_what_is_known(&doc, &update) {
                    return; // refused before yrs sees it
                }
                let applied = tolerated(|| {
                    let mut txn = doc.transact_mut();
                    txn.apply_update(update).map(|()| txn.has_missing_updates())
                });
                if !matches!(applied, Some(Ok(false))) {
                    return; // refused, or the server reloads the document from storage
                }
                // What the server does next: measure, store, render.
                let text = body.get_string(&doc.transact());
                let _ = body.len(&doc.transact());
                let state = tolerated(|| doc::full_state(&doc.transact()))
                    .expect("full_state catches what yrs throws");
                let reloaded = new_doc();
                let update = Update::decode_v1(&state).expect("our own state must decode");
                tolerated(|| reloaded.transact_mut().apply_update(update))
                    .expect("our own state must apply")
                    .expect("our own state must apply");
                let again = reloaded.get_or_insert_text("body").get_string(&reloaded.transact());
                assert_eq!(again, text, "a stored state reads back the same");
                // What yrs makes of accepted input passes the shape check a client's copy of it
                // will go through when it syncs back.
                assert_eq!(shape::update(&state), Ok(()), "our own state has a good shape");
                let sv = doc.transact().state_vector().encode_v1();
                assert_eq!(shape::state_vector(&sv), Ok(()), "our own state vector too");
            }
            Message::Awareness(update) => {
                if awareness.apply_update(update).is_ok() {
                    let _ = awareness.update();
                }
            }
            Message::QueryAwareness => {
                let _ = awareness.update();
            }
        }
    }
}

/// A page's text, taken as the site takes it: written into a live document over what was there
/// (the HTTP editor and the API), rendered for readers (nothing that runs may come out), its
/// links found, and rewritten for the Markdown export.
pub fn exercise_page_text(input: &str) {
    // Before the first NUL: the text already there; after it, the text written over it.
    let (before, after) = input.split_once('\0').unwrap_or(("", input));
    let doc = new_doc();
    let body = doc.get_or_insert_text("body");
    for wanted in [before, after] {
        set_text(&mut doc.transact_mut(), &body, wanted);
        assert_eq!(body.get_string(&doc.transact()), wanted, "the page holds what was written");
    }
    let resolve = |target: &LinkTarget| match target.slug.len() % 3 {
        0 => LinkState::Exists,
        1 => LinkState::Creatable,
        _ => LinkState::Unknown,
    };
    let html = render::to_html(after, "chantier", render::Kind::Page, &resolve);
    let found = dangers(&html, false);
    assert!(found.is_empty(), "{after:?} rendered as {html:?}: {found:?}");
    let _ = render::plain_text(after);
    let exported: HashSet<(String, String)> = render::links(after, "chantier")
        .into_iter()
        .step_by(2)
        .map(|target| (target.space, target.slug))
        .collect();
    let _ = rewrite_links(after, "chantier", &exported, "https://ruche.example");
}

/// What rendering may cost: a fixed part, plus a little per byte of text. Generous (fuzzers run
/// with sanitisers, tests on busy machines): a parser that goes quadratic on some shape of text
/// (`>` × 40 000 took 5 s, 100 000 took 104 s) overshoots it by orders of magnitude.
const RENDER_BASE: std::time::Duration = std::time::Duration::from_millis(250);
const RENDER_PER_BYTE: std::time::Duration = std::time::Duration::from_micros(40);

/// What rendered HTML may weigh: a fixed part, plus a little per byte of text (the renderer's
/// own budget is 64 KiB + 32 bytes a byte; escaping text may add a little). HTML that grows with
/// the square of the text (formatting tags reopened at every block, padded table rows, one long
/// reference repeated) overshoots it by orders of magnitude.
const HTML_BASE: usize = 64 * 1024;
const HTML_PER_BYTE: usize = 40;

/// Formatting elements: those the HTML parser reopens at every block while they are unclosed.
const FORMATTING: [&str; 14] = [
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// A text made of pieces of Markdown and HTML chosen by `data`, one byte a piece: tags with
/// attributes (a fresh one each time, which defeats the HTML parser's cap on identical
/// formatting elements), blocks, list and quote markers, table rows, link references. Random
/// bytes seldom make such shapes; this makes them from the first inputs.
pub fn structured(data: &[u8]) -> String {
    let mut text = String::new();
    let mut fresh = 0usize;
    for &b in data {
        let tag = FORMATTING[usize::from(b / 16) % FORMATTING.len()];
        fresh += 1;
        match b % 16 {
            0 => text.push_str(&format!("<{tag} id={fresh}>")),
            1 => text.push_str(&format!("<{tag} class=\"c{fresh}\" title='{fresh}'>")),
            2 => text.push_str(&format!("</{tag}>")),
            3 => text.push_str("<p>"),
            4 => text.push('x'),
            5 => text.push_str("\n\n"),
            6 => text.push_str("\n- "),
            7 => text.push_str("\n> "),
            // A wide header: every short row after it is padded to its width.
            8 => text.push_str(&format!("\n{}|\n{}|\n", "| a ".repeat(64), "|---".repeat(64))),
            9 => text.push_str("|\n"),
            10 => text.push_str("[r] "),
            11 => text.push_str(&format!("\n\n[r]: /{}\n\n", "long-address/".repeat(20))),
            12 => text.push_str("<table><tr><td>"),
            13 => text.push_str("<div>\n"),
            14 => text.push_str("**x*"),
            _ => text.push_str("[[Page]] "),
        }
    }
    text
}

/// Renders `input` (and finds its plain text and links) within a time that grows linearly with
/// its length, and with quotes and lists nested no deeper than the renderer allows.
pub fn exercise_render_cost(input: &str) {
    let resolve = |_: &LinkTarget| LinkState::Exists;
    let started = std::time::Instant::now();
    let html = render::to_html(input, "chantier", render::Kind::Page, &resolve);
    let _ = render::plain_text(input);
    let _ = render::links(input, "chantier");
    let took = started.elapsed();
    let budget = RENDER_BASE + RENDER_PER_BYTE * u32::try_from(input.len()).unwrap_or(u32::MAX);
    assert!(took <= budget, "{} bytes took {took:?} (budget {budget:?})", input.len());
    let most = HTML_BASE + HTML_PER_BYTE * input.len();
    assert!(html.len() <= most, "{} bytes made {} bytes of HTML", input.len(), html.len());
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for tag in html.split('<').skip(1) {
        let name: String =
            tag.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '/').collect();
        match name.as_str() {
            "blockquote" | "ul" | "ol" | "li" => depth += 1,
            "/blockquote" | "/ul" | "/ol" | "/li" => depth = depth.saturating_sub(1),
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    assert!(deepest <= 40, "nested {deepest} deep");
}
