//! Gateway errors, answered in the caller's protocol: OpenAI's
//! `{"error":{"message","type","code","param"}}` (also used for Azure), or Anthropic's
//! `{"type":"error","error":{"type","message"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::protocol::RequestError;

/// Which error shape the caller expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayError {
    pub status: StatusCode,
    /// OpenAI-style `code` (e.g. `invalid_api_key`, `usage_limit_reached`).
    pub code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// The shape it is answered in (OpenAI's unless a front door says otherwise).
    pub dialect: Dialect,
}

impl GatewayError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> GatewayError {
        GatewayError {
            status,
            code: Some(code.to_string()),
            message: message.into(),
            param: None,
            retry_after: None,
            dialect: Dialect::OpenAi,
        }
    }

    pub fn bad_request(param: Option<String>, message: impl Into<String>) -> GatewayError {
        GatewayError { param, ..GatewayError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message) }
    }

    pub fn unauthorized(message: impl Into<String>) -> GatewayError {
        GatewayError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", message)
    }

    /// The same error, answered in `dialect`'s shape.
    pub fn in_dialect(mut self, dialect: Dialect) -> GatewayError {
        self.dialect = dialect;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> GatewayError {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// OpenAI's `type` for the status.
    pub fn openai_type(&self) -> &'static str {
        match self.status.as_u16() {
            400 | 404 | 413 | 415 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            429 => "rate_limit_error",
            503 | 529 => "server_overloaded",
            _ => "api_error",
        }
    }

    /// Anthropic's error `type` for the status.
    pub fn anthropic_type(&self) -> &'static str {
        match self.status.as_u16() {
            400 | 415 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            _ => "api_error",
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let body = match self.dialect {
            Dialect::OpenAi => json!({"error": {
                "message": self.message, "type": self.openai_type(), "code": self.code, "param": self.param,
            }}),
            Dialect::Anthropic => {
                json!({"type": "error", "error": {"type": self.anthropic_type(), "message": self.message}})
            }
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A translator's refusal of a request: a 400 naming the field.
impl From<RequestError> for GatewayError {
    fn from(error: RequestError) -> GatewayError {
        GatewayError::bad_request(error.param, error.message)
    }
}

/// A request cut short because the service is stopping.
pub fn shutting_down() -> GatewayError {
    GatewayError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the gateway is shutting down; retry shortly")
        .with_retry_after(5)
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_dialect_has_its_shape_and_status() {
        let err =
            GatewayError::new(StatusCode::TOO_MANY_REQUESTS, "usage_limit_reached", "all accounts are cooling down")
                .with_retry_after(30);
        let response = err.clone().in_dialect(Dialect::Anthropic).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "30");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
        let response = err.into_response();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "usage_limit_reached");
        assert_eq!(body["error"]["type"], "rate_limit_error");
    }
}
