//! Runs a future on a thread that sleeps (`std::thread::park`) between its polls, woken by the
//! future's waker: [`block_on`], the one park-until-woken loop of the crate (a multi-thread
//! runtime's `block_on`, `Handle::block_on`, and, through [`block_on_outside_runtime`], the
//! `blocking_*` methods of `sync`), and
//! [`ThreadWaker`], its waker, also used by the current-thread loop's `block_on` while another
//! thread drives. A leaf: it knows nothing of runtimes.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Polls `future` on this thread until it completes, parking the thread until its waker fires
/// between polls; `before_poll` runs before each poll.
pub(crate) fn block_on<F: Future>(future: F, mut before_poll: impl FnMut()) -> F::Output {
    let waker_state = ThreadWaker::new();
    let waker = Waker::from(waker_state.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if waker_state.take_woken() {
            before_poll();
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        } else {
            // Spurious returns are fine: the flag is checked again.
            std::thread::park();
        }
    }
}

/// Parks the calling thread until `future` completes: the `blocking_*` methods.
///
/// # Panics
/// Inside a runtime (as tokio's do): parking there would stall every task of the loop.
#[track_caller]
pub(crate) fn block_on_outside_runtime<F: Future>(future: F) -> F::Output {
    assert!(
        !crate::polling::in_loop(),
        "Cannot block the current thread from within a runtime. This happens because a \
         function attempted to block the current thread while the thread is being used to \
         drive asynchronous tasks."
    );
    block_on(future, || {})
}

/// The waker of a future polled by a thread that sleeps between polls (`std::thread::park`):
/// a wake sets a flag and unparks the thread, once per poll.
pub(crate) struct ThreadWaker {
    thread: std::thread::Thread,
    woken: AtomicBool,
}

impl ThreadWaker {
    /// A waker for the calling thread, already woken, so the first poll happens at once.
    pub(crate) fn new() -> Arc<ThreadWaker> {
        Arc::new(ThreadWaker { thread: std::thread::current(), woken: AtomicBool::new(true) })
    }

    /// Whether a wake came since the last call (and clears it).
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }
}

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::SeqCst) {
            self.thread.unpark();
        }
    }
}
