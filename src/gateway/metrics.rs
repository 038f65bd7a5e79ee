//! `GET /metrics`: the gateway as Prometheus sees it (OpenMetrics text) — requests and tokens
//! by route, status, model and key; failovers and cooldowns by reason; requests in flight; the
//! pool's accounts by state; token refreshes; upstream latency and time to first byte (buckets
//! up to 300 s: reasoning models think for minutes); the log queue; build info.
//!
//! `prometheus-client` keeps the series: each label set's counter is found under a read lock
//! and bumped atomically, so counting costs a request no more than a hash lookup.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// Seconds: from 10 ms to 5 minutes.
const LATENCY_BUCKETS: [f64; 14] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];
/// Distinct model names labelled at most; others are counted as `other` (clients choose model
/// names, so they must not grow the series without bound).
const MAX_MODELS: usize = 64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
    model: String,
    key: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: String,
    key: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// How the pool stands, for its gauges.
#[derive(Debug, Default, Clone, Copy)]
pub struct PoolCounts {
    pub available: i64,
    pub cooling_down: i64,
    pub unavailable: i64,
}

/// The log queue's state, for its series.
#[derive(Debug, Default, Clone, Copy)]
pub struct QueueCounts {
    pub depth: u64,
    pub dropped: u64,
    pub db_busy: u64,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    tokens: Family<TokenLabels, Counter>,
    failovers: Family<ReasonLabels, Counter>,
    cooldowns: Family<ReasonLabels, Counter>,
    refreshes: Counter,
    inflight: Gauge,
    accounts: Family<StateLabels, Gauge>,
    log_queue: Gauge,
    log_dropped: Counter,
    db_busy: Counter,
    upstream_latency: Histogram,
    first_byte: Histogram,
    models: Mutex<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let metrics = Metrics {
            requests: Family::default(),
            tokens: Family::default(),
            failovers: Family::default(),
            cooldowns: Family::default(),
            refreshes: Counter::default(),
            inflight: Gauge::default(),
            accounts: Family::default(),
            log_queue: Gauge::default(),
            log_dropped: Counter::default(),
            db_busy: Counter::default(),
            upstream_latency: Histogram::new(LATENCY_BUCKETS),
            first_byte: Histogram::new(LATENCY_BUCKETS),
            models: Mutex::default(),
            registry: Registry::default(),
        };
        let version = env!("CARGO_PKG_VERSION").to_string();
        let commit = env!("CODEXMANAGER_GIT_COMMIT").to_string();
        registry.register(
            "codexmanager_build",
            "The running build",
            Info::new(vec![("version".to_string(), version), ("commit".to_string(), commit)]),
        );
        registry.register(
            "codexmanager_requests",
            "Client requests by route, status, model and key id",
            metrics.requests.clone(),
        );
        registry.register(
            "codexmanager_tokens",
            "Tokens the upstream reported, by model, key id and kind (input, cached, output, reasoning)",
            metrics.tokens.clone(),
        );
        registry.register(
            "codexmanager_failovers",
            "Requests moved to another account before the first byte, by the reason the last one failed",
            metrics.failovers.clone(),
        );
        registry.register("codexmanager_cooldowns", "Accounts put into cooldown, by reason", metrics.cooldowns.clone());
        registry.register(
            "codexmanager_token_refreshes",
            "Token refreshes triggered by the gateway",
            metrics.refreshes.clone(),
        );
        registry.register("codexmanager_inflight_requests", "Client requests being served", metrics.inflight.clone());
        registry.register(
            "codexmanager_accounts",
            "Accounts by state: available (routable now), cooling_down, unavailable (disabled, dead token, out of quota)",
            metrics.accounts.clone(),
        );
        registry.register(
            "codexmanager_log_queue_depth",
            "Request-log rows waiting to be written",
            metrics.log_queue.clone(),
        );
        registry.register(
            "codexmanager_log_rows_dropped",
            "Request-log rows given up: the queue was full or the database kept refusing them",
            metrics.log_dropped.clone(),
        );
        registry.register(
            "codexmanager_db_busy",
            "Request-log writes that failed because SQLite was busy",
            metrics.db_busy.clone(),
        );
        registry.register(
            "codexmanager_upstream_attempt_seconds",
            "Time from sending an upstream attempt to its response headers",
            metrics.upstream_latency.clone(),
        );
        registry.register(
            "codexmanager_time_to_first_byte_seconds",
            "Time from a client request to the first byte sent back",
            metrics.first_byte.clone(),
        );
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
    /// A finished client request.
    pub fn count_request(&self, route: &'static str, status: u16, model: Option<&str>, key: Option<&str>) {
        let labels = RequestLabels {
            route: route.to_string(),
            status,
            model: self.model_label(model),
            key: key.unwrap_or("-").to_string(),
        };
        self.requests.get_or_create(&labels).inc();
    }

