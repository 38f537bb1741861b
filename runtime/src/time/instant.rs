//! [`Instant`]: a point in time on the runtime's clock. Tokio's `time::Instant`.
//!
//! A thin wrapper over `std::time::Instant` whose [`Instant::now`] reads the clock of the
//! runtime the thread is in (see `timer/clock.rs`), which is the system clock unless a test paused it
//! with [`pause`](super::pause). Everything else is plain arithmetic on the wrapped instant, so
//! the wrapper costs nothing: `now` outside paused time is `std::time::Instant::now` behind
//! one relaxed load of a process-wide flag.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A measurement of a monotonically nondecreasing clock: the runtime's. Tokio's
/// `time::Instant`.
///
/// The same as `std::time::Instant` except for [`Instant::now`] (and what builds on it,
/// [`Instant::elapsed`]): in a runtime whose clock is paused ([`pause`](super::pause),
/// `#[minirt::test(start_paused = true)]`) it returns the frozen time, which moves only with
/// [`advance`](super::advance) or when the idle runtime skips ahead to its next timer.
/// [`sleep_until`](super::sleep_until), [`timeout_at`](super::timeout_at),
/// [`interval_at`](super::interval_at) and [`Interval`](super::Interval) take and return this
/// type; convert with [`Instant::from_std`] / [`Instant::into_std`] or `From`.
///
/// ```
/// # minirt::runtime::Runtime::new().unwrap().block_on(async {
/// use minirt::time::{Duration, Instant};
/// let start = Instant::now();
/// minirt::time::sleep(Duration::from_millis(1)).await;
/// assert!(start.elapsed() >= Duration::from_millis(1));
/// let std: std::time::Instant = start.into_std();
/// assert_eq!(Instant::from_std(std), start);
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    std: std::time::Instant,
}

impl Instant {
    /// The current time on the runtime's clock: the system's monotonic clock, or the frozen
    /// time of a paused runtime this thread is in.
    #[inline]
    pub fn now() -> Instant {
        Instant { std: super::paused::now() }
    }

    /// Wraps a `std::time::Instant`.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The wrapped `std::time::Instant`.
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later (as tokio's, which
    /// saturates rather than panics).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// The time since `self`, on the runtime's clock ([`Instant::now`]`() - self`); zero if
    /// `self` is in the future.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` if that is not representable.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if that is not representable.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }

    /// About thirty years from `self` (tokio's "far future"): the deadline of a sleep whose
    /// duration overflows `Instant`, that is, a sleep forever.
    pub(crate) fn far_future(self) -> Instant {
        let thirty_years = Duration::from_secs(60 * 60 * 24 * 365 * 30);
        self.checked_add(thirty_years).unwrap_or(self)
    }

    /// `self + duration`, or [`Instant::far_future`] when that overflows.
    pub(crate) fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration).unwrap_or_else(|| self.far_future())
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.into_std()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    /// If the result is not representable (as `std::time::Instant`'s).
    fn add(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    /// If the result is not representable (as `std::time::Instant`'s).
    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// The time from `rhs` to `self`; zero if `rhs` is later (as tokio's).
    fn sub(self, rhs: Instant) -> Duration {
        self.std.saturating_duration_since(rhs.std)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_matches_std_and_saturates_where_tokio_does() {
        let base = std::time::Instant::now();
        let a = Instant::from_std(base);
        let b = a + Duration::from_millis(5);
        assert_eq!(b.into_std(), base + Duration::from_millis(5));
        assert_eq!(b - a, Duration::from_millis(5));
        assert_eq!(a - b, Duration::ZERO, "Instant - later Instant saturates");
        assert_eq!(a.duration_since(b), Duration::ZERO);
        assert_eq!(a.checked_duration_since(b), None);
        assert_eq!(b.checked_sub(Duration::from_millis(5)), Some(a));
        let mut c = a;
        c += Duration::from_secs(1);
        c -= Duration::from_secs(1);
        assert_eq!(c, a);
        assert_eq!(std::time::Instant::from(Instant::from(base)), base);
        assert_eq!(format!("{a:?}"), format!("{base:?}"));
        assert!(a.saturating_add(Duration::MAX) > a, "an overflowing deadline is far away");
    }
}
