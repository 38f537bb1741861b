//! [`Runtime`]: owns a scheduler and its blocking pool; `block_on` runs a future on it, and
//! dropping it shuts both down.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::context;
use crate::scheduler::blocking::BlockingPool;
use crate::scheduler::multi_thread::MultiThread;
use crate::scheduler::{self, current_thread::CurrentThread};
use crate::task::JoinHandle;

use super::{EnterGuard, Handle, RuntimeFlavor, RuntimeMetrics};

/// The handle through which the rest of the runtime reaches `scheduler`.
pub(super) fn inner_handle(scheduler: &Scheduler) -> scheduler::Handle {
    match scheduler {
        Scheduler::CurrentThread(scheduler) => {
            scheduler::Handle::CurrentThread(scheduler.shared().clone())
        }
        Scheduler::MultiThread(scheduler) => {
            scheduler::Handle::MultiThread(scheduler.shared().clone())
        }
    }
}

/// The scheduler a runtime runs, of either flavor.
pub(super) enum Scheduler {
    CurrentThread(CurrentThread),
    MultiThread(MultiThread),
}

/// An async runtime: a reactor and a scheduler. Tokio's `Runtime`.
pub struct Runtime {
    pub(super) scheduler: Scheduler,
    /// Returned by reference from `handle()`, as tokio's.
    pub(super) handle: Handle,
    /// What the builder asked for.
    pub(super) flavor: RuntimeFlavor,
    pub(super) blocking: BlockingPool,
    /// `shutdown_timeout` already did everything the drop would.
    pub(super) is_shut_down: bool,
}

impl Runtime {
    /// Runs `future` to completion on this thread. On a current-thread runtime this thread runs
    /// the spawned tasks and the I/O meanwhile; if another thread is already doing so (inside
    /// its own `block_on`), this one waits, polling `future` when it is woken, and takes the
    /// loop over when the other returns. On a multi-thread runtime the workers run the tasks
    /// and this thread sleeps between polls of `future`.
    ///
    /// # Panics
    /// When called from inside a runtime (from a task, or inside another `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.scheduler {
            Scheduler::CurrentThread(scheduler) => {
                let _enter = context::enter(self.handle.inner.clone());
                scheduler.block_on(future)
            }
            Scheduler::MultiThread(_) => context::block_on_parked(&self.handle.inner, future),
        }
    }

    /// Spawns a task on this runtime. It runs when a thread drives the runtime (`block_on`).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.inner.spawn(future)
    }

    /// Runs `func` on this runtime's blocking pool. See [`crate::task::spawn_blocking`].
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner_handle().spawn_blocking(func)
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    fn inner_handle(&self) -> scheduler::Handle {
        self.handle.inner.clone()
    }

    /// Makes this the current runtime of the thread until the guard drops, so `spawn`,
    /// `Handle::current` and socket constructors work outside `block_on`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Counters that describe this runtime's load.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle().metrics()
    }

    /// Shuts the runtime down and waits at most `duration` for its blocking tasks: those still
    /// running then are detached (their threads exit when their closures return).
    pub fn shutdown_timeout(mut self, duration: Duration) {
        // Allowed inside an asynchronous context (unlike the drop): the caller chose to block
        // for at most `duration`.
        self.shutdown_scheduler(Some(duration), false);
        self.blocking.shutdown(Some(duration));
        // The drop that follows has nothing left to wait for.
        self.is_shut_down = true;
    }

    /// Shuts the runtime down without waiting for its blocking tasks.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    fn shutdown_scheduler(&mut self, timeout: Option<Duration>, check_context: bool) {
        // Shutting down drops every task of this runtime right here; inside another runtime's
        // loop that would block it, and tokio refuses it the same way.
        if check_context && crate::polling::in_loop() && !std::thread::panicking() {
            panic!(
                "Cannot drop a runtime in a context where blocking is not allowed. This happens \
                 when a runtime is dropped from within an asynchronous context."
            );
        }
        // Entered, so that the futures dropped by the shutdown can still reach their runtime.
        let _enter = context::enter(self.handle.inner.clone());
        match &self.scheduler {
            Scheduler::CurrentThread(scheduler) => scheduler.shutdown(),
            Scheduler::MultiThread(scheduler) => scheduler.shutdown(timeout),
        }
    }
}

// Shared state behind these handles is kept consistent across panics (a panicking task is
// caught and reported through its JoinHandle; locks are taken poison-tolerant), so a
// `catch_unwind` closure may hold them, as with tokio's.
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.is_shut_down {
            return;
        }
        self.shutdown_scheduler(None, true);
        // As tokio: the blocking tasks that are running are waited for.
        self.blocking.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("flavor", &self.flavor).finish_non_exhaustive()
    }
}
