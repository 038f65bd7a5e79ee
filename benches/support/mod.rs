//! The benchmark's parts: `mock` (the fast upstream), `load` (the load generator),
//! `procs` (`serve`, the CLI and nginx as child processes), `fixtures` (accounts and
//! requests), `ui` (headless frame timing), `turns` (a session's next turn over HTTP and WebSocket), `budget` (the verdicts) and `report` (JSON and
//! Markdown).

pub mod budget;
pub mod fixtures;
pub mod load;
pub mod mock;
pub mod procs;
pub mod report;
pub mod turns;
pub mod ui;
