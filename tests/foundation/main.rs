//! Foundation tests: import/export, the vault, the CLI, `/rpc` and `serve`, all against the
//! real binary, real files and real sockets.

#[path = "../support/mod.rs"]
mod support;

mod cli_output;
mod import_export;
mod logging;
mod rpc;
mod rpc_original;
mod serve;
mod vault;
