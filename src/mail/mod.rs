//! The web side of `mail` (handlers and views); its rows, rules and storage are
//! `ruche_mail`, re-exported here under the same names.
pub use ruche_mail::mail::*;

pub mod admin;
