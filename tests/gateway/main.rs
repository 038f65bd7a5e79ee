//! Gateway tests: the real service on a loopback socket in front of the mock upstream.

#[path = "../support/mod.rs"]
mod support;

mod failover;
mod responses;
mod routing;
