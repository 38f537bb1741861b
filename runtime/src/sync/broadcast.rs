//! A multi-producer, multi-consumer channel where every receiver sees every value (unless it
//! falls more than the capacity behind: then it is told how many it missed). tokio's
//! `broadcast`.
//!
//! Data flow: one lock guards a ring of `capacity` (rounded up to a power of two) slots, the
//! tail position, the receiver count and a `WaitList` of receivers waiting for a value. A
//! slot holds its position, the value (as an `Arc<T>`) and how many receivers have yet to read
//! it. `send` writes the slot at `tail`, overwriting the oldest value, and wakes every waiting
//! receiver. A receiver keeps its own `next` position: if its slot still holds `next`, it takes
//! an `Arc` of the value under the lock and clones `T` *after* the lock (the last reader of a
//! value gets it without a clone); if the slot was overwritten, it jumps to the oldest value
//! still held and reports [`Lagged(n)`](error::RecvError::Lagged).
//!
//! Holding values as `Arc<T>` costs one allocation per send; in exchange `T::clone` and
//! `T::drop` (user code) never run under our lock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{lock, WaitList, WakeList};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use crate::loom::sync::{Arc, Mutex};
use crate::sync::Notify;

/// The errors of [`broadcast`](self).
pub mod error {
    use std::fmt;

    /// No receiver exists: the value comes back.
    #[derive(Debug)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "channel closed")
        }
    }

    impl<T: fmt::Debug> std::error::Error for SendError<T> {}

    /// Why `recv` returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum RecvError {
        /// Every sender is gone and every value was received.
        Closed,
        /// The receiver fell behind and this many values were overwritten before it read
        /// them; the next `recv` returns the oldest value still held.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => write!(f, "channel closed"),
                RecvError::Lagged(amt) => write!(f, "channel lagged by {amt}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why `try_recv` returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum TryRecvError {
        /// No new value yet.
        Empty,
        /// Every sender is gone and every value was received.
        Closed,
        /// The receiver fell behind by this many values (see [`RecvError::Lagged`]).
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => write!(f, "channel empty"),
                TryRecvError::Closed => write!(f, "channel closed"),
                TryRecvError::Lagged(amt) => write!(f, "channel lagged by {amt}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Shared<T> {
    state: Mutex<State<T>>,
    mask: usize,
    tx_count: AtomicUsize,
    tx_weak_count: AtomicUsize,
    /// Woken when the last receiver goes, for `Sender::closed`.
    notify_tx: Notify,
}

struct State<T> {
    buffer: Box<[Slot<T>]>,
    /// Position of the next value to be sent.
    tail: u64,
    rx_count: usize,
    closed: bool,
    waiters: WaitList<()>,
}

struct Slot<T> {
    pos: u64,
    /// Receivers that have yet to read this value.
    rem: usize,
    value: Option<Arc<T>>,
}

/// Sends values to every receiver; cloneable. tokio's `broadcast::Sender`.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open; [`upgrade`](Self::upgrade) it to send.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives every value sent after it subscribed. tokio's `broadcast::Receiver`.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    next: u64,
}

/// A broadcast channel holding at most `capacity` values (rounded up to a power of two).
///
/// # Panics
/// If `capacity` is 0 or above `usize::MAX / 2`.
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::new(capacity);
    let rx = tx.subscribe();
    (tx, rx)
}

