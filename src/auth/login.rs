//! The browser sign-in at the issuer (reference §1.3–1.5): the authorize URL, reading the
//! callback (from the listener or from what a person pasted), and exchanging the code for
//! tokens. Also the sign-in's error type, worded for the person signing in.
//!
//! Waiting for the callback is `callback.rs`; the device-code variant is `device.rs`; keeping
//! track of sign-ins in progress and storing the account is the core's.

use std::time::Duration;

use serde_json::Value;

use super::ISSUER_TIMEOUT;
use super::refresh::{TokenResponse, error_code};
use super::tokens::Tokens;

/// How long a sign-in waits for the user before it expires.
pub const LOGIN_TTL: Duration = Duration::from_secs(15 * 60);

/// The scopes Codex asks for.
pub const SCOPE: &str = "openid profile email offline_access api.connectors.read api.connectors.invoke";

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(
        "CODEXMANAGER_LOGIN_ADDR={addr} is not a loopback address, so other machines could reach the sign-in \
         callback. Use localhost:PORT, or set CODEXMANAGER_ALLOW_NON_LOOPBACK_LOGIN_ADDR=1 if you mean it"
    )]
    NonLoopback { addr: String },
    #[error("CODEXMANAGER_LOGIN_ADDR={addr:?} is not a listen address (host:port): {reason}")]
    BadAddress { addr: String, reason: String },
    #[error(
        "cannot listen for the sign-in callback on {addr}: the port is already in use (another sign-in, or the \
         Codex CLI's login, may be waiting there). Finish or close it and start again, set \
         CODEXMANAGER_LOGIN_ADDR to a free port, or sign in by pasting the callback address \
         (`codexmanager account login --manual`)"
    )]
    PortBusy { addr: String },
    #[error(
        "cannot listen for the sign-in callback on {addr}: {source}. Set CODEXMANAGER_LOGIN_ADDR to another \
         address, or sign in by pasting the callback address (`codexmanager account login --manual`)"
    )]
    Bind { addr: String, source: std::io::Error },
    #[error(
        "this callback belongs to another sign-in (its state does not match this one). Use the address from \
         the newest sign-in you started, or start the sign-in again"
    )]
    StateMismatch,
    #[error("{}", access_denied_message(.description.as_deref()))]
    AccessDenied { description: Option<String> },
    #[error("the issuer sent an error instead of a sign-in code ({code}{}); start the sign-in again", detail(.description.as_deref()))]
    Authorize { code: String, description: Option<String> },
    #[error(
        "no sign-in code found in what was pasted: paste the whole address the browser ended on (it contains \
         `code=`), or just the code"
    )]
    NoCode,
    #[error("exchanging the sign-in code for tokens failed: {0}. Start the sign-in again")]
    Exchange(String),
    #[error("the device-code sign-in failed: {0}")]
    Device(String),
    #[error("the sign-in expired (a sign-in waits at most 15 minutes); start it again")]
    Expired,
    #[error("the sign-in was cancelled")]
    Cancelled,
    #[error("this sign-in has already {0}; start a new one to sign in again")]
    Finished(&'static str),
    #[error("a device-code sign-in is not completed by pasting: enter the code on the device page instead")]
    DeviceOnly,
    #[error("signed in, but storing the account failed: {0}")]
    Store(String),
    #[error(
        "this sign-in is restricted to the ChatGPT workspace {wanted}, but the account signed in to {}; \
         start the sign-in again and choose that workspace",
        .got.as_deref().unwrap_or("no workspace")
    )]
    WrongWorkspace { wanted: String, got: Option<String> },
}

fn detail(description: Option<&str>) -> String {
    description.map(|d| format!(": {d}")).unwrap_or_default()
}

fn access_denied_message(description: Option<&str>) -> String {
    if description.is_some_and(|d| d.contains("missing_codex_entitlement")) {
        "Codex is not enabled for this ChatGPT workspace (missing_codex_entitlement). Ask the workspace admin to \
         turn Codex on for you, or start the sign-in again and choose an account or workspace that has Codex"
            .into()
    } else {
        format!(
            "the sign-in was declined at the issuer (access_denied{}); start it again and allow access",
            detail(description)
        )
    }
}

/// What the issuer asks the browser to send back to the redirect URI.
pub struct AuthorizeRequest<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub state: &'a str,
    pub originator: &'a str,
    /// Restricts the sign-in to these workspaces (comma-separated), as Codex's
    /// `forced_chatgpt_workspace_id` and the original's `workspaceId` do.
    pub allowed_workspace_id: Option<&'a str>,
}

impl AuthorizeRequest<'_> {
    /// The authorize URL with the query in Codex's order, spaces encoded as `%20`.
    pub fn url(&self) -> String {
        let query = [
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("scope", SCOPE),
            ("code_challenge", self.code_challenge),
            ("code_challenge_method", "S256"),
            ("id_token_add_organizations", "true"),
            ("codex_cli_simplified_flow", "true"),
            ("state", self.state),
            ("originator", self.originator),
        ]
        .into_iter()
        .chain(self.allowed_workspace_id.map(|id| ("allowed_workspace_id", id)))
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect::<Vec<_>>()
        .join("&");
        format!("{}/oauth/authorize?{query}", self.issuer)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The query of a callback: a code and the state, or an error. Its `Debug` hides the code.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
    }
}

impl CallbackParams {
    pub fn from_pairs<K: AsRef<str>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> CallbackParams {
        let mut params = CallbackParams::default();
        for (key, value) in pairs {
            let value = Some(value.into()).filter(|v: &String| !v.is_empty());
            match key.as_ref() {
                "code" => params.code = value,
                "state" => params.state = value,
                "error" => params.error = value,
                "error_description" => params.error_description = value,
                _ => {}
            }
        }
        params
    }

