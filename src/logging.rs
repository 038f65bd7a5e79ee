//! Logging: `tracing` to stderr and to a daily-rolling file under `logs/` beside the
//! database, filtered `RUST_LOG`-style (a filter that does not parse is reported, and the
//! defaults used). Plain text, coloured only on a terminal, or one JSON object per line with
//! `CODEXMANAGER_LOG_FORMAT=json` (for log collectors in front of `serve`). Nothing logged here
//! carries a token, a key or a request body: the types that hold secrets redact themselves in
//! `Debug`.

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::Env;
use crate::paths::DataPaths;

/// Lines the log file's writer thread may have queued; beyond them a line is dropped rather
/// than a request kept waiting (lossy, as `tracing_appender` is by default).
const FILE_QUEUE_LINES: usize = 8_192;

/// Keeps the file writer flushing; hold it until the process ends.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// Starts logging. `stderr_default` is the level on the terminal when `RUST_LOG` is unset
/// (`info` for the service, `warn` for CLI commands so their output stays clean); the file
/// always gets `info` unless `RUST_LOG` says otherwise.
pub fn init(env: &Env, paths: &DataPaths, stderr_default: &str) -> LogGuard {
    let custom = env.get("RUST_LOG").map(|spec| (spec, EnvFilter::try_new(spec)));
    let filter = |default: &str| match &custom {
        Some((spec, Ok(_))) => EnvFilter::new(spec),
        _ => EnvFilter::new(format!("{default},hyper=warn,reqwest=warn,zbus=warn,eframe=warn,egui_glow=warn")),
    };
    let json = env.get("CODEXMANAGER_LOG_FORMAT").is_some_and(|format| format.trim().eq_ignore_ascii_case("json"));
    let stderr = std::io::stderr;
    let stderr_layer = if json {
        tracing_subscriber::fmt::layer().json().with_writer(stderr).with_filter(filter(stderr_default)).boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(stderr)
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_filter(filter(stderr_default))
            .boxed()
    };
    let _ = std::fs::create_dir_all(paths.log_dir());
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("codexmanager")
        .filename_suffix("log")
        .max_log_files(14)
        .build(paths.log_dir());
    let (file_layer, guard) = match appender {
        Ok(appender) => {
            // The default queue holds 128,000 lines, preallocated: 4 MB of every process's
            // memory for a file that gets a few lines a minute.
            let (writer, guard) = NonBlockingBuilder::default().buffered_lines_limit(FILE_QUEUE_LINES).finish(appender);
            let layer = if json {
                tracing_subscriber::fmt::layer().json().with_writer(writer).with_filter(filter("info")).boxed()
            } else {
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_ansi(false)
                    .with_filter(filter("info"))
                    .boxed()
            };
            (Some(layer), Some(guard))
        }
        Err(err) => {
            eprintln!("warning: cannot write log files to {}: {err}", paths.log_dir().display());
            (None, None)
        }
    };
    let _ = tracing_subscriber::registry().with(stderr_layer).with(file_layer).try_init();
    if let Some((spec, Err(err))) = &custom {
        tracing::warn!("RUST_LOG={spec:?} is not a valid filter ({err}); using the default levels instead");
    }
    LogGuard { _file: guard }
}
