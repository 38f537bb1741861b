//! What the facade's declarative macros (`select!`, `join!`, `try_join!`) call at run time:
//! a cheap per-thread random number for `select!`'s fair start, [`poll_budget_available`] for
//! its cooperative check, and [`MaybeDone`], the slot that holds one `join!` future and then
//! its output. Not a public API: the macros name it
//! through `$crate::__private`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

thread_local! {
    /// xorshift64* state; seeded lazily from the thread's address-space layout and a counter.
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A pseudo-random number in `0..n` (`n > 0`), from a per-thread xorshift generator: cheap
/// and good enough to rotate which `select!` branch is polled first. Not for anything that
/// needs real randomness.
#[doc(hidden)]
pub fn thread_rng_n(n: u32) -> u32 {
    let next = RNG
        .try_with(|state| {
            let mut x = state.get();
            if x == 0 {
                x = seed();
            }
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            state.set(x);
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        })
        // During thread exit: any start is fair enough.
        .unwrap_or(0);
    // The high 32 bits are the best mixed; multiply-shift maps them onto 0..n without a divide.
    (((next >> 32) * u64::from(n)) >> 32) as u32
}

/// A non-zero seed that differs between threads and between runs.
fn seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_usize(&hasher as *const _ as usize);
    hasher.finish() | 1
}

pin_project! {
    /// One future of a `join!`: first the future, then its output, then (once taken) nothing.
    #[doc(hidden)]
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    pub enum MaybeDone<F: Future> {
        /// Still running.
        Future { #[pin] future: F },
        /// Finished; the output waits to be taken.
        Done { output: F::Output },
        /// The output was taken.
        Gone,
    }
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future.
    pub fn new(future: F) -> Self {
        MaybeDone::Future { future }
    }

    /// Takes the output out (once it is `Done`).
    pub fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        match &*self {
            MaybeDone::Done { .. } => {}
            _ => return None,
        }
        match self.project_replace(MaybeDone::Gone) {
            MaybeDoneReplace::Done { output } => Some(output),
            _ => None,
        }
    }
}

impl<F: Future<Output = Result<T, E>>, T, E> MaybeDone<F> {
    /// Whether the future finished with an `Err`.
    pub fn is_err(&self) -> bool {
        matches!(self, MaybeDone::Done { output: Err(_) })
    }
}

impl<F: Future> Future for MaybeDone<F> {
    type Output = ();

    /// `Ready` once the future has finished (its output is then kept here).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let output = match self.as_mut().project() {
            MaybeDoneProj::Future { future } => match future.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return Poll::Pending,
            },
            _ => return Poll::Ready(()),
        };
        // Overwrites the finished future in place (it is dropped where it was pinned).
        self.set(MaybeDone::Done { output });
        Poll::Ready(())
    }
}

/// `Ready` while the current task has budget left; once it is spent, wakes the task and
/// returns `Pending`, so `select!` yields instead of polling its branches (tokio's
/// `poll_budget_available`). Spends nothing.
#[doc(hidden)]
pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    if crate::polling::has_budget_remaining() {
        Poll::Ready(())
    } else {
        crate::wake::defer(cx.waker());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::thread_rng_n;

    #[test]
    fn rng_stays_in_range_and_covers_it() {
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let n = thread_rng_n(7);
            assert!(n < 7);
            seen[n as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every value of 0..7 comes up in 1000 draws");
        assert_eq!(thread_rng_n(1), 0);
    }
}
