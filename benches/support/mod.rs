//! The benchmark's parts: `mock` (the fast upstream), `load` (the load generator),
//! `procs` (`serve`, the CLI and nginx as child processes), `fixtures` (accounts and
//! requests), `ui` (headless frame timing), `turns` (a session's next turn over HTTP and
//! WebSocket), `postgres` (the test suite's throwaway PostgreSQL cluster), `budget` (the
//! verdicts) and `report` (JSON and Markdown).

pub mod budget;
pub mod fixtures;
pub mod load;
pub mod mock;
#[path = "../../tests/support/postgres.rs"]
pub mod postgres;
pub mod procs;
pub mod report;
pub mod turns;
pub mod ui;

/// Says on stderr that a part of the run was skipped and why (the PostgreSQL cluster calls it).
pub fn skipped(part: &str, why: &str) {
    eprintln!("SKIPPED {part}: {why}");
}
