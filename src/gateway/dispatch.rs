//! Sending one request to the pool: try candidates in routing order and move on, before the
//! client has seen a byte, when an account fails — connect error or timeout, 5xx, 429 (the
//! account cools down), 401 (one refresh, one retry), 403, or an error event at the head of
//! a 200 stream. A request error (400, 404, …) goes back to the client as it is.

use std::collections::HashSet;
use std::fmt::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::Gateway;
use super::errors::GatewayError;
use super::protocol::UpstreamEvent;
use super::protocol::responses::{Outcome, failure_of};
use super::record::Record;
use super::routing::Skip;
use super::sse;
use super::upstream::Endpoint;
use crate::core::now_millis;
use crate::core::pool::{InflightGuard, PoolAccount};

pub type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// What to send: the upstream body and what routing needs.
pub struct Outgoing {
    pub id: u64,
    /// The client's `x-request-id`, or one made for the request.
    pub request_id: Arc<str>,
    pub body: Bytes,
    pub model: String,
    pub key_id: String,
    pub session: Option<String>,
    pub client_headers: HeaderMap,
    /// The account groups the key may use (`None`: any).
    pub scope: Option<Vec<String>>,
    pub endpoint: Endpoint,
}

/// A stream that has started on an account and passed its head.
pub struct Started {
    pub guard: InflightGuard,
    /// Raw bytes already read from the upstream (the stream's head), in order; for a
    /// compaction, its whole JSON body.
    pub head: Vec<Bytes>,
    /// Events parsed from `head`.
    pub events: Vec<UpstreamEvent>,
    pub parser: sse::Parser,
    pub rest: ByteStream,
    /// The upstream's response headers that go back to the client (`upstream::RETURNED`).
    pub headers: HeaderMap,
}

/// What one successful attempt read: the head of the stream (or a compaction's whole body)
/// and the headers for the client.
struct Head {
    chunks: Vec<Bytes>,
    events: Vec<UpstreamEvent>,
    parser: sse::Parser,
    rest: ByteStream,
    headers: HeaderMap,
}

impl Started {
    pub fn account(&self) -> &Arc<PoolAccount> {
        self.guard.account()
    }
}

/// The result of one attempt that did not start a stream.
enum Failure {
    /// Try the next account.
    Next { status: u16, code: Option<String>, message: String },
    /// Retry the same account after refreshing its token.
    Unauthorized { message: String },
    /// The account's route is broken (its proxy is unreachable or refuses it): try the next
    /// account; this one cools down at once.
    Route { message: String },
    /// The request itself is wrong: tell the client.
    Client(GatewayError),
}

/// The best error to show when every candidate failed.
#[derive(Default)]
struct Worst {
    limited: Option<(Option<String>, String)>,
    other: Option<(u16, Option<String>, String)>,
}

