//! Shared test helpers: a private data folder per test, the real binary, and fixture tokens.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use serde_json::{Value, json};

pub mod harness;
pub mod mock;
pub mod postgres;
pub mod proxies;
pub mod serve;

/// Says on the terminal, past the test harness's output capture, that a test did not run and
/// why, so a skipped test is never mistaken for a passed one.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// A data folder of its own, with the file vault (no keyring needed).
pub struct TestHome {
    pub dir: tempfile::TempDir,
}

impl TestHome {
    pub fn new() -> TestHome {
        TestHome { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A data folder inside `parent` (a small file system, say).
    pub fn new_in(parent: &Path) -> TestHome {
        TestHome { dir: tempfile::tempdir_in(parent).expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data").join("codexmanager.db")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command running the real `codexmanager` binary against this folder.
    pub fn command(&self) -> Command {
        command_with_db(&self.db(), self.path())
    }

    /// Runs the binary with `args` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run codexmanager")
    }

    /// Runs the binary, asserts success and parses stdout as JSON.
    pub fn run_json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "codexmanager {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("stdout of {args:?} is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
        })
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The binary under test with a clean CodexManager environment.
pub fn command_with_db(db: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codexmanager"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CODEXMANAGER_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("CODEXMANAGER_DB_PATH", db)
        .env("CODEXMANAGER_SECRET_STORE", "file")
        .env("CODEXMANAGER_DISABLE_POLLING", "1")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .env_remove("RUST_LOG");
    cmd
}

/// An unsigned JWT carrying `payload`.
pub fn jwt(payload: &Value) -> String {
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.sig", enc(&json!({"alg": "none", "typ": "JWT"})), enc(payload))
}

/// Tokens for account number `n`, with ChatGPT claims.
pub fn tokens(n: usize) -> (String, String, String) {
    let auth = json!({
        "chatgpt_account_id": format!("acct-{n:05}"),
        "chatgpt_user_id": format!("user-{n:05}"),
        "chatgpt_plan_type": if n.is_multiple_of(2) { "plus" } else { "pro" },
    });
    let id_token = jwt(&json!({"email": format!("user{n}@example.com"), "sub": format!("sub-{n}"),
        "https://api.openai.com/auth": auth}));
    let access = jwt(&json!({"exp": 4_000_000_000i64, "https://api.openai.com/auth": auth,
        "https://api.openai.com/profile": {"email": format!("user{n}@example.com")}, "nonce": format!("access-{n}")}));
    (id_token, access, format!("rt_refresh_token_{n:05}_secretvalue"))
}

/// A Codex CLI `auth.json` for account `n`.
pub fn auth_json(n: usize) -> Value {
    let (id, access, refresh) = tokens(n);
    json!({
        "OPENAI_API_KEY": null,
        "tokens": {"id_token": id, "access_token": access, "refresh_token": refresh, "account_id": format!("acct-{n:05}")},
        "last_refresh": "2026-11-01T10:00:00.000000Z"
    })
}

/// A flat `{access_token, refresh_token, id_token}` object for account `n`.
pub fn flat_json(n: usize) -> Value {
    let (id, access, refresh) = tokens(n);
    json!({"access_token": access, "refresh_token": refresh, "id_token": id, "email": format!("user{n}@example.com"), "type": "codex"})
}
