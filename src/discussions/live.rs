//! Comments as they happen: each page with readers on it has a channel; a change of one of its
//! comments is told there (only the comment's id: each reader then asks for it, and the access
//! module decides what they see), and to the other processes through the relay.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use tokio::sync::broadcast;

/// Changes a slow reader may fall behind by before they are told to reload.
const BACKLOG: usize = 64;

/// The channels of the pages being read here.
#[derive(Clone, Default)]
pub struct Live {
    channels: Arc<Mutex<HashMap<i64, broadcast::Sender<i64>>>>,
    relay: Arc<OnceLock<Arc<crate::collab::Relay>>>,
}

impl Live {
    /// Changes are told to the other processes through `relay` too.
    pub fn announce_through(&self, relay: Arc<crate::collab::Relay>) {
        let _ = self.relay.set(relay);
    }

    /// The changes of `page`'s comments, from now on.
    pub fn subscribe(&self, page: i64) -> broadcast::Receiver<i64> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels.retain(|_, sender| sender.receiver_count() > 0);
        channels.entry(page).or_insert_with(|| broadcast::channel(BACKLOG).0).subscribe()
    }

    /// Comment `comment` of `page` changed here: its readers here and elsewhere are told.
    pub fn tell(&self, page: i64, comment: i64) {
        self.deliver(page, comment);
        if let Some(relay) = self.relay.get() {
            relay.publish_site(&crate::collab::relay::SiteNote::Commented { page, comment });
        }
    }

    /// Another process says comment `comment` of `page` changed.
    pub fn deliver(&self, page: i64, comment: i64) {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = channels.get(&page) {
            let _ = sender.send(comment);
        }
    }
}
