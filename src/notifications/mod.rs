//! The web side of `notifications` (handlers and views); its rows, rules and storage are
//! `ruche_notifications`, re-exported here under the same names.
pub use ruche_notifications::*;

pub mod routes;
pub mod views;