impl Gateway {
    /// Finds an account that starts the stream, failing over as needed. `record` learns
    /// how many attempts were made and on which account the last one ran.
    ///
    /// Accounts at their in-flight cap are waited for, up to
    /// `CODEXMANAGER_REQUEST_GATE_WAIT_TIMEOUT_MS` from the request's start, whether or not
    /// other accounts were tried already: a failover never turns into an error while an
    /// untried account will free a slot in time.
    pub async fn dispatch(&self, out: &Outgoing, record: &mut Record) -> Result<Started, GatewayError> {
        let config = self.core.config();
        let deadline = Instant::now() + Duration::from_millis(config.request_gate_wait_timeout_ms);
        let rotation_key = format!("{}|{}", out.key_id, out.model);
        let freed = self.core.slots().freed.clone();
        let mut worst = Worst::default();
        let mut tried: HashSet<String> = HashSet::new();
        let mut first_round = true;
        let mut last_failure = "other";
        loop {
            // Listen for a freed slot before looking, so one freed in between is not missed.
            let notified = freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let pool = self.core.pool();
            let max_inflight = self.core.account_max_inflight();
            let scoped: Vec<Arc<PoolAccount>>;
            let accounts = match &out.scope {
                None => &pool.accounts,
                Some(groups) => {
                    scoped = pool.accounts.iter().filter(|a| groups.contains(&a.row.group_name)).cloned().collect();
                    &scoped
                }
            };
            let mut plan = self.router.plan(
                accounts,
                config.route_strategy,
                &rotation_key,
                out.session.as_deref(),
                super::routing::Limits {
                    max_inflight,
                    quota_guard: config.quota_guard,
                    shared_sessions: self.core.shares_store(),
                },
                now_millis(),
            );
            plan.candidates.retain(|a| !tried.contains(&a.row.id));
            if std::mem::take(&mut first_round) {
                self.trace_plan(out, &plan, &config);
            }
            for account in &plan.candidates {
                let Some(guard) = self.core.slots().try_acquire(account, max_inflight) else {
                    self.trace.line(
                        "CANDIDATE_SKIP",
                        out.id,
                        &out.request_id,
                        format_args!("account={} reason=max_inflight", account.row.id),
                    );
                    continue;
                };
                tried.insert(account.row.id.clone());
                record.attempts += 1;
                record.account_id = Some(account.row.id.clone());
                if record.attempts > 1 {
                    self.metrics.failover(last_failure);
                }
                self.trace.line(
                    "CANDIDATE_START",
                    out.id,
                    &out.request_id,
                    format_args!("account={} attempt={}", account.row.id, record.attempts),
                );
                match self.attempt(out, guard).await {
                    Ok(started) => return Ok(started),
                    Err(Failure::Client(error)) => return Err(error),
                    Err(failure) => last_failure = self.note_failure(out, account, failure, &mut worst),
                }
            }
            let untried_busy = plan.candidates.iter().any(|a| !tried.contains(&a.row.id))
                || plan.skipped.iter().any(|(a, skip)| *skip == Skip::Busy && !tried.contains(&a.row.id));
            let untried_free = !plan.candidates.is_empty() && !untried_busy;
            if untried_free {
                continue;
            }
            if untried_busy && Instant::now() < deadline {
                if plan.candidates.is_empty() {
                    let _ = tokio::time::timeout_at(deadline.into(), notified).await;
                }
                continue;
            }
            let error = self.no_account_error(&plan, &worst, record.attempts, untried_busy);
            return Err(match &out.scope {
                Some(groups) => in_scope(error, groups),
                None => error,
            });
        }
    }

    /// The request's first trace lines: the candidate order and why the others were left out.
    /// The request's first trace line: the candidate order (its first accounts) and how many
    /// accounts were deferred or left out, by reason — one line whatever the pool's size.
    /// With `RUST_LOG` at debug for the gateway, one line per deferred or skipped account too.
    fn trace_plan(&self, out: &Outgoing, plan: &super::routing::Plan<'_>, config: &crate::config::Config) {
        let mut order = String::new();
        for (n, account) in plan.candidates.iter().take(TRACED_ORDER).enumerate() {
            if n > 0 {
                order.push(',');
            }
            order.push_str(&account.row.id);
        }
        if plan.candidates.len() > TRACED_ORDER {
            let _ = write!(order, ",+{}", plan.candidates.len() - TRACED_ORDER);
        }
        self.trace.line(
            "CANDIDATE_POOL",
            out.id,
            &out.request_id,
            format_args!(
                "model={} candidates={} order={order} deferred={} skipped={}",
                out.model,
                plan.candidates.len(),
                counts(&plan.deferred),
                counts(&plan.skipped)
            ),
        );
        if tracing::enabled!(tracing::Level::DEBUG) {
            for (kind, list) in [("CANDIDATE_DEFER", &plan.deferred), ("CANDIDATE_SKIP", &plan.skipped)] {
                for (account, skip) in list {
                    self.trace.line(
                        kind,
                        out.id,
                        &out.request_id,
                        format_args!("account={} reason={skip}", account.row.id),
                    );
                }
            }
        }
        let preview = config.trace_body_preview_max_bytes.min(out.body.len());
        if preview > 0 {
            let text = String::from_utf8_lossy(&out.body[..preview]);
            self.trace.line(
                "BODY_PREVIEW",
                out.id,
                &out.request_id,
                format_args!("bytes={} preview={text:?}", out.body.len()),
            );
        }
    }

