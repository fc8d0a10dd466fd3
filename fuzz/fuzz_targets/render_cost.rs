//! A page's text from a hostile member, rendered: the time it takes must grow linearly with its
//! length, and quotes and lists stay within the renderer's depth (see `tests/common/fuzzing.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/fuzzing.rs"]
mod fuzzing;
#[path = "../../tests/common/inert.rs"]
mod inert;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        fuzzing::exercise_render_cost(text);
    }
});
