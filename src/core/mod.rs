//! The core API: one async function per operation, shared by the window, `/rpc` and the CLI,
//! and the in-memory snapshot of accounts and keys that the gateway and the UI read.
//!
//! The core owns the store and the vault. It reloads its snapshot after every change it
//! makes and, through [`Core::watch_external_changes`], within a second of a commit made by
//! another process (the CLI while `serve` runs).

mod accounts;
mod error;
mod keys;
mod lifecycle;
mod login;
pub mod logs;
pub mod logwriter;
mod migrate;
mod models;
pub mod pool;
mod preference;
pub mod quota;
mod refresh;
mod routes;
mod settings;
mod shared;
pub mod stats;
mod usage_live;
mod usage_refresh;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Serialize;

pub use accounts::{AccountPatch, DeleteReport, ExportReport, ImportReport, NotRevoked};
pub use error::CoreError;
pub use keys::{
    CreatedKey, DEFAULT_AZURE_API_VERSION, KeyField, KeyProblem, KeyUpdate, KeyUsage, ListOrAny, NewKey, PolicyChange,
    REASONING_EFFORTS, UsagePoint, hash_key,
};
pub use login::{DevicePrompt, LoginKind, LoginOptions, LoginProfile, LoginState, LoginStatus, LoginTicket};
pub use models::ModelInfo;
pub use refresh::RefreshError;
pub use routes::RouteTest;
pub use settings::SettingView;
pub use usage_refresh::{UsageFailure, UsageRefreshReport};

pub use crate::usage::poller::Progress;

/// Plain data types of the store that the front doors and the gateway use as values; the
/// functions that read and write SQLite stay behind the core.
pub use crate::store::accounts::{AccountRow, AccountStatus};
pub use crate::store::keys::{KeyPolicy, KeyProtocol, KeyRow, Limit, Metric, QuotaWindow};
pub use crate::store::logs::{LogFilter, LogRow};
pub use crate::store::usage::{UsageSnapshot, Window};
pub use crate::store::{CopyReport, now_millis, now_secs};

use crate::config::{Config, Env, Resolver, SecretStoreChoice};
use crate::egress::{AccountProxy, ProxyError, Route};
use crate::paths::DataPaths;
use crate::store::{self, Store};
use crate::usage::availability::Availability;
use crate::vault::{KeyringAccess, OsKeyring, Vault, VaultMeta};

/// Where the master key is kept, for the front doors to say.
pub use crate::vault::KeySource;

/// An account as the front doors show it. The row and the usage are shared with the routing
/// pool, so each account's description is held once however many snapshots are published.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    #[serde(flatten)]
    pub account: Arc<AccountRow>,
    pub usage: Option<Arc<UsageSnapshot>>,
    pub availability: Availability,
}

/// Everything the gateway and the window read, replaced whole on every change.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub accounts: Vec<AccountView>,
    pub keys: Vec<KeyRow>,
}

/// A platform key as the gateway checks it: looked up by the hash of what the client sent.
#[derive(Debug)]
pub struct GatewayKey {
    pub row: KeyRow,
    /// The Azure API key of an `azure_openai` key, opened from the vault at load time.
    pub azure_api_key: Option<String>,
}

/// Platform keys by SHA-256 hash (hex) of the full key.
pub type KeyTable = HashMap<String, Arc<GatewayKey>>;

struct Inner {
    env: Env,
    config: ArcSwap<Config>,
    store: Store,
    vault: Vault,
    snapshot: ArcSwap<Snapshot>,
    pool: ArcSwap<pool::Pool>,
    slots: pool::SlotSignal,
    keys: ArcSwap<KeyTable>,
    models: ArcSwap<Vec<ModelInfo>>,
    /// The HTTP clients, one per route (direct, the system's proxy, each proxy).
    egress: crate::egress::Egress,
    logs: logwriter::LogQueue,
    usage_queue: usage_live::UsageQueue,
    key_uses: usage_live::KeyUseQueue,
    /// Set when live usage changed since the snapshot was last brought up to date.
    usage_dirty: std::sync::atomic::AtomicBool,
    changed: tokio::sync::watch::Sender<u64>,
    /// Changes when the accounts are reloaded from the store (not when live usage is
    /// published): what background work that only cares about the account set waits on.
    reloaded: tokio::sync::watch::Sender<u64>,
    /// Held from reading the store to swapping the snapshot, so reloads land in order.
    reloading: tokio::sync::Mutex<()>,
    logins: login::Logins,
    background: lifecycle::Background,
    /// Usage calls in flight, over every refresh and poll together.
    usage_slots: tokio::sync::Semaphore,
    /// This process's name in shared state (refresh leases).
    instance_id: String,
    /// This instance's name as people read it (request logs on a shared database).
    instance_name: String,
    /// Per-key use against the keys' limits.
    quotas: quota::Quotas,
    /// The manual preferred account, tried first ([`Core::set_manual_account`]).
    preferred: std::sync::RwLock<Option<String>>,
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
    pub async fn open(env: Env) -> Result<(Core, Vec<String>), CoreError> {
        let paths = DataPaths::resolve(env.get("CODEXMANAGER_DB_PATH"), &crate::paths::exe_dir());
        Core::open_at(env, paths, None).await
    }

