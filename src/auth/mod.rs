//! Account credentials: the token set, JWT claims, the account file formats we import and
//! export, the sign-in flows (browser with PKCE, pasted callback, device code) and token
//! refresh at the issuer.

pub mod callback;
pub mod claims;
pub mod device;
pub mod import;
pub mod login;
pub mod pkce;
pub mod refresh;
pub mod revoke;
pub mod tokens;

/// How long any one call to the issuer may take.
pub const ISSUER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
