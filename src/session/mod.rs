//! Who is asking, for every handler: the signed-in person (session cookie), a bearer token's
//! or a personal feed address's owner (`extract`), sessions kept in the database (`store`), and
//! the protection of state-changing forms against cross-site requests (`csrf`).
pub mod csrf;
pub mod extract;
pub mod store;

pub use extract::{sign_in, sign_out, AdminUser, CurrentUser, FeedReader, MaybeUser, Proof};
