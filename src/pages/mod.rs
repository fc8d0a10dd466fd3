//! The web side of `pages` (handlers and views); its rows, rules and storage are
//! `ruche_pages`, re-exported here under the same names.
pub use ruche_pages::*;

pub mod api;
pub mod files;
pub mod routes;
pub mod views;
