//! The benchmark harness and performance budget (README, "Performance").
//!
//! `cargo bench --bench gateway` starts a fast mock of the Codex backend and drives it over
//! 127.0.0.1 three ways — direct, through nginx as a plain reverse proxy, and through the real
//! gateway (`codexmanager serve` as a child process) — for four request scenarios at
//! concurrency 1, 16, 64 and 256; then holds 1,000 slow streams open through a fresh `serve`
//! and reads its memory; runs the small requests through `serve` on PostgreSQL beside
//! `serve` on SQLite (when the PostgreSQL binaries are installed); times `serve`'s start-up over 1,000 and 10,000 accounts; times the
//! window's pages headless over 5,000 accounts and 1,000,000 log rows (frames while scrolled,
//! repaints while idle) and, when there is a display (`xvfb-run`), how long the real window
//! takes to open on that database. It prints Markdown tables and the budget's verdicts, and
//! writes `target/bench/gateway.json` and `gateway.md`.
//!
//! `cargo bench --bench gateway -- --smoke` is the CI alarm: the same sections with low counts
//! and short runs, exiting non-zero when a ratio falls below half its budget or a request or
//! stream fails. `--only`, `--levels`, `--scenarios`, `--seconds` and `--pool` narrow or
//! change a run (to profile one case, say); `--out DIR` moves the output files;
//! `CODEXMANAGER_BENCH_BIN` runs another `codexmanager` binary as the gateway (to compare two
//! builds).

mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use codexmanager::config::Env;
use codexmanager::core::{Core, LogRow, UsageSnapshot, Window, now_millis, now_secs};
use codexmanager::paths::{DataLocation, DataPaths};
use codexmanager::ui::accounts::AccountsPage;
use codexmanager::ui::backend::Backend;
use codexmanager::ui::logs::LogsPage;
use support::fixtures::{self, Scenario};
use support::load::{self, RunStats, Target};
use support::mock::{MockUpstream, SlowPace};
use support::procs::{self, DataDir, Nginx, WindowOpen};
use support::report::{self, ManyStreams, Report, Startup, StoreRun, Throughput, UiFrames, UiIdle, UiResults};
use support::{budget, ui};

/// Sizes and durations of one run.
struct Plan {
    smoke: bool,
    levels: Vec<usize>,
    scenarios: Vec<Scenario>,
    warmup: Duration,
    measure: Duration,
    pool_accounts: usize,
    streams: usize,
    slow: SlowPace,
    startup_sizes: Vec<usize>,
    startup_runs: usize,
    ui_accounts: usize,
    ui_log_rows: usize,
    ui_frames: usize,
    idle: Duration,
    /// A session's next turn: the conversation's size and how many turns each way.
    turns_history_kib: usize,
    turns: usize,
}

impl Plan {
    fn new(smoke: bool) -> Plan {
        if smoke {
            return Plan {
                smoke,
                levels: vec![1, budget::BUDGET_LEVEL],
                scenarios: Scenario::ALL.to_vec(),
                warmup: Duration::from_millis(300),
                measure: Duration::from_millis(1500),
                pool_accounts: 20,
                streams: 100,
                slow: SlowPace { events: 3, interval: Duration::from_secs(1) },
                startup_sizes: vec![1_000],
                startup_runs: 1,
                ui_accounts: 500,
                ui_log_rows: 20_000,
                ui_frames: 60,
                idle: Duration::from_secs(2),
                turns_history_kib: 256,
                turns: 5,
            };
        }
        Plan {
            smoke,
            levels: vec![1, 16, budget::BUDGET_LEVEL, 256],
            scenarios: Scenario::ALL.to_vec(),
            warmup: Duration::from_secs(1),
            measure: Duration::from_secs(5),
            pool_accounts: 100,
            streams: 1_000,
            slow: SlowPace { events: 30, interval: Duration::from_secs(1) },
            startup_sizes: vec![1_000, 10_000],
            startup_runs: 3,
            ui_accounts: 5_000,
            ui_log_rows: 1_000_000,
            ui_frames: 300,
            idle: Duration::from_secs(5),
            turns_history_kib: 256,
            turns: 40,
        }
    }
}

/// The command line (and cargo's `--bench`, which it passes).
struct Options {
    smoke: bool,
    only: Option<Vec<String>>,
    levels: Option<Vec<usize>>,
    scenarios: Option<Vec<Scenario>>,
    seconds: Option<f64>,
    pool: Option<usize>,
    out: PathBuf,
}

