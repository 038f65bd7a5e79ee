//! Account file formats: what `account import` reads and `account export` writes.
//!
//! Accepted, per file: a Codex CLI `auth.json` (`tokens.{id_token,access_token,refresh_token,
//! account_id}`); a flat `{access_token, refresh_token, id_token}` object (CLIProxyAPI's
//! per-account files too); a JSON array of either; a stream of either (concatenated or one
//! per line); and our own export, which is the `auth.json` shape plus a `codexmanager` object
//! carrying label, group, tags, note and sort. Only an access token is required.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tokens::Tokens;

/// Account details a file may carry beside the tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
    /// `direct`, or a proxy URL (masked in exports unless secrets are asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

/// One account read from a file.
#[derive(Debug, Clone)]
pub struct ImportedAccount {
    pub tokens: Tokens,
    /// `account_id` as the file states it (used when the tokens carry no claim).
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub meta: ImportMeta,
    /// Where it came from, for messages: `file.json` or `file.json#3`.
    pub origin: String,
}

/// A file or entry that could not be imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportProblem {
    pub source: String,
    pub message: String,
}

/// Expands folders (recursively, `.json` files only, in name order); plain paths stay.
///
/// Symbolic links are followed, but a link that leads back into a folder being walked (a
/// loop) is reported once and not followed again, and a file reached by several paths is
/// read once.
pub fn expand_paths(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<ImportProblem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |path: PathBuf, files: &mut Vec<PathBuf>| {
        let identity = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.insert(identity) {
            files.push(path);
        }
    };
    for path in paths {
        if path.is_dir() {
            let walk = walkdir::WalkDir::new(path).follow_links(true).sort_by_file_name();
            for entry in walk {
                match entry {
                    Ok(entry) if entry.file_type().is_file() && is_json(entry.path()) => {
                        add(entry.into_path(), &mut files)
                    }
                    Ok(_) => {}
                    Err(err) => problems.push(walk_problem(path, &err)),
                }
            }
        } else if path.exists() {
            add(path.clone(), &mut files);
        } else {
            problems
                .push(ImportProblem { source: path.display().to_string(), message: "no such file or folder".into() });
        }
    }
    (files, problems)
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
}

fn walk_problem(root: &Path, err: &walkdir::Error) -> ImportProblem {
    let source = err.path().unwrap_or(root).display().to_string();
    let message = match (err.loop_ancestor(), err.io_error()) {
        (Some(ancestor), _) => {
            format!("a symbolic link loops back to {}; it was not followed", ancestor.display())
        }
        (None, Some(io)) => io.to_string(),
        (None, None) => err.to_string(),
    };
    ImportProblem { source, message }
}

/// Parses one file's text. Entries without a token are reported and skipped; the others
/// are returned. A file that is not JSON at all yields no accounts and one problem.
pub fn parse_text(source: &str, text: &str) -> (Vec<ImportedAccount>, Vec<ImportProblem>) {
    let mut accounts = Vec::new();
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for item in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        match item {
            Ok(Value::Array(items)) => values.extend(items),
            Ok(value) => values.push(value),
            Err(err) => {
                problems.push(ImportProblem { source: source.to_string(), message: format!("not valid JSON: {err}") });
                return (Vec::new(), problems);
            }
        }
    }
    if values.is_empty() {
        problems.push(ImportProblem { source: source.to_string(), message: "the file holds no JSON value".into() });
    }
    let several = values.len() > 1;
    for (index, value) in values.into_iter().enumerate() {
        let origin = if several { format!("{source}#{}", index + 1) } else { source.to_string() };
        match parse_entry(&value) {
            Ok(mut account) => {
                account.origin = origin;
                accounts.push(account);
            }
            Err(message) => problems.push(ImportProblem { source: origin, message }),
        }
    }
    (accounts, problems)
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn parse_entry(value: &Value) -> Result<ImportedAccount, String> {
    let Value::Object(object) = value else {
        return Err("expected a JSON object with tokens".into());
    };
    let tokens_obj = object.get("tokens").filter(|t| t.is_object()).unwrap_or(value);
    let access_token = text(tokens_obj.get("access_token"))
        .or_else(|| text(object.get("access_token")))
        .or_else(|| text(object.get("accessToken")))
        .ok_or("no access_token found (expected `tokens.access_token` or `access_token`)")?;
    let refresh_token = text(tokens_obj.get("refresh_token"))
        .or_else(|| text(object.get("refresh_token")))
        .or_else(|| text(object.get("refreshToken")));
    let id_token = text(tokens_obj.get("id_token"))
        .or_else(|| text(object.get("id_token")))
        .or_else(|| text(object.get("idToken")));
    let account_id = text(tokens_obj.get("account_id"))
        .or_else(|| text(object.get("account_id")))
        .or_else(|| text(object.get("chatgpt_account_id")));
    Ok(ImportedAccount {
        tokens: Tokens { access_token, refresh_token, id_token },
        account_id,
        email: text(object.get("email")),
        meta: parse_meta(value),
        origin: String::new(),
    })
}

