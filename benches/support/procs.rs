//! The processes the benchmark runs beside itself: `codexmanager` (the CLI to prepare a
//! database, `serve` as the gateway under test) and nginx as a plain reverse proxy. Each is
//! a child of the benchmark, listens on 127.0.0.1 only, and is stopped by its own process
//! id when its handle is dropped. Also: reading a process's memory from `/proc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The `codexmanager` binary under test: `CODEXMANAGER_BENCH_BIN`, else the one cargo built
/// for this benchmark.
pub fn binary() -> PathBuf {
    std::env::var_os("CODEXMANAGER_BENCH_BIN").map_or_else(|| env!("CARGO_BIN_EXE_codexmanager").into(), PathBuf::from)
}
const NGINX: &str = "/usr/sbin/nginx";

/// A free port on 127.0.0.1 (free when asked; the child binds it right after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
    listener.local_addr().expect("the probe port").port()
}

/// A child process stopped (SIGTERM, then SIGKILL after 10 s) when dropped.
pub struct Running {
    child: Child,
    name: &'static str,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = libc::pid_t::try_from(self.child.id()).expect("a process id fits pid_t");
        // SAFETY: `kill` only sends a signal; the pid is our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop on SIGTERM within 10 s; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data folder for one `codexmanager` database: the SQLite file inside it, or a
/// PostgreSQL database (with the master key its secrets are sealed with).
pub struct DataDir {
    pub root: PathBuf,
    postgres: Option<String>,
}

/// The master key the benchmark's PostgreSQL databases are sealed with.
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

impl DataDir {
    pub fn new(root: PathBuf) -> DataDir {
        std::fs::create_dir_all(&root).expect("create a data folder");
        DataDir { root, postgres: None }
    }

    /// A data folder whose database is the PostgreSQL database at `url`.
    pub fn on_postgres(root: PathBuf, url: String) -> DataDir {
        DataDir { postgres: Some(url), ..DataDir::new(root) }
    }

    pub fn db(&self) -> PathBuf {
        self.root.join("data").join("codexmanager.db")
    }

    /// `codexmanager` with this folder's database and a clean CodexManager environment.
    pub fn command(&self) -> Command {
        let mut command = Command::new(binary());
        for (key, _) in std::env::vars() {
            if key.starts_with("CODEXMANAGER_") {
                command.env_remove(key);
            }
        }
        command
            .env("CODEXMANAGER_DB_PATH", self.db())
            .env("CODEXMANAGER_SECRET_STORE", "file")
            .env("CODEXMANAGER_DISABLE_POLLING", "1")
            .env("HOME", &self.root)
            .env("XDG_DATA_HOME", self.root.join("xdg"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        if let Some(url) = &self.postgres {
            command.env("CODEXMANAGER_DATABASE_URL", url).env("CODEXMANAGER_MASTER_KEY", MASTER_KEY);
        }
        command
    }

    /// Runs a CLI command with `--json` and returns its parsed output.
    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let output = self.command().args(args).arg("--json").output().expect("run codexmanager");
        assert!(
            output.status.success(),
            "codexmanager {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        serde_json::from_slice(&output.stdout).expect("codexmanager --json prints JSON")
    }

    /// Imports the accounts in `file` and creates a platform key; returns the key.
    pub fn prepare(&self, file: &Path, accounts: usize) -> String {
        let report = self.cli_json(&["account", "import", &file.to_string_lossy()]);
        assert_eq!(report["created"].as_u64(), Some(accounts as u64), "import report: {report}");
        let created = self.cli_json(&["key", "create", "--name", "bench"]);
        created["key"].as_str().expect("key create prints the key").to_string()
    }

    /// Starts `codexmanager serve` on a free 127.0.0.1 port against `upstream`.
    pub fn serve(&self, upstream: &str) -> Serve {
        let port = free_port();
        let log = std::fs::File::create(self.root.join("serve.stderr")).expect("create the serve log");
        let started = Instant::now();
        let child = self
            .command()
            .arg("serve")
            .env("CODEXMANAGER_SERVICE_ADDR", format!("127.0.0.1:{port}"))
            .env("CODEXMANAGER_UPSTREAM_BASE_URL", upstream)
            .env("CODEXMANAGER_RPC_TOKEN", "bench")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start codexmanager serve");
        Serve { running: Running { child, name: "codexmanager serve" }, port, started }
    }
}

/// How long the real window took to open.
#[derive(Debug, Clone, Serialize)]
pub struct WindowOpen {
    /// The page it opened on.
    pub page: String,
    /// Process start to the first frame drawn.
    pub first_frame_ms: f64,
    /// Process start to the first frame showing the page's data.
    pub data_shown_ms: f64,
}

impl DataDir {
    /// Starts the window (`codexmanager` with no command, on the display in `DISPLAY`) on
    /// `page` and times it: to the first frame, and to the frame that shows the page's data —
    /// the first line containing `marker` the app logs, or the first frame when the page
    /// draws from memory. The window is closed afterwards.
    pub fn open_window(&self, page: &str, marker: Option<&str>, limit: Duration) -> Result<WindowOpen, String> {
        let state = self.db().with_file_name("window.ron");
        std::fs::write(&state, format!("{{\"page\":\"{page}\"}}")).map_err(|e| format!("write {state:?}: {e}"))?;
        let started = Instant::now();
        let mut child = self
            .command()
            .env("CODEXMANAGER_SERVICE_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("CODEXMANAGER_RPC_TOKEN", "bench")
            .env("RUST_LOG", "info,codexmanager::ui=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("start the window: {e}"))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let window = Running { child, name: "codexmanager (window)" };
        let (lines, arrived) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
                if lines.send((started.elapsed(), line)).is_err() {
                    break;
                }
            }
        });
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let (mut first_frame, mut shown) = (None, None);
        let mut log = Vec::new();
        while first_frame.is_none() || shown.is_none() {
            let left = limit.saturating_sub(started.elapsed());
            let Ok((at, line)) = arrived.recv_timeout(left) else {
                return Err(format!("the window did not show {page} within {limit:?}; it said:\n{}", log.join("\n")));
            };
            if line.contains("window open: first frame drawn") {
                first_frame = Some(at);
                shown = shown.or(marker.is_none().then_some(at));
            }
            if marker.is_some_and(|m| line.contains(m)) {
                shown = shown.or(Some(at));
            }
            log.push(line);
        }
        drop(window);
        Ok(WindowOpen {
            page: page.to_string(),
            first_frame_ms: first_frame.map_or(f64::NAN, ms),
            data_shown_ms: shown.map_or(f64::NAN, ms),
        })
    }
}

/// A running `codexmanager serve`.
pub struct Serve {
    pub running: Running,
    pub port: u16,
    /// When the process was started.
    pub started: Instant,
}

impl Serve {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `/health` every millisecond until it answers 200; returns the time since start.
    pub async fn wait_healthy(&self, limit: Duration) -> Duration {
        let client = reqwest::Client::builder().no_proxy().build().expect("build the health client");
        let url = format!("{}/health", self.base());
        loop {
            let answered = client.get(&url).send().await.is_ok_and(|r| r.status().is_success());
            if answered {
                return self.started.elapsed();
            }
            assert!(self.started.elapsed() < limit, "codexmanager serve did not answer /health within {limit:?}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    pub fn memory(&self) -> Memory {
        Memory::of(self.running.pid())
    }
}

/// CPU time (user and system, all threads) of the processes `pids`, in seconds.
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let of = |pid: &u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The fields after the command name (which may hold spaces) in parentheses; utime and
        // stime are the 14th and 15th fields of the line, the 12th and 13th after it.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        let field = |n: usize| fields.get(n).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        field(11) + field(12)
    };
    pids.iter().map(of).sum::<f64>() / ticks
}

/// The processes whose parent is `pid` (nginx's workers).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let parent = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1));
            parent.and_then(|p| p.parse::<u32>().ok()) == Some(pid)
        })
        .collect()
}

