//! The benchmark's results: what each section measured, the budget verdicts, the JSON file
//! (one object per scenario and level) and the Markdown tables for the README.

use std::fmt::Write;

use serde::Serialize;

use super::budget::{Status, Verdict};
use super::load::{HoldStats, RunStats};
use super::procs::{Memory, WindowOpen};
use super::ui::{FrameStats, IdleStats};

/// The machine and the moment the numbers were taken.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    /// `/proc/loadavg`'s 1-minute figure when the run started and when it ended.
    pub load_before: f64,
    pub load_after: f64,
}

impl Machine {
    pub fn now() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')))
            .map(|(_, name)| name.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            cpu,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            load_before: load_average(),
            load_after: f64::NAN,
        }
    }
}

pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// One scenario at one concurrency: the direct, nginx and gateway runs and how they compare.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub scenario: &'static str,
    pub label: &'static str,
    pub concurrency: usize,
    /// The scenario whose direct and nginx runs are the baseline (translated scenarios use the
    /// streaming Responses request: the mock speaks only Responses).
    pub baseline: &'static str,
    pub direct: RunStats,
    pub nginx: Option<RunStats>,
    pub gateway: RunStats,
    pub added_p50_ms: f64,
    pub added_p90_ms: f64,
    pub added_p99_ms: f64,
    pub added_ttfb_p50_ms: f64,
    pub gateway_over_direct: f64,
    pub gateway_over_nginx: Option<f64>,
    /// The client's request body.
    pub body_bytes: usize,
    /// Request-body megabytes the gateway handles per second of its CPU time.
    pub body_mb_per_core_s: Option<f64>,
}

impl Throughput {
    pub fn new(
        scenario: super::fixtures::Scenario,
        concurrency: usize,
        direct: RunStats,
        nginx: Option<RunStats>,
        gateway: RunStats,
    ) -> Throughput {
        Throughput {
            scenario: scenario.name(),
            label: scenario.label(),
            concurrency,
            baseline: scenario.baseline().name(),
            added_p50_ms: gateway.p50_ms - direct.p50_ms,
            added_p90_ms: gateway.p90_ms - direct.p90_ms,
            added_p99_ms: gateway.p99_ms - direct.p99_ms,
            added_ttfb_p50_ms: gateway.ttfb_p50_ms - direct.ttfb_p50_ms,
            body_bytes: scenario.gateway_body().len(),
            body_mb_per_core_s: gateway.proxy_cpu_us.map(|us| scenario.gateway_body().len() as f64 / us),
            gateway_over_direct: gateway.rps / direct.rps,
            gateway_over_nginx: nginx.as_ref().map(|n| gateway.rps / n.rps),
            direct,
            nginx,
            gateway,
        }
    }
}

/// One scenario at one concurrency through `serve` on SQLite and on PostgreSQL.
#[derive(Debug, Clone, Serialize)]
pub struct StoreRun {
    pub scenario: &'static str,
    pub label: &'static str,
    pub concurrency: usize,
    pub sqlite: RunStats,
    pub postgres: RunStats,
    pub postgres_over_sqlite: f64,
}

impl StoreRun {
    pub fn new(
        scenario: super::fixtures::Scenario,
        concurrency: usize,
        sqlite: RunStats,
        postgres: RunStats,
    ) -> StoreRun {
        StoreRun {
            scenario: scenario.name(),
            label: scenario.label(),
            concurrency,
            postgres_over_sqlite: postgres.rps / sqlite.rps,
            sqlite,
            postgres,
        }
    }
}

/// Many slow streams held open through a separate `serve` process.
#[derive(Debug, Clone, Serialize)]
pub struct ManyStreams {
    pub streams: usize,
    pub stream_seconds: f64,
    pub hold: HoldStats,
    /// The gateway before the streams opened (after a warm-up).
    pub before: Memory,
    /// The highest resident size sampled while they were open.
    pub sampled_peak_kib: u64,
    /// The process's high-water mark (VmHWM) after they closed.
    pub after: Memory,
    pub growth_per_stream_kib: f64,
}

/// `serve`'s start-up over a database of `accounts` accounts.
#[derive(Debug, Clone, Serialize)]
pub struct Startup {
    pub accounts: usize,
    /// Process start to the first 200 from `/health`, each run.
    pub health_ms: Vec<f64>,
    pub health_median_ms: f64,
    /// Resident size two seconds after `/health` first answered.
    pub idle_rss_kib: u64,
}

/// One page's frame times.
#[derive(Debug, Clone, Serialize)]
pub struct UiFrames {
    pub page: String,
    pub what: String,
    pub frames: FrameStats,
}

/// One page's repaints while idle.
#[derive(Debug, Clone, Serialize)]
pub struct UiIdle {
    pub page: String,
    pub idle: IdleStats,
}

