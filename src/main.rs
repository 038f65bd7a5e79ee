//! CLI entry: picks the window, `serve` or a subcommand.

use std::process::ExitCode;

use clap::Parser;

use codexmanager::cli::{Cli, Command};
use codexmanager::config::Env;
use codexmanager::core::Core;
use codexmanager::paths::{DataPaths, exe_dir};
use codexmanager::service::Service;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::load(&exe_dir());
    let paths = DataPaths::resolve(env.get("CODEXMANAGER_DB_PATH"), &exe_dir());
    let stderr_level = match cli.command {
        None | Some(Command::Serve) => "info",
        Some(_) => "warn",
    };
    let _log_guard = codexmanager::logging::init(&env, &paths, stderr_level);
    if let Some(error) = &env.file_error {
        tracing::warn!("env file could not be read completely: {error}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    let result = match cli.command {
        None => codexmanager::ui::run_window(&runtime, env, paths),
        Some(Command::Serve) => runtime.block_on(serve(env, paths)),
        Some(command) => runtime.block_on(async {
            let core = open_core(env, paths)?;
            let code = codexmanager::cli::run(&core, command).await;
            core.shutdown().await;
            code
        }),
    };
    match result {
        Ok(code) => code,
        Err(err) => fail(&format!("{err:#}")),
    }
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("error: {}", reason.replace('\n', " "));
    ExitCode::FAILURE
}

fn open_core(env: Env, paths: DataPaths) -> anyhow::Result<Core> {
    let (core, warnings) = Core::open_at(env, paths, None)?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    Ok(core)
}

async fn serve(env: Env, paths: DataPaths) -> anyhow::Result<ExitCode> {
    let core = open_core(env, paths)?;
    tracing::info!(
        db = %core.config().paths.db.display(),
        secrets = %core.vault().source().describe(),
        "data loaded"
    );
    core.watch_external_changes();
    core.spawn_background();
    let service = Service::start(core.clone()).await?;
    println!("CodexManager serving on http://{}", service.addr());
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    service.stop().await;
    core.shutdown().await;
    tracing::info!("shutdown complete");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
