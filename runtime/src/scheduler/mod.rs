//! Schedulers: the loops that run tasks and drive the reactor and the timers.
//!
//! - `current_thread`: one loop on the thread that calls `block_on`; every task runs there.
//!
//! [`Handle`] is what the rest of the runtime holds on to (the thread-local context, a
//! registered `Sleep`, `runtime::Handle`): a cloneable reference to a scheduler's shared state,
//! through which tasks are spawned and its reactor and timers are reached.

pub(crate) mod blocking;
pub(crate) mod current_thread;

use std::future::Future;
use std::sync::Arc;

use crate::reactor::Reactor;
use crate::task::JoinHandle;
use crate::time::timers::Timers;

/// A cloneable reference to a runtime's scheduler.
#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Shared>),
}

impl Handle {
    /// Spawns `future` as a task of this runtime.
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(shared) => shared.spawn(future),
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
        }
    }

    /// Tasks spawned and not yet complete.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        match self {
            Handle::CurrentThread(shared) => shared.num_alive_tasks(),
        }
    }

    /// Tasks waiting in the injection (global) queue.
    pub(crate) fn injection_depth(&self) -> usize {
        match self {
            Handle::CurrentThread(shared) => shared.injection_depth(),
        }
    }

    /// The number of worker threads.
    pub(crate) fn num_workers(&self) -> usize {
        match self {
            Handle::CurrentThread(_) => 1,
        }
    }

    /// A number that identifies this runtime among the live ones (the address of its shared
    /// state).
    pub(crate) fn id(&self) -> usize {
        match self {
            Handle::CurrentThread(shared) => Arc::as_ptr(shared) as usize,
        }
    }

    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        match self {
            Handle::CurrentThread(shared) => shared.reactor(),
        }
    }

    pub(crate) fn timers(&self) -> &Timers {
        match self {
            Handle::CurrentThread(shared) => shared.timers(),
        }
    }

    /// Wakes the runtime's loop if it is parked, so it recomputes its timeout (a timer that is
    /// now the earliest) or picks up work queued from outside.
    pub(crate) fn unpark(&self) {
        match self {
            Handle::CurrentThread(shared) => shared.unpark(),
        }
    }
}
