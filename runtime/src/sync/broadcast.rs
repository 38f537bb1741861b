//! A multi-producer, multi-consumer channel where every receiver sees every value (unless it
//! falls more than the capacity behind: then it is told how many it missed). tokio's
//! `broadcast`.
//!
//! Values live in *blocks* of up to 32 cells, and the channel keeps a ring of the blocks
//! that hold the last `capacity` positions (one block more than the capacity needs, so a
//! position still within the capacity always has its block in the ring):
//!
//! ```text
//!   ring (under the lock)          Arc<Block>: index k, cells for positions 32k .. 32k+31
//!   [0] ─► block 4  ◄──────────────────── receiver A holds an Arc of block 4, reads 131
//!   [1] ─► block 5  ◄──────────────────── receiver B holds an Arc of block 5, reads 165
//!   [2] ─► block 3 (old, released when the sender starts block 6; freed when nobody holds it)
//!   tail (atomic) = 166: the next position to be sent
//!   cell = Mutex<{ rem: receivers that have yet to read it, value: Option<T> }>
//! ```
//!
//! - **send** (under the lock): writes the value into its cell (starting a new block when the
//!   position is the first of one, which replaces the oldest block in the ring) with `rem` =
//!   the receiver count, then publishes the new `tail` (release) and wakes every waiting
//!   receiver.
//! - **recv**, fast path (not the channel's lock): if `tail` (acquire) is past the receiver's
//!   `next`, the value is not overwritten (`tail - next <= capacity`), and the receiver already
//!   holds `next`'s block, it reads the cell directly, under the cell's own lock (one lock and
//!   unlock, nothing else atomic, as tokio's slot): it decrements `rem`, then clones the value,
//!   or, if that decrement was the last (everybody else has read it), moves it out without a
//!   clone, to drop after the lock (tokio releases a value once every receiver has it). The
//!   cell's lock makes the clones of one value take turns, so `T` need only be `Send`: an
//!   `RwLock` would let them clone in parallel, but cloning one `&T` on several threads at once
//!   needs `T: Sync` (`RwLock<T>` is `Sync` only for `T: Send + Sync`), which is the hole
//!   RUSTSEC-2025-0023 found in tokio's `RwLock` slots; tokio 1.44.2 fixed it with a `Mutex`
//!   per slot, as here. Receivers of other positions never wait for it.
//! - **recv**, slow path (under the lock, once per block, and when there is nothing to read):
//!   takes an `Arc` of the block that holds `next`, or reports `Lagged(n)` (and jumps to the
//!   oldest value within the capacity) or `Closed`, or joins the `WaitList` of receivers.
//!
//! So `T::clone` runs only under its own cell's lock (a panicking clone leaves the cell
//! usable: its lock ignores poisoning) and `T::drop` under none, and the channel's lock is
//! taken once per block, not per value (see docs/BENCHMARKS-notebook.md). No cell's lock is
//! waited for under the channel's (a receiver's `T::clone` may hold one): a dropped receiver
//! and `Sender::len` take the blocks they need under the channel's lock and visit the cells
//! after it; `send` locks only the fresh cell, which no receiver can see yet. A block is freed
//! (with any value a lagging receiver never read) when the ring has moved past it and no
//! receiver holds it; memory stays bounded by the capacity plus one block per receiver.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{lock, WaitList, WakeList};
use crate::loom::sync::atomic::{
    AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
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

/// Cells per block (fewer when the capacity is smaller).
const BLOCK_LEN: u64 = 32;

struct Shared<T> {
    state: Mutex<State<T>>,
    /// The position of the next value to send. Written only under `state`'s lock, after the
    /// value's cell (release); read by receivers without the lock (acquire).
    tail: AtomicU64,
    /// The capacity, a power of two.
    cap: u64,
    /// Cells per block, a power of two no larger than `cap`.
    block_len: u64,
    tx_count: AtomicUsize,
    tx_weak_count: AtomicUsize,
    /// Woken when the last receiver goes, for `Sender::closed`.
    notify_tx: Notify,
}

struct State<T> {
    /// Block `k` (positions `k * block_len ..`) sits at `ring[k % ring.len()]`; the ring has
    /// one block more than `cap / block_len`, so every position in `tail - cap .. tail` has
    /// its block here.
    ring: Box<[Option<Arc<Block<T>>>]>,
    rx_count: usize,
    closed: bool,
    waiters: WaitList<()>,
}

/// `block_len` consecutive positions of the stream.
struct Block<T> {
    /// This block holds positions `index * block_len .. (index + 1) * block_len`.
    index: u64,
    cells: Box<[Cell<T>]>,
}

/// One position's value, under its own lock.
type Cell<T> = Mutex<Slot<T>>;

/// One value and how many receivers have yet to read it.
struct Slot<T> {
    /// Receivers that have yet to read the value: set with it, by the sender that holds the
    /// channel's lock, before `tail` passes this position; each receiver counted here
    /// decrements it once (reading, or dropped before it read).
    rem: usize,
    /// Cloned by each counted receiver but the last, which takes it out (and drops it, or
    /// returns it, after the cell's lock).
    value: Option<T>,
}

impl<T> Block<T> {
    fn new(index: u64, len: u64) -> Block<T> {
        let cells = (0..len).map(|_| Mutex::new(Slot { rem: 0, value: None })).collect();
        Block { index, cells }
    }
}

impl<T> Slot<T> {
    /// Stops counting one receiver that will not read the value (it is dropped); returns the
    /// value if that receiver was its last reader, to drop after the lock.
    fn skip(&mut self) -> Option<T> {
        self.rem -= 1;
        if self.rem == 0 {
            self.value.take()
        } else {
            None
        }
    }
}

/// This receiver's copy of the value in `cell`, after which it no longer counts as a reader.
/// The caller is counted in `rem` (it has not read this position yet). It stops counting
/// before the clone, so a panicking `T::clone` still moves it past the value (as tokio's) and
/// leaves the value to the others.
fn read<T: Clone>(cell: &Cell<T>) -> T {
    let mut slot = lock(cell);
    slot.rem -= 1;
    let value = if slot.rem == 0 {
        // Everybody else has read it: move it out, no clone.
        slot.value.take()
    } else {
        slot.value.clone()
    };
    drop(slot);
    value.expect("a value not yet read by everyone is in its cell")
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
    /// The position of the next value to receive.
    next: u64,
    /// The block holding `next` (or an earlier one), taken on the slow path.
    block: Option<Arc<Block<T>>>,
}

/// The cells of positions `from..to` in `blocks` (from [`Shared::blocks`]).
fn cells<T>(blocks: &[Arc<Block<T>>], from: u64, to: u64) -> impl Iterator<Item = &Cell<T>> {
    (from..to).map(move |pos| {
        let block_len = blocks[0].cells.len() as u64;
        let block = &blocks[(pos / block_len - blocks[0].index) as usize];
        &block.cells[(pos % block_len) as usize]
    })
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
    /// The blocks that hold positions `from..to` (all within `tail - cap .. tail`), cloned
    /// under the channel's lock so that their cells are visited after it: no cell's lock is
    /// waited for under the channel's (a receiver's `T::clone` may hold it, and may take the
    /// channel's lock itself).
    fn blocks(&self, state: &State<T>, from: u64, to: u64) -> Vec<Arc<Block<T>>> {
        if from >= to {
            return Vec::new();
        }
        let ring_len = state.ring.len() as u64;
        (from / self.block_len..=(to - 1) / self.block_len)
            .map(|index| {
                let block = state.ring[(index % ring_len) as usize]
                    .clone()
                    .expect("a position within the capacity has its block in the ring");
                debug_assert_eq!(block.index, index);
                block
            })
            .collect()
    }

    /// Under the lock, for a receiver at `next` that could not read without it: why there is
    /// nothing to read (`Empty`, `Closed`, or `Lagged`, after which `next` is the oldest
    /// position still held), or `Ok` once `block` holds `next`'s block; the block it held
    /// before comes back, to drop after the lock.
    fn prepare_locked(
        &self,
        state: &State<T>,
        next: &mut u64,
        block: &mut Option<Arc<Block<T>>>,
    ) -> Result<Option<Arc<Block<T>>>, TryRecvError> {
        let tail = self.tail.load(Relaxed);
        if *next == tail {
            return Err(if state.closed { TryRecvError::Closed } else { TryRecvError::Empty });
        }
        if tail - *next > self.cap {
            // Overwritten: jump to the oldest value still held.
            let oldest = tail - self.cap;
            let missed = oldest - *next;
            *next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
        let index = *next / self.block_len;
        if block.as_ref().is_some_and(|block| block.index == index) {
            return Ok(None);
        }
        let wanted = state.ring[(index % state.ring.len() as u64) as usize]
            .clone()
            .expect("a position within the capacity has its block in the ring");
        debug_assert_eq!(wanted.index, index);
        Ok(block.replace(wanted))
    }
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
        let cap = capacity.next_power_of_two() as u64;
        let block_len = cap.min(BLOCK_LEN);
        let ring = (0..=cap / block_len).map(|_| None).collect();
        Sender {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    ring,
                    rx_count: 0,
                    closed: false,
                    waiters: WaitList::new(),
                }),
                tail: AtomicU64::new(0),
                cap,
                block_len,
                tx_count: AtomicUsize::new(1),
                tx_weak_count: AtomicUsize::new(0),
                notify_tx: Notify::new(),
            }),
        }
    }

    /// Sends `value` to every current receiver; returns how many there are. Fails, giving the
    /// value back, if there are none. Overwrites the oldest value if the ring is full.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let shared = &*self.shared;
        let mut wakers = WakeList::new();
        let mut state = lock(&shared.state);
        let rx_count = state.rx_count;
        if rx_count == 0 {
            drop(state);
            return Err(SendError(value));
        }
        let pos = shared.tail.load(Relaxed);
        let index = pos / shared.block_len;
        let ring_len = state.ring.len() as u64;
        let entry = &mut state.ring[(index % ring_len) as usize];
        // The first position of a block starts it, in place of the oldest block (whose values
        // are all beyond the capacity now); that one is freed when no receiver holds it.
        let started = entry.as_ref().is_some_and(|block| block.index == index);
        let old = if started {
            None
        } else {
            entry.replace(Arc::new(Block::new(index, shared.block_len)))
        };
        let block = entry.as_ref().expect("the block was just put in place");
        let cell = &block.cells[(pos % shared.block_len) as usize];
        // No receiver looks at this cell before `tail` passes `pos` (just below, with
        // release), so its lock is free; each position is written once (`tail` only grows,
        // under the channel's lock), so the cell held `None` and nothing is dropped here.
        *lock(cell) = Slot { rem: rx_count, value: Some(value) };
        shared.tail.store(pos + 1, Release);
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
        let shared = &*self.shared;
        let state = lock(&shared.state);
        let tail = shared.tail.load(Relaxed);
        let from = tail.saturating_sub(shared.cap);
        let blocks = shared.blocks(&state, from, tail);
        drop(state);
        let len = cells(&blocks, from, tail).filter(|&cell| lock(cell).rem > 0).count();
        drop(blocks);
        len
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
        let closed = || (self.receiver_count() == 0).then_some(());
        super::cooperative(self.shared.notify_tx.wait_until(closed)).await
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
    // Under the lock, so every value sent from now on counts this receiver in its `rem`.
    let next = shared.tail.load(Relaxed);
    drop(state);
    Receiver { shared: shared.clone(), next, block: None }
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
        (self.shared.tail.load(Acquire) - self.next) as usize
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

    /// The next value, if it can be read without the lock: a value is there, it is not
    /// overwritten, and this receiver holds its block.
    fn try_recv_fast(&mut self) -> Option<T> {
        let shared = &*self.shared;
        let tail = shared.tail.load(Acquire);
        if self.next >= tail || tail - self.next > shared.cap {
            return None;
        }
        let block = self.block.as_ref()?;
        let offset = self.next.wrapping_sub(block.index * shared.block_len);
        if offset >= shared.block_len {
            return None;
        }
        // Past it before reading, as tokio: a `T::clone` that panics skips the value.
        self.next += 1;
        Some(read(&block.cells[offset as usize]))
    }

    /// The next value if one is there now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        loop {
            if let Some(value) = self.try_recv_fast() {
                return Ok(value);
            }
            let shared = &*self.shared;
            let state = lock(&shared.state);
            let prepared = shared.prepare_locked(&state, &mut self.next, &mut self.block);
            drop(state);
            // The block held before (dropped after the lock), then read without the lock.
            drop(prepared?);
        }
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
        let shared = &*self.shared;
        let mut state = lock(&shared.state);
        state.rx_count -= 1;
        let last = state.rx_count == 0;
        // Values sent from now on do not count this receiver; those it has not read yet do.
        let tail = shared.tail.load(Relaxed);
        let from = self.next.max(tail.saturating_sub(shared.cap));
        let blocks = shared.blocks(&state, from, tail);
        drop(state);
        // It stops counting as their reader; a value it was the last reader of is dropped
        // (after its cell's lock).
        for cell in cells(&blocks, from, tail) {
            let value = lock(cell).skip();
            drop(value);
        }
        drop(blocks);
        drop(self.block.take());
        if last {
            shared.notify_tx.notify_waiters();
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
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let mut new_waker: Option<Waker> = None;
        loop {
            if let Some(value) = this.rx.try_recv_fast() {
                if let Some(key) = this.key.take() {
                    let node = lock(&this.rx.shared.state).waiters.remove(key);
                    drop(node);
                }
                return Poll::Ready(Ok(value));
            }
            let shared = &*this.rx.shared;
            let mut state = lock(&shared.state);
            let result = match shared.prepare_locked(&state, &mut this.rx.next, &mut this.rx.block)
            {
                Ok(old) => {
                    // Now holding `next`'s block: read it without the lock.
                    drop(state);
                    drop(old);
                    continue;
                }
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
            return Poll::Ready(result);
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
