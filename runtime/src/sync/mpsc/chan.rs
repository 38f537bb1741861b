//! The part of a channel both flavors share: the queue, the receiver's waker, the counts.
//!
//! One lock guards the queue, the receiver's waker slot and the two "closed" flags. A send
//! pushes under it and wakes the receiver after it. The receiver keeps a buffer of its own
//! ([`RxBuffer`]): when that is empty, it takes the lock once and swaps the whole queue into
//! it, then hands values out of the buffer without the lock. So with many senders the lock
//! (and its cache line) moves to the receiver's core once per batch, not once per value.
//!
//! ```text
//!  send: lock, push_back, take rx waker, unlock, wake
//!  recv: buffer non-empty? pop_front ── else: lock, swap queue <-> (empty) buffer, unlock
//!        then, bounded: give the value's slot back to the semaphore (wakes the next sender)
//! ```
//!
//! A buffered value still holds its slot: the bounded flavor releases the permit when the
//! value leaves the buffer, so `capacity()` and the bound mean what they did, and `len`
//! counts both the queue and the buffer. Sender counts are atomics: only the last sender's
//! drop takes the lock, to tell the receiver that nothing more will come.

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use crate::loom::sync::Mutex;
use crate::sync::semaphore::Semaphore;
use crate::sync::{lock, store_waker, Notify};

/// The receiver's own buffer: values it took from the queue in one swap and has not handed
/// out yet. Owned by the receiver, which reaches it through `&mut self` (`get_mut`, no
/// locking); the mutex is there only so that the receiver stays `Sync` for a `T` that is
/// `Send` but not `Sync` (as tokio's), for `len` through `&self`.
pub(super) struct RxBuffer<T>(std::sync::Mutex<VecDeque<T>>);

// The receivers are `Unpin` whatever `T` is, as tokio's (`ReceiverStream` and the like rely
// on it): the buffer's values are moved in and out, never pinned.
impl<T> Unpin for RxBuffer<T> {}

impl<T> RxBuffer<T> {
    pub(super) fn new() -> RxBuffer<T> {
        RxBuffer(std::sync::Mutex::new(VecDeque::new()))
    }

    pub(super) fn get_mut(&mut self) -> &mut VecDeque<T> {
        self.0.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        lock(&self.0).len()
    }
}

/// Where `poll_recv` puts the single value of a `recv`.
pub(super) struct One<T>(pub(super) Option<T>);

impl<T> Extend<T> for One<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.0 = iter.into_iter().next();
    }
}

pub(super) struct Chan<T> {
    state: Mutex<State<T>>,
    /// Free slots, for the bounded flavor; `None` for the unbounded one.
    pub(super) sem: Option<Semaphore>,
    pub(super) bound: usize,
    pub(super) tx_count: AtomicUsize,
    pub(super) tx_weak_count: AtomicUsize,
    /// Woken when the receiver closes, for `Sender::closed`.
    rx_closed_notify: Notify,
}

struct State<T> {
    queue: VecDeque<T>,
    rx_waker: Option<Waker>,
    rx_closed: bool,
    rx_dropped: bool,
    /// Every sender is gone.
    tx_closed: bool,
}

