//! [`Semaphore`]: a counted set of permits, handed out in strict FIFO order.
//!
//! State, under one lock: the free permits, a closed flag, and a [`WaitList`] whose node data
//! is the number of permits that waiter still needs. Invariant: while anyone is in line, no
//! permit is free; released permits go to the front waiter first (even partially: a waiter
//! for 5 that receives 3 keeps them and needs 2 more), and only the rest becomes free. So a
//! large request is never overtaken by small ones (FIFO fairness, as tokio's), and
//! `try_acquire` fails while anyone waits.
//!
//! Data flow: `acquire` takes free permits at once if nobody waits, else joins the tail with
//! what it still needs; a release (`add_permits`, a permit dropped) serves waiters front to
//! back, unlinking each one that is now complete and waking it after the lock. A cancelled
//! [`Acquire`] gives back every permit it had been handed, to the next in line. `close` unlinks
//! everyone and wakes them with [`AcquireError`].
//!
//! `Mutex`, `RwLock`, the bounded `mpsc` channel and `OnceCell` are built on this type.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{lock, WaitList, WakeList};
use crate::loom::sync::Mutex;
// std's Arc even under loom: `self: Arc<Self>` methods take the caller's (std) Arc.
use std::sync::Arc;

/// Counts permits; tasks wait for them in FIFO order. tokio's `Semaphore`.
pub struct Semaphore {
    state: Mutex<State>,
}

struct State {
    permits: usize,
    closed: bool,
    /// Node data: permits that waiter still needs.
    waiters: WaitList<usize>,
}

/// [`Semaphore::acquire`] failed: the semaphore is closed.
#[derive(Debug, PartialEq, Eq)]
pub struct AcquireError(());

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits are free (or someone waits ahead).
    NoPermits,
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl Error for AcquireError {}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl Error for TryAcquireError {}

