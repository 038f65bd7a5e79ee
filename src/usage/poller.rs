//! How usage is polled: the schedule (every `CODEXMANAGER_USAGE_POLL_INTERVAL_SECS` unless
//! `CODEXMANAGER_DISABLE_POLLING` is set), at most [`CONCURRENCY`] calls at once across every
//! run, a little jitter so a large pool does not call in bursts, and progress counted as calls
//! finish. What one call does is the caller's (the core fetches and records).

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use rand::Rng;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::config::Config;

/// Usage calls in flight at once, over all runs together.
pub const CONCURRENCY: usize = 4;
/// Background polls start each call after a random delay up to this.
pub const BACKGROUND_JITTER: Duration = Duration::from_millis(250);

/// How far a run has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub failed: usize,
    pub finished: bool,
}

impl Progress {
    pub fn remaining(&self) -> usize {
        self.total.saturating_sub(self.done)
    }
}

/// The background poll interval, or `None` when polling is switched off.
pub fn schedule(config: &Config) -> Option<Duration> {
    (!config.disable_polling).then(|| interval(config))
}

/// `CODEXMANAGER_USAGE_POLL_INTERVAL_SECS`, never below 30 s.
pub fn interval(config: &Config) -> Duration {
    Duration::from_secs(config.usage_poll_interval_secs.max(30))
}

/// Runs `job` for every item with at most [`CONCURRENCY`] in flight (and never more than
/// `slots` allows across runs), each after up to `jitter` of random delay, and reports
/// progress after each one finishes. Results come back in completion order.
pub async fn run_bounded<T, A, E, F, Fut>(
    items: Vec<T>,
    slots: &Semaphore,
    jitter: Duration,
    job: F,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Vec<Result<A, E>>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<A, E>>,
{
    let mut state = Progress { total: items.len(), ..Progress::default() };
    progress(state);
    let job = &job;
    let mut runs = futures_util::stream::iter(items)
        .map(|item| async move {
            if !jitter.is_zero() {
                let millis = rand::rng().random_range(0..jitter.as_millis().max(1) as u64);
                tokio::time::sleep(Duration::from_millis(millis)).await;
            }
            let _slot = slots.acquire().await.ok();
            job(item).await
        })
        .buffer_unordered(CONCURRENCY);
    let mut results = Vec::with_capacity(state.total);
    while let Some(result) = runs.next().await {
        state.done += 1;
        state.failed += usize::from(result.is_err());
        progress(state);
        results.push(result);
    }
    state.finished = true;
    progress(state);
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn config(vars: &[(&str, &str)]) -> Config {
        let env = crate::config::Env::from_map(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let paths = crate::paths::DataPaths::for_db("/tmp/p.db".into(), crate::paths::DataLocation::Explicit);
        crate::config::Resolver::new(&env, &HashMap::new()).resolve(paths).0
    }

    #[test]
    fn interval_defaults_to_600_has_a_minimum_of_30_and_polling_can_be_switched_off() {
        assert_eq!(schedule(&config(&[])), Some(Duration::from_secs(600)));
        let set = |v| schedule(&config(&[("CODEXMANAGER_USAGE_POLL_INTERVAL_SECS", v)]));
        assert_eq!(set("30"), Some(Duration::from_secs(30)));
        assert_eq!(set("29"), Some(Duration::from_secs(600)), "below the minimum: the default");
        assert_eq!(set("soon"), Some(Duration::from_secs(600)), "invalid: the default");
        assert_eq!(set("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(schedule(&config(&[("CODEXMANAGER_DISABLE_POLLING", "")])), None);
    }

    /// Counts how many jobs run at once.
    #[derive(Default)]
    struct Gauge {
        inflight: AtomicUsize,
        max: AtomicUsize,
    }

    impl Gauge {
        async fn work(&self) {
            let now = self.inflight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.inflight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn runs_at_most_the_cap_at_once_and_counts_progress() {
        let slots = Semaphore::new(CONCURRENCY);
        let gauge = Gauge::default();
        let seen = Mutex::new(Vec::new());
        let job = |n: usize| {
            let gauge = &gauge;
            async move {
                gauge.work().await;
                if n.is_multiple_of(5) { Err(n) } else { Ok(n) }
            }
        };
        let results =
            run_bounded((0..20).collect(), &slots, Duration::ZERO, job, &|p| seen.lock().unwrap().push(p)).await;
        assert_eq!(results.len(), 20);
        assert_eq!(gauge.max.load(Ordering::SeqCst), CONCURRENCY);
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.first(), Some(&Progress { done: 0, total: 20, failed: 0, finished: false }));
        assert_eq!(seen.last(), Some(&Progress { done: 20, total: 20, failed: 4, finished: true }));
        assert_eq!(seen.len(), 22);
    }

    #[tokio::test]
    async fn the_shared_slots_bound_runs_together() {
        let slots = Semaphore::new(2);
        let gauge = Gauge::default();
        let job = |_: usize| {
            let gauge = &gauge;
            async move {
                gauge.work().await;
                Ok::<_, ()>(())
            }
        };
        let one = run_bounded((0..8).collect(), &slots, Duration::ZERO, job, &|_| {});
        let two = run_bounded((0..8).collect(), &slots, Duration::ZERO, job, &|_| {});
        futures_util::future::join(one, two).await;
        assert_eq!(gauge.max.load(Ordering::SeqCst), 2);
    }
}