    /// Records a failed attempt; returns its reason as a metric label.
    fn note_failure(&self, out: &Outgoing, account: &PoolAccount, failure: Failure, worst: &mut Worst) -> &'static str {
        let (status, code, message) = match failure {
            Failure::Next { status, code, message } => (status, code, message),
            Failure::Unauthorized { message } => (401, Some("unauthorized".to_string()), message),
            Failure::Route { message } => (0, Some("proxy_unreachable".to_string()), message),
            Failure::Client(_) => return "other",
        };
        let label = super::metrics::reason_label(status, code.as_deref());
        self.trace.line(
            "CANDIDATE_FAIL",
            out.id,
            &out.request_id,
            format_args!("account={} status={status} code={}", account.row.id, code.as_deref().unwrap_or("-")),
        );
        if status == 429 {
            worst.limited = Some((code, message));
        } else {
            worst.other = Some((status, code, message));
        }
        label
    }

    /// One account, with at most one token refresh on 401.
    async fn attempt(&self, out: &Outgoing, guard: InflightGuard) -> Result<Started, Failure> {
        let account = guard.account().clone();
        let mut tokens = account.tokens().ok_or(Failure::Next {
            status: 401,
            code: Some("no_token".into()),
            message: "the account has no token".into(),
        })?;
        if account.row.access_expires_at.is_some_and(|exp| exp * 1000 <= now_millis() + 60_000)
            && let Ok(fresh) = self.core.refresh_account(&account.row.id, Some(&tokens)).await
        {
            tokens = fresh;
        }
        let mut refreshed = false;
        loop {
            match self.send(out, &account, &tokens).await {
                Err(Failure::Unauthorized { message }) if !refreshed => {
                    refreshed = true;
                    self.metrics.refresh();
                    match self.core.refresh_account(&account.row.id, Some(&tokens)).await {
                        Ok(fresh) => tokens = fresh,
                        Err(err) => {
                            return Err(Failure::Next {
                                status: 401,
                                code: Some("token_refresh_failed".into()),
                                message: format!("{message}; {err}"),
                            });
                        }
                    }
                }
                Err(failure) => {
                    match &failure {
                        Failure::Next { status, .. } if *status == 0 || *status >= 500 => {
                            self.back_off_failing(&account, &failure)
                        }
                        Failure::Route { .. } => self.back_off_failing(&account, &failure),
                        _ => {}
                    }
                    return Err(failure);
                }
                Ok(Head { chunks, events, parser, rest, headers }) => {
                    account.note_success();
                    return Ok(Started { guard, head: chunks, events, parser, rest, headers });
                }
            }
        }
    }

    /// Sends to the primary upstream, and to the fallback when one is set and the primary
    /// could not be reached or answered 5xx.
    async fn send(
        &self,
        out: &Outgoing,
        account: &Arc<PoolAccount>,
        tokens: &Arc<crate::auth::tokens::Tokens>,
    ) -> Result<Head, Failure> {
        let upstream = self.upstream();
        let primary = self.send_to(&upstream.base, out, account, tokens).await;
        match (&primary, &upstream.fallback) {
            (Err(Failure::Next { status, .. }), Some(fallback)) if *status == 0 || *status >= 500 => {
                self.send_to(fallback, out, account, tokens).await
            }
            _ => primary,
        }
    }

    async fn send_to(
        &self,
        base: &str,
        out: &Outgoing,
        account: &Arc<PoolAccount>,
        tokens: &Arc<crate::auth::tokens::Tokens>,
    ) -> Result<Head, Failure> {
        let upstream = self.upstream();
        let started = Instant::now();
        let (http, route) = self
            .core
            .client_for(account)
            .map_err(|err| Failure::Route { message: format!("the account's proxy cannot be used: {err}") })?;
        let request = upstream.request(&http, base, account, tokens, out);
        let response = match tokio::time::timeout(self.idle_timeout(), request.send()).await {
            Err(_) => {
                return Err(Failure::Next {
                    status: 0,
                    code: Some("timeout".into()),
                    message: format!("the upstream did not answer within {} s", self.idle_timeout().as_secs()),
                });
            }
            Ok(Err(err)) => {
                if let Some(message) = crate::egress::proxy_failure(&route, &err) {
                    return Err(Failure::Route { message });
                }
                let kind =
                    if err.is_connect() { "cannot connect to the upstream" } else { "the upstream request failed" };
                return Err(Failure::Next {
                    status: 0,
                    code: Some("connect_error".into()),
                    message: format!("{kind}: {err}"),
                });
            }
            Ok(Ok(response)) => response,
        };
        self.metrics.observe_upstream(started.elapsed());
        if let Some(usage) =
            crate::usage::headers::from_headers(&account.row.id, response.headers(), now_millis() / 1000)
        {
            self.core.record_usage(usage);
        }
        let status = response.status();
        if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED && route.is_proxy() {
            let message =
                format!("proxy unreachable ({}): the proxy refused the user name or password (407)", route.describe());
            return Err(Failure::Route { message });
        }
        if status == StatusCode::OK && out.endpoint == Endpoint::Compact {
            return read_compaction(response).await;
        }
        if status == StatusCode::OK {
            if let Some(failure) = not_an_event_stream(response.headers()) {
                let body = read_capped(response, ERROR_BODY_LIMIT).await;
                return Err(failure.with_preview(&body));
            }
            return self.read_head(account, response).await;
        }
        let body = read_capped(response, ERROR_BODY_LIMIT).await;
        Err(self.classify_status(account, status, &body))
    }

    /// Reads the stream until its first real output (or its failure).
    async fn read_head(&self, account: &Arc<PoolAccount>, response: reqwest::Response) -> Result<Head, Failure> {
        let content_type = header_text(response.headers(), "content-type");
        let headers = super::upstream::returned(response.headers());
        let mut rest: ByteStream = Box::pin(response.bytes_stream());
        let mut parser = sse::Parser::new();
        let mut head = Vec::new();
        let mut events = Vec::new();
        loop {
            let chunk = match tokio::time::timeout(self.idle_timeout(), rest.next()).await {
                Err(_) => {
                    return Err(Failure::Next {
                        status: 0,
                        code: Some("idle_timeout".into()),
                        message: format!(
                            "the upstream accepted the request but sent no event for {} s",
                            self.idle_timeout().as_secs()
                        ),
                    });
                }
                Ok(None) => {
                    let tail = parser.finish().and_then(|raw| UpstreamEvent::parse(&raw.data));
                    events.extend(tail);
                    return match self.head_verdict(account, &events) {
                        Some(failure) => Err(failure),
                        None => Err(Failure::Next {
                            status: 502,
                            code: Some("stream_ended".into()),
                            message: ended_early(&content_type, &head, &events),
                        }),
                    };
                }
                Ok(Some(Err(err))) => {
                    return Err(Failure::Next {
                        status: 0,
                        code: Some("stream_error".into()),
                        message: format!("the upstream stream broke: {err}"),
                    });
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            let new_events: Vec<UpstreamEvent> =
                parser.feed(&chunk).into_iter().filter_map(|raw| UpstreamEvent::parse(&raw.data)).collect();
            head.push(chunk);
            if parser.overflowed() {
                return Err(event_too_large());
            }
            let started_output =
                new_events.iter().any(|e| !matches!(e.kind.as_str(), "response.created" | "response.in_progress"));
            events.extend(new_events);
            if let Some(failure) = self.head_verdict(account, &events) {
                return Err(failure);
            }
            if started_output {
                return Ok(Head { chunks: head, events, parser, rest, headers });
            }
        }
    }

    /// A failure at the head of a 200 stream, if there is one.
    fn head_verdict(&self, account: &Arc<PoolAccount>, events: &[UpstreamEvent]) -> Option<Failure> {
        let event = events.iter().find(|e| matches!(e.kind.as_str(), "response.failed" | "error"))?;
        let Outcome::Failed { code, message } = failure_of(&event.data) else { return None };
        let code_text = code.clone().unwrap_or_default();
        if matches!(
            code_text.as_str(),
            "rate_limit_exceeded" | "usage_limit_reached" | "insufficient_quota" | "usage_not_included"
        ) {
            let until = retry_delay_ms(&message).map(|delay| now_millis() + delay);
            self.cool_down(account, until, &format!("rate limited ({code_text})"), "rate_limited");
            return Some(Failure::Next { status: 429, code, message });
        }
        if matches!(
            code_text.as_str(),
            "context_length_exceeded"
                | "invalid_prompt"
                | "invalid_request_error"
                | "invalid_encrypted_content"
                | "cyber_policy"
        ) || code_text.starts_with("invalid_")
        {
            return Some(Failure::Client(GatewayError {
                param: None,
                ..GatewayError::new(StatusCode::BAD_REQUEST, &code_text, message)
            }));
        }
        Some(Failure::Next { status: 502, code, message })
    }

    fn classify_status(&self, account: &Arc<PoolAccount>, status: StatusCode, body: &[u8]) -> Failure {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let message = upstream_message(&json, body);
        let code = json
            .pointer("/error/type")
            .or_else(|| json.pointer("/error/code"))
            .and_then(Value::as_str)
            .map(str::to_string);
        match status.as_u16() {
            401 => Failure::Unauthorized { message },
            429 => {
                let now = now_millis();
                let until = json
                    .pointer("/error/resets_at")
                    .and_then(Value::as_i64)
                    .map(|at| at * 1000)
                    .or_else(|| {
                        json.pointer("/error/resets_in_seconds").and_then(Value::as_i64).map(|s| now + s * 1000)
                    })
                    .or_else(|| retry_delay_ms(&message).map(|d| now + d));
                let reason = format!("rate limited ({})", code.as_deref().unwrap_or("429"));
                let until = self.cool_down(account, until, &reason, "rate_limited");
                self.settle_exhausted_resets(account, until / 1000);
                Failure::Next { status: 429, code: code.or(Some("rate_limited".into())), message }
            }
            403 => {
                self.cool_down(account, Some(now_millis() + 5 * 60_000), "forbidden (403)", "forbidden");
                Failure::Next { status: 403, code, message }
            }
            s if s >= 500 => Failure::Next { status: s, code, message },
            s => Failure::Client(GatewayError {
                code: code.or(Some("upstream_rejected".into())),
                param: json.pointer("/error/param").and_then(Value::as_str).map(str::to_string),
                ..GatewayError::new(status, "", format!("the upstream rejected the request ({s}): {message}"))
            }),
        }
    }

    /// Cools an account down until `until_ms`, else for an escalating backoff (30 s × 2ⁿ,
    /// at most 30 minutes).
    fn cool_down(&self, account: &Arc<PoolAccount>, until_ms: Option<i64>, reason: &str, kind: &'static str) -> i64 {
        let strikes = account.strikes().min(6);
        let until = until_ms.unwrap_or_else(|| now_millis() + 30_000 * (1i64 << strikes));
        account.cool_down_until(until, reason);
        self.metrics.cooldown(kind);
        self.core.persist_cooldown(&account.row.id, until / 1000, reason);
        until
    }

    /// Server errors and unreachable upstreams in a row take an account out briefly, so a
    /// broken account stops costing every request a failed attempt (or a connect timeout):
    /// from the second failure on, 10 s doubling up to 5 minutes. A success starts over.
    fn back_off_failing(&self, account: &Arc<PoolAccount>, failure: &Failure) {
        let failures = account.note_failure();
        // A broken route fails every request of the account: it cools down at once.
        let first = if matches!(failure, Failure::Route { .. }) { 1 } else { 2 };
        if failures < first {
            return;
        }
        let seconds = (10i64 << (failures - first).min(5)).min(300);
        let (reason, kind) = match failure {
            Failure::Route { message } => (message.clone(), "proxy_unreachable"),
            Failure::Next { status: 0, message, code } => {
                (message.clone(), super::metrics::reason_label(0, code.as_deref()))
            }
            Failure::Next { status, .. } => {
                (format!("upstream answered {status} {failures} times in a row"), "server_error")
            }
            _ => return,
        };
        let until = now_millis() + seconds * 1000;
        account.cool_down_until(until, &reason);
        self.metrics.cooldown(kind);
        self.core.persist_cooldown(&account.row.id, until / 1000, &reason);
    }

    /// A 429's headers often say a window is at 100 % without saying when it resets; the
    /// cooldown's end is the best known reset, so the account comes back without a usage poll.
    fn settle_exhausted_resets(&self, account: &PoolAccount, until_secs: i64) {
        let Some(mut usage) = account.usage().map(|u| (*u).clone()) else { return };
        let mut changed = false;
        for window in [&mut usage.primary, &mut usage.secondary].into_iter().flatten() {
            if window.used_percent >= 100.0 && window.resets_at.is_none() {
                window.resets_at = Some(until_secs);
                changed = true;
            }
        }
        if changed {
            self.core.record_usage(usage);
        }
    }

    fn no_account_error(
        &self,
        plan: &super::routing::Plan<'_>,
        worst: &Worst,
        attempts: u32,
        busy_remaining: bool,
    ) -> GatewayError {
        if busy_remaining {
            let tried = match (&worst.limited, &worst.other) {
                (_, Some((_, _, message))) | (Some((_, message)), None) => {
                    format!(" ({attempts} account(s) failed first; last error: {message})")
                }
                (None, None) => String::new(),
            };
            return GatewayError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "accounts_busy",
                format!(
                    "every usable account stayed at its in-flight limit (CODEXMANAGER_ACCOUNT_MAX_INFLIGHT) for \
                     CODEXMANAGER_REQUEST_GATE_WAIT_TIMEOUT_MS{tried}; retry shortly"
                ),
            )
            .with_retry_after(1);
        }
        if let Some((code, message)) = &worst.limited {
            let next = plan.earliest_cooldown_end().or_else(|| self.earliest_cooldown());
            let retry = next.map(|at| ((at - now_millis()) / 1000).max(1) as u64).unwrap_or(60);
            return GatewayError::new(
                StatusCode::TOO_MANY_REQUESTS,
                code.as_deref().unwrap_or("usage_limit_reached"),
                format!(
                    "every account hit its usage limit (last: {message}); the next one is free in about {}",
                    human(retry)
                ),
            )
            .with_retry_after(retry);
        }
        if let Some((_, code, message)) = &worst.other {
            return GatewayError::new(
                StatusCode::BAD_GATEWAY,
                code.as_deref().unwrap_or("upstream_error"),
                format!("the upstream failed on {attempts} account(s); last error: {message}"),
            );
        }
        if let Some(until) = plan.earliest_cooldown_end() {
            let retry = ((until - now_millis()) / 1000).max(1) as u64;
            return GatewayError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "usage_limit_reached",
                format!(
                    "every account is cooling down or out of quota; the next one is free in about {}",
                    human(retry)
                ),
            )
            .with_retry_after(retry);
        }
        let mut reasons: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for (_, skip) in &plan.skipped {
            let reason = match skip {
                Skip::NotActive(status) => status.to_string(),
                Skip::NoToken => "no token".into(),
                Skip::Exhausted { reason, .. } => reason.clone(),
                Skip::CoolingDown { .. } => "cooling down".into(),
                Skip::Busy => "busy".into(),
                Skip::QuotaGuard { .. } => "past the quota guard".into(),
            };
            *reasons.entry(reason).or_default() += 1;
        }
        let detail = if reasons.is_empty() {
            "the pool has no accounts; add one in the app or with `codexmanager account import`".to_string()
        } else {
            reasons.iter().map(|(reason, n)| format!("{n} {reason}")).collect::<Vec<_>>().join(", ")
        };
        GatewayError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_available_account",
            format!("no account can serve this request: {detail}"),
        )
        .with_retry_after(30)
    }

    /// How long the upstream may stay silent (`CODEXMANAGER_UPSTREAM_IDLE_TIMEOUT_SECS`).
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.core.config().upstream_idle_timeout_secs.max(1))
    }

    fn earliest_cooldown(&self) -> Option<i64> {
        let now = now_millis();
        self.core.pool().accounts.iter().filter_map(|a| a.cooling_until(now)).min()
    }
}

