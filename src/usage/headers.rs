//! Usage from the `x-codex-*` headers the upstream puts on every `/responses` answer
//! (200 and 429): the 5-hour (primary) and weekly (secondary) windows.

use crate::store::usage::{UsageSnapshot, Window};

/// Something that can look up a header by (lower-case) name.
pub trait HeaderSource {
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderSource for reqwest::header::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

fn window(headers: &dyn HeaderSource, which: &str, now: i64) -> Option<Window> {
    let get = |field: &str| headers.header(&format!("x-codex-{which}-{field}")).map(str::trim);
    let used_percent: f64 = get("used-percent")?.parse().ok()?;
    let window_minutes = get("window-minutes").and_then(|v| v.parse().ok());
    let resets_at = get("reset-at")
        .and_then(|v| v.parse::<i64>().ok())
        .or_else(|| get("reset-after-seconds").and_then(|v| v.parse::<i64>().ok()).map(|after| now + after));
    if used_percent == 0.0 && window_minutes.is_none() && resets_at.is_none() {
        return None;
    }
    Some(Window { used_percent, window_minutes, resets_at })
}

fn flag(value: Option<&str>) -> Option<bool> {
    match value?.trim() {
        "True" | "true" | "1" => Some(true),
        "False" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// The usage the headers report, or `None` when they carry no window at all.
pub fn from_headers(account_id: &str, headers: &dyn HeaderSource, now: i64) -> Option<UsageSnapshot> {
    let primary = window(headers, "primary", now);
    let secondary = window(headers, "secondary", now);
    if primary.is_none() && secondary.is_none() {
        return None;
    }
    Some(UsageSnapshot {
        account_id: account_id.to_string(),
        captured_at: now,
        source: "headers".into(),
        plan: headers.header("x-codex-plan-type").map(str::to_string),
        primary,
        secondary,
        credits_has: flag(headers.header("x-codex-credits-has-credits")),
        credits_unlimited: flag(headers.header("x-codex-credits-unlimited")),
        credits_balance: headers.header("x-codex-credits-balance").filter(|b| !b.is_empty()).map(str::to_string),
        limit_reached: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, &'static str>);
    impl HeaderSource for Map {
        fn header(&self, name: &str) -> Option<&str> {
            self.0.get(name).copied()
        }
    }

    #[test]
    fn both_windows_are_read_with_either_reset_form() {
        let headers = Map(HashMap::from([
            ("x-codex-primary-used-percent", "42.5"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-after-seconds", "600"),
            ("x-codex-secondary-used-percent", "7"),
            ("x-codex-secondary-window-minutes", "10080"),
            ("x-codex-secondary-reset-at", "2000000"),
            ("x-codex-credits-has-credits", "False"),
            ("x-codex-plan-type", "plus"),
        ]));
        let usage = from_headers("a", &headers, 1000).unwrap();
        assert_eq!(
            usage.primary,
            Some(Window { used_percent: 42.5, window_minutes: Some(300), resets_at: Some(1600) })
        );
        assert_eq!(usage.secondary.unwrap().resets_at, Some(2_000_000));
        assert_eq!(usage.credits_has, Some(false));
        assert_eq!(usage.plan.as_deref(), Some("plus"));
    }

    #[test]
    fn no_usage_headers_means_no_snapshot() {
        assert!(from_headers("a", &Map(HashMap::new()), 0).is_none());
    }
}
