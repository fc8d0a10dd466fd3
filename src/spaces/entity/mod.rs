//! Database rows of spaces (SeaORM entities).
pub mod membership;
pub mod space;
