//! SQLite storage: opening the database (WAL), migrating it, and one file per table family.
//!
//! The store knows rows and SQL, nothing about HTTP, the UI or how secrets are sealed: it
//! stores sealed blobs as it is given them. All calls are blocking; async callers go through
//! [`Store::call`], which runs them on tokio's blocking pool.

pub mod accounts;
pub mod keys;
pub mod logs;
mod migrations;
pub mod models;
pub mod settings;
pub mod usage;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use migrations::SCHEMA_VERSION;

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
    #[error("{0}")]
    NotFound(String),
    #[error("the database worker stopped unexpectedly")]
    Worker,
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database and migrates it to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_path_buf(), source })?;
        }
        let open_error =
            |err: rusqlite::Error| StoreError::Open { path: path.to_path_buf(), reason: why_not(path, &err) };
        let mut conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_error)?;
        let with_path = |err: StoreError| match err {
            StoreError::Sqlite(err) => open_error(err),
            other => other,
        };
        migrations::refuse_newer(&conn, path).map_err(with_path)?;
        configure(&conn).map_err(open_error)?;
        migrations::migrate(&mut conn, path).map_err(with_path)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)), path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the calling thread.
    pub fn with<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut guard = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Runs `f` on tokio's blocking pool, so async tasks never wait on SQLite.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.with(f)).await.map_err(|_| StoreError::Worker)?
    }

    /// SQLite's `data_version`: changes when another connection (another process) commits.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.with(|conn| Ok(conn.query_row("PRAGMA data_version", [], |row| row.get(0))?))
    }
}

/// Why a database file cannot be used, in words that say what to do.
fn why_not(path: &Path, err: &rusqlite::Error) -> String {
    if let Err(io) = std::fs::OpenOptions::new().read(true).write(true).open(path)
        && io.kind() == std::io::ErrorKind::PermissionDenied
    {
        return "permission denied: the file belongs to another user or is read-only (check its owner and mode)".into();
    }
    describe(err)
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

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