impl TryAcquireError {
    /// Whether the semaphore was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether no permits were available.
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl Semaphore {
    /// The most permits a semaphore can hold (tokio's limit).
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` free permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({})",
            Self::MAX_PERMITS
        );
        Semaphore { state: Mutex::new(State { permits, closed: false, waiters: WaitList::new() }) }
    }

    /// A semaphore with `permits` free permits, usable in a `static`.
    #[cfg(not(loom))]
    pub const fn const_new(permits: usize) -> Semaphore {
        assert!(permits <= Self::MAX_PERMITS);
        Semaphore { state: Mutex::new(State { permits, closed: false, waiters: WaitList::new() }) }
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        lock(&self.state).permits
    }

    /// Adds `n` permits: to the waiters first, in order, the rest become free.
    ///
    /// # Panics
    /// If the free permits would exceed [`Semaphore::MAX_PERMITS`].
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        let free = state.permits;
        if !matches!(free.checked_add(n), Some(total) if total <= Self::MAX_PERMITS) {
            drop(state);
            panic!(
                "number of added permits ({n}) would overflow MAX_PERMITS ({})",
                Self::MAX_PERMITS
            );
        }
        release_locked(&mut state, n, &mut wakers);
        drop(state);
        wakers.wake_all();
    }

    /// Removes up to `n` free permits for good; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut state = lock(&self.state);
        let forgotten = n.min(state.permits);
        state.permits -= forgotten;
        forgotten
    }

    /// Waits for one permit.
    ///
    /// Cancel-safe: dropping the future gives its place in line up, and any permit it had been
    /// handed goes to the next waiter.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits, all at once (it keeps its place in line while they trickle in).
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        Acquire::new(self, n as usize).await?;
        Ok(SemaphorePermit { sem: self, permits: n as usize })
    }

    /// [`acquire`](Semaphore::acquire) from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        super::block_on(self.acquire())
    }

    /// [`acquire_many`](Semaphore::acquire_many) from a thread outside any runtime.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        super::block_on(self.acquire_many(n))
    }

    /// [`acquire_owned`](Semaphore::acquire_owned) from a thread outside any runtime.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        super::block_on(self.acquire_owned())
    }

    /// [`acquire_many_owned`](Semaphore::acquire_many_owned) from a thread outside any runtime.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        super::block_on(self.acquire_many_owned(n))
    }

    /// Takes one permit if one is free and nobody waits.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(SemaphorePermit { sem: self, permits: n as usize })
    }

    /// [`acquire`](Semaphore::acquire), with a permit that owns an `Arc` of the semaphore.
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// [`acquire_many`](Semaphore::acquire_many), with an owned permit.
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        Acquire::new(&self, n as usize).await?;
        Ok(OwnedSemaphorePermit { sem: self, permits: n as usize })
    }

    /// [`try_acquire`](Semaphore::try_acquire), with an owned permit.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many), with an owned permit.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(OwnedSemaphorePermit { sem: self, permits: n as usize })
    }

    /// Closes the semaphore: every waiter and every later acquire fails. Permits already held
    /// stay valid (and are returned to the free count when dropped).
    pub fn close(&self) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        state.closed = true;
        while let Some(key) = state.waiters.front() {
            wakers.push(state.waiters.unlink(key));
        }
        drop(state);
        wakers.wake_all();
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    pub(crate) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(TryAcquireError::Closed);
        }
        if state.waiters.is_empty() && state.permits >= n {
            state.permits -= n;
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// Gives `n` permits back (a dropped permit): to the waiters first. Never panics.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        release_locked(&mut state, n, &mut wakers);
        drop(state);
        wakers.wake_all();
    }
}

/// Serves waiters front to back with `n` permits; the rest become free.
fn release_locked(state: &mut State, mut n: usize, wakers: &mut WakeList) {
    while n > 0 {
        let Some(key) = state.waiters.front() else {
            break;
        };
        let needed = &mut state.waiters.node_mut(key).data;
        let given = n.min(*needed);
        *needed -= given;
        n -= given;
        if *needed > 0 {
            break;
        }
        wakers.push(state.waiters.unlink(key));
    }
    state.permits = state.permits.saturating_add(n);
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("closed", &state.closed)
            .finish_non_exhaustive()
    }
}

/// A wait for `n` permits: the future every acquire (and `Mutex::lock`, `RwLock::write`,
/// `mpsc::Sender::send`, ...) awaits. On `Ok` the caller owns the permits.
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    n: usize,
    key: Option<usize>,
    done: bool,
}

impl<'a> Acquire<'a> {
    pub(crate) fn new(sem: &'a Semaphore, n: usize) -> Acquire<'a> {
        Acquire { sem, n, key: None, done: false }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`Acquire` polled after completion");
        if crate::scheduler::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        // Cloned outside the lock, on a second pass, only if we really have to wait.
        let mut new_waker: Option<Waker> = None;
        loop {
            let mut state = lock(&this.sem.state);
            match this.key {
                None => {
                    if state.closed {
                        this.done = true;
                        return Poll::Ready(Err(AcquireError(())));
                    }
                    if this.n == 0 || (state.waiters.is_empty() && state.permits >= this.n) {
                        state.permits -= this.n;
                        this.done = true;
                        return Poll::Ready(Ok(()));
                    }
                    let Some(waker) = new_waker.take() else {
                        drop(state);
                        new_waker = Some(cx.waker().clone());
                        continue;
                    };
                    // Nobody ahead: keep what is free now, wait for the rest.
                    let taken = if state.waiters.is_empty() { state.permits } else { 0 };
                    state.permits -= taken;
                    this.key = Some(state.waiters.push_back(this.n - taken, Some(waker)));
                    return Poll::Pending;
                }
                Some(key) => {
                    if !state.waiters.is_queued(key) {
                        let node = state.waiters.remove(key);
                        // Closed (before or after it was served): what it had been handed
                        // becomes free again, and it fails, as tokio's does.
                        let closed = state.closed;
                        if closed {
                            state.permits += this.n - node.data;
                        }
                        drop(state);
                        this.key = None;
                        this.done = true;
                        drop(node.waker);
                        return Poll::Ready(if closed { Err(AcquireError(())) } else { Ok(()) });
                    }
                    if state.waiters.will_wake(key, cx.waker()) {
                        return Poll::Pending;
                    }
                    let Some(waker) = new_waker.take() else {
                        drop(state);
                        new_waker = Some(cx.waker().clone());
                        continue;
                    };
                    let old = state.waiters.set_waker(key, waker);
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key else {
            return;
        };
        let mut wakers = WakeList::new();
        let mut state = lock(&self.sem.state);
        let node = state.waiters.remove(key);
        // Permits handed to us while we waited (all of them if we were complete but never
        // saw it) go to the next in line.
        let given = self.n - node.data;
        release_locked(&mut state, given, &mut wakers);
        drop(state);
        drop(node.waker);
        wakers.wake_all();
    }
}

/// Permits borrowed from a [`Semaphore`]; returned to it on drop.
#[must_use = "the permits are released at once if the permit is not kept"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

/// Permits from an `Arc<Semaphore>`; returned to it on drop.
#[must_use = "the permits are released at once if the permit is not kept"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl<'a> SemaphorePermit<'a> {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Adds `other`'s permits to this one.
    ///
    /// # Panics
    /// If the two permits come from different semaphores.
    #[track_caller]
    pub fn merge(&mut self, mut other: SemaphorePermit<'a>) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphore instances"
        );
        self.permits =
            self.permits.checked_add(other.permits).expect("number of permits overflowed");
        other.permits = 0;
    }

    /// Splits `n` permits off into a new permit; `None` if this one holds fewer.
    pub fn split(&mut self, n: usize) -> Option<SemaphorePermit<'a>> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit { sem: self.sem, permits: n })
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore these permits came from.
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }
}

impl OwnedSemaphorePermit {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Adds `other`'s permits to this one.
    ///
    /// # Panics
    /// If the two permits come from different semaphores.
    #[track_caller]
    pub fn merge(&mut self, mut other: OwnedSemaphorePermit) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphore instances"
        );
        self.permits =
            self.permits.checked_add(other.permits).expect("number of permits overflowed");
        other.permits = 0;
    }

    /// Splits `n` permits off into a new permit; `None` if this one holds fewer.
    pub fn split(&mut self, n: usize) -> Option<OwnedSemaphorePermit> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit { sem: self.sem.clone(), permits: n })
    }

    /// The semaphore these permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("sem", &self.sem)
            .field("permits", &self.permits)
            .finish()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("sem", &self.sem)
            .field("permits", &self.permits)
            .finish()
    }
}
