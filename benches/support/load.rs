//! The load generator: a fixed number of workers on one HTTP/1.1 client, each sending the
//! same request back to back to a 127.0.0.1 target for a fixed time, recording latency and
//! time to first byte; and the many-streams driver, which holds a batch of slow streams open
//! at once. Both stop by themselves: no request is started after the deadline, and every
//! request has a timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Serialize;

/// Longest a single request of the throughput runs may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What to send and how to recognise a complete answer.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub body: Bytes,
    pub headers: HeaderMap,
    /// Bytes the end of a complete answer contains (a stream's last event).
    pub end_marker: &'static str,
}

impl Target {
    /// A JSON POST to `url`; `key` goes in `Authorization: Bearer`.
    pub fn post(url: String, body: &str, key: Option<&str>, end_marker: &'static str) -> Target {
        assert!(url.starts_with("http://127.0.0.1:"), "the load generator only targets 127.0.0.1: {url}");
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Some(key) = key {
            headers
                .insert("authorization", HeaderValue::from_str(&format!("Bearer {key}")).expect("a header-safe key"));
        }
        Target { url, body: Bytes::from(body.to_string()), headers, end_marker }
    }
}

/// One completed request.
#[derive(Debug, Clone, Copy)]
struct Sample {
    latency: Duration,
    first_byte: Duration,
}

/// The outcome of one run at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct RunStats {
    /// Requests that finished inside the measured window (the rates and percentiles).
    pub requests: usize,
    /// Requests that finished during the whole run, warm-up and tail included.
    pub completed_in_run: usize,
    /// CPU time the proxy (nginx or the gateway) spent per request over the whole run, in
    /// microseconds; none for the direct runs.
    pub proxy_cpu_us: Option<f64>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub ttfb_p50_ms: f64,
    pub ttfb_p90_ms: f64,
    pub ttfb_p99_ms: f64,
}

/// Runs `concurrency` workers for `warmup`, then for `measure`; requests that finish inside
/// `measure` are the ones counted.
pub async fn run(target: &Target, concurrency: usize, warmup: Duration, measure: Duration) -> RunStats {
    let client = client(concurrency);
    let target = Arc::new(target.clone());
    let begin = Instant::now() + warmup;
    let end = begin + measure;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = client.clone();
            let target = target.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut errors = Vec::new();
                let mut completed = 0;
                while Instant::now() < end {
                    let started = Instant::now();
                    let outcome = tokio::time::timeout(REQUEST_TIMEOUT, one(&client, &target, started)).await;
                    let outcome = outcome.unwrap_or_else(|_| Err("timed out".into()));
                    completed += usize::from(outcome.is_ok());
                    let finished = Instant::now();
                    if finished < begin || finished > end {
                        continue;
                    }
                    match outcome {
                        Ok(sample) => samples.push(sample),
                        Err(error) => errors.push(error),
                    }
                }
                (samples, errors, completed)
            })
        })
        .collect();
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    let mut completed = 0;
    for worker in workers {
        let (mut s, mut e, c) = worker.await.expect("a load worker panicked");
        samples.append(&mut s);
        errors.append(&mut e);
        completed += c;
    }
    summarize(samples, errors, completed, measure)
}

fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(connections)
        .build()
        .expect("build the load generator's HTTP client")
}

/// Sends one request and reads the whole answer.
async fn one(client: &reqwest::Client, target: &Target, started: Instant) -> Result<Sample, String> {
    let mut response = client
        .post(&target.url)
        .headers(target.headers.clone())
        .body(target.body.clone())
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let mut first_byte = None;
    let mut tail: Vec<u8> = Vec::with_capacity(1024);
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("reading the answer failed: {e}"))? {
        first_byte.get_or_insert_with(|| started.elapsed());
        keep_tail(&mut tail, &chunk);
    }
    let latency = started.elapsed();
    if !status.is_success() {
        return Err(format!("status {status}: {}", String::from_utf8_lossy(&tail)));
    }
    let marker = target.end_marker.as_bytes();
    if !tail.windows(marker.len()).any(|w| w == marker) {
        return Err(format!("incomplete answer (no {:?} at its end)", target.end_marker));
    }
    Ok(Sample { latency, first_byte: first_byte.unwrap_or(latency) })
}

/// Keeps the last 1 KiB of an answer.
fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8]) {
    const KEEP: usize = 1024;
    let chunk = &chunk[chunk.len().saturating_sub(KEEP)..];
    let overflow = (tail.len() + chunk.len()).saturating_sub(KEEP);
    tail.drain(..overflow);
    tail.extend_from_slice(chunk);
}

fn summarize(samples: Vec<Sample>, errors: Vec<String>, completed_in_run: usize, measure: Duration) -> RunStats {
    let mut latency: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    let mut first_byte: Vec<Duration> = samples.iter().map(|s| s.first_byte).collect();
    latency.sort_unstable();
    first_byte.sort_unstable();
    let seconds = measure.as_secs_f64();
    RunStats {
        requests: samples.len(),
        completed_in_run,
        proxy_cpu_us: None,
        errors: errors.len(),
        first_error: errors.into_iter().next(),
        seconds,
        rps: samples.len() as f64 / seconds,
        p50_ms: percentile(&latency, 0.50),
        p90_ms: percentile(&latency, 0.90),
        p99_ms: percentile(&latency, 0.99),
        ttfb_p50_ms: percentile(&first_byte, 0.50),
        ttfb_p90_ms: percentile(&first_byte, 0.90),
        ttfb_p99_ms: percentile(&first_byte, 0.99),
    }
}

/// The nearest-rank percentile of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

/// How a batch of held streams ended.
#[derive(Debug, Clone, Serialize)]
pub struct HoldStats {
    pub streams: usize,
    pub completed: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub seconds: f64,
}

/// Opens `streams` requests at once and reads each to its end; every stream must finish
/// within `limit`.
pub async fn hold(target: &Target, streams: usize, limit: Duration) -> HoldStats {
    let client = client(streams);
    let target = Arc::new(target.clone());
    let started = Instant::now();
    let tasks: Vec<_> = (0..streams)
        .map(|_| {
            let client = client.clone();
            let target = target.clone();
            tokio::spawn(async move {
                let begun = Instant::now();
                tokio::time::timeout(limit, one(&client, &target, begun))
                    .await
                    .unwrap_or_else(|_| Err(format!("not finished after {limit:?}")))
            })
        })
        .collect();
    let mut completed = 0;
    let mut errors = Vec::new();
    for task in tasks {
        match task.await.expect("a stream task panicked") {
            Ok(_) => completed += 1,
            Err(error) => errors.push(error),
        }
    }
    HoldStats {
        streams,
        completed,
        failed: errors.len(),
        first_error: errors.into_iter().next(),
        seconds: started.elapsed().as_secs_f64(),
    }
}
