//! Logging: a bad `RUST_LOG` is reported rather than ignored; `CODEXMANAGER_LOG_FORMAT=json`
//! writes one JSON object per line; no colour codes when stderr is not a terminal.

use crate::support::TestHome;

#[test]
fn a_bad_log_filter_is_reported_and_json_lines_are_json() {
    let home = TestHome::new();
    let out = home.command().env("RUST_LOG", "codexmanager=[[nonsense").args(["account", "list"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RUST_LOG=\"codexmanager=[[nonsense\" is not a valid filter"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes into a pipe: {stderr:?}");

    let out = home
        .command()
        .env("RUST_LOG", "codexmanager=[[nonsense")
        .env("CODEXMANAGER_LOG_FORMAT", "json")
        .args(["account", "list"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("not a valid filter")).expect("the warning");
    let parsed: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    assert_eq!(parsed["level"], "WARN");
}
