//! The bounded flavor: at most `buffer` values queued; senders wait in the semaphore's FIFO.

use std::fmt;
use std::time::Duration;

use super::chan::{Chan, RxBuffer};
use super::error::{SendError, SendTimeoutError, TrySendError};
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire};
use crate::loom::sync::Arc;
use crate::sync::semaphore::{Acquire as AcquirePermits, Semaphore, TryAcquireError};

/// Sends values to a [`Receiver`], waiting while the channel is full; cloneable. tokio's
/// `mpsc::Sender`.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// A sender that does not keep the channel open; [`upgrade`](Self::upgrade) it to send.
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

/// Receives the values of a bounded channel. tokio's `mpsc::Receiver`.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    /// Values taken from the queue in one batch, not handed out yet.
    buffered: RxBuffer<T>,
}

/// One reserved slot: [`send`](Permit::send) fills it without waiting; dropping it frees it.
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

/// `n` reserved slots, handed out one [`Permit`] at a time; the rest are freed on drop.
pub struct PermitIterator<'a, T> {
    chan: &'a Chan<T>,
    n: usize,
}

/// A reserved slot that owns its [`Sender`]; [`send`](OwnedPermit::send) gives it back.
pub struct OwnedPermit<T> {
    chan: Option<Sender<T>>,
}

/// A channel that queues at most `buffer` values.
///
/// # Panics
/// If `buffer` is 0, or above [`Semaphore::MAX_PERMITS`].
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let chan = Arc::new(Chan::new(Some(buffer)));
    (Sender { chan: chan.clone() }, Receiver { chan, buffered: RxBuffer::new() })
}

impl<T> Chan<T> {
    fn sem(&self) -> &Semaphore {
        self.sem.as_ref().expect("a bounded channel has a semaphore")
    }

    /// Waits for `n` slots. If the wait ends without them (closed, or the future dropped),
    /// slots it had been handed went back to the semaphore: that may leave a closed channel
    /// idle, and its receiver waiting for exactly that.
    async fn acquire(&self, n: usize) -> Result<(), SendError<()>> {
        struct IdleCheck<'a, T>(&'a Chan<T>);
        impl<T> Drop for IdleCheck<'_, T> {
            fn drop(&mut self) {
                self.0.wake_rx_if_closed_and_idle();
            }
        }
        let check = IdleCheck(self);
        let acquired = AcquirePermits::new(self.sem(), n).await;
        if acquired.is_ok() {
            std::mem::forget(check);
        }
        acquired.map_err(|_| SendError(()))
    }
}

impl<T> Receiver<T> {
    super::chan::receiver_methods!();

