//! Tool names longer than the upstream's 64-character limit: shortened on the way up and
//! restored on the way back, so clients see their own names.

use std::collections::HashMap;

pub const MAX_LEN: usize = 64;

/// The mapping for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolNames {
    to_upstream: HashMap<String, String>,
    to_client: HashMap<String, String>,
}

impl ToolNames {
    /// Builds the mapping for the request's tool names. Names within the limit map to
    /// themselves; longer ones are shortened (`mcp__server__tool` → `mcp__tool`, else cut),
    /// with `_N` added where two would collide.
    pub fn build<'a>(names: impl IntoIterator<Item = &'a str>) -> ToolNames {
        let mut map = ToolNames::default();
        let names: Vec<&str> = names.into_iter().collect();
        let mut taken: std::collections::HashSet<String> =
            names.iter().filter(|n| n.len() <= MAX_LEN).map(|n| n.to_string()).collect();
        for name in names.into_iter().filter(|n| n.len() > MAX_LEN) {
            if map.to_upstream.contains_key(name) {
                continue;
            }
            let base = shorten(name);
            let mut candidate = base.clone();
            let mut n = 1;
            while taken.contains(&candidate) {
                let suffix = format!("_{n}");
                candidate = format!("{}{suffix}", cut(&base, MAX_LEN - suffix.len()));
                n += 1;
            }
            taken.insert(candidate.clone());
            map.to_client.insert(candidate.clone(), name.to_string());
            map.to_upstream.insert(name.to_string(), candidate);
        }
        map
    }

    /// The name to send upstream.
    pub fn upstream<'a>(&'a self, name: &'a str) -> &'a str {
        self.to_upstream.get(name).map_or(name, String::as_str)
    }

    /// The client's name for an upstream name.
    pub fn client<'a>(&'a self, name: &'a str) -> &'a str {
        self.to_client.get(name).map_or(name, String::as_str)
    }
}

fn shorten(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("mcp__")
        && let Some((_, tool)) = rest.rsplit_once("__")
    {
        let short = format!("mcp__{tool}");
        if short.len() <= MAX_LEN {
            return short;
        }
    }
    cut(name, MAX_LEN).to_string()
}

/// The longest prefix of at most `max` bytes ending on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_round_trip_and_stay_unique() {
        let long_a = format!("mcp__server__{}", "a".repeat(70));
        let long_b = format!("{}x", "b".repeat(80));
        let long_c = format!("{}y", "b".repeat(80));
        let names = ToolNames::build(["short", long_a.as_str(), long_b.as_str(), long_c.as_str()]);
        assert_eq!(names.upstream("short"), "short");
        for long in [&long_a, &long_b, &long_c] {
            let up = names.upstream(long);
            assert!(up.len() <= MAX_LEN, "{up}");
            assert_eq!(names.client(up), long.as_str());
        }
        assert_ne!(names.upstream(&long_b), names.upstream(&long_c));
        let mcp = format!("mcp__server__{}", "t".repeat(20));
        let long_server = format!("mcp__{}__tool", "s".repeat(70));
        let names = ToolNames::build([mcp.as_str(), long_server.as_str()]);
        assert_eq!(names.upstream(&long_server), "mcp__tool");
    }
}
