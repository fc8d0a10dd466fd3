//! The web side of `discussions` (handlers and views); its rows, rules and storage are
//! `ruche_discussions`, re-exported here under the same names.
pub use ruche_discussions::*;

pub mod api;
pub mod exchanges;
pub mod routes;
pub mod views;