    /// As [`Core::open`], with explicit data paths and, optionally, a keyring to use instead
    /// of the OS one.
    pub async fn open_at(
        env: Env,
        paths: DataPaths,
        keyring: Option<&dyn KeyringAccess>,
    ) -> Result<(Core, Vec<String>), CoreError> {
        let instance_name = instance_name(&env);
        let store = open_store(&env, &paths, &instance_name).await?;
        let mut stored = store.settings().await?;
        // Secret settings are sealed: they are read once the vault is open.
        let sealed_settings: HashMap<String, String> =
            crate::config::SECRET_SETTINGS.iter().filter_map(|key| stored.remove_entry(*key)).collect();
        let (config, _) = Resolver::new(&env, &stored).resolve(paths.clone());
        let vault = unlock_vault(&store, &env, &config, keyring).await?;
        let logs = logwriter::LogQueue::spawn(store.clone());
        let usage_queue = usage_live::UsageQueue::spawn(store.clone());
        let key_uses = usage_live::KeyUseQueue::spawn(store.clone());
        let models = models::load(&store).await?;
        let (changed, _) = tokio::sync::watch::channel(0);
        let core = Core {
            inner: Arc::new(Inner {
                env,
                config: ArcSwap::from_pointee(config),
                store,
                vault,
                snapshot: ArcSwap::from_pointee(Snapshot::default()),
                pool: ArcSwap::from_pointee(pool::Pool::default()),
                slots: pool::SlotSignal::default(),
                keys: ArcSwap::from_pointee(KeyTable::new()),
                models: ArcSwap::from_pointee(models),
                egress: crate::egress::Egress::default(),
                logs,
                usage_queue,
                key_uses,
                usage_dirty: std::sync::atomic::AtomicBool::new(false),
                changed,
                reloaded: tokio::sync::watch::Sender::new(0),
                reloading: tokio::sync::Mutex::new(()),
                logins: login::Logins::default(),
                background: lifecycle::Background::default(),
                usage_slots: tokio::sync::Semaphore::new(crate::usage::poller::CONCURRENCY),
                instance_id: uuid::Uuid::new_v4().simple().to_string(),
                instance_name,
                quotas: quota::Quotas::default(),
                preferred: std::sync::RwLock::new(None),
            }),
        };
        stored.extend(sealed_settings);
        core.open_secret_settings(&mut stored);
        let (config, warnings) = Resolver::new(core.env(), &stored).resolve(paths);
        core.inner.config.store(Arc::new(config));
        core.reload().await?;
        let since = store::now_millis() - 31 * 86_400_000;
        let uses = core.inner.store.slot_use_since(since, None).await?;
        core.inner.quotas.restore(uses);
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

    /// The account pool as routing reads it.
    pub fn pool(&self) -> Arc<pool::Pool> {
        self.inner.pool.load_full()
    }

    /// In-flight slots: taking one, and waiting for one to be freed.
    pub fn slots(&self) -> &pool::SlotSignal {
        &self.inner.slots
    }

    /// Platform keys by hash, for the gateway's key check (memory only).
    pub fn keys(&self) -> Arc<KeyTable> {
        self.inner.keys.load_full()
    }

    /// Where an account's traffic leaves: its own proxy, else the global one, else the
    /// system's settings. An account whose stored proxy cannot be read has no route: it must
    /// not go out any other way.
    pub fn route_of(&self, account: &pool::PoolAccount) -> Result<Route, ProxyError> {
        let choice = account.proxy.as_ref().ok_or_else(|| {
            ProxyError::Invalid(
                "(sealed)".into(),
                "the account's stored proxy does not open with this master key".into(),
            )
        })?;
        Ok(Route::of(choice, self.config().upstream_proxy.as_ref()))
    }

    /// The HTTP client for an account's route, and the route (for error messages).
    pub fn client_for(&self, account: &pool::PoolAccount) -> Result<(reqwest::Client, Route), ProxyError> {
        let route = self.route_of(account)?;
        Ok((self.client_on(&route)?, route))
    }

    /// The HTTP client for a route (connection reuse, HTTP/2 where offered).
    pub fn client_on(&self, route: &Route) -> Result<reqwest::Client, ProxyError> {
        self.inner.egress.client(route, self.config().upstream_connect_timeout_secs)
    }

    /// The route of calls made for no account yet (a sign-in through `proxy`).
    pub fn route_for_new(&self, proxy: &AccountProxy) -> Route {
        Route::of(proxy, self.config().upstream_proxy.as_ref())
    }

    /// A receiver that changes whenever the snapshot is replaced (the window repaints on it).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// A receiver that changes when the accounts and keys are reloaded from the store (not on
    /// every publication of live usage, which happens once a second under traffic).
    pub(crate) fn subscribe_reloads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.reloaded.subscribe()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Re-reads accounts, usage and keys from the store and swaps the snapshot.
    pub async fn reload(&self) -> Result<(), CoreError> {
        let _in_order = self.inner.reloading.lock().await;
        let read_at = store::now_millis();
        let store::Stored { accounts, usage, keys, tokens: sealed } = self.inner.store.load().await?;
        let mut usage: HashMap<String, Arc<UsageSnapshot>> =
            usage.into_iter().map(|u| (u.account_id.clone(), Arc::new(u))).collect();
        let now = store::now_secs();
        // A new vector of the views' own size: collecting in place would keep the rows'
        // allocation, ten times larger, for as long as the snapshot lives.
        let mut views = Vec::with_capacity(accounts.len());
        views.extend(accounts.into_iter().map(|account| {
            let usage = usage.remove(&account.id);
            let availability =
                Availability::of(account.status, account.status_reason.as_deref(), usage.as_deref(), now);
            AccountView { account: Arc::new(account), usage, availability }
        }));
        let accounts = views;
        let pool =
            pool::rebuild(&self.inner.pool.load(), &accounts, sealed.into_iter().collect(), &self.inner.vault, read_at);
        self.inner.pool.store(Arc::new(self.in_preferred_order(pool)));
        self.inner.keys.store(Arc::new(self.key_table(&keys)));
        self.inner.snapshot.store(Arc::new(Snapshot { accounts, keys }));
        self.inner.changed.send_modify(|version| *version += 1);
        self.inner.reloaded.send_modify(|version| *version += 1);
        Ok(())
    }

    fn key_table(&self, keys: &[KeyRow]) -> KeyTable {
        keys.iter()
            .map(|row| {
                let azure_api_key = row.sealed_azure_key.as_ref().and_then(|blob| {
                    let opened = self.inner.vault.open(&keys::azure_purpose(&row.id), blob).ok();
                    opened.and_then(|plain| String::from_utf8(plain).ok())
                });
                (row.key_hash.clone(), Arc::new(GatewayKey { row: row.clone(), azure_api_key }))
            })
            .collect()
    }

    /// Applies the changes other instances announce (PostgreSQL) as they arrive, and asks the
    /// store once a second whether another process committed (SQLite's `data_version`),
    /// reloading when one did; on the same tick, brings live usage into the snapshot the
    /// window reads.
    pub fn watch_external_changes(&self) -> tokio::task::JoinHandle<()> {
        let mut changes = self.inner.store.subscribe_changes();
        let core = self.clone();
        tokio::spawn(async move {
            let mut last = None;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let stats_due = Arc::new(std::sync::atomic::AtomicBool::new(false));
            loop {
                let next_change = async {
                    match changes.as_mut() {
                        Some(changes) => changes.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    change = next_change => {
                        match change {
                            Some(change) => core.apply_change(change, &stats_due).await,
                            None => changes = None,
                        }
                        continue;
                    }
                    _ = tick.tick() => {}
                }
                core.publish_live_usage();
                let Ok(Some(version)) = core.inner.store.change_marker().await else {
                    continue;
                };
                if last.is_some_and(|seen| seen != version)
                    && let Err(err) = core.reload().await
                {
                    tracing::warn!("reloading after an external change failed: {err}");
                }
                last = Some(version);
            }
        })
    }

    /// Stops the background tasks and writes everything queued (request logs, usage) before
    /// the process exits.
    pub async fn shutdown(&self) {
        self.stop_background();
        self.save_all_unsaved().await;
        self.inner.logs.flush().await;
        self.inner.usage_queue.flush().await;
        self.inner.key_uses.flush().await;
    }

    /// This process's name in state shared with other processes.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// This instance's name as request logs on a shared database show it:
    /// `CODEXMANAGER_INSTANCE_NAME`, else the host name and process id.
    pub fn instance_name(&self) -> &str {
        &self.inner.instance_name
    }

    /// Where the data lives: the SQLite file, or the PostgreSQL URL with its password masked.
    pub fn store_location(&self) -> String {
        self.inner.store.location()
    }

    /// Per-key use against the keys' limits (memory only: the request path's view).
    pub fn quotas(&self) -> &quota::Quotas {
        &self.inner.quotas
    }

    /// The merged environment the core was opened with.
    pub fn env(&self) -> &Env {
        &self.inner.env
    }
}

/// The database `env` names: PostgreSQL when `CODEXMANAGER_DATABASE_URL` is set, else the
/// SQLite file of `paths`.
async fn open_store(env: &Env, paths: &DataPaths, instance: &str) -> Result<Store, CoreError> {
    match env.get("CODEXMANAGER_DATABASE_URL").map(str::trim).filter(|url| !url.is_empty()) {
        Some(url) if store::is_postgres_url(url) => Ok(Store::open_postgres(url, instance).await?),
        Some(url) => Err(CoreError::Invalid(format!(
            "CODEXMANAGER_DATABASE_URL must be a postgres:// or postgresql:// URL; got {}. For the embedded \
             SQLite database leave it unset (CODEXMANAGER_DB_PATH names the file)",
            store::redact(url)
        ))),
        None => {
            let db = paths.db.clone();
            tokio::task::spawn_blocking(move || Store::open_sqlite(&db))
                .await
                .map_err(|_| CoreError::Worker)?
                .map_err(Into::into)
        }
    }
}

/// `CODEXMANAGER_INSTANCE_NAME`, else `host:pid`.
fn instance_name(env: &Env) -> String {
    if let Some(name) = env.get("CODEXMANAGER_INSTANCE_NAME").map(str::trim).filter(|n| !n.is_empty()) {
        return name.to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Opens the vault: with the master key the environment gives (CODEXMANAGER_MASTER_KEY or
/// _FILE), else the keyring's or the key file's. A shared (PostgreSQL) database needs a given
/// key. A key that does not open the stored check value is refused before anything is written.
async fn unlock_vault(
    store: &Store,
    env: &Env,
    config: &Config,
    keyring: Option<&dyn KeyringAccess>,
) -> Result<Vault, CoreError> {
    let given = crate::vault::given_key(
        env.get("CODEXMANAGER_MASTER_KEY").filter(|k| !k.trim().is_empty()),
        env.get("CODEXMANAGER_MASTER_KEY_FILE").filter(|p| !p.trim().is_empty()).map(std::path::Path::new),
    )?;
    if given.is_none() && store.sqlite_path().is_none() {
        return Err(CoreError::Invalid(
            "a PostgreSQL database is shared by every instance, so its master key cannot live in one machine's \
             keyring or key file: give every instance the same CODEXMANAGER_MASTER_KEY (32 random bytes in base64, \
             e.g. from `openssl rand -base64 32`) or CODEXMANAGER_MASTER_KEY_FILE"
                .into(),
        ));
    }
    let fresh = uuid::Uuid::new_v4().simple().to_string();
    let vault_id = store.meta_or_insert("vault_id", fresh.into_bytes()).await?;
    let vault_id = String::from_utf8_lossy(&vault_id).into_owned();
    let check = store.meta("vault_check").await?;
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
    let vault = match given {
        Some((key, source)) => Vault::with_given_key(key, source, &meta)?,
        None => Vault::unlock(config.secret_store, &config.paths.key_file(), keyring, &meta)?,
    };
    if check.is_none() {
        let check = vault.make_check();
        store.meta_or_insert("vault_check", check).await?;
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
