//! Replays the fuzz targets' seeds and the crashes fuzzing found, once fixed (all kept in
//! `fuzz/seeds/<target>/`, crashes named `crash-<what it was>`), through the very code the fuzz
//! targets run (`common::fuzzing`). The frame seeds are the reference implementation's frames, good and
//! malformed (`tests/fixtures/y-protocol-vectors.json`).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
use crate::common;

use std::path::Path;

use common::fuzzing::{exercise_frame, exercise_page_text, exercise_render_cost, structured};

fn kept_inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs kept in {}", dir.display());
    inputs
}

#[test]
fn kept_frames_are_refused_or_applied_without_a_crash() {
    for (name, frame) in kept_inputs("ws_frame") {
        eprintln!("ws_frame/{name}");
        exercise_frame(&frame);
    }
}

#[test]
fn kept_page_texts_are_written_and_rendered_safely() {
    for (name, input) in kept_inputs("page_text") {
        eprintln!("page_text/{name}");
        exercise_page_text(&String::from_utf8_lossy(&input));
    }
}

#[test]
fn kept_texts_render_within_a_linear_budget() {
    for (name, input) in kept_inputs("render_cost") {
        if let Some(shape) = name.strip_prefix("structured-") {
            // Pieces for `structured`: repeated as pieces (each tag keeps a fresh attribute)
            // until the text is 40 000 bytes.
            eprintln!("render_cost/structured {shape}");
            let mut pieces = input.clone();
            while structured(&pieces).len() < 40_000 {
                pieces.extend_from_slice(&input);
            }
            exercise_render_cost(&structured(&pieces));
            continue;
        }
        eprintln!("render_cost/{name}");
        let text = String::from_utf8_lossy(&input);
        // The seeds are short patterns: repeated, they are the texts that used to take seconds.
        exercise_render_cost(&text.repeat(40_000 / text.len().max(1)));
    }
    for (name, input) in kept_inputs("page_text") {
        eprintln!("page_text/{name}");
        exercise_render_cost(&String::from_utf8_lossy(&input));
    }
}
