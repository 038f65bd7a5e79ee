//! Which Codex model a client's model name means: the key's binding first, else the first
//! matching `pattern=model` pair of `CODEXMANAGER_MODEL_MAPPING` (`*` matches any run of
//! characters, case-insensitive), else the name as sent.

/// The model to send upstream for `requested`.
pub fn resolve(requested: &str, binding: Option<&str>, mapping: &[(String, String)]) -> String {
    if let Some(bound) = binding {
        return bound.to_string();
    }
    let lower = requested.to_ascii_lowercase();
    mapping
        .iter()
        .find(|(pattern, _)| glob(&pattern.to_ascii_lowercase(), &lower))
        .map(|(_, model)| model.clone())
        .unwrap_or_else(|| requested.to_string())
}

/// `*`-only glob matching.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_MODEL_MAPPING, parse_model_mapping};

    #[test]
    fn claude_names_map_by_the_default_table_and_bindings_win() {
        let mapping = parse_model_mapping(DEFAULT_MODEL_MAPPING).unwrap();
        assert_eq!(resolve("claude-opus-4-5-20251101", None, &mapping), "gpt-5.5");
        assert_eq!(resolve("claude-3-5-haiku-latest", None, &mapping), "gpt-5.4-mini");
        assert_eq!(resolve("Claude-Sonnet-4-5", None, &mapping), "gpt-5.5");
        assert_eq!(resolve("claude-something-new", None, &mapping), "gpt-5.5");
        assert_eq!(resolve("gpt-5.4", None, &mapping), "gpt-5.4");
        assert_eq!(resolve("claude-opus-4", Some("gpt-5.4-mini"), &mapping), "gpt-5.4-mini");
    }

    #[test]
    fn globs_match_anywhere() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("*x*", "axb"));
        assert!(!glob("a*c", "ab"));
        assert!(glob("exact", "exact"));
        assert!(!glob("ab*ba", "aba"));
    }
}
