//! `GET /metrics`: Prometheus text for the gateway — requests by route and status,
//! failovers, cooldowns, in-flight requests, upstream latency and time to first byte
//! histograms, the log queue's depth and database busy errors.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Bucket bounds in seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    total: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(value.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let total = self.total.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {total}");
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    pub failovers: AtomicU64,
    pub cooldowns: AtomicU64,
    pub refreshes: AtomicU64,
    pub inflight: AtomicI64,
    pub upstream_latency: Histogram,
    pub first_byte: Histogram,
}

impl Metrics {
    pub fn count_request(&self, route: &'static str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests.entry((route, status)).or_default() += 1;
    }

    /// Renders everything, with the log queue's depth and the database's busy count.
    pub fn render(&self, log_queue_depth: u64, log_rows_dropped: u64, db_busy: u64) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP codexmanager_requests_total Client requests by route and status.\n");
        out.push_str("# TYPE codexmanager_requests_total counter\n");
        for ((route, status), count) in self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "codexmanager_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}");
        }
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        counter(
            &mut out,
            "codexmanager_failovers_total",
            "Requests moved to another account before the first byte.",
            self.failovers.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "codexmanager_cooldowns_total",
            "Accounts put into cooldown.",
            self.cooldowns.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "codexmanager_token_refreshes_total",
            "Token refreshes triggered by the gateway.",
            self.refreshes.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "codexmanager_inflight_requests",
            "Client requests being served.",
            self.inflight.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "codexmanager_log_queue_depth",
            "Request-log rows waiting to be written.",
            log_queue_depth as i64,
        );
        counter(
            &mut out,
            "codexmanager_log_rows_dropped_total",
            "Request-log rows dropped because the queue was full.",
            log_rows_dropped,
        );
        counter(
            &mut out,
            "codexmanager_db_busy_total",
            "Database writes that failed because SQLite was busy.",
            db_busy,
        );
        self.upstream_latency.render(
            &mut out,
            "codexmanager_upstream_attempt_seconds",
            "Time from sending an upstream attempt to its response headers.",
        );
        self.first_byte.render(
            &mut out,
            "codexmanager_time_to_first_byte_seconds",
            "Time from a client request to the first byte sent back.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.count_request("/v1/responses", 200);
        metrics.count_request("/v1/responses", 200);
        metrics.first_byte.observe(Duration::from_millis(30));
        let text = metrics.render(3, 0, 0);
        assert!(text.contains("codexmanager_requests_total{route=\"/v1/responses\",status=\"200\"} 2"));
        assert!(text.contains("codexmanager_time_to_first_byte_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("codexmanager_log_queue_depth 3"));
    }
}
