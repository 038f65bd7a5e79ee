//! Per-key quotas in memory: requests and tokens per rolling window, and requests in flight.
//!
//! Counted in the 15-minute slots of `request_stats`, so the counters can be rebuilt from the
//! database at start (a restart does not reset a day's quota) while the request path only
//! touches memory: the log writer is what writes them behind. A request is counted when it is
//! admitted, under the key's lock, so a limit holds exactly however many requests arrive at
//! once; its tokens are added when it ends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use crate::store::keys::{KeyPolicy, Limit, Metric, QuotaWindow};
use crate::store::logs::{STATS_SLOT_MS, SlotUse};

/// The longest window (a month of 30 days) plus one slot: older slots are forgotten.
const KEEP_MS: i64 = 30 * 86_400_000 + STATS_SLOT_MS;

impl QuotaWindow {
    pub fn millis(self) -> i64 {
        match self {
            QuotaWindow::FiveHours => 5 * 3_600_000,
            QuotaWindow::Day => 86_400_000,
            QuotaWindow::Week => 7 * 86_400_000,
            QuotaWindow::Month => 30 * 86_400_000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            QuotaWindow::FiveHours => "5h",
            QuotaWindow::Day => "day",
            QuotaWindow::Week => "week",
            QuotaWindow::Month => "month",
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.metric {
            Metric::Requests => "requests",
            Metric::Tokens => "tokens",
        };
        write!(f, "{} {what} per {}", self.max, self.window.name())
    }
}

/// One key's use, slot by slot, and its requests in flight.
#[derive(Debug, Default)]
struct Counters {
    /// (slot start, requests counted, tokens), oldest first.
    slots: VecDeque<(i64, u64, u64)>,
    inflight: u32,
}

impl Counters {
    fn slot(&mut self, now_ms: i64) -> &mut (i64, u64, u64) {
        let start = now_ms.div_euclid(STATS_SLOT_MS) * STATS_SLOT_MS;
        while self.slots.front().is_some_and(|(slot, _, _)| *slot < now_ms - KEEP_MS) {
            self.slots.pop_front();
        }
        if self.slots.back().is_none_or(|(slot, _, _)| *slot < start) {
            self.slots.push_back((start, 0, 0));
        }
        let position = self.slots.iter().rposition(|(slot, _, _)| *slot <= start).unwrap_or(0);
        &mut self.slots[position]
    }

    /// Slots that fall in `window` at `now_ms` (a slot counts until it has wholly left it).
    fn in_window(&self, window: QuotaWindow, now_ms: i64) -> impl Iterator<Item = &(i64, u64, u64)> {
        let from = now_ms - window.millis() - STATS_SLOT_MS;
        self.slots.iter().filter(move |(slot, _, _)| *slot > from)
    }

    fn used(&self, limit: &Limit, now_ms: i64) -> u64 {
        self.in_window(limit.window, now_ms)
            .map(|(_, requests, tokens)| match limit.metric {
                Metric::Requests => *requests,
                Metric::Tokens => *tokens,
            })
            .sum()
    }

    /// When enough of the window's use has left it for one more request.
    fn frees_at(&self, limit: &Limit, now_ms: i64) -> Option<i64> {
        let mut used = self.used(limit, now_ms);
        for (slot, requests, tokens) in self.in_window(limit.window, now_ms) {
            used -= match limit.metric {
                Metric::Requests => *requests,
                Metric::Tokens => *tokens,
            };
            if used < limit.max {
                return Some(slot + STATS_SLOT_MS + limit.window.millis());
            }
        }
        None
    }
}

/// Why a key's request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A limit is reached; it frees up at the given time (Unix ms) when known.
    Limit { limit: Limit, used: u64, frees_at_ms: Option<i64> },
    /// The key already has its maximum of requests in flight.
    Concurrency { max: u32 },
}

/// One limit of a key with its current use.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitUse {
    #[serde(flatten)]
    pub limit: Limit,
    pub used: u64,
    /// When use drops below the limit again, if it is reached (Unix ms).
    pub frees_at_ms: Option<i64>,
}

/// Every key's counters.
#[derive(Debug, Default)]
pub struct Quotas {
    keys: RwLock<HashMap<String, Arc<Mutex<Counters>>>>,
}

/// Holds a key's place among its requests in flight until dropped.
#[derive(Debug)]
pub struct QuotaGuard {
    counters: Arc<Mutex<Counters>>,
}

impl Drop for QuotaGuard {
    fn drop(&mut self) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.inflight = counters.inflight.saturating_sub(1);
    }
}

impl Quotas {
    fn counters(&self, key_id: &str) -> Arc<Mutex<Counters>> {
        if let Some(counters) = self.keys.read().unwrap_or_else(|p| p.into_inner()).get(key_id) {
            return counters.clone();
        }
        self.keys.write().unwrap_or_else(|p| p.into_inner()).entry(key_id.to_string()).or_default().clone()
    }

