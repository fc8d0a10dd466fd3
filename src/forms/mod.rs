//! The web side of `forms` (handlers and views); its rows, rules and storage are
//! `ruche_forms`, re-exported here under the same names.
pub use ruche_forms::*;

pub mod add;
pub mod admin;
pub mod exports;
pub mod files;
pub mod lists;
pub mod query;
pub mod routes;
pub mod views;
