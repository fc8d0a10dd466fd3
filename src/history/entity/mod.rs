//! Database rows of the history (SeaORM entities).
pub mod revision;
pub mod revision_author;
