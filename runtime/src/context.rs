//! Which runtime this thread is in: the thread-local `CONTEXT`, which answers the question
//! code deep inside a future asks without being handed the answer:
//!
//! ```text
//!  handle   the runtime this thread entered (block_on, Runtime::enter, a worker)
//!           ──► minirt::spawn, Handle::current, AsyncFd::new (its reactor), sleep (its timers)
//!  depth    how many enter guards are live, so one dropped out of order is caught
//! ```
//!
//! What the thread is polling (the loop flag, the task id, the budget) is `polling`'s. The
//! scheduler enters the context; everything else only reads it. Every read uses `try_with`: a
//! waker, a `Sleep` or a whole `Runtime` may be dropped during thread exit, after this
//! thread-local is gone, and that must behave as "no runtime here", never abort the process.

use std::cell::{Cell, RefCell};

use std::sync::Arc;

use crate::scheduler::blocking::{EnterRuntime, ThreadEntry};
use crate::scheduler::{multi_thread, Handle};

/// The entered runtime, which holds a reference and so needs a destructor.
struct Entered {
    handle: RefCell<Option<Handle>>,
    depth: Cell<usize>,
}

thread_local! {
    static CONTEXT: Entered = const { Entered { handle: RefCell::new(None), depth: Cell::new(0) } };
}

const NO_RUNTIME: &str = tokio_words!(
    "there is no reactor running, must be called from the context of a Tokio 1.x runtime",
    "there is no minirt runtime on this thread: call this from a task or from inside \
     `Runtime::block_on` (or `#[minirt::main]`), or enter one with `Runtime::enter`"
);

/// Whether this thread is in a runtime (cheaper than `try_current`: no reference is taken).
pub(crate) fn in_runtime() -> bool {
    CONTEXT.try_with(|cx| cx.handle.borrow().is_some()).unwrap_or(false)
}

/// The runtime this thread is in, if any.
pub(crate) fn try_current() -> Option<Handle> {
    CONTEXT.try_with(|cx| cx.handle.borrow().clone()).ok().flatten()
}

/// The runtime this thread is in.
///
/// # Panics
/// Outside a runtime, with a message that says how to get into one.
#[track_caller]
pub(crate) fn current() -> Handle {
    // A `match`, not `unwrap_or_else`: `#[track_caller]` does not reach into a closure.
    match try_current() {
        Some(handle) => handle,
        None => panic!("{NO_RUNTIME}"),
    }
}

/// Makes `handle` this thread's runtime until the guard drops. During thread exit, when the
/// thread-local is already gone, the guard does nothing.
pub(crate) fn enter(handle: Handle) -> EnterGuard {
    let entered = CONTEXT.try_with(|cx| {
        let previous = cx.handle.replace(Some(handle));
        let depth = cx.depth.get() + 1;
        cx.depth.set(depth);
        (previous, depth)
    });
    match entered {
        Ok((previous, depth)) => EnterGuard { previous, depth },
        Err(_) => EnterGuard { previous: None, depth: 0 },
    }
}

/// Restores the runtime that was current before [`enter`].
pub(crate) struct EnterGuard {
    previous: Option<Handle>,
    /// This guard's place in the stack of entered runtimes; 0 for a guard that entered nothing.
    depth: usize,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if self.depth == 0 {
            return;
        }
        let previous = self.previous.take();
        let in_order = CONTEXT.try_with(|cx| {
            if cx.depth.get() != self.depth {
                return false;
            }
            cx.depth.set(self.depth - 1);
            // The replaced handle is dropped after the borrow ends.
            let _entered = cx.handle.replace(previous);
            true
        });
        if in_order == Ok(false) && !std::thread::panicking() {
            panic!(
                "`EnterGuard` values dropped out of order. Guards returned by \
                 `Runtime::enter()` must be dropped in the reverse order as they were acquired."
            );
        }
    }
}

/// Runs `future` to completion on this thread without driving any scheduler: the thread sleeps
/// (`thread::park`) until the future's waker fires. The runtime `handle` is entered meanwhile,
/// so the future can spawn and register I/O; its workers (or whoever drives it) run the tasks
/// and the reactor. `Runtime::block_on` of a multi-thread runtime and `Handle::block_on`.
///
/// # Panics
/// On a thread that is already running a runtime (inside a task or another `block_on`):
/// [`NESTED_BLOCK_ON`](crate::polling::NESTED_BLOCK_ON).
#[track_caller]
pub(crate) fn block_on_parked<F: std::future::Future>(handle: &Handle, future: F) -> F::Output {
    let Some(_in_loop) = crate::polling::enter_loop() else {
        panic!("{}", crate::polling::NESTED_BLOCK_ON);
    };
    let _enter = enter(handle.clone());
    crate::park::block_on(future, || crate::polling::start_poll(0))
}

impl EnterRuntime for Handle {
    fn for_new_thread(&self) -> ThreadEntry {
        let handle = self.clone();
        Box::new(move |body| {
            let _enter = enter(handle);
            body();
        })
    }
}

/// `multi_thread::Config::enter`: a worker thread (or the pool thread that takes a worker's
/// core over after `block_in_place`) runs its loop inside its runtime.
pub(crate) fn enter_multi_thread(shared: &Arc<multi_thread::Shared>, body: &mut dyn FnMut()) {
    let _enter = enter(Handle::MultiThread(shared.clone()));
    body();
}
