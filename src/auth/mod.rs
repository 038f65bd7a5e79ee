//! Account credentials: the token set, JWT claims, and the account file formats we import
//! and export. Sign-in flows and token refresh live here too as they are added.

pub mod claims;
pub mod import;
pub mod refresh;
pub mod tokens;
