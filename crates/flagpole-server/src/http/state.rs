//! The state every handler gets: the [`Core`], and what only the HTTP layer holds on top
//! of it: the event-stream fan-out, guarded rollouts, and, on a relay, the [`Relay`].
//! Assembled here, once; nothing below the HTTP layer names it.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use flagpole_store::Store;

use crate::config::ServerConfig;
use crate::core::Core;
use crate::error::ApiError;
use crate::relay::Relay;
use crate::release::Releases;
use crate::stream::Hub;

/// Cheap to clone; every handler gets one. Dereferences to the [`Core`].
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    core: Core,
    streams: Hub,
    releases: Releases,
    /// Set when this process is a relay.
    relay: OnceLock<Arc<Relay>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("core", &self.inner.core)
            .finish_non_exhaustive()
    }
}

impl Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.inner.core
    }
}

impl AppState {
    /// Loads the store's state and publishes the first snapshot.
    pub async fn new(store: Arc<dyn Store>, config: ServerConfig) -> Result<AppState, ApiError> {
        Ok(AppState::with_core(Core::new(store, config).await?))
    }

    /// The HTTP state around a core.
    pub fn with_core(core: Core) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                streams: Hub::new(core.clone()),
                releases: Releases::new(core.clone()),
                core,
                relay: OnceLock::new(),
            }),
        }
    }

    pub fn core(&self) -> &Core {
        &self.inner.core
    }

    /// The server-sent event streams.
    pub fn streams(&self) -> &Hub {
        &self.inner.streams
    }

    /// Guarded rollouts (release plans).
    pub fn releases(&self) -> &Releases {
        &self.inner.releases
    }

    /// What this process relays, when it is a relay.
    pub fn relay(&self) -> Option<&Arc<Relay>> {
        self.inner.relay.get()
    }

    /// Makes this process a relay (once, before serving).
    pub fn set_relay(&self, relay: Arc<Relay>) {
        let _ = self.inner.relay.set(relay);
    }
}
