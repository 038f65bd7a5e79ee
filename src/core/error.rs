//! The core API's error type: what went wrong, worded for the person who sees it.

use crate::auth::login::LoginError;
use crate::store::StoreError;
use crate::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The caller's input is wrong; the message names the field.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error("a background worker stopped unexpectedly")]
    Worker,
}

impl From<StoreError> for CoreError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(message) => CoreError::NotFound(message),
            other => CoreError::Store(other),
        }
    }
}
