//! The start-up sequence the window and `serve` share: open the core (logging what the
//! configuration warned about), then start its background work (changes other processes
//! commit, usage polling, token keeping, log pruning). Each then starts the service its own
//! way: `serve` fails without it, the window shows why it did not start.

use crate::config::Env;
use crate::core::Core;
use crate::paths::DataPaths;

/// Opens the store and the vault; what every command does first.
pub async fn open_core(env: Env, paths: DataPaths) -> anyhow::Result<Core> {
    let (core, warnings) = Core::open_at(env, paths, None).await?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    Ok(core)
}

/// Opens the core and starts its background work, for the window and `serve`.
pub async fn open_running(env: Env, paths: DataPaths) -> anyhow::Result<Core> {
    let core = open_core(env, paths).await?;
    tracing::info!(
        db = %core.store_location(),
        secrets = %core.vault().source().describe(),
        "data loaded"
    );
    core.watch_external_changes();
    core.spawn_background();
    Ok(core)
}
