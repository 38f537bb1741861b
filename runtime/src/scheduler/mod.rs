//! Schedulers: the loops that run tasks and drive the reactor and the timers.
//!
//! - `current_thread`: one loop on the thread that calls `block_on`; every task runs there.
//! - `multi_thread`: N worker threads with work stealing, sharing one reactor and one timer
//!   heap (whichever worker parks first sleeps in `epoll_wait`); `block_on` only waits.
//! - `blocking`: the thread pool of `spawn_blocking` (and host-name lookups), for both.
//!
//! A task reaches its scheduler only through the `Schedule` trait (`crate::task`): each
//! flavor's `Arc<Shared>` implements it — queue on this thread's worker/loop if there is one,
//! else on the injection queue and wake a sleeper.
//!
//! [`Handle`] is what the rest of the runtime holds on to (the thread-local context, a
//! registered `Sleep`, `runtime::Handle`): a cloneable reference to a scheduler's shared state,
//! through which tasks are spawned and its reactor and timers are reached.

pub(crate) mod blocking;
pub(crate) mod current_thread;
pub(crate) mod multi_thread;
mod task_scheduler;
pub(crate) mod worker_metrics;

pub(crate) use task_scheduler::TaskScheduler;

use std::future::Future;
use std::sync::Arc;

use crate::reactor::Reactor;
use crate::slow_poll;
use crate::task::{JoinHandle, TaskRef};
use crate::time::timers::Timers;

/// Runs one task (a poll, or the drop of a cancelled one): every loop runs its tasks through
/// here, so the slow-poll detector times them when it is on. The check is here and not in
/// `Task::run`, where it made the function too big for LLVM to inline the future's poll
/// (callgrind, yield_many on the current-thread runtime: +4.7 % instructions).
#[inline(always)]
pub(crate) fn run(task: TaskRef) {
    if slow_poll::enabled() {
        run_timed(task);
    } else {
        task.run();
    }
}

#[cold]
#[inline(never)]
fn run_timed(task: TaskRef) {
    /// Ends the timing even if `run` unwinds (it catches the future's panics; this is for a
    /// bug of minirt's), so the watchdog never reports a poll that is over.
    struct Timed(u64);
    impl Drop for Timed {
        fn drop(&mut self) {
            slow_poll::poll_ended(self.0);
        }
    }
    let id = task.id().as_u64();
    slow_poll::poll_started(id);
    let _timed = Timed(id);
    task.run();
}

/// A cloneable reference to a runtime's scheduler.
#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Shared>),
    MultiThread(Arc<multi_thread::Shared>),
}

