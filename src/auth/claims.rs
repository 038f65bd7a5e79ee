//! JWT claims read from ChatGPT id and access tokens (decoded without verification: the
//! tokens come from the user's own files or the issuer, and the upstream verifies them).

use base64::Engine;
use serde_json::Value;

use super::tokens::Tokens;

const AUTH_NS: &str = "https://api.openai.com/auth";
const PROFILE_NS: &str = "https://api.openai.com/profile";

/// What an account's tokens say about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    pub email: Option<String>,
    pub chatgpt_account_id: Option<String>,
    pub chatgpt_user_id: Option<String>,
    pub plan: Option<String>,
    pub subject: Option<String>,
    /// The access token's expiry (Unix seconds).
    pub access_expires_at: Option<i64>,
}

/// Decodes a JWT's payload; `None` when the text is not a JWT.
pub fn decode_payload(jwt: &str) -> Option<Value> {
    let mut parts = jwt.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn read(payload: &Value, claims: &mut Claims) {
    let auth = payload.get(AUTH_NS);
    let field = |name: &str| text(auth.and_then(|a| a.get(name)));
    claims.email = claims
        .email
        .take()
        .or_else(|| text(payload.get("email")))
        .or_else(|| text(payload.get(PROFILE_NS).and_then(|p| p.get("email"))));
    claims.chatgpt_account_id = claims.chatgpt_account_id.take().or_else(|| field("chatgpt_account_id"));
    claims.chatgpt_user_id =
        claims.chatgpt_user_id.take().or_else(|| field("chatgpt_user_id")).or_else(|| field("user_id"));
    claims.plan = claims.plan.take().or_else(|| field("chatgpt_plan_type"));
    claims.subject = claims.subject.take().or_else(|| text(payload.get("sub")));
}

impl Claims {
    /// Claims from the id token first, then the access token for what it lacks.
    pub fn from_tokens(tokens: &Tokens) -> Claims {
        let mut claims = Claims::default();
        if let Some(payload) = tokens.id_token.as_deref().and_then(decode_payload) {
            read(&payload, &mut claims);
        }
        if let Some(payload) = decode_payload(&tokens.access_token) {
            read(&payload, &mut claims);
            claims.access_expires_at = payload.get("exp").and_then(Value::as_i64);
        }
        claims
    }
}

/// How the person signed in to ChatGPT, as the id token says: the identity provider (the
/// part of `sub` before `|`, e.g. `google-oauth2` in `google-oauth2|1149…`) and the name on
/// the account. Either may be missing (older tokens, tokens without an id token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignIn {
    pub provider: Option<String>,
    pub name: Option<String>,
}

impl SignIn {
    pub fn from_tokens(tokens: &Tokens) -> SignIn {
        let Some(payload) = tokens.id_token.as_deref().and_then(decode_payload) else {
            return SignIn::default();
        };
        let provider = text(payload.get("sub"))
            .and_then(|sub| sub.split_once('|').map(|(provider, _)| provider.to_string()))
            .filter(|provider| !provider.is_empty());
        SignIn { provider, name: text(payload.get("name")) }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// An unsigned JWT with the given payload (tests and the mock issuer use this shape).
    pub fn jwt(payload: &Value) -> String {
        let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", enc(&json!({"alg":"none"})), enc(payload))
    }

    #[test]
    fn reads_email_plan_and_account_from_the_auth_namespace() {
        let id = jwt(&json!({"email":"a@b.c","sub":"u1",
            "https://api.openai.com/auth":{"chatgpt_account_id":"acc-1","chatgpt_plan_type":"plus","chatgpt_user_id":"user-1"}}));
        let access = jwt(&json!({"exp": 1_900_000_000, "https://api.openai.com/profile":{"email":"other@x"}}));
        let claims = Claims::from_tokens(&Tokens { access_token: access, refresh_token: None, id_token: Some(id) });
        assert_eq!(claims.email.as_deref(), Some("a@b.c"));
        assert_eq!(claims.chatgpt_account_id.as_deref(), Some("acc-1"));
        assert_eq!(claims.plan.as_deref(), Some("plus"));
        assert_eq!(claims.chatgpt_user_id.as_deref(), Some("user-1"));
        assert_eq!(claims.access_expires_at, Some(1_900_000_000));
    }

    #[test]
    fn access_token_alone_is_enough() {
        let access = jwt(&json!({"exp": 5, "https://api.openai.com/profile":{"email":"p@x"},
            "https://api.openai.com/auth":{"chatgpt_account_id":"acc-2","user_id":"u2"}}));
        let claims = Claims::from_tokens(&Tokens { access_token: access, refresh_token: None, id_token: None });
        assert_eq!(claims.email.as_deref(), Some("p@x"));
        assert_eq!(claims.chatgpt_user_id.as_deref(), Some("u2"));
    }

    #[test]
    fn opaque_tokens_give_no_claims() {
        let claims =
            Claims::from_tokens(&Tokens { access_token: "opaque".into(), refresh_token: None, id_token: None });
        assert_eq!(claims, Claims::default());
    }

    #[test]
    fn the_sign_in_names_its_provider_and_person() {
        let id = jwt(&json!({"sub": "google-oauth2|1149", "name": "Frank Smith"}));
        let tokens = Tokens { access_token: "opaque".into(), refresh_token: None, id_token: Some(id) };
        let sign_in = SignIn::from_tokens(&tokens);
        assert_eq!(sign_in.provider.as_deref(), Some("google-oauth2"));
        assert_eq!(sign_in.name.as_deref(), Some("Frank Smith"));
        let bare = Tokens { id_token: Some(jwt(&json!({"sub": "user-1"}))), ..tokens };
        assert_eq!(SignIn::from_tokens(&bare), SignIn::default());
    }
}