const SECTIONS: [&str; 6] = ["throughput", "turns", "store", "streams", "startup", "ui"];
const USAGE: &str = "options: --smoke, --only SECTIONS (throughput,turns,store,streams,startup,ui), --levels 1,16,.., \
    --scenarios responses,responses-stream,chat-stream,messages-stream, --seconds N (per throughput run), \
    --pool N (accounts in the gateway's pool), --out DIR";

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            smoke: false,
            only: None,
            levels: None,
            scenarios: None,
            seconds: None,
            pool: None,
            out: Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench"),
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value; {USAGE}"));
            match arg.as_str() {
                "--smoke" => options.smoke = true,
                "--bench" => {}
                "--only" => options.only = Some(list(&value()?, |s| SECTIONS.contains(&s).then(|| s.to_string()))?),
                "--levels" => options.levels = Some(list(&value()?, |s| s.parse().ok().filter(|n| *n > 0))?),
                "--scenarios" => {
                    options.scenarios = Some(list(&value()?, |s| Scenario::ALL.into_iter().find(|x| x.name() == s))?)
                }
                "--seconds" => {
                    let text = value()?;
                    let seconds = text.parse().ok().filter(|s: &f64| *s > 0.0 && *s <= 600.0);
                    options.seconds = Some(seconds.ok_or(format!("--seconds {text:?}: give 0 < N ≤ 600"))?);
                }
                "--pool" => {
                    let text = value()?;
                    let pool = text.parse().ok().filter(|n: &usize| (1..=100_000).contains(n));
                    options.pool = Some(pool.ok_or(format!("--pool {text:?}: give 1 ≤ N ≤ 100000 accounts"))?);
                }
                "--out" => options.out = value()?.into(),
                other => return Err(format!("unknown argument {other:?}; {USAGE}")),
            }
        }
        Ok(options)
    }

    fn wants(&self, section: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|s| s == section))
    }

    /// The plan for this run, narrowed by `--levels`, `--scenarios` and `--seconds`.
    fn plan(&self) -> Plan {
        let mut plan = Plan::new(self.smoke);
        if let Some(levels) = &self.levels {
            plan.levels.clone_from(levels);
        }
        if let Some(scenarios) = &self.scenarios {
            plan.scenarios.clone_from(scenarios);
        }
        if let Some(seconds) = self.seconds {
            plan.measure = Duration::from_secs_f64(seconds);
        }
        if let Some(pool) = self.pool {
            plan.pool_accounts = pool;
        }
        plan
    }
}

/// A comma-separated list, each item checked by `item`.
fn list<T>(text: &str, item: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    text.split(',').map(|s| item(s.trim()).ok_or(format!("{s:?} is not a valid choice; {USAGE}"))).collect()
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    raise_fd_limit();
    let plan = options.plan();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("start the benchmark's runtime");
    let scratch = tempfile::tempdir().expect("create a scratch folder");
    let mock = runtime.block_on(MockUpstream::start(plan.slow));
    let nginx = Nginx::start(&scratch.path().join("nginx"), mock.addr);
    if nginx.is_none() {
        eprintln!("note: nginx is not installed at /usr/sbin/nginx; the nginx scenario is skipped");
    }
    let mut report = Report {
        command: command_line(),
        smoke: plan.smoke,
        machine: report::Machine::now(),
        pool_accounts: plan.pool_accounts,
        nginx: nginx.as_ref().map(|_| nginx_version()),
        throughput: Vec::new(),
        turns: None,
        stores: Vec::new(),
        many_streams: None,
        startup: Vec::new(),
        ui: UiResults::default(),
        budget: Vec::new(),
    };
    if options.wants("throughput") {
        report.throughput = runtime.block_on(throughput(&plan, &mock, nginx.as_ref(), scratch.path()));
    }
    drop(nginx);
    if options.wants("turns") {
        report.turns = Some(runtime.block_on(turns(&plan, &mock, scratch.path())));
    }
    if options.wants("store") {
        report.stores = runtime.block_on(stores(&plan, &mock, scratch.path()));
    }
    if options.wants("streams") {
        report.many_streams = Some(runtime.block_on(many_streams(&plan, &mock, scratch.path())));
    }
    if options.wants("startup") {
        report.startup = runtime.block_on(startup(&plan, &mock, scratch.path()));
    }
    if options.wants("ui") {
        report.ui = ui_pages(&plan, &runtime, scratch.path());
    }
    report.machine.load_after = report::load_average();
    report.budget = budget::evaluate(&report);
    write_outputs(&report, &options.out);
    let tripped: Vec<&budget::Verdict> = report.budget.iter().filter(|v| v.alarm).collect();
    if plan.smoke && !tripped.is_empty() {
        for verdict in tripped {
            eprintln!("SMOKE FAILED: {}: {} (budget {})", verdict.line, verdict.measured, verdict.budget);
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// How this run was started, as a cargo command.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.is_empty() {
        "cargo bench --bench gateway".into()
    } else {
        format!("cargo bench --bench gateway -- {}", args.join(" "))
    }
}

/// Lifts the open-file limit to its hard maximum: 1,000 streams need 2,000 sockets here and
/// as many in the gateway (children inherit the limit).
fn raise_fd_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit read and write the plain struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn nginx_version() -> String {
    let output = std::process::Command::new("/usr/sbin/nginx").arg("-v").output();
    output
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().trim_start_matches("nginx version: ").to_string())
        .unwrap_or_else(|| "nginx".into())
}

