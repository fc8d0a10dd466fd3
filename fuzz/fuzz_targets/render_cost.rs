//! A page's text from a hostile member, rendered: the time it takes and the HTML it makes must
//! grow linearly with its length, and quotes and lists stay within the renderer's depth (see
//! `tests/it/common/fuzzing.rs`). Each input is tried as text and as pieces of Markdown and HTML
//! (`structured`: tags with fresh attributes, blocks, table rows, references).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/common/fuzzing.rs"]
mod fuzzing;
#[path = "../../tests/it/common/inert.rs"]
mod inert;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        fuzzing::exercise_render_cost(text);
    }
    fuzzing::exercise_render_cost(&fuzzing::structured(data));
});