/// Candidates named in a request's `CANDIDATE_POOL` trace line; the rest are counted.
const TRACED_ORDER: usize = 8;

/// `kind:count,…` of skipped accounts, or `-` for none.
fn counts(skipped: &[(&Arc<PoolAccount>, Skip)]) -> String {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for (_, skip) in skipped {
        match counts.iter_mut().find(|(kind, _)| *kind == skip.kind()) {
            Some((_, n)) => *n += 1,
            None => counts.push((skip.kind(), 1)),
        }
    }
    if counts.is_empty() {
        return "-".into();
    }
    counts.iter().map(|(kind, n)| format!("{kind}:{n}")).collect::<Vec<_>>().join(",")
}

/// Says that the error concerns only the accounts in the key's groups.
fn in_scope(mut error: GatewayError, groups: &[String]) -> GatewayError {
    let groups = groups.join(", ");
    error.message = match error.message.strip_prefix("no account can serve this request: the pool has no accounts") {
        Some(_) => {
            format!("no account is in this key's groups ({groups}); add accounts to them or widen the key's groups")
        }
        None => format!("{} (only accounts in this key's groups: {groups})", error.message),
    };
    error
}

/// The most of an upstream's error body that is read (for its message).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Reads at most `limit` bytes of a body, so a huge error page cannot fill memory.
/// The largest compaction answer read (its `encrypted_content` is tens of KiB in practice).
const COMPACTION_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// A compaction's 200: its whole JSON body, which goes to the client untouched. A body that
/// is not JSON with an `output` array (a web page, a cut connection) fails over like a
/// broken stream head.
async fn read_compaction(response: reqwest::Response) -> Result<Head, Failure> {
    let headers = super::upstream::returned(response.headers());
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    loop {
        match tokio::time::timeout(Duration::from_secs(300), stream.next()).await {
            Ok(None) => break,
            Ok(Some(Ok(chunk))) if body.len() + chunk.len() <= COMPACTION_BODY_LIMIT => body.extend_from_slice(&chunk),
            Ok(Some(Ok(_))) => {
                let message = format!("the compaction answer is larger than {} MiB", COMPACTION_BODY_LIMIT >> 20);
                return Err(Failure::Next { status: 502, code: Some("compaction_too_large".into()), message });
            }
            Ok(Some(Err(err))) => {
                let message = format!("the upstream compaction answer broke: {err}");
                return Err(Failure::Next { status: 0, code: Some("stream_error".into()), message });
            }
            Err(_) => {
                let message = "the upstream compaction answer stalled for 300 s".to_string();
                return Err(Failure::Next { status: 0, code: Some("idle_timeout".into()), message });
            }
        }
    }
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    if !parsed.as_ref().is_some_and(|v| v.get("output").is_some_and(Value::is_array)) {
        let preview = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        let message = format!("the upstream's compaction answer is not JSON with an `output` list: {preview:?}");
        return Err(Failure::Next { status: 502, code: Some("bad_compaction".into()), message });
    }
    let rest: ByteStream = Box::pin(futures_util::stream::empty());
    Ok(Head { chunks: vec![Bytes::from(body)], events: Vec::new(), parser: sse::Parser::new(), rest, headers })
}