/// A database of `accounts` fixture accounts with a platform key; returns the key.
fn prepare_db(data: &DataDir, accounts: usize) -> String {
    let file = data.root.join("accounts.json");
    fixtures::write_accounts(&file, accounts);
    data.prepare(&file, accounts)
}

/// Every scenario at every level, direct, through nginx and through `serve`.
async fn throughput(plan: &Plan, mock: &MockUpstream, nginx: Option<&Nginx>, scratch: &Path) -> Vec<Throughput> {
    let data = DataDir::new(scratch.join("gateway"));
    let key = prepare_db(&data, plan.pool_accounts);
    let serve = data.serve(&mock.upstream_base());
    serve.wait_healthy(Duration::from_secs(30)).await;
    let direct_url = format!("http://{}{}", mock.addr, fixtures::UPSTREAM_PATH);
    let nginx_url = nginx.map(|n| format!("http://127.0.0.1:{}{}", n.port, fixtures::UPSTREAM_PATH));
    let mut results = Vec::new();
    for &level in &plan.levels {
        let mut baselines: Vec<(Scenario, RunStats, Option<RunStats>)> = Vec::new();
        for &scenario in &plan.scenarios {
            if scenario.is_large() && level > fixtures::LARGE_MAX_LEVEL {
                continue;
            }
            if !baselines.iter().any(|(s, _, _)| *s == scenario.baseline()) {
                let scenario = scenario.baseline();
                let body = scenario.gateway_body();
                let end = scenario.gateway_end();
                let direct =
                    measure(plan, &Target::post(direct_url.clone(), body, None, end), level, "direct", &[]).await;
                let proxied = match (&nginx_url, nginx) {
                    (Some(url), Some(nginx)) => {
                        let target = Target::post(url.clone(), body, None, end);
                        Some(measure(plan, &target, level, "nginx", &nginx.pids()).await)
                    }
                    _ => None,
                };
                baselines.push((scenario, direct, proxied));
            }
            let url = format!("{}{}", serve.base(), scenario.gateway_path());
            let target = Target::post(url, scenario.gateway_body(), Some(&key), scenario.gateway_end());
            let gateway = measure(plan, &target, level, "gateway", &[serve.running.pid()]).await;
            let (_, direct, proxied) =
                baselines.iter().find(|(s, _, _)| *s == scenario.baseline()).expect("the baseline ran first");
            let result = Throughput::new(scenario, level, direct.clone(), proxied.clone(), gateway);
            eprintln!(
                "{:<17} c={:<3} direct {:>7.0}/s  nginx {:>7}/s  gateway {:>7.0}/s  added p50 {:+.3} ms",
                scenario.name(),
                level,
                result.direct.rps,
                result.nginx.as_ref().map_or("-".into(), |n| format!("{:.0}", n.rps)),
                result.gateway.rps,
                result.added_p50_ms
            );
            results.push(result);
        }
    }
    results
}

