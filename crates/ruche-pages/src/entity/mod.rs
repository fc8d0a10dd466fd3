//! Database rows of pages (SeaORM entities).
pub mod page;
pub mod page_event;
pub mod page_link;
pub mod page_redirect;
