//! Storage behind one interface, [`Store`]: the core calls its async methods (one per thing it
//! reads or writes) and never sees SQL, a connection or the backend.
//!
//! [`sqlite`] is the embedded backend (the desktop, a single `serve`): one writer connection
//! and separate read connections in WAL mode, so a Logs search never waits behind the log
//! writer or a token save. [`postgres`] is a team's: a connection pool, its own migrations. The table-family files (`accounts`, `keys`, `logs`, `models`,
//! `settings`, `stats`, `usage`) hold the row types every backend shares and their SQLite
//! statements. The store knows rows and SQL, nothing about HTTP, the UI or how secrets are
//! sealed: it stores sealed blobs as it is given them.

pub mod accounts;
mod copy;
pub mod keys;
pub mod logs;
mod migrations;
pub mod models;
mod postgres;
pub mod settings;
mod sqlite;
pub mod stats;
pub mod usage;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use copy::CopyReport;
pub use migrations::SCHEMA_VERSION;
pub use postgres::{is_postgres_url, redact};

use accounts::{AccountRow, AccountStatus, AccountWrite, Existing, Select};
use keys::{KeyPolicy, KeyRow};
use logs::{LogFilter, LogRow, SlotUse};
use models::CachedModel;
use stats::{DashboardStats, KeyUsage, Ranges};
use usage::UsageSnapshot;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("cannot create the data folder {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error(
        "the database {path} was written by a newer CodexManager (schema version {found}; this build \
         understands up to {supported}). It was left untouched: update CodexManager, or set \
         CODEXMANAGER_DB_PATH to another file"
    )]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("migrating the database to schema version {version} failed (nothing was changed): {reason}")]
    Migration { version: i64, reason: String },
    #[error("database error: {}", describe(.0))]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot connect to PostgreSQL at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("PostgreSQL error: {0}")]
    Postgres(String),
    #[error(
        "the PostgreSQL database was written by a newer CodexManager (schema version {found}; this build \
         understands up to {supported}). It was left untouched: update every instance of CodexManager"
    )]
    TooNewPostgres { found: i64, supported: i64 },
    #[error(
        "the PostgreSQL database at {url} is not empty (it holds {holds}); nothing was copied. migrate copies \
         only into an empty database: create a new one (createdb) and name it instead"
    )]
    TargetNotEmpty { url: String, holds: String },
    #[error("migrate copies the embedded SQLite database; this one already is PostgreSQL ({0})")]
    NotSqlite(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the database worker stopped unexpectedly")]
    Worker,
}

/// Every account's sealed token set, by account id, in the shared form the routing pool keeps.
pub type SealedTokens = Vec<(String, Arc<[u8]>)>;

/// Everything the core keeps in memory, read in one consistent view.
#[derive(Debug, Default)]
pub struct Stored {
    pub accounts: Vec<AccountRow>,
    pub usage: Vec<UsageSnapshot>,
    pub keys: Vec<KeyRow>,
    pub tokens: SealedTokens,
}

/// A change another instance committed (PostgreSQL), for the core to apply to memory.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Accounts were added, edited, deleted, or got new tokens.
    Accounts,
    Keys,
    Settings,
    Models,
    /// An account's cooldown, with when it ends (Unix seconds) and why.
    Cooldown {
        account_id: String,
        until_secs: Option<i64>,
        reason: Option<String>,
    },
    /// These accounts' usage snapshots were replaced.
    Usage(Vec<String>),
    /// Request totals grew (quota counters).
    Stats,
    /// Changes may have been missed (the listener connected or reconnected): read everything
    /// again.
    Resync,
}

/// An account's refresh lock across instances, held until [`RefreshLock::release`].
pub struct RefreshLock(postgres::XactLock);

