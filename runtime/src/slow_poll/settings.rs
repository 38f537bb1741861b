//! Whether the hooks are on, and the detector's threshold: read by every hook first.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// On while the detector or the console is: every hook checks this first.
pub(super) static ENABLED: AtomicBool = AtomicBool::new(false);
/// The console is on: keep what it shows (completed tasks, histograms).
pub(super) static CONSOLE: AtomicBool = AtomicBool::new(false);
/// The detector's threshold; `u64::MAX` while only the console is on (nothing is reported).
pub(super) static THRESHOLD_NANOS: AtomicU64 = AtomicU64::new(u64::MAX);

/// Whether the detector or the console is on.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether the console is on.
pub(crate) fn console_enabled() -> bool {
    CONSOLE.load(Ordering::Relaxed)
}

/// `10ms`, `500us` (or `µs`), `2s`, `100ns`; a bare number is milliseconds.
pub(super) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "" | "ms" => Some(Duration::from_millis(number)),
        "us" | "µs" => Some(Duration::from_micros(number)),
        "ns" => Some(Duration::from_nanos(number)),
        "s" => Some(Duration::from_secs(number)),
        _ => None,
    }
}

/// The detector's threshold, if it is on.
pub(crate) fn threshold() -> Option<Duration> {
    let nanos = THRESHOLD_NANOS.load(Ordering::Relaxed);
    (nanos != u64::MAX).then(|| Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_units() {
        assert_eq!(parse_duration("10ms"), Some(Duration::from_millis(10)));
        assert_eq!(parse_duration("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("500us"), Some(Duration::from_micros(500)));
        assert_eq!(parse_duration("500µs"), Some(Duration::from_micros(500)));
        assert_eq!(parse_duration(" 2s "), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("100ns"), Some(Duration::from_nanos(100)));
        assert_eq!(parse_duration("ten ms"), None);
        assert_eq!(parse_duration("10 minutes"), None);
        assert_eq!(parse_duration(""), None);
    }
}
