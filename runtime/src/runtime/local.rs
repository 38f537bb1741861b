//! [`LocalRuntime`]: a current-thread runtime that runs `!Send` tasks without a `LocalSet`.
//! Tokio's `runtime::LocalRuntime`.
//!
//! It is a current-thread [`Runtime`] with a [`LocalSet`] of its own, which the scheduler knows
//! about (`current_thread::Shared::local_owner`, with the thread the runtime was built on):
//!
//! ```text
//!  task::spawn_local(f) ── a LocalSet running or entered here? ──► that set
//!          │ no
//!          ▼
//!  current runtime is a LocalRuntime? ── other thread ──► panic (f is not Send)
//!          │ this thread
//!          ▼
//!  the runtime's own set ──► its tasks run inside block_on, beside the block_on future
//!                            (block_on = the runtime's block_on of set.run_until(future))
//! ```
//!
//! So `spawn_local` works from the `block_on` future, from any task of the runtime (local or
//! not: all of them run on this one thread) and under `enter`. Tasks spawned between two
//! `block_on`s wait in the set for the next one.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::time::Duration;

use super::{Builder, EnterGuard, Handle, Runtime, RuntimeFlavor, RuntimeMetrics};
use crate::scheduler::current_thread::LocalOwner;
use crate::task::{JoinHandle, LocalSet};

/// Options for [`Builder::build_local`](super::Builder::build_local); none yet (tokio's
/// `LocalOptions`).
#[derive(Default, Debug)]
#[non_exhaustive]
pub struct LocalOptions {
    _not_send: PhantomData<*mut u8>,
}

/// A current-thread runtime on which [`task::spawn_local`](crate::task::spawn_local) works
/// without a `LocalSet`. Neither `Send` nor `Sync`: it stays on the thread that built it.
/// Tokio's `LocalRuntime`.
pub struct LocalRuntime {
    // Dropped first: the local tasks are cancelled while the runtime still exists.
    local: LocalSet,
    runtime: Runtime,
}

impl LocalRuntime {
    /// A local runtime with default settings (`Builder::new_current_thread().build_local(..)`).
    pub fn new() -> io::Result<LocalRuntime> {
        super::Builder::new_current_thread().build_local(LocalOptions::default())
    }

    /// Makes `runtime` (a current-thread runtime just built on this thread) a local one.
    pub(crate) fn from_runtime(runtime: Runtime) -> LocalRuntime {
        let local = LocalSet::new();
        if let crate::scheduler::Handle::CurrentThread(shared) = &runtime.handle.inner {
            let thread = std::thread::current().id();
            shared.set_local_owner(LocalOwner { thread, set: local.shared().clone() });
        }
        LocalRuntime { local, runtime }
    }

    /// The runtime's handle (it spawns `Send` tasks, from any thread).
    pub fn handle(&self) -> &Handle {
        self.runtime.handle()
    }

    /// Spawns a `!Send` future on this runtime; it runs during `block_on`.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local.spawn_local(future)
    }

    /// Runs `func` on the runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.runtime.spawn_blocking(func)
    }

    /// Runs `future` to completion on this thread, with the runtime's tasks, local and not,
    /// running meanwhile.
    ///
    /// # Panics
    /// Inside a runtime's asynchronous context.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(self.local.run_until(future))
    }

    /// Enters the runtime's context without running it: `spawn`, `spawn_local` and sockets
    /// work until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.runtime.enter()
    }

    /// Shuts the runtime down, waiting at most `duration` for its blocking threads.
    pub fn shutdown_timeout(self, duration: Duration) {
        let LocalRuntime { local, runtime } = self;
        drop(local);
        runtime.shutdown_timeout(duration);
    }

    /// Shuts the runtime down without waiting for its blocking threads.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// Counters that describe this runtime's load.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.runtime.metrics()
    }
}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime").finish_non_exhaustive()
    }
}

impl std::panic::UnwindSafe for LocalRuntime {}
impl std::panic::RefUnwindSafe for LocalRuntime {}

impl Builder {
    /// Creates a [`LocalRuntime`]: a current-thread runtime on which `task::spawn_local`
    /// works without a `LocalSet`. Tokio's `Builder::build_local`.
    ///
    /// # Panics
    /// On a multi-thread builder, as tokio's.
    #[track_caller]
    pub fn build_local(&mut self, _options: LocalOptions) -> io::Result<LocalRuntime> {
        if self.flavor == RuntimeFlavor::MultiThread {
            panic!("multi_thread is not supported for LocalRuntime");
        }
        Ok(LocalRuntime::from_runtime(self.build()?))
    }
}
