//! CLI entry: picks the window, `serve` or a subcommand.
//!
//! On Windows a release build is a GUI program, so a double-click opens no console window;
//! started with arguments (`serve`, a subcommand, `--help`), it attaches to the console of
//! the shell that started it so that its output still reaches that terminal.

#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

use std::process::ExitCode;

use clap::Parser;

use codexmanager::cli::{Cli, Command, OutputClosed};
use codexmanager::config::Env;
use codexmanager::paths::{DataPaths, exe_dir};
use codexmanager::service::Service;
use codexmanager::startup;

/// mimalloc instead of the system allocator: the gateway allocates and frees small buffers
/// on every request from several threads, where glibc's malloc spent a fifth of the CPU
/// and contended on its arena locks (measured with `perf` under `cargo bench --bench gateway`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    #[cfg(windows)]
    if std::env::args_os().len() > 1 {
        attach_parent_console();
    }
    // Everything the program writes (the database, its journal, logs, the trace, exports) is
    // for its owner only: account emails and request metadata are nobody else's business.
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    let mut env = Env::load(&exe_dir());
    if let Some(Command::Serve(args)) = &cli.command
        && !args.listen.is_empty()
    {
        env.set("CODEXMANAGER_SERVICE_ADDR", args.listen.join(","));
    }
    if let Some(Command::Serve(args)) = &cli.command
        && let Some(url) = &args.database_url
    {
        env.set("CODEXMANAGER_DATABASE_URL", url.clone());
    }
    let paths = DataPaths::resolve(env.get("CODEXMANAGER_DB_PATH"), &exe_dir());
    let stderr_level = match cli.command {
        None | Some(Command::Serve(_)) => "info",
        Some(_) => "warn",
    };
    codexmanager::paths::make_private(&paths);
    let _log_guard = codexmanager::logging::init(&env, &paths, stderr_level);
    if let Some(error) = &env.file_error {
        tracing::warn!("env file could not be read completely: {error}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    let result = match cli.command {
        None => codexmanager::ui::run_window(&runtime, env, paths, cli.hidden),
        Some(Command::Serve(_)) => runtime.block_on(serve(env, paths)),
        Some(command) => runtime.block_on(async {
            let core = startup::open_core(env, paths).await?;
            let code = codexmanager::cli::run(&core, command).await;
            core.shutdown().await;
            code
        }),
    };
    // Blocking work still running (an import of a huge folder started over RPC) must not
    // hold the process past its shutdown.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): it has what it wanted.
        Err(err) if err.downcast_ref::<OutputClosed>().is_some() => ExitCode::SUCCESS,
        Err(err) => fail(&describe(&err)),
    }
}

/// An error and its causes on one line, each said once: a cause whose text the message
/// already holds is left out.
fn describe(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("error: {}", reason.replace('\n', " "));
    ExitCode::FAILURE
}

/// Sends stdout and stderr to the console of the process that started this one, unless both
/// are already redirected to a file or pipe. A GUI-subsystem program starts with no console
/// handles; after `AttachConsole` each stream that had none gets the console's output buffer,
/// and a stream that was redirected keeps its handle. Rust's `stdout()`/`stderr()` look the
/// handle up on every write, so output from here on reaches the terminal. Without a parent
/// console (started from Explorer) nothing changes.
#[cfg(windows)]
fn attach_parent_console() {
    use std::os::windows::io::IntoRawHandle;
    use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
    use windows_sys::Win32::System::Console::{
        ATTACH_PARENT_PROCESS, AttachConsole, GetStdHandle, STD_ERROR_HANDLE, STD_HANDLE, STD_OUTPUT_HANDLE,
        SetStdHandle,
    };

    let usable = |handle: HANDLE| !handle.is_null() && handle != INVALID_HANDLE_VALUE;
    // SAFETY: GetStdHandle only reads the process's standard handle table.
    let get = |id: STD_HANDLE| unsafe { GetStdHandle(id) };
    let before = [STD_OUTPUT_HANDLE, STD_ERROR_HANDLE].map(|id| (id, get(id)));
    if before.iter().all(|(_, handle)| usable(*handle)) {
        return;
    }
    // SAFETY: AttachConsole takes a process id constant and has no memory effects.
    if unsafe { AttachConsole(ATTACH_PARENT_PROCESS) } == 0 {
        return;
    }
    for (id, original) in before {
        let handle = if usable(original) {
            original
        } else if usable(get(id)) {
            continue;
        } else {
            // Read access too: Rust's stdio calls GetConsoleMode, which needs GENERIC_READ.
            match std::fs::OpenOptions::new().read(true).write(true).open("CONOUT$") {
                // The handle stays open for the life of the process.
                Ok(console) => console.into_raw_handle(),
                Err(_) => continue,
            }
        };
        // SAFETY: `handle` is a valid handle this process owns for its whole life.
        unsafe { SetStdHandle(id, handle) };
    }
}

async fn serve(env: Env, paths: DataPaths) -> anyhow::Result<ExitCode> {
    let core = startup::open_running(env, paths).await?;
    let service = Service::start(core.clone()).await?;
    for addr in service.addrs() {
        use std::io::Write as _;
        // Said once; a closed stdout must not stop the service.
        let _ = writeln!(std::io::stdout().lock(), "CodexManager serving on http://{addr}");
    }
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
