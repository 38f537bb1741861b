//! [`timeout`]: a future with a deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::error::Elapsed;
use super::sleep::{deadline_after, Sleep};
use super::Instant;

/// Runs `future`, giving up after `duration`. Tokio's `time::timeout`.
///
/// Resolves to `Ok(output)` if the future completes first, or `Err(Elapsed)` once `duration`
/// has passed; the future is then dropped (cancelled) with the `Timeout`. The future is polled
/// first, so one that is already ready wins even against a zero duration.
///
/// ```
/// # minirt::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use minirt::time::{sleep, timeout};
/// assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
/// assert!(timeout(Duration::from_millis(1), sleep(Duration::from_secs(60))).await.is_err());
/// # });
/// ```
///
/// # Panics
/// Outside a runtime, like [`sleep`](super::sleep()).
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout { value: future, delay: Sleep::new(deadline_after(duration)) }
}

/// Runs `future` until `deadline`. Tokio's `time::timeout_at`.
///
/// # Panics
/// Outside a runtime, like [`sleep`](super::sleep()).
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout { value: future, delay: Sleep::new(deadline) }
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        value: F,
        // Pinned, so a `Timeout` is `!Unpin` like its `Sleep` (and like tokio's).
        #[pin]
        delay: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// Gives back the wrapped future, dropping the deadline.
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.value.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // The deadline is checked even when the future used up the task's budget: otherwise a
        // future that is always busy could never time out.
        match this.delay.poll_elapsed(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}
