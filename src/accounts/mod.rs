//! The web side of `accounts` (handlers and views); its rows, rules and storage are
//! `ruche_accounts`, re-exported here under the same names.
pub use ruche_accounts::*;

pub mod admin;
pub mod csrf;
pub mod extract;
pub mod ratelimit;
pub mod reset;
pub mod routes;
pub mod session_store;
mod views;

pub use extract::{AdminUser, CurrentUser, MaybeUser};
