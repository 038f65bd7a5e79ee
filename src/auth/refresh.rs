//! Refreshing an account's tokens at the issuer (`POST {issuer}/oauth/token`,
//! `grant_type=refresh_token`). Refresh tokens rotate: the caller persists the new set before
//! using it and never sends the old refresh token again.

use serde::Deserialize;
use serde_json::{Value, json};

use super::ISSUER_TIMEOUT;

/// Codes that mean the refresh token is dead for good.
const PERMANENT_CODES: [&str; 5] =
    ["refresh_token_expired", "refresh_token_reused", "refresh_token_invalidated", "token_revoked", "invalid_grant"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// The refresh token will never work again; the account needs a new sign-in.
    #[error("the sign-in has expired ({code}): sign in to this account again")]
    Permanent { code: String },
    /// Try again later (network, 5xx, rate limit).
    #[error("refreshing the token failed: {0}")]
    Transient(String),
}

/// The fields the issuer returns; each is optional and replaces the stored one when present.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenResponse {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

/// The error code in any of the shapes the issuer uses.
pub(crate) fn error_code(body: &Value) -> Option<String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    text(body.get("error")).or_else(|| text(body.pointer("/error/code"))).or_else(|| text(body.get("code")))
}

pub async fn refresh(
    http: &reqwest::Client,
    issuer: &str,
    client_id: &str,
    refresh_token: &str,
) -> Result<TokenResponse, RefreshError> {
    let response = http
        .post(format!("{issuer}/oauth/token"))
        .timeout(ISSUER_TIMEOUT)
        .json(&json!({"client_id": client_id, "grant_type": "refresh_token", "refresh_token": refresh_token}))
        .send()
        .await
        .map_err(|e| RefreshError::Transient(format!("cannot reach {issuer}: {e}")))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        let tokens: TokenResponse = serde_json::from_value(body).unwrap_or_default();
        if tokens.access_token.is_none() {
            return Err(RefreshError::Transient("the issuer answered without an access token".into()));
        }
        return Ok(tokens);
    }
    Err(classify(status, &body))
}

/// Which kind of failure an issuer's error answer is.
fn classify(status: reqwest::StatusCode, body: &Value) -> RefreshError {
    let code = error_code(body);
    match code {
        Some(code) if PERMANENT_CODES.contains(&code.as_str()) => RefreshError::Permanent { code },
        _ if status == reqwest::StatusCode::UNAUTHORIZED => {
            RefreshError::Permanent { code: code.unwrap_or_else(|| "unauthorized".into()) }
        }
        code => RefreshError::Transient(format!(
            "the issuer answered {status}{}",
            code.map(|c| format!(" ({c})")).unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn dead_token_codes_are_permanent_in_every_shape() {
        let permanent = |status, body: Value| matches!(classify(status, &body), RefreshError::Permanent { .. });
        for code in ["refresh_token_expired", "refresh_token_reused", "refresh_token_invalidated", "token_revoked"] {
            assert!(permanent(StatusCode::BAD_REQUEST, json!({"error": code})), "{code}");
            assert!(permanent(StatusCode::UNAUTHORIZED, json!({"error": {"code": code}})), "{code}");
            assert!(permanent(StatusCode::BAD_REQUEST, json!({"code": code})), "{code}");
        }
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, &json!({"error": {"code": "token_revoked"}})),
            RefreshError::Permanent { code: "token_revoked".into() }
        );
        assert!(permanent(StatusCode::UNAUTHORIZED, Value::Null), "any 401 is permanent");
    }

    #[test]
    fn other_failures_are_transient() {
        let transient = |status, body: Value| matches!(classify(status, &body), RefreshError::Transient(_));
        assert!(transient(StatusCode::INTERNAL_SERVER_ERROR, Value::Null));
        assert!(transient(StatusCode::TOO_MANY_REQUESTS, json!({"error": "rate_limited"})));
        assert!(transient(StatusCode::BAD_GATEWAY, json!({"detail": "upstream"})));
    }
}
