//! Account tests: sign-in (browser, pasted callback, device code) against the mock issuer,
//! the token keeper, usage polling and refresh, and account management — through the core,
//! the CLI binary and `/rpc`.

#[path = "../support/mod.rs"]
mod support;

mod device;
mod lifecycle;
mod login;
mod manage;
mod setup;
mod usage;
