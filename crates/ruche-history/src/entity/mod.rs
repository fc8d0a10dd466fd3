//! Database rows of the history (SeaORM entities).
pub mod feed_token;
pub mod revision;
pub mod revision_author;
