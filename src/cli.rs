//! The command line: `codexmanager` (the window), `serve`, and `<noun> <verb>` subcommands
//! that call the same core API as the window and `/rpc`. Human-readable output by default,
//! `--json` for scripts; exit code 0 on success, 1 with a one-line reason on failure. A
//! reader that goes away early (`codexmanager account list | head`) ends the command quietly
//! ([`OutputClosed`]); tables line up by display width, so Chinese labels and long plan
//! names keep their columns.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::core::{AccountPatch, Core, LoginKind, LoginOptions, LoginState, NewKey, Progress};

#[derive(Debug, Parser)]
#[command(name = "codexmanager", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CODEXMANAGER_GIT_COMMIT"), ")"), about = "A pool of ChatGPT (Codex) accounts behind one local gateway.\n\nWithout a command, opens the window (and starts the service in it).")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open with the window hidden in the tray (as start at login does); without a tray the
    /// window shows.
    #[arg(long)]
    pub hidden: bool,
}

/// Standard output was closed by its reader (a pipe into `head`): not a failure.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct OutputClosed;

/// Maps a failed write to stdout: a closed pipe becomes [`OutputClosed`].
pub fn output_error(err: std::io::Error) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::BrokenPipe { anyhow::Error::new(OutputClosed) } else { err.into() }
}

