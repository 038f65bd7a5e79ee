//! The command line: `codexmanager` (the window), `serve`, and `<noun> <verb>` subcommands
//! that call the same core API as the window and `/rpc`. Human-readable output by default,
//! `--json` for scripts; exit code 0 on success, 1 with a one-line reason on failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::core::{Core, NewKey};

#[derive(Debug, Parser)]
#[command(name = "codexmanager", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CODEXMANAGER_GIT_COMMIT"), ")"), about = "A pool of ChatGPT (Codex) accounts behind one local gateway.\n\nWithout a command, opens the window (and starts the service in it).")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service without a window until SIGINT/SIGTERM.
    Serve,
    /// Import, list, export and delete accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Create and manage platform keys for the gateway.
    #[command(subcommand)]
    Key(KeyCommand),
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
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete accounts and their tokens.
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
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
        /// For azure_openai keys: the Azure API key (sealed in the vault).
        #[arg(long)]
        azure_api_key: Option<String>,
        /// For azure_openai keys: the api-version to send (default 2025-04-01-preview).
        #[arg(long)]
        azure_api_version: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List platform keys (prefixes only; full keys are never stored).
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Stop accepting a key.
    Disable { id: String },
    /// Accept a disabled key again.
    Enable { id: String },
    /// Delete a key.
    Delete { id: String },
}

/// Runs a CLI subcommand against the core.
pub async fn run(core: &Core, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => unreachable!("serve is handled by main"),
        Command::Account(command) => account(core, command).await,
        Command::Key(command) => key(core, command).await,
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn percent(window: Option<&crate::store::usage::Window>) -> String {
    window.map_or_else(|| "-".into(), |w| format!("{:.0}%", w.used_percent))
}

async fn account(core: &Core, command: AccountCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccountCommand::Import { paths, json } => {
            let report = core.import_paths(paths).await?;
            if json.json {
                print_json(&report)?;
            } else {
                println!(
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
                println!(
                    "{:<14} {:<32} {:<10} {:<8} {:>5} {:>5}  AVAILABILITY",
                    "ID", "LABEL", "GROUP", "PLAN", "5H", "7D"
                );
                for view in &accounts {
                    let a = &view.account;
                    let usage = view.usage.as_ref();
                    let availability = match &view.availability {
                        crate::usage::availability::Availability::Unavailable(reason) => {
                            format!("unavailable ({reason})")
                        }
                        other => other.key().to_string(),
                    };
                    println!(
                        "{:<14} {:<32} {:<10} {:<8} {:>5} {:>5}  {}",
                        a.id,
                        truncate(&a.label, 32),
                        truncate(&a.group_name, 10),
                        a.plan.as_deref().unwrap_or("-"),
                        percent(usage.and_then(|u| u.primary.as_ref())),
                        percent(usage.and_then(|u| u.secondary.as_ref())),
                        availability
                    );
                }
                println!("{} account(s)", accounts.len());
            }
        }
        AccountCommand::Export { out, ids, json } => {
            let report = core.export_accounts(out, Some(ids).filter(|ids| !ids.is_empty())).await?;
            if json.json {
                print_json(&report)?;
            } else {
                println!(
                    "exported {} account(s) to {} (contains plaintext tokens)",
                    report.exported,
                    report.path.display()
                );
            }
        }
        AccountCommand::Delete { ids, json } => {
            let wanted = ids.len();
            let deleted = core.delete_accounts(ids).await?;
            if json.json {
                print_json(&serde_json::json!({"deleted": deleted}))?;
            } else {
                println!("deleted {deleted} account(s)");
            }
            if deleted < wanted {
                anyhow::bail!("{} of the given ids matched no account", wanted - deleted);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn key(core: &Core, command: KeyCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeyCommand::Create { name, protocol, model, azure_endpoint, azure_api_key, azure_api_version, json } => {
            let created = core
                .create_key(NewKey {
                    name,
                    protocol: Some(protocol),
                    model,
                    azure_endpoint,
                    azure_api_key,
                    azure_api_version,
                })
                .await?;
            if json.json {
                print_json(&created)?;
            } else {
                println!("created key {} ({})", created.id, created.info.protocol.as_str());
                println!("{}", created.key);
                eprintln!("This is the only time the key is shown; store it now.");
            }
        }
        KeyCommand::List { json } => {
            let keys = core.list_keys();
            if json.json {
                print_json(&keys)?;
            } else {
                println!(
                    "{:<18} {:<20} {:<14} {:<13} {:<16} {:<8}",
                    "ID", "NAME", "PREFIX", "PROTOCOL", "MODEL", "ENABLED"
                );
                for k in &keys {
                    println!(
                        "{:<18} {:<20} {:<14} {:<13} {:<16} {:<8}",
                        k.id,
                        truncate(&k.name, 20),
                        k.key_prefix,
                        k.protocol.as_str(),
                        k.model.as_deref().unwrap_or("-"),
                        if k.enabled { "yes" } else { "no" }
                    );
                }
                println!("{} key(s)", keys.len());
            }
        }
        KeyCommand::Disable { id } => {
            core.set_key_enabled(id.clone(), false).await?;
            println!("disabled {id}");
        }
        KeyCommand::Enable { id } => {
            core.set_key_enabled(id.clone(), true).await?;
            println!("enabled {id}");
        }
        KeyCommand::Delete { id } => {
            core.delete_key(id.clone()).await?;
            println!("deleted {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}
