//! Revoking a refresh token at the issuer (`POST {issuer}/oauth/revoke`, reference §1.1), as
//! Codex's logout does: the token, its type and the client id as JSON.

use serde_json::json;

use super::ISSUER_TIMEOUT;

/// Revokes `refresh_token`; the error says why it could not be, for the person deleting.
pub async fn revoke(http: &reqwest::Client, issuer: &str, client_id: &str, refresh_token: &str) -> Result<(), String> {
    let response = http
        .post(format!("{issuer}/oauth/revoke"))
        .timeout(ISSUER_TIMEOUT)
        .json(&json!({"token": refresh_token, "token_type_hint": "refresh_token", "client_id": client_id}))
        .send()
        .await
        .map_err(|e| format!("cannot reach {issuer}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let code = super::refresh::error_code(&body).unwrap_or_default();
    Err(format!("the issuer answered {status}{}", if code.is_empty() { String::new() } else { format!(" ({code})") }))
}
