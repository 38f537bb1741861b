//! [`Sleep`]: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::Instant;
use crate::context;
use crate::scheduler::Handle;
use crate::timer::{ShutDown, TimerKey};

/// Waits until `duration` has elapsed. Tokio's `time::sleep`.
///
/// The sleep wakes as close after its deadline as the kernel allows (tens of microseconds on
/// an idle machine), never before it. A zero duration completes on the first poll. The
/// deadline is on the runtime's clock ([`Instant::now`]), so in paused time
/// ([`pause`](super::pause)) a sleep ends when that clock gets there.
///
/// ```
/// # minirt::runtime::Runtime::new().unwrap().block_on(async {
/// use minirt::time::{Duration, Instant};
/// let start = Instant::now();
/// minirt::time::sleep(Duration::from_millis(2)).await;
/// assert!(start.elapsed() >= Duration::from_millis(2));
/// # });
/// ```
///
/// # Panics
/// When created outside a runtime. The sleep registers its timer with the runtime it is
/// first polled in, when it has to wait (so it must be polled inside one too).
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(deadline_after(duration))
}

/// Waits until `deadline`. Tokio's `time::sleep_until`.
///
/// # Panics
/// Outside a runtime, like [`sleep`].
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// `now + duration`, or a deadline about thirty years away when that overflows `Instant`
/// (tokio's "far future"): a sleep that long is a sleep forever.
pub(crate) fn deadline_after(duration: Duration) -> Instant {
    Instant::now().saturating_add(duration)
}

pin_project! {
    /// The future returned by [`sleep`] and [`sleep_until`].
    ///
    /// It registers a timer with its runtime on the first poll that finds the deadline still
    /// ahead, and removes it when it completes or is dropped, so a `Sleep` that is dropped early
    /// (a lost `select!` branch, a `timeout` whose future won) leaves nothing behind. A `Sleep`
    /// that is never polled (a `timeout` whose future was ready at once) costs a clock read and
    /// nothing else: it takes its runtime handle only when it registers, from the runtime it is
    /// polled in. (tokio's takes the handle at creation, so it can also be polled outside any
    /// runtime; minirt's must be polled inside one, as every task is.)
    ///
    /// Like tokio's, a `Sleep` is `!Unpin`: await it directly, or pin it to poll it by hand or
    /// to `reset` it (`std::pin::pin!(sleep(d))`, or `Box::pin` to keep it in a struct). Its
    /// timer is not intrusive today (the timer wheel holds its own entry), so nothing here
    /// needs the pin yet; the promise is tokio's, so that code written against minirt compiles
    /// against tokio (and the other way round), and so that the timer entry may move into the
    /// `Sleep` later without breaking anyone.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Sleep {
        deadline: Instant,
        // The registered timer and the runtime that holds it, between the first `Pending` poll
        // and completion or drop.
        timer: Option<(Handle, TimerKey)>,
        elapsed: bool,
        // Makes `Sleep` `!Unpin`, as tokio's (see above).
        #[pin]
        _pinned: PhantomPinned,
    }

    impl PinnedDrop for Sleep {
        fn drop(this: Pin<&mut Self>) {
            if let Some((shared, timer)) = this.project().timer.take() {
                shared.timers().remove(timer);
            }
        }
    }
}

const OUTSIDE_A_RUNTIME: &str = tokio_words!(
    "there is no reactor running, must be called from the context of a Tokio 1.x runtime",
    "minirt::time used outside a minirt runtime: a sleep, timeout \
     or interval needs a runtime to wake it. Create and await it inside a task or \
     `Runtime::block_on` (or `#[minirt::main]`), or enter a runtime with `Runtime::enter`"
);

/// tokio's words but the name, so that a test ported from tokio recognises the panic.
const SHUT_DOWN: &str = tokio_words!(
    "A Tokio 1.x context was found, but it is being shutdown.",
    "A minirt context was found, but it is being shutdown: the runtime \
     this sleep (or timeout, or interval) belongs to has shut down, and nothing will fire its \
     timer any more"
);

impl Sleep {
    #[track_caller]
    pub(crate) fn new(deadline: Instant) -> Sleep {
        if !context::in_runtime() {
            panic!("{OUTSIDE_A_RUNTIME}");
        }
        Sleep { deadline, timer: None, elapsed: false, _pinned: PhantomPinned }
    }

    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the sleep has completed, or its timer has fired (tokio's meaning: a sleep
    /// never polled, or not since its deadline passed, is not elapsed yet, even if the clock
    /// is past its deadline).
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
            || self.timer.as_ref().is_some_and(|(shared, timer)| shared.timers().has_fired(timer))
    }

    /// Moves the deadline, earlier or later, whether or not the sleep has completed: it then
    /// completes at the new deadline, and the task that last polled it is woken then (at
    /// once if the new deadline has passed).
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        *this.deadline = deadline;
        *this.elapsed = false;
        // Unregistered (never polled, or completed): the next poll registers the new deadline.
        if let Some((shared, timer)) = this.timer {
            let timers = shared.timers();
            if timers.reset(timer, deadline.into_std(), timers.now()) {
                shared.unpark();
            }
        }
    }

    /// `poll` without spending the task's cooperative budget: `Timeout` uses it so that a
    /// future which exhausts the budget can still time out.
    pub(crate) fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.elapsed {
            return Poll::Ready(());
        }
        let fired = match this.timer {
            Some((shared, timer)) => match shared.timers().poll(timer, cx.waker()) {
                Ok(poll) => poll.is_ready(),
                Err(ShutDown) => panic!("{SHUT_DOWN}"),
            },
            None => {
                if Instant::now() >= *this.deadline {
                    true
                } else {
                    let shared =
                        context::try_current().unwrap_or_else(|| panic!("{OUTSIDE_A_RUNTIME}"));
                    let Ok((timer, earliest)) =
                        shared.timers().insert(this.deadline.into_std(), cx.waker())
                    else {
                        panic!("{SHUT_DOWN}")
                    };
                    if earliest {
                        // A loop parked on another thread with a later timeout must recompute
                        // it; on the loop's own thread this is a no-op.
                        shared.unpark();
                    }
                    *this.timer = Some((shared, timer));
                    false
                }
            }
        };
        if !fired {
            return Poll::Pending;
        }
        if let Some((shared, timer)) = this.timer.take() {
            shared.timers().remove(timer);
        }
        *this.elapsed = true;
        Poll::Ready(())
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A loop of zero-length sleeps must still let other tasks run.
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        self.poll_elapsed(cx)
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.timer.is_some())
            .finish()
    }
}
