//! Multi-producer, single-consumer channels: [`channel`] (bounded) and
//! [`unbounded_channel`]. tokio's `mpsc`.
//!
//! Both flavors share one `Chan` (chan.rs): a `VecDeque` of values and the receiver's waker
//! under one lock, and atomic sender counts. The bounded flavor adds a
//! [`Semaphore`](crate::sync::Semaphore) with one permit per free slot:
//!
//! ```text
//!  Sender::send(v) ──► acquire 1 permit ──► push v, wake receiver ──► Receiver::recv pops v
//!   (waits FIFO in the semaphore's            (lock, push, unlock,        (lock, pop, unlock,
//!    queue while the channel is full)          wake)                       release 1 permit:
//!                                                                          wakes the next sender)
//! ```
//!
//! So a full channel parks senders in the semaphore's FIFO waiter queue (cancel-safe: a
//! dropped `send` leaves the line and passes on a slot it was handed), and
//! [`reserve`](Sender::reserve) is just the acquire, with the push done later by
//! [`Permit::send`]. Closing the receiver closes the semaphore, which fails every waiting
//! sender; the values already queued can still be received.

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, PermitIterator, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

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
            match self.chan.try_recv() {
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
            self.chan.len() == 0
        }

        /// How many values are queued.
        pub fn len(&self) -> usize {
            self.chan.len()
        }

        /// Polls for the next value (see [`recv`](Self::recv)).
        pub fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
            let mut out = crate::sync::mpsc::chan::One(None);
            self.chan.poll_recv(cx, &mut out, 1).map(|_| out.0)
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
            self.chan.poll_recv(cx, buffer, limit)
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

use receiver_methods;
