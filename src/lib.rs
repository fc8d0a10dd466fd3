//! Ruche: a collaborative wiki for cooperation networks.
// The crates below this one, under the names the modules of this crate know them by.
pub use ruche_access as access;
pub use ruche_base::{cache, collation, dates, db, slug};
pub use ruche_collab as collab;
pub use ruche_content::{content, templates};
pub use ruche_mail::outbox;

pub mod accounts;
pub mod agenda;
pub mod app;
pub mod backup;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod demo;
pub mod directory;
pub mod discussions;
pub mod download;
pub mod error;
pub mod extract;
pub mod forms;
pub mod history;
pub mod home;
pub mod i18n;
pub mod layout;
pub mod listener;
pub mod mail;
pub mod map;
pub mod multipart;
pub mod notifications;
pub mod pages;
pub mod query;
pub mod resources;
pub mod search;
pub mod spaces;
pub mod state;
pub mod upgrade;
pub mod write_deadline;
