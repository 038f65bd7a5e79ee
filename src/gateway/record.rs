//! One client request's bookkeeping: timing, what served it, its tokens, and the log row,
//! trace line and metrics written when it ends (off the request path: the log row goes to
//! the core's writer queue).

use std::sync::Arc;
use std::time::Instant;

use super::Gateway;
use super::protocol::responses::Usage;
use crate::core::LogRow;
use crate::core::now_millis;

pub struct Record {
    pub id: u64,
    /// The client's `x-request-id`, or one made for the request; returned on the response.
    pub request_id: Arc<str>,
    pub route: &'static str,
    pub path: String,
    pub started: Instant,
    pub started_ms: i64,
    pub key_id: Option<String>,
    pub model: Option<String>,
    pub reasoning_effort: Option<String>,
    pub session: Option<String>,
    pub account_id: Option<String>,
    /// What served the request when it was not a pooled account (an Azure endpoint).
    pub upstream: Option<String>,
    pub attempts: u32,
    pub first_byte_ms: Option<i64>,
    pub usage: Option<Usage>,
    /// The admission slot, held until the request ends.
    pub permit: Option<super::pipeline::Admitted>,
    /// The key's place among its requests in flight, once its policy admitted the request:
    /// such a request counts against the key's quota.
    pub quota: Option<crate::core::quota::QuotaGuard>,
}

impl Record {
    pub fn new(id: u64, request_id: Arc<str>, route: &'static str, path: &str) -> Record {
        Record {
            id,
            request_id,
            route,
            path: path.to_string(),
            started: Instant::now(),
            started_ms: now_millis(),
            key_id: None,
            model: None,
            reasoning_effort: None,
            session: None,
            account_id: None,
            upstream: None,
            attempts: 0,
            first_byte_ms: None,
            usage: None,
            permit: None,
            quota: None,
        }
    }

    /// Marks the moment the first byte goes to the client.
    pub fn first_byte(&mut self, gateway: &Gateway) {
        if self.first_byte_ms.is_none() {
            let elapsed = self.started.elapsed();
            self.first_byte_ms = Some(elapsed.as_millis() as i64);
            gateway.metrics.observe_first_byte(elapsed);
        }
    }

    /// Writes the log row, the trace line and the metrics for the finished request.
    pub fn finish(self, gateway: &Arc<Gateway>, status: u16, error: Option<String>) {
        let duration_ms = self.started.elapsed().as_millis() as i64;
        gateway.metrics.count_request(self.route, status, self.model.as_deref(), self.key_id.as_deref());
        if self.permit.is_some() {
            gateway.metrics.inflight(-1);
        }
        gateway.trace.line(
            "REQUEST_FINAL",
            self.id,
            &self.request_id,
            format_args!(
                "account={} status={status} attempts={} duration_ms={duration_ms}{}",
                self.account_id.as_deref().or(self.upstream.as_deref()).unwrap_or("-"),
                self.attempts,
                error.as_deref().map(|e| format!(" error={e:?}")).unwrap_or_default()
            ),
        );
        if status < 400
            && let (Some(session), Some(account)) = (&self.session, &self.account_id)
        {
            gateway.router.remember(session, account);
        }
        let usage = self.usage;
        if let Some(usage) = usage {
            let kinds = [
                ("input", usage.input),
                ("cached", usage.cached),
                ("output", usage.output),
                ("reasoning", usage.reasoning),
            ];
            gateway.metrics.count_tokens(self.model.as_deref(), self.key_id.as_deref(), kinds);
        }
        let counted = self.quota.is_some();
        if counted && let (Some(key), Some(usage)) = (&self.key_id, usage) {
            let tokens = (usage.input + usage.output).max(0) as u64;
            gateway.core.quotas().add_tokens(key, tokens, now_millis());
        }
        gateway.core.logs().push(LogRow {
            id: 0,
            ts: self.started_ms,
            key_id: self.key_id,
            account_id: self.account_id,
            upstream: self.upstream,
            method: "POST".into(),
            path: self.path,
            model: self.model,
            reasoning_effort: self.reasoning_effort,
            status,
            duration_ms,
            first_byte_ms: self.first_byte_ms,
            input_tokens: usage.map(|u| u.input),
            cached_tokens: usage.map(|u| u.cached),
            output_tokens: usage.map(|u| u.output),
            reasoning_tokens: usage.map(|u| u.reasoning),
            attempts: i64::from(self.attempts),
            error,
            counted,
            request_id: Some(self.request_id.to_string()),
            instance: None,
        });
    }
}
