//! The import rules of docs/ARCHITECTURE.md, checked on the parsed source: the gateway's
//! request path cannot reach the database because no gateway file names the store module; the
//! UI never names the store or the gateway; no file outside src/store/ names a database
//! driver. Every `use` tree is expanded (`use crate::{core,
//! store}` names the store) and every path in the code is looked at, so a rule cannot be
//! slipped past by the way a line is written. A change that breaks a rule fails here with the
//! offending file and path.

use std::path::{Path, PathBuf};

use syn::visit::Visit;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every path a file names: the expanded `use` trees and the paths in its code, as
/// `a::b::c` strings.
#[derive(Default)]
struct Paths(Vec<String>);

impl Paths {
    fn expand(&mut self, prefix: &str, tree: &syn::UseTree) {
        let join = |name: String| if prefix.is_empty() { name } else { format!("{prefix}::{name}") };
        match tree {
            syn::UseTree::Path(path) => self.expand(&join(path.ident.to_string()), &path.tree),
            syn::UseTree::Name(name) => self.0.push(join(name.ident.to_string())),
            syn::UseTree::Rename(rename) => self.0.push(join(rename.ident.to_string())),
            syn::UseTree::Glob(_) => self.0.push(join("*".into())),
            syn::UseTree::Group(group) => group.items.iter().for_each(|item| self.expand(prefix, item)),
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.expand("", &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let text: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.0.push(text.join("::"));
        syn::visit::visit_path(self, path);
    }
}

fn named_paths(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
    let mut paths = Paths::default();
    paths.visit_file(&parsed);
    paths.0
}

/// `file: path` for each path that starts with one of `forbidden` (segment by segment).
fn offending(files: &[PathBuf], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        for path in named_paths(file) {
            let hit = forbidden.iter().any(|f| path == *f || path.starts_with(&format!("{f}::")));
            if hit {
                found.push(format!("{}: {path}", file.display()));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn files_under(folder: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder), &mut files);
    files
}

#[test]
fn the_gateway_never_touches_the_store_or_the_keyring() {
    let found = offending(&files_under("gateway"), &["crate::store", "rusqlite", "keyring_core", "crate::vault"]);
    assert!(found.is_empty(), "the gateway must go through the core's in-memory state:\n{}", found.join("\n"));
}

#[test]
fn the_window_reaches_data_only_through_the_core() {
    let mut files = files_under("ui");
    files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tray.rs"));
    let found = offending(&files, &["crate::store", "crate::gateway", "rusqlite", "crate::vault"]);
    assert!(found.is_empty(), "the UI calls the core API only:\n{}", found.join("\n"));
}

#[test]
fn nothing_below_the_core_reaches_up() {
    let mut files = Vec::new();
    for folder in ["store", "auth", "usage"] {
        files.extend(files_under(folder));
    }
    for file in ["vault.rs", "egress.rs", "config.rs", "paths.rs", "listen_addr.rs"] {
        files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file));
    }
    let found = offending(&files, &["crate::core", "crate::gateway", "crate::ui", "crate::rpc", "crate::service"]);
    assert!(found.is_empty(), "store, vault, auth, usage and egress sit below the core:\n{}", found.join("\n"));
}

/// Every Rust file under src/ outside src/store/.
fn files_outside_the_store() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.retain(|file| !file.starts_with(src.join("store")));
    files
}

#[test]
fn sql_and_its_drivers_live_only_in_the_store() {
    let found = offending(&files_outside_the_store(), &["rusqlite", "tokio_postgres", "deadpool_postgres"]);
    assert!(found.is_empty(), "only src/store/ talks to a database:\n{}", found.join("\n"));
}

#[test]
fn a_grouped_import_cannot_slip_past_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sneaky.rs");
    std::fs::write(&file, "use crate::{core, store::accounts as rows};\nfn f() { crate::store::now_secs(); }\n")
        .unwrap();
    let found = offending(&[file], &["crate::store"]);
    assert_eq!(found.len(), 2, "{found:?}");
}
