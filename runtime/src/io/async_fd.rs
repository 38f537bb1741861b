//! [`AsyncFd`]: readiness of any file descriptor, as futures.
//!
//! An `AsyncFd<T>` registers `T`'s fd with the current runtime's reactor once, when it is
//! created, and removes it when dropped (before `T`, and so the fd, is dropped). Its methods
//! are thin views of the reactor's per-fd readiness (`reactor::Registration`): wait for a
//! direction, try an operation, clear the readiness when the operation says `EAGAIN`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use crate::reactor::{Interest, Ready, ReadyEvent, Registration};

/// An fd registered with the reactor, wrapping the object `T` that owns it. Tokio's `AsyncFd`.
///
/// The fd must be in non-blocking mode for the `*_io` methods to make sense: they call the
/// operation and treat `WouldBlock` as "wait for the next readiness event".
///
/// Any number of tasks may wait on one `AsyncFd` at once, in the same direction or not: each
/// future returned by [`readable`](Self::readable), [`writable`](Self::writable),
/// [`ready`](Self::ready) and [`async_io`](Self::async_io) keeps its own place in the fd's
/// waiter list while it waits (and gives it back when it completes or is dropped), and an event
/// wakes every waiter it concerns. Share the `AsyncFd` (`Arc<AsyncFd<T>>`) and await from as
/// many tasks as you like.
///
/// The `poll_*` methods ([`poll_read_ready`](Self::poll_read_ready),
/// [`poll_write_ready`](Self::poll_write_ready), [`poll_ready`](Self::poll_ready),
/// [`poll_io`](Self::poll_io)) have no future to keep a place in, so, as in tokio, they keep
/// one waker per direction: if two tasks *poll* the same direction, only the last one is woken.
/// They are meant for `AsyncRead`/`AsyncWrite`-style implementations, where one task owns each
/// direction.
///
/// ```no_run
/// # async fn demo(read_end: std::os::fd::OwnedFd) -> std::io::Result<()> {
/// use minirt_runtime::io::{AsyncFd, Interest};
/// let pipe = AsyncFd::new(read_end)?;
/// let mut buf = [0u8; 64];
/// let n = pipe
///     .async_io(Interest::READABLE, |fd| {
///         let file = std::fs::File::from(fd.try_clone()?);
///         std::io::Read::read(&mut &file, &mut buf)
///     })
///     .await?;
/// # let _ = n; Ok(()) }
/// ```
pub struct AsyncFd<T: AsRawFd> {
    // Declared before `inner`: fields drop in order, so the fd leaves epoll before it closes.
    registration: Registration,
    inner: T,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s fd with the current runtime for both readiness directions.
    ///
    /// Fails if epoll refuses the fd (a regular file, say: `EPERM`).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        let registration =
            Registration::new(inner.as_raw_fd(), Interest::READABLE.add(Interest::WRITABLE))?;
        Ok(AsyncFd { registration, inner })
    }

    /// Same as [`AsyncFd::new`]: minirt always registers both directions (one `epoll_ctl` for
    /// the fd's whole life); `interest` is accepted for tokio compatibility.
    pub fn with_interest(inner: T, _interest: Interest) -> io::Result<AsyncFd<T>> {
        AsyncFd::new(inner)
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Deregisters the fd and gives back the inner object (the fd stays open).
    pub fn into_inner(self) -> T {
        let AsyncFd { registration, inner } = self;
        drop(registration);
        inner
    }

    /// Waits until the fd is readable (or its read half closed, or it has an error).
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::READABLE).await
    }

    /// Waits until the fd is writable (or its write half closed, or it has an error).
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// Waits until any direction of `interest` is ready.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let mut waiter = self.registration.waiter();
        let event = poll_fn(|cx| waiter.poll_ready(cx, interest)).await?;
        Ok(AsyncFdReadyGuard { async_fd: self, event: Some(event) })
    }

    /// Poll form of [`AsyncFd::readable`].
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, Interest::READABLE)
    }

    /// Poll form of [`AsyncFd::writable`].
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, Interest::WRITABLE)
    }

    /// Poll form of [`AsyncFd::ready`].
    pub fn poll_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.registration
            .poll_ready(cx, interest)
            .map_ok(|event| AsyncFdReadyGuard { async_fd: self, event: Some(event) })
    }

    /// Runs `op` once `interest` is ready, waiting again each time it returns `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut waiter = self.registration.waiter();
        poll_fn(|cx| waiter.poll_io(cx, interest, || op(&self.inner))).await
    }

    /// Poll form of [`AsyncFd::async_io`], for implementing `AsyncRead`/`AsyncWrite` and other
    /// poll-based traits: `Ready` with `op`'s result, or `Pending` with the task's waker stored.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.registration.poll_io(cx, interest, op)
    }

    /// Runs `op` once if the cached readiness says `interest` is ready; `WouldBlock` (without a
    /// syscall) if not. Never waits.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration.try_io(interest, || op(&self.inner))
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_raw_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd").field("inner", &self.inner).finish()
    }
}

/// Proof that an [`AsyncFd`] was ready, returned by `readable`/`writable`/`ready`.
///
/// If the operation you then try says `WouldBlock`, call [`clear_ready`](Self::clear_ready)
/// (or use [`try_io`](Self::try_io), which does it for you); otherwise the next wait returns at
/// once with the same, stale readiness.
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    async_fd: &'a AsyncFd<T>,
    event: Option<ReadyEvent>,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// Forgets the readiness this guard saw, unless a newer event arrived since.
    pub fn clear_ready(&mut self) {
        if let Some(event) = self.event.take() {
            self.async_fd.registration.clear_readiness(event);
        }
    }

    /// Forgets only the bits of `ready` this guard saw (say `Ready::READABLE` after a read
    /// said `EAGAIN`, keeping a `WRITABLE` seen at the same time), unless a newer event arrived.
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        if let Some(event) = self.event {
            self.async_fd.registration.clear_readiness(event.with_ready(ready));
            let left = event.ready - ready;
            self.event = (!left.is_empty()).then(|| event.with_ready(left));
        }
    }

    /// Keeps the readiness (the default when the guard drops).
    pub fn retain_ready(&mut self) {
        self.event = None;
    }

    /// What was ready.
    pub fn ready(&self) -> Ready {
        self.event.map_or(Ready::EMPTY, |event| event.ready)
    }

    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.async_fd
    }

    pub fn get_inner(&self) -> &'a T {
        &self.async_fd.inner
    }

    /// Runs `op`; if it says `WouldBlock`, clears the readiness and returns `Err(TryIoError)`
    /// so the caller waits again.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.async_fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }
}

impl<T: AsRawFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard").field("ready", &self.ready()).finish()
    }
}

/// The operation passed to [`AsyncFdReadyGuard::try_io`] would have blocked.
#[derive(Debug)]
pub struct TryIoError(());
