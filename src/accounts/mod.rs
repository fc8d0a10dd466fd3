//! The web side of `accounts` (handlers and views); its rows, rules and storage are
//! `ruche_accounts`, re-exported here under the same names. Who is asking (sessions, tokens,
//! CSRF) is `crate::session`, shared by every handler.
pub use ruche_accounts::*;

pub mod admin;
pub mod reset;
pub mod routes;
mod views;