/// Resident memory of a process, in KiB, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Memory {
    /// Resident now (VmRSS).
    pub rss_kib: u64,
    /// The most resident so far (VmHWM).
    pub peak_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        Memory { rss_kib: field("VmRSS:"), peak_kib: field("VmHWM:") }
    }
}

/// nginx as a plain reverse proxy in front of `upstream`.
pub struct Nginx {
    running: Running,
    pub port: u16,
}

impl Nginx {
    /// Starts nginx with its config and temp files under `dir`; `None` when it is not installed.
    pub fn start(dir: &Path, upstream: std::net::SocketAddr) -> Option<Nginx> {
        if !Path::new(NGINX).exists() {
            return None;
        }
        std::fs::create_dir_all(dir.join("logs")).expect("create nginx's folders");
        let port = free_port();
        let config = dir.join("nginx.conf");
        std::fs::write(&config, nginx_config(dir, port, upstream)).expect("write nginx.conf");
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(dir.join("logs/error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let nginx = Nginx { running: Running { child, name: "nginx" }, port };
        wait_listening(port, Duration::from_secs(10), &dir.join("logs/error.log"));
        Some(nginx)
    }

    /// The master process and its workers.
    pub fn pids(&self) -> Vec<u32> {
        let master = self.running.pid();
        let mut pids = children_of(master);
        pids.push(master);
        pids
    }
}

/// A reverse proxy with keep-alive upstream connections and no response buffering, one
/// worker per core, logging errors only.
fn nginx_config(dir: &Path, port: u16, upstream: std::net::SocketAddr) -> String {
    let dir = dir.display();
    format!(
        "daemon off;
master_process on;
worker_processes auto;
worker_rlimit_nofile 16384;
pid {dir}/nginx.pid;
error_log {dir}/logs/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    # Codex-sized requests: accepted, and held in memory rather than spooled to disk.
    client_max_body_size 64m;
    client_body_buffer_size 4m;
    upstream mock {{
        server {upstream};
        keepalive 1024;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
        }}
    }}
}}
"
    )
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
fn wait_listening(port: u16, limit: Duration, log: &Path) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > limit {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("nginx did not listen on port {port} within {limit:?}: {log}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
