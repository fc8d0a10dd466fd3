//! Mail and the outbox: what a mail holds and how it is written (plain text and HTML, in the reader's language) and sent (SMTP), and the outbox every message waits in (one table, one worker, retries).
// The crates below this one, under the names the modules of this crate know them by.
use ruche_base::db;

pub mod mail;
pub mod outbox;
