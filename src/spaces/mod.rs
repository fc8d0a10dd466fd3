//! The web side of `spaces` (handlers and views); its rows, rules and storage are
//! `ruche_spaces`, re-exported here under the same names.
pub use ruche_spaces::*;

pub mod api;
pub mod routes;
pub mod views;