    /// The free slots right now.
    pub fn capacity(&self) -> usize {
        self.chan.sem().available_permits()
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.bound
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for a free slot (in FIFO order with the other senders). Fails,
    /// giving the value back, if the receiver is gone or closed.
    ///
    /// Cancel-safety as tokio's: dropping the future gives up its place in line; the value
    /// was not sent (and is dropped with the future).
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.reserve().await {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(_) => Err(SendError(value)),
        }
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Sends `message` if a slot is free right now.
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        match self.chan.sem().try_take(1) {
            Ok(()) => {
                Permit { chan: &self.chan }.send(message);
                Ok(())
            }
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(message)),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(message)),
        }
    }

    /// [`send`](Sender::send), giving up after `timeout` (needs a runtime with a timer).
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        match crate::time::timeout(timeout, self.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(value);
                Ok(())
            }
            Ok(Err(_)) => Err(SendTimeoutError::Closed(value)),
            Err(_) => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// [`send`](Sender::send) from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::block_on(self.send(value))
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
    }

    /// Waits for a free slot and reserves it.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        self.chan.acquire(1).await?;
        Ok(Permit { chan: &self.chan })
    }

    /// Waits for `n` free slots and reserves them all.
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        if n > self.chan.bound {
            return Err(SendError(()));
        }
        self.chan.acquire(n).await?;
        Ok(PermitIterator { chan: &self.chan, n })
    }

    /// [`reserve`](Sender::reserve), with a permit that owns the sender.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        self.chan.acquire(1).await?;
        Ok(OwnedPermit { chan: Some(self) })
    }

    /// Reserves a slot if one is free right now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.chan.sem().try_take(1) {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
        }
    }

    /// Reserves `n` slots if they are free right now.
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        if n > self.chan.bound {
            return Err(TrySendError::Full(()));
        }
        match self.chan.sem().try_take(n) {
            Ok(()) => Ok(PermitIterator { chan: &self.chan, n }),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
        }
    }

    /// [`try_reserve`](Sender::try_reserve), with a permit that owns the sender.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.chan.sem().try_take(1) {
            Ok(()) => Ok(OwnedPermit { chan: Some(self) }),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
        }
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// The free slots right now.
    pub fn capacity(&self) -> usize {
        self.chan.sem().available_permits()
    }

    /// A weak sender for this channel.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.chan.tx_weak_count.fetch_add(1, AcqRel);
        WeakSender { chan: self.chan.clone() }
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.bound
    }

    /// How many strong senders exist.
    pub fn strong_count(&self) -> usize {
        self.chan.tx_count.load(Acquire)
    }

    /// How many weak senders exist.
    pub fn weak_count(&self) -> usize {
        self.chan.tx_weak_count.load(Acquire)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.tx_count.fetch_add(1, AcqRel);
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.tx_drop();
    }
}

impl<T> WeakSender<T> {
    /// A strong sender, unless every strong sender is gone already.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().then(|| Sender { chan: self.chan.clone() })
    }

    /// How many strong senders exist.
    pub fn strong_count(&self) -> usize {
        self.chan.tx_count.load(Acquire)
    }

    /// How many weak senders exist.
    pub fn weak_count(&self) -> usize {
        self.chan.tx_weak_count.load(Acquire)
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.chan.tx_weak_count.fetch_add(1, AcqRel);
        WeakSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.chan.tx_weak_count.fetch_sub(1, AcqRel);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.rx_drop();
        // The buffered values go after the channel's lock, with their slots: the channel is
        // closed, so nobody waits for those.
        drop(std::mem::take(self.buffered.get_mut()));
    }
}

impl<T> Permit<'_, T> {
    /// Fills the reserved slot with `value` (never waits). If the receiver is gone, the value
    /// is dropped.
    pub fn send(self, value: T) {
        let chan = self.chan;
        // The slot now belongs to the value; the receiver frees it when it takes it.
        std::mem::forget(self);
        if chan.push(value, true).is_err() {
            chan.release_permits(1);
        }
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release_permits(1);
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}
impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        self.chan.release_permits(self.n);
    }
}

impl<T> OwnedPermit<T> {
    /// Fills the reserved slot with `value`; returns the sender.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.chan.take().expect("an OwnedPermit is consumed once");
        Permit { chan: &sender.chan }.send(value);
        sender
    }

    /// Frees the reserved slot; returns the sender.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.chan.take().expect("an OwnedPermit is consumed once");
        sender.chan.release_permits(1);
        sender
    }

    /// Whether both permits are for the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        match (&self.chan, &other.chan) {
            (Some(a), Some(b)) => a.same_channel(b),
            _ => false,
        }
    }

    /// Whether this permit is for `sender`'s channel.
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.chan.as_ref().is_some_and(|s| s.same_channel(sender))
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.chan.take() {
            sender.chan.release_permits(1);
        }
    }
}

macro_rules! debug_opaque {
    ($($name:ident $(<$lt:lifetime>)?),*) => {$(
        impl<T> fmt::Debug for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    )*};
}

debug_opaque!(Sender, WeakSender, Receiver, Permit<'_>, PermitIterator<'_>, OwnedPermit);
