//! The unbounded flavor: sends never wait (the queue grows), so `send` is not `async`.

use std::fmt;

use super::chan::{Chan, RxBuffer};
use super::error::SendError;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire};
use crate::loom::sync::Arc;

/// Sends values to an [`UnboundedReceiver`]; cloneable. tokio's `mpsc::UnboundedSender`.
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// A sender that does not keep the channel open; [`upgrade`](Self::upgrade) it to send.
pub struct WeakUnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// Receives the values of an unbounded channel. tokio's `mpsc::UnboundedReceiver`.
pub struct UnboundedReceiver<T> {
    chan: Arc<Chan<T>>,
    /// Values taken from the queue in one batch, not handed out yet.
    buffered: RxBuffer<T>,
}

/// A channel without a bound.
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(None));
    (UnboundedSender { chan: chan.clone() }, UnboundedReceiver { chan, buffered: RxBuffer::new() })
}

impl<T> UnboundedReceiver<T> {
    super::chan::receiver_methods!();
}

impl<T> UnboundedSender<T> {
    /// Queues `message`; gives it back if the receiver is gone (or closed).
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.chan.push(message, false).map_err(SendError)
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// A weak sender for this channel.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        self.chan.tx_weak_count.fetch_add(1, AcqRel);
        WeakUnboundedSender { chan: self.chan.clone() }
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

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.tx_count.fetch_add(1, AcqRel);
        UnboundedSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.tx_drop();
    }
}

impl<T> WeakUnboundedSender<T> {
    /// A strong sender, unless every strong sender is gone already.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.upgrade().then(|| UnboundedSender { chan: self.chan.clone() })
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

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.tx_weak_count.fetch_add(1, AcqRel);
        WeakUnboundedSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.tx_weak_count.fetch_sub(1, AcqRel);
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.rx_drop();
        // The buffered values go after the channel's lock, with their slots: the channel is
        // closed, so nobody waits for those.
        drop(std::mem::take(self.buffered.get_mut()));
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver").finish_non_exhaustive()
    }
}
