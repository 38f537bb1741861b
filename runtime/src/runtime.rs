//! The user-facing runtime: [`Builder`], [`Runtime`], [`Handle`] and [`spawn`], with tokio's
//! names.
//!
//! A `Runtime` owns a scheduler (see `scheduler`), which owns a reactor (see `reactor`).
//! `block_on` runs the scheduler's loop on the calling thread until the given future completes;
//! `spawn` hands a future to the scheduler as a task. Dropping the `Runtime` drops every task
//! it still owns (their `JoinHandle`s report cancellation) and fails the I/O resources that
//! outlive it with an error rather than leaving them waiting forever.

use std::fmt;
use std::future::Future;
use std::io;

use crate::context;
use crate::scheduler::{self, current_thread::Scheduler};
use crate::task::JoinHandle;

/// Which scheduler a [`Builder`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Configures and builds a [`Runtime`]. Tokio's `runtime::Builder`.
///
/// ```
/// let rt = minirt::runtime::Builder::new_current_thread().enable_all().build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Builder {
    flavor: Flavor,
    worker_threads: Option<usize>,
}

impl Builder {
    /// A runtime whose tasks all run on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder { flavor: Flavor::CurrentThread, worker_threads: None }
    }

    /// A runtime meant to spread tasks over several threads.
    ///
    /// **For now this builds the current-thread scheduler**: every task runs on the thread
    /// that calls `block_on`. Programs written against it are correct (tasks are `Send`
    /// already) and will spread over threads, unchanged, once the multi-thread scheduler lands.
    pub fn new_multi_thread() -> Builder {
        Builder { flavor: Flavor::MultiThread, worker_threads: None }
    }

    /// The number of worker threads of a multi-thread runtime (recorded; see
    /// [`Builder::new_multi_thread`]).
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n > 0, "worker_threads must be greater than 0");
        self.worker_threads = Some(n);
        self
    }

    /// Accepted for tokio compatibility: I/O and time are always enabled in minirt.
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Accepted for tokio compatibility: I/O is always enabled in minirt.
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// Accepted for tokio compatibility: time is always enabled in minirt.
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Creates the runtime: an epoll instance and an eventfd. Fails if the process is out of
    /// file descriptors.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let scheduler = Scheduler::new()?;
        let handle = Handle { inner: scheduler::Handle::CurrentThread(scheduler.shared().clone()) };
        Ok(Runtime { scheduler, handle, flavor: self.flavor })
    }
}

/// An async runtime: a reactor and a scheduler. Tokio's `Runtime`.
pub struct Runtime {
    scheduler: Scheduler,
    handle: Handle,
    /// What the builder asked for (both run on the current-thread scheduler for now).
    flavor: Flavor,
}

impl Runtime {
    /// A current-thread runtime with default settings (tokio's `Runtime::new` builds a
    /// multi-thread one; see [`Builder::new_multi_thread`] for where minirt stands).
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// Runs `future` to completion on this thread, running spawned tasks and I/O meanwhile.
    ///
    /// # Panics
    /// When called from inside a runtime (from a task, or inside another `block_on`), and
    /// when another thread is inside this runtime's `block_on`.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.scheduler.block_on(future)
    }

    /// Spawns a task on this runtime. It runs when a thread drives the runtime (`block_on`).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.scheduler.shared().spawn(future)
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this the current runtime of the thread until the guard drops, so `spawn`,
    /// `Handle::current` and socket constructors work outside `block_on`.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard { _guard: context::enter(self.handle.inner.clone()), _runtime: self }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Shutting down drops every task of this runtime right here; inside another runtime's
        // loop that would block it, and tokio refuses it the same way.
        if context::is_driving() && !std::thread::panicking() {
            panic!(
                "Cannot drop a runtime in a context where blocking is not allowed. This happens \
                 when a runtime is dropped from within an asynchronous context."
            );
        }
        self.scheduler.shutdown();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("flavor", &self.flavor).finish_non_exhaustive()
    }
}

/// The guard returned by [`Runtime::enter`].
pub struct EnterGuard<'a> {
    _guard: context::EnterGuard,
    _runtime: &'a Runtime,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// A cloneable reference to a runtime, for spawning onto it from anywhere. Tokio's `Handle`.
#[derive(Clone)]
pub struct Handle {
    inner: scheduler::Handle,
}

impl Handle {
    /// The runtime this thread is running in.
    ///
    /// # Panics
    /// Outside a runtime (see [`Handle::try_current`]).
    pub fn current() -> Handle {
        Handle { inner: context::current() }
    }

    /// The runtime this thread is running in, or an error outside one.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::try_current().map(|inner| Handle { inner }).ok_or(TryCurrentError(()))
    }

    /// Spawns a task on this handle's runtime; callable from any thread.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// Returned by [`Handle::try_current`] outside a runtime.
#[derive(Debug)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("there is no minirt runtime on this thread")
    }
}

impl std::error::Error for TryCurrentError {}

/// Spawns a task on the current runtime and returns a handle to await its output.
///
/// The task starts running at the runtime's next scheduling point; dropping the handle
/// detaches it.
///
/// # Panics
/// Outside a runtime: call it from a task, inside `block_on`, or after `Runtime::enter`.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::current().spawn(future)
}
