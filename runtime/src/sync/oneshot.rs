//! A channel for one value, from one [`Sender`] to one [`Receiver`]. tokio's `oneshot`.
//!
//! Both halves share an `Arc` of: an atomic state word (value sent, sender gone, receiver
//! closed, and which side has parked a waker), a cell for the value, and a lock around the two
//! waker slots. The fast path takes no lock: `send` writes the value into the cell, then sets
//! VALUE_SENT with one compare-and-swap (failing, and giving the value back, if the receiver
//! closed); a receiver that finds VALUE_SENT takes the value. Only a side that has to wait
//! takes the lock, to park its waker and set its WAKER bit; whoever changes the state after
//! that sees the bit and wakes it (after the lock). The waiting side re-reads the state after
//! setting its bit, so a change in between is never missed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{lock, store_waker};
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire};
use crate::loom::sync::{Arc, Mutex};
use crate::loom::UnsafeCell;

/// The errors of [`Receiver`].
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// The sender was dropped without sending.
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub struct RecvError(pub(super) ());

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub enum TryRecvError {
        /// No value yet; the sender is still alive.
        Empty,
        /// The sender was dropped without sending, or the value was already taken.
        Closed,
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(fmt, "channel closed")
        }
    }

    impl Error for RecvError {}

    impl fmt::Display for TryRecvError {
        fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => write!(fmt, "channel empty"),
                TryRecvError::Closed => write!(fmt, "channel closed"),
            }
        }
    }

    impl Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

/// The value is in `value` (written before this bit is set).
const VALUE_SENT: usize = 1;
/// The sender is gone (it sent, or was dropped): no value comes after this.
const COMPLETE: usize = 2;
/// The receiver closed or was dropped: a send fails from now on.
const RX_CLOSED: usize = 4;
/// `wakers.rx` holds the receiver's waker; whoever sets VALUE_SENT or COMPLETE wakes it.
const RX_WAKER: usize = 8;
/// `wakers.tx` holds the sender's waker (in `closed()`); whoever sets RX_CLOSED wakes it.
const TX_WAKER: usize = 16;

struct Inner<T> {
    state: AtomicUsize,
    /// Written only by the sender, before it sets VALUE_SENT; taken only by the receiver,
    /// after it saw VALUE_SENT.
    value: UnsafeCell<Option<T>>,
    /// Touched only on the slow paths: to park, and to wake a parked side.
    wakers: Mutex<Wakers>,
}

struct Wakers {
    rx: Option<Waker>,
    tx: Option<Waker>,
}

// SAFETY: the value moves from the sender's thread to the receiver's, so `T: Send` is needed
// and enough; `value` is never accessed by both sides at once (see its field doc: the
// VALUE_SENT bit, set with release and read with acquire, hands it over).
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above: `&Inner` gives no shared access to `T`, only the hand-over.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    /// Takes the sent value. Only the receiver calls this, once, after seeing VALUE_SENT.
    fn take_value(&self) -> Option<T> {
        // SAFETY: VALUE_SENT was observed (acquire), so the sender's write is visible and the
        // sender never touches `value` again; only the receiver (the caller) reads it.
        self.value.with_mut(|ptr| unsafe { (*ptr).take() })
    }

    /// Wakes the waker parked in `slot` (taken under the lock, woken after it).
    fn wake(&self, slot: fn(&mut Wakers) -> &mut Option<Waker>) {
        let waker = slot(&mut lock(&self.wakers)).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A side going away drops the waker it parked, if it parked one (the lock is taken only
    /// then), after the lock.
    fn drop_own_waker(
        &self,
        state: usize,
        bit: usize,
        slot: fn(&mut Wakers) -> &mut Option<Waker>,
    ) {
        if state & bit != 0 {
            let waker = slot(&mut lock(&self.wakers)).take();
            drop(waker);
        }
    }

    /// Parks `cx`'s waker in `slot` and sets `bit`, unless `done(state)` holds; returns the
    /// state seen after parking, so the caller re-checks it (a change between its first look
    /// and the bit would otherwise be missed: whoever changes the state after the bit is set
    /// sees it and wakes us).
    fn park(
        &self,
        cx: &Context<'_>,
        slot: fn(&mut Wakers) -> &mut Option<Waker>,
        bit: usize,
    ) -> usize {
        let mut new_waker = None;
        loop {
            let mut wakers = lock(&self.wakers);
            match store_waker(slot(&mut wakers), cx.waker(), &mut new_waker) {
                Ok(old) => {
                    let state = self.state.fetch_or(bit, AcqRel) | bit;
                    drop(wakers);
                    drop(old);
                    return state;
                }
                Err(()) => {
                    drop(wakers);
                    new_waker = Some(cx.waker().clone());
                }
            }
        }
    }
}

/// Sends the value. tokio's `oneshot::Sender`.
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the value: `.await` it, or [`try_recv`](Receiver::try_recv). tokio's
/// `oneshot::Receiver`.
pub struct Receiver<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// A new oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        wakers: Mutex::new(Wakers { rx: None, tx: None }),
    });
    (Sender { inner: Some(inner.clone()) }, Receiver { inner: Some(inner) })
}

