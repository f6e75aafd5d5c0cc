//! The directory this process checks credentials against, swapped whole when tokens or
//! users change, and a signal for those who must check again (open event streams).
//! Shared by the server's state and, on a relay, by its cache of the upstream's tokens.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use tokio::sync::watch;

use super::directory::Directory;

/// The current [`Directory`] and its change signal.
#[derive(Debug)]
pub struct Directories {
    current: ArcSwap<Directory>,
    changes: watch::Sender<u64>,
}

impl Directories {
    pub fn new(directory: Directory) -> Directories {
        Directories {
            current: ArcSwap::from_pointee(directory),
            changes: watch::channel(0).0,
        }
    }

    /// The tokens and users credentials are checked against; never waits.
    pub fn load(&self) -> Arc<Directory> {
        self.current.load_full()
    }

    /// The directory without taking a reference count (for one request's check; do not
    /// hold it across an await).
    pub fn load_ref(&self) -> Guard<Arc<Directory>> {
        self.current.load()
    }

    /// Replaces the directory and tells whoever holds a credential to check it again.
    pub fn replace(&self, directory: Directory) {
        self.current.store(Arc::new(directory));
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Notified after every [`Directories::replace`].
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}
