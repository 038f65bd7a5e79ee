//! How numbers, times and durations read in the window: local date-times, "resets in 2h 13m",
//! compact token counts. Pure functions of their input (and the current language).

use chrono::{Local, TimeZone};

use super::i18n::{Lang, T, lang};

/// A Unix-milliseconds instant as local `YYYY-MM-DD HH:MM:SS`.
pub fn datetime_ms(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms).single() {
        Some(at) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => "–".into(),
    }
}

/// A local `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DD` (midnight) as Unix milliseconds.
pub fn parse_local(text: &str) -> Option<i64> {
    let text = text.trim();
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN)))
        .ok()?;
    Local.from_local_datetime(&naive).earliest().map(|t| t.timestamp_millis())
}

/// A Unix-seconds instant as local `YYYY-MM-DD HH:MM`.
pub fn datetime_secs(secs: i64) -> String {
    match Local.timestamp_opt(secs, 0).single() {
        Some(at) => at.format("%Y-%m-%d %H:%M").to_string(),
        None => "–".into(),
    }
}

/// A local time of day `HH:MM:SS` for a Unix-milliseconds instant.
pub fn time_ms(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms).single() {
        Some(at) => at.format("%m-%d %H:%M:%S").to_string(),
        None => "–".into(),
    }
}

/// A span of seconds as "3d 4h", "2h 13m", "13m" or "45s", and how many seconds until that
/// text changes (so a countdown repaints only when it would read differently).
pub fn span(secs: i64) -> (String, u64) {
    let secs = secs.max(0);
    let (d, h, m, s) = (secs / 86_400, (secs % 86_400) / 3_600, (secs % 3_600) / 60, secs % 60);
    let zh = lang() == Lang::Zh;
    let unit = |n: i64, en: &str, zh_unit: &str| if zh { format!("{n}{zh_unit}") } else { format!("{n}{en}") };
    if d > 0 {
        (format!("{} {}", unit(d, "d", "天"), unit(h, "h", "小时")), (secs % 3_600 + 1) as u64)
    } else if h > 0 {
        (format!("{} {}", unit(h, "h", "小时"), unit(m, "m", "分")), (s + 1) as u64)
    } else if m > 0 {
        (unit(m, "m", "分钟"), (s + 1) as u64)
    } else {
        (unit(s, "s", "秒"), 1)
    }
}

/// "resets in 2h 13m" for a reset instant (Unix seconds) seen at `now`; requests a repaint
/// for when the text will change.
pub fn resets_in(ctx: &egui::Context, resets_at: i64, now: i64) -> String {
    if resets_at <= now {
        return T::ResetDue.tr().to_string();
    }
    let (text, change_in) = span(resets_at - now);
    ctx.request_repaint_after(std::time::Duration::from_secs(change_in));
    T::ResetsIn.fill(&[&text])
}

/// A count with thousands separators: 1,234,567.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count in three figures at most, for tight spaces: 950, 1K, 2.5M, 371K.
pub fn short(n: i64) -> String {
    let a = (n as f64).abs();
    let (value, suffix) = if a >= 1e9 {
        (n as f64 / 1e9, "B")
    } else if a >= 1e6 {
        (n as f64 / 1e6, "M")
    } else if a >= 1e3 {
        (n as f64 / 1e3, "K")
    } else {
        return n.to_string();
    };
    if value.abs() >= 9.95 {
        format!("{value:.0}{suffix}")
    } else {
        format!("{}{suffix}", format!("{value:.1}").trim_end_matches(".0"))
    }
}

/// A large count shortened: 950, 12.3K, 4.56M, 1.2B.
pub fn compact(n: i64) -> String {
    let v = n as f64;
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}K", v / 1e3)
    } else {
        count(n)
    }
}

/// Milliseconds as "850 ms" or "12.3 s".
pub fn millis(ms: i64) -> String {
    if ms >= 10_000 {
        format!("{:.0} s", ms as f64 / 1000.0)
    } else if ms >= 1_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_counts_keep_three_figures() {
        let cases = [(950, "950"), (1_000, "1K"), (370_600, "371K"), (2_000_000, "2M"), (2_500_000, "2.5M")];
        for (n, text) in cases {
            assert_eq!(short(n), text, "{n}");
        }
        assert_eq!(short(9_960), "10K");
    }
    use crate::ui::i18n::set_lang;

    #[test]
    fn spans_read_naturally_and_say_when_they_change() {
        set_lang(Lang::En);
        assert_eq!(span(45), ("45s".into(), 1));
        assert_eq!(span(13 * 60 + 20), ("13m".into(), 21));
        assert_eq!(span(2 * 3600 + 13 * 60 + 5), ("2h 13m".into(), 6));
        assert_eq!(span(3 * 86_400 + 4 * 3600 + 10), ("3d 4h".into(), 11));
        set_lang(Lang::Zh);
        assert_eq!(span(2 * 3600 + 13 * 60).0, "2小时 13分");
        set_lang(Lang::En);
    }

    #[test]
    fn numbers_group_and_shorten() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-1000), "-1,000");
        assert_eq!(count(999), "999");
        assert_eq!(compact(12_345), "12.3K");
        assert_eq!(compact(4_560_000), "4.56M");
        assert_eq!(millis(850), "850 ms");
        assert_eq!(millis(12_345), "12 s");
        assert_eq!(millis(1_234), "1.2 s");
    }
}
