//! Logging: `tracing` to stderr and to a daily-rolling file under `logs/` beside the
//! database, filtered `RUST_LOG`-style. Nothing logged here carries a token, a key or a
//! request body: the types that hold secrets redact themselves in `Debug`.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::Env;
use crate::paths::DataPaths;

/// Keeps the file writer flushing; hold it until the process ends.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// Starts logging. `stderr_default` is the level on the terminal when `RUST_LOG` is unset
/// (`info` for the service, `warn` for CLI commands so their output stays clean); the file
/// always gets `info` unless `RUST_LOG` says otherwise.
pub fn init(env: &Env, paths: &DataPaths, stderr_default: &str) -> LogGuard {
    let filter = |default: &str| {
        env.get("RUST_LOG").and_then(|spec| EnvFilter::try_new(spec).ok()).unwrap_or_else(|| {
            EnvFilter::new(format!("{default},hyper=warn,reqwest=warn,zbus=warn,eframe=warn,egui_glow=warn"))
        })
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(filter(stderr_default));
    let _ = std::fs::create_dir_all(paths.log_dir());
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("codexmanager")
        .filename_suffix("log")
        .max_log_files(14)
        .build(paths.log_dir());
    let (file_layer, guard) = match appender {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer =
                tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false).with_filter(filter("info"));
            (Some(layer), Some(guard))
        }
        Err(err) => {
            eprintln!("warning: cannot write log files to {}: {err}", paths.log_dir().display());
            (None, None)
        }
    };
    let _ = tracing_subscriber::registry().with(stderr).with(file_layer).try_init();
    LogGuard { _file: guard }
}
