//! Database rows of spaces (SeaORM entities).
pub mod join_request;
pub mod membership;
pub mod space;
