//! Usage: each account's 5-hour and weekly windows, and the one place that decides from
//! them whether an account can serve.

pub mod availability;
pub mod headers;
