//! The RPC's error: a JSON-RPC code and a message for the person who reads it, made from the
//! core's errors in one place. How it is written into an answer depends on the envelope
//! ([`super::Dialect`]).

use crate::auth::login::LoginError;
use crate::core::CoreError;

/// JSON-RPC error codes used here.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL: i64 = -32603;
    pub const SERVER_ERROR: i64 = -32000;
    pub const UNAUTHORIZED: i64 = -32001;
    pub const FORBIDDEN: i64 = -32003;
    pub const NOT_FOUND: i64 = -32004;
}

pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into() }
    }

    /// Bad params: the message says which and what is accepted.
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        RpcError::new(code::INVALID_PARAMS, format!("invalid params: {message}"))
    }
}

impl From<CoreError> for RpcError {
    fn from(err: CoreError) -> Self {
        let code = match &err {
            CoreError::Invalid(_) | CoreError::Login(LoginError::NoCode | LoginError::StateMismatch) => {
                code::INVALID_PARAMS
            }
            CoreError::NotFound(_) => code::NOT_FOUND,
            _ => code::SERVER_ERROR,
        };
        RpcError::new(code, err.to_string())
    }
}
