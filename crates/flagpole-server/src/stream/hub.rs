//! The fan-out: one task follows every publish, keeps a ring of recent changes for
//! resumption, and sends each environment's and surface's event, built once, to the
//! broadcast channel its streams read.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::body::Bytes;
use flagpole_core::Scope;
use tokio::sync::{broadcast, watch};

use super::change::{Change, Publish, Since};
use super::frame::{Frame, Surface};
use super::{native, ofrep, unleash};
use crate::core::{Applied, Core};
use crate::error::ApiError;
use crate::published::Published;

/// How many changes are kept for `Last-Event-ID` resumption; older ids get the whole
/// state again.
pub const RING: usize = 1024;

/// Longest a new stream waits for the fan-out to handle the latest publish.
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(1);

/// The streams of one server: the core they follow, and the fan-out (started by the
/// first stream) with the count of open connections. Streams check their credential
/// again whenever the core's directory of tokens and users changes.
#[derive(Debug)]
pub struct Hub {
    core: Core,
    shared: OnceLock<Arc<Shared>>,
}

impl Hub {
    pub fn new(core: Core) -> Hub {
        Hub {
            core,
            shared: OnceLock::new(),
        }
    }

    /// The core the streams follow.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// How many streams are open.
    pub fn connections(&self) -> usize {
        self.shared.get().map_or(0, |s| s.connections())
    }

    fn shared(&self) -> &Arc<Shared> {
        self.shared.get_or_init(|| Shared::start(&self.core))
    }
}

/// A stream just opened: its first frame (if any), the channel it follows, and the
/// version that first frame brings the client to.
pub struct Opened {
    pub initial: Option<Bytes>,
    pub receiver: tokio::sync::broadcast::Receiver<Frame>,
    pub version: i64,
    pub permit: Permit,
}

/// Opens a stream of `surface` for `environment` as `scope` sees it, resuming after
/// `last_event_id`.
pub async fn open(
    hub: &Hub,
    environment: &str,
    scope: &Scope,
    surface: Surface,
    last_event_id: Option<i64>,
) -> Result<Opened, ApiError> {
    let shared = hub.shared().clone();
    let permit = shared.permit(hub.core.config().streams.max_connections)?;
    shared.caught_up(hub.core.published().version).await;
    shared.subscribe(environment, scope, surface, last_event_id, permit)
}

enum Resume {
    /// Nothing: the client is at the current version.
    Current,
    /// The current state of what changed after the client's version.
    Since(Since),
    /// The whole state.
    Full,
}

