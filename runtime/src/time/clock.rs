//! The runtime's clock, which a test can pause: [`pause`], [`resume`], [`advance`] and
//! `Builder::start_paused`. Tokio's `test-util` clock.
//!
//! Every runtime has one `Clock` (inside its `Timers`). It reads the system's monotonic clock
//! until it is paused; from then on its time moves only when told to:
//!
//! ```text
//!  Instant::now() ── EVER_PAUSED (one relaxed load)? ── no ──► std::time::Instant::now()
//!       │ yes
//!       ▼
//!  the runtime this thread is in ──► its Clock::now()  ── paused? ──► base (frozen)
//!                                                       └ running ──► base + time since resume
//!
//!  sleep(d): deadline = Instant::now() + d    on the clock, so a paused sleep ends at
//!                                             frozen time + d, not at wall-clock time + d
//!
//!  the loop, idle (current_thread.rs `park`): Clock::park(time to the earliest timer)
//!       Sleep(timeout)   not paused: epoll_wait up to the timeout, as always
//!       AutoAdvance      paused: epoll_wait(0) for I/O; still idle? then
//!                        Timers::auto_advance: clock := earliest deadline
//!                        ──► fire_due(clock.now()) wakes that timer's task at once
//!
//!  advance(d): clock += d, fire the timers now due (their tasks are queued), yield_now so
//!              they run before the caller goes on
//! ```
//!
//! So in paused time a test that sleeps an hour finishes at once, yet sees exactly an hour
//! pass, and two runs of it see the same times (`paused_time_is_deterministic`).
//!
//! Auto-advance is held back while the runtime's blocking pool has work (queued or running
//! `spawn_blocking` closures, as tokio's `inhibit_auto_advance`): that work is real and takes
//! real time, and skipping the clock past it would fire every timeout around it. The loop then
//! sleeps in real time, waking every `RECHECK_WHILE_BLOCKING` to see whether the pool is done
//! (the pool does not tell the loop when a thread goes idle, only when a task completes).
//!
//! Only a current-thread runtime can be paused, as in tokio: with several workers "idle" would
//! need every worker to agree, and time would jump under tasks still running on another
//! thread.
//!
//! # Why the API is always there
//!
//! tokio compiles its paused clock only with the `test-util` feature, so that release builds
//! pay nothing for it. minirt's costs nothing either way: until some runtime in the process is
//! paused, [`Instant::now`](super::Instant::now) is `std::time::Instant::now` behind one relaxed
//! load of a process-wide flag, and the loop checks one per-runtime flag before it parks. So
//! `pause`, `resume`, `advance` and `start_paused` are always available, and the `test-util`
//! feature of `minirt` and `minirt-runtime` exists only so that a port's
//! `features = ["test-util"]` resolves; it enables nothing. The gain: `cargo test` needs no
//! feature flags, and code cannot compile in one build of a workspace and not in another
//! because some dependency turned `test-util` on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::context;
use crate::scheduler::blocking::BlockingPool;
use crate::scheduler::Handle;

/// Set by the first `pause` of any runtime in the process, never cleared. Until then
/// `Instant::now` is the system clock with no thread-local access: this is the check on the
/// hot path of every sleep. Relaxed is enough: it only says whether to look at a runtime's
/// clock at all, and a runtime pauses its clock from its own thread (or one it synchronised
/// with through the task that called `pause`).
static EVER_PAUSED: AtomicBool = AtomicBool::new(false);

/// While auto-advance is held back by blocking work, how long an idle paused loop sleeps
/// before it looks at the blocking pool again.
const RECHECK_WHILE_BLOCKING: Duration = Duration::from_millis(1);

/// tokio's words for the panics, "Tokio" renamed, so ported tests recognise them.
const OUTSIDE_A_RUNTIME: &str = "time cannot be frozen from outside the minirt runtime";
const NOT_CURRENT_THREAD: &str = "`time::pause()` requires the `current_thread` minirt runtime. \
     This is the default Runtime used by `#[minirt::test]`.";
const ALREADY_FROZEN: &str = "time is already frozen";
const NOT_FROZEN: &str = "time is not frozen";

/// One runtime's clock.
pub(crate) struct Clock {
    /// Set by this clock's first pause, never cleared: until then `now` is the system clock,
    /// read without the lock.
    shifted: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Only a current-thread runtime's clock can be paused.
    pausable: bool,
    /// The clock's time when it was last paused or resumed, plus every advance since.
    base: std::time::Instant,
    /// The system time at the last resume; `None` while paused.
    unfrozen: Option<std::time::Instant>,
}

/// What an idle loop does instead of sleeping until its earliest timer; see [`Clock::park`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Park {
    /// Sleep in the kernel up to this long (`None`: until an event or a wake).
    Sleep(Option<Duration>),
    /// The clock is paused and may jump: look at I/O without blocking and, if the loop is
    /// still idle, call `Timers::auto_advance`.
    AutoAdvance,
}

