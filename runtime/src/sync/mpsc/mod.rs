//! Multi-producer, single-consumer channels: [`channel`] (bounded) and
//! [`unbounded_channel`]. tokio's `mpsc`.
//!
//! Both flavors share one `Chan` (chan.rs): a `VecDeque` of values and the receiver's waker
//! under one lock, and atomic sender counts; the receiver takes the whole queue at once into
//! a buffer of its own, so it locks once per batch. The bounded flavor adds a
//! [`Semaphore`](crate::sync::Semaphore) with one permit per free slot:
//!
//! ```text
//!  Sender::send(v) ──► acquire 1 permit ──► push v, wake receiver ──► Receiver::recv takes v
//!   (waits FIFO in the semaphore's            (lock, push, unlock,        (from its buffer, or
//!    queue while the channel is full)          wake)                       lock, swap the queue
//!                                                                          in, unlock; then
//!                                                                          release 1 permit:
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
