//! Sealed tokens: absent from the SQLite file, and a wrong master key is a clear error.

use serde_json::json;

use crate::support::{TestHome, auth_json, tokens};

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn tokens_are_not_readable_in_the_database_files() {
    let home = TestHome::new();
    let file = home.write("a.json", &json!([auth_json(7), auth_json(8)]).to_string());
    home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    let (_, access, refresh) = tokens(7);
    let mut seen_any = false;
    for entry in std::fs::read_dir(home.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if !path.file_name().unwrap().to_string_lossy().starts_with("codexmanager.db") {
            continue;
        }
        seen_any = true;
        let bytes = std::fs::read(&path).unwrap();
        assert!(!contains(&bytes, &refresh), "refresh token in plaintext in {}", path.display());
        assert!(!contains(&bytes, &access[access.len() - 40..]), "access token in plaintext in {}", path.display());
    }
    assert!(seen_any);
    let key = std::fs::read_to_string(home.data_dir().join("codexmanager.key")).unwrap();
    assert_eq!(key.trim().len(), 64);
}

#[test]
fn a_wrong_master_key_is_reported_not_used() {
    let home = TestHome::new();
    let file = home.write("a.json", &auth_json(1).to_string());
    home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    std::fs::write(home.data_dir().join("codexmanager.key"), format!("{}\n", "ab".repeat(32))).unwrap();
    let out = home.run(&["account", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not open this database's secrets"), "{stderr}");
    assert_eq!(stderr.trim().lines().filter(|l| l.starts_with("error:")).count(), 1);
}

#[test]
fn a_lost_key_file_is_not_silently_replaced() {
    let home = TestHome::new();
    let file = home.write("a.json", &auth_json(1).to_string());
    home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    std::fs::remove_file(home.data_dir().join("codexmanager.key")).unwrap();
    let out = home.run(&["account", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no master key was found"));
    assert!(!home.data_dir().join("codexmanager.key").exists());
}

/// Runs only where CI provides a Secret Service (see `scripts/test`): the master key goes to
/// the real OS keyring, no key file is written, and a second process finds the key again.
#[test]
fn os_keyring_holds_the_master_key_when_available() {
    if std::env::var("CODEXMANAGER_TEST_SECRET_SERVICE").as_deref() != Ok("1") {
        crate::support::skipped(
            "the OS keyring test",
            "set CODEXMANAGER_TEST_SECRET_SERVICE=1 inside a Secret Service session (scripts/test does)",
        );
        return;
    }
    let home = TestHome::new();
    let file = home.write("a.json", &auth_json(3).to_string());
    let run = |args: &[&str]| home.command().env("CODEXMANAGER_SECRET_STORE", "keyring").args(args).output().unwrap();
    let out = run(&["account", "import", "--json", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!home.data_dir().join("codexmanager.key").exists(), "the keyring, not a file, holds the key");
    let out = run(&["account", "export", "--json", "--out", home.path().join("e.json").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.path().join("e.json")).unwrap()).unwrap();
    assert_eq!(exported[0]["tokens"]["refresh_token"], tokens(3).2);
    let lookup = std::process::Command::new("secret-tool").args(["search", "service", "CodexManager"]).output();
    if let Ok(lookup) = lookup {
        let text = String::from_utf8_lossy(&lookup.stdout).to_string() + &String::from_utf8_lossy(&lookup.stderr);
        assert!(text.contains("master-key/"), "secret-tool sees the entry: {text}");
    }
}
