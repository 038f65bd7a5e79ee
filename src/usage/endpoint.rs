//! The usage endpoint (reference §4.2): `GET {CODEXMANAGER_USAGE_BASE_URL}/backend-api/wham/usage`
//! for one account, read into a [`UsageSnapshot`] (primary = the 5-hour window, secondary =
//! the weekly one). Deciding when to call it, and refreshing a token on 401, is the core's.

use std::time::Duration;

use serde_json::Value;

use crate::store::usage::{UsageSnapshot, Window};

/// How long one usage call may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// A window this long or longer is the weekly one, whichever slot the endpoint put it in.
const WEEKLY_MINUTES: i64 = 24 * 60;

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("the usage endpoint refused the access token (401)")]
    Unauthorized,
    #[error("the usage endpoint answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("cannot reach the usage endpoint {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("the usage endpoint's answer is not usage JSON: {0}")]
    Parse(String),
}

/// The usage URL for a base: `…/backend-api` bases get `/wham/usage`, others
/// `/backend-api/wham/usage`.
pub fn usage_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/backend-api") { format!("{base}/wham/usage") } else { format!("{base}/backend-api/wham/usage") }
}

/// Fetches one account's usage. `account_id` is ours (it names the snapshot);
/// `chatgpt_account_id` goes in the `ChatGPT-Account-Id` header.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    access_token: &str,
    chatgpt_account_id: Option<&str>,
    account_id: &str,
    now: i64,
) -> Result<UsageSnapshot, UsageError> {
    let url = usage_url(base);
    let mut request = http
        .get(&url)
        .timeout(TIMEOUT)
        .bearer_auth(access_token)
        .header("user-agent", "codex-cli")
        .header("accept", "application/json");
    if let Some(id) = chatgpt_account_id {
        request = request.header("chatgpt-account-id", id);
    }
    let response = request.send().await.map_err(|e| UsageError::Network { url: url.clone(), reason: e.to_string() })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(UsageError::Unauthorized);
    }
    let text = response.text().await.map_err(|e| UsageError::Network { url, reason: e.to_string() })?;
    if !status.is_success() {
        let message: String = text.chars().take(300).collect();
        return Err(UsageError::Status { status: status.as_u16(), message });
    }
    let body: Value = serde_json::from_str(&text).map_err(|e| UsageError::Parse(e.to_string()))?;
    if !body.is_object() {
        return Err(UsageError::Parse("expected a JSON object".into()));
    }
    Ok(parse(account_id, &body, now))
}

/// Reads the endpoint's JSON. Missing or null parts stay `None`.
pub fn parse(account_id: &str, body: &Value, now: i64) -> UsageSnapshot {
    let rate_limit = body.get("rate_limit");
    let mut primary = window(rate_limit.and_then(|r| r.get("primary_window")), now);
    let mut secondary = window(rate_limit.and_then(|r| r.get("secondary_window")), now);
    if secondary.is_none() && primary.is_some_and(|w| w.window_minutes.is_some_and(|m| m >= WEEKLY_MINUTES)) {
        secondary = primary.take();
    }
    let credits = body.get("credits");
    let flag = |name: &str| credits.and_then(|c| c.get(name)).and_then(Value::as_bool);
    let balance = credits.and_then(|c| c.get("balance")).and_then(|b| match b {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    UsageSnapshot {
        account_id: account_id.to_string(),
        captured_at: now,
        source: "poll".into(),
        plan: body.get("plan_type").and_then(Value::as_str).map(str::to_string),
        primary,
        secondary,
        credits_has: flag("has_credits"),
        credits_unlimited: flag("unlimited"),
        credits_balance: balance,
        limit_reached: rate_limit.and_then(|r| r.get("limit_reached")).and_then(Value::as_bool),
    }
}

fn window(value: Option<&Value>, now: i64) -> Option<Window> {
    let value = value.filter(|v| v.is_object())?;
    let number = |name: &str| value.get(name).and_then(Value::as_f64);
    let used_percent = number("used_percent")?;
    let window_minutes = number("limit_window_seconds").map(|secs| (secs / 60.0).ceil() as i64);
    let resets_at = number("reset_at")
        .map(|at| at as i64)
        .or_else(|| number("reset_after_seconds").map(|after| now + after as i64));
    Some(Window { used_percent, window_minutes, resets_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_windows_plan_and_credits_are_read() {
        let body = json!({"plan_type": "pro",
            "rate_limit": {"allowed": true, "limit_reached": false,
                "primary_window": {"used_percent": 15, "limit_window_seconds": 18000, "reset_after_seconds": 9000, "reset_at": 1735401600},
                "secondary_window": {"used_percent": 5.5, "limit_window_seconds": 604801, "reset_after_seconds": 500000}},
            "credits": {"has_credits": true, "unlimited": false, "balance": "9.99"}});
        let usage = parse("a1", &body, 1000);
        assert_eq!(
            usage.primary,
            Some(Window { used_percent: 15.0, window_minutes: Some(300), resets_at: Some(1735401600) })
        );
        assert_eq!(
            usage.secondary,
            Some(Window { used_percent: 5.5, window_minutes: Some(10081), resets_at: Some(501000) }),
            "minutes round up; reset from reset_after_seconds when reset_at is absent"
        );
        assert_eq!((usage.plan.as_deref(), usage.source.as_str()), (Some("pro"), "poll"));
        assert_eq!((usage.credits_has, usage.credits_unlimited), (Some(true), Some(false)));
        assert_eq!(usage.credits_balance.as_deref(), Some("9.99"));
        assert_eq!(usage.limit_reached, Some(false));
    }

    #[test]
    fn nulls_and_numeric_balances_are_accepted() {
        let usage = parse("a", &json!({"rate_limit": null, "credits": {"balance": 12.5}}), 0);
        assert_eq!((usage.primary, usage.secondary), (None, None));
        assert_eq!(usage.credits_balance.as_deref(), Some("12.5"));
        let usage = parse("a", &json!({"rate_limit": {"primary_window": null}}), 0);
        assert_eq!(usage.primary, None);
    }

    #[test]
    fn a_lone_weekly_window_is_the_secondary() {
        let body = json!({"rate_limit": {"primary_window": {"used_percent": 40, "limit_window_seconds": 604800}}});
        let usage = parse("a", &body, 0);
        assert_eq!(usage.primary, None);
        assert_eq!(usage.secondary.map(|w| w.window_minutes), Some(Some(10080)));
    }

    #[test]
    fn urls_follow_the_base() {
        assert_eq!(usage_url("https://chatgpt.com"), "https://chatgpt.com/backend-api/wham/usage");
        assert_eq!(usage_url("https://chatgpt.com/backend-api/"), "https://chatgpt.com/backend-api/wham/usage");
    }
}
