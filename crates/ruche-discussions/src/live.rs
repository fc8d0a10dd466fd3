//! Comments as they happen: each page with readers on it has a channel; a change of one of its
//! comments is told there (only the comment's id: each reader then asks for it, and the access
//! module decides what they see), and to the other processes through the relay. When who may
//! read a page changes, its readers are checked again, and a reader who lost the right is let go.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use crate::collab;
use tokio::sync::broadcast;

/// Changes a slow reader may fall behind by before they are told to reload.
const BACKLOG: usize = 64;

/// What the readers of a page are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// This comment changed: ask for it.
    Comment(i64),
    /// Who may read the page may have changed: each reader is checked again.
    Recheck,
}

/// The channels of the pages being read here.
#[derive(Clone, Default)]
pub struct Live {
    channels: Arc<Mutex<HashMap<i64, broadcast::Sender<Told>>>>,
    relay: Arc<OnceLock<Arc<collab::Relay>>>,
}

impl Live {
    /// Changes are told to the other processes through `relay` too.
    pub fn announce_through(&self, relay: Arc<collab::Relay>) {
        let _ = self.relay.set(relay);
    }

    /// What `page`'s readers are told, from now on.
    pub fn subscribe(&self, page: i64) -> broadcast::Receiver<Told> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels.retain(|_, sender| sender.receiver_count() > 0);
        channels.entry(page).or_insert_with(|| broadcast::channel(BACKLOG).0).subscribe()
    }

    /// Comment `comment` of `page` changed here: its readers here and elsewhere are told.
    pub fn tell(&self, page: i64, comment: i64) {
        self.deliver(page, comment);
        if let Some(relay) = self.relay.get() {
            relay.publish_site(&collab::relay::SiteNote::Commented { page, comment });
        }
    }

    /// Another process says comment `comment` of `page` changed.
    pub fn deliver(&self, page: i64, comment: i64) {
        self.send(Some(&[page]), Told::Comment(comment));
    }

    /// Who may read these pages (`None`: every page) changed, here or in another process (the
    /// hub's kick tells both): their readers here are checked again.
    pub fn recheck(&self, pages: Option<&[i64]>) {
        self.send(pages, Told::Recheck);
    }

    fn send(&self, pages: Option<&[i64]>, told: Told) {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        match pages {
            Some(pages) => {
                for sender in pages.iter().filter_map(|page| channels.get(page)) {
                    let _ = sender.send(told);
                }
            }
            None => {
                for sender in channels.values() {
                    let _ = sender.send(told);
                }
            }
        }
    }
}