/// A long session's next turn through a fresh `serve`, over HTTP and over the WebSocket.
async fn turns(plan: &Plan, mock: &MockUpstream, scratch: &Path) -> support::turns::Turns {
    let data = DataDir::new(scratch.join("turns"));
    let key = prepare_db(&data, 1);
    let serve = data.serve(&mock.upstream_base());
    serve.wait_healthy(Duration::from_secs(30)).await;
    let turns = support::turns::measure(&serve.base(), &key, plan.turns_history_kib, plan.turns).await;
    eprintln!(
        "next turn after {} KiB: TTFB p50 HTTP {:.2} ms, WebSocket {:.2} ms",
        turns.history_kib, turns.http_ttfb_p50_ms, turns.websocket_ttfb_p50_ms
    );
    turns
}

/// The small requests through `serve` on PostgreSQL beside `serve` on SQLite, each pair
/// measured back to back: the hot path reads neither store, but the request log is written
/// to it. Skipped (empty) without the PostgreSQL binaries.
async fn stores(plan: &Plan, mock: &MockUpstream, scratch: &Path) -> Vec<StoreRun> {
    let Some(cluster) = support::postgres::Cluster::start("the PostgreSQL line") else { return Vec::new() };
    let sqlite = DataDir::new(scratch.join("store-sqlite"));
    let postgres = DataDir::on_postgres(scratch.join("store-postgres"), cluster.fresh_database().await);
    let sqlite_key = prepare_db(&sqlite, plan.pool_accounts);
    let postgres_key = prepare_db(&postgres, plan.pool_accounts);
    let on_sqlite = sqlite.serve(&mock.upstream_base());
    let on_postgres = postgres.serve(&mock.upstream_base());
    on_sqlite.wait_healthy(Duration::from_secs(30)).await;
    on_postgres.wait_healthy(Duration::from_secs(30)).await;
    let levels = plan.levels.iter().copied().filter(|&level| level > 1 && level <= budget::BUDGET_LEVEL);
    let mut results = Vec::new();
    for level in levels {
        for scenario in [Scenario::Responses, Scenario::ResponsesStream] {
            let target = |serve: &procs::Serve, key: &str| {
                let url = format!("{}{}", serve.base(), scenario.gateway_path());
                Target::post(url, scenario.gateway_body(), Some(key), scenario.gateway_end())
            };
            let pid = [on_sqlite.running.pid()];
            let sqlite_run = measure(plan, &target(&on_sqlite, &sqlite_key), level, "gateway on SQLite", &pid).await;
            let pid = [on_postgres.running.pid()];
            let postgres_run =
                measure(plan, &target(&on_postgres, &postgres_key), level, "gateway on PostgreSQL", &pid).await;
            let run = StoreRun::new(scenario, level, sqlite_run, postgres_run);
            eprintln!(
                "{:<17} c={:<3} on SQLite {:>7.0}/s  on PostgreSQL {:>7.0}/s  ({:.2})",
                run.scenario, level, run.sqlite.rps, run.postgres.rps, run.postgres_over_sqlite
            );
            results.push(run);
        }
    }
    results
}

/// One run; `proxy` are the processes between client and mock, whose CPU time is counted.
async fn measure(plan: &Plan, target: &Target, level: usize, what: &str, proxy: &[u32]) -> RunStats {
    let cpu_before = procs::cpu_seconds(proxy);
    let mut stats = load::run(target, level, plan.warmup, plan.measure).await;
    let cpu = procs::cpu_seconds(proxy) - cpu_before;
    if !proxy.is_empty() && stats.completed_in_run > 0 {
        stats.proxy_cpu_us = Some(cpu * 1e6 / stats.completed_in_run as f64);
    }
    if let Some(error) = &stats.first_error {
        eprintln!("  {what} c={level}: {} failed, first: {error}", stats.errors);
    }
    stats
}