async fn read_capped(response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while body.len() < limit {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(chunk))) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            _ => break,
        }
    }
    body
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase()
}

/// A 200 that is plainly not an event stream: a web page (a captcha, a login wall, a proxy's
/// error page) or a body in an encoding this gateway does not decode.
fn not_an_event_stream(headers: &HeaderMap) -> Option<Failure> {
    let content_type = header_text(headers, "content-type");
    if content_type.starts_with("text/html") {
        return Some(Failure::Next {
            status: 502,
            code: Some("upstream_html".into()),
            message: "the upstream answered with a web page (text/html) instead of an event stream — a captcha, \
                      a sign-in wall or a proxy's error page"
                .into(),
        });
    }
    let encoding = header_text(headers, "content-encoding");
    if !matches!(encoding.as_str(), "" | "identity" | "gzip" | "x-gzip" | "deflate") {
        return Some(Failure::Next {
            status: 502,
            code: Some("upstream_encoding".into()),
            message: format!("the upstream sent its stream {encoding}-encoded, which the gateway does not decode"),
        });
    }
    None
}

impl Failure {
    /// Adds what a web page says about itself (its title, else its first words).
    fn with_preview(self, body: &[u8]) -> Failure {
        let Failure::Next { status, code, message } = self else { return self };
        let text = String::from_utf8_lossy(body);
        let title = text
            .find("<title>")
            .and_then(|start| text[start + 7..].find("</title>").map(|end| &text[start + 7..start + 7 + end]));
        let preview: String = title.unwrap_or(&text).split_whitespace().collect::<Vec<_>>().join(" ");
        let preview: String = preview.chars().take(120).collect();
        let message = if preview.is_empty() { message } else { format!("{message}: {preview:?}") };
        Failure::Next { status, code, message }
    }
}

