//! Following the upstream: one relay stream at a time, its events published as they
//! come; when it ends, fails or falls silent, the relay says it is disconnected, keeps
//! serving, and opens it again with backoff and `Last-Event-ID` (its version), getting
//! what it missed.

use std::sync::Arc;
use std::time::Duration;

use flagpole_server::relay::Relay;
use flagpole_server::Core;
use tokio::sync::mpsc;

use super::upstream::Client;

/// The first and the longest wait between attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Runs until aborted.
pub async fn follow(core: Core, relay: Arc<Relay>, client: Arc<Client>, idle: Duration) {
    let mut backoff = BACKOFF_MIN;
    let mut had_state = false;
    loop {
        let (tx, mut rx) = mpsc::channel(64);
        let last = had_state.then(|| core.published().version);
        let reader = client.clone();
        let thread = tokio::task::spawn_blocking(move || reader.read_stream(last, tx));
        let mut why = String::new();
        loop {
            match tokio::time::timeout(idle, rx.recv()).await {
                Ok(Some(event)) if event.event.is_empty() => {}
                Ok(Some(event)) => {
                    let applied = flagpole_server::relay::apply_event(
                        &core,
                        &relay,
                        &event.event,
                        &event.data,
                    );
                    match applied.await {
                        Ok(true) => {
                            had_state = true;
                            backoff = BACKOFF_MIN;
                            if !relay.connected() {
                                relay.set_connected(true);
                                tracing::info!(
                                    version = core.published().version,
                                    "following the upstream"
                                );
                            }
                        }
                        Ok(false) => {
                            why = "an event did not follow this relay's version".into();
                            break;
                        }
                        Err(e) => {
                            why = format!("an event could not be applied: {e}");
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    why = format!("nothing from the upstream for {idle:?}");
                    break;
                }
            }
        }
        // Stops the reading thread at its next event.
        drop(rx);
        if why.is_empty() {
            // The reader ended by itself: its reason.
            why = thread.await.unwrap_or_default();
        }
        if relay.connected() {
            relay.set_connected(false);
            tracing::warn!(reason = %why, version = core.published().version, "lost the upstream; serving the last state and reconnecting");
        } else {
            tracing::debug!(reason = %why, "the upstream cannot be followed yet");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Asks the upstream again about the tokens it vouched for, every `every`.
pub async fn refresh_tokens(relay: Arc<Relay>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if relay.tokens().is_empty() {
            continue;
        }
        if let Err(e) = relay.tokens().refresh().await {
            tracing::debug!(error = %e, "refreshing tokens failed; keeping the cached answers");
        }
    }
}