/// Account details from our `codexmanager` object or from top-level fields.
fn parse_meta(value: &Value) -> ImportMeta {
    let nested = value.get("codexmanager").filter(|v| v.is_object());
    let pick = |names: &[&str]| -> Option<&Value> {
        names.iter().find_map(|name| nested.and_then(|n| n.get(*name)).or_else(|| value.get(*name)))
    };
    let tags = pick(&["tags"]).and_then(|tags| match tags {
        Value::Array(items) => Some(items.iter().filter_map(|t| text(Some(t))).collect()),
        Value::String(joined) => {
            Some(joined.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect())
        }
        _ => None,
    });
    ImportMeta {
        label: text(pick(&["label", "name"])),
        group: text(pick(&["group", "group_name", "groupName"])),
        tags,
        note: text(pick(&["note"])),
        sort: pick(&["sort"]).and_then(|s| s.as_i64().or_else(|| s.as_str().and_then(|t| t.trim().parse().ok()))),
        proxy: text(pick(&["proxy", "proxy_url", "proxyUrl"])),
    }
}

/// The `auth.json` shape we export, with our details under `codexmanager`.
pub fn export_entry(tokens: &Tokens, account_id: Option<&str>, last_refresh: Option<i64>, meta: &ImportMeta) -> Value {
    let last_refresh = last_refresh
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    serde_json::json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": tokens.id_token,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "account_id": account_id,
        },
        "last_refresh": last_refresh,
        "codexmanager": meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_auth_json_is_read() {
        let (accounts, problems) = parse_text(
            "auth.json",
            r#"{"OPENAI_API_KEY":null,"tokens":{"id_token":"i","access_token":"a","refresh_token":"r","account_id":"acc"},"last_refresh":"2026-01-01T00:00:00Z"}"#,
        );
        assert!(problems.is_empty());
        assert_eq!(accounts[0].tokens.access_token, "a");
        assert_eq!(accounts[0].tokens.refresh_token.as_deref(), Some("r"));
        assert_eq!(accounts[0].account_id.as_deref(), Some("acc"));
    }

    #[test]
    fn arrays_streams_and_flat_objects_are_read() {
        let (accounts, problems) = parse_text("a.json", r#"[{"access_token":"1"},{"tokens":{"access_token":"2"}}]"#);
        assert_eq!((accounts.len(), problems.len()), (2, 0));
        let (accounts, _) = parse_text("s.jsonl", "{\"access_token\":\"1\"}\n{\"access_token\":\"2\"}\n");
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[1].origin, "s.jsonl#2");
    }

    #[test]
    fn entries_without_token_are_reported_and_others_kept() {
        let (accounts, problems) = parse_text("m.json", r#"[{"access_token":"1"},{"refresh_token":"x"}]"#);
        assert_eq!(accounts.len(), 1);
        assert_eq!(problems[0].source, "m.json#2");
        assert!(problems[0].message.contains("no access_token"));
    }

    #[test]
    fn invalid_json_is_one_problem_naming_the_file() {
        let (accounts, problems) = parse_text("bad.json", "{not json");
        assert!(accounts.is_empty());
        assert_eq!(problems[0].source, "bad.json");
        assert!(problems[0].message.starts_with("not valid JSON"));
    }

    #[test]
    fn export_shape_round_trips_with_details() {
        let tokens = Tokens { access_token: "a".into(), refresh_token: Some("r".into()), id_token: None };
        let meta = ImportMeta {
            label: Some("L".into()),
            group: Some("G".into()),
            tags: Some(vec!["t".into()]),
            note: None,
            sort: Some(4),
            proxy: Some("socks5h://127.0.0.1:7890".into()),
        };
        let value = export_entry(&tokens, Some("acc"), Some(0), &meta);
        let (accounts, _) = parse_text("e.json", &value.to_string());
        assert_eq!(accounts[0].tokens, tokens);
        assert_eq!(accounts[0].meta, meta);
        assert_eq!(value["last_refresh"], "1970-01-01T00:00:00Z");
    }
}
