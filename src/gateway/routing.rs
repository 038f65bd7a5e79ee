//! Which accounts a request may use, in which order: the original's rules.
//!
//! `ordered` walks accounts by `sort`; `balanced` rotates the starting account per key +
//! model. An account is skipped when it is not active, has no token, its usage says it is
//! exhausted, it is cooling down, or it is at `CODEXMANAGER_ACCOUNT_MAX_INFLIGHT`. An account
//! whose usage is not known yet is usable. A request carrying a session goes first to the
//! account that served that session, while it stays usable; when instances share a pool, a
//! session this one has not seen yet goes where rendezvous hashing ranks it, so all agree. The
//! quota guard puts accounts near a window's limit after every account below the thresholds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::{QuotaGuard, RouteStrategy};
use crate::core::UsageSnapshot;
use crate::core::pool::PoolAccount;

/// Sessions remembered at most; the oldest half is forgotten when full.
const MAX_SESSIONS: usize = 50_000;

/// Why an account was not tried (or, for the quota guard, tried last).
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    NotActive(&'static str),
    NoToken,
    /// Out of quota; `until_ms` is when its exhausted windows reset, when known.
    Exhausted {
        reason: String,
        until_ms: Option<i64>,
    },
    CoolingDown {
        until_ms: i64,
    },
    Busy,
    /// Past the quota guard's threshold in one window: tried only after every account below it.
    QuotaGuard {
        window: &'static str,
        used_percent: f64,
    },
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::NotActive(status) => write!(f, "status:{status}"),
            Skip::NoToken => f.write_str("no_token"),
            Skip::Exhausted { reason, .. } => write!(f, "usage:{}", reason.replace(' ', "_")),
            Skip::CoolingDown { until_ms } => write!(f, "cooldown_until:{until_ms}"),
            Skip::Busy => f.write_str("max_inflight"),
            Skip::QuotaGuard { window, used_percent } => write!(f, "quota_guard:{window}:{used_percent:.0}%"),
        }
    }
}

impl Skip {
    /// The reason's kind, for counting skips by reason.
    pub fn kind(&self) -> &'static str {
        match self {
            Skip::NotActive(_) => "status",
            Skip::NoToken => "no_token",
            Skip::Exhausted { .. } => "usage",
            Skip::CoolingDown { .. } => "cooldown",
            Skip::Busy => "max_inflight",
            Skip::QuotaGuard { window: "5h", .. } => "quota_guard_5h",
            Skip::QuotaGuard { .. } => "quota_guard_7d",
        }
    }
}

/// The accounts to try, in order, and those left out with the reason — borrowed from the
/// pool the request looked at, so planning over a large pool copies pointers, not `Arc`s.
#[derive(Debug, Default)]
pub struct Plan<'a> {
    pub candidates: Vec<&'a Arc<PoolAccount>>,
    pub skipped: Vec<(&'a Arc<PoolAccount>, Skip)>,
    /// Candidates past the quota guard, placed after all the others, with the window.
    pub deferred: Vec<(&'a Arc<PoolAccount>, Skip)>,
}

/// One account's verdict for one request.
enum Verdict {
    Use,
    /// Usable, but past the quota guard: tried after every account below it.
    Defer(Skip),
    Skip(Skip),
}

impl Plan<'_> {
    /// The earliest moment an account that is cooling down or out of quota comes back.
    pub fn earliest_cooldown_end(&self) -> Option<i64> {
        self.skipped
            .iter()
            .filter_map(|(_, s)| match s {
                Skip::CoolingDown { until_ms } => Some(*until_ms),
                Skip::Exhausted { until_ms, .. } => *until_ms,
                _ => None,
            })
            .min()
    }
}

/// Orders `candidates` by rendezvous hashing of `session` with each account id, highest
/// first: every instance ranks a session's accounts alike with nothing shared, so a session
/// new to an instance goes where the others send it, and losing an account moves only the
/// sessions that were on it.
fn rank_for_session(candidates: &mut [&Arc<PoolAccount>], session: &str) {
    use std::hash::{Hash, Hasher};
    let score = |account: &PoolAccount| {
        // SipHash with fixed keys: the same score in every process of this build.
        let mut hasher = std::hash::DefaultHasher::new();
        (session, account.row.id.as_str()).hash(&mut hasher);
        hasher.finish()
    };
    candidates.sort_by_cached_key(|account| std::cmp::Reverse(score(account)));
}

/// Routing state shared by all requests: rotation counters and session stickiness.
#[derive(Debug, Default)]
pub struct Router {
    rotation: RwLock<HashMap<String, Arc<AtomicUsize>>>,
    sessions: RwLock<HashMap<String, String>>,
}