pub struct Shared {
    inner: Mutex<HubState>,
    /// The version the fan-out has handled.
    handled: watch::Sender<i64>,
    connections: AtomicUsize,
    queue: usize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

struct HubState {
    /// The last publish the fan-out handled; new streams start from it.
    current: Arc<Published>,
    /// The oldest version a `Last-Event-ID` can resume from.
    base: i64,
    ring: VecDeque<Arc<Change>>,
    channels: HashMap<Channel, broadcast::Sender<Frame>>,
    /// The whole-state frame of an environment and surface at `current`, built by the
    /// first stream that needs it.
    full: HashMap<Channel, Bytes>,
}

/// What a stream follows: an environment's surface, as a scope of projects sees it.
type Channel = (String, Surface, Scope);

impl HubState {
    fn resume(&self, last: Option<i64>, surface: Surface) -> Resume {
        let version = self.current.version;
        let Some(last) = last else {
            return Resume::Full;
        };
        if last == version {
            return Resume::Current;
        }
        if last < self.base || last > version {
            return Resume::Full;
        }
        let mut since = Since::default();
        for change in self.ring.iter().filter(|c| c.to > last) {
            if change.full || (surface == Surface::Unleash && change.unleash_full) {
                return Resume::Full;
            }
            since.flags.extend(change.flags.iter().cloned());
            since.segments.extend(change.segments.iter().cloned());
            since
                .removed_segment_ids
                .extend(&change.removed_segment_ids);
        }
        Resume::Since(since)
    }
}

/// One open stream, counted until dropped.
#[derive(Debug)]
pub(crate) struct Permit(Arc<Shared>);

impl Drop for Permit {
    fn drop(&mut self) {
        let n = self.0.connections.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("flagpole_stream_connections").set(n as f64);
    }
}

impl Shared {
    /// Starts the fan-out from the current state.
    pub fn start(core: &Core) -> Arc<Shared> {
        // Subscribe before reading the state: a publish in between is then both in the
        // state and received (and skipped as not newer).
        let receiver = core.subscribe_applied();
        let current = core.published();
        let shared = Arc::new(Shared {
            handled: watch::channel(current.version).0,
            inner: Mutex::new(HubState {
                base: current.version,
                current,
                ring: VecDeque::new(),
                channels: HashMap::new(),
                full: HashMap::new(),
            }),
            connections: AtomicUsize::new(0),
            queue: core.config().streams.queue.max(1),
        });
        tokio::spawn(run(shared.clone(), receiver));
        shared
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Counts a new stream, or refuses it beyond `max`.
    pub fn permit(self: &Arc<Shared>, max: usize) -> Result<Permit, ApiError> {
        let before = self.connections.fetch_add(1, Ordering::SeqCst);
        let permit = Permit(self.clone());
        if before >= max {
            metrics::counter!("flagpole_stream_refused_total").increment(1);
            return Err(ApiError::TooManyStreams(max));
        }
        metrics::gauge!("flagpole_stream_connections").set((before + 1) as f64);
        Ok(permit)
    }

    /// Waits (a little, at most) until the fan-out has handled `version`, so a stream
    /// opened after a write starts from it.
    pub async fn caught_up(&self, version: i64) {
        let mut handled = self.handled.subscribe();
        let wait = handled.wait_for(|v| *v >= version);
        let _ = tokio::time::timeout(CATCH_UP, wait).await;
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows `environment`'s `surface` channel, with the first frame that brings a
    /// client at `last` to the current version.
    pub fn subscribe(
        &self,
        environment: &str,
        scope: &Scope,
        surface: Surface,
        last: Option<i64>,
        permit: Permit,
    ) -> Result<Opened, ApiError> {
        let key = (environment.to_string(), surface, scope.clone());
        let (receiver, current, resume, cached) = {
            let mut st = self.lock();
            if !st.current.has_environment(environment) {
                return Err(ApiError::NotFound {
                    kind: "environment",
                    name: environment.to_string(),
                });
            }
            let queue = self.queue;
            let receiver = st
                .channels
                .entry(key.clone())
                .or_insert_with(|| broadcast::channel(queue).0)
                .subscribe();
            let resume = st.resume(last, surface);
            let cached = st.full.get(&key).cloned();
            (receiver, st.current.clone(), resume, cached)
        };
        let initial = match resume {
            Resume::Full => Some(match cached {
                Some(bytes) => bytes,
                None => {
                    let bytes = full_frame(&current, environment, scope, surface);
                    let mut st = self.lock();
                    if st.current.version == current.version {
                        st.full.insert(key, bytes.clone());
                    }
                    bytes
                }
            }),
            Resume::Since(since) => Some(match surface {
                Surface::Unleash => unleash::since(&current, environment, scope, &since),
                Surface::Native => native::since(&current, environment, scope, &since),
                Surface::Ofrep => ofrep::refetch(current.version),
            }),
            Resume::Current => match surface {
                Surface::Unleash => Some(unleash::since(
                    &current,
                    environment,
                    scope,
                    &Since::default(),
                )),
                Surface::Native => Some(native::since(
                    &current,
                    environment,
                    scope,
                    &Since::default(),
                )),
                Surface::Ofrep => None,
            },
        };
        Ok(Opened {
            initial,
            receiver,
            version: current.version,
            permit,
        })
    }

    /// Handles one publish: records it and sends each followed channel its event.
    fn apply(&self, applied: &Applied, lost: bool) {
        let after = &applied.published;
        let (before, change, targets) = {
            let mut st = self.lock();
            if after.version <= st.current.version {
                return;
            }
            let change = Arc::new(Change::between(&st.current, applied, lost));
            let before = std::mem::replace(&mut st.current, after.clone());
            st.ring.push_back(change.clone());
            while st.ring.len() > RING {
                if let Some(old) = st.ring.pop_front() {
                    st.base = old.to;
                }
            }
            st.full.clear();
            // Channels nobody follows go; so do those of removed environments (their
            // streams end, and reconnect to a 404).
            st.channels
                .retain(|(env, _, _), tx| tx.receiver_count() > 0 && after.has_environment(env));
            let targets: Vec<(Channel, broadcast::Sender<Frame>)> = st
                .channels
                .iter()
                .map(|(k, tx)| (k.clone(), tx.clone()))
                .collect();
            (before, change, targets)
        };
        self.handled.send_replace(after.version);
        let publish = Publish {
            before: &before,
            after,
            change: &change,
        };
        for ((env, surface, scope), tx) in targets {
            let bytes = match surface {
                Surface::Unleash => unleash::changed(&publish, &env, &scope),
                Surface::Native => native::changed(&publish, &env, &scope),
                Surface::Ofrep => ofrep::changed(&publish, &env, &scope),
            };
            if let Some(bytes) = bytes {
                let _ = tx.send(Frame {
                    version: after.version,
                    bytes,
                });
            }
        }
    }
}

/// The whole state of an environment as a surface's first frame.
fn full_frame(published: &Published, environment: &str, scope: &Scope, surface: Surface) -> Bytes {
    match surface {
        Surface::Unleash => unleash::full(published, environment, scope, unleash::CONNECTED),
        Surface::Native => native::full(published, environment, scope),
        Surface::Ofrep => ofrep::refetch(published.version),
    }
}

async fn run(shared: Arc<Shared>, mut receiver: broadcast::Receiver<Arc<Applied>>) {
    let mut lost = false;
    loop {
        match receiver.recv().await {
            Ok(applied) => {
                shared.apply(&applied, lost);
                lost = false;
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "the stream fan-out fell behind; streams get the whole state"
                );
                lost = true;
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}
