//! A page's text from a hostile member: written over the page, rendered (nothing that runs may
//! come out), its links found and rewritten for the export (see `tests/it/common/fuzzing.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/common/fuzzing.rs"]
mod fuzzing;
#[path = "../../tests/it/common/inert.rs"]
mod inert;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        fuzzing::exercise_page_text(text);
    }
});
