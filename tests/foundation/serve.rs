//! `serve`: health, clean shutdown on SIGTERM, changes from the CLI picked up while running,
//! a busy port, and the env file beside the executable.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::serve::Served;
use crate::support::{TestHome, auth_json};

async fn health(base: &str) -> Value {
    reqwest::get(format!("{base}/health")).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn serve_shuts_down_cleanly_on_sigterm_and_keeps_everything() {
    let home = TestHome::new();
    let served = Served::start(&home, &[("CODEXMANAGER_RPC_TOKEN", "tok")]);
    assert_eq!(health(&served.base).await["status"], "ok");

    let client = reqwest::Client::new();
    let body: Value = client
        .post(format!("{}/rpc", served.base))
        .header("X-CodexManager-Rpc-Token", "tok")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "apikey/create", "params": {"name": "before-stop"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["result"]["key"].is_string(), "{body}");

    let (status, log) = served.terminate();
    assert!(status.success(), "exit status {status:?}; log:\n{log}");
    assert!(log.contains("shutdown complete"), "{log}");
    let keys = home.run_json(&["key", "list", "--json"]);
    assert_eq!(keys[0]["name"], "before-stop");
}

#[tokio::test]
async fn serve_sees_accounts_imported_by_the_cli_while_running() {
    let home = TestHome::new();
    let served = Served::start(&home, &[]);
    assert_eq!(health(&served.base).await["accounts"], 0);
    let file = home.write("a.json", &json!([auth_json(1), auth_json(2)]).to_string());
    home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if health(&served.base).await["accounts"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the running service did not pick up the import");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_busy_port_names_the_address_and_the_variable() {
    let home = TestHome::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = home.command().arg("serve").env("CODEXMANAGER_SERVICE_ADDR", &addr).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reason = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    assert!(reason.contains(&addr) && reason.contains("CODEXMANAGER_SERVICE_ADDR"), "{stderr}");
}

#[test]
fn env_file_beside_the_executable_fills_only_missing_variables() {
    let home = TestHome::new();
    let bin_dir = home.path().join("app");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let exe = bin_dir.join("codexmanager");
    std::fs::copy(env!("CARGO_BIN_EXE_codexmanager"), &exe).unwrap();
    let from_file = home.path().join("from-file.db");
    std::fs::write(
        bin_dir.join("codexmanager.env"),
        format!("CODEXMANAGER_DB_PATH={}\nCODEXMANAGER_SECRET_STORE=file\n", from_file.display()),
    )
    .unwrap();
    std::fs::write(bin_dir.join(".env"), "CODEXMANAGER_DB_PATH=/nonexistent/ignored.db\n").unwrap();

    let run = |db: Option<&std::path::Path>| {
        let mut cmd = std::process::Command::new(&exe);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CODEXMANAGER_")) {
            cmd.env_remove(k);
        }
        cmd.env("HOME", home.path());
        if let Some(db) = db {
            cmd.env("CODEXMANAGER_DB_PATH", db);
        }
        cmd.args(["key", "create", "--name", "x", "--json"]).output().unwrap()
    };
    let out = run(None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(from_file.exists(), "the first env file (codexmanager.env) decides the database");

    let from_process = home.path().join("from-process.db");
    let out = run(Some(&from_process));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(from_process.exists(), "the process environment wins over the env file");
}

#[test]
fn portable_marker_keeps_data_beside_the_executable() {
    let home = TestHome::new();
    let bin_dir = home.path().join("portable-app");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let exe = bin_dir.join("codexmanager");
    std::fs::copy(env!("CARGO_BIN_EXE_codexmanager"), &exe).unwrap();
    std::fs::write(bin_dir.join("portable"), "").unwrap();
    let mut cmd = std::process::Command::new(&exe);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CODEXMANAGER_")) {
        cmd.env_remove(k);
    }
    let out =
        cmd.env("HOME", home.path()).env("CODEXMANAGER_SECRET_STORE", "file").args(["key", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(bin_dir.join("codexmanager.db").exists());
    assert!(bin_dir.join("codexmanager.key").exists());
    assert!(bin_dir.join("logs").is_dir());
}
