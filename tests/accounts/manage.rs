//! Account management from the CLI: update one or many accounts, enable/disable, delete.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::support::harness::Harness;
use crate::support::{TestHome, auth_json, tokens};

fn import(home: &TestHome, n: usize) -> Vec<String> {
    let file = home.write("accounts.json", &Value::Array((0..n).map(auth_json).collect()).to_string());
    let report = home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    report["ids"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect()
}

fn account(home: &TestHome, id: &str) -> Value {
    let list = home.run_json(&["account", "list", "--json"]);
    list.as_array().unwrap().iter().find(|a| a["id"] == id).cloned().expect("listed")
}

#[test]
fn account_update_changes_one_or_many_accounts() {
    let home = TestHome::new();
    let ids = import(&home, 3);
    let updated = home.run_json(&[
        "account",
        "update",
        &ids[0],
        &ids[1],
        "--group",
        "TEAM",
        "--tags",
        "a, b,",
        "--note",
        "shared",
        "--sort",
        "-5",
        "--disable",
        "--json",
    ]);
    assert_eq!(updated["updated"], 2);
    for id in &ids[..2] {
        let a = account(&home, id);
        assert_eq!((a["group_name"].as_str(), a["note"].as_str()), (Some("TEAM"), Some("shared")));
        assert_eq!(a["tags"], serde_json::json!(["a", "b"]));
        assert_eq!((a["sort"].as_i64(), a["status"].as_str()), (Some(-5), Some("disabled")));
        assert_eq!(a["availability"]["state"], "unavailable");
    }
    assert_eq!(account(&home, &ids[2])["group_name"], "IMPORT", "others untouched");
    let list = home.run_json(&["account", "list", "--json"]);
    assert_eq!(list[2]["id"], ids[2].as_str(), "the new sort moved them first");

    home.run_json(&["account", "update", &ids[0], "--enable", "--label", "main", "--tags", "", "--json"]);
    let a = account(&home, &ids[0]);
    assert_eq!((a["status"].as_str(), a["label"].as_str()), (Some("active"), Some("main")));
    assert_eq!(a["tags"], serde_json::json!([]));

    let nothing = home.run(&["account", "update", &ids[0]]);
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to change"));
    let unknown = home.run(&["account", "update", "nope", "--note", "x"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account with id \"nope\""));
    let both = home.run(&["account", "update", &ids[0], "--enable", "--disable"]);
    assert!(!both.status.success());
}

#[test]
fn deleting_accounts_removes_their_tokens() {
    let home = TestHome::new();
    let ids = import(&home, 3);
    let deleted = home.run_json(&["account", "delete", &ids[0], &ids[2], "--keep-sign-in", "--json"]);
    assert_eq!(deleted["deleted"], 2);
    assert_eq!((deleted["revoked"].clone(), deleted["notRevoked"].clone()), (0.into(), Value::Array(vec![])));
    let conn = rusqlite::Connection::open(home.db()).unwrap();
    let left: Vec<String> = conn
        .prepare("SELECT account_id FROM account_tokens")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, [ids[1].clone()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_account_revokes_its_sign_in_at_the_issuer() {
    let h = Harness::start(3, &[]).await;
    let ids: Vec<String> = (0..3).map(|n| h.account_id_for(&format!("acct-{n:05}"))).collect();
    let report = h.core.delete_accounts(vec![ids[0].clone()], true).await.unwrap();
    assert_eq!((report.deleted, report.revoked), (1, 1));
    let revoked = h.mock.revocations();
    assert_eq!(
        revoked,
        [
            json!({"token": tokens(0).2, "token_type_hint": "refresh_token", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann"})
        ]
    );

    h.mock.state.revoke_status.store(503, Ordering::SeqCst);
    let report = h.core.delete_accounts(vec![ids[1].clone()], true).await.unwrap();
    assert_eq!((report.deleted, report.revoked), (1, 0), "deleted even when the issuer cannot revoke");
    assert_eq!(report.not_revoked.len(), 1);
    assert!(report.not_revoked[0].reason.contains("503"), "{:?}", report.not_revoked);

    let report = h.core.delete_accounts(vec![ids[2].clone()], false).await.unwrap();
    assert_eq!((report.deleted, report.revoked), (1, 0));
    assert_eq!(h.mock.revocations().len(), 2, "keeping the sign-in calls no one");
    assert!(h.core.list_accounts().is_empty());
}
