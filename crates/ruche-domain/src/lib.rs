//! Ruche's capabilities without HTTP: their rows, rules and storage — accounts, spaces, who may
//! do what (`access`), pages (rendering, projections), forms and entries, history, discussions,
//! notifications, mail and the outbox. The web layer (the site crate) is on top; nothing here
//! knows axum, the site's state or its page frame.

// The crates below this one, under the names the modules of this crate know them by.
pub use ruche_base::{cache, collation, dates, db, i18n, paging, slug};
pub use ruche_collab as collab;

pub mod access;
pub mod accounts;
pub mod content;
pub mod discussions;
pub mod forms;
pub mod history;
pub mod mail;
pub mod notifications;
pub mod outbox;
pub mod pages;
pub mod spaces;
pub mod templates;
