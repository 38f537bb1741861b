//! Channels and locks with tokio's API: [`mpsc`], [`oneshot`], [`watch`], [`broadcast`],
//! [`Notify`], [`Mutex`], [`RwLock`], [`Semaphore`], [`Barrier`], [`OnceCell`], [`SetOnce`].
//!
//! They work on any runtime and from plain threads (`blocking_*` park the thread), are
//! `Send + Sync`, and every waiting future spends the task's coop budget, so a task that drains
//! an always-full channel still yields to the others. The semaphore's acquire (under `Mutex`,
//! `RwLock`, bounded `mpsc` senders) spends it once the permits are its own, as tokio's: a task
//! out of budget keeps its place in line and yields holding them.
//!
//! # The waiter queue
//!
//! Every primitive that can make several tasks wait keeps them in one design, `WaitList`
//! (`waiters.rs`): a doubly linked FIFO threaded through a slab, under the primitive's one
//! `Mutex`. A waiting future holds the *key* of its node; nothing is pinned, no pointer is
//! shared, and there is no `unsafe`.
//!
//! ```text
//!            primitive's Mutex
//!  ┌──────────────────────────────────────────────────────┐
//!  │ permits / value / flags                              │
//!  │                                                      │
//!  │ slab:  [0]          [1] (free)   [2]         [3]      │
//!  │        waker A                   waker C     waker B  │
//!  │        data: need 2              data        data     │
//!  │ head ──► 0 ◄──────────────────────────────► 3 ◄─► 2 ◄── tail
//!  └──────────────────────────────────────────────────────┘
//!     ▲ key 0          ▲ key 3          ▲ key 2
//!   Acquire (A)      Acquire (B)      Acquire (C)        (futures, anywhere in memory)
//! ```
//!
//! - **wait**: try (lock-free where the primitive has a fast path, else under the lock); if the
//!   resource is not there, lock, push a node (waker + data) at the tail and keep its key. The
//!   waker is cloned *before* the lock is taken (a second try under the lock follows), so no
//!   foreign code runs under our lock.
//! - **serve** (`add_permits`, `notify_one`, `send`, ...): lock, pick the front node, *unlink*
//!   it, record in its data what it was given, take its waker into a `WakeList`; release the
//!   lock; wake the list. The semaphore instead removes a waiter it serves in full and
//!   publishes the waiter's ticket in an atomic, so the woken waiter sees it was served
//!   without locking again.
//! - **cancel** (the future is dropped): lock, remove the node by its key in O(1). If it had
//!   been served but had not yet seen it, what it was given (permits, a `notify_one`) is passed
//!   on to the next in line, under the same lock. Its waker is dropped after the lock.
//!
//! Why a slab and not intrusive nodes pinned inside the futures (tokio's design): both give
//! O(1) removal and no allocation per wait in the steady state (a slab slot is reused), but the
//! slab keeps every pointer out of the picture: a node's lifetime is the key's, checked by the
//! slab, and the futures are `Unpin`. The price is one `Vec` that grows to the largest number
//! of simultaneous waiters, and an index lookup per operation.
//!
//! Who uses it:
//!
//! | primitive | waiters | built on |
//! |---|---|---|
//! | [`Semaphore`] | `WaitList<permits still needed, ticket>` | an atomic word (free permits, `WAITERS`, `CLOSED`): lock-free while nobody waits; the lock only for the line; FIFO, permits handed to the head |
//! | [`Mutex`] | the semaphore's | `Semaphore(1)` |
//! | [`RwLock`] | the semaphore's | `Semaphore(max_readers)`, writers take all |
//! | [`mpsc`] (bounded) | senders: the semaphore's | `Semaphore(capacity)` + a queue under a lock |
//! | [`mpsc`] receiver | one waker slot | the channel's lock |
//! | [`oneshot`] | one waker slot per side | an atomic state word; the lock only to park a waker |
//! | [`Notify`] | `WaitList<notified?>` | its own lock |
//! | [`watch`], [`Barrier`] | the `Notify`'s | `Notify::notify_waiters` |
//! | [`broadcast`] | `WaitList<()>` of receivers | a ring of blocks of values under its own lock; a receiver holds its block and reads without the lock |
//! | [`OnceCell`] | the semaphore's | `Semaphore(1)`, closed once set |
//! | [`SetOnce`] | the `Notify`'s | an [`OnceCell`], then `notify_waiters` |
//!
//! Wakers are collected under the lock and woken after it (`WakeList`); values and wakers that
//! a cancelled waiter leaves behind are dropped after it too.

mod waiters;

pub(crate) use waiters::{store_waker, WaitList, WakeList};

mod barrier;
pub mod broadcast;
#[cfg(all(test, loom))]
mod loom_tests;
pub mod mpsc;
/// The trait impls of every lock guard ([`Mutex`]'s and [`RwLock`]'s): `Deref` to the value at
/// `$ptr` (a raw pointer `$self` reaches) and, for an `exclusive` guard, `DerefMut`; `Drop`,
/// which gives the permits back with `$release`; `Debug` and `Display` as the value's.
macro_rules! lock_guards {
    ($(
        [$($gen:tt)*] $guard:ty: $access:ident $target:ty = |$self:ident| $ptr:expr,
            drop $release:expr;
    )*) => {$(
        impl<$($gen)*> std::ops::Deref for $guard {
            type Target = $target;
            fn deref(&$self) -> &$target {
                // SAFETY: a guard exists only while it holds its semaphore permits: a shared
                // guard one reader's (so no writer exists), an exclusive one all of them.
                unsafe { &*$ptr }
            }
        }

        impl<$($gen)*> Drop for $guard {
            fn drop(&mut $self) {
                $release;
            }
        }

        impl<$($gen)*> std::fmt::Debug for $guard where $target: std::fmt::Debug {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($gen)*> std::fmt::Display for $guard where $target: std::fmt::Display {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&**self, f)
            }
        }

        lock_guards!(@$access [$($gen)*] $guard, $target, |$self| $ptr);
    )*};
    (@shared $($rest:tt)*) => {};
    (@exclusive [$($gen:tt)*] $guard:ty, $target:ty, |$self:ident| $ptr:expr) => {
        impl<$($gen)*> std::ops::DerefMut for $guard {
            fn deref_mut(&mut $self) -> &mut $target {
                // SAFETY: the guard holds every permit of its lock, and `&mut self` is unique.
                unsafe { &mut *$ptr }
            }
        }
    };
}

mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
pub(crate) mod semaphore;
mod set_once;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitResult};
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};

pub(crate) use crate::loom::lock;
pub(crate) use crate::polling::cooperative;

pub(crate) use crate::park::block_on_outside_runtime as block_on;