    /// Reads what a person pasted: the full callback URL, its query string, or the bare code.
    pub fn parse_pasted(text: &str) -> Result<CallbackParams, LoginError> {
        let text = text.trim();
        if text.contains("code=") || text.contains("error=") {
            let query = text.split_once('?').map_or(text, |(_, query)| query);
            let query = query.split('#').next().unwrap_or(query);
            let params = CallbackParams::from_pairs(url::form_urlencoded::parse(query.as_bytes()).into_owned());
            return if params.code.is_some() || params.error.is_some() { Ok(params) } else { Err(LoginError::NoCode) };
        }
        let bare = !text.is_empty() && !text.contains(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '='));
        if bare {
            Ok(CallbackParams { code: Some(text.to_string()), ..Default::default() })
        } else {
            Err(LoginError::NoCode)
        }
    }

    /// The code to exchange. A state that is present must match; `require_state` refuses a
    /// callback without one (the listener does; a pasted bare code has none).
    pub fn into_code(self, expected_state: &str, require_state: bool) -> Result<String, LoginError> {
        if let Some(error) = self.error {
            return Err(if error == "access_denied" {
                LoginError::AccessDenied { description: self.error_description }
            } else {
                LoginError::Authorize { code: error, description: self.error_description }
            });
        }
        match self.state.as_deref() {
            Some(state) if state != expected_state => return Err(LoginError::StateMismatch),
            None if require_state => return Err(LoginError::StateMismatch),
            _ => {}
        }
        self.code.ok_or(LoginError::NoCode)
    }
}

/// Exchanges an authorization code for tokens (form POST to `{issuer}/oauth/token`).
pub async fn exchange_code(
    http: &reqwest::Client,
    issuer: &str,
    client_id: &str,
    redirect_uri: &str,
    code: &str,
    code_verifier: &str,
) -> Result<Tokens, LoginError> {
    let response = http
        .post(format!("{issuer}/oauth/token"))
        .timeout(ISSUER_TIMEOUT)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("code_verifier", code_verifier),
        ])
        .send()
        .await
        .map_err(|e| LoginError::Exchange(format!("cannot reach {issuer}: {e}")))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let code = error_code(&body).unwrap_or_else(|| "no error code".into());
        let description = body
            .get("error_description")
            .or_else(|| body.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(LoginError::Exchange(format!("the issuer answered {status} ({code}{description})")));
    }
    let tokens: TokenResponse = serde_json::from_value(body).unwrap_or_default();
    match (tokens.access_token, tokens.refresh_token) {
        (Some(access_token), Some(refresh_token)) => {
            Ok(Tokens { access_token, refresh_token: Some(refresh_token), id_token: tokens.id_token })
        }
        _ => Err(LoginError::Exchange("the issuer's answer lacks an access or refresh token".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthorizeRequest<'static> {
        AuthorizeRequest {
            issuer: "https://auth.example",
            client_id: "app_X",
            redirect_uri: "http://localhost:1455/auth/callback",
            code_challenge: "ch-al_lenge",
            state: "st",
            originator: "codex_cli_rs",
            allowed_workspace_id: None,
        }
    }

    #[test]
    fn authorize_url_has_codex_parameters_in_order() {
        let url = request().url();
        assert_eq!(
            url,
            "https://auth.example/oauth/authorize?response_type=code&client_id=app_X\
             &redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback\
             &scope=openid%20profile%20email%20offline_access%20api.connectors.read%20api.connectors.invoke\
             &code_challenge=ch-al_lenge&code_challenge_method=S256&id_token_add_organizations=true\
             &codex_cli_simplified_flow=true&state=st&originator=codex_cli_rs"
        );
        let restricted = AuthorizeRequest { allowed_workspace_id: Some("ws-1,ws-2"), ..request() }.url();
        assert!(restricted.ends_with("&originator=codex_cli_rs&allowed_workspace_id=ws-1%2Cws-2"), "{restricted}");
    }

    #[test]
    fn pasted_urls_queries_and_bare_codes_are_read() {
        let full =
            CallbackParams::parse_pasted(" http://localhost:1455/auth/callback?code=ac_1&state=s%2B1 \n").unwrap();
        assert_eq!((full.code.as_deref(), full.state.as_deref()), (Some("ac_1"), Some("s+1")));
        let query = CallbackParams::parse_pasted("code=ac_2&state=s").unwrap();
        assert_eq!(query.code.as_deref(), Some("ac_2"));
        let bare = CallbackParams::parse_pasted("ac_3").unwrap();
        assert_eq!((bare.code.as_deref(), bare.state), (Some("ac_3"), None));
        assert!(matches!(CallbackParams::parse_pasted("http://localhost:1455/"), Err(LoginError::NoCode)));
        assert!(matches!(CallbackParams::parse_pasted(""), Err(LoginError::NoCode)));
    }

    #[test]
    fn state_must_match_and_errors_become_messages() {
        let params = |state: Option<&str>| CallbackParams {
            code: Some("c".into()),
            state: state.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(params(Some("s")).into_code("s", true).unwrap(), "c");
        assert!(matches!(params(Some("x")).into_code("s", false), Err(LoginError::StateMismatch)));
        assert!(matches!(params(None).into_code("s", true), Err(LoginError::StateMismatch)));
        assert_eq!(params(None).into_code("s", false).unwrap(), "c");
        let denied = CallbackParams {
            error: Some("access_denied".into()),
            error_description: Some("missing_codex_entitlement".into()),
            ..Default::default()
        };
        let message = denied.into_code("s", true).unwrap_err().to_string();
        assert!(message.contains("Codex is not enabled for this ChatGPT workspace"), "{message}");
    }
}