impl Handle {
    /// Spawns `future` as a task of this runtime.
    #[track_caller]
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(shared) => shared.spawn(future),
            Handle::MultiThread(shared) => shared.spawn(future),
        }
    }

    /// Runs `func` on this runtime's blocking pool.
    pub(crate) fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.blocking().spawn(self, func)
    }

    pub(crate) fn blocking(&self) -> &blocking::BlockingPool {
        match self {
            Handle::CurrentThread(shared) => shared.blocking(),
            Handle::MultiThread(shared) => shared.blocking(),
        }
    }

    /// Tasks spawned and not yet complete.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        match self {
            Handle::CurrentThread(shared) => shared.num_alive_tasks(),
            Handle::MultiThread(shared) => shared.num_alive_tasks(),
        }
    }

    /// Tasks waiting in the injection (global) queue.
    pub(crate) fn injection_depth(&self) -> usize {
        match self {
            Handle::CurrentThread(shared) => shared.injection_depth(),
            Handle::MultiThread(shared) => shared.injection_depth(),
        }
    }

    /// The number of worker threads.
    /// The counters of worker `index` (0 for a current-thread runtime).
    ///
    /// # Panics
    /// If `index` is not below `num_workers()`, as tokio.
    #[track_caller]
    pub(crate) fn worker_metrics(&self, index: usize) -> &worker_metrics::WorkerMetrics {
        match self {
            Handle::CurrentThread(shared) => {
                assert!(index == 0, "worker index out of bounds: {index} (1 worker)");
                shared.worker_metrics()
            }
            Handle::MultiThread(shared) => shared.worker_metrics(index),
        }
    }

    pub(crate) fn num_workers(&self) -> usize {
        match self {
            Handle::CurrentThread(_) => 1,
            Handle::MultiThread(shared) => shared.num_workers(),
        }
    }

    /// A number that identifies this runtime among the live ones (the address of its shared
    /// state).
    pub(crate) fn id(&self) -> usize {
        match self {
            Handle::CurrentThread(shared) => Arc::as_ptr(shared) as usize,
            Handle::MultiThread(shared) => Arc::as_ptr(shared) as usize,
        }
    }

    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        match self {
            Handle::CurrentThread(shared) => shared.reactor(),
            Handle::MultiThread(shared) => shared.reactor(),
        }
    }

    pub(crate) fn timers(&self) -> &Timers {
        match self {
            Handle::CurrentThread(shared) => shared.timers(),
            Handle::MultiThread(shared) => shared.timers(),
        }
    }

    /// Wakes the runtime's loop if it is parked, so it recomputes its timeout (a timer that is
    /// now the earliest) or picks up work queued from outside.
    pub(crate) fn unpark(&self) {
        match self {
            Handle::CurrentThread(shared) => shared.unpark(),
            Handle::MultiThread(shared) => shared.unpark(),
        }
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Handle::CurrentThread(_) => f.write_str("CurrentThread"),
            Handle::MultiThread(_) => f.write_str("MultiThread"),
        }
    }
}

/// The panic of a `block_on` inside a runtime, on either flavor: tokio 1.54's words, to the
/// letter (tests ported from tokio match the whole sentence).
pub(crate) const NESTED_BLOCK_ON: &str = "Cannot start a runtime from within a runtime. This \
     happens because a function (like `block_on`) attempted to block the current thread while \
     the thread is being used to drive asynchronous tasks. If you are in an async function, \
     use `.await` on the future instead of blocking on it.";

/// Runs `future` to completion on this thread without driving any scheduler: the thread sleeps
/// (`thread::park`) until the future's waker fires. The runtime `handle` is entered meanwhile,
/// so the future can spawn and register I/O; its workers (or whoever drives it) run the tasks
/// and the reactor. `Runtime::block_on` of a multi-thread runtime and `Handle::block_on`.
///
/// # Panics
/// On a thread that is already running a runtime (inside a task or another `block_on`):
/// [`NESTED_BLOCK_ON`].
#[track_caller]
pub(crate) fn block_on_parked<F: Future>(handle: &Handle, future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};

    let Some(_driving) = crate::context::start_driving() else {
        panic!("{NESTED_BLOCK_ON}");
    };
    let _enter = crate::context::enter(handle.clone());
    let waker_state = ThreadWaker::new();
    let waker = Waker::from(waker_state.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if waker_state.take_woken() {
            crate::context::start_poll(None);
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        } else {
            // Spurious returns are fine: the flag is checked again.
            std::thread::park();
        }
    }
}

/// The waker of a future polled by a thread that sleeps between polls (`std::thread::park`):
/// a wake sets a flag and unparks the thread, once per poll.
pub(crate) struct ThreadWaker {
    thread: std::thread::Thread,
    woken: std::sync::atomic::AtomicBool,
}

impl ThreadWaker {
    /// A waker for the calling thread, already woken, so the first poll happens at once.
    pub(crate) fn new() -> Arc<ThreadWaker> {
        Arc::new(ThreadWaker {
            thread: std::thread::current(),
            woken: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Whether a wake came since the last call (and clears it).
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, std::sync::atomic::Ordering::SeqCst)
    }
}

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.thread.unpark();
        }
    }
}