fn rx_slot(wakers: &mut Wakers) -> &mut Option<Waker> {
    &mut wakers.rx
}

fn tx_slot(wakers: &mut Wakers) -> &mut Option<Waker> {
    &mut wakers.tx
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is gone (or closed).
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a Sender is only consumed once");
        // SAFETY: only the sender writes `value`, and VALUE_SENT is not set yet, so the
        // receiver does not read it.
        inner.value.with_mut(|ptr| unsafe { *ptr = Some(value) });
        let mut state = inner.state.load(Acquire);
        loop {
            if state & RX_CLOSED != 0 {
                // VALUE_SENT was never set: the value is still ours alone.
                // SAFETY: as above.
                let value = inner.value.with_mut(|ptr| unsafe { (*ptr).take() });
                inner.state.fetch_or(COMPLETE, AcqRel);
                return Err(value.expect("the value was just written"));
            }
            match inner.state.compare_exchange_weak(
                state,
                state | VALUE_SENT | COMPLETE,
                AcqRel,
                Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & RX_WAKER != 0 {
            inner.wake(rx_slot);
        }
        inner.drop_own_waker(state, TX_WAKER, tx_slot);
        Ok(())
    }

    /// Waits until the receiver is dropped or closed. Cancel-safe.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        match self.inner.as_ref() {
            Some(inner) => inner.state.load(Acquire) & RX_CLOSED != 0,
            None => true,
        }
    }

    /// `Ready` once the receiver is dropped or closed; otherwise stores the waker.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let Some(inner) = self.inner.as_ref() else {
            return Poll::Ready(());
        };
        if inner.state.load(Acquire) & RX_CLOSED != 0 {
            return Poll::Ready(());
        }
        if inner.park(cx, tx_slot, TX_WAKER) & RX_CLOSED != 0 {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    // Inlined, so that dropping a sender that already sent (the common case: `send` consumes
    // it) is one test in the caller, not a call.
    #[inline]
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            sender_gone(inner);
        }
    }
}

/// A sender dropped without sending: completes the channel and wakes a waiting receiver.
#[inline(never)]
fn sender_gone<T>(inner: Arc<Inner<T>>) {
    let state = inner.state.fetch_or(COMPLETE, AcqRel);
    if state & RX_WAKER != 0 {
        inner.wake(rx_slot);
    }
    inner.drop_own_waker(state, TX_WAKER, tx_slot);
}

impl<T> Receiver<T> {
    /// Stops the channel: a later `send` fails (and gives its value back). A value sent
    /// before can still be received.
    pub fn close(&mut self) {
        let Some(inner) = self.inner.as_ref() else {
            return;
        };
        if inner.state.fetch_or(RX_CLOSED, AcqRel) & TX_WAKER != 0 {
            inner.wake(tx_slot);
        }
    }

    /// What a look at `state` decides: the value, closed, or nothing yet (`None`).
    fn complete(&mut self, state: usize) -> Option<Result<T, RecvError>> {
        let inner = self.inner.as_ref()?;
        let result = if state & VALUE_SENT != 0 {
            Ok(inner.take_value().expect("VALUE_SENT means the value is there"))
        } else if state & (COMPLETE | RX_CLOSED) != 0 {
            Err(RecvError(()))
        } else {
            return None;
        };
        self.inner = None;
        Some(result)
    }

    /// The value if it was sent; [`TryRecvError::Empty`] if not yet;
    /// [`TryRecvError::Closed`] if it never will be (or was already taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = self.inner.as_ref() else {
            return Err(TryRecvError::Closed);
        };
        let state = inner.state.load(Acquire);
        match self.complete(state) {
            Some(Ok(value)) => Ok(value),
            Some(Err(_)) => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the value from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        super::block_on(self)
    }

    /// Whether the value was received (or the channel found closed) by this receiver.
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether there is no value to receive right now.
    pub fn is_empty(&self) -> bool {
        match self.inner.as_ref() {
            Some(inner) => inner.state.load(Acquire) & VALUE_SENT == 0,
            None => true,
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let inner = this.inner.as_ref().expect("called after complete");
        if let Some(result) = this.complete(inner.state.load(Acquire)) {
            return Poll::Ready(result);
        }
        let inner = this.inner.as_ref().expect("still there");
        let state = inner.park(cx, rx_slot, RX_WAKER);
        match this.complete(state) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for Receiver<T> {
    // Inlined, so that dropping a receiver that already has its value (the common case) is
    // one test in the caller, not a call.
    #[inline]
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            receiver_gone(inner);
        }
    }
}

/// A receiver dropped before it got a value: closes the channel, drops a value that arrived
/// meanwhile, and wakes a sender waiting in `closed()`.
#[inline(never)]
fn receiver_gone<T>(inner: Arc<Inner<T>>) {
    let state = inner.state.fetch_or(RX_CLOSED, AcqRel);
    // A value sent and never received is dropped here, not under any lock.
    let value = if state & VALUE_SENT != 0 { inner.take_value() } else { None };
    drop(value);
    inner.drop_own_waker(state, RX_WAKER, rx_slot);
    if state & TX_WAKER != 0 {
        inner.wake(tx_slot);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
