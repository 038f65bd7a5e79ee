//! Importing a folder with a symbolic-link loop ends, reads each file once, and says which
//! link it did not follow.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{TestHome, auth_json};

#[test]
fn a_folder_with_a_symlink_loop_imports_each_account_once() {
    let home = TestHome::new();
    let folder = home.path().join("accounts");
    std::fs::create_dir_all(folder.join("nested")).unwrap();
    std::fs::write(folder.join("one.json"), auth_json(1).to_string()).unwrap();
    std::fs::write(folder.join("nested").join("two.json"), auth_json(2).to_string()).unwrap();
    std::os::unix::fs::symlink(".", folder.join("me")).unwrap();
    std::os::unix::fs::symlink("..", folder.join("nested").join("up")).unwrap();

    let mut child = home
        .command()
        .args(["account", "import", "--json"])
        .arg(&folder)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the import did not end");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["total"], 2, "each file once: {report}");
    let failed = report["failed"].as_array().unwrap();
    assert!(
        !failed.is_empty() && failed.iter().all(|f| f["message"].as_str().unwrap().contains("loops back")),
        "{report}"
    );
    assert_eq!(home.run_json(&["account", "list", "--json"]).as_array().unwrap().len(), 2);
}
