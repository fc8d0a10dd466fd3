//! The web side of `history` (handlers and views); its rows, rules and storage are
//! `ruche_history`, re-exported here under the same names.
pub use ruche_history::*;

pub mod api;
pub mod changes;
pub mod feeds;
pub mod routes;
mod views;
