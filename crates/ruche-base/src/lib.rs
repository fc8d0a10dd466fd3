//! The shared parts at the bottom of Ruche: the database connection, slugs and labels, the
//! order of names, small caches. They know no capability and no HTTP.
pub mod cache;
pub mod collation;
pub mod db;
pub mod slug;