impl RefreshLock {
    pub async fn release(self) {
        self.0.release().await;
    }
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    /// This instance's name, stored with each request-log row where the backend keeps it.
    instance: Arc<str>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it to
    /// [`SCHEMA_VERSION`].
    pub fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        Ok(Store { backend: Arc::new(Backend::Sqlite(sqlite::Sqlite::open(path)?)), instance: Arc::from("") })
    }

    /// Connects to the PostgreSQL database at `url` and migrates it; `instance` names this
    /// process in the rows it writes.
    pub async fn open_postgres(url: &str, instance: &str) -> Result<Store, StoreError> {
        let db = postgres::Postgres::open(url).await?;
        Ok(Store { backend: Arc::new(Backend::Postgres(db)), instance: Arc::from(instance) })
    }

    /// Copies this SQLite database into the empty PostgreSQL database at `url`, in one
    /// transaction; request-log rows too with `with_logs`.
    pub async fn copy_to_postgres(&self, url: &str, with_logs: bool) -> Result<CopyReport, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => copy::sqlite_to_postgres(db, url, with_logs).await,
            Backend::Postgres(pg) => Err(StoreError::NotSqlite(pg.shown().to_string())),
        }
    }

    /// Where the data lives, for messages: the SQLite file, or the URL with its password masked.
    pub fn location(&self) -> String {
        match &*self.backend {
            Backend::Sqlite(db) => db.path().display().to_string(),
            Backend::Postgres(pg) => pg.shown().to_string(),
        }
    }

    /// The SQLite file, when the store is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &*self.backend {
            Backend::Sqlite(db) => Some(db.path()),
            Backend::Postgres(_) => None,
        }
    }

    /// A value that changes when another process commits, where the backend has one (SQLite's
    /// `data_version`); `None` where changes arrive another way.
    pub async fn change_marker(&self) -> Result<Option<i64>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(|conn| sqlite::data_version(conn).map(Some)).await,
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// The changes other instances commit, as they commit (PostgreSQL); `None` for SQLite,
    /// where [`Store::change_marker`] says that something changed.
    pub fn subscribe_changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Change>> {
        match &*self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(pg) => Some(pg.listen()),
        }
    }

    /// True while this instance should run the work only one instance may run (the usage
    /// poller, the token keeper, log pruning): always with SQLite; with PostgreSQL while it
    /// holds the leader lock.
    pub fn leadership(&self) -> tokio::sync::watch::Receiver<bool> {
        match &*self.backend {
            Backend::Sqlite(_) => tokio::sync::watch::channel(true).1,
            Backend::Postgres(pg) => pg.leadership(),
        }
    }

    /// Instances sharing this database now (1 for SQLite).
    pub fn instances(&self) -> u32 {
        match &*self.backend {
            Backend::Sqlite(_) => 1,
            Backend::Postgres(pg) => pg.instances(),
        }
    }

    /// The stored usage snapshots of these accounts.
    pub async fn usage_of(&self, ids: Vec<String>) -> Result<Vec<UsageSnapshot>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => {
                db.read(move |conn| Ok(usage::all(conn)?.into_iter().filter(|u| ids.contains(&u.account_id)).collect()))
                    .await
            }
            Backend::Postgres(pg) => pg.usage_of(&ids).await,
        }
    }

    /// Accounts, usage, keys and sealed tokens as one consistent view.
    pub async fn load(&self) -> Result<Stored, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read_tx(sqlite::load).await,
            Backend::Postgres(pg) => pg.load().await,
        }
    }

    pub async fn settings(&self) -> Result<HashMap<String, String>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(settings::all).await,
            Backend::Postgres(pg) => pg.settings().await,
        }
    }

    /// Writes several settings in one transaction; returns every stored setting after it.
    pub async fn put_settings(&self, values: Vec<(String, String)>) -> Result<HashMap<String, String>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => {
                db.write(move |conn| {
                    settings::put_many(conn, &values)?;
                    settings::all(conn)
                })
                .await
            }
            Backend::Postgres(pg) => {
                pg.put_settings(&values).await?;
                pg.settings().await
            }
        }
    }

    pub async fn meta(&self, key: &'static str) -> Result<Option<Vec<u8>>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(move |conn| settings::meta_get(conn, key)).await,
            Backend::Postgres(pg) => pg.meta(key).await,
        }
    }

    /// Sets a meta value only if it is not set yet; returns the value now stored.
    pub async fn meta_or_insert(&self, key: &'static str, value: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| settings::meta_get_or_insert(conn, key, &value)).await,
            Backend::Postgres(pg) => pg.meta_or_insert(key, &value).await,
        }
    }

    pub async fn models(&self) -> Result<Vec<CachedModel>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(models::list).await,
            Backend::Postgres(pg) => pg.models().await,
        }
    }

    /// Replaces the cached model list in one transaction.
    pub async fn replace_models(&self, list: Vec<CachedModel>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| models::replace(conn, &list)).await,
            Backend::Postgres(pg) => pg.replace_models(&list).await,
        }
    }

    /// In one transaction: reads the accounts `select` names (and the largest sort), lets
    /// `plan` decide what to write, and writes it. All of it lands, or none of it.
    pub async fn write_accounts<R, F>(&self, select: Select, plan: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(Existing) -> Result<(Vec<AccountWrite>, R), StoreError> + Send + 'static,
    {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| accounts::write(conn, &select, plan)).await,
            Backend::Postgres(pg) => pg.write_accounts(select, plan).await,
        }
    }

    /// Deletes accounts (their tokens and usage go with them); returns how many existed.
    pub async fn delete_accounts(&self, ids: Vec<String>) -> Result<usize, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| accounts::delete(conn, &ids)).await,
            Backend::Postgres(pg) => pg.delete_accounts(&ids).await,
        }
    }

    /// Every account's sealed tokens.
    pub async fn all_tokens(&self) -> Result<SealedTokens, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(accounts::all_tokens).await,
            Backend::Postgres(pg) => pg.all_tokens().await,
        }
    }

    /// One account's sealed tokens as stored now (another process may have replaced them).
    pub async fn tokens_of(&self, id: String) -> Result<Option<Vec<u8>>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| accounts::get_tokens(conn, &id)).await,
            Backend::Postgres(pg) => pg.tokens_of(&id).await,
        }
    }

    /// Stores a refreshed token set with when it was refreshed and the access token's expiry.
    pub async fn save_tokens(
        &self,
        id: String,
        sealed: Vec<u8>,
        at: i64,
        access_expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => {
                db.write(move |conn| accounts::save_tokens(conn, &id, &sealed, at, access_expires_at)).await
            }
            Backend::Postgres(pg) => pg.save_tokens(&id, &sealed, at, access_expires_at).await,
        }
    }

    pub async fn set_status(
        &self,
        id: String,
        status: AccountStatus,
        reason: Option<String>,
    ) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => {
                db.write(move |conn| accounts::set_status(conn, &id, status, reason.as_deref())).await
            }
            Backend::Postgres(pg) => pg.set_status(&id, status, reason.as_deref()).await,
        }
    }

    pub async fn set_cooldown(&self, id: String, until: Option<i64>, reason: Option<String>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => {
                db.write(move |conn| accounts::set_cooldown(conn, &id, until, reason.as_deref())).await
            }
            Backend::Postgres(pg) => pg.set_cooldown(&id, until, reason.as_deref()).await,
        }
    }

    /// Locks an account's token refresh across every instance of a shared database (a
    /// transaction-scoped advisory lock), waiting up to `wait`; `None` where the backend has no
    /// such lock (SQLite: refresh leases do it).
    pub async fn lock_refresh(&self, id: &str, wait: std::time::Duration) -> Result<Option<RefreshLock>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(pg) => Ok(Some(RefreshLock(pg.xact_lock(&format!("refresh:{id}"), wait).await?))),
        }
    }

    /// Takes the refresh lease of an account for `holder` until `expires_ms`, unless another
    /// holder has it and it has not expired; true when taken.
    pub async fn take_refresh_lease(
        &self,
        id: String,
        holder: String,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<bool, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => {
                db.write(move |conn| accounts::take_refresh_lease(conn, &id, &holder, now_ms, expires_ms)).await
            }
            Backend::Postgres(pg) => pg.take_refresh_lease(&id, &holder, now_ms, expires_ms).await,
        }
    }

    pub async fn release_refresh_lease(&self, id: String, holder: String) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| accounts::release_refresh_lease(conn, &id, &holder)).await,
            Backend::Postgres(pg) => pg.release_refresh_lease(&id, &holder).await,
        }
    }

    pub async fn insert_key(&self, row: KeyRow) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| keys::insert(conn, &row)).await,
            Backend::Postgres(pg) => pg.insert_key(&row).await,
        }
    }

    pub async fn key(&self, id: String) -> Result<Option<KeyRow>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(move |conn| keys::get(conn, &id)).await,
            Backend::Postgres(pg) => pg.key(&id).await,
        }
    }

    pub async fn set_key_enabled(&self, id: String, enabled: bool) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| keys::set_enabled(conn, &id, enabled)).await,
            Backend::Postgres(pg) => pg.set_key_enabled(&id, enabled).await,
        }
    }

    pub async fn set_key_model(&self, id: String, model: Option<String>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| keys::set_model(conn, &id, model.as_deref())).await,
            Backend::Postgres(pg) => pg.set_key_model(&id, model.as_deref()).await,
        }
    }

    /// Replaces a key's name, model binding and policy.
    pub async fn update_key(
        &self,
        id: String,
        name: String,
        model: Option<String>,
        policy: KeyPolicy,
    ) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => {
                db.write(move |conn| keys::update(conn, &id, &name, model.as_deref(), &policy)).await
            }
            Backend::Postgres(pg) => pg.update_key(&id, &name, model.as_deref(), &policy).await,
        }
    }

    pub async fn delete_key(&self, id: String) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| keys::delete(conn, &id)).await,
            Backend::Postgres(pg) => pg.delete_key(&id).await,
        }
    }

    /// Records when keys were last used (latest wins).
    pub async fn touch_keys(&self, uses: Vec<(String, i64)>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| keys::touch(conn, &uses)).await,
            Backend::Postgres(pg) => pg.touch_keys(&uses).await,
        }
    }

    /// Replaces each account's usage snapshot; snapshots of deleted accounts are dropped.
    pub async fn put_usage(&self, snapshots: Vec<UsageSnapshot>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| usage::put_many(conn, &snapshots)).await,
            Backend::Postgres(pg) => pg.put_usage(&snapshots).await,
        }
    }

    /// Writes request-log rows and adds them to the 15-minute totals, in one transaction.
    pub async fn insert_logs(&self, rows: Arc<Vec<LogRow>>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| logs::insert_batch(conn, &rows)).await,
            Backend::Postgres(pg) => pg.insert_logs(&rows, &self.instance).await,
        }
    }

    /// One page of request-log rows, newest first.
    pub async fn log_page(&self, filter: LogFilter, offset: u64, limit: u64) -> Result<Vec<LogRow>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(move |conn| logs::page(conn, &filter, offset, limit)).await,
            Backend::Postgres(pg) => pg.log_page(&filter, offset, limit).await,
        }
    }

    pub async fn log_count(&self, filter: LogFilter) -> Result<u64, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(move |conn| logs::count(conn, &filter)).await,
            Backend::Postgres(pg) => pg.log_count(&filter).await,
        }
    }

    /// Deletes every request-log row and the totals kept from them; returns how many rows.
    pub async fn clear_logs(&self) -> Result<usize, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(logs::clear).await,
            Backend::Postgres(pg) => pg.clear_logs().await,
        }
    }

    /// Deletes at most `batch` of the oldest rows older than `before_ms` or beyond the newest
    /// `max_rows` (0 = no cap); returns how many went.
    pub async fn prune_logs(&self, before_ms: i64, max_rows: i64, batch: i64) -> Result<usize, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| logs::prune_batch(conn, before_ms, max_rows, batch)).await,
            Backend::Postgres(pg) => pg.prune_logs(before_ms, max_rows, batch).await,
        }
    }

    /// Deletes 15-minute totals older than `before_ms`.
    pub async fn prune_stats(&self, before_ms: i64) -> Result<usize, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.write(move |conn| logs::prune_stats(conn, before_ms)).await,
            Backend::Postgres(pg) => pg.prune_stats(before_ms).await,
        }
    }

    /// Every key's (or one key's) use per 15-minute slot since `since_ms`.
    pub async fn slot_use_since(&self, since_ms: i64, key_id: Option<String>) -> Result<Vec<SlotUse>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(move |conn| logs::slot_use_since(conn, since_ms, key_id.as_deref())).await,
            Backend::Postgres(pg) => pg.slot_use_since(since_ms, key_id.as_deref()).await,
        }
    }

    /// Today's totals and the hourly and daily buckets of `ranges`.
    pub async fn dashboard(&self, ranges: Ranges) -> Result<DashboardStats, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(move |conn| stats::dashboard(conn, &ranges)).await,
            Backend::Postgres(pg) => pg.dashboard(&ranges).await,
        }
    }

    /// Requests, tokens and last use of every key in the request totals.
    pub async fn key_usage(&self) -> Result<Vec<KeyUsage>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.read(stats::key_usage).await,
            Backend::Postgres(pg) => pg.key_usage().await,
        }
    }
}

/// An SQLite error as a person can act on it; each cause said once.
pub fn describe(err: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    let rusqlite::Error::SqliteFailure(failure, message) = err else { return err.to_string() };
    match failure.code {
        ErrorCode::NotADatabase => {
            "the file is not an SQLite database, or it is damaged; move it away or set CODEXMANAGER_DB_PATH to \
             another file"
                .into()
        }
        ErrorCode::DiskFull => "the disk is full; free some space".into(),
        ErrorCode::ReadOnly => "the database or its folder is read-only".into(),
        ErrorCode::CannotOpen => "the file cannot be opened (does its folder exist, and may you write to it?)".into(),
        ErrorCode::PermissionDenied => "permission denied".into(),
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            "the database stayed locked by another process for more than 5 seconds".into()
        }
        _ => message.clone().unwrap_or_else(|| failure.to_string()),
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
