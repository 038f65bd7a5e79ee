//! A full disk during a token refresh: the rotated tokens are used at once, kept in memory
//! while they cannot be saved, saved once there is room, and still good after a restart.
//! Needs a small tmpfs, so it runs as root (CI does); elsewhere it says it was skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use codexmanager::config::Env;
use codexmanager::core::Core;
use codexmanager::paths::{DataLocation, DataPaths};

use crate::support::harness::Harness;
use crate::support::{TestHome, tokens};

/// A tmpfs of a few MiB, unmounted when dropped.
struct TmpFs {
    dir: tempfile::TempDir,
}

impl TmpFs {
    fn mount(size: &str) -> Option<TmpFs> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !mounted.status.success() {
            crate::support::skipped(
                "the full-disk test",
                &format!("cannot mount a tmpfs (needs root): {}", String::from_utf8_lossy(&mounted.stderr).trim()),
            );
            return None;
        }
        Some(TmpFs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system to the last byte with a file; returns it.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let mut byte = [0u8; 1];
        while file.write_all(&byte).is_ok() {
            byte[0] = 1;
        }
        filler
    }
}

impl Drop for TmpFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

async fn metric(h: &Harness, name: &str) -> f64 {
    let text = h.get("/metrics").send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_on_a_full_disk_keeps_the_new_tokens_and_saves_them_when_there_is_room() {
    let Some(fs) = TmpFs::mount("8m") else { return };
    let h = Harness::start_in(TestHome::new_in(fs.path()), 1, &[]).await;
    let (_, old_access, old_refresh) = tokens(0);
    let id = h.account_id_for("acct-00000");
    h.mock.reject_access_token(&old_access);
    // An empty write-ahead log, so the next write must grow a file.
    rusqlite::Connection::open(h.home.db()).unwrap().execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    let filler = fs.fill();

    let response = h.post("/v1/responses").json(&crate::responses(false)).send().await.unwrap();
    assert_eq!(response.status(), 200, "the request goes on with the new tokens: {}", response.text().await.unwrap());
    assert_eq!(h.mock.state.refresh_calls.load(Ordering::SeqCst), 1);
    let account = h.core.pool().by_id[&id].clone();
    assert!(account.unsaved_tokens().is_some(), "the new tokens could not be saved yet");
    let fresh = account.tokens().unwrap();
    assert_ne!(fresh.refresh_token.as_deref(), Some(old_refresh.as_str()));

    // The request log cannot be written either: its rows are given up and counted.
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(&h, "codexmanager_log_rows_dropped_total").await < 1.0 {
        assert!(Instant::now() < deadline, "dropped log rows were never counted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while account.unsaved_tokens().is_some() {
        assert!(Instant::now() < deadline, "the kept tokens were not saved once there was room");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A restart reads the new tokens, and refreshing with them works.
    let db = h.home.db();
    let mock_base = h.mock.base.clone();
    let upstream = h.mock.upstream();
    let env = Env::from_map(
        [
            ("CODEXMANAGER_SECRET_STORE", "file"),
            ("CODEXMANAGER_ISSUER", mock_base.as_str()),
            ("CODEXMANAGER_UPSTREAM_BASE_URL", upstream.as_str()),
            ("CODEXMANAGER_DISABLE_POLLING", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    let (reopened, _) = Core::open_at(env, DataPaths::for_db(db, DataLocation::Explicit), None).await.unwrap();
    let stored = reopened.pool().by_id[&id].tokens().unwrap();
    assert_eq!(stored.refresh_token, fresh.refresh_token);
    reopened.refresh_account(&id, None).await.expect("the saved refresh token still works");
    let view = reopened.list_accounts().into_iter().find(|a| a.account.id == id).unwrap();
    assert_eq!(view.account.status, codexmanager::core::AccountStatus::Active);
}
