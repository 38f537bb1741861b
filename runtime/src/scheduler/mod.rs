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
mod flag_guard;
pub(crate) mod local;
pub(crate) mod multi_thread;
mod run;
pub(crate) mod task;
mod task_scheduler;
pub(crate) mod worker_metrics;

pub(crate) use run::run;

pub(crate) use task_scheduler::TaskScheduler;

use std::future::Future;
use std::sync::Arc;

use crate::reactor::Reactor;
use crate::task::JoinHandle;
use crate::timer::Timers;

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
            Handle::CurrentThread(shared) => shared.spawn::<F, TaskScheduler>(future),
            Handle::MultiThread(shared) => shared.spawn::<F, TaskScheduler>(future),
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
