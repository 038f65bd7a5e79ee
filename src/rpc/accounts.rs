//! `account/*`: the pool's accounts, sign-in and usage. Parameters take our spellings and the
//! original's (`accountId`, `{state, code}`, `groupName`); where the original's results differ
//! from ours (the import's `failed` count, sign-in `success`), a call in its envelope gets its
//! shape.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};

use super::Call;
use super::error::RpcError;
use super::params::{non_blank, params, take, take_ids, to_value};
use crate::core::{
    AccountPatch, AccountView, ImportReport, LoginKind, LoginOptions, LoginProfile, LoginState, LoginStatus,
    UsageSnapshot,
};
use crate::usage::availability::Availability;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportParams {
    #[serde(default)]
    paths: Vec<PathBuf>,
    #[serde(default)]
    contents: Vec<String>,
    /// The original's single text, imported after `contents`.
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExportParams {
    out: PathBuf,
    #[serde(default)]
    ids: Option<Vec<String>>,
    /// Proxy URLs with their passwords (masked otherwise).
    #[serde(default)]
    with_secrets: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProxyTestParams {
    /// A proxy URL to try; or
    #[serde(default)]
    url: Option<String>,
    /// the accounts whose routes to try.
    #[serde(default)]
    ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoginStartParams {
    /// `browser` (also `chatgpt`, the default), `manual` or `device`.
    #[serde(default, rename = "type", alias = "loginType")]
    kind: Option<String>,
    /// Open a browser on the machine running the service (default false: open `authUrl` yourself).
    #[serde(default)]
    open_browser: bool,
    /// Sign in through this proxy (a URL or `direct`); the account keeps it.
    #[serde(default, alias = "proxyUrl")]
    proxy: Option<String>,
    /// The account's note, tags and group once signed in (the original's fields).
    #[serde(default)]
    note: Option<String>,
    #[serde(default, deserialize_with = "super::params::tags")]
    tags: Option<Vec<String>>,
    #[serde(default, alias = "group")]
    group_name: Option<String>,
    /// Only an account of this ChatGPT workspace (or these, comma-separated) may sign in;
    /// blank is no restriction.
    #[serde(default, alias = "workspace")]
    workspace_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoginIdParams {
    login_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoginCompleteParams {
    /// Ours; the original names the sign-in by its OAuth `state` instead.
    #[serde(default)]
    login_id: Option<String>,
    #[serde(default)]
    state: Option<String>,
    /// The address the browser ended on (or its query string).
    #[serde(default, alias = "url")]
    callback_url: Option<String>,
    /// Just the code, when that is all there is.
    #[serde(default)]
    code: Option<String>,
    /// The original's; accepted and not used: the exchange must use the address the sign-in
    /// started with, which the service keeps.
    #[serde(default, rename = "redirectUri")]
    _redirect_uri: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UsageRefreshParams {
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    account_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UsageReadParams {
    #[serde(default)]
    account_id: Option<String>,
}

fn login_kind(p: &LoginStartParams) -> Result<LoginKind, RpcError> {
    match p.kind.as_deref().unwrap_or("browser") {
        "browser" | "chatgpt" => Ok(LoginKind::Browser { open_browser: p.open_browser }),
        "manual" => Ok(LoginKind::Manual),
        "device" => Ok(LoginKind::Device),
        other => Err(RpcError::invalid(format!(
            "`type` must be \"browser\" (or \"chatgpt\"), \"manual\" or \"device\"; got {other:?}"
        ))),
    }
}

/// The name the original gives a sign-in's kind.
fn login_type(kind: LoginKind) -> &'static str {
    match kind {
        LoginKind::Browser { .. } => "chatgpt",
        LoginKind::Manual => "manual",
        LoginKind::Device => "device",
    }
}

/// A sign-in's status; in the original's envelope its words: `success` for completed, and
/// `failed` for every other end.
fn login_status(call: &Call<'_>, status: LoginStatus) -> Result<Value, RpcError> {
    let mut value = to_value(&status)?;
    if call.original() {
        value["status"] = json!(match status.status {
            LoginState::Pending => "pending",
            LoginState::Completed => "success",
            LoginState::Failed | LoginState::Expired | LoginState::Cancelled => "failed",
        });
    }
    Ok(value)
}

/// The original's usage object (`availabilityStatus`, the two windows flat, `creditsJson`).
fn usage_object(account_id: &str, usage: Option<&UsageSnapshot>, availability: &Availability) -> Value {
    let status = match availability {
        Availability::Available => "available",
        Availability::SingleWindow => "primary_window_available_only",
        Availability::Unavailable(_) => "unavailable",
        Availability::Unknown => "unknown",
    };
    let primary = usage.and_then(|u| u.primary.as_ref());
    let secondary = usage.and_then(|u| u.secondary.as_ref());
    let credits = usage.filter(|u| u.credits_has.is_some() || u.credits_unlimited.is_some()).map(|u| {
        json!({"has_credits": u.credits_has, "unlimited": u.credits_unlimited, "balance": u.credits_balance})
            .to_string()
    });
    json!({
        "accountId": account_id,
        "availabilityStatus": status,
        "usedPercent": primary.map(|w| w.used_percent),
        "windowMinutes": primary.and_then(|w| w.window_minutes),
        "resetsAt": primary.and_then(|w| w.resets_at),
        "secondaryUsedPercent": secondary.map(|w| w.used_percent),
        "secondaryWindowMinutes": secondary.and_then(|w| w.window_minutes),
        "secondaryResetsAt": secondary.and_then(|w| w.resets_at),
        "creditsJson": credits,
        "capturedAt": usage.map(|u| u.captured_at),
    })
}

fn view_usage(view: &AccountView) -> Value {
    usage_object(&view.account.id, view.usage.as_deref(), &view.availability)
}

/// The import report; in the original's envelope `failed` is a count and the problems are
/// `errors: [{index, source, message}]`, `index` being the 1-based number of the text (in
/// `contents`, then `content`) or path they came from.
fn import_answer(call: &Call<'_>, report: ImportReport, sources: &[String]) -> Result<Value, RpcError> {
    if !call.original() {
        return to_value(report);
    }
    let errors: Vec<Value> = report
        .failed
        .iter()
        .map(|problem| {
            let index = sources
                .iter()
                .position(|s| problem.source == *s || problem.source.starts_with(&format!("{s}#")))
                .map(|i| i + 1);
            json!({"index": index, "source": problem.source, "message": problem.message})
        })
        .collect();
    Ok(json!({
        "total": report.total,
        "created": report.created,
        "updated": report.updated,
        "failed": report.failed.len(),
        "errors": errors,
        "ids": report.ids,
    }))
}

async fn import(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: ImportParams = params(value)?;
    let mut contents = p.contents;
    contents.extend(non_blank(p.content));
    if p.paths.is_empty() && contents.is_empty() {
        return Err(RpcError::invalid("give `paths`, `contents` or `content`"));
    }
    let mut sources: Vec<String> = p.paths.iter().map(|path| path.display().to_string()).collect();
    let mut report = call.core.import_paths(p.paths).await?;
    if !contents.is_empty() {
        let texts: Vec<(String, String)> =
            contents.into_iter().enumerate().map(|(i, text)| (format!("contents[{i}]"), text)).collect();
        sources.extend(texts.iter().map(|(source, _)| source.clone()));
        let more = call.core.import_texts(texts).await?;
        report.total += more.total;
        report.created += more.created;
        report.updated += more.updated;
        report.failed.extend(more.failed);
        report.ids.extend(more.ids);
    }
    import_answer(call, report, &sources)
}

async fn login_start(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: LoginStartParams = params(value)?;
    let kind = login_kind(&p)?;
    let proxy = crate::egress::AccountProxy::parse(p.proxy.as_deref().unwrap_or("inherit"))
        .map_err(|err| RpcError::invalid(format!("`proxy`: {err}")))?;
    let options = LoginOptions {
        proxy,
        workspace: non_blank(p.workspace_id),
        profile: LoginProfile { group: non_blank(p.group_name), tags: p.tags, note: non_blank(p.note) },
    };
    let ticket = call.core.login_start_with(kind, options).await?;
    let config = call.core.config();
    let mut value = to_value(ticket)?;
    value["loginType"] = json!(login_type(kind));
    value["issuer"] = json!(config.issuer);
    value["clientId"] = json!(config.client_id);
    value["warning"] = Value::Null;
    Ok(value)
}

async fn login_complete(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: LoginCompleteParams = params(value)?;
    let (login_id, state) = match (non_blank(p.login_id), non_blank(p.state)) {
        (Some(id), state) => (id, state),
        (None, Some(state)) => (call.core.login_id_for_state(&state)?, Some(state)),
        (None, None) => return Err(RpcError::invalid("give `loginId` (or the original's `state`)")),
    };
    let pasted = match (non_blank(p.callback_url), non_blank(p.code), state) {
        (Some(url), _, _) => url,
        (None, Some(code), Some(state)) => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("code", &code)
                .append_pair("state", &state)
                .finish();
            query
        }
        (None, Some(code), None) => code,
        (None, None, _) => return Err(RpcError::invalid("give `callbackUrl` (or `code`)")),
    };
    let status = call.core.login_complete(&login_id, &pasted).await?;
    let mut value = login_status(call, status)?;
    value["ok"] = json!(true);
    Ok(value)
}

async fn usage_refresh(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: UsageRefreshParams = params(value)?;
    let single = p.account_id.is_some() && p.ids.is_none();
    let ids = match (p.ids, p.account_id) {
        (None, None) => None,
        (ids, one) => Some(ids.unwrap_or_default().into_iter().chain(one).collect()),
    };
    let report = call.core.refresh_usage(ids, |_| {}).await?;
    if call.original()
        && single
        && let Some(failure) = report.failed.first()
    {
        return Err(RpcError::new(super::code::SERVER_ERROR, failure.message.clone()));
    }
    let mut value = to_value(report)?;
    value["ok"] = json!(true);
    Ok(value)
}

fn usage_read(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: UsageReadParams = params(value)?;
    let accounts = call.core.list_accounts();
    let snapshot = match non_blank(p.account_id) {
        Some(id) => {
            let view = accounts.iter().find(|view| view.account.id == id).ok_or_else(|| {
                RpcError::new(
                    super::code::NOT_FOUND,
                    format!("no account with id {id:?}; `account/list` shows the accounts' ids"),
                )
            })?;
            view.usage.is_some().then(|| view_usage(view))
        }
        None => accounts
            .iter()
            .filter(|view| view.usage.is_some())
            .max_by_key(|view| view.usage.as_ref().map(|u| u.captured_at))
            .map(view_usage),
    };
    Ok(json!({ "snapshot": snapshot }))
}

/// The account list; in the original's envelope each item also carries `groupName`.
fn list(call: &Call<'_>) -> Result<Value, RpcError> {
    let items = call.core.list_accounts();
    let total = items.len();
    let mut items = to_value(items)?;
    if call.original()
        && let Some(items) = items.as_array_mut()
    {
        for item in items {
            item["groupName"] = item["group_name"].clone();
        }
    }
    Ok(json!({"items": items, "total": total}))
}

pub async fn dispatch(call: &Call<'_>, method: &str, value: Value) -> Option<Result<Value, RpcError>> {
    Some(match method {
        "account/list" => list(call),
        "account/import" => import(call, value).await,
        "account/update" => update(call, value).await,
        "account/delete" => delete(call, value).await,
        "account/export" => export(call, value).await,
        "account/login/start" => login_start(call, value).await,
        "account/login/status" => match params::<LoginIdParams>(value) {
            Ok(p) => call.core.login_status(&p.login_id).map_err(RpcError::from).and_then(|s| login_status(call, s)),
            Err(err) => Err(err),
        },
        "account/login/complete" => login_complete(call, value).await,
        "account/login/cancel" => match params::<LoginIdParams>(value) {
            Ok(p) => match call.core.login_cancel(&p.login_id).await {
                Ok(status) => login_status(call, status),
                Err(err) => Err(err.into()),
            },
            Err(err) => Err(err),
        },
        "account/usage/read" => usage_read(call, value),
        "account/usage/list" => {
            let items: Vec<Value> =
                call.core.list_accounts().iter().filter(|view| view.usage.is_some()).map(view_usage).collect();
            Ok(json!({ "items": items }))
        }
        "account/usage/refresh" => usage_refresh(call, value).await,
        "account/proxy/test" => proxy_test(call, value).await,
        _ => return None,
    })
}

async fn update(call: &Call<'_>, mut value: Value) -> Result<Value, RpcError> {
    let ids = take_ids(&mut value)?;
    let patch: AccountPatch = params(value)?;
    let updated = call.core.update_accounts(ids, patch).await?;
    Ok(json!({"ok": true, "updated": updated}))
}

async fn delete(call: &Call<'_>, mut value: Value) -> Result<Value, RpcError> {
    let ids = take_ids(&mut value)?;
    let revoke = take::<bool>(&mut value, "revoke")?.unwrap_or(true);
    if let Some(unknown) = value.as_object().and_then(|object| object.keys().next()) {
        return Err(RpcError::invalid(format!(
            "unknown field `{unknown}`, expected `ids`, `id` or `accountId`, and `revoke`"
        )));
    }
    let mut report = to_value(call.core.delete_accounts(ids, revoke).await?)?;
    report["ok"] = json!(true);
    Ok(report)
}

async fn export(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: ExportParams = params(value)?;
    to_value(call.core.export_accounts(p.out, p.ids, p.with_secrets).await?)
}

async fn proxy_test(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: ProxyTestParams = params(value)?;
    match (p.url, p.ids.is_empty()) {
        (Some(url), true) => Ok(json!({"items": [call.core.test_proxy(&url).await?]})),
        (None, false) => Ok(json!({"items": call.core.test_account_routes(&p.ids).await?})),
        _ => Err(RpcError::invalid("give either `url` or `ids`")),
    }
}
