//! [`Registration`]: one fd registered with a reactor, owned by an I/O object (`AsyncFd`): the
//! readiness checks and waits of its operations, and the deregistration when it drops.

use super::epoll::Reactor;
use super::scheduled_io::*;
use super::{Interest, Ready};
use crate::loom::lock;
use crate::sys::{self};
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

/// An fd registered with the reactor of the current runtime, and its readiness.
///
/// The registration does not own the fd: its owner must drop the `Registration` (which
/// removes the fd from epoll) before closing the fd.
pub(crate) struct Registration {
    pub(super) reactor: Arc<Reactor>,
    pub(super) io: Arc<ScheduledIo>,
    pub(super) token: u64,
    pub(super) fd: RawFd,
}

impl Registration {
    /// Registers `fd` with `reactor` for `interest`.
    pub(crate) fn new(
        reactor: Arc<Reactor>,
        fd: RawFd,
        interest: Interest,
    ) -> io::Result<Registration> {
        let (token, io) = {
            let mut slots = lock(&reactor.slots);
            // Checked under the slots' lock, which `shutdown` holds while it sets the flag and
            // walks the slots: a registration checked before the flag was set is in the slab
            // by the time shutdown walks it, so it is failed there and waits for nothing.
            if reactor.is_shutdown.load(Ordering::Acquire) {
                return Err(crate::shutdown::error(
                    "cannot register an fd: the minirt runtime has shut down",
                ));
            }
            slots.insert(fd)
        };
        let events = if interest == Interest::READABLE.add(Interest::WRITABLE) {
            sys::INTEREST_ALL
        } else {
            interest.epoll_events()
        };
        if let Err(e) = reactor.epoll.add(fd, events, token) {
            let slot = lock(&reactor.slots).slab.remove((token & u64::from(u32::MAX)) as usize);
            drop(slot);
            return Err(e);
        }
        Ok(Registration { reactor, io, token, fd })
    }

    /// `Ready` once `interest` is ready; otherwise stores the task's waker in the poll API's
    /// slot(s) for that interest (one per direction: a later poller of the same direction
    /// replaces the earlier one) and returns `Pending`.
    ///
    /// Readiness found spends a unit of the task's budget (so a task whose sockets are always
    /// ready still gives the others a turn); readiness not found gives it back, as tokio's
    /// `poll_read_ready` does.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<ReadyEvent>> {
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let poll = self.io.poll_ready(cx, interest, WaiterKey::Poll);
        if poll.is_pending() {
            crate::polling::refund_budget();
        }
        poll
    }

    /// A place of its own among this registration's waiters, for one future.
    pub(crate) fn waiter(&self) -> Waiter<'_> {
        Waiter { registration: self, key: None, io: None }
    }

    /// Marks `ready` as if epoll had reported it (see [`crate::io::AsyncFd::assume_ready`]).
    pub(crate) fn assume_ready(&self, ready: Ready) {
        self.io.assume_ready(ready);
    }

    /// Forgets readiness that turned out stale (the syscall said `EAGAIN`).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Runs `op` when `interest` is ready, until it stops returning `WouldBlock`: the
    /// try-syscall / clear-on-EAGAIN / wait loop every non-blocking operation follows.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        poll_io_with(self, |cx| self.io.poll_ready(cx, interest, WaiterKey::Poll), cx, op)
    }

    /// Runs `op` once if the cached readiness says `interest` is ready, and `WouldBlock`
    /// without a syscall otherwise. Never waits, never stores a waker.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        // As tokio's: the cached readiness alone decides, also once the runtime has shut down
        // (data already known to be there is still read; the next wait reports the shutdown).
        let Some(event) = self.io.check_cached(interest.mask()) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let result = op();
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(event);
        }
        result
    }
}

/// The loop of `poll_io`, for either kind of waiter (`ready` polls readiness). An operation
/// that gets past `WouldBlock` spends a unit of the task's budget (tokio's `async_io`), so a
/// task whose socket always has data still yields; one that finds the readiness stale gets
/// its unit back.
pub(super) fn poll_io_with<R>(
    registration: &Registration,
    mut ready: impl FnMut(&mut Context<'_>) -> Poll<io::Result<ReadyEvent>>,
    cx: &mut Context<'_>,
    mut op: impl FnMut() -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        let event = match ready(cx) {
            Poll::Ready(Ok(event)) => event,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                crate::polling::refund_budget();
                registration.clear_readiness(event);
            }
            result => return Poll::Ready(result),
        }
    }
}

/// One future's place among a registration's waiters (see the module docs, "Waiters").
///
/// The entry is created the first time the future has to wait, reused by every later wait
/// of the same future, and removed when the `Waiter` drops (the future completed or was
/// cancelled), so any number of futures can wait on one registration and a cancelled one
/// leaves nothing behind.
pub(crate) struct Waiter<'a> {
    registration: &'a Registration,
    key: Option<usize>,
    /// The registration's state, held from the first wait on, so that `drop` needs nothing
    /// borrowed: it stays sound even if the future holding this waiter is dropped somewhere
    /// other than where it was polled.
    io: Option<Arc<ScheduledIo>>,
}

impl Waiter<'_> {
    /// `Ready` once `interest` is ready; otherwise stores the task's waker in this waiter's
    /// own entry and returns `Pending`. Spends no budget: waiting for readiness is not
    /// progress (tokio's `readable`/`writable`/`ready` do not spend it either); the operation
    /// that follows does.
    pub(crate) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<ReadyEvent>> {
        let poll = self.registration.io.poll_ready(cx, interest, WaiterKey::Entry(&mut self.key));
        if self.key.is_some() && self.io.is_none() {
            self.io = Some(self.registration.io.clone());
        }
        poll
    }

    /// [`Registration::poll_io`], waiting in this waiter's own entry.
    pub(crate) fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let registration = self.registration;
        poll_io_with(registration, |cx| self.poll_ready(cx, interest), cx, op)
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let (Some(key), Some(io)) = (self.key.take(), self.io.take()) {
            // The entry (and its waker) comes out of the lock before it drops.
            let entry = io.remove_waiter(key);
            drop(entry);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // ENOENT/EBADF here mean the owner already closed the fd (a bug in the owner, or a
        // user's `AsyncFd` inner type closing early); the kernel dropped it from epoll then.
        let _ = self.reactor.epoll.delete(self.fd);
        let index = (self.token & u64::from(u32::MAX)) as usize;
        let removed = {
            let mut slots = lock(&self.reactor.slots);
            if slots.slab.get(index).is_some_and(|slot| Arc::ptr_eq(&slot.io, &self.io)) {
                Some(slots.slab.remove(index))
            } else {
                None
            }
        };
        // Dropped after the lock (our own `io` keeps the state alive anyway; this keeps the
        // rule simple: nothing that holds wakers is dropped under a reactor lock).
        drop(removed);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("fd", &self.fd).field("token", &self.token).finish()
    }
}
