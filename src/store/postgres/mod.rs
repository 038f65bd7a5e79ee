//! The PostgreSQL backend, for a team's `serve` instances sharing one pool: a connection pool
//! (deadpool) for the queries, its own versioned migrations (tracked in `schema_version`,
//! applied under an advisory lock so instances starting together migrate once), and the
//! statements of every store operation in PostgreSQL's dialect (`ops`).
//!
//! Connections use no TLS: the URL's `sslmode` may be `disable` or `prefer` (the default),
//! not `require`. Run PostgreSQL on a private network or through a TLS-terminating tunnel.

mod migrations;
pub(super) mod ops;
mod shared;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::StoreError;

/// Connections in the pool: a reload, a Logs search, the log writer and a token save at once,
/// with room to spare.
const POOL_SIZE: usize = 16;
/// How long a query waits for a free connection, or for a new one to connect, before it
/// fails with a message instead of hanging (a database that went away, a pool held by
/// refreshes waiting on other instances' locks).
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// An open PostgreSQL database; cheap to clone.
#[derive(Clone)]
pub(super) struct Postgres {
    pool: Pool,
    /// The URL with its password masked, for messages.
    shown: String,
    /// For the listener's and the leader lock's own connections.
    config: tokio_postgres::Config,
    /// This process in the changes it announces (its own are not applied twice).
    origin: Arc<str>,
    /// Instances connected now, as the listener last counted.
    instances: Arc<AtomicU32>,
}

impl Postgres {
    /// Connects, checks that the server answers and migrates the schema.
    pub(super) async fn open(url: &str) -> Result<Postgres, StoreError> {
        let shown = redact(url);
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|err| StoreError::Connect { url: shown.clone(), reason: describe(&err) })?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .build()
            .map_err(|err| StoreError::Connect { url: shown.clone(), reason: err.to_string() })?;
        let origin = Arc::from(uuid::Uuid::new_v4().simple().to_string());
        let db = Postgres { pool, shown, config, origin, instances: Arc::new(AtomicU32::new(1)) };
        let mut conn = db
            .pool
            .get()
            .await
            .map_err(|err| StoreError::Connect { url: db.shown.clone(), reason: describe_pool(&err) })?;
        migrations::migrate(&mut conn).await?;
        Ok(db)
    }

    /// The URL with its password masked.
    pub(super) fn shown(&self) -> &str {
        &self.shown
    }

    /// Announces `change` to the other instances; inside a transaction it goes out at commit.
    async fn announce(
        &self,
        client: &impl deadpool_postgres::GenericClient,
        change: &super::Change,
    ) -> Result<(), StoreError> {
        client.execute("SELECT pg_notify($1, $2)", &[&shared::CHANNEL, &shared::payload(&self.origin, change)]).await?;
        Ok(())
    }

    /// Takes the transaction-scoped advisory lock named `name` on a pooled connection of its
    /// own, waiting up to `wait` for another instance to let it go.
    pub(super) async fn xact_lock(&self, name: &str, wait: std::time::Duration) -> Result<XactLock, StoreError> {
        let conn = self.conn().await?;
        let taken = async {
            conn.batch_execute(&format!("BEGIN; SET LOCAL lock_timeout = '{}ms'", wait.as_millis())).await?;
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&name]).await
        }
        .await;
        match taken {
            Ok(_) => Ok(XactLock { conn: Some(conn) }),
            Err(err) => {
                let _ = conn.batch_execute("ROLLBACK").await;
                Err(err.into())
            }
        }
    }

    /// A pooled connection.
    pub(super) async fn conn(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|err| StoreError::Postgres(describe_pool(&err)))
    }
}

/// A transaction-scoped advisory lock, held by the open transaction of the connection inside;
/// ended by [`XactLock::release`], or in the background when dropped.
pub(super) struct XactLock {
    conn: Option<deadpool_postgres::Object>,
}

impl XactLock {
    pub(super) async fn release(mut self) {
        if let Some(conn) = self.conn.take()
            && let Err(err) = conn.batch_execute("COMMIT").await
        {
            tracing::warn!("releasing an advisory lock failed ({}); it ends with its connection", describe(&err));
        }
    }
}

impl Drop for XactLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            tokio::spawn(async move {
                let _ = conn.batch_execute("ROLLBACK").await;
            });
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> StoreError {
        StoreError::Postgres(describe(&err))
    }
}

/// A PostgreSQL error as a person can act on it: the server's message when it sent one.
pub(super) fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

fn describe_pool(err: &deadpool_postgres::PoolError) -> String {
    match err {
        deadpool_postgres::PoolError::Backend(err) => describe(err),
        deadpool_postgres::PoolError::Timeout(_) => format!(
            "no connection to the database within {} s (is PostgreSQL up and reachable, and does it allow {POOL_SIZE} \
             connections per instance?)",
            POOL_WAIT.as_secs()
        ),
        other => other.to_string(),
    }
}

/// `url` with its password replaced by `****`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some("****")).is_err() {
                return "(a PostgreSQL URL)".into();
            }
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(a PostgreSQL URL that does not parse)".into(),
    }
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_a_message() {
        let shown = redact("postgres://gw:s3cret@db.internal:5432/pool");
        assert_eq!(shown, "postgres://gw:****@db.internal:5432/pool");
        assert_eq!(redact("postgres://db/pool"), "postgres://db/pool");
    }
}
