//! A channel that keeps only the latest value: one or more senders, any number of receivers,
//! each receiver told when the value changed since it last looked. tokio's `watch`.
//!
//! Data flow: the value lives in an `RwLock`; a version counter (bumped by 2 under the write
//! lock; bit 0 says "every sender is gone") tells a receiver whether the value changed since
//! the version it saw. Waiting is a [`Notify`]: `changed()` creates a `Notified` *before* it
//! compares versions, and a send bumps the version and then calls `notify_waiters`, so a
//! change between the check and the wait still wakes it (see `Notify::notified`). A second
//! `Notify` wakes senders waiting in [`Sender::closed`] when the last receiver goes.

use std::fmt;
use std::ops::Deref;
use std::sync::PoisonError;

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use crate::loom::sync::{Arc, RwLock, RwLockReadGuard};
use crate::sync::Notify;

/// The errors of [`watch`](self).
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// Every receiver is gone: the value comes back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(fmt, "channel closed")
        }
    }

    impl<T> Error for SendError<T> {}

    /// Every sender is gone (and no unseen value is left).
    #[derive(Debug, Clone)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(fmt, "channel closed")
        }
    }

    impl Error for RecvError {}
}

use error::{RecvError, SendError};

const CLOSED: usize = 1;
const STEP: usize = 2;

struct Shared<T> {
    value: RwLock<T>,
    /// `version * 2 | closed`. The version only changes under `value`'s write lock.
    state: AtomicUsize,
    rx_count: AtomicUsize,
    tx_count: AtomicUsize,
    notify_rx: Notify,
    notify_tx: Notify,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn version(&self) -> usize {
        self.state.load(Acquire) & !CLOSED
    }

    fn is_closed(&self) -> bool {
        self.state.load(Acquire) & CLOSED != 0
    }
}

/// Publishes new values. tokio's `watch::Sender`.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Sees the latest value and waits for changes. tokio's `watch::Receiver`.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    version: usize,
}

/// A read lock on the current value, from `borrow`.
///
/// Holding it blocks senders (as tokio's does): keep it short, and not across an `.await`.
pub struct Ref<'a, T> {
    inner: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value was new to the receiver that borrowed it.
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A watch channel holding `init`.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        rx_count: AtomicUsize::new(1),
        tx_count: AtomicUsize::new(1),
        notify_rx: Notify::new(),
        notify_tx: Notify::new(),
    });
    (Sender { shared: shared.clone() }, Receiver { shared, version: 0 })
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let inner = self.shared.read();
        let has_changed = self.shared.version() != self.version;
        Ref { inner, has_changed }
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let inner = self.shared.read();
        let version = self.shared.version();
        let has_changed = version != self.version;
        self.version = version;
        Ref { inner, has_changed }
    }

    /// Whether a value this receiver has not seen is there; `Err` once every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state.load(Acquire);
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(state & !CLOSED != self.version)
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Makes the current value count as unseen.
    pub fn mark_changed(&mut self) {
        self.version = self.version.wrapping_sub(STEP);
    }

    /// Makes the current value count as seen.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.version();
    }

    /// Waits for a value this receiver has not seen, and marks it seen. `Err` once every
    /// sender is gone and nothing unseen is left. Cancel-safe.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        super::cooperative(changed(&self.shared, &mut self.version)).await
    }

    /// Waits until `f` holds for the value (looking at the current one first), and returns
    /// it, marked seen. `Err` once every sender is gone and no unseen value satisfies `f`.
    pub async fn wait_for(&mut self, f: impl FnMut(&T) -> bool) -> Result<Ref<'_, T>, RecvError> {
        super::cooperative(self.wait_for_inner(f)).await
    }

    async fn wait_for_inner(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let mut closed = false;
        loop {
            {
                let inner = self.shared.read();
                let version = self.shared.version();
                let has_changed = version != self.version;
                self.version = version;
                if (!closed || has_changed) && f(&inner) {
                    // The borrow checker cannot see that the loop ends here; re-borrow.
                    drop(inner);
                    let inner = self.shared.read();
                    return Ok(Ref { inner, has_changed });
                }
            }
            if closed {
                return Err(RecvError(()));
            }
            closed = changed(&self.shared, &mut self.version).await.is_err();
        }
    }

    /// Whether both receivers watch the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

async fn changed<T>(shared: &Shared<T>, version: &mut usize) -> Result<(), RecvError> {
    shared
        .notify_rx
        .wait_until(|| {
            let state = shared.state.load(Acquire);
            if state & !CLOSED != *version {
                *version = state & !CLOSED;
                return Some(Ok(()));
            }
            (state & CLOSED != 0).then_some(Err(RecvError(())))
        })
        .await
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.rx_count.fetch_add(1, AcqRel);
        Receiver { shared: self.shared.clone(), version: self.version }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.rx_count.fetch_sub(1, AcqRel) == 1 {
            self.shared.notify_tx.notify_waiters();
        }
    }
}

impl<T> Sender<T> {
    /// A sender (with no receiver yet) holding `init`.
    pub fn new(init: T) -> Sender<T> {
        let (tx, _) = channel(init);
        tx
    }

    /// Replaces the value and notifies the receivers; fails, giving it back, if there are
    /// none.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.receiver_count() == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Modifies the value in place and notifies the receivers (even with none).
    pub fn send_modify<F: FnOnce(&mut T)>(&self, modify: F) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Runs `modify` on the value; notifies the receivers only if it returns `true`.
    pub fn send_if_modified<F: FnOnce(&mut T) -> bool>(&self, modify: F) -> bool {
        {
            let mut value = self.shared.value.write().unwrap_or_else(PoisonError::into_inner);
            if !modify(&mut value) {
                return false;
            }
            self.shared.state.fetch_add(STEP, AcqRel);
        }
        self.shared.notify_rx.notify_waiters();
        true
    }

    /// Replaces the value, notifies the receivers (even with none), returns the old value.
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|old| std::mem::swap(old, &mut value));
        value
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref { inner: self.shared.read(), has_changed: false }
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
    pub async fn closed(&self) {
        super::cooperative(self.shared.notify_tx.wait_until(|| self.is_closed().then_some(())))
            .await
    }

    /// A new receiver, which counts the current value as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.rx_count.fetch_add(1, AcqRel);
        Receiver { shared: self.shared.clone(), version: self.shared.version() }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.rx_count.load(Acquire)
    }

    /// How many senders exist.
    pub fn sender_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.tx_count.fetch_add(1, AcqRel);
        Sender { shared: self.shared.clone() }
    }
}

impl<T: Default> Default for Sender<T> {
    fn default() -> Self {
        Sender::new(T::default())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.tx_count.fetch_sub(1, AcqRel) == 1 {
            self.shared.state.fetch_or(CLOSED, AcqRel);
            self.shared.notify_rx.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("value", &*self.shared.read()).finish_non_exhaustive()
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("version", &self.version).finish_non_exhaustive()
    }
}
