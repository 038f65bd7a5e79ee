//! Embedded, versioned schema migrations, tracked in `PRAGMA user_version`.
//!
//! Each entry moves the schema one version forward inside one transaction, so a failed
//! migration leaves the file as it was. A database newer than this build is refused before
//! anything is written.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Version 1: the whole data model. Version 2: the gateway's model cache and persisted
/// account cooldowns. Version 3: request totals per 15 minutes. Version 4: refresh leases and
/// cooldown reasons. Version 5: per-account proxies. Version 6: key policies (limits, bindings,
/// scope) and which logged requests count against their key's quota. Version 7: request ids.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(super) const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE accounts (
    id                 TEXT PRIMARY KEY,
    identity           TEXT NOT NULL UNIQUE,
    label              TEXT NOT NULL,
    email              TEXT,
    chatgpt_account_id TEXT,
    chatgpt_user_id    TEXT,
    plan               TEXT,
    group_name         TEXT NOT NULL DEFAULT 'IMPORT',
    tags               TEXT NOT NULL DEFAULT '[]',
    note               TEXT NOT NULL DEFAULT '',
    sort               INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'active',
    status_reason      TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_refresh_at    INTEGER,
    access_expires_at  INTEGER
);
CREATE INDEX accounts_by_sort ON accounts(sort, created_at);
CREATE INDEX accounts_by_group ON accounts(group_name);

