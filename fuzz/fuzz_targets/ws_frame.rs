//! A websocket binary frame from a hostile client, through the server's decoder and then what
//! the server does with each message (see `tests/it/common/fuzzing.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/common/fuzzing.rs"]
mod fuzzing;
#[path = "../../tests/it/common/inert.rs"]
mod inert;

fuzz_target!(
    init: {
        // A panic the server catches (applying an update: the page is reloaded) is no crash.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !fuzzing::TOLERATING.get() {
                abort(info);
            }
        }));
    },
    |frame: &[u8]| fuzzing::exercise_frame(frame)
);
