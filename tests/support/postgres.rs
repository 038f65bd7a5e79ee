//! A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` from the PostgreSQL 15
//! binaries (or `CODEXMANAGER_TEST_PG_BIN`) in a temporary directory, listening on 127.0.0.1
//! at a free port with its socket inside that directory, stopped when dropped. The binaries
//! refuse to run as root, so as root they run as the `postgres` user. Where the binaries or
//! that user are missing, [`Cluster::start`] says `SKIPPED <test>: <why>` and returns `None`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    databases: AtomicUsize,
}

fn bin_dir() -> PathBuf {
    std::env::var_os("CODEXMANAGER_TEST_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// The uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

impl Cluster {
    /// Starts a cluster, or says why it cannot and returns `None`.
    pub fn start(test: &str) -> Option<Cluster> {
        let bin = bin_dir();
        if !bin.join("initdb").exists() || !bin.join("pg_ctl").exists() {
            super::skipped(test, &format!("no PostgreSQL binaries in {} (install postgresql)", bin.display()));
            return None;
        }
        let as_postgres = is_root();
        let dir = tempfile::tempdir().expect("temp dir");
        if as_postgres {
            let Some((uid, gid)) = postgres_user() else {
                super::skipped(test, "running as root and there is no `postgres` user to run PostgreSQL as");
                return None;
            };
            #[cfg(unix)]
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster's folder");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().unwrap().port();
        let cluster = Cluster { dir, bin, port, databases: AtomicUsize::new(0) };
        let data = cluster.data();
        let initdb = cluster
            .tool("initdb", as_postgres)
            .args(["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"])
            .output()
            .expect("run initdb");
        assert!(initdb.status.success(), "initdb failed: {}", String::from_utf8_lossy(&initdb.stderr));
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("server.log").display().to_string();
        let started = cluster
            .tool("pg_ctl", as_postgres)
            .args(["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start"])
            .output()
            .expect("run pg_ctl start");
        assert!(
            started.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn tool(&self, name: &str, as_postgres: bool) -> Command {
        let path = self.bin.join(name);
        if as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    /// The URL of the cluster's `postgres` database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::Relaxed));
        let (client, connection) = tokio_postgres::connect(&self.admin_url(), tokio_postgres::NoTls)
            .await
            .expect("connect to the test cluster");
        let driver = tokio::spawn(connection);
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create a test database");
        drop(client);
        let _ = driver.await;
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.tool("pg_ctl", is_root()).args(["-D", &data, "-m", "immediate", "-w", "stop"]).output();
    }
}