    /// The tokens of a finished request.
    pub fn count_tokens(&self, model: Option<&str>, key: Option<&str>, kinds: [(&'static str, i64); 4]) {
        let model = self.model_label(model);
        let key = key.unwrap_or("-").to_string();
        for (kind, count) in kinds.into_iter().filter(|(_, count)| *count > 0) {
            let labels = TokenLabels { model: model.clone(), key: key.clone(), kind };
            self.tokens.get_or_create(&labels).inc_by(count as u64);
        }
    }

    pub fn failover(&self, reason: &'static str) {
        self.failovers.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub fn cooldown(&self, reason: &'static str) {
        self.cooldowns.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub fn refresh(&self) {
        self.refreshes.inc();
    }

    /// A request started (+1) or ended (-1).
    pub fn inflight(&self, delta: i64) {
        self.inflight.inc_by(delta);
    }

    pub fn observe_upstream(&self, elapsed: Duration) {
        self.upstream_latency.observe(elapsed.as_secs_f64());
    }

    pub fn observe_first_byte(&self, elapsed: Duration) {
        self.first_byte.observe(elapsed.as_secs_f64());
    }

    /// Renders everything, with the pool's and the log queue's state as of now.
    pub fn render(&self, pool: PoolCounts, queue: QueueCounts) -> String {
        for (state, count) in
            [("available", pool.available), ("cooling_down", pool.cooling_down), ("unavailable", pool.unavailable)]
        {
            self.accounts.get_or_create(&StateLabels { state }).set(count);
        }
        self.log_queue.set(i64::try_from(queue.depth).unwrap_or(i64::MAX));
        catch_up(&self.log_dropped, queue.dropped);
        catch_up(&self.db_busy, queue.db_busy);
        let mut out = String::with_capacity(8192);
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("rendering the metrics failed: {err}");
        }
        out
    }

    /// The model as a label: one of the first `MAX_MODELS` names seen, else `other`.
    fn model_label(&self, model: Option<&str>) -> String {
        let Some(model) = model else { return "-".into() };
        let mut seen = self.models.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(model) || (seen.len() < MAX_MODELS && seen.insert(model.to_string())) {
            model.to_string()
        } else {
            "other".into()
        }
    }
}

/// Brings a counter up to a total kept elsewhere.
fn catch_up(counter: &Counter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

/// A failure's reason as a metric label.
pub fn reason_label(status: u16, code: Option<&str>) -> &'static str {
    match (status, code) {
        (429, _) => "rate_limited",
        (401, _) => "unauthorized",
        (403, _) => "forbidden",
        (_, Some("proxy_unreachable")) => "proxy_unreachable",
        (_, Some("timeout" | "idle_timeout")) => "timeout",
        (_, Some("connect_error")) => "unreachable",
        (_, Some("upstream_html" | "upstream_encoding" | "stream_ended" | "event_too_large" | "stream_error")) => {
            "bad_stream"
        }
        (s, _) if s >= 500 => "server_error",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_openmetrics_text_with_labels() {
        let metrics = Metrics::default();
        metrics.count_request("/v1/responses", 200, Some("gpt-5.5"), Some("key_1"));
        metrics.count_request("/v1/responses", 200, Some("gpt-5.5"), Some("key_1"));
        metrics.count_tokens(
            Some("gpt-5.5"),
            Some("key_1"),
            [("input", 120), ("cached", 0), ("output", 30), ("reasoning", 0)],
        );
        metrics.failover("rate_limited");
        metrics.observe_first_byte(Duration::from_secs(200));
        let pool = PoolCounts { available: 3, cooling_down: 1, unavailable: 2 };
        let text = metrics.render(pool, QueueCounts { depth: 3, dropped: 5, db_busy: 0 });
        assert!(
            text.contains(
                "codexmanager_requests_total{route=\"/v1/responses\",status=\"200\",model=\"gpt-5.5\",key=\"key_1\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("codexmanager_tokens_total{model=\"gpt-5.5\",key=\"key_1\",kind=\"input\"} 120"));
        assert!(text.contains("codexmanager_failovers_total{reason=\"rate_limited\"} 1"));
        assert!(text.contains("codexmanager_time_to_first_byte_seconds_bucket{le=\"300.0\"} 1"), "{text}");
        assert!(text.contains("codexmanager_accounts{state=\"cooling_down\"} 1"));
        assert!(text.contains("codexmanager_log_rows_dropped_total 5"));
        assert!(text.contains("codexmanager_build_info{version="), "{text}");
    }

    #[test]
    fn client_chosen_model_names_cannot_grow_the_series_without_bound() {
        let metrics = Metrics::default();
        for n in 0..(MAX_MODELS + 10) {
            metrics.count_request("/v1/responses", 200, Some(&format!("model-{n}")), None);
        }
        let text = metrics.render(PoolCounts::default(), QueueCounts::default());
        assert!(text.contains("model=\"other\",key=\"-\"} 10"), "{text}");
    }
}
