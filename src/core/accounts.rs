//! Account operations: import, list, update, delete and export.

use std::collections::HashMap;
use std::path::PathBuf;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AccountView, Core, CoreError};
use crate::auth::claims::Claims;
use crate::auth::import::{self, ImportMeta, ImportProblem, ImportedAccount};
use crate::auth::tokens::Tokens;
use crate::egress::AccountProxy;
use crate::store::accounts::{AccountRow, AccountStatus, AccountWrite, Existing, Select};
use crate::store::{Store, StoreError, now_secs};
use crate::vault::Vault;

/// Accounts imported per transaction.
pub const IMPORT_BATCH: usize = 250;
/// Group given to imported accounts that name none.
pub const DEFAULT_GROUP: &str = "IMPORT";

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Accounts found in the input.
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    /// Files or entries skipped, each with its reason.
    pub failed: Vec<ImportProblem>,
    /// Ids of the accounts created or updated, in input order.
    pub ids: Vec<String>,
}

/// Changes to apply to one or more accounts; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountPatch {
    pub label: Option<String>,
    #[serde(alias = "groupName")]
    pub group: Option<String>,
    pub tags: Option<Vec<String>>,
    pub note: Option<String>,
    pub sort: Option<i64>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    /// `inherit` (the global setting), `direct`, or a proxy URL.
    #[serde(alias = "proxyUrl")]
    pub proxy: Option<String>,
}

impl AccountPatch {
    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        let AccountPatch { label, group, tags, note, sort, status, proxy } = self;
        label.is_none()
            && group.is_none()
            && tags.is_none()
            && note.is_none()
            && sort.is_none()
            && status.is_none()
            && proxy.is_none()
    }
}

/// What a delete did: the rows removed, and (best effort, after they are gone) the refresh
/// tokens revoked at the issuer so the deleted sign-ins stop working everywhere.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteReport {
    pub deleted: usize,
    /// Deleted accounts whose refresh token the issuer revoked.
    pub revoked: usize,
    /// Deleted accounts whose refresh token could not be revoked, with why.
    pub not_revoked: Vec<NotRevoked>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotRevoked {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub exported: usize,
    /// The file written, or the folder holding one file per account.
    pub path: PathBuf,
}

/// Stable identity of an account across imports: the ChatGPT user within its workspace,
/// else a hash of the token that identifies it.
fn identity(claims: &Claims, entry: &ImportedAccount) -> String {
    let account = claims.chatgpt_account_id.as_deref().or(entry.account_id.as_deref());
    let user = claims.chatgpt_user_id.as_deref().or(claims.subject.as_deref()).or(claims.email.as_deref());
    match (user, account) {
        (Some(user), Some(account)) => format!("user:{user}|account:{account}"),
        (Some(user), None) => format!("user:{user}"),
        (None, Some(account)) => format!("account:{account}"),
        (None, None) => {
            let token = entry.tokens.refresh_token.as_deref().unwrap_or(&entry.tokens.access_token);
            format!("token:{}", hex::encode(Sha256::digest(token.as_bytes())))
        }
    }
}

fn account_id_for(identity: &str) -> String {
    hex::encode(&Sha256::digest(identity.as_bytes())[..6])
}

enum Outcome {
    Created(String),
    Updated(String),
}

/// Writes one batch inside one transaction: all of it lands, or none of it.
async fn write_batch(store: &Store, vault: Vault, batch: Vec<ImportedAccount>) -> Result<Vec<Outcome>, StoreError> {
    let identities: Vec<String> =
        batch.iter().map(|entry| identity(&Claims::from_tokens(&entry.tokens), entry)).collect();
    store
        .write_accounts(Select::Identities(identities.clone()), move |found| {
            Ok(plan_batch(&vault, &batch, &identities, found))
        })
        .await
}