/// Like `println!`, but a closed stdout returns [`OutputClosed`] from the enclosing function
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::cli::output_error)?
    }};
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service without a window until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Sign in, import, list, update, export and delete accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Create and manage platform keys for the gateway.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Fetch accounts' usage (5-hour and weekly windows).
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Try a proxy before giving it to accounts.
    #[command(subcommand)]
    Proxy(ProxyCommand),
    /// Read and change the stored settings (the environment overrides them).
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Copy this SQLite database into an empty PostgreSQL database, for instances that
    /// share it (see "Running for a team" in the README).
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The empty PostgreSQL database: postgres://user:password@host:port/db
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Copy the request-log rows too (the 15-minute totals the charts and quotas use are
    /// always copied).
    #[arg(long)]
    pub with_logs: bool,
    /// Write the master key (base64) to this new private file first: the copied secrets open
    /// only with it; give it to every instance as CODEXMANAGER_MASTER_KEY_FILE.
    #[arg(long, value_name = "FILE")]
    pub master_key_out: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Every setting with its value and where it comes from (environment, stored, default).
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Store a setting (e.g. `routeStrategy balanced`); says when it needs a restart.
    Set {
        key: String,
        value: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Whether the upstream answers through a proxy URL, and how fast.
    Test {
        /// http://, https://, socks5:// or socks5h:// with optional user:password@
        url: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen (host:port; repeatable or comma-separated), instead of
    /// CODEXMANAGER_SERVICE_ADDR. A non-loopback address (0.0.0.0:48760) serves other
    /// machines: every gateway route still needs a platform key.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Vec<String>,
    /// Keep the data in this PostgreSQL database (postgres://user:password@host/db) instead
    /// of the SQLite file; as CODEXMANAGER_DATABASE_URL. Every instance given the same URL
    /// shares one pool, one set of keys and one request log.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Import accounts from auth.json files, arrays or streams of them, or whole folders.
    Import {
        /// Files or folders (folders are searched recursively for .json files).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List accounts with their usage and availability.
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Export accounts with their tokens (auth.json shape). Writes plaintext tokens.
    Export {
        /// A folder (one file per account) or a file (one JSON array).
        #[arg(long)]
        out: PathBuf,
        /// Only these account ids (default: all).
        #[arg(long = "id")]
        ids: Vec<String>,
        /// Write proxy URLs with their passwords (masked otherwise).
        #[arg(long)]
        with_secrets: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Whether the upstream answers through each account's route (its proxy, the global
    /// one, or the system's), how long it took, and why not.
    TestProxy {
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete accounts and their tokens.
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
        /// Keep the sign-ins valid: do not revoke the accounts' refresh tokens at the issuer
        /// (for accounts imported from a Codex CLI login that should keep working there).
        #[arg(long)]
        keep_sign_in: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Sign in to a ChatGPT account and add it. Prints the sign-in address, opens the
    /// browser, and waits for it to come back; the address the browser ended on can also be
    /// pasted here.
    Login {
        /// Do not open a browser; only print the address.
        #[arg(long)]
        no_browser: bool,
        /// Sign in with a code entered on another device (for machines without a browser).
        #[arg(long, conflicts_with_all = ["no_browser", "manual"])]
        device: bool,
        /// Do not listen for the browser at all: paste the address it ended on (a remote
        /// machine, or the callback port is taken).
        #[arg(long)]
        manual: bool,
        /// Sign in through this proxy (a URL, or `direct`); the account keeps it.
        #[arg(long)]
        proxy: Option<String>,
        /// Only accept an account of this ChatGPT workspace (its id; several comma-separated):
        /// the sign-in page offers only it, and another account is refused.
        #[arg(long)]
        workspace: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Change label, group, tags, note, order or state of one or more accounts.
    Update {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        group: Option<String>,
        /// Comma-separated tags; an empty value clears them.
        #[arg(long)]
        tags: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// Routing order (lower first).
        #[arg(long, allow_hyphen_values = true)]
        sort: Option<i64>,
        /// Let the gateway use the accounts again.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Keep the gateway away from the accounts.
        #[arg(long)]
        disable: bool,
        /// The accounts' proxy: a URL (http://, https://, socks5://, socks5h://, with optional
        /// user:password@), `direct` (no proxy, whatever the global setting), or `inherit`.
        #[arg(long)]
        proxy: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Fetch usage now for the given accounts, or every active account; prints progress.
    Refresh {
        ids: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// A key's policy, as flags of `key create` and `key update`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// At most N requests per window: N/5h, N/day, N/week, N/month (repeatable; replaces the
    /// key's request limits).
    #[arg(long = "limit-requests", value_name = "N/WINDOW")]
    limit_requests: Vec<String>,
    /// At most N tokens (input + output) per window (repeatable; replaces the token limits).
    #[arg(long = "limit-tokens", value_name = "N/WINDOW")]
    limit_tokens: Vec<String>,
    /// Remove every request and token limit.
    #[arg(long, conflicts_with_all = ["limit_requests", "limit_tokens"])]
    no_limits: bool,
    /// When the key stops working: an RFC 3339 time (2026-12-31T23:59:59Z), or `never`.
    #[arg(long, value_name = "RFC3339|never")]
    expires: Option<String>,
    /// The models the key may use, comma-separated, or `any`.
    #[arg(long, value_name = "a,b|any")]
    models: Option<String>,
    /// Force this reasoning effort whatever the client sends, or `client` to leave it.
    #[arg(long, value_name = "LEVEL|client", value_parser = ["minimal", "low", "medium", "high", "xhigh", "client"])]
    reasoning_effort: Option<String>,
    /// The account groups the key may use, comma-separated, or `any`.
    #[arg(long, value_name = "a,b|any")]
    groups: Option<String>,
    /// Requests in flight at most (0: no cap).
    #[arg(long, value_name = "N")]
    max_concurrent: Option<u32>,
}

impl PolicyArgs {
    fn change(self) -> crate::core::PolicyChange {
        let limits = |specs: Vec<String>| (self.no_limits || !specs.is_empty()).then_some(specs);
        crate::core::PolicyChange {
            limit_requests: limits(self.limit_requests),
            limit_tokens: limits(self.limit_tokens),
            expires: self.expires,
            models: self.models.map(crate::core::ListOrAny::Text),
            reasoning_effort: self.reasoning_effort,
            groups: self.groups.map(crate::core::ListOrAny::Text),
            max_concurrent: self.max_concurrent,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a platform key; prints it once.
    Create {
        #[arg(long)]
        name: String,
        /// Which client protocol the key is for.
        #[arg(long, default_value = "openai", value_parser = ["openai", "anthropic", "azure_openai"])]
        protocol: String,
        /// Force every request made with this key onto one model.
        #[arg(long)]
        model: Option<String>,
        /// For azure_openai keys: https://NAME.openai.azure.com
        #[arg(long)]
        azure_endpoint: Option<String>,
        /// For azure_openai keys: the Azure API key (sealed in the vault). `-` reads it from
        /// stdin; CODEXMANAGER_AZURE_API_KEY in the environment works too — either keeps it out
        /// of the process list.
        #[arg(long, env = "CODEXMANAGER_AZURE_API_KEY", hide_env_values = true)]
        azure_api_key: Option<String>,
        /// For azure_openai keys: the api-version to send (default 2025-04-01-preview).
        #[arg(long)]
        azure_api_version: Option<String>,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Change a key's name, model binding, limits, expiry, models, reasoning effort, groups or
    /// concurrency cap.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// Force every request onto one model; an empty value clears the binding.
        #[arg(long)]
        model: Option<String>,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// A key's use per hour and day, and against its limits.
    Usage {
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List platform keys (prefixes only; full keys are never stored).
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Stop accepting a key.
    Disable {
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Accept a disabled key again.
    Enable {
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete a key.
    Delete {
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// Runs a CLI subcommand against the core.
pub async fn run(core: &Core, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(_) => unreachable!("serve is handled by main"),
        Command::Account(command) => account(core, command).await,
        Command::Key(command) => key(core, command).await,
        Command::Usage(UsageCommand::Refresh { ids, json }) => refresh_usage(core, ids, json.json).await,
        Command::Settings(command) => settings(core, command).await,
        Command::Migrate(args) => migrate(core, args).await,
        Command::Proxy(ProxyCommand::Test { url, json }) => {
            let test = core.test_proxy(&url).await?;
            print_route_tests(std::slice::from_ref(&test), json.json)
        }
    }
}

async fn migrate(core: &Core, args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let report = core.migrate_to(&args.to, args.with_logs, args.master_key_out.as_deref()).await?;
    if args.json.json {
        out!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    out!("Copied into {}:", crate::store::redact(&args.to));
    out!(
        "  {} accounts with {} sealed token sets ({} cooling down), {} usage snapshots",
        report.accounts,
        report.sealed_token_sets,
        report.cooldowns,
        report.usage_snapshots
    );
    out!(
        "  {} platform keys, {} settings, {} meta values (the vault's id and check value)",
        report.keys,
        report.settings,
        report.meta_values
    );
    out!("  {} cached models, {} request-total slots (15 minutes each)", report.cached_models, report.stats_slots);
    match report.log_rows {
        Some(rows) => out!("  {rows} request-log rows"),
        None => out!("  request-log rows: not copied (add --with-logs)"),
    }
    match &args.master_key_out {
        Some(path) => out!(
            "The copied secrets open with the master key now in {}: start every instance with \
             CODEXMANAGER_MASTER_KEY_FILE={} and CODEXMANAGER_DATABASE_URL set to the database.",
            path.display(),
            path.display()
        ),
        None => out!(
            "The copied secrets open with the master key from {}: give every instance the same one.",
            core.vault().source().describe()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

async fn settings(core: &Core, command: SettingsCommand) -> anyhow::Result<ExitCode> {
    let (json, restart) = match command {
        SettingsCommand::List { json } => (json.json, false),
        SettingsCommand::Set { key, value, json } => {
            let mut patch = serde_json::Map::new();
            let restart = crate::config::RESTART_SETTINGS.contains(&key.as_str());
            patch.insert(key, serde_json::Value::String(value));
            core.set_settings(patch).await?;
            (json.json, restart)
        }
    };
    let mut settings: Vec<(String, crate::core::SettingView)> = core.settings().into_iter().collect();
    settings.sort_by(|a, b| a.0.cmp(&b.0));
    if json {
        let map: serde_json::Map<String, serde_json::Value> =
            settings.into_iter().map(|(key, view)| (key, serde_json::to_value(view).unwrap_or_default())).collect();
        print_json(&serde_json::json!({"settings": map, "restartRequired": restart}))?;
    } else {
        for (key, view) in &settings {
            let source = serde_json::to_value(view.source).unwrap_or_default();
            out!("{key:<30} {:<40} ({})", view.value, source.as_str().unwrap_or_default());
        }
        if restart {
            out!("the change takes effect when the service starts again (restart serve or the window)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints route tests; exit code 1 when any route failed.
fn print_route_tests(tests: &[crate::core::RouteTest], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_json(&tests)?;
    } else {
        for test in tests {
            let who = test.account_id.as_deref().map(|id| format!("{id} via ")).unwrap_or_default();
            match (&test.error, test.status) {
                (None, Some(status)) => {
                    out!("{who}{}: the upstream answered ({status}) in {} ms", test.route, test.elapsed_ms)
                }
                (error, _) => out!(
                    "{who}{}: not reachable after {} ms: {}",
                    test.route,
                    test.elapsed_ms,
                    error.as_deref().unwrap_or("no answer")
                ),
            }
        }
    }
    let failed = tests.iter().filter(|t| !t.reachable).count();
    if failed > 0 {
        anyhow::bail!("{failed} route(s) could not reach the upstream");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn percent(window: Option<&crate::core::Window>) -> String {
    window.map_or_else(|| "-".into(), |w| format!("{:.0}%", w.used_percent))
}

async fn account(core: &Core, command: AccountCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccountCommand::Import { paths, json } => {
            let report = core.import_paths(paths).await?;
            if json.json {
                print_json(&report)?;
            } else {
                out!(
                    "imported {} account(s): {} new, {} updated",
                    report.created + report.updated,
                    report.created,
                    report.updated
                );
            }
            for problem in &report.failed {
                eprintln!("skipped {}: {}", problem.source, problem.message);
            }
            if !report.failed.is_empty() {
                anyhow::bail!("{} file(s) or entries could not be imported (listed above)", report.failed.len());
            }
        }
        AccountCommand::List { json } => {
            let accounts = core.list_accounts();
            if json.json {
                print_json(&accounts)?;
            } else {
                let mut rows =
                    vec![["ID", "LABEL", "GROUP", "PLAN", "5H", "7D", "PROXY", "AVAILABILITY"].map(String::from)];
                let now = crate::core::now_secs();
                for view in &accounts {
                    let a = &view.account;
                    let usage = view.usage.as_ref();
                    let availability = match &view.availability {
                        crate::usage::availability::Availability::Unavailable(reason) => {
                            format!("unavailable ({reason})")
                        }
                        other => other.key().to_string(),
                    };
                    let availability = match (a.cooldown_until, &a.cooldown_reason) {
                        (Some(until), Some(reason)) if until > now => {
                            format!("{availability}; cooling down {} s: {reason}", until - now)
                        }
                        _ => availability,
                    };
                    rows.push([
                        a.id.clone(),
                        truncate(&a.label, 32),
                        truncate(&a.group_name, 12),
                        truncate(a.plan.as_deref().unwrap_or("-"), 12),
                        percent(usage.and_then(|u| u.primary.as_ref())),
                        percent(usage.and_then(|u| u.secondary.as_ref())),
                        truncate(a.proxy.as_deref().unwrap_or("inherit"), 24),
                        availability,
                    ]);
                }
                for line in table(&rows, &[false, false, false, false, true, true, false, false]) {
                    out!("{line}");
                }
                out!("{} account(s)", accounts.len());
            }
        }
        AccountCommand::TestProxy { ids, json } => {
            let tests = core.test_account_routes(&ids).await?;
            return print_route_tests(&tests, json.json);
        }
        AccountCommand::Export { out, ids, with_secrets, json } => {
            let report = core.export_accounts(out, Some(ids).filter(|ids| !ids.is_empty()), with_secrets).await?;
            if json.json {
                print_json(&report)?;
            } else {
                out!(
                    "exported {} account(s) to {} (contains plaintext tokens)",
                    report.exported,
                    report.path.display()
                );
            }
        }
        AccountCommand::Delete { ids, keep_sign_in, json } => {
            let wanted = ids.len();
            let report = core.delete_accounts(ids, !keep_sign_in).await?;
            if json.json {
                print_json(&report)?;
            } else {
                out!("deleted {} account(s)", report.deleted);
                if !keep_sign_in {
                    out!("revoked {} sign-in(s) at the issuer", report.revoked);
                }
                for failed in &report.not_revoked {
                    out!("could not revoke the sign-in of {}: {}", failed.id, failed.reason);
                }
            }
            if report.deleted < wanted {
                anyhow::bail!("{} of the given ids matched no account", wanted - report.deleted);
            }
        }
        AccountCommand::Login { no_browser, device, manual, proxy, workspace, json } => {
            let kind = match (device, manual) {
                (true, _) => LoginKind::Device,
                (_, true) => LoginKind::Manual,
                _ => LoginKind::Browser { open_browser: !no_browser },
            };
            let proxy = crate::egress::AccountProxy::parse(proxy.as_deref().unwrap_or("inherit"))
                .map_err(|err| anyhow::anyhow!("--proxy: {err}"))?;
            return login(core, kind, LoginOptions { proxy, workspace, ..LoginOptions::default() }, json.json).await;
        }
        AccountCommand::Update { ids, label, group, tags, note, sort, enable, disable, proxy, json } => {
            let status = match (enable, disable) {
                (true, _) => Some("active".to_string()),
                (_, true) => Some("disabled".to_string()),
                _ => None,
            };
            let tags = tags.map(|tags| tags.split(',').map(str::to_string).collect());
            let patch = AccountPatch { label, group, tags, note, sort, status, proxy };
            if patch.is_empty() {
                anyhow::bail!(
                    "nothing to change: give --label, --group, --tags, --note, --sort, --enable, --disable or --proxy"
                );
            }
            let updated = core.update_accounts(ids, patch).await?;
            if json.json {
                print_json(&serde_json::json!({"updated": updated}))?;
            } else {
                out!("updated {updated} account(s)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs in: prints what the person needs, then waits for the callback, a pasted address
/// (any line on stdin) or Ctrl-C.
async fn login(core: &Core, kind: LoginKind, options: LoginOptions, json: bool) -> anyhow::Result<ExitCode> {
    let ticket = core.login_start_with(kind, options).await?;
    let id = ticket.login_id.as_str();
    if json {
        out!("{}", serde_json::to_string(&ticket)?);
    } else if let Some(device) = &ticket.device {
        out!("On any device, open {} and enter the code:\n\n    {}\n", device.verification_uri, device.user_code);
        out!("Waiting for the code to be entered (15 minutes; Ctrl-C cancels)...");
    } else {
        out!("Sign in to ChatGPT at this address:\n\n{}\n", ticket.auth_url);
        if kind == LoginKind::Manual {
            out!("When the browser ends on {} (the page may not load),", ticket.redirect_uri);
            out!("paste that whole address here and press Enter.");
        } else {
            out!("Waiting for the browser to come back to {} (15 minutes; Ctrl-C cancels).", ticket.redirect_uri);
            out!("If the browser cannot reach this machine, paste the address it ended on here and press Enter.");
        }
    }
    let mut pasted = read_stdin_lines(kind != LoginKind::Device);
    let status = loop {
        tokio::select! {
            status = core.login_wait(id) => break status?,
            Some(line) = pasted.recv() => {
                if line.trim().is_empty() {
                    continue;
                }
                match core.login_complete(id, &line).await {
                    Ok(status) => break status,
                    Err(err) if core.login_status(id)?.status == LoginState::Pending => eprintln!("{err}"),
                    Err(_) => {}
                }
            }
            _ = tokio::signal::ctrl_c() => break core.login_cancel(id).await?,
        }
    };
    if json {
        out!("{}", serde_json::to_string(&status)?);
    }
    let (LoginState::Completed, Some(account_id)) = (status.status, status.account_id) else {
        anyhow::bail!("{}", status.error.unwrap_or_else(|| "the sign-in did not complete".into()));
    };
    let report = core.refresh_usage(Some(vec![account_id.clone()]), |_| {}).await?;
    if !json {
        let view = core.list_accounts().into_iter().find(|v| v.account.id == account_id);
        if let Some(view) = view {
            let a = &view.account;
            let who = a.email.as_deref().unwrap_or(&a.label);
            out!("signed in as {who} ({}); account id {}", a.plan.as_deref().unwrap_or("plan unknown"), a.id);
            let usage = view.usage.as_ref();
            out!(
                "usage: 5-hour {} used, weekly {} used",
                percent(usage.and_then(|u| u.primary.as_ref())),
                percent(usage.and_then(|u| u.secondary.as_ref()))
            );
        }
    }
    for failure in &report.failed {
        eprintln!("usage could not be fetched yet: {}", failure.message);
    }
    Ok(ExitCode::SUCCESS)
}

/// Lines typed on stdin, read on a thread of their own (a blocked read must not hold up the
/// runtime's shutdown). Nothing is read when `wanted` is false.
fn read_stdin_lines(wanted: bool) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (lines, received) = tokio::sync::mpsc::unbounded_channel();
    if wanted {
        std::thread::spawn(move || {
            for line in std::io::stdin().lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
    }
    received
}

async fn refresh_usage(core: &Core, ids: Vec<String>, json: bool) -> anyhow::Result<ExitCode> {
    let printed = std::sync::atomic::AtomicUsize::new(usize::MAX);
    let report = core
        .refresh_usage(Some(ids).filter(|ids| !ids.is_empty()), |progress: Progress| {
            let step = (progress.done * 10).checked_div(progress.total).unwrap_or(10);
            if progress.finished
                || progress.done == 0
                || printed.swap(step, std::sync::atomic::Ordering::Relaxed) == step
            {
                return;
            }
            let line = format!("usage: {}/{} done, {} remaining", progress.done, progress.total, progress.remaining());
            if json {
                eprintln!("{line}");
            } else {
                use std::io::Write as _;
                // A closed stdout is reported by the summary line after the refresh.
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
        })
        .await?;
    if json {
        print_json(&report)?;
    } else {
        out!("refreshed the usage of {} account(s), {} failed", report.refreshed, report.failed.len());
    }
    for failure in &report.failed {
        eprintln!("{} ({}): {}", failure.account_id, failure.label, failure.message);
    }
    if !report.failed.is_empty() {
        anyhow::bail!("the usage of {} account(s) could not be fetched (listed above)", report.failed.len());
    }
    Ok(ExitCode::SUCCESS)
}

async fn key(core: &Core, command: KeyCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeyCommand::Create {
            name,
            protocol,
            model,
            azure_endpoint,
            azure_api_key,
            azure_api_version,
            policy,
            json,
        } => {
            let created = core
                .create_key(NewKey {
                    name,
                    protocol: Some(protocol),
                    model,
                    azure_endpoint,
                    azure_api_key: azure_api_key.map(read_secret).transpose()?,
                    azure_api_version,
                    policy: policy.change(),
                })
                .await?;
            if json.json {
                print_json(&created)?;
            } else {
                out!("created key {} ({})", created.id, created.info.protocol.as_str());
                out!("{}", created.key);
                eprintln!("This is the only time the key is shown; store it now.");
            }
        }
        KeyCommand::List { json } => {
            let keys = core.list_keys();
            if json.json {
                print_json(&keys)?;
            } else {
                let mut rows = vec![["ID", "NAME", "PREFIX", "PROTOCOL", "MODEL", "ENABLED"].map(String::from)];
                for k in &keys {
                    rows.push([
                        k.id.clone(),
                        truncate(&k.name, 20),
                        k.key_prefix.clone(),
                        k.protocol.as_str().to_string(),
                        truncate(k.model.as_deref().unwrap_or("-"), 20),
                        if k.enabled { "yes" } else { "no" }.to_string(),
                    ]);
                }
                for line in table(&rows, &[false; 6]) {
                    out!("{line}");
                }
                out!("{} key(s)", keys.len());
            }
        }
        KeyCommand::Update { id, name, model, policy, json } => {
            let updated = core.update_key(id, crate::core::KeyUpdate { name, model, policy: policy.change() }).await?;
            if json.json {
                print_json(&updated)?;
            } else {
                out!("updated key {} ({})", updated.id, describe_policy(&updated.policy));
            }
        }
        KeyCommand::Usage { id, json } => {
            let usage = core.key_usage_stats(&id).await?;
            if json.json {
                print_json(&usage)?;
            } else {
                print_key_usage(&usage)?;
            }
        }
        KeyCommand::Disable { id, json } => {
            core.set_key_enabled(id.clone(), false).await?;
            done(&id, "disabled", json.json)?;
        }
        KeyCommand::Enable { id, json } => {
            core.set_key_enabled(id.clone(), true).await?;
            done(&id, "enabled", json.json)?;
        }
        KeyCommand::Delete { id, json } => {
            core.delete_key(id.clone()).await?;
            done(&id, "deleted", json.json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A key action's outcome, as text or JSON.
fn done(id: &str, what: &str, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(&serde_json::json!({"id": id, "ok": true, "action": what}))?;
    } else {
        out!("{what} {id}");
    }
    Ok(())
}

/// A secret given as `-` is read from stdin (its first line), so it never shows in `ps`.
fn read_secret(value: String) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let secret = line.trim().to_string();
    if secret.is_empty() {
        anyhow::bail!("--azure-api-key -: nothing was read from stdin");
    }
    Ok(secret)
}

/// A key's policy in a few words.
fn describe_policy(policy: &crate::core::KeyPolicy) -> String {
    let mut parts: Vec<String> = policy.limits.iter().map(ToString::to_string).collect();
    if let Some(at) = policy.expires_at.and_then(|at| chrono::DateTime::from_timestamp(at, 0)) {
        parts.push(format!("expires {}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    }
    if let Some(models) = &policy.models {
        parts.push(format!("models {}", models.join(",")));
    }
    if let Some(effort) = &policy.reasoning_effort {
        parts.push(format!("effort {effort}"));
    }
    if let Some(groups) = &policy.groups {
        parts.push(format!("groups {}", groups.join(",")));
    }
    if let Some(max) = policy.max_concurrent {
        parts.push(format!("at most {max} at once"));
    }
    if parts.is_empty() { "no limits".into() } else { parts.join("; ") }
}

fn print_key_usage(usage: &crate::core::KeyUsage) -> anyhow::Result<()> {
    if usage.limits.is_empty() {
        out!("{}: no limits", usage.key_id);
    }
    for limit in &usage.limits {
        let frees = limit
            .frees_at_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|at| format!(", frees up at {}", at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")))
            .unwrap_or_default();
        out!("{}: {} of {} used{frees}", limit.limit, limit.used, limit.limit.max);
    }
    out!("\n{:<17} {:>9} {:>12} {:>7}", "DAY", "REQUESTS", "TOKENS", "ERRORS");
    for point in usage.daily.iter().filter(|p| p.requests > 0) {
        let day = chrono::DateTime::from_timestamp_millis(point.start_ms)
            .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        out!("{day:<17} {:>9} {:>12} {:>7}", point.requests, point.tokens, point.errors);
    }
    Ok(())
}

/// `text` cut to at most `max` columns of display width, with "…" where it was cut.
fn truncate(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_string();
    }
    let mut cut = String::new();
    let mut width = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if width + w + 1 > max {
            break;
        }
        cut.push(c);
        width += w;
    }
    cut.push('…');
    cut
}

/// Rows as lines of columns padded to a common display width, two spaces apart; a column
/// marked in `right` is aligned right (numbers). The last column is not padded.
fn table<const N: usize>(rows: &[[String; N]], right: &[bool; N]) -> Vec<String> {
    let widths: Vec<usize> = (0..N).map(|i| rows.iter().map(|r| r[i].width()).max().unwrap_or(0)).collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let pad = " ".repeat(widths[i] - cell.width());
                if i > 0 {
                    line.push_str("  ");
                }
                if right[i] {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < N {
                        line.push_str(&pad);
                    }
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_by_display_width() {
        let rows = [
            ["ID".to_string(), "LABEL".to_string(), "5H".to_string()],
            ["a1".to_string(), "张三的账号".to_string(), "7%".to_string()],
            ["b22".to_string(), "plain".to_string(), "100%".to_string()],
        ];
        let lines = table(&rows, &[false, false, true]);
        let ends: Vec<usize> = lines.iter().map(|l| l.width()).collect();
        assert_eq!(ends[0], ends[1], "{lines:#?}");
        assert_eq!(ends[1], ends[2], "{lines:#?}");
        assert_eq!(lines[1], "a1   张三的账号    7%");
    }

    #[test]
    fn truncation_counts_columns_not_characters() {
        assert_eq!(truncate("张三张三张三", 7), "张三张…");
        assert!(truncate("张三张三张三", 7).width() <= 7);
        assert_eq!(truncate("enterprise", 12), "enterprise");
    }
}
