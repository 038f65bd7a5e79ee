//! The core API: one async function per operation, shared by the window, `/rpc` and the CLI,
//! and the in-memory snapshot of accounts and keys that the gateway and the UI read.
//!
//! The core owns the store and the vault. It reloads its snapshot after every change it
//! makes and, through [`Core::watch_external_changes`], within a second of a commit made by
//! another process (the CLI while `serve` runs).

mod accounts;
mod error;
mod keys;
pub mod logs;
pub mod logwriter;
mod settings;
pub mod stats;
mod usage_records;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Serialize;

pub use accounts::{AccountPatch, ExportReport, ImportReport};
pub use error::CoreError;
pub use keys::{CreatedKey, NewKey};
pub use settings::SettingView;

use crate::config::{Config, Env, Resolver, SecretStoreChoice};
use crate::paths::DataPaths;
use crate::store::accounts::AccountRow;
use crate::store::keys::KeyRow;
use crate::store::usage::UsageSnapshot;
use crate::store::{self, Store};
use crate::usage::availability::Availability;
use crate::vault::{KeyringAccess, OsKeyring, Vault, VaultMeta};

/// An account as the front doors show it.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    #[serde(flatten)]
    pub account: AccountRow,
    pub usage: Option<UsageSnapshot>,
    pub availability: Availability,
}

/// Everything the gateway and the window read, replaced whole on every change.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub accounts: Vec<AccountView>,
    pub keys: Vec<KeyRow>,
}

struct Inner {
    env: Env,
    config: ArcSwap<Config>,
    store: Store,
    vault: Vault,
    snapshot: ArcSwap<Snapshot>,
    logs: logwriter::LogQueue,
    changed: tokio::sync::watch::Sender<u64>,
}

/// The core API. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

impl Core {
    /// Opens the store and the vault for `env`, using the OS keyring when configured.
    /// Returns the configuration warnings for the caller to log.
    ///
    /// Must be called inside a tokio runtime (the log writer is spawned on it).
    pub fn open(env: Env) -> Result<(Core, Vec<String>), CoreError> {
        let paths = DataPaths::resolve(env.get("CODEXMANAGER_DB_PATH"), &crate::paths::exe_dir());
        Core::open_at(env, paths, None)
    }

    /// As [`Core::open`], with explicit data paths and, optionally, a keyring to use instead
    /// of the OS one.
    pub fn open_at(
        env: Env,
        paths: DataPaths,
        keyring: Option<&dyn KeyringAccess>,
    ) -> Result<(Core, Vec<String>), CoreError> {
        let store = Store::open(&paths.db)?;
        let stored = store.with(|conn| store::settings::all(conn))?;
        let (config, warnings) = Resolver::new(&env, &stored).resolve(paths);
        let vault = unlock_vault(&store, &config, keyring)?;
        let logs = logwriter::LogQueue::spawn(store.clone());
        let (changed, _) = tokio::sync::watch::channel(0);
        let core = Core {
            inner: Arc::new(Inner {
                env,
                config: ArcSwap::from_pointee(config),
                store,
                vault,
                snapshot: ArcSwap::from_pointee(Snapshot::default()),
                logs,
                changed,
            }),
        };
        core.reload_blocking()?;
        Ok((core, warnings))
    }

    pub fn config(&self) -> Arc<Config> {
        self.inner.config.load_full()
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    pub fn logs(&self) -> &logwriter::LogQueue {
        &self.inner.logs
    }

    /// A receiver that changes whenever the snapshot is replaced (the window repaints on it).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Re-reads accounts, usage and keys from SQLite and swaps the snapshot.
    pub async fn reload(&self) -> Result<(), CoreError> {
        let core = self.clone();
        tokio::task::spawn_blocking(move || core.reload_blocking()).await.map_err(|_| CoreError::Worker)?
    }

    fn reload_blocking(&self) -> Result<(), CoreError> {
        let (accounts, usage, keys) = self
            .inner
            .store
            .with(|conn| Ok((store::accounts::list(conn)?, store::usage::all(conn)?, store::keys::list(conn)?)))?;
        let mut usage: HashMap<String, UsageSnapshot> = usage.into_iter().map(|u| (u.account_id.clone(), u)).collect();
        let now = store::now_secs();
        let accounts = accounts
            .into_iter()
            .map(|account| {
                let usage = usage.remove(&account.id);
                let availability =
                    Availability::of(account.status, account.status_reason.as_deref(), usage.as_ref(), now);
                AccountView { account, usage, availability }
            })
            .collect();
        self.inner.snapshot.store(Arc::new(Snapshot { accounts, keys }));
        self.inner.changed.send_modify(|version| *version += 1);
        Ok(())
    }

    /// Polls SQLite's `data_version` once a second and reloads when another process committed.
    pub fn watch_external_changes(&self) -> tokio::task::JoinHandle<()> {
        let core = self.clone();
        tokio::spawn(async move {
            let mut last = None;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let store = core.inner.store.clone();
                let Ok(Ok(version)) = tokio::task::spawn_blocking(move || store.data_version()).await else {
                    continue;
                };
                if last.is_some_and(|seen| seen != version) {
                    if let Err(err) = core.reload().await {
                        tracing::warn!("reloading after an external change failed: {err}");
                    }
                }
                last = Some(version);
            }
        })
    }

    /// Writes everything queued (request logs) before the process exits.
    pub async fn shutdown(&self) {
        self.inner.logs.flush().await;
    }

    /// The merged environment the core was opened with.
    pub fn env(&self) -> &Env {
        &self.inner.env
    }
}

fn unlock_vault(store: &Store, config: &Config, keyring: Option<&dyn KeyringAccess>) -> Result<Vault, CoreError> {
    let vault_id = store.with(|conn| {
        let fresh = uuid::Uuid::new_v4().simple().to_string();
        store::settings::meta_get_or_insert(conn, "vault_id", fresh.as_bytes())
    })?;
    let vault_id = String::from_utf8_lossy(&vault_id).into_owned();
    let check = store.with(|conn| store::settings::meta_get(conn, "vault_check"))?;
    let meta = VaultMeta { vault_id: &vault_id, check: check.as_deref() };
    let os_keyring;
    let keyring: &dyn KeyringAccess = match keyring {
        Some(keyring) => keyring,
        None if config.secret_store == SecretStoreChoice::File => &NoKeyring,
        None => {
            os_keyring = OsKeyring::new();
            &os_keyring
        }
    };
    let vault = Vault::unlock(config.secret_store, &config.paths.key_file(), keyring, &meta)?;
    if check.is_none() {
        let check = vault.make_check();
        store.with(|conn| store::settings::meta_get_or_insert(conn, "vault_check", &check))?;
    }
    Ok(vault)
}

/// Stands in for the keyring when the file store is forced; never consulted then.
struct NoKeyring;

impl KeyringAccess for NoKeyring {
    fn get(&self, _: &str) -> Result<Option<String>, String> {
        Err("keyring not used (CODEXMANAGER_SECRET_STORE=file)".into())
    }
    fn set(&self, _: &str, _: &str) -> Result<(), String> {
        Err("keyring not used (CODEXMANAGER_SECRET_STORE=file)".into())
    }
}
