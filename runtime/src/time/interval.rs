//! [`Interval`]: ticks at a fixed period.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::sleep::{deadline_after, Sleep};
use super::Instant;

/// A tick this much later than scheduled counts as missed and is handled by the
/// [`MissedTickBehavior`]. Below it, lateness is scheduling jitter and the schedule holds
/// (tokio uses the same 5 ms), so `Delay` does not drift by a few microseconds every tick.
const MISSED_TICK_TOLERANCE: Duration = Duration::from_millis(5);

/// Ticks every `period`, the first tick completing at once. Tokio's `time::interval`.
///
/// ```
/// # minirt::runtime::Runtime::new().unwrap().block_on(async {
/// use minirt::time::Duration;
/// let mut interval = minirt::time::interval(Duration::from_millis(1));
/// let first = interval.tick().await; // at once
/// let second = interval.tick().await; // 1 ms after the first
/// assert_eq!(second - first, Duration::from_millis(1));
/// # });
/// ```
///
/// # Panics
/// If `period` is zero, or outside a runtime.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`. Tokio's `time::interval_at`.
///
/// # Panics
/// If `period` is zero, or outside a runtime.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        delay: Box::pin(Sleep::new(start)),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when a tick is late (the task was busy, or the machine was).
///
/// With a period of 10 ms whose ticks are due at 10, 20, 30, 40 ms, and a task that only gets
/// to the tick due at 10 ms at 35 ms:
///
/// | behaviour | the next ticks complete at                                |
/// |-----------|-----------------------------------------------------------|
/// | `Burst`   | 35, 35, 35 (catching up on 20 and 30), then 40, 50, ...   |
/// | `Delay`   | 35, then 45, 55, ... (the schedule restarts from now)     |
/// | `Skip`    | 35, then 40, 50, ... (missed ticks are dropped)           |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks as fast as possible, then return to the original schedule.
    #[default]
    Burst,
    /// Schedule the next tick one period after the late one.
    Delay,
    /// Drop the missed ticks and fire at the next multiple of the period on the original
    /// schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick that was due at `due` and completed late, at `now`. A
    /// deadline past what `Instant` can hold is the far future (a period of `Duration::MAX`
    /// ticks once).
    fn next_deadline(self, due: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => due.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let late = (now - due).as_nanos() % period.as_nanos();
                // `late < period`, so it fits in the u64 nanoseconds of a Duration.
                let until_next = period - Duration::from_nanos(late as u64);
                now.saturating_add(until_next)
            }
        }
    }
}

/// The ticker returned by [`interval`] and [`interval_at`]; also a [`Stream`] of tick
/// instants that never ends.
#[derive(Debug)]
pub struct Interval {
    /// Completes at the next tick's deadline. Boxed, as in tokio, so that an `Interval` is
    /// `Unpin` (`tick(&mut self)` needs no pinning) though a `Sleep` is not.
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for. Cancel-safe:
    /// dropping the future before it completes loses no tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; `Ready(instant it was scheduled for)` when it is due.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.delay.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.delay.deadline();
        let now = Instant::now();
        let next = if now > due.saturating_add(MISSED_TICK_TOLERANCE) {
            self.missed_tick_behavior.next_deadline(due, now, self.period)
        } else {
            due.saturating_add(self.period)
        };
        // The sleep just completed and dropped its timer, so this only records the deadline
        // (tokio's `reset_without_reregister`): a tick returned `Ready` wakes no one, and the
        // next poll registers the timer, or finds the deadline passed.
        self.delay.as_mut().reset(next);
        Poll::Ready(due)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.delay.as_mut().reset(deadline_after(self.period));
    }

    /// Restarts the schedule with a tick due now.
    pub fn reset_immediately(&mut self) {
        self.delay.as_mut().reset(Instant::now());
    }

    /// Restarts the schedule with the next tick `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.delay.as_mut().reset(deadline_after(after));
    }

    /// Restarts the schedule with the next tick at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// The time between two ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What the interval does when ticks were missed.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what the interval does when ticks were missed.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_deadline_follows_the_table_in_the_docs() {
        let base = Instant::now();
        let ms = Duration::from_millis;
        let (due, now, period) = (base + ms(10), base + ms(35), ms(10));
        assert_eq!(MissedTickBehavior::Burst.next_deadline(due, now, period), base + ms(20));
        assert_eq!(MissedTickBehavior::Delay.next_deadline(due, now, period), base + ms(45));
        assert_eq!(MissedTickBehavior::Skip.next_deadline(due, now, period), base + ms(40));
        // Exactly on a multiple of the period, Skip waits a whole period.
        let on_beat = base + ms(30);
        assert_eq!(MissedTickBehavior::Skip.next_deadline(due, on_beat, period), base + ms(40));
    }
}
