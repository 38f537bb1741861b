//! [`AsyncFd`]: readiness of any file descriptor, as futures.
//!
//! An `AsyncFd<T>` registers `T`'s fd with the current runtime's reactor once, when it is
//! created (for the [`Interest`] it was given: both directions by default), and removes it when
//! dropped (before `T`, and so the fd, is dropped). Its methods are thin views of the reactor's
//! per-fd readiness (`reactor::Registration`): wait for an interest, try an operation, clear
//! the readiness when the operation says `EAGAIN`.
//!
//! A wait through a future (`readable`, `ready`, `async_io`, ...) owns a place in the fd's
//! waiter list for as long as it waits (`reactor::Waiter`); a wait through a `poll_*` method
//! uses the fd's one slot per direction. A ready wait hands back a guard
//! ([`AsyncFdReadyGuard`], [`AsyncFdReadyMutGuard`]) that remembers what it saw, so that the
//! caller can clear exactly that readiness when its syscall says `EAGAIN`.

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
/// use minirt::io::{AsyncFd, Interest};
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
    /// Registers `inner`'s fd with the current runtime for both directions
    /// (`Interest::READABLE | Interest::WRITABLE`).
    ///
    /// Fails if epoll refuses the fd (a regular file, say: `EPERM`); `inner` is then dropped
    /// (use [`AsyncFd::try_new`] to get it back).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE.add(Interest::WRITABLE))
    }

    /// Registers `inner`'s fd for `interest` only: `Interest::READABLE` for an fd that is
    /// always writable (an inotify fd, say), `Interest::PRIORITY` for `EPOLLPRI` events
    /// (which `new` does not ask for). Waiting for an interest the fd was not registered for
    /// is only woken by errors and hang-ups.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        AsyncFd::try_with_interest(inner, interest).map_err(io::Error::from)
    }

    /// [`AsyncFd::new`], giving `inner` back with the error if registration fails.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn try_new(inner: T) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        AsyncFd::try_with_interest(inner, Interest::READABLE.add(Interest::WRITABLE))
    }

    /// [`AsyncFd::with_interest`], giving `inner` back with the error if registration fails.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn try_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        match Registration::new(
            crate::context::current().reactor().clone(),
            inner.as_raw_fd(),
            interest,
        ) {
            Ok(registration) => Ok(AsyncFd { registration, inner }),
            Err(cause) => Err(AsyncFdTryNewError { inner, cause }),
        }
    }

    /// [`AsyncFd::try_new`] under tokio 1.54's name (tokio deprecated `new`/`try_new` for
    /// this `unsafe` pair).
    ///
    /// # Safety
    /// `inner.as_raw_fd()` must be an open fd that stays open, and the same, for as long as
    /// the `AsyncFd` owns `inner` (tokio's contract; minirt's registration does not rely on
    /// it, so this is `unsafe` only for source compatibility).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub unsafe fn register(inner: T) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        AsyncFd::try_new(inner)
    }

    /// [`AsyncFd::try_with_interest`] under tokio 1.54's name.
    ///
    /// # Safety
    /// As [`AsyncFd::register`].
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub unsafe fn register_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        AsyncFd::try_with_interest(inner, interest)
    }

    /// Marks the fd ready for `ready` without waiting for the reactor's first event, so the
    /// next operation tries its syscall at once instead of waiting a loop turn for an event
    /// epoll would report anyway. For an owner that knows the state: a stream just returned
    /// by `accept` (its request is usually there already) is assumed readable and writable, a
    /// fresh socket pair writable, which is what minirt's and tokio's sockets do. A guess
    /// that is wrong costs one `EAGAIN`: the operation clears the readiness and waits.
    ///
    /// Without it a new `AsyncFd` knows nothing until its first event (tokio's behaviour):
    /// `readable()` on a fresh socket with no data waits, as it should. Not in tokio's
    /// public API (tokio's sockets do this internally).
    pub fn assume_ready(&self, ready: Ready) {
        self.registration.assume_ready(ready);
    }

    /// The wrapped object.
    #[inline]
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped object, mutably.
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

    /// [`AsyncFd::readable`] with a guard that lends the inner object mutably.
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::READABLE).await
    }

    /// Waits until the fd is writable (or its write half closed, or it has an error).
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// [`AsyncFd::writable`] with a guard that lends the inner object mutably.
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    /// Waits until any part of `interest` is ready (an error satisfies every interest), and
    /// says what was ready. Any number of tasks may wait at once; each is woken.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.wait(interest).await?;
        Ok(AsyncFdReadyGuard { async_fd: self, event: Some(event) })
    }

    /// [`AsyncFd::ready`] with a guard that lends the inner object mutably.
    pub async fn ready_mut(
        &mut self,
        interest: Interest,
    ) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let event = self.wait(interest).await?;
        Ok(AsyncFdReadyMutGuard { async_fd: self, event: Some(event) })
    }

    /// Waits in a place of its own in the fd's waiter list (freed when this future ends or
    /// is dropped).
    async fn wait(&self, interest: Interest) -> io::Result<ReadyEvent> {
        let mut waiter = self.registration.waiter();
        poll_fn(|cx| waiter.poll_ready(cx, interest)).await
    }

    /// Poll form of [`AsyncFd::readable`]. Keeps one waker for the read direction: if several
    /// tasks poll it, only the last one is woken (await `readable` to share).
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, Interest::READABLE)
    }

    /// [`AsyncFd::poll_read_ready`] with a guard that lends the inner object mutably.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        self.poll_ready_mut(cx, Interest::READABLE)
    }

    /// Poll form of [`AsyncFd::writable`]. Keeps one waker for the write direction.
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, Interest::WRITABLE)
    }

    /// [`AsyncFd::poll_write_ready`] with a guard that lends the inner object mutably.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        self.poll_ready_mut(cx, Interest::WRITABLE)
    }

    /// Poll form of [`AsyncFd::ready`]. Keeps one waker per direction of `interest`.
    #[inline]
    pub fn poll_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.registration
            .poll_ready(cx, interest)
            .map_ok(|event| AsyncFdReadyGuard { async_fd: self, event: Some(event) })
    }

    /// [`AsyncFd::poll_ready`] with a guard that lends the inner object mutably.
    pub fn poll_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        match self.registration.poll_ready(cx, interest) {
            Poll::Ready(Ok(event)) => {
                Poll::Ready(Ok(AsyncFdReadyMutGuard { async_fd: self, event: Some(event) }))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Runs `op` once `interest` is ready, waiting again each time it returns `WouldBlock`
    /// (after clearing the readiness it saw). Any number of tasks may call it at once.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut waiter = self.registration.waiter();
        poll_fn(|cx| waiter.poll_io(cx, interest, || op(&self.inner))).await
    }

    /// [`AsyncFd::async_io`] with `op` given the inner object mutably.
    pub async fn async_io_mut<R>(
        &mut self,
        interest: Interest,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let AsyncFd { registration, inner } = self;
        let mut waiter = registration.waiter();
        poll_fn(|cx| waiter.poll_io(cx, interest, || op(inner))).await
    }

    /// Poll form of [`AsyncFd::async_io`], for implementing `AsyncRead`/`AsyncWrite` and other
    /// poll-based traits: `Ready` with `op`'s result, or `Pending` with the task's waker stored
    /// (one per direction, as for [`AsyncFd::poll_ready`]).
    #[inline]
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.registration.poll_io(cx, interest, op)
    }

    /// Runs `op` once if the cached readiness says `interest` is ready; `WouldBlock` (without
    /// calling `op`) if not. If `op` says `WouldBlock`, the readiness is cleared. Never waits.
    #[inline]
    pub fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration.try_io(interest, || op(&self.inner))
    }

    /// [`AsyncFd::try_io`] with `op` given the inner object mutably.
    pub fn try_io_mut<R>(
        &mut self,
        interest: Interest,
        op: impl FnOnce(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let AsyncFd { registration, inner } = self;
        registration.try_io(interest, || op(inner))
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

/// Proof that an [`AsyncFd`] was ready, lending it mutably; returned by `readable_mut`,
/// `writable_mut`, `ready_mut`. Same contract as [`AsyncFdReadyGuard`].
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    async_fd: &'a mut AsyncFd<T>,
    event: Option<ReadyEvent>,
}

/// What both guards do with the readiness they saw: forget it or keep it, and `Debug`.
macro_rules! guard_readiness {
    ($($guard:ident),*) => {$(
        impl<T: AsRawFd> $guard<'_, T> {
            /// Forgets the readiness this guard saw, unless a newer event arrived since.
            #[inline]
            pub fn clear_ready(&mut self) {
                self.clear_ready_matching(Ready::ALL);
            }

            /// Forgets only the bits of `ready` this guard saw (say `Ready::READABLE` after a
            /// read said `EAGAIN`, keeping a `WRITABLE` seen at the same time), unless a newer
            /// event arrived. Closed bits stay set in the fd's readiness: a closed half does
            /// not reopen.
            #[inline]
            pub fn clear_ready_matching(&mut self, ready: Ready) {
                if let Some(seen) = self.event {
                    self.async_fd.registration.clear_readiness(seen.with_ready(ready));
                    let left = seen.ready - ready;
                    self.event = (!left.is_empty()).then(|| seen.with_ready(left));
                }
            }

            /// Keeps the readiness (the default when the guard drops).
            pub fn retain_ready(&mut self) {
                self.event = None;
            }

            /// What was ready (and not cleared through this guard since).
            #[inline]
            pub fn ready(&self) -> Ready {
                self.event.map_or(Ready::EMPTY, |event| event.ready)
            }
        }

        impl<T: AsRawFd> fmt::Debug for $guard<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($guard)).field("ready", &self.ready()).finish()
            }
        }
    )*};
}

