//! Account import in every accepted format, batching, idempotence, bad files, export.

use serde_json::{Value, json};

use crate::support::{TestHome, auth_json, flat_json, tokens};

fn list(home: &TestHome) -> Vec<Value> {
    home.run_json(&["account", "list", "--json"]).as_array().cloned().unwrap()
}

#[test]
fn every_accepted_format_imports_with_claims() {
    let home = TestHome::new();
    let auth = home.write("codex/auth.json", &serde_json::to_string_pretty(&auth_json(1)).unwrap());
    let array = home.write("array.json", &json!([auth_json(2), flat_json(3)]).to_string());
    let stream = home.write("stream.json", &format!("{}\n{}\n", flat_json(4), auth_json(5)));
    let (_, access_only, _) = tokens(6);
    let minimal = home.write("minimal.json", &json!({"access_token": access_only}).to_string());
    let report = home.run_json(&[
        "account",
        "import",
        "--json",
        auth.to_str().unwrap(),
        array.to_str().unwrap(),
        stream.to_str().unwrap(),
        minimal.to_str().unwrap(),
    ]);
    assert_eq!(report["created"], 6, "{report}");
    assert_eq!(report["failed"], json!([]));

    let accounts = list(&home);
    assert_eq!(accounts.len(), 6);
    let first = accounts.iter().find(|a| a["email"] == "user1@example.com").expect("account 1");
    assert_eq!(first["chatgpt_account_id"], "acct-00001");
    assert_eq!(first["plan"], "pro");
    assert_eq!(first["group_name"], "IMPORT");
    assert_eq!(first["label"], "user1@example.com");
    assert_eq!(first["availability"]["state"], "unknown");
    let sixth = accounts.iter().find(|a| a["email"] == "user6@example.com").expect("access-token-only account");
    assert_eq!(sixth["plan"], "plus");
}

#[test]
fn thousand_accounts_import_in_batches_and_reimport_updates_in_place() {
    let home = TestHome::new();
    let all: Vec<Value> = (0..1000).map(auth_json).collect();
    let file = home.write("pool.json", &Value::Array(all).to_string());
    let started = std::time::Instant::now();
    let report = home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(1000), Some(0)));
    assert!(started.elapsed().as_secs() < 60, "import took {:?}", started.elapsed());

    let accounts = list(&home);
    assert_eq!(accounts.len(), 1000);
    let mut sorts: Vec<i64> = accounts.iter().map(|a| a["sort"].as_i64().unwrap()).collect();
    sorts.dedup();
    assert_eq!(sorts.len(), 1000, "every account gets its own place in the order");

    // A user edit survives a re-import of the same file.
    let id = accounts[10]["id"].as_str().unwrap().to_string();
    let conn = rusqlite::Connection::open(home.db()).unwrap();
    conn.execute("UPDATE accounts SET group_name = 'TEAM-A' WHERE id = ?1", [&id]).unwrap();
    drop(conn);

    let again = home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    assert_eq!((again["created"].as_u64(), again["updated"].as_u64()), (Some(0), Some(1000)));
    let accounts = list(&home);
    assert_eq!(accounts.len(), 1000, "re-import must not duplicate");
    let edited = accounts.iter().find(|a| a["id"] == id.as_str()).unwrap();
    assert_eq!(edited["group_name"], "TEAM-A");
}

#[test]
fn a_corrupt_file_among_good_ones_is_reported_and_the_rest_imports() {
    let home = TestHome::new();
    home.write("batch/good1.json", &auth_json(1).to_string());
    home.write("batch/nested/good2.json", &flat_json(2).to_string());
    home.write("batch/broken.json", "{\"tokens\": {\"access_token\": ");
    home.write("batch/no-token.json", &json!({"tokens": {"refresh_token": "r"}}).to_string());
    home.write("batch/readme.txt", "not json, not picked up from a folder");
    let out = home.run(&["account", "import", "--json", home.path().join("batch").to_str().unwrap()]);
    assert!(!out.status.success(), "a partial import exits non-zero");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["created"], 2);
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{report}");
    assert!(failed.iter().any(|f| f["source"].as_str().unwrap().ends_with("broken.json")
        && f["message"].as_str().unwrap().contains("not valid JSON")));
    assert!(failed.iter().any(|f| f["source"].as_str().unwrap().ends_with("no-token.json")
        && f["message"].as_str().unwrap().contains("no access_token")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.json"), "{stderr}");
    assert_eq!(list(&home).len(), 2);
}

fn exported_tokens(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let mut tokens: Vec<Value> = value.as_array().unwrap().iter().map(|e| e["tokens"].clone()).collect();
    tokens.sort_by_key(|t| t["account_id"].as_str().unwrap().to_string());
    tokens
}

#[test]
fn export_then_import_round_trips_tokens_byte_for_byte() {
    let home = TestHome::new();
    let originals: Vec<Value> = (0..5).map(auth_json).collect();
    let file = home.write("in.json", &Value::Array(originals.clone()).to_string());
    home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    let out = home.path().join("export.json");
    let report = home.run_json(&["account", "export", "--json", "--out", out.to_str().unwrap()]);
    assert_eq!(report["exported"], 5);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let exported = exported_tokens(&out);
    let mut expected: Vec<Value> = originals.iter().map(|o| o["tokens"].clone()).collect();
    expected.sort_by_key(|t| t["account_id"].as_str().unwrap().to_string());
    assert_eq!(exported, expected);

    let other = TestHome::new();
    other.run_json(&["account", "import", "--json", out.to_str().unwrap()]);
    let out2 = other.path().join("again.json");
    other.run_json(&["account", "export", "--json", "--out", out2.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap().len(), std::fs::read(&out2).unwrap().len());
    assert_eq!(exported_tokens(&out2), expected);

    // One file per account into a folder.
    let folder = home.path().join("per-account");
    std::fs::create_dir_all(&folder).unwrap();
    home.run_json(&["account", "export", "--json", "--out", folder.to_str().unwrap()]);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 5);
}

#[test]
fn delete_removes_accounts_and_unknown_ids_fail() {
    let home = TestHome::new();
    let file = home.write("two.json", &json!([auth_json(1), auth_json(2)]).to_string());
    let report = home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    let id = report["ids"][0].as_str().unwrap().to_string();
    home.run_json(&["account", "delete", "--json", "--keep-sign-in", &id]);
    assert_eq!(list(&home).len(), 1);
    let out = home.run(&["account", "delete", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
}

#[test]
fn reimporting_an_account_stored_without_a_group_gives_it_the_import_group() {
    let home = TestHome::new();
    let file = home.write("auth.json", &auth_json(1).to_string());
    assert!(home.run(&["account", "import", file.to_str().unwrap()]).status.success());
    let id = list(&home)[0]["id"].as_str().unwrap().to_string();
    assert!(home.run(&["account", "update", &id, "--group", ""]).status.success());
    assert_eq!(list(&home)[0]["group_name"], "", "the group was emptied");
    assert!(home.run(&["account", "import", file.to_str().unwrap()]).status.success());
    assert_eq!(list(&home)[0]["group_name"], "IMPORT", "as the original: an empty group is filled");
    assert!(home.run(&["account", "update", &id, "--group", "team"]).status.success());
    assert!(home.run(&["account", "import", file.to_str().unwrap()]).status.success());
    assert_eq!(list(&home)[0]["group_name"], "team", "a group that is set stays");
}