impl Router {
    /// Orders the pool for one request.
    pub fn plan<'a>(
        &self,
        accounts: &'a [Arc<PoolAccount>],
        strategy: RouteStrategy,
        rotation_key: &str,
        session: Option<&str>,
        limits: Limits,
        now_ms: i64,
    ) -> Plan<'a> {
        let mut plan = Plan { candidates: Vec::with_capacity(accounts.len()), ..Plan::default() };
        for account in accounts {
            match verdict(account, &limits, now_ms) {
                Verdict::Use => plan.candidates.push(account),
                Verdict::Defer(skip) => plan.deferred.push((account, skip)),
                Verdict::Skip(skip) => plan.skipped.push((account, skip)),
            }
        }
        if strategy == RouteStrategy::Balanced && !plan.candidates.is_empty() {
            let start = self.next_start(rotation_key) % plan.candidates.len();
            plan.candidates.rotate_left(start);
        }
        if let Some(session) = session.filter(|_| limits.shared_sessions) {
            rank_for_session(&mut plan.candidates, session);
        }
        if let Some(sticky) = session.and_then(|s| self.session_account(s))
            && let Some(position) = plan.candidates.iter().position(|a| a.row.id == sticky)
        {
            let account = plan.candidates.remove(position);
            plan.candidates.insert(0, account);
        }
        plan.candidates.extend(plan.deferred.iter().map(|(account, _)| *account));
        plan
    }

    /// Remembers which account served a session.
    pub fn remember(&self, session: &str, account_id: &str) {
        if self.session_account(session).as_deref() == Some(account_id) {
            return;
        }
        let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= MAX_SESSIONS {
            let forget: Vec<String> = sessions.keys().take(MAX_SESSIONS / 2).cloned().collect();
            for key in forget {
                sessions.remove(&key);
            }
        }
        sessions.insert(session.to_string(), account_id.to_string());
    }

    fn session_account(&self, session: &str) -> Option<String> {
        self.sessions.read().unwrap_or_else(|p| p.into_inner()).get(session).cloned()
    }

    fn next_start(&self, key: &str) -> usize {
        if let Some(counter) = self.rotation.read().unwrap_or_else(|p| p.into_inner()).get(key) {
            return counter.fetch_add(1, Ordering::Relaxed);
        }
        let mut rotation = self.rotation.write().unwrap_or_else(|p| p.into_inner());
        rotation.entry(key.to_string()).or_default().fetch_add(1, Ordering::Relaxed)
    }
}

/// What bounds the accounts a request may use, and their order, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `CODEXMANAGER_ACCOUNT_MAX_INFLIGHT` (0: none).
    pub max_inflight: u32,
    pub quota_guard: QuotaGuard,
    /// Instances share the pool (a PostgreSQL database): a session new to this one is ranked
    /// by rendezvous hashing, so every instance sends it to the same account.
    pub shared_sessions: bool,
}

/// The skip rules, in the original's order, then the quota guard. The usage is loaded once for
/// whatever the rules need of it.
fn verdict(account: &PoolAccount, limits: &Limits, now_ms: i64) -> Verdict {
    use crate::core::AccountStatus;
    use crate::usage::availability::Availability;
    let row = &account.row;
    if row.status != AccountStatus::Active {
        return Verdict::Skip(Skip::NotActive(row.status.as_str()));
    }
    if !account.has_tokens() {
        return Verdict::Skip(Skip::NoToken);
    }
    let now_secs = now_ms / 1000;
    let by_usage =
        account.with_usage(|usage| match Availability::of(row.status, row.status_reason.as_deref(), usage, now_secs) {
            Availability::Unavailable(reason) => {
                Err(Skip::Exhausted { reason, until_ms: usage.and_then(resets_at_ms) })
            }
            _ => Ok(usage.and_then(|usage| guard_skip(usage, &limits.quota_guard, now_secs))),
        });
    let guard = match by_usage {
        Ok(guard) => guard,
        Err(skip) => return Verdict::Skip(skip),
    };
    if let Some(until_ms) = account.cooling_until(now_ms) {
        return Verdict::Skip(Skip::CoolingDown { until_ms });
    }
    if limits.max_inflight > 0 && account.inflight() >= limits.max_inflight {
        return Verdict::Skip(Skip::Busy);
    }
    guard.map_or(Verdict::Use, Verdict::Defer)
}

/// When every exhausted window of `usage` resets (the latest of them), when all are known.
fn resets_at_ms(usage: &UsageSnapshot) -> Option<i64> {
    [usage.primary, usage.secondary]
        .into_iter()
        .flatten()
        .filter(|w| w.used_percent >= 100.0)
        .map(|w| w.resets_at.map(|at| at * 1000))
        .collect::<Option<Vec<i64>>>()
        .and_then(|resets| resets.into_iter().max())
}

/// The quota guard's verdict on a usable account: which window is past its threshold. A
/// window of a day or less counts as the 5-hour one, a longer one as the weekly one; a window
/// that has already reset counts as unused.
fn guard_skip(usage: &UsageSnapshot, guard: &QuotaGuard, now_secs: i64) -> Option<Skip> {
    [usage.primary, usage.secondary].into_iter().flatten().find_map(|window| {
        if window.resets_at.is_some_and(|at| at <= now_secs) {
            return None;
        }
        let short = window.window_minutes.is_none_or(|minutes| minutes <= 24 * 60);
        let (name, threshold) = if short { ("5h", guard.five_hour_percent) } else { ("7d", guard.weekly_percent) };
        (window.used_percent >= threshold)
            .then_some(Skip::QuotaGuard { window: name, used_percent: window.used_percent })
    })
}
