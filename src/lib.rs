//! CodexManager: a pool of ChatGPT (Codex) accounts behind one local gateway, with a native
//! window, a `serve` mode and a CLI. `docs/ARCHITECTURE.md` is the map of the modules below.

pub mod auth;
pub mod autostart;
pub mod cli;
pub mod config;
pub mod core;
pub mod egress;
pub mod gateway;
pub mod listen_addr;
pub mod logging;
pub mod paths;
pub mod rpc;
pub mod server;
pub mod service;
pub mod startup;
pub mod store;
#[cfg(feature = "tray")]
pub mod tray;
pub mod ui;
pub mod usage;
pub mod vault;