/// Slow streams held open at once through a fresh `serve`, with its memory read before,
/// during and after.
async fn many_streams(plan: &Plan, mock: &MockUpstream, scratch: &Path) -> ManyStreams {
    let data = DataDir::new(scratch.join("streams"));
    let key = prepare_db(&data, plan.pool_accounts);
    let serve = data.serve(&mock.upstream_base());
    serve.wait_healthy(Duration::from_secs(30)).await;
    let warm = Scenario::ResponsesStream;
    let warm_target = Target::post(
        format!("{}{}", serve.base(), warm.gateway_path()),
        warm.gateway_body(),
        Some(&key),
        warm.gateway_end(),
    );
    load::run(&warm_target, 16, Duration::ZERO, Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = serve.memory();
    let slow =
        Target::post(format!("{}/v1/responses", serve.base()), fixtures::SLOW_BODY, Some(&key), fixtures::SLOW_END);
    let stream_time = plan.slow.interval * plan.slow.events as u32;
    let pid = serve.running.pid();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        loop {
            peak = peak.max(procs::Memory::of(pid).rss_kib);
            tokio::select! {
                _ = &mut stopped => return peak,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    });
    eprintln!("holding {} streams of {:?} through serve...", plan.streams, stream_time);
    let hold = load::hold(&slow, plan.streams, stream_time + Duration::from_secs(60)).await;
    let after = serve.memory();
    let _ = stop.send(());
    let sampled_peak_kib = sampler.await.expect("the memory sampler panicked");
    let growth = after.peak_kib.saturating_sub(before.rss_kib) as f64 / plan.streams as f64;
    eprintln!("many streams: {}/{} complete, {:.1} KiB per stream", hold.completed, plan.streams, growth);
    ManyStreams {
        streams: plan.streams,
        stream_seconds: stream_time.as_secs_f64(),
        hold,
        before,
        sampled_peak_kib,
        after,
        growth_per_stream_kib: growth,
    }
}

/// `serve`'s start-up over each database size, and its idle memory.
async fn startup(plan: &Plan, mock: &MockUpstream, scratch: &Path) -> Vec<Startup> {
    let mut results = Vec::new();
    for &accounts in &plan.startup_sizes {
        let data = DataDir::new(scratch.join(format!("startup-{accounts}")));
        let prepared = Instant::now();
        prepare_db(&data, accounts);
        eprintln!("imported {accounts} accounts in {:.1} s", prepared.elapsed().as_secs_f64());
        let mut health_ms = Vec::new();
        let mut idle_rss_kib = 0;
        for _ in 0..plan.startup_runs {
            let serve = data.serve(&mock.upstream_base());
            health_ms.push(serve.wait_healthy(Duration::from_secs(60)).await.as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_secs(2)).await;
            idle_rss_kib = serve.memory().rss_kib;
        }
        let mut sorted = health_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let health_median_ms = sorted[sorted.len() / 2];
        eprintln!("start-up with {accounts} accounts: {health_median_ms:.0} ms, idle RSS {} KiB", idle_rss_kib);
        results.push(Startup { accounts, health_ms, health_median_ms, idle_rss_kib });
    }
    results
}

/// The window's heaviest pages headless over a core holding `plan.ui_accounts` accounts with
/// usage and `plan.ui_log_rows` request-log rows: frame times while scrolled, repaints while
/// idle; then, when a display is there (`DISPLAY`, e.g. under `xvfb-run`), the real window
/// opened on the same database.
fn ui_pages(plan: &Plan, runtime: &tokio::runtime::Runtime, scratch: &Path) -> UiResults {
    let _enter = runtime.enter();
    let data = DataDir::new(scratch.join("ui"));
    let core = ui_core(runtime, &data, plan);
    let backend = || Backend::new(core.clone(), runtime.handle().clone());
    let accounts_page = || AccountsPage::new(backend());
    let draw_accounts = |ui: &mut egui::Ui, page: &mut AccountsPage| page.ui(ui);
    let draw_logs = |ui: &mut egui::Ui, page: &mut LogsPage| page.ui(ui);
    let accounts_name = format!("Accounts, {} accounts", plan.ui_accounts);
    let logs_name = format!("Request logs, {} rows", plan.ui_log_rows);
    let scrolled = "wheel-scrolled one step per frame";
    let frames = vec![
        UiFrames {
            page: accounts_name.clone(),
            what: scrolled.into(),
            frames: ui::scroll_frames(accounts_page(), draw_accounts, |_| true, plan.ui_frames),
        },
        UiFrames {
            page: logs_name.clone(),
            what: format!("{scrolled}; rows read page by page as they come into view"),
            frames: ui::scroll_frames(LogsPage::new(backend()), draw_logs, |p| !p.loading(), plan.ui_frames),
        },
    ];
    let mut tasks = Vec::new();
    let mut idle = Vec::new();
    let mut wire = |ctx: &egui::Context| {
        // What `ui::run_window` wires up: reload on external commits, repaint on change.
        tasks.push(core.watch_external_changes());
        let ctx = ctx.clone();
        let mut changes = core.subscribe();
        tasks.push(runtime.spawn(async move {
            while changes.changed().await.is_ok() {
                ctx.request_repaint();
            }
        }));
    };
    let accounts_idle = ui::idle_repaints(accounts_page(), draw_accounts, |_| true, &mut wire, plan.idle);
    idle.push(UiIdle { page: accounts_name, idle: accounts_idle });
    let logs_idle = ui::idle_repaints(LogsPage::new(backend()), draw_logs, |p| !p.loading(), &mut wire, plan.idle);
    idle.push(UiIdle { page: logs_name, idle: logs_idle });
    tasks.iter().for_each(tokio::task::JoinHandle::abort);
    runtime.block_on(core.shutdown());
    let window = window_open(&data);
    UiResults { accounts: plan.ui_accounts, log_rows: plan.ui_log_rows, frames, idle, window }
}

/// The real window opened on each of its data-heavy pages, when there is a display.
fn window_open(data: &DataDir) -> Vec<WindowOpen> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!("note: no display (DISPLAY); the window's open time is not measured — run under xvfb-run");
        return Vec::new();
    }
    let pages =
        [("Dashboard", Some("dashboard: figures shown")), ("Accounts", None), ("Logs", Some("logs: rows shown"))];
    let mut opens = Vec::new();
    for (page, marker) in pages {
        match data.open_window(page, marker, Duration::from_secs(60)) {
            Ok(open) => {
                eprintln!(
                    "window on {page}: first frame {:.0} ms, data shown {:.0} ms",
                    open.first_frame_ms, open.data_shown_ms
                );
                opens.push(open);
            }
            Err(error) => eprintln!("window on {page}: {error}"),
        }
    }
    opens
}

