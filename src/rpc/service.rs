//! The service's own methods: `initialize`, `appSettings/*`, the gateway's routing
//! (`gateway/routeStrategy/*`, `gateway/manualAccount/*`) and the request log
//! (`requestlog/*`), in the original's shapes where the original has the method.

use serde::Deserialize;
use serde_json::{Value, json};

use super::Call;
use super::error::{RpcError, code};
use super::params::{non_blank, params, to_value};
use crate::config::RouteStrategy;
use crate::core::{LogFilter, LogRow};

/// What `initialize` calls this service; the original's desktop shell checks it.
const SERVER_NAME: &str = "codexmanager-service";
/// `requestlog/list` rows when `limit` is absent or not positive, and at most.
const DEFAULT_LOG_LIMIT: i64 = 200;
const MAX_LOG_LIMIT: i64 = crate::core::logs::MAX_PAGE as i64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategyParams {
    strategy: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ManualAccountParams {
    #[serde(alias = "id")]
    account_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogListParams {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// The original's strategy names and aliases, to ours.
fn strategy(name: &str) -> Option<RouteStrategy> {
    match name.trim().to_ascii_lowercase().as_str() {
        "ordered" | "order" | "priority" | "sequential" => Some(RouteStrategy::Ordered),
        "balanced" | "round_robin" | "round-robin" | "rr" => Some(RouteStrategy::Balanced),
        _ => None,
    }
}

async fn set_strategy(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: StrategyParams = params(value)?;
    let wanted = strategy(&p.strategy).ok_or_else(|| {
        RpcError::invalid(format!(
            "invalid strategy {:?}; use ordered or balanced (aliases: order/priority/sequential, \
             round_robin/round-robin/rr)",
            p.strategy
        ))
    })?;
    let from_environment = call
        .core
        .settings()
        .get("routeStrategy")
        .is_some_and(|setting| setting.source == crate::config::Source::Environment);
    if from_environment && call.core.config().route_strategy != wanted {
        return Err(RpcError::new(
            code::SERVER_ERROR,
            "CODEXMANAGER_ROUTE_STRATEGY is set in the service's environment and overrides this setting; change \
             or unset it there and restart the service",
        ));
    }
    let mut patch = serde_json::Map::new();
    patch.insert("routeStrategy".into(), json!(wanted.as_str()));
    call.core.set_settings(patch).await?;
    Ok(json!({"strategy": call.core.config().route_strategy.as_str()}))
}

/// The original's log search words, in ours: `field:=value` is `field:value`, its field names
/// map to ours (`account_id:` is `account:`, `key_id:` is `key:`), `status:4xx` is a status
/// class, and its other fields (`path:`, `error:`, `upstream:`, `reasoning:`) are matched as
/// free text.
fn log_query(query: &str) -> (String, Option<u16>) {
    let mut words = Vec::new();
    let mut class = None;
    for word in query.split_whitespace() {
        let Some((field, value)) = word.split_once(':') else {
            words.push(word.to_string());
            continue;
        };
        let value = value.strip_prefix('=').unwrap_or(value);
        match field.to_ascii_lowercase().as_str() {
            "status"
                if value.len() == 3
                    && value.as_bytes()[0].is_ascii_digit()
                    && value[1..].eq_ignore_ascii_case("xx") =>
            {
                class = Some(u16::from(value.as_bytes()[0] - b'0'));
            }
            "account" | "account_id" => words.push(format!("account:{value}")),
            "key" | "key_id" => words.push(format!("key:{value}")),
            "status" | "method" | "model" => words.push(format!("{field}:{value}")),
            "path" | "request_path" | "error" | "upstream" | "url" | "reasoning" | "reason" => {
                words.push(value.to_string())
            }
            _ => words.push(word.to_string()),
        }
    }
    (words.join(" "), class)
}

/// A log row as the original lists it, with our `id`, duration, attempts and request id.
fn log_item(row: &LogRow) -> Value {
    let total = match (row.input_tokens, row.output_tokens) {
        (None, None) => None,
        (input, output) => Some(input.unwrap_or(0) + output.unwrap_or(0)),
    };
    let mut item = json!({
        "id": row.id,
        "keyId": row.key_id,
        "accountId": row.account_id,
        "requestPath": row.path,
        "method": row.method,
        "model": row.model,
        "reasoningEffort": row.reasoning_effort,
        "upstreamUrl": row.upstream,
        "statusCode": row.status,
        "inputTokens": row.input_tokens,
        "cachedInputTokens": row.cached_tokens,
        "outputTokens": row.output_tokens,
        "totalTokens": total,
        "reasoningOutputTokens": row.reasoning_tokens,
        "estimatedCostUsd": null,
        "error": row.error,
        "createdAt": row.ts / 1000,
        "durationMs": row.duration_ms,
        "attempts": row.attempts,
        "requestId": row.request_id,
    });
    // Only on a database several instances share: which one served the request.
    if let Some(instance) = &row.instance {
        item["instance"] = json!(instance);
    }
    item
}

async fn log_list(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: LogListParams = params(value)?;
    let limit = p.limit.filter(|limit| *limit > 0).unwrap_or(DEFAULT_LOG_LIMIT).min(MAX_LOG_LIMIT);
    let mut filter = LogFilter::default();
    if let Some(query) = non_blank(p.query) {
        let (search, class) = log_query(&query);
        call.core.log_search(&mut filter, &search)?;
        filter.status_class = class;
    }
    let rows = call.core.query_logs(filter, 0, limit.unsigned_abs()).await?;
    Ok(json!({"items": rows.iter().map(log_item).collect::<Vec<_>>()}))
}

async fn today_summary(call: &Call<'_>) -> Result<Value, RpcError> {
    let today = call.core.dashboard_stats().await?.today;
    Ok(json!({
        "inputTokens": today.input_tokens,
        "cachedInputTokens": today.cached_tokens,
        "outputTokens": today.output_tokens,
        "reasoningOutputTokens": today.reasoning_tokens,
        "todayTokens": (today.input_tokens - today.cached_tokens) + today.output_tokens,
        "estimatedCost": null,
        "requests": today.requests,
    }))
}

pub async fn dispatch(call: &Call<'_>, method: &str, value: Value) -> Option<Result<Value, RpcError>> {
    Some(match method {
        "initialize" => Ok(json!({"server_name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION")})),
        "appSettings/get" => Ok(json!(call.core.settings())),
        "appSettings/set" => set_settings(call, value).await,
        "gateway/routeStrategy/get" => Ok(json!({
            "strategy": call.core.config().route_strategy.as_str(),
            "options": ["ordered", "balanced"],
            "manualPreferredAccountId": call.core.manual_account(),
        })),
        "gateway/routeStrategy/set" => set_strategy(call, value).await,
        "gateway/manualAccount/get" => Ok(json!({"accountId": call.core.manual_account()})),
        "gateway/manualAccount/set" => match params::<ManualAccountParams>(value) {
            Ok(p) => match non_blank(p.account_id) {
                Some(id) => {
                    call.core.set_manual_account(Some(id)).await.map(|()| json!({"ok": true})).map_err(RpcError::from)
                }
                None => Err(RpcError::invalid("`accountId` is required")),
            },
            Err(err) => Err(err),
        },
        "gateway/manualAccount/clear" => {
            call.core.set_manual_account(None).await.map(|()| json!({"ok": true})).map_err(RpcError::from)
        }
        "requestlog/list" => log_list(call, value).await,
        "requestlog/clear" => match call.core.clear_logs().await {
            Ok(cleared) => Ok(json!({"ok": true, "cleared": cleared})),
            Err(err) => Err(err.into()),
        },
        "requestlog/today_summary" => today_summary(call).await,
        _ => return None,
    })
}

async fn set_settings(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let patch: serde_json::Map<String, Value> = params(value)?;
    let restart: Vec<String> =
        patch.keys().filter(|key| crate::config::RESTART_SETTINGS.contains(&key.as_str())).cloned().collect();
    let mut answer = to_value(call.core.set_settings(patch).await?)?;
    answer["restartRequired"] = json!(restart);
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_originals_log_search_words_become_ours() {
        assert_eq!(log_query("status:4xx model:=gpt-5.5 hello"), ("model:gpt-5.5 hello".into(), Some(4)));
        assert_eq!(
            log_query("account_id:=a1 key_id:k path:/v1/responses"),
            ("account:a1 key:k /v1/responses".into(), None)
        );
        assert_eq!(log_query("status:429"), ("status:429".into(), None));
        assert_eq!(
            log_query("status:é1"),
            ("status:é1".into(), None),
            "not a class, and no panic on a multi-byte text"
        );
    }
}