/// The rows an import batch writes, given the accounts with the same identities.
fn plan_batch(
    vault: &Vault,
    batch: &[ImportedAccount],
    identities: &[String],
    found: Existing,
) -> (Vec<AccountWrite>, Vec<Outcome>) {
    let mut by_identity: HashMap<String, AccountRow> =
        found.rows.into_iter().map(|row| (row.identity.clone(), row)).collect();
    let mut next_sort = found.max_sort + 1;
    let now = now_secs();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut writes: Vec<AccountWrite> = Vec::with_capacity(batch.len());
    for (entry, identity) in batch.iter().zip(identities) {
        let claims = Claims::from_tokens(&entry.tokens);
        let identity = identity.clone();
        let existing = by_identity.get(&identity).cloned();
        let meta = &entry.meta;
        let email = claims.email.clone().or_else(|| entry.email.clone());
        let row = match &existing {
            Some(old) => AccountRow {
                label: meta.label.clone().unwrap_or_else(|| old.label.clone()),
                email: email.or_else(|| old.email.clone()),
                chatgpt_account_id: claims
                    .chatgpt_account_id
                    .clone()
                    .or_else(|| entry.account_id.clone())
                    .or_else(|| old.chatgpt_account_id.clone()),
                chatgpt_user_id: claims.chatgpt_user_id.clone().or_else(|| old.chatgpt_user_id.clone()),
                plan: claims.plan.clone().or_else(|| old.plan.clone()),
                // As the original: an account stored without a group gets the import group.
                group_name: meta.group.clone().unwrap_or_else(|| {
                    if old.group_name.trim().is_empty() { DEFAULT_GROUP.to_string() } else { old.group_name.clone() }
                }),
                tags: meta.tags.clone().unwrap_or_else(|| old.tags.clone()),
                note: meta.note.clone().unwrap_or_else(|| old.note.clone()),
                sort: meta.sort.unwrap_or(old.sort),
                // Fresh tokens revive an account that died of a dead token; a user's
                // "disabled" stays.
                status: if old.status == AccountStatus::Unavailable { AccountStatus::Active } else { old.status },
                status_reason: if old.status == AccountStatus::Unavailable { None } else { old.status_reason.clone() },
                updated_at: now,
                last_refresh_at: Some(now),
                access_expires_at: claims.access_expires_at,
                ..old.clone()
            },
            None => {
                let id = account_id_for(&identity);
                let sort = meta.sort.unwrap_or_else(|| {
                    next_sort += 1;
                    next_sort - 1
                });
                AccountRow {
                    label: meta.label.clone().or_else(|| email.clone()).unwrap_or_else(|| format!("account-{id}")),
                    id,
                    identity,
                    email,
                    chatgpt_account_id: claims.chatgpt_account_id.clone().or_else(|| entry.account_id.clone()),
                    chatgpt_user_id: claims.chatgpt_user_id.clone(),
                    plan: claims.plan.clone(),
                    group_name: meta.group.clone().unwrap_or_else(|| DEFAULT_GROUP.to_string()),
                    tags: meta.tags.clone().unwrap_or_default(),
                    note: meta.note.clone().unwrap_or_default(),
                    sort,
                    status: AccountStatus::Active,
                    status_reason: None,
                    created_at: now,
                    updated_at: now,
                    last_refresh_at: Some(now),
                    access_expires_at: claims.access_expires_at,
                    cooldown_until: None,
                    cooldown_reason: None,
                    proxy: None,
                    proxy_sealed: None,
                }
            }
        };
        let mut row = row;
        if let Some(proxy) = meta.proxy.as_deref().and_then(|text| AccountProxy::parse(text).ok()) {
            apply_proxy(&mut row, &proxy, vault);
        }
        let sealed = vault
            .seal(&Tokens::seal_purpose(&row.id), &serde_json::to_vec(&entry.tokens).expect("token set serialises"));
        outcomes.push(if existing.is_some() {
            Outcome::Updated(row.id.clone())
        } else {
            Outcome::Created(row.id.clone())
        });
        // A later entry of the same batch with the same identity updates this row.
        by_identity.insert(row.identity.clone(), row.clone());
        writes.retain(|write| write.row.id != row.id);
        writes.push(AccountWrite { row, sealed_tokens: Some(sealed) });
    }
    (writes, outcomes)
}

