//! [`Builder`]: spawning a task with a name. Tokio's `task::Builder` (behind `tokio_unstable`
//! there; always here). The name shows in the slow-poll detector's reports
//! ([`runtime::Builder::slow_poll_threshold`](crate::runtime::Builder::slow_poll_threshold));
//! it is kept only while the detector is on, so a name costs nothing otherwise.

use std::future::Future;
use std::io;

use super::{JoinHandle, LocalSet};
use crate::runtime::Handle;
use crate::slow_poll;

/// Spawns tasks with a name. Tokio's `task::Builder`.
///
/// ```
/// # minirt::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let handle = minirt::task::Builder::new().name("resolver").spawn(async { 7 })?;
/// assert_eq!(handle.await.expect("the task"), 7);
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no name set.
    pub fn new() -> Builder<'a> {
        Builder::default()
    }

    /// The name of the task to spawn.
    pub fn name(&self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    /// Spawns `future` on the current runtime, as [`spawn`](crate::spawn). The `io::Result`
    /// is tokio's signature; minirt's spawn does not fail.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(self.named(crate::spawn(future)))
    }

    /// Spawns `future` on the runtime of `handle`, as [`Handle::spawn`].
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(self.named(handle.spawn(future)))
    }

    /// Spawns a `!Send` future on the current `LocalSet` or `LocalRuntime`, as
    /// [`spawn_local`](super::spawn_local).
    ///
    /// # Panics
    /// Outside a `LocalSet` or `LocalRuntime`.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Ok(self.named(super::spawn_local(future)))
    }

    /// Spawns a `!Send` future on `local_set`, as [`LocalSet::spawn_local`].
    #[track_caller]
    pub fn spawn_local_on<F>(
        self,
        future: F,
        local_set: &LocalSet,
    ) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Ok(self.named(local_set.spawn_local(future)))
    }

    /// Runs `func` on the current runtime's blocking pool, as
    /// [`spawn_blocking`](crate::task::spawn_blocking).
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, func: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        Ok(crate::task::spawn_blocking(func))
    }

    /// Runs `func` on the blocking pool of `handle`'s runtime, as [`Handle::spawn_blocking`].
    #[track_caller]
    pub fn spawn_blocking_on<F, R>(self, func: F, handle: &Handle) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        Ok(handle.spawn_blocking(func))
    }

    fn named<T>(self, handle: JoinHandle<T>) -> JoinHandle<T> {
        if let Some(name) = self.name {
            if slow_poll::enabled() {
                slow_poll::named(handle.id().as_u64(), name);
            }
        }
        handle
    }
}