    /// Replaces the counters with the stored use (at start).
    pub fn restore(&self, uses: Vec<SlotUse>) {
        let mut keys: HashMap<String, Counters> = HashMap::new();
        for use_ in uses {
            let counters = keys.entry(use_.key_id).or_default();
            counters.slots.push_back((use_.slot, use_.counted.max(0) as u64, use_.tokens.max(0) as u64));
        }
        let mut table = self.keys.write().unwrap_or_else(|p| p.into_inner());
        for (key, restored) in keys {
            let counters = table.entry(key).or_default();
            counters.lock().unwrap_or_else(|p| p.into_inner()).slots = restored.slots;
        }
    }

    /// Admits one request of `key_id` under `policy`, counting it, or says which limit
    /// refuses it. Check and count happen under the key's lock.
    pub fn admit(&self, key_id: &str, policy: &KeyPolicy, now_ms: i64) -> Result<QuotaGuard, Refusal> {
        let counters = self.counters(key_id);
        let mut locked = counters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(max) = policy.max_concurrent.filter(|max| *max > 0)
            && locked.inflight >= max
        {
            return Err(Refusal::Concurrency { max });
        }
        for limit in &policy.limits {
            let used = locked.used(limit, now_ms);
            let over = match limit.metric {
                Metric::Requests => used + 1 > limit.max,
                Metric::Tokens => used >= limit.max,
            };
            if over {
                return Err(Refusal::Limit { limit: *limit, used, frees_at_ms: locked.frees_at(limit, now_ms) });
            }
        }
        locked.slot(now_ms).1 += 1;
        locked.inflight += 1;
        drop(locked);
        Ok(QuotaGuard { counters })
    }

    /// Adds a finished request's tokens.
    pub fn add_tokens(&self, key_id: &str, tokens: u64, now_ms: i64) {
        if tokens == 0 {
            return;
        }
        let counters = self.counters(key_id);
        counters.lock().unwrap_or_else(|p| p.into_inner()).slot(now_ms).2 += tokens;
    }

    /// A key's limits with their current use.
    pub fn usage(&self, key_id: &str, policy: &KeyPolicy, now_ms: i64) -> Vec<LimitUse> {
        let counters = self.counters(key_id);
        let counters = counters.lock().unwrap_or_else(|p| p.into_inner());
        policy
            .limits
            .iter()
            .map(|limit| {
                let used = counters.used(limit, now_ms);
                let frees_at_ms = if used >= limit.max { counters.frees_at(limit, now_ms) } else { None };
                LimitUse { limit: *limit, used, frees_at_ms }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(limits: Vec<Limit>, max_concurrent: Option<u32>) -> KeyPolicy {
        KeyPolicy { limits, max_concurrent, ..KeyPolicy::default() }
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_request_limit_admits_exactly_that_many_and_says_when_it_frees_up() {
        let quotas = Quotas::default();
        let limit = Limit { metric: Metric::Requests, max: 3, window: QuotaWindow::FiveHours };
        let policy = policy(vec![limit], None);
        let start = 1_000 * STATS_SLOT_MS;
        let guards: Vec<_> = (0..3).map(|i| quotas.admit("k", &policy, start + i * HOUR).unwrap()).collect();
        let refused = quotas.admit("k", &policy, start + 3 * HOUR).unwrap_err();
        let Refusal::Limit { used, frees_at_ms, .. } = refused else { panic!("{refused:?}") };
        assert_eq!(used, 3);
        assert_eq!(frees_at_ms, Some(start + STATS_SLOT_MS + 5 * HOUR), "when the first slot leaves the window");
        assert!(quotas.admit("k", &policy, start + 5 * HOUR + STATS_SLOT_MS).is_ok());
        drop(guards);
    }

    #[test]
    fn tokens_count_when_added_and_concurrency_when_held() {
        let quotas = Quotas::default();
        let limit = Limit { metric: Metric::Tokens, max: 100, window: QuotaWindow::Day };
        let policy = policy(vec![limit], Some(1));
        let now = 5_000 * STATS_SLOT_MS;
        let first = quotas.admit("k", &policy, now).unwrap();
        assert_eq!(quotas.admit("k", &policy, now).unwrap_err(), Refusal::Concurrency { max: 1 });
        drop(first);
        quotas.add_tokens("k", 100, now);
        assert!(matches!(quotas.admit("k", &policy, now), Err(Refusal::Limit { used: 100, .. })));
        assert_eq!(quotas.usage("k", &policy, now)[0].used, 100);
        assert!(quotas.admit("other", &policy, now).is_ok(), "keys are counted apart");
    }

    #[test]
    fn restored_use_counts_against_the_window() {
        let quotas = Quotas::default();
        let now = 9_000 * STATS_SLOT_MS;
        quotas.restore(vec![SlotUse {
            key_id: "k".into(),
            slot: now - 2 * HOUR,
            counted: 10,
            tokens: 0,
            requests: 12,
            errors: 2,
        }]);
        let limit = Limit { metric: Metric::Requests, max: 10, window: QuotaWindow::Day };
        assert!(quotas.admit("k", &policy(vec![limit], None), now).is_err());
        let wider = Limit { max: 11, ..limit };
        assert!(quotas.admit("k", &policy(vec![wider], None), now).is_ok());
    }
}
