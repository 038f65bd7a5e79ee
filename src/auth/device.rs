//! Device-code sign-in (reference §1.7) for machines without a browser: ask the issuer for a
//! user code, let the person enter it at `{issuer}/codex/device` on any device, and poll until
//! the issuer hands over an authorization code with its PKCE verifier. The code is then
//! exchanged like a browser sign-in's (`login::exchange_code`), with [`redirect_uri`].

use std::time::Duration;

use serde_json::{Value, json};

use super::ISSUER_TIMEOUT;
use super::login::LoginError;
use super::refresh::error_code;

/// The shortest wait between two polls, whatever interval the issuer suggests.
const MIN_INTERVAL: Duration = Duration::from_millis(200);

/// A user code to show, and what the poll needs.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_auth_id: String,
    pub user_code: String,
    pub verification_uri: String,
    pub interval: Duration,
}

/// One poll's answer.
pub enum DevicePoll {
    /// The person has not entered the code yet.
    Pending,
    /// The poll failed in a way worth retrying (network, 5xx, rate limit); the reason.
    Retry(String),
    /// Approved: exchange this code with this verifier.
    Authorized { authorization_code: String, code_verifier: String },
}

/// The redirect URI a device sign-in's code is exchanged with.
pub fn redirect_uri(issuer: &str) -> String {
    format!("{issuer}/deviceauth/callback")
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Asks the issuer for a user code.
pub async fn request_code(http: &reqwest::Client, issuer: &str, client_id: &str) -> Result<DeviceCode, LoginError> {
    let url = format!("{issuer}/api/accounts/deviceauth/usercode");
    let response = http
        .post(&url)
        .timeout(ISSUER_TIMEOUT)
        .json(&json!({"client_id": client_id}))
        .send()
        .await
        .map_err(|e| LoginError::Device(format!("cannot reach {issuer}: {e}")))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let code = error_code(&body).map(|c| format!(" ({c})")).unwrap_or_default();
        return Err(LoginError::Device(format!(
            "the issuer answered {status}{code} when asked for a code; try the browser sign-in instead"
        )));
    }
    let device_auth_id = text(body.get("device_auth_id"));
    let user_code = text(body.get("user_code")).or_else(|| text(body.get("usercode")));
    let (Some(device_auth_id), Some(user_code)) = (device_auth_id, user_code) else {
        return Err(LoginError::Device("the issuer's answer carries no user code".into()));
    };
    let interval = body
        .get("interval")
        .and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())))
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map_or(Duration::from_secs(5), |secs| Duration::from_secs_f64(secs.min(60.0)))
        .max(MIN_INTERVAL);
    Ok(DeviceCode { device_auth_id, user_code, verification_uri: format!("{issuer}/codex/device"), interval })
}

/// Asks once whether the person has entered the code.
pub async fn poll(http: &reqwest::Client, issuer: &str, code: &DeviceCode) -> Result<DevicePoll, LoginError> {
    let response = match http
        .post(format!("{issuer}/api/accounts/deviceauth/token"))
        .timeout(ISSUER_TIMEOUT)
        .json(&json!({"device_auth_id": code.device_auth_id, "user_code": code.user_code}))
        .send()
        .await
    {
        Ok(response) => response,
        Err(err) => return Ok(DevicePoll::Retry(format!("cannot reach {issuer}: {err}"))),
    };
    let status = response.status();
    if matches!(status.as_u16(), 403 | 404) {
        return Ok(DevicePoll::Pending);
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Ok(DevicePoll::Retry(format!("the issuer answered {status}")));
    }
    if !status.is_success() {
        let code = error_code(&body).map(|c| format!(" ({c})")).unwrap_or_default();
        return Err(LoginError::Device(format!("the issuer refused the device code: {status}{code}")));
    }
    match (text(body.get("authorization_code")), text(body.get("code_verifier"))) {
        (Some(authorization_code), Some(code_verifier)) => {
            Ok(DevicePoll::Authorized { authorization_code, code_verifier })
        }
        _ => Err(LoginError::Device("the issuer approved the code but sent no authorization code".into())),
    }
}
