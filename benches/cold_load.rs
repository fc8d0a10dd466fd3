//! Cold load of a page holding the automerge-paper editing trace (Martin Kleppmann typing the
//! LaTeX of a paper: 259 778 edits by one author, 104 852 characters in the end), from the
//! database, as a live document loads when the first person opens a page nobody has open.
//!
//! The trace is typed into a page one edit per transaction, as a browser sends it, and stored
//! as the live document leaves it at worst: a snapshot plus the `compact_every - 1` updates
//! typed since (the log is folded into the snapshot every `compact_every` updates). Then the
//! page is loaded from the database again and again: read (`store::load`, and who changed it
//! since its last revision), decoded and applied into the page's state machine, and encoded
//! for the first client's sync — each step timed.
//!
//! The trace is not in this repository (it is Martin Kleppmann's and Joseph Gentle's data);
//! take it from diamond-types, then run:
//!
//!   git -C diamond-types show HEAD:benchmark_data/automerge-paper.json.gz > /tmp/automerge-paper.json.gz
//!   RUCHE_TRACE=/tmp/automerge-paper.json.gz cargo bench --bench cold_load
//!
//! With `RUCHE_TEST_POSTGRES=postgres://…/db` the same runs on PostgreSQL too (its tables are
//! left in that database: give it a scratch one). `RUCHE_LOADS` sets how many loads (20).
use std::{
    io::Read,
    time::{Duration, Instant},
};

use ruche::collab::{
    doc::{new_doc, DocState, Limits},
    store::{self, DocId, NewUpdate},
};
use yrs::{ReadTxn, StateVector, Text, Transact};

/// The live documents' default (`compact_every`).
const COMPACT_EVERY: usize = 500;

#[derive(serde::Deserialize)]
struct Trace {
    #[serde(rename = "endContent")]
    end_content: String,
    txns: Vec<Txn>,
}

#[derive(serde::Deserialize)]
struct Txn {
    /// (position, characters deleted, text inserted)
    patches: Vec<(u32, u32, String)>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(path) = std::env::var("RUCHE_TRACE") else {
        eprintln!("cold_load: set RUCHE_TRACE to automerge-paper.json.gz (see benches/cold_load.rs); skipped");
        return Ok(());
    };
    let loads: usize = std::env::var("RUCHE_LOADS").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path)?).read_to_string(&mut json)?;
    let trace: Trace = serde_json::from_str(&json)?;

    // Typed as a browser sends it: one update per transaction. The updates after the last
    // compaction stay in the log; what came before is in the snapshot.
    let started = Instant::now();
    let doc = new_doc();
    let body = doc.get_or_insert_text("body");
    let in_log = COMPACT_EVERY - 1;
    let folded = trace.txns.len() - in_log;
    let mut snapshot = Vec::new();
    let mut tail = Vec::with_capacity(in_log);
    for (n, txn) in trace.txns.iter().enumerate() {
        if n == folded {
            snapshot = doc.transact().encode_state_as_update_v1(&StateVector::default());
        }
        let mut t = doc.transact_mut();
        for (at, deleted, inserted) in &txn.patches {
            if *deleted > 0 {
                body.remove_range(&mut t, *at, *deleted);
            }
            if !inserted.is_empty() {
                body.insert(&mut t, *at, inserted);
            }
        }
        if n >= folded {
            tail.push(t.encode_update_v1());
        }
    }
    let text = yrs::GetString::get_string(&body, &doc.transact());
    anyhow::ensure!(text == trace.end_content, "the trace did not replay to its final text");
    println!(
        "trace: {} edits, {} characters; typed in {:.1} s; snapshot {} KiB + {} updates in the log",
        trace.txns.len(),
        text.chars().count(),
        started.elapsed().as_secs_f64(),
        snapshot.len() / 1024,
        tail.len()
    );

    let scratch = tempfile::tempdir()?;
    let mut databases = vec![(
        "SQLite".to_owned(),
        format!("sqlite://{}?mode=rwc", scratch.path().join("cold.db").display()),
    )];
    if let Ok(url) = std::env::var("RUCHE_TEST_POSTGRES") {
        databases.push(("PostgreSQL".to_owned(), url));
    }
    for (name, url) in databases {
        let db = ruche::db::connect(&url).await?;
        let id = DocId(900_000_000 + i64::from(std::process::id() % 1_000_000));
        store::delete(&db, id).await?;
        store::compact(&db, id, snapshot.clone(), folded as i64, 0).await?;
        let rows: Vec<NewUpdate<'_>> = tail
            .iter()
            .zip(folded as i64 + 1..)
            .map(|(data, seq)| NewUpdate { seq, data, author: Some(1) })
            .collect();
        store::append(&db, id, &rows).await?;

        let (mut read, mut apply, mut sync, mut total) = (vec![], vec![], vec![], vec![]);
        for _ in 0..loads {
            let t0 = Instant::now();
            let stored = store::load(&db, id).await?;
            let authors = store::authors_since(&db, id, stored.base_seq).await?;
            let t1 = Instant::now();
            let state =
                DocState::<()>::new(limits(), &stored, authors, tokio::time::Instant::now());
            let t2 = Instant::now();
            // What the first client receives: the whole document.
            let first_sync = state.content().state;
            let t3 = Instant::now();
            anyhow::ensure!(state.content().markdown == trace.end_content, "loaded text differs");
            assert!(!first_sync.is_empty());
            read.push(t1 - t0);
            apply.push(t2 - t1);
            sync.push(t3 - t2);
            total.push(t3 - t0);
        }
        println!("{name}, {loads} cold loads (median / p90 / max, ms):");
        for (what, times) in [
            ("read from the database", &mut read),
            ("decode and apply", &mut apply),
            ("encode the first sync", &mut sync),
            ("in all", &mut total),
        ] {
            times.sort();
            println!(
                "  {what:<24} {:>8.2} {:>8.2} {:>8.2}",
                ms(times[times.len() / 2]),
                ms(times[(times.len() * 9 / 10).min(times.len() - 1)]),
                ms(times[times.len() - 1])
            );
        }
        store::delete(&db, id).await?;
    }
    Ok(())
}

fn limits() -> Limits {
    Limits {
        max_page_chars: 2_000_000,
        max_presence_bytes: 8 * 1024,
        settle: Duration::from_secs(2),
        revision_quiet: Duration::from_secs(120),
        compact_every: COMPACT_EVERY as i64,
        relayed: false,
        takes_turns: false,
        busy_page_window: Duration::from_millis(10),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