/// The window's measurements.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UiResults {
    pub accounts: usize,
    pub log_rows: usize,
    pub frames: Vec<UiFrames>,
    pub idle: Vec<UiIdle>,
    /// The real window's open times; empty without a display.
    pub window: Vec<WindowOpen>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub smoke: bool,
    pub machine: Machine,
    /// Accounts in the gateway's pool for the throughput and many-streams runs.
    pub pool_accounts: usize,
    pub nginx: Option<String>,
    pub throughput: Vec<Throughput>,
    pub turns: Option<super::turns::Turns>,
    /// The gateway on PostgreSQL beside SQLite; empty when not run or without PostgreSQL.
    pub stores: Vec<StoreRun>,
    pub many_streams: Option<ManyStreams>,
    pub startup: Vec<Startup>,
    pub ui: UiResults,
    pub budget: Vec<Verdict>,
}

impl Report {
    /// The JSON file: the run's header and one object per scenario and level (and per
    /// many-streams, start-up and UI measurement).
    pub fn to_json(&self) -> serde_json::Value {
        let mut results = Vec::new();
        results.extend(self.throughput.iter().map(|t| tagged("throughput", t)));
        results.extend(self.turns.iter().map(|t| tagged("turns", t)));
        results.extend(self.stores.iter().map(|s| tagged("store", s)));
        results.extend(self.many_streams.iter().map(|m| tagged("many_streams", m)));
        results.extend(self.startup.iter().map(|s| tagged("startup", s)));
        results.extend(self.ui.frames.iter().map(|u| tagged("ui_frames", u)));
        results.extend(self.ui.idle.iter().map(|u| tagged("ui_idle", u)));
        results.extend(self.ui.window.iter().map(|w| tagged("window_open", w)));
        serde_json::json!({
            "command": self.command,
            "smoke": self.smoke,
            "machine": self.machine,
            "pool_accounts": self.pool_accounts,
            "nginx": self.nginx,
            "results": results,
            "budget": self.budget,
        })
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "Measured {} on {} × {} (load average {:.2} at the start, {:.2} at the end), \
             with `{}`. Gateway pool: {} accounts. nginx: {}.\n",
            m.date,
            m.cores,
            m.cpu,
            m.load_before,
            m.load_after,
            self.command,
            self.pool_accounts,
            self.nginx.as_deref().unwrap_or("not installed, its column is empty")
        );
        self.throughput_tables(&mut out);
        self.other_tables(&mut out);
        self.budget_table(&mut out);
        out
    }

    fn throughput_tables(&self, out: &mut String) {
        if self.throughput.is_empty() {
            return;
        }
        out.push_str("Throughput (requests/s) and ratios. Translated scenarios' direct and nginx columns are the streaming `/v1/responses` request to the mock (it speaks only Responses). The last column is the CPU time the proxy process(es) spent per request over the whole run.\n\n");
        out.push_str("| scenario | conc. | direct | nginx | gateway | gateway/direct | gateway/nginx | CPU µs/req nginx / gateway | body KiB, MB/s per core |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let cpu =
            |run: Option<&RunStats>| run.and_then(|r| r.proxy_cpu_us).map_or("–".into(), |us| format!("{us:.0}"));
        for t in &self.throughput {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {:.0} | {:.2} | {} | {} / {} | {} |",
                t.label,
                t.concurrency,
                t.direct.rps,
                t.nginx.as_ref().map_or("–".into(), |n| format!("{:.0}", n.rps)),
                t.gateway.rps,
                t.gateway_over_direct,
                t.gateway_over_nginx.map_or("–".into(), |r| format!("{r:.2}")),
                cpu(t.nginx.as_ref()),
                cpu(Some(&t.gateway)),
                match t.body_mb_per_core_s {
                    Some(rate) if t.body_bytes >= 64 * 1024 => format!("{}, {rate:.0}", t.body_bytes / 1024),
                    _ => "–".into(),
                },
            );
        }
        out.push_str("\nLatency in ms (direct / nginx / gateway), time to first byte, and what the gateway adds over direct.\n\n");
        out.push_str("| scenario | conc. | p50 | p90 | p99 | TTFB p50 | added p50 | added p99 |\n");
        out.push_str("|---|---:|---|---|---|---|---:|---:|\n");
        let three = |d: f64, n: Option<f64>, g: f64| {
            format!("{d:.2} / {} / {g:.2}", n.map_or("–".into(), |n| format!("{n:.2}")))
        };
        for t in &self.throughput {
            let n = t.nginx.as_ref();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:+.3} | {:+.3} |",
                t.label,
                t.concurrency,
                three(t.direct.p50_ms, n.map(|n| n.p50_ms), t.gateway.p50_ms),
                three(t.direct.p90_ms, n.map(|n| n.p90_ms), t.gateway.p90_ms),
                three(t.direct.p99_ms, n.map(|n| n.p99_ms), t.gateway.p99_ms),
                three(t.direct.ttfb_p50_ms, n.map(|n| n.ttfb_p50_ms), t.gateway.ttfb_p50_ms),
                t.added_p50_ms,
                t.added_p99_ms,
            );
        }
        out.push('\n');
    }

    fn other_tables(&self, out: &mut String) {
        if let Some(t) = &self.turns {
            let _ = writeln!(
                out,
                "A session's next turn after a {} KiB conversation ({} turns each way, one at a time): time to \
                 first byte p50 / p90 {:.2} / {:.2} ms over HTTP (the whole conversation each turn), {:.2} / {:.2} ms \
                 over the WebSocket (`previous_response_id` and the new item only).\n",
                t.history_kib,
                t.turns,
                t.http_ttfb_p50_ms,
                t.http_ttfb_p90_ms,
                t.websocket_ttfb_p50_ms,
                t.websocket_ttfb_p90_ms
            );
        }
        if !self.stores.is_empty() {
            out.push_str("The gateway on PostgreSQL beside SQLite (requests/s, p50 ms, CPU µs per request of `serve`; each pair run back to back):\n\n");
            out.push_str(
                "| scenario | conc. | on SQLite | on PostgreSQL | PostgreSQL / SQLite |\n|---|---:|---:|---:|---:|\n",
            );
            let run = |r: &RunStats| {
                let cpu = r.proxy_cpu_us.map_or("–".into(), |us| format!("{us:.0}"));
                format!("{:.0}, {:.2} ms, {cpu} µs", r.rps, r.p50_ms)
            };
            for s in &self.stores {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.2} |",
                    s.label,
                    s.concurrency,
                    run(&s.sqlite),
                    run(&s.postgres),
                    s.postgres_over_sqlite
                );
            }
            out.push('\n');
        }
        if let Some(m) = &self.many_streams {
            let _ = writeln!(
                out,
                "Many streams: {} concurrent streams of {:.0} s (one event a second) through `serve`: \
                 {} completed, {} failed. Gateway RSS {:.1} MiB before, {:.1} MiB peak (VmHWM {:.1} MiB): \
                 **{:.1} KiB per open stream**.\n",
                m.streams,
                m.stream_seconds,
                m.hold.completed,
                m.hold.failed,
                m.before.rss_kib as f64 / 1024.0,
                m.sampled_peak_kib as f64 / 1024.0,
                m.after.peak_kib as f64 / 1024.0,
                m.growth_per_stream_kib
            );
        }
        if !self.startup.is_empty() {
            out.push_str("| `serve` start-up | to `/health` (median) | runs (ms) | idle RSS |\n|---|---:|---|---:|\n");
            for s in &self.startup {
                let runs: Vec<String> = s.health_ms.iter().map(|v| format!("{v:.0}")).collect();
                let _ = writeln!(
                    out,
                    "| {} accounts | {:.0} ms | {} | {:.1} MiB |",
                    s.accounts,
                    s.health_median_ms,
                    runs.join(", "),
                    s.idle_rss_kib as f64 / 1024.0
                );
            }
            out.push('\n');
        }
        if !self.ui.frames.is_empty() {
            out.push_str("| UI page | what | frames | mean ms | p50 ms | p99 ms | max ms |\n|---|---|---:|---:|---:|---:|---:|\n");
            for u in &self.ui.frames {
                let f = &u.frames;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                    u.page, u.what, f.frames, f.mean_ms, f.p50_ms, f.p99_ms, f.max_ms
                );
            }
            for u in &self.ui.idle {
                let _ = writeln!(
                    out,
                    "\nIdle window ({}): {} repaints in {:.1} s with nothing happening.",
                    u.page, u.idle.repaints, u.idle.seconds
                );
            }
            out.push('\n');
        }
        if !self.ui.window.is_empty() {
            out.push_str("| window opened on | first frame | page's data shown |\n|---|---:|---:|\n");
            for w in &self.ui.window {
                let _ = writeln!(out, "| {} | {:.0} ms | {:.0} ms |", w.page, w.first_frame_ms, w.data_shown_ms);
            }
            out.push('\n');
        }
    }

    fn budget_table(&self, out: &mut String) {
        if self.budget.is_empty() {
            return;
        }
        out.push_str("| budget line | budget | measured | verdict |\n|---|---|---|---|\n");
        for v in &self.budget {
            let verdict = match v.status {
                Status::Met => "met",
                Status::Missed => "**missed**",
                Status::NotMeasured => "not measured",
            };
            let _ = writeln!(out, "| {} | {} | {} | {verdict} |", v.line, v.budget, v.measured);
        }
    }
}

/// A result as a JSON object with its `kind`.
fn tagged<T: Serialize>(kind: &str, result: &T) -> serde_json::Value {
    let mut value = serde_json::to_value(result).unwrap_or(serde_json::Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("kind".into(), kind.into());
    }
    value
}
