//! The CLI's output as a terminal or a pipe sees it: a reader that stops early, tables with
//! wide characters, and the window asked for where there is no display.

use std::io::Read;
use std::process::Stdio;

use crate::support::{TestHome, auth_json};

fn import(home: &TestHome, count: usize) {
    let files: Vec<String> = (1..=count)
        .map(|n| {
            let path = home.write(&format!("auth{n}.json"), &auth_json(n).to_string());
            path.to_str().unwrap().to_string()
        })
        .collect();
    let mut args = vec!["account", "import"];
    args.extend(files.iter().map(String::as_str));
    assert!(home.run(&args).status.success());
}

#[test]
fn a_reader_that_closes_early_ends_the_listing_quietly() {
    let home = TestHome::new();
    import(&home, 40);
    let mut child = home
        .command()
        .args(["account", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // Read one byte, then close the pipe the way `head -c1` would.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "nothing said about the pipe: {stderr}");
    assert!(status.success(), "{status:?}: {stderr}");
}

#[test]
fn the_account_table_lines_up_labels_of_any_width() {
    let home = TestHome::new();
    import(&home, 2);
    let list = home.run_json(&["account", "list", "--json"]);
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert!(home.run(&["account", "update", &id, "--label", "张三的工作账号"]).status.success());
    let output = home.run(&["account", "list"]);
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().take(3).collect();
    // The 5H column (right-aligned) ends at the same display column on every line.
    let column = |line: &str| {
        let end = line.find(" 5H").map(|at| at + 3).or_else(|| line.find(" - ").map(|at| at + 2));
        unicode_width::UnicodeWidthStr::width(&line[..end.expect("a 5H cell")])
    };
    assert_eq!(column(lines[0]), column(lines[1]), "{text}");
    assert_eq!(column(lines[1]), column(lines[2]), "{text}");
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_display_the_window_says_so_in_one_line() {
    let home = TestHome::new();
    let output = home
        .command()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(!output.status.success());
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains("no display") && said[0].contains("codexmanager serve"), "{stderr}");
    assert!(!said[0].contains(".rs"), "no source paths: {stderr}");
}

#[test]
fn key_actions_answer_in_json_and_an_azure_key_is_read_from_stdin() {
    use std::io::Write;
    let home = TestHome::new();
    let create = |stdin: &str| {
        let mut child = home
            .command()
            .args(["key", "create", "--name", "az", "--protocol", "azure_openai"])
            .args(["--azure-endpoint", "https://example.openai.azure.com", "--azure-api-key", "-", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let empty = create("");
    assert!(!empty.status.success());
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("--azure-api-key -: nothing was read from stdin"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
    assert_eq!(home.run_json(&["key", "list", "--json"]).as_array().map(Vec::len), Some(0), "nothing created");

    let created = create("az-secret-from-stdin\n");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let id = serde_json::from_slice::<serde_json::Value>(&created.stdout).unwrap()["id"].as_str().unwrap().to_string();
    let listed = home.run(&["key", "list", "--json"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("az-secret-from-stdin"), "the Azure key is not shown");

    for (action, word) in [("disable", "disabled"), ("enable", "enabled"), ("delete", "deleted")] {
        let answer = home.run_json(&["key", action, &id, "--json"]);
        assert_eq!(answer, serde_json::json!({"id": id, "ok": true, "action": word}), "key {action}");
    }
    assert_eq!(home.run_json(&["key", "list", "--json"]).as_array().map(Vec::len), Some(0), "deleted");
}
