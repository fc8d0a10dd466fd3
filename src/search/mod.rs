//! Search across pages, entries and profiles (`ruche_search`: the index and its queries, through
//! the access module), and its page and JSON answer here.
pub use ruche_search::*;

pub mod routes;