impl<T> Shared<T> {
    /// Takes the next value for a receiver at `next`, under the lock. The `Option<Arc<T>>`
    /// beside it is a value whose last reader this was, to drop after the lock.
    fn try_recv_locked(state: &mut State<T>, next: &mut u64) -> Result<Arc<T>, TryRecvError> {
        if *next == state.tail {
            return Err(if state.closed { TryRecvError::Closed } else { TryRecvError::Empty });
        }
        let cap = state.buffer.len() as u64;
        let idx = (*next & (cap - 1)) as usize;
        let slot = &mut state.buffer[idx];
        if slot.pos != *next {
            // Overwritten: jump to the oldest value still held.
            let oldest = state.tail - cap;
            let missed = oldest - *next;
            *next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
        *next += 1;
        slot.rem -= 1;
        let value = if slot.rem == 0 { slot.value.take() } else { slot.value.clone() };
        Ok(value.expect("a slot not yet read by everyone holds its value"))
    }
}

/// The value out of its `Arc`: moved if this was its last holder, cloned (outside any lock)
/// otherwise.
fn unwrap_or_clone<T: Clone>(value: Arc<T>) -> T {
    Arc::try_unwrap(value).unwrap_or_else(|value| (*value).clone())
}

impl<T> Sender<T> {
    /// A sender with no receiver yet (see [`subscribe`](Sender::subscribe)).
    ///
    /// # Panics
    /// If `capacity` is 0 or above `usize::MAX / 2`.
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        assert!(capacity > 0, "broadcast channel capacity cannot be zero");
        assert!(
            capacity <= usize::MAX >> 1,
            "broadcast channel capacity exceeded `usize::MAX / 2`"
        );
        let capacity = capacity.next_power_of_two();
        let buffer = (0..capacity)
            .map(|i| Slot {
                // A position no receiver will ever look for in this slot.
                pos: (i as u64).wrapping_sub(capacity as u64),
                rem: 0,
                value: None,
            })
            .collect();
        Sender {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    buffer,
                    tail: 0,
                    rx_count: 0,
                    closed: false,
                    waiters: WaitList::new(),
                }),
                mask: capacity - 1,
                tx_count: AtomicUsize::new(1),
                tx_weak_count: AtomicUsize::new(0),
                notify_tx: Notify::new(),
            }),
        }
    }

    /// Sends `value` to every current receiver; returns how many there are. Fails, giving the
    /// value back, if there are none. Overwrites the oldest value if the ring is full.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let value = Arc::new(value);
        let mut wakers = WakeList::new();
        let mut state = lock(&self.shared.state);
        let rx_count = state.rx_count;
        if rx_count == 0 {
            drop(state);
            let value = Arc::try_unwrap(value)
                .unwrap_or_else(|_| unreachable!("the value was never shared"));
            return Err(SendError(value));
        }
        let pos = state.tail;
        let idx = (pos as usize) & self.shared.mask;
        let slot = &mut state.buffer[idx];
        slot.pos = pos;
        slot.rem = rx_count;
        let old = slot.value.replace(value);
        state.tail += 1;
        while let Some(key) = state.waiters.front() {
            wakers.push(state.waiters.unlink(key));
        }
        drop(state);
        drop(old);
        wakers.wake_all();
        Ok(rx_count)
    }

    /// A new receiver, which will see the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// A weak sender for this channel.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.tx_weak_count.fetch_add(1, AcqRel);
        WeakSender { shared: self.shared.clone() }
    }

    /// How many values are held that some receiver (alive when they were sent) has not read.
    pub fn len(&self) -> usize {
        let state = lock(&self.shared.state);
        let cap = state.buffer.len() as u64;
        let first = state.tail.saturating_sub(cap);
        (first..state.tail)
            .filter(|&pos| {
                let slot = &state.buffer[(pos as usize) & self.shared.mask];
                slot.pos == pos && slot.rem > 0
            })
            .count()
    }

    /// Whether [`len`](Sender::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.state).rx_count
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Waits until every receiver is gone.
    pub async fn closed(&self) {
        super::cooperative(async {
            loop {
                let notified = self.shared.notify_tx.notified();
                if self.receiver_count() == 0 {
                    return;
                }
                notified.await;
            }
        })
        .await
    }

    /// How many strong senders exist.
    pub fn strong_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// How many weak senders exist.
    pub fn weak_count(&self) -> usize {
        self.shared.tx_weak_count.load(Acquire)
    }
}

fn new_receiver<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let mut state = lock(&shared.state);
    state.rx_count += 1;
    let next = state.tail;
    drop(state);
    Receiver { shared: shared.clone(), next }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.tx_count.fetch_add(1, AcqRel);
        Sender { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.tx_count.fetch_sub(1, AcqRel) != 1 {
            return;
        }
        let mut wakers = WakeList::new();
        let mut state = lock(&self.shared.state);
        state.closed = true;
        while let Some(key) = state.waiters.front() {
            wakers.push(state.waiters.unlink(key));
        }
        drop(state);
        wakers.wake_all();
    }
}

