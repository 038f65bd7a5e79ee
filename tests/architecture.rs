//! The import rules of docs/ARCHITECTURE.md, checked on the source: the gateway's request path cannot
//! reach SQLite because no gateway file names the store module; the UI never names the
//! store or the gateway. A change that breaks the rule fails here with the offending line.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn offending_lines(folder: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder), &mut files);
    files.iter().flat_map(|file| scan(file, forbidden)).collect()
}

fn scan(file: &Path, forbidden: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, line)| forbidden.iter().any(|f| line.contains(f)))
        .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
        .collect()
}

#[test]
fn the_gateway_never_touches_the_store_or_the_keyring() {
    let found = offending_lines("gateway", &["crate::store", "rusqlite", "keyring_core", "crate::vault"]);
    assert!(found.is_empty(), "the gateway must go through the core's in-memory state:\n{}", found.join("\n"));
}

#[test]
fn the_window_reaches_data_only_through_the_core() {
    let mut found = offending_lines("ui", &["crate::store", "crate::gateway", "rusqlite", "crate::vault"]);
    let tray = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tray.rs");
    found.extend(scan(&tray, &["crate::store", "crate::gateway", "rusqlite"]));
    assert!(found.is_empty(), "the UI calls the core API only:\n{}", found.join("\n"));
}
