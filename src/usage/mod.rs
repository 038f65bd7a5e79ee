//! Usage: each account's 5-hour and weekly windows — read from the usage endpoint or from
//! response headers, polled on a schedule — and the one place that decides from them whether
//! an account can serve.

pub mod availability;
pub mod endpoint;
pub mod headers;
pub mod poller;