impl<T> WeakSender<T> {
    /// A strong sender, unless every strong sender is gone already.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut count = self.shared.tx_count.load(Acquire);
        loop {
            if count == 0 {
                return None;
            }
            match self.shared.tx_count.compare_exchange_weak(count, count + 1, AcqRel, Acquire) {
                Ok(_) => return Some(Sender { shared: self.shared.clone() }),
                Err(actual) => count = actual,
            }
        }
    }

    /// How many strong senders exist.
    pub fn strong_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// How many weak senders exist.
    pub fn weak_count(&self) -> usize {
        self.shared.tx_weak_count.load(Acquire)
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.shared.tx_weak_count.fetch_add(1, AcqRel);
        WeakSender { shared: self.shared.clone() }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.tx_weak_count.fetch_sub(1, AcqRel);
    }
}

impl<T> Receiver<T> {
    /// How many values sent since this receiver's last read it has yet to receive.
    pub fn len(&self) -> usize {
        (lock(&self.shared.state).tail - self.next) as usize
    }

    /// Whether [`len`](Receiver::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both receivers are on the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// How many strong senders exist.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// How many weak senders exist.
    pub fn sender_weak_count(&self) -> usize {
        self.shared.tx_weak_count.load(Acquire)
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).closed
    }

    /// A new receiver on the same channel that starts at the tail (it sees only values sent
    /// from now on).
    pub fn resubscribe(&self) -> Self {
        new_receiver(&self.shared)
    }
}

impl<T: Clone> Receiver<T> {
    /// Waits for the next value. `Lagged(n)` if `n` values were overwritten before this
    /// receiver read them; `Closed` once every sender is gone and all is read. Cancel-safe.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        Recv { rx: self, key: None }.await
    }

    /// The next value if one is there now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = lock(&self.shared.state);
        let value = Shared::try_recv_locked(&mut state, &mut self.next);
        drop(state);
        value.map(unwrap_or_clone)
    }

    /// [`recv`](Receiver::recv) from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        super::block_on(self.recv())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut dropped = Vec::new();
        let mut state = lock(&self.shared.state);
        state.rx_count -= 1;
        let last = state.rx_count == 0;
        // This receiver no longer counts as a reader of what it had not read.
        let cap = state.buffer.len() as u64;
        for pos in self.next.max(state.tail.saturating_sub(cap))..state.tail {
            let slot = &mut state.buffer[(pos as usize) & self.shared.mask];
            if slot.pos == pos && slot.rem > 0 {
                slot.rem -= 1;
                if slot.rem == 0 {
                    dropped.extend(slot.value.take());
                }
            }
        }
        drop(state);
        drop(dropped);
        if last {
            self.shared.notify_tx.notify_waiters();
        }
    }
}

/// The future of [`Receiver::recv`].
struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    /// Our node in the waiter list, while registered.
    key: Option<usize>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if crate::context::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let shared = &*this.rx.shared;
        let mut new_waker: Option<Waker> = None;
        loop {
            let mut state = lock(&shared.state);
            let result = match Shared::try_recv_locked(&mut state, &mut this.rx.next) {
                Ok(value) => Ok(value),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty) => {
                    // Still in line with the same task: nothing to do.
                    if let Some(key) = this.key {
                        if state.waiters.is_queued(key) && state.waiters.will_wake(key, cx.waker())
                        {
                            return Poll::Pending;
                        }
                    }
                    let Some(waker) = new_waker.take() else {
                        drop(state);
                        new_waker = Some(cx.waker().clone());
                        continue;
                    };
                    // (Re-)join the line with the new waker.
                    let old = this.key.take().map(|key| state.waiters.remove(key));
                    this.key = Some(state.waiters.push_back((), Some(waker)));
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
            };
            let old = this.key.take().map(|key| state.waiters.remove(key));
            drop(state);
            drop(old);
            return Poll::Ready(result.map(unwrap_or_clone));
        }
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let node = lock(&self.rx.shared.state).waiters.remove(key);
            drop(node);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("next", &self.next).finish_non_exhaustive()
    }
}
