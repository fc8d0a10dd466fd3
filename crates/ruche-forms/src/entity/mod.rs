//! Database rows of forms (SeaORM entities).
pub mod entry_field;
pub mod form;
pub mod upload;
pub mod upload_page;