guard_readiness!(AsyncFdReadyGuard, AsyncFdReadyMutGuard);

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// The `AsyncFd` this guard is for.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.async_fd
    }

    /// The object inside the `AsyncFd`.
    pub fn get_inner(&self) -> &'a T {
        &self.async_fd.inner
    }

    /// Runs `op`; if it says `WouldBlock`, clears the readiness and returns `Err(TryIoError)`
    /// so the caller waits again.
    #[inline]
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

impl<T: AsRawFd> AsyncFdReadyMutGuard<'_, T> {
    /// The `AsyncFd` this guard is for.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.async_fd
    }

    /// The `AsyncFd` this guard is for, mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.async_fd
    }

    /// The object inside the `AsyncFd`.
    pub fn get_inner(&self) -> &T {
        &self.async_fd.inner
    }

    /// The object inside the `AsyncFd`, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        &mut self.async_fd.inner
    }

    /// Runs `op`; if it says `WouldBlock`, clears the readiness and returns `Err(TryIoError)`
    /// so the caller waits again.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
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

/// The operation passed to a guard's `try_io` would have blocked.
#[derive(Debug)]
pub struct TryIoError(());

/// [`AsyncFd::try_new`] / [`AsyncFd::try_with_interest`] failed: the error, and the object
/// that was to be registered. Tokio's `AsyncFdTryNewError`.
pub struct AsyncFdTryNewError<T> {
    inner: T,
    cause: io::Error,
}

impl<T> AsyncFdTryNewError<T> {
    /// The object that was not registered, and why.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.cause)
    }
}

impl<T> fmt::Display for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.cause, f)
    }
}

impl<T> fmt::Debug for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.cause, f)
    }
}

impl<T> std::error::Error for AsyncFdTryNewError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// [`AsyncFd::register`] failed: tokio 1.54's name for [`AsyncFdTryNewError`].
pub type AsyncFdRegisterError<T> = AsyncFdTryNewError<T>;

/// The cause alone (the object is dropped): the error keeps its `raw_os_error()`.
impl<T> From<AsyncFdTryNewError<T>> for io::Error {
    fn from(error: AsyncFdTryNewError<T>) -> io::Error {
        error.cause
    }
}
