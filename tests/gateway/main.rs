//! Gateway tests: the real service on a loopback socket in front of the mock upstream.

#[path = "../support/mod.rs"]
mod support;

mod azure;
mod chat;
mod codex;
mod failover;
mod lan;
mod messages;
mod proxies;
mod responses;
mod routing;
mod settings;
mod socket;
mod team;
