//! The embedded backend: one SQLite file in WAL mode, one writer connection and a few read
//! connections. WAL lets readers and the writer run at once, so a Logs search or a reload
//! never queues behind the log writer or a token save. Every call runs on tokio's blocking
//! pool; async tasks never wait on SQLite.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::{StoreError, Stored, accounts, keys, migrations, usage};

/// Read connections: a Logs search and a reload can run beside each other and the writer.
const READERS: usize = 2;

/// How long an opener waits for another process's lock before it gives up; `describe` says
/// this number in its message.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

struct Connections {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// An open SQLite database; cheap to clone.
#[derive(Clone)]
pub(super) struct Sqlite {
    connections: Arc<Connections>,
    path: PathBuf,
}

impl Sqlite {
    /// Opens (creating if needed) the database and migrates it to the current schema.
    pub(super) fn open(path: &Path) -> Result<Sqlite, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_path_buf(), source })?;
        }
        let open_error =
            |err: rusqlite::Error| StoreError::Open { path: path.to_path_buf(), reason: why_not(path, &err) };
        let with_path = |err: StoreError| match err {
            StoreError::Sqlite(err) => open_error(err),
            other => other,
        };
        let mut writer = Connection::open(path).map_err(open_error)?;
        writer.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        migrations::refuse_newer(&writer, path).map_err(with_path)?;
        configure(&writer).map_err(open_error)?;
        migrations::migrate(&mut writer, path).map_err(with_path)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(open_error)?;
            reader.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
            readers.push(Mutex::new(reader));
        }
        let connections = Connections { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0) };
        Ok(Sqlite { connections: Arc::new(connections), path: path.to_path_buf() })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the writer connection on the calling thread.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut guard = self.connections.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Runs `f` with a read connection on the calling thread: the first one free, else the
    /// next in turn.
    fn with_reader<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let readers = &self.connections.readers;
        let free = readers.iter().find_map(|reader| reader.try_lock().ok());
        let mut guard = match free {
            Some(guard) => guard,
            None => {
                let turn = self.connections.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
                readers[turn].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
            }
        };
        f(&mut guard)
    }

    /// Runs `f` with the writer connection on tokio's blocking pool.
    pub(super) async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.with(f)).await.map_err(|_| StoreError::Worker)?
    }

    /// Runs `f` with a read connection on tokio's blocking pool.
    pub(super) async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.with_reader(|conn| f(conn))).await.map_err(|_| StoreError::Worker)?
    }

    /// As [`Sqlite::read`], inside one read transaction: every query sees the same commit.
    pub(super) async fn read_tx<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let db = self.clone();
        let run = move || {
            db.with_reader(|conn| {
                let tx = conn.transaction()?;
                let result = f(&tx)?;
                tx.commit()?;
                Ok(result)
            })
        };
        tokio::task::spawn_blocking(run).await.map_err(|_| StoreError::Worker)?
    }
}

/// SQLite's `data_version`: changes when another connection (another process) commits.
pub(super) fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA data_version", [], |row| row.get(0))?)
}

/// Everything the core keeps in memory. The pages this read brought into the connection's
/// cache (up to its 2 MB) are given back after: the whole table is read once per reload, and
/// holding it cached twice — as pages and as the rows in memory — is what an idle gateway with
/// thousands of accounts would spend its memory on.
pub(super) fn load(conn: &Connection) -> Result<Stored, StoreError> {
    let stored = Stored {
        accounts: accounts::list(conn)?,
        usage: usage::all(conn)?,
        keys: keys::list(conn)?,
        tokens: accounts::all_tokens(conn)?,
    };
    conn.execute_batch("PRAGMA shrink_memory")?;
    Ok(stored)
}

/// Why a database file cannot be used, in words that say what to do.
fn why_not(path: &Path, err: &rusqlite::Error) -> String {
    if let Err(io) = std::fs::OpenOptions::new().read(true).write(true).open(path)
        && io.kind() == std::io::ErrorKind::PermissionDenied
    {
        return "permission denied: the file belongs to another user or is read-only (check its owner and mode)".into();
    }
    super::describe(err)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    switch_to_wal(conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Switching a rollback-journal file to WAL takes an exclusive lock, and SQLite answers a
/// taken one at once instead of calling the busy handler; so while another process is opening
/// the same old file, this retries for as long as the busy timeout would have waited.
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(err) if is_busy(&err) && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            done => return done,
        }
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}
