//! Following the store: publishing the changes other processes commit (another replica,
//! an offline import) as soon as they are heard of. PostgreSQL pushes each committed
//! configuration version (`NOTIFY`), and a lost connection is made good by reading the
//! change feed from the last applied version; a short poll of the version covers SQLite
//! (one host) and anything a notification missed. Tokens and users are reloaded when
//! their version moves.

use std::time::Duration;

use crate::core::Core;

/// Runs until the task is aborted.
pub async fn follow(core: Core, poll: Duration) {
    let listener = tokio::spawn(listen(core.clone()));
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let _abort_listener = AbortOnDrop(listener);
    loop {
        tick.tick().await;
        if let Err(e) = core.reload_auth().await {
            tracing::warn!(error = ?e, "reloading tokens and users failed");
        }
        match core.store().version().await {
            Ok(v) => {
                core.saw_version(v);
                if v > core.published().version {
                    catch_up(&core).await;
                }
            }
            Err(e) => tracing::warn!(error = ?e, "polling the store failed"),
        }
    }
}

/// Listens for committed versions where the store pushes them; returns at once where
/// it does not.
async fn listen(core: Core) {
    loop {
        let mut notifications = match core.store().notifications().await {
            Ok(Some(n)) => n,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = ?e, "listening for changes failed; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        tracing::debug!("listening for changes");
        // Whatever was committed before the listener was in place.
        catch_up(&core).await;
        loop {
            match notifications.next().await {
                Ok(Some(version)) => {
                    // The channel is database-wide: another schema's writes are heard
                    // too, so the version is only a hint; catching up reads the real one.
                    if version > core.published().version {
                        catch_up(&core).await;
                    }
                }
                Ok(None) => {
                    tracing::info!("the change notifications connection was lost; catching up");
                    catch_up(&core).await;
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "change notifications failed; listening again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
        }
    }
}

async fn catch_up(core: &Core) {
    if let Err(e) = core.reload().await {
        tracing::warn!(error = ?e, "catching up with the store failed");
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
