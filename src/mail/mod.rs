//! The web side of `mail` (handlers and views); its rows, rules and storage are
//! `ruche_domain::mail`, re-exported here under the same names.
pub use ruche_domain::mail::*;

pub mod admin;
