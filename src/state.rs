//! The state every handler can reach, built once by `app` and cloned into each request. It
//! sits below the capabilities: they read it, it names only the parts it holds.
use std::sync::Arc;

use crate::{
    collab::Hub,
    config::Settings,
    db::Db,
    outbox,
    ratelimit::{ActionLimits, SignInLimits},
};
use ruche_discussions as discussions;
use ruche_history as history;
use ruche_pages as pages;
use ruche_search as search;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub sign_in_limits: Arc<SignInLimits>,
    /// What each kind of action that writes to someone else may still do (`Action`).
    pub action_limits: Arc<ActionLimits>,
    /// The live documents.
    pub hub: Hub,
    /// The search index, kept current as pages change.
    pub search: search::SearchIndex,
    /// Rendered page texts, kept for the next reader.
    pub rendered: Arc<pages::render::RenderCache>,
    /// Comparisons of revisions, kept for the next reader.
    pub diffs: Arc<history::diff::DiffCache>,
    /// The Content-Security-Policy of every answer (its nonce added per answer).
    pub content_security_policy: Arc<str>,
    /// What the site sends out (mail), with its worker; `settings.mail` says whether mail is
    /// set up at all.
    pub outbox: outbox::Outbox,
    /// The readers on each page's discussion, told of its changes as they happen.
    pub discussions: discussions::live::Live,
}
