//! The shared parts at the bottom of Ruche: the database connection, slugs and labels, the
//! order of names, small caches, the interface's languages and texts, dates in words, page
//! numbers. They know no capability and no HTTP.
rust_i18n::i18n!("../../locales", fallback = "fr");

pub mod cache;
pub mod collation;
pub mod dates;
pub mod db;
pub mod i18n;
pub mod paging;
pub mod slug;
