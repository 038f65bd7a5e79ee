//! Availability — computed here and only here; routing, the CLI, RPC and the window all use
//! [`Availability::of`].

use serde::Serialize;

use crate::store::accounts::AccountStatus;
use crate::store::usage::{UsageSnapshot, Window};

/// Whether an account can take requests, as the original's 可用 / 单窗口可用 / 不可用 / 未知.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Availability {
    /// Both windows have room.
    Available,
    /// One window is exhausted or missing; the other has room.
    SingleWindow,
    /// Exhausted, disabled, or a dead token — with the reason.
    Unavailable(String),
    /// No usage known yet; routable.
    Unknown,
}

impl Availability {
    /// `now` in Unix seconds: a window whose reset time has passed counts as empty again.
    pub fn of(
        status: AccountStatus,
        status_reason: Option<&str>,
        usage: Option<&UsageSnapshot>,
        now: i64,
    ) -> Availability {
        match status {
            AccountStatus::Disabled => return Availability::Unavailable("disabled".into()),
            AccountStatus::Unavailable => {
                return Availability::Unavailable(status_reason.unwrap_or("unavailable").to_string());
            }
            AccountStatus::Active => {}
        }
        let Some(usage) = usage else { return Availability::Unknown };
        let has_room = |w: &Option<Window>| -> Option<bool> {
            w.as_ref().map(|w| w.used_percent < 100.0 || w.resets_at.is_some_and(|reset| reset <= now))
        };
        match (has_room(&usage.primary), has_room(&usage.secondary)) {
            (Some(true), Some(true)) => Availability::Available,
            (Some(false), _) => Availability::Unavailable("5-hour window exhausted".into()),
            (_, Some(false)) => Availability::Unavailable("weekly window exhausted".into()),
            (Some(true), None) | (None, Some(true)) => Availability::SingleWindow,
            (None, None) if usage.limit_reached == Some(true) => {
                Availability::Unavailable("usage limit reached".into())
            }
            (None, None) => Availability::Unknown,
        }
    }

    /// Whether routing may send a request to the account.
    pub fn is_routable(&self) -> bool {
        !matches!(self, Availability::Unavailable(_))
    }

    pub fn key(&self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::SingleWindow => "single_window",
            Availability::Unavailable(_) => "unavailable",
            Availability::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(used: f64, resets_at: Option<i64>) -> Option<Window> {
        Some(Window { used_percent: used, window_minutes: Some(300), resets_at })
    }

    fn usage(primary: Option<Window>, secondary: Option<Window>) -> UsageSnapshot {
        UsageSnapshot { primary, secondary, ..Default::default() }
    }

    #[test]
    fn every_combination_of_window_states() {
        let a = |p, s| Availability::of(AccountStatus::Active, None, Some(&usage(p, s)), 1000);
        assert_eq!(a(window(10.0, None), window(20.0, None)), Availability::Available);
        assert_eq!(a(window(10.0, None), None), Availability::SingleWindow);
        assert_eq!(a(None, window(10.0, None)), Availability::SingleWindow);
        assert!(
            matches!(a(window(100.0, Some(2000)), window(1.0, None)), Availability::Unavailable(r) if r.contains("5-hour"))
        );
        assert!(
            matches!(a(window(1.0, None), window(100.0, None)), Availability::Unavailable(r) if r.contains("weekly"))
        );
        assert_eq!(a(window(100.0, Some(999)), window(1.0, None)), Availability::Available, "reset passed");
        assert_eq!(a(None, None), Availability::Unknown);
    }

    /// Every pairing of the four states a window can be in: missing, with room, exhausted,
    /// and exhausted but past its reset time.
    #[test]
    fn every_pairing_of_missing_open_exhausted_and_reset_windows() {
        let (now, later, earlier) = (1000, 2000, 999);
        let missing = None;
        let open = window(40.0, Some(later));
        let full = window(100.0, Some(later));
        let reset = window(100.0, Some(earlier));
        let five_hours = || Availability::Unavailable("5-hour window exhausted".into());
        let weekly = || Availability::Unavailable("weekly window exhausted".into());
        let table = [
            (missing, missing, Availability::Unknown),
            (missing, open, Availability::SingleWindow),
            (missing, full, weekly()),
            (missing, reset, Availability::SingleWindow),
            (open, missing, Availability::SingleWindow),
            (open, open, Availability::Available),
            (open, full, weekly()),
            (open, reset, Availability::Available),
            (full, missing, five_hours()),
            (full, open, five_hours()),
            (full, full, five_hours()),
            (full, reset, five_hours()),
            (reset, missing, Availability::SingleWindow),
            (reset, open, Availability::Available),
            (reset, full, weekly()),
            (reset, reset, Availability::Available),
        ];
        for (i, (primary, secondary, expected)) in table.into_iter().enumerate() {
            let got = Availability::of(AccountStatus::Active, None, Some(&usage(primary, secondary)), now);
            assert_eq!(got, expected, "row {i}: primary {primary:?}, secondary {secondary:?}");
            assert_eq!(got.is_routable(), !matches!(expected, Availability::Unavailable(_)), "row {i}");
        }
        let limited = UsageSnapshot { limit_reached: Some(true), ..usage(None, None) };
        assert_eq!(
            Availability::of(AccountStatus::Active, None, Some(&limited), now),
            Availability::Unavailable("usage limit reached".into())
        );
    }

    #[test]
    fn status_overrides_usage_and_no_usage_is_unknown_but_routable() {
        let full = usage(window(1.0, None), window(1.0, None));
        assert_eq!(
            Availability::of(AccountStatus::Disabled, None, Some(&full), 0),
            Availability::Unavailable("disabled".into())
        );
        assert_eq!(
            Availability::of(AccountStatus::Unavailable, Some("refresh_token_reused"), Some(&full), 0),
            Availability::Unavailable("refresh_token_reused".into())
        );
        let unknown = Availability::of(AccountStatus::Active, None, None, 0);
        assert_eq!(unknown, Availability::Unknown);
        assert!(unknown.is_routable());
    }
}
