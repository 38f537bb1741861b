//! The public face of the runtime's clock: `Instant::now` (the paused clock of the runtime this
//! thread is in, or the system clock), and [`pause`], [`resume`], [`advance`], which find the
//! runtime's timers through the context and act on their `clock::Clock`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::context;
use crate::timer::clock::EVER_PAUSED;
use crate::timer::Timers;

const OUTSIDE_A_RUNTIME: &str = "time cannot be frozen from outside the minirt runtime";

/// `Instant::now`: the clock of the runtime this thread is in, the system clock outside one.
#[inline]
pub(crate) fn now() -> std::time::Instant {
    if !EVER_PAUSED.load(Ordering::Relaxed) {
        return std::time::Instant::now();
    }
    now_in_context()
}

#[cold]
fn now_in_context() -> std::time::Instant {
    match context::try_current() {
        Some(handle) => handle.timers().clock().now(),
        None => std::time::Instant::now(),
    }
}

/// Runs `f` on the current runtime's timers and panics with its error, at the caller.
#[track_caller]
fn with_clock<R>(f: impl FnOnce(&Timers) -> Result<R, &'static str>) -> R {
    let result = match context::try_current() {
        Some(handle) => f(handle.timers()),
        None => Err(OUTSIDE_A_RUNTIME),
    };
    match result {
        Ok(value) => value,
        Err(message) => panic!("{message}"),
    }
}

/// Pauses time: the runtime's clock stops, and [`Instant::now`](super::Instant::now) returns
/// the same instant until [`advance`] moves it, or until the runtime, with nothing to run but
/// timers, skips straight to the earliest one (auto-advance). Tokio's `time::pause`.
///
/// Sleeps, timeouts and intervals all measure paused time, so a test of an hour-long timeout
/// runs in microseconds and sees exactly an hour pass. Auto-advance waits while
/// `spawn_blocking` work is running (it takes real time), and never skips I/O that is ready.
///
/// ```
/// # minirt::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use minirt::time::{self, Duration, Instant};
/// time::pause();
/// let start = Instant::now();
/// time::sleep(Duration::from_secs(3600)).await; // returns at once
/// assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// # });
/// ```
///
/// # Panics
/// Outside a runtime, on a multi-thread runtime, or if time is already paused (tokio's
/// messages).
#[track_caller]
pub fn pause() {
    with_clock(|timers| timers.clock().pause());
}

/// Resumes time after [`pause`]: the clock runs again from the instant it shows (advances
/// are kept, so time never goes backwards). Tokio's `time::resume`.
///
/// # Panics
/// Outside a runtime, or if time is not paused.
#[track_caller]
pub fn resume() {
    with_clock(|timers| timers.clock().resume());
}

/// Moves paused time forward by `duration`, fires every timer that is then due, and yields,
/// so that the tasks those timers woke run before this returns. Tokio's `time::advance`.
///
/// ```
/// # minirt::runtime::Builder::new_current_thread().start_paused(true).build().unwrap()
/// #     .block_on(async {
/// use minirt::time::{self, Duration, Instant};
/// let start = Instant::now();
/// time::advance(Duration::from_secs(5)).await;
/// assert_eq!(start.elapsed(), Duration::from_secs(5));
/// # });
/// ```
///
/// # Panics
/// Outside a runtime, or if time is not paused.
pub async fn advance(duration: Duration) {
    with_clock(|timers| {
        timers.clock().advance(duration)?;
        // Fired here, not on the loop's next turn, so the woken tasks are queued ahead of this
        // one's `yield_now` and run first.
        let mut wakers = Vec::new();
        timers.fire_due(timers.now(), &mut wakers);
        // Outside the timers' lock: a woken task's waker may register or drop timers. A waker
        // that panics does not keep the others asleep; its panic goes on to this task.
        if let Some(payload) = crate::wake::wake_all(&mut wakers) {
            std::panic::resume_unwind(payload);
        }
        Ok(())
    });
    crate::task::yield_now().await;
}
