//! Database rows of documents (SeaORM entities).
pub mod doc_snapshot;
pub mod doc_update;
