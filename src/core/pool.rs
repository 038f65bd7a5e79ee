//! The account pool in memory: what routing reads on every request without touching SQLite
//! or the keyring.
//!
//! Each account's static description is rebuilt from the snapshot on every reload; its live
//! part (tokens, in-flight count, cooldown, latest usage) is shared across reloads so that a
//! reload never resets a cooldown or loses a request in flight.
//!
//! Tokens are held sealed and opened the first time an account is used, so start-up with
//! thousands of accounts decrypts nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::Notify;

use crate::auth::tokens::Tokens;
use crate::egress::{AccountProxy, ProxyUrl};
use crate::store::accounts::AccountRow;
use crate::store::usage::UsageSnapshot;
use crate::usage::availability::Availability;
use crate::vault::Vault;

/// An account's tokens: sealed as stored, or opened (with the blob they came from).
#[derive(Debug, Default)]
enum TokenSlot {
    #[default]
    Missing,
    Sealed(Arc<[u8]>),
    Open {
        tokens: Arc<Tokens>,
        sealed: Arc<[u8]>,
    },
}

impl TokenSlot {
    fn sealed(&self) -> Option<&Arc<[u8]>> {
        match self {
            TokenSlot::Missing => None,
            TokenSlot::Sealed(sealed) | TokenSlot::Open { sealed, .. } => Some(sealed),
        }
    }
}

/// Live state of one account, kept across reloads.
#[derive(Debug, Default)]
pub struct Live {
    inflight: AtomicU32,
    /// Unix milliseconds until which the account is skipped; 0 when not cooling down.
    cooldown_until_ms: AtomicI64,
    /// Consecutive cooldowns without a success, for escalating backoff.
    strikes: AtomicU32,
    /// Consecutive server errors or unreachable upstreams without a success.
    failures: AtomicU32,
    /// Why the account is cooling down, while it is.
    cooldown_reason: RwLock<Option<Arc<str>>>,
    /// Swapped whole, read without a lock: every request reads it for every account it
    /// considers, from both worker threads at once.
    tokens: ArcSwap<TokenSlot>,
    /// Held by whoever replaces `tokens` or `unsaved` on the strength of what it read (new
    /// tokens arriving, a save confirmed, a reload), so none of them undoes another's work.
    token_writes: Mutex<()>,
    /// Unix milliseconds of the last `set_tokens`: a reload that read the store before then
    /// holds older tokens and must not put them back.
    tokens_set_ms: AtomicI64,
    /// The tokens in memory are newer than the stored ones and could not be saved yet (a full
    /// disk): reloads keep them, and they are saved again until that works.
    unsaved: std::sync::atomic::AtomicBool,
    /// Read without a lock, like `tokens`.
    usage: ArcSwapOption<UsageSnapshot>,
    /// Held while this account's tokens are being refreshed (single flight).
    pub refresh: tokio::sync::Mutex<()>,
}

/// One account as routing sees it: its stored row (the same one the snapshot the window and
/// RPC read holds, not a copy) and its live state.
#[derive(Debug)]
pub struct PoolAccount {
    pub row: Arc<AccountRow>,
    /// The account's own proxy choice; `None` when its sealed proxy does not open (it then
    /// has no route at all rather than leaving another way).
    pub proxy: Option<AccountProxy>,
    pub live: Arc<Live>,
    /// One vault shared by the pool generation's accounts.
    vault: Arc<Vault>,
}

impl PoolAccount {
    /// The account's tokens, opened from their sealed form on first use. A blob that does
    /// not open is logged once and the account is left without tokens.
    pub fn tokens(&self) -> Option<Arc<Tokens>> {
        loop {
            let current = self.live.tokens.load_full();
            let sealed = match &*current {
                TokenSlot::Missing => return None,
                TokenSlot::Open { tokens, .. } => return Some(tokens.clone()),
                TokenSlot::Sealed(sealed) => sealed.clone(),
            };
            let opened = self
                .vault
                .open(&Tokens::seal_purpose(&self.row.id), &sealed)
                .ok()
                .and_then(|plain| serde_json::from_slice::<Tokens>(&plain).ok())
                .map(Arc::new);
            let (slot, answer) = match &opened {
                Some(tokens) => (TokenSlot::Open { tokens: tokens.clone(), sealed }, opened),
                None => (TokenSlot::Missing, None),
            };
            // Replaces only the sealed slot it opened; when tokens arrived meanwhile, those
            // are the answer.
            let previous = self.live.tokens.compare_and_swap(&current, Arc::new(slot));
            if Arc::ptr_eq(&previous, &current) {
                if answer.is_none() {
                    tracing::error!(account = %self.row.id, "the account's sealed tokens do not open; it will not be used");
                }
                return answer;
            }
        }
    }