CREATE TABLE account_tokens (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    sealed     BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE usage_snapshots (
    account_id               TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    captured_at              INTEGER NOT NULL,
    source                   TEXT NOT NULL,
    plan                     TEXT,
    primary_used_percent     REAL,
    primary_window_minutes   INTEGER,
    primary_resets_at        INTEGER,
    secondary_used_percent   REAL,
    secondary_window_minutes INTEGER,
    secondary_resets_at      INTEGER,
    credits_has              INTEGER,
    credits_unlimited        INTEGER,
    credits_balance          TEXT,
    limit_reached            INTEGER
);

CREATE TABLE platform_keys (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    key_hash          TEXT NOT NULL UNIQUE,
    key_prefix        TEXT NOT NULL,
    protocol          TEXT NOT NULL CHECK (protocol IN ('openai', 'anthropic', 'azure_openai')),
    model             TEXT,
    azure_endpoint    TEXT,
    azure_api_version TEXT,
    sealed_azure_key  BLOB,
    enabled           INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    last_used_at      INTEGER
);

CREATE TABLE request_logs (
    id               INTEGER PRIMARY KEY,
    ts               INTEGER NOT NULL,
    key_id           TEXT,
    account_id       TEXT,
    upstream         TEXT,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    model            TEXT,
    reasoning_effort TEXT,
    status           INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    first_byte_ms    INTEGER,
    input_tokens     INTEGER,
    cached_tokens    INTEGER,
    output_tokens    INTEGER,
    reasoning_tokens INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 1,
    error            TEXT
);
CREATE INDEX request_logs_by_time ON request_logs(ts);
CREATE INDEX request_logs_by_account ON request_logs(account_id, ts);
CREATE INDEX request_logs_by_key ON request_logs(key_id, ts);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
"#;

const V2: &str = r#"
ALTER TABLE accounts ADD COLUMN cooldown_until INTEGER;

CREATE TABLE model_cache (
    slug         TEXT PRIMARY KEY,
    display_name TEXT,
    raw          TEXT NOT NULL,
    position     INTEGER NOT NULL,
    fetched_at   INTEGER NOT NULL
);
"#;

/// Request totals per 15-minute slot and platform key, kept beside the request log so the
/// dashboard and the key list add up a few thousand rows instead of every request. Every
/// time zone's hours and midnights fall on a 15-minute boundary.
const V3: &str = r#"
CREATE TABLE request_stats (
    slot             INTEGER NOT NULL,
    key_id           TEXT NOT NULL,
    requests         INTEGER NOT NULL,
    successes        INTEGER NOT NULL,
    input_tokens     INTEGER NOT NULL,
    cached_tokens    INTEGER NOT NULL,
    output_tokens    INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    last_ts          INTEGER NOT NULL,
    PRIMARY KEY (slot, key_id)
) WITHOUT ROWID;

INSERT INTO request_stats
SELECT (ts / 900000) * 900000, COALESCE(key_id, ''), COUNT(*), SUM(status >= 200 AND status < 300),
       SUM(COALESCE(input_tokens, 0)), SUM(COALESCE(cached_tokens, 0)), SUM(COALESCE(output_tokens, 0)),
       SUM(COALESCE(reasoning_tokens, 0)), MAX(ts)
FROM request_logs GROUP BY 1, 2;
"#;

/// Refresh leases, so two processes on one database never spend the same rotating refresh
/// token (one refreshes, the other waits and re-reads the stored tokens), and the reason an
/// account is cooling down.
const V4: &str = r#"
CREATE TABLE refresh_leases (
    account_id TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE accounts ADD COLUMN cooldown_reason TEXT;
"#;

/// An account's proxy: `proxy` is what is shown (`direct`, or the URL with its password
/// masked; NULL = inherit the global setting), `proxy_sealed` the whole URL, sealed.
const V5: &str = r#"
ALTER TABLE accounts ADD COLUMN proxy TEXT;
ALTER TABLE accounts ADD COLUMN proxy_sealed BLOB;
"#;

/// A platform key's policy (limits, expiry, allowed models, reasoning effort, groups,
/// concurrency) as JSON; `counted` = the requests of a slot that count against their key's
/// quota (all but those its own limits refused).
const V6: &str = r#"
ALTER TABLE platform_keys ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';
ALTER TABLE request_stats ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
UPDATE request_stats SET counted = requests;
"#;

/// The id of each logged request (the client's `x-request-id`, or one the gateway made).
const V7: &str = r#"
ALTER TABLE request_logs ADD COLUMN request_id TEXT;
"#;

/// Refuses a database from a newer build before anything (even the journal mode) is written.
pub(super) fn refuse_newer(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
    }
    Ok(())
}

/// Applies the missing migrations, each in its own `BEGIN IMMEDIATE` transaction that reads
/// the version again after taking the write lock: two processes opening one old file wait for
/// each other, and the second finds the work done instead of doing it twice.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    refuse_newer(conn, path)?;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found >= SCHEMA_VERSION {
        return Ok(());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        let step = |conn: &mut Connection| -> rusqlite::Result<bool> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
            if found >= version {
                return Ok(false);
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
            Ok(true)
        };
        let applied = step(conn).map_err(|err| StoreError::Migration { version, reason: super::describe(&err) })?;
        if applied {
            tracing::info!(version, "database schema migrated");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_migrates_to_the_current_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let store = crate::store::sqlite::Sqlite::open(&path).unwrap();
        let version: i64 = store.with(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = store.with(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn previous_version_migrates_forward_keeping_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(V1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO accounts (id, identity, label, created_at, updated_at) VALUES ('a1', 'i1', 'kept', 1, 1)",
                [],
            )
            .unwrap();
            conn.execute("INSERT INTO account_tokens VALUES ('a1', x'0102', 1)", []).unwrap();
        }
        let store = crate::store::sqlite::Sqlite::open(&path).unwrap();
        let (label, cooldown): (String, Option<i64>) = store
            .with(|c| {
                Ok(c.query_row("SELECT label, cooldown_until FROM accounts WHERE id='a1'", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?)
            })
            .unwrap();
        assert_eq!(label, "kept");
        assert_eq!(cooldown, None);
        let sealed: Vec<u8> =
            store.with(|c| Ok(c.query_row("SELECT sealed FROM account_tokens", [], |r| r.get(0))?)).unwrap();
        assert_eq!(sealed, vec![1, 2]);
    }

    #[test]
    fn two_processes_opening_an_old_file_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..3 {
            let path = dir.path().join(format!("race-{round}.db"));
            {
                let conn = Connection::open(&path).unwrap();
                conn.execute_batch(V1).unwrap();
                conn.pragma_update(None, "user_version", 1).unwrap();
            }
            let openers: Vec<_> = (0..8)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || crate::store::sqlite::Sqlite::open(&path).map(|_| ()))
                })
                .collect();
            for opener in openers {
                opener.join().unwrap().expect("every opener finds the schema migrated");
            }
            let conn = Connection::open(&path).unwrap();
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(version, SCHEMA_VERSION);
            let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
            assert_eq!(mode, "wal");
        }
    }

    #[test]
    fn newer_database_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE future (x); INSERT INTO future VALUES (42);").unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5).unwrap();
        }
        let err = crate::store::sqlite::Sqlite::open(&path).err().expect("must refuse");
        let message = err.to_string();
        assert!(message.contains("newer CodexManager"), "{message}");
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION + 5);
        let x: i64 = conn.query_row("SELECT x FROM future", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 42);
    }
}
