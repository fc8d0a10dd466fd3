//! Every integration test in one binary, a module per file: the site is linked once (it was
//! linked into 26 binaries, one per file). Each test starts its own server on port 0 over a
//! fresh database (`common`).
#[macro_use]
mod common;

mod access_matrix;
mod accounts;
mod add_where;
mod backup;
mod browser;
mod changes;
mod cluster;
mod crash;
mod discussions;
mod forms;
mod fuzz_regressions;
mod hardening;
mod hardening_access;
mod history;
mod limits;
mod live_editing;
mod mail;
mod outgoing_limits;
mod page_files;
mod pages;
mod search;
mod site;
mod stock_client;
mod templates;
mod views;
mod wayfinding;
mod write_budgets;
mod xss;