impl Core {
    /// Imports accounts from files and folders (folders recursively, `.json` only).
    pub async fn import_paths(&self, paths: Vec<PathBuf>) -> Result<ImportReport, CoreError> {
        let (texts, mut problems) = tokio::task::spawn_blocking(move || {
            let (files, mut problems) = import::expand_paths(&paths);
            let mut texts = Vec::with_capacity(files.len());
            for file in files {
                match std::fs::read_to_string(&file) {
                    Ok(text) => texts.push((file.display().to_string(), text)),
                    Err(err) => {
                        problems.push(ImportProblem { source: file.display().to_string(), message: err.to_string() })
                    }
                }
            }
            (texts, problems)
        })
        .await
        .map_err(|_| CoreError::Worker)?;
        let mut report = self.import_texts(texts).await?;
        problems.append(&mut report.failed);
        report.failed = problems;
        Ok(report)
    }

    /// Imports accounts from file contents, each named by where it came from.
    pub async fn import_texts(&self, texts: Vec<(String, String)>) -> Result<ImportReport, CoreError> {
        let mut report = ImportReport::default();
        let mut entries = Vec::new();
        for (source, text) in &texts {
            let (accounts, mut problems) = import::parse_text(source, text);
            for account in accounts {
                match account.meta.proxy.as_deref().map(AccountProxy::parse) {
                    Some(Err(err)) => report
                        .failed
                        .push(ImportProblem { source: account.origin.clone(), message: format!("proxy: {err}") }),
                    _ => entries.push(account),
                }
            }
            report.failed.append(&mut problems);
        }
        report.total = entries.len();
        for batch in entries.chunks(IMPORT_BATCH) {
            let batch = batch.to_vec();
            let vault = self.vault().clone();
            let outcomes = write_batch(self.store(), vault, batch).await?;
            for outcome in outcomes {
                match outcome {
                    Outcome::Created(id) => {
                        report.created += 1;
                        report.ids.push(id);
                    }
                    Outcome::Updated(id) => {
                        report.updated += 1;
                        report.ids.push(id);
                    }
                }
            }
        }
        self.reload().await?;
        tracing::info!(
            created = report.created,
            updated = report.updated,
            failed = report.failed.len(),
            "accounts imported"
        );
        Ok(report)
    }

    /// Stores the tokens of a completed sign-in the way an import would (same identity, so
    /// signing in again updates the account). Returns the account id and who signed in.
    pub(super) async fn store_signed_in(
        &self,
        tokens: Tokens,
        proxy: &AccountProxy,
        profile: &super::LoginProfile,
    ) -> Result<(String, String), CoreError> {
        let claims = Claims::from_tokens(&tokens);
        let proxy = match proxy {
            AccountProxy::Inherit => None,
            AccountProxy::Direct => Some("direct".to_string()),
            AccountProxy::Proxy(url) => Some(url.expose().to_string()),
        };
        let entry = ImportedAccount {
            tokens,
            account_id: claims.chatgpt_account_id.clone(),
            email: claims.email.clone(),
            meta: ImportMeta {
                proxy,
                group: profile.group.clone(),
                tags: profile.tags.clone(),
                note: profile.note.clone(),
                ..ImportMeta::default()
            },
            origin: "sign-in".into(),
        };
        let vault = self.vault().clone();
        let mut outcomes = write_batch(self.store(), vault, vec![entry]).await?;
        let Some(Outcome::Created(id) | Outcome::Updated(id)) = outcomes.pop() else {
            return Err(CoreError::Worker);
        };
        self.reload().await?;
        tracing::info!(account = %id, "account signed in");
        let who = claims.email.unwrap_or_else(|| format!("account {id}"));
        Ok((id, who))
    }

    /// Every account with its usage and availability, in routing order.
    pub fn list_accounts(&self) -> Vec<AccountView> {
        self.snapshot().accounts.clone()
    }