/// Why a 200 stream ended without an answer, in words that point at the cause.
fn ended_early(content_type: &str, head: &[Bytes], events: &[UpstreamEvent]) -> String {
    let bytes: usize = head.iter().map(Bytes::len).sum();
    if bytes == 0 {
        return "the upstream answered 200 with an empty body".into();
    }
    if events.is_empty() && !content_type.starts_with("text/event-stream") {
        let first: Vec<u8> = head.iter().flat_map(|b| b.iter().copied()).take(120).collect();
        return format!(
            "the upstream answered 200 with {bytes} bytes of {} instead of an event stream: {:?}",
            if content_type.is_empty() { "an unnamed type" } else { content_type },
            String::from_utf8_lossy(&first)
        );
    }
    "the upstream closed the stream before answering".into()
}

fn event_too_large() -> Failure {
    Failure::Next {
        status: 502,
        code: Some("event_too_large".into()),
        message: format!("the upstream sent an event larger than {} MiB", sse::MAX_EVENT_BYTES >> 20),
    }
}

/// "try again in 20s" / "in 350ms" → milliseconds.
fn retry_delay_ms(message: &str) -> Option<i64> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("try again in ")? + "try again in ".len()..];
    let number: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let value: f64 = number.parse().ok()?;
    let unit = &rest[number.len()..];
    Some(if unit.starts_with("ms") { value as i64 } else { (value * 1000.0) as i64 })
}

fn upstream_message(json: &Value, body: &[u8]) -> String {
    json.pointer("/error/message")
        .or_else(|| json.get("detail"))
        .or_else(|| json.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_string())
}

fn human(seconds: u64) -> String {
    match seconds {
        s if s < 90 => format!("{s} s"),
        s if s < 5400 => format!("{} min", s.div_ceil(60)),
        s => format!("{:.1} h", s as f64 / 3600.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_hints_are_read_from_messages() {
        assert_eq!(retry_delay_ms("Rate limit reached. Please try again in 20s."), Some(20_000));
        assert_eq!(retry_delay_ms("try again in 350ms"), Some(350));
        assert_eq!(retry_delay_ms("try again in 1.5s"), Some(1_500));
        assert_eq!(retry_delay_ms("nothing"), None);
    }
}