impl<T> Chan<T> {
    pub(super) fn new(bound: Option<usize>) -> Chan<T> {
        Chan {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                rx_waker: None,
                rx_closed: false,
                rx_dropped: false,
                tx_closed: false,
            }),
            sem: bound.map(Semaphore::new),
            bound: bound.unwrap_or(usize::MAX),
            tx_count: AtomicUsize::new(1),
            tx_weak_count: AtomicUsize::new(0),
            rx_closed_notify: Notify::new(),
        }
    }

    /// Queues `value` and wakes the receiver; gives it back if the receiver is gone, or
    /// closed and `reserved` is false (a reserved slot may still be filled after `close`).
    pub(super) fn push(&self, value: T, reserved: bool) -> Result<(), T> {
        let mut state = lock(&self.state);
        if state.rx_dropped || (state.rx_closed && !reserved) {
            drop(state);
            return Err(value);
        }
        state.queue.push_back(value);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Moves up to `limit` values into `out` (appending), from the receiver's `buffered`
    /// values, refilled from the queue when empty; `Ready(0)` means closed and drained.
    /// `limit` is at least 1.
    pub(super) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buffered: &mut VecDeque<T>,
        out: &mut impl Extend<T>,
        limit: usize,
    ) -> Poll<usize> {
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        if buffered.is_empty() {
            let mut new_waker = None;
            loop {
                let mut state = lock(&self.state);
                if !state.queue.is_empty() {
                    std::mem::swap(&mut state.queue, buffered);
                    break;
                }
                if state.tx_closed || (state.rx_closed && self.is_idle()) {
                    return Poll::Ready(0);
                }
                match store_waker(&mut state.rx_waker, cx.waker(), &mut new_waker) {
                    Ok(old) => {
                        drop(state);
                        drop(old);
                        return Poll::Pending;
                    }
                    Err(()) => {
                        drop(state);
                        new_waker = Some(cx.waker().clone());
                    }
                }
            }
        }
        let n = buffered.len().min(limit);
        out.extend(buffered.drain(..n));
        self.release_received(n);
        Poll::Ready(n)
    }

    /// One value if one is buffered or queued: `Ok(None)` if empty but open, `Err(())` if
    /// closed and empty.
    pub(super) fn try_recv(&self, buffered: &mut VecDeque<T>) -> Result<Option<T>, ()> {
        if buffered.is_empty() {
            let mut state = lock(&self.state);
            if state.queue.is_empty() {
                let closed = state.tx_closed || (state.rx_closed && self.is_idle());
                return if closed { Err(()) } else { Ok(None) };
            }
            std::mem::swap(&mut state.queue, buffered);
        }
        let value = buffered.pop_front();
        self.release_received(1);
        Ok(value)
    }

    /// The receiver took `n` values: their slots are free again (bounded flavor).
    fn release_received(&self, n: usize) {
        if let Some(sem) = &self.sem {
            sem.release(n);
        }
    }

    /// No slot is reserved: every permit is back (always true for the unbounded flavor).
    /// Called under `state`'s lock (lock order: channel, then semaphore).
    fn is_idle(&self) -> bool {
        match &self.sem {
            Some(sem) => sem.available_permits() == self.bound,
            None => true,
        }
    }

    /// Gives `n` reserved slots back; if that leaves a closed channel idle, the receiver
    /// (which waits for the last reserved slot) is woken: `recv` now returns `None`.
    pub(super) fn release_permits(&self, n: usize) {
        let Some(sem) = &self.sem else { return };
        sem.release(n);
        self.wake_rx_if_closed_and_idle();
    }

    pub(super) fn wake_rx_if_closed_and_idle(&self) {
        let mut state = lock(&self.state);
        if !(state.rx_closed && state.queue.is_empty() && self.is_idle()) {
            return;
        }
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The receiver closes: no more sends; queued values stay receivable.
    pub(super) fn close(&self) {
        lock(&self.state).rx_closed = true;
        if let Some(sem) = &self.sem {
            sem.close();
        }
        self.rx_closed_notify.notify_waiters();
    }

    /// The receiver is dropped: close, and drop what is queued (after the lock).
    pub(super) fn rx_drop(&self) {
        self.close();
        let mut state = lock(&self.state);
        state.rx_dropped = true;
        let queue = std::mem::take(&mut state.queue);
        let waker = state.rx_waker.take();
        drop(state);
        drop(waker);
        drop(queue);
    }

    /// A sender is dropped; the last one tells the receiver.
    pub(super) fn tx_drop(&self) {
        if self.tx_count.fetch_sub(1, AcqRel) != 1 {
            return;
        }
        let mut state = lock(&self.state);
        state.tx_closed = true;
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A new strong sender from a weak one, unless every strong sender is gone already.
    pub(super) fn upgrade(&self) -> bool {
        let mut count = self.tx_count.load(Acquire);
        loop {
            if count == 0 {
                return false;
            }
            match self.tx_count.compare_exchange_weak(count, count + 1, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(actual) => count = actual,
            }
        }
    }

    pub(super) fn is_rx_closed(&self) -> bool {
        lock(&self.state).rx_closed
    }

    /// Closed from the receiver's view: closed by it, or every sender gone.
    pub(super) fn is_closed(&self) -> bool {
        let state = lock(&self.state);
        state.rx_closed || state.tx_closed
    }

    /// The values queued, and those the receiver has buffered.
    pub(super) fn len(&self, buffered: &RxBuffer<T>) -> usize {
        buffered.len() + lock(&self.state).queue.len()
    }

    /// Waits until the receiver closes or is dropped.
    pub(super) async fn closed(&self) {
        crate::sync::cooperative(self.closed_inner()).await
    }

    async fn closed_inner(&self) {
        loop {
            // Created before the check: a close between the two still wakes it.
            let notified = self.rx_closed_notify.notified();
            if self.is_rx_closed() {
                return;
            }
            notified.await;
        }
    }
}

/// The receiving methods both flavors share, written once.
macro_rules! receiver_methods {
    () => {
        /// Receives the next value; `None` once every sender is gone (or the receiver
        /// closed) and the queue is drained. Cancel-safe: a dropped `recv` loses nothing.
        pub async fn recv(&mut self) -> Option<T> {
            std::future::poll_fn(|cx| self.poll_recv(cx)).await
        }

        /// Receives up to `limit` values into `buffer` (appending), waiting for at least one;
        /// returns how many, `0` once closed and drained (or if `limit` is 0).
        pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
            std::future::poll_fn(|cx| self.poll_recv_many(cx, buffer, limit)).await
        }

        /// A value if one is queued now.
        pub fn try_recv(&mut self) -> Result<T, crate::sync::mpsc::error::TryRecvError> {
            use crate::sync::mpsc::error::TryRecvError;
            match self.chan.try_recv(self.buffered.get_mut()) {
                Ok(Some(value)) => Ok(value),
                Ok(None) => Err(TryRecvError::Empty),
                Err(()) => Err(TryRecvError::Disconnected),
            }
        }

        /// [`recv`](Self::recv) from a thread outside any runtime, parking it.
        ///
        /// # Panics
        /// When called from inside a runtime.
        #[track_caller]
        pub fn blocking_recv(&mut self) -> Option<T> {
            crate::sync::block_on(self.recv())
        }

        /// [`recv_many`](Self::recv_many) from a thread outside any runtime, parking it.
        ///
        /// # Panics
        /// When called from inside a runtime.
        #[track_caller]
        pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
            crate::sync::block_on(self.recv_many(buffer, limit))
        }

        /// Closes the channel: sends fail from now on; queued values can still be received.
        pub fn close(&mut self) {
            self.chan.close();
        }

        /// Whether the channel is closed: by [`close`](Self::close), or every sender gone.
        pub fn is_closed(&self) -> bool {
            self.chan.is_closed()
        }

        /// Whether no value is queued.
        pub fn is_empty(&self) -> bool {
            self.chan.len(&self.buffered) == 0
        }

        /// How many values are queued.
        pub fn len(&self) -> usize {
            self.chan.len(&self.buffered)
        }

        /// Polls for the next value (see [`recv`](Self::recv)).
        pub fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
            let mut out = crate::sync::mpsc::chan::One(None);
            self.chan.poll_recv(cx, self.buffered.get_mut(), &mut out, 1).map(|_| out.0)
        }

        /// Polls for up to `limit` values (see [`recv_many`](Self::recv_many)).
        pub fn poll_recv_many(
            &mut self,
            cx: &mut std::task::Context<'_>,
            buffer: &mut Vec<T>,
            limit: usize,
        ) -> std::task::Poll<usize> {
            if limit == 0 {
                return std::task::Poll::Ready(0);
            }
            self.chan.poll_recv(cx, self.buffered.get_mut(), buffer, limit)
        }

        /// How many strong senders exist.
        pub fn sender_strong_count(&self) -> usize {
            self.chan.tx_count.load(std::sync::atomic::Ordering::Acquire)
        }

        /// How many weak senders exist.
        pub fn sender_weak_count(&self) -> usize {
            self.chan.tx_weak_count.load(std::sync::atomic::Ordering::Acquire)
        }
    };
}

pub(super) use receiver_methods;