    /// Whether the account has tokens at all (without opening them).
    pub fn has_tokens(&self) -> bool {
        !matches!(**self.live.tokens.load(), TokenSlot::Missing)
    }

    /// Installs tokens sealed as `sealed`; `saved` says whether that blob is in the store.
    pub fn set_tokens(&self, tokens: Arc<Tokens>, sealed: Vec<u8>, saved: bool) {
        let _writing = self.live.token_writes.lock().unwrap_or_else(|p| p.into_inner());
        self.live.tokens.store(Arc::new(TokenSlot::Open { tokens, sealed: Arc::from(sealed) }));
        self.live.unsaved.store(!saved, Ordering::Release);
        self.live.tokens_set_ms.store(crate::store::now_millis(), Ordering::Release);
    }

    /// The tokens in memory when they still have to be saved, with their sealed blob.
    pub fn unsaved_tokens(&self) -> Option<Arc<[u8]>> {
        if !self.live.unsaved.load(Ordering::Acquire) {
            return None;
        }
        self.live.tokens.load().sealed().cloned()
    }

    /// The blob `sealed` reached the store: unless newer tokens came meanwhile, nothing is
    /// left to save.
    pub fn mark_saved(&self, sealed: &[u8]) {
        let _writing = self.live.token_writes.lock().unwrap_or_else(|p| p.into_inner());
        if self.live.tokens.load().sealed().is_some_and(|current| **current == *sealed) {
            self.live.unsaved.store(false, Ordering::Release);
        }
    }

    /// The sealed blob the tokens in memory came from.
    pub fn sealed_tokens(&self) -> Option<Arc<[u8]>> {
        self.live.tokens.load().sealed().cloned()
    }

    /// The latest usage, shared (the snapshot holds the same one once published).
    pub fn usage(&self) -> Option<Arc<UsageSnapshot>> {
        self.live.usage.load_full()
    }

    /// Reads the latest usage in place, for the hot path.
    pub fn with_usage<R>(&self, read: impl FnOnce(Option<&UsageSnapshot>) -> R) -> R {
        read(self.live.usage.load().as_deref())
    }

    pub fn set_usage(&self, usage: Arc<UsageSnapshot>) {
        self.live.usage.store(Some(usage));
    }

    /// Availability from the account's status and its latest known usage.
    pub fn availability(&self, now_secs: i64) -> Availability {
        let usage = self.live.usage.load();
        Availability::of(self.row.status, self.row.status_reason.as_deref(), usage.as_deref(), now_secs)
    }

    pub fn inflight(&self) -> u32 {
        self.live.inflight.load(Ordering::Relaxed)
    }

    /// Unix milliseconds the cooldown lasts until, when it is still running at `now_ms`.
    pub fn cooling_until(&self, now_ms: i64) -> Option<i64> {
        let until = self.live.cooldown_until_ms.load(Ordering::Relaxed);
        (until > now_ms).then_some(until)
    }