    /// Applies `patch` to each account in `ids` in one transaction.
    pub async fn update_accounts(&self, ids: Vec<String>, patch: AccountPatch) -> Result<usize, CoreError> {
        if ids.is_empty() {
            return Err(CoreError::Invalid("`ids` must name at least one account".into()));
        }
        let status = match patch.status.as_deref() {
            None => None,
            Some("active") => Some(AccountStatus::Active),
            Some("disabled") => Some(AccountStatus::Disabled),
            Some(other) => {
                return Err(CoreError::Invalid(format!("`status` must be \"active\" or \"disabled\"; got {other:?}")));
            }
        };
        if patch.label.as_deref().is_some_and(|l| l.trim().is_empty()) {
            return Err(CoreError::Invalid("`label` must not be empty".into()));
        }
        let proxy = match patch.proxy.as_deref().map(AccountProxy::parse) {
            None => None,
            Some(Ok(proxy)) => Some(proxy),
            Some(Err(err)) => return Err(CoreError::Invalid(format!("`proxy`: {err}"))),
        };
        let vault = self.vault().clone();
        let updated = self
            .store()
            .write_accounts(Select::Ids(ids), move |found| {
                let count = found.rows.len();
                let mut writes = Vec::with_capacity(count);
                for mut row in found.rows {
                    if let Some(label) = &patch.label {
                        row.label = label.trim().to_string();
                    }
                    if let Some(group) = &patch.group {
                        row.group_name = group.trim().to_string();
                    }
                    if let Some(tags) = &patch.tags {
                        row.tags = tags.iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
                    }
                    if let Some(note) = &patch.note {
                        row.note = note.clone();
                    }
                    if let Some(sort) = patch.sort {
                        row.sort = sort;
                    }
                    if let Some(status) = status {
                        row.status = status;
                        row.status_reason = None;
                    }
                    if let Some(proxy) = &proxy {
                        apply_proxy(&mut row, proxy, &vault);
                    }
                    row.updated_at = now_secs();
                    writes.push(AccountWrite { row, sealed_tokens: None });
                }
                Ok((writes, count))
            })
            .await?;
        self.reload().await?;
        Ok(updated)
    }

    /// Deletes accounts with their tokens and usage; returns how many existed.
    pub async fn delete_accounts(&self, ids: Vec<String>, revoke: bool) -> Result<DeleteReport, CoreError> {
        if ids.is_empty() {
            return Err(CoreError::Invalid("`ids` must name at least one account".into()));
        }
        let pool = self.pool();
        let leaving: Vec<_> = ids.iter().filter_map(|id| pool.by_id.get(id).cloned()).collect();
        let deleted = self.store().delete_accounts(ids).await?;
        self.reload().await?;
        let mut report = DeleteReport { deleted, ..DeleteReport::default() };
        if !revoke {
            return Ok(report);
        }
        let config = self.config();
        let attempts = leaving.into_iter().filter_map(|account| {
            let refresh_token = account.tokens()?.refresh_token.clone()?;
            let http = self.client_for(&account).map(|(http, _)| http);
            let (issuer, client_id) = (config.issuer.clone(), config.client_id.clone());
            Some(async move {
                let outcome = match http {
                    Ok(http) => crate::auth::revoke::revoke(&http, &issuer, &client_id, &refresh_token).await,
                    Err(err) => Err(format!("its proxy cannot be used: {err}")),
                };
                (account.row.id.clone(), outcome)
            })
        });
        let outcomes: Vec<_> = futures_util::stream::iter(attempts).buffer_unordered(8).collect().await;
        for (id, outcome) in outcomes {
            match outcome {
                Ok(()) => report.revoked += 1,
                Err(reason) => {
                    tracing::warn!(account = %id, "revoking the deleted account's refresh token failed: {reason}");
                    report.not_revoked.push(NotRevoked { id, reason });
                }
            }
        }
        Ok(report)
    }

