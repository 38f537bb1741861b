//! [`Handle`]: a cloneable reference to a runtime (spawn onto it, enter it, `block_on` from any
//! thread), the [`EnterGuard`] of entering one, and the runtime's [`Id`] and [`RuntimeFlavor`].

use std::fmt;
use std::future::Future;

use crate::context;
use crate::scheduler;
use crate::task::JoinHandle;

use super::RuntimeMetrics;

/// The guard returned by [`Runtime::enter`](super::Runtime::enter) and [`Handle::enter`].
pub struct EnterGuard<'a> {
    pub(super) _guard: context::EnterGuard,
    /// Borrows the runtime or handle it entered, as tokio's.
    pub(super) _entered: std::marker::PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// A cloneable reference to a runtime, for spawning onto it from anywhere. Tokio's `Handle`.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

impl Handle {
    /// The runtime this thread is running in.
    ///
    /// # Panics
    /// Outside a runtime (see [`Handle::try_current`]), at the caller's location.
    #[track_caller]
    pub fn current() -> Handle {
        Handle { inner: context::current() }
    }

    /// The runtime this thread is running in, or an error outside one.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::try_current().map(|inner| Handle { inner }).ok_or(TryCurrentError(()))
    }

    /// Spawns a task on this handle's runtime; callable from any thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }

    /// Runs `future` to completion on this thread, in this runtime (so it can spawn, do I/O
    /// and sleep). The thread sleeps between polls; on a multi-thread runtime its workers run
    /// the tasks and the I/O, on a current-thread runtime only a thread inside
    /// `Runtime::block_on` does (as in tokio).
    ///
    /// # Panics
    /// Inside a runtime's asynchronous context (a task, or another `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        context::block_on_parked(&self.inner, future)
    }

    /// Makes this the current runtime of the thread until the guard drops (tokio's
    /// `Handle::enter`), from any thread: `spawn`, `Handle::current` and socket constructors
    /// then reach it.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::enter(self.inner.clone()),
            _entered: std::marker::PhantomData,
        }
    }

    /// Runs `func` on this runtime's blocking pool; callable from any thread.
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(func)
    }

    /// Counters that describe this runtime's load.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics { handle: self.inner.clone() }
    }

    /// An identifier of this runtime, unique among the runtimes alive.
    pub fn id(&self) -> Id {
        Id(self.inner.id())
    }

    /// The name given with [`Builder::name`](super::Builder::name), if any (tokio's `Handle::name`).
    pub fn name(&self) -> Option<&str> {
        self.inner.blocking().runtime_name()
    }

    /// Which scheduler this runtime has (tokio's `Handle::runtime_flavor`).
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        match self.inner {
            scheduler::Handle::CurrentThread(_) => RuntimeFlavor::CurrentThread,
            scheduler::Handle::MultiThread(_) => RuntimeFlavor::MultiThread,
        }
    }
}

/// Which scheduler a runtime has ([`Handle::runtime_flavor`]). Tokio's `RuntimeFlavor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// Every task runs on the thread inside `block_on` ([`Builder::new_current_thread`](super::Builder::new_current_thread)).
    CurrentThread,
    /// Tasks run on a pool of workers ([`Builder::new_multi_thread`](super::Builder::new_multi_thread)).
    MultiThread,
}

/// An identifier of a runtime, unique among the runtimes alive. Tokio's `runtime::Id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Id(pub(super) usize);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
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

impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}