    /// Cools the account down until `until_ms` for `reason`; returns the number of cooldowns
    /// in a row.
    pub fn cool_down_until(&self, until_ms: i64, reason: &str) -> u32 {
        *self.live.cooldown_reason.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::from(reason));
        self.live.cooldown_until_ms.fetch_max(until_ms, Ordering::Relaxed);
        self.live.strikes.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Why the account is cooling down, while it is at `now_ms`.
    pub fn cooldown_reason(&self, now_ms: i64) -> Option<Arc<str>> {
        self.cooling_until(now_ms)?;
        self.live.cooldown_reason.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Counts a server error or an unreachable upstream; returns how many came in a row.
    pub fn note_failure(&self) -> u32 {
        self.live.failures.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Consecutive cooldowns so far (0 after a success).
    pub fn strikes(&self) -> u32 {
        self.live.strikes.load(Ordering::Relaxed)
    }

    /// A request succeeded: the escalations start over.
    pub fn note_success(&self) {
        self.live.strikes.store(0, Ordering::Relaxed);
        self.live.failures.store(0, Ordering::Relaxed);
    }
}

/// Marks one request in flight on an account until dropped.
pub struct InflightGuard {
    account: Arc<PoolAccount>,
    freed: Arc<Notify>,
}

impl InflightGuard {
    pub fn account(&self) -> &Arc<PoolAccount> {
        &self.account
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.account.live.inflight.fetch_sub(1, Ordering::AcqRel);
        self.freed.notify_waiters();
    }
}

/// The whole pool, in routing order (by `sort`, the manual preferred account first).
#[derive(Debug, Default)]
pub struct Pool {
    pub accounts: Vec<Arc<PoolAccount>>,
    pub by_id: HashMap<String, Arc<PoolAccount>>,
}

/// Shared by every pool generation: wakes requests waiting for a free slot.
#[derive(Debug, Default)]
pub struct SlotSignal {
    pub freed: Arc<Notify>,
}

impl SlotSignal {
    /// Takes a slot on `account` if it has fewer than `max` in flight (`max` 0 = unlimited).
    pub fn try_acquire(&self, account: &Arc<PoolAccount>, max: u32) -> Option<InflightGuard> {
        let live = &account.live;
        let mut current = live.inflight.load(Ordering::Acquire);
        loop {
            if max > 0 && current >= max {
                return None;
            }
            match live.inflight.compare_exchange_weak(current, current + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(InflightGuard { account: account.clone(), freed: self.freed.clone() }),
                Err(actual) => current = actual,
            }
        }
    }
}

/// Builds the next pool generation, reusing each account's live state from `previous`;
/// `sealed` holds every account's sealed token blob as read from the store at `read_at_ms`:
/// tokens set in memory since then (a refresh that finished meanwhile) are newer and kept.
pub fn rebuild(
    previous: &Pool,
    accounts: &[super::AccountView],
    mut sealed: HashMap<String, Arc<[u8]>>,
    vault: &Vault,
    read_at_ms: i64,
) -> Pool {
    let mut pool = Pool::default();
    let shared_vault = Arc::new(vault.clone());
    for view in accounts {
        let a = &view.account;
        let live = previous.by_id.get(&a.id).map(|old| old.live.clone()).unwrap_or_else(|| {
            let live = Arc::new(Live::default());
            if let Some(until) = a.cooldown_until {
                live.cooldown_until_ms.store((until * 1000).max(0), Ordering::Relaxed);
                *live.cooldown_reason.write().unwrap_or_else(|p| p.into_inner()) =
                    a.cooldown_reason.as_deref().map(Arc::from);
            }
            live
        });
        let writing = live.token_writes.lock().unwrap_or_else(|p| p.into_inner());
        let newer_in_memory =
            live.unsaved.load(Ordering::Acquire) || live.tokens_set_ms.load(Ordering::Acquire) >= read_at_ms;
        match sealed.remove(&a.id) {
            _ if newer_in_memory => {}
            Some(blob) => {
                let same = live.tokens.load().sealed().is_some_and(|s| **s == *blob);
                if !same {
                    live.tokens.store(Arc::new(TokenSlot::Sealed(blob)));
                }
            }
            None => live.tokens.store(Arc::new(TokenSlot::Missing)),
        }
        drop(writing);
        if let Some(usage) = &view.usage {
            // Only ever forward: live usage newer than the stored one stays.
            live.usage.rcu(|current| match current {
                Some(current) if current.captured_at > usage.captured_at => Some(current.clone()),
                _ => Some(usage.clone()),
            });
        }
        let account =
            Arc::new(PoolAccount { row: a.clone(), proxy: open_proxy(vault, a), live, vault: shared_vault.clone() });
        pool.by_id.insert(a.id.clone(), account.clone());
        pool.accounts.push(account);
    }
    pool
}

/// An account's proxy choice from its row: the sealed URL opened, `direct`, or inherit.
fn open_proxy(vault: &Vault, row: &crate::store::accounts::AccountRow) -> Option<AccountProxy> {
    match (&row.proxy_sealed, row.proxy.as_deref()) {
        (Some(sealed), _) => {
            let opened = vault
                .open(&proxy_purpose(&row.id), sealed)
                .ok()
                .and_then(|plain| String::from_utf8(plain).ok())
                .and_then(|text| ProxyUrl::parse(&text).ok());
            if opened.is_none() {
                tracing::error!(account = %row.id, "the account's sealed proxy does not open; it will not be used");
            }
            opened.map(AccountProxy::Proxy)
        }
        (None, Some("direct")) => Some(AccountProxy::Direct),
        (None, _) => Some(AccountProxy::Inherit),
    }
}

/// What an account's sealed proxy URL is bound to.
pub fn proxy_purpose(account_id: &str) -> String {
    format!("proxy:{account_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::AccountStatus;
    use crate::usage::availability::Availability;
    use crate::vault::KeySource;

    fn row() -> AccountRow {
        AccountRow {
            id: "a1".into(),
            identity: "i1".into(),
            label: "one".into(),
            email: None,
            chatgpt_account_id: None,
            chatgpt_user_id: None,
            plan: None,
            group_name: "IMPORT".into(),
            tags: Vec::new(),
            note: String::new(),
            sort: 0,
            status: AccountStatus::Active,
            status_reason: None,
            created_at: 1,
            updated_at: 1,
            last_refresh_at: None,
            access_expires_at: None,
            cooldown_until: None,
            cooldown_reason: None,
            proxy: None,
            proxy_sealed: None,
        }
    }

    fn tokens(access: &str) -> Tokens {
        Tokens { access_token: access.into(), refresh_token: Some(format!("rt-{access}")), id_token: None }
    }

    fn sealed(vault: &Vault, tokens: &Tokens) -> Vec<u8> {
        vault.seal(&Tokens::seal_purpose("a1"), &serde_json::to_vec(tokens).unwrap())
    }

    fn usage(captured_at: i64) -> Arc<UsageSnapshot> {
        Arc::new(UsageSnapshot { account_id: "a1".into(), captured_at, ..UsageSnapshot::default() })
    }

    /// A reload of what the store held: account `a1` with `blob` and `stored_usage`.
    fn reload(previous: &Pool, vault: &Vault, blob: &[u8], stored_usage: i64, read_at_ms: i64) -> Pool {
        let view = crate::core::AccountView {
            account: Arc::new(row()),
            usage: Some(usage(stored_usage)),
            availability: Availability::Unknown,
        };
        rebuild(previous, &[view], HashMap::from([("a1".to_string(), Arc::from(blob))]), vault, read_at_ms)
    }

    fn access(pool: &Pool) -> String {
        pool.by_id["a1"].tokens().expect("tokens").access_token.clone()
    }

    #[test]
    fn newer_tokens_and_usage_in_memory_survive_reloads_and_stale_save_confirmations() {
        let vault = Vault::from_key([7; 32], KeySource::Given("test".into()));
        let (old, new, later) = (tokens("old"), tokens("new"), tokens("later"));
        let pool = reload(&Pool::default(), &vault, &sealed(&vault, &old), 100, crate::store::now_millis());
        assert_eq!(access(&pool), "old", "sealed tokens open on first use");

        let read_before_the_refresh = crate::store::now_millis();
        let account = &pool.by_id["a1"];
        let new_blob = sealed(&vault, &new);
        account.set_tokens(Arc::new(new.clone()), new_blob.clone(), false);
        account.set_usage(usage(200));
        account.mark_saved(&sealed(&vault, &old));
        assert_eq!(account.unsaved_tokens().as_deref(), Some(&new_blob[..]), "an older save does not count");

        let pool = reload(&pool, &vault, &sealed(&vault, &old), 100, read_before_the_refresh);
        assert_eq!(access(&pool), "new", "a reload that read the store before the refresh keeps the new tokens");
        assert_eq!(pool.by_id["a1"].usage().map(|u| u.captured_at), Some(200), "newer live usage stays");

        pool.by_id["a1"].mark_saved(&new_blob);
        assert_eq!(pool.by_id["a1"].unsaved_tokens(), None);
        let pool = reload(&pool, &vault, &sealed(&vault, &later), 300, crate::store::now_millis() + 1);
        assert_eq!(access(&pool), "later", "tokens another process stored later replace the saved ones");
        assert_eq!(pool.by_id["a1"].usage().map(|u| u.captured_at), Some(300), "newer stored usage replaces it");
    }

    #[test]
    fn sealed_tokens_that_do_not_open_leave_the_account_without_tokens() {
        let vault = Vault::from_key([7; 32], KeySource::Given("test".into()));
        let other = Vault::from_key([8; 32], KeySource::Given("other".into()));
        let pool = reload(&Pool::default(), &vault, &sealed(&other, &tokens("x")), 100, crate::store::now_millis());
        let account = &pool.by_id["a1"];
        assert!(account.has_tokens(), "not known before they are opened");
        assert!(account.tokens().is_none());
        assert!(!account.has_tokens());
    }
}