    /// Writes accounts with their tokens in the `auth.json` shape: one file per account when
    /// `out` is an existing folder, else one JSON array in the file `out`. Files are 0600.
    /// This is the only way tokens leave the vault in plaintext.
    /// An account's proxy goes into the file masked, unless `with_secrets` asks for it whole.
    pub async fn export_accounts(
        &self,
        out: PathBuf,
        ids: Option<Vec<String>>,
        with_secrets: bool,
    ) -> Result<ExportReport, CoreError> {
        let proxies: HashMap<String, Option<String>> = self
            .pool()
            .accounts
            .iter()
            .map(|a| {
                let shown = match &a.proxy {
                    Some(AccountProxy::Proxy(url)) if with_secrets => Some(url.expose().to_string()),
                    Some(proxy) => proxy.display(),
                    None => None,
                };
                (a.row.id.clone(), shown)
            })
            .collect();
        let vault = self.vault().clone();
        let accounts = self.list_accounts();
        let wanted: Option<std::collections::HashSet<String>> = ids.map(|ids| ids.into_iter().collect());
        let selected: Vec<std::sync::Arc<AccountRow>> = accounts
            .into_iter()
            .map(|view| view.account)
            .filter(|a| wanted.as_ref().is_none_or(|w| w.contains(&a.id)))
            .collect();
        let sealed: HashMap<String, std::sync::Arc<[u8]>> = self.store().all_tokens().await?.into_iter().collect();
        tokio::task::spawn_blocking(move || {
            let mut entries = Vec::with_capacity(selected.len());
            for account in &selected {
                let Some(blob) = sealed.get(&account.id) else { continue };
                let plain = vault.open(&Tokens::seal_purpose(&account.id), blob)?;
                let tokens: Tokens = serde_json::from_slice(&plain)
                    .map_err(|_| crate::vault::VaultError::Corrupt { purpose: format!("account {}", account.id) })?;
                let meta = ImportMeta {
                    label: Some(account.label.clone()),
                    group: Some(account.group_name.clone()),
                    tags: Some(account.tags.clone()),
                    note: Some(account.note.clone()).filter(|n| !n.is_empty()),
                    sort: Some(account.sort),
                    proxy: proxies.get(&account.id).cloned().flatten(),
                };
                let value = import::export_entry(
                    &tokens,
                    account.chatgpt_account_id.as_deref(),
                    account.last_refresh_at,
                    &meta,
                );
                entries.push((account, value));
            }
            let io = |path: &std::path::Path| {
                let path = path.display().to_string();
                move |source| CoreError::Io { path, source }
            };
            if out.is_dir() {
                for (account, value) in &entries {
                    let file = out.join(format!("{}-{}.json", file_stem(&account.label), account.id));
                    let text = serde_json::to_string_pretty(value).expect("JSON value serialises");
                    crate::paths::write_private_file(&file, text.as_bytes()).map_err(io(&file))?;
                }
            } else {
                let array: Vec<&serde_json::Value> = entries.iter().map(|(_, v)| v).collect();
                let text = serde_json::to_string_pretty(&array).expect("JSON value serialises");
                crate::paths::write_private_file(&out, text.as_bytes()).map_err(io(&out))?;
            }
            tracing::info!(count = entries.len(), "accounts exported");
            Ok(ExportReport { exported: entries.len(), path: out })
        })
        .await
        .map_err(|_| CoreError::Worker)?
    }
}

/// A label made safe for a file name.
fn file_stem(label: &str) -> String {
    let stem: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') { c } else { '_' })
        .take(60)
        .collect();
    if stem.is_empty() { "account".into() } else { stem }
}

/// Sets a row's proxy: shown masked, the whole URL sealed to the account.
fn apply_proxy(row: &mut AccountRow, proxy: &AccountProxy, vault: &Vault) {
    row.proxy = proxy.display();
    row.proxy_sealed = match proxy {
        AccountProxy::Proxy(url) => Some(vault.seal(&super::pool::proxy_purpose(&row.id), url.expose().as_bytes())),
        AccountProxy::Inherit | AccountProxy::Direct => None,
    };
}
