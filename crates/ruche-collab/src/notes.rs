//! What the processes serving one site tell each other (carried by `relay`, acted on by each
//! live document), kept apart so the live document needs nothing of Redis.
/// What one process tells the others about a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// Updates just stored under sequence numbers `first`, `first + 1`, … (with their authors).
    Updates { first: i64, updates: Vec<(Option<i64>, Vec<u8>)> },
    /// The log reaches `seq`: whoever knows less reads the rest from the database.
    Head(i64),
    /// A presence change (an encoded awareness update).
    Awareness(Vec<u8>),
    /// Someone opened the document: tell who is here.
    QueryAwareness,
    /// Who may do what changed: close the connections so they are checked again (heard on the
    /// site's channel, as `SiteNote::Kick`).
    Kick,
    /// The page is being deleted.
    Forget,
}

/// What one process tells the others about the site.
#[derive(Debug, Clone, PartialEq)]
pub enum SiteNote {
    /// These pages changed (title, text, trash…): refresh what is derived from them (search).
    Touched(Vec<i64>),
    /// Who may do what on these pages changed: their live connections (documents, comment
    /// streams) are checked again, in every process.
    Kick(Vec<i64>),
    /// Every live connection must reconnect (an account lost its rights).
    KickAll,
    /// A comment of a page was posted, changed, hidden or deleted: its readers here are told.
    Commented { page: i64, comment: i64 },
}