/// An in-process core over a fresh database: `plan.ui_accounts` fixture accounts with 5h
/// and weekly usage, and `plan.ui_log_rows` request-log rows, newest first 50 ms apart.
fn ui_core(runtime: &tokio::runtime::Runtime, data: &DataDir, plan: &Plan) -> Core {
    let env = Env::from_map(
        [("CODEXMANAGER_SECRET_STORE", "file"), ("CODEXMANAGER_DISABLE_POLLING", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let (core, _) = runtime
        .block_on(Core::open_at(env, DataPaths::for_db(data.db(), DataLocation::Explicit), None))
        .expect("open the UI's core");
    let texts = (0..plan.ui_accounts).map(|n| (format!("fixture-{n}"), fixtures::account(n).to_string())).collect();
    let imported = runtime.block_on(core.import_texts(texts)).expect("import the UI's accounts");
    assert_eq!(imported.created, plan.ui_accounts, "every fixture account is new");
    let now = now_secs();
    let accounts = core.list_accounts();
    for (i, view) in accounts.iter().enumerate() {
        let window = |used: usize, minutes, resets| Window {
            used_percent: (used % 101) as f64,
            window_minutes: Some(minutes),
            resets_at: Some(now + resets),
        };
        core.record_usage(UsageSnapshot {
            account_id: view.account.id.clone(),
            captured_at: now,
            source: "poll".into(),
            primary: Some(window(i, 300, 3_600)),
            secondary: Some(window(i * 7, 10_080, 86_400)),
            ..UsageSnapshot::default()
        });
    }
    core.publish_live_usage();
    let newest = now_millis();
    for i in 0..plan.ui_log_rows {
        core.logs().push(LogRow {
            ts: newest - i as i64 * 50,
            key_id: Some("key_bench".into()),
            account_id: Some(accounts[i % accounts.len()].account.id.clone()),
            method: "POST".into(),
            path: "/v1/responses".into(),
            model: Some("gpt-5.5".into()),
            status: if i % 20 == 0 { 429 } else { 200 },
            duration_ms: 900,
            first_byte_ms: Some(200),
            input_tokens: Some(1_000),
            output_tokens: Some(100),
            attempts: 1,
            ..LogRow::default()
        });
        if i % 50_000 == 49_999 {
            runtime.block_on(core.logs().flush());
        }
    }
    runtime.block_on(core.logs().flush());
    core
}

fn write_outputs(report: &Report, out: &Path) {
    std::fs::create_dir_all(out).expect("create the output folder");
    let json = serde_json::to_string_pretty(&report.to_json()).expect("serialize the report");
    let markdown = report.to_markdown();
    let name = if report.smoke { "gateway-smoke" } else { "gateway" };
    std::fs::write(out.join(format!("{name}.json")), json).expect("write the JSON report");
    std::fs::write(out.join(format!("{name}.md")), &markdown).expect("write the Markdown report");
    println!("\n{markdown}");
    println!("Written: {}/{name}.json and {name}.md", out.display());
}