impl Clock {
    /// A running clock, that cannot be paused until [`Clock::allow_pausing`].
    pub(crate) fn new() -> Clock {
        let now = std::time::Instant::now();
        Clock {
            shifted: AtomicBool::new(false),
            inner: Mutex::new(Inner { pausable: false, base: now, unfrozen: Some(now) }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics under this lock (the panics below come after it is released).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets [`pause`] stop this clock: the current-thread runtime's builder calls it.
    pub(crate) fn allow_pausing(&self) {
        self.lock().pausable = true;
    }

    /// The clock's time.
    #[inline]
    pub(crate) fn now(&self) -> std::time::Instant {
        if !self.shifted.load(Ordering::Acquire) {
            return std::time::Instant::now();
        }
        let inner = self.lock();
        match inner.unfrozen {
            Some(unfrozen) => inner.base + unfrozen.elapsed(),
            None => inner.base,
        }
    }

    /// Whether the clock is paused now.
    pub(crate) fn is_paused(&self) -> bool {
        self.shifted.load(Ordering::Acquire) && self.lock().unfrozen.is_none()
    }

    /// Stops the clock at its current time.
    pub(crate) fn pause(&self) -> Result<(), &'static str> {
        let mut inner = self.lock();
        if !inner.pausable {
            return Err(NOT_CURRENT_THREAD);
        }
        let Some(unfrozen) = inner.unfrozen else { return Err(ALREADY_FROZEN) };
        inner.base += unfrozen.elapsed();
        inner.unfrozen = None;
        self.shifted.store(true, Ordering::Release);
        EVER_PAUSED.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Lets the clock run again from where it stands (advances included).
    fn resume(&self) -> Result<(), &'static str> {
        let mut inner = self.lock();
        if inner.unfrozen.is_some() {
            return Err(NOT_FROZEN);
        }
        inner.unfrozen = Some(std::time::Instant::now());
        Ok(())
    }

    /// Moves a paused clock forward by `duration`.
    fn advance(&self, duration: Duration) -> Result<(), &'static str> {
        let mut inner = self.lock();
        if inner.unfrozen.is_some() {
            return Err(NOT_FROZEN);
        }
        inner.base = inner
            .base
            .checked_add(duration)
            .ok_or("time::advance: the clock would overflow `Instant`")?;
        Ok(())
    }

    /// Moves a paused clock forward to `deadline` (auto-advance); no-op if it is already past
    /// it, or running.
    pub(crate) fn advance_to(&self, deadline: std::time::Instant) {
        let mut inner = self.lock();
        if inner.unfrozen.is_none() && deadline > inner.base {
            inner.base = deadline;
        }
    }

    /// The park decision of an idle loop whose earliest timer is `timeout` away (`None`: no
    /// timer): sleep that long, or, when paused, skip ahead instead (see the module docs).
    pub(crate) fn park(&self, timeout: Option<Duration>, blocking: &BlockingPool) -> Park {
        let Some(timeout) = timeout else { return Park::Sleep(None) };
        if !self.is_paused() {
            return Park::Sleep(Some(timeout));
        }
        if blocking.is_busy() {
            Park::Sleep(Some(timeout.min(RECHECK_WHILE_BLOCKING)))
        } else {
            Park::AutoAdvance
        }
    }
}

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

/// Runs `f` on the current runtime's handle and panics with its error, at the caller.
#[track_caller]
fn with_clock<R>(f: impl FnOnce(&Handle) -> Result<R, &'static str>) -> R {
    let result = match context::try_current() {
        Some(handle) => f(&handle),
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
    with_clock(|handle| handle.timers().clock().pause());
}

/// Resumes time after [`pause`]: the clock runs again from the instant it shows (advances
/// are kept, so time never goes backwards). Tokio's `time::resume`.
///
/// # Panics
/// Outside a runtime, or if time is not paused.
#[track_caller]
pub fn resume() {
    with_clock(|handle| handle.timers().clock().resume());
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
    with_clock(|handle| {
        let timers = handle.timers();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_clock_stands_still_until_advanced_and_resumes_from_there() {
        let clock = Clock::new();
        assert_eq!(clock.pause(), Err(NOT_CURRENT_THREAD));
        clock.allow_pausing();
        assert!(!clock.is_paused());
        assert_eq!(clock.advance(Duration::from_secs(1)), Err(NOT_FROZEN));
        clock.pause().expect("pausable");
        assert_eq!(clock.pause(), Err(ALREADY_FROZEN));
        let frozen = clock.now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(clock.now(), frozen);
        clock.advance(Duration::from_secs(10)).expect("paused");
        assert_eq!(clock.now(), frozen + Duration::from_secs(10));
        clock.advance_to(frozen);
        assert_eq!(clock.now(), frozen + Duration::from_secs(10), "never backwards");
        clock.resume().expect("paused");
        assert_eq!(clock.resume(), Err(NOT_FROZEN));
        assert!(clock.now() >= frozen + Duration::from_secs(10));
        assert!(!clock.is_paused());
    }

    #[test]
    fn park_sleeps_unless_paused_and_waits_for_blocking_work() {
        let clock = Clock::new();
        clock.allow_pausing();
        let pool = BlockingPool::new(1, Duration::from_secs(10), test_thread_config());
        let hour = Some(Duration::from_secs(3600));
        assert_eq!(clock.park(hour, &pool), Park::Sleep(hour));
        clock.pause().expect("pausable");
        assert_eq!(clock.park(None, &pool), Park::Sleep(None), "no timer: nothing to skip to");
        assert_eq!(clock.park(hour, &pool), Park::AutoAdvance);
    }

    fn test_thread_config() -> crate::scheduler::blocking::ThreadConfig {
        crate::scheduler::blocking::ThreadConfig {
            runtime_name: None,
            name: std::sync::Arc::new(|| "clock-test".to_owned()),
            stack_size: None,
            on_start: None,
            on_stop: None,
            on_park: None,
            on_unpark: None,
        }
    }
}
