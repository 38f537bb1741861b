//! [`Semaphore`]: a counted set of permits, handed out in strict FIFO order.
//!
//! State: one atomic word holds the free permits, a `WAITERS` bit and a `CLOSED` bit; a lock
//! guards the line, a [`WaitList`] whose node data is the permits that waiter still needs and
//! its *ticket* (its number in the order of joining).
//! Invariant: while anyone is in line, `WAITERS` is set and no permit is free; released
//! permits go to the front waiter first (even partially: a waiter for 5 that receives 3 keeps
//! them and needs 2 more), and only the rest becomes free. So a large request is never
//! overtaken by small ones (FIFO fairness, as tokio's), and `try_acquire` fails while anyone
//! waits.
//!
//! The fast paths take no lock: with `WAITERS` clear, an acquire is one compare-and-swap that
//! takes permits from the word, a release one that adds them. Everything else happens under
//! the lock: setting `WAITERS` (with a compare-and-swap, so a release racing with it either
//! lands before, and is seen, or fails and retries, and then sees the bit and takes the lock),
//! serving the waiters, and clearing `WAITERS` when the line empties. While `WAITERS` is set
//! the word changes only under the lock.
//!
//! Data flow: `acquire` takes free permits at once if nobody waits, else joins the tail with
//! what it still needs and the next ticket; a release (`add_permits`, a permit dropped) serves
//! waiters front to back. A waiter served in full is removed (its slab slot freed) by the
//! releaser, which then publishes its ticket in the atomic `served` and wakes it after the
//! lock. A cancelled [`Acquire`] gives back every permit it had been handed, to the next in
//! line. `close` unlinks everyone (their slots stay theirs) and wakes them with
//! [`AcquireError`].
//!
//! Why a ticket: the woken waiter learns that its permits are its own from one atomic load,
//! without taking the lock again (three lock round trips per contended acquire become two:
//! join, and the releaser's hand-off; tokio's intrusive nodes do the same with a per-node
//! atomic). Waiters are served in full strictly in ticket order (the line is FIFO, a partly
//! served front waiter stays in front, cancelled ones leave the line), so "my ticket is at
//! most `served`" means "I was served", for every waiter at once, with one word. `served` is
//! stored under the lock after the slot is freed, so a waiter that sees its ticket served
//! never looks at its old key (which may already belong to a newer waiter), and one that does
//! not see it takes the lock, under which the answer cannot change.
//!
//! `Mutex`, `RwLock`, the bounded `mpsc` channel and `OnceCell` are built on this type.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{lock, WaitList, WakeList};
use crate::loom::sync::atomic::Ordering;
use crate::loom::sync::atomic::{AtomicU64, AtomicUsize};
use crate::loom::sync::Mutex;
// std's Arc even under loom: `self: Arc<Self>` methods take the caller's (std) Arc.
use std::sync::Arc;

/// Counts permits; tasks wait for them in FIFO order. tokio's `Semaphore`.
pub struct Semaphore {
    /// `free permits << SHIFT | WAITERS | CLOSED`.
    word: AtomicUsize,
    /// The ticket of the last waiter served in full (0: none yet). Stored under `line`'s lock;
    /// read by a waiting [`Acquire`] without it.
    served: AtomicU64,
    line: Mutex<Line>,
}

/// The waiters, under the semaphore's lock.
#[derive(Debug)]
struct Line {
    waiters: WaitList<Waiting>,
    /// The last ticket handed out.
    tickets: u64,
}

/// One waiter's node data.
#[derive(Debug)]
struct Waiting {
    /// Permits it still needs.
    needed: usize,
    ticket: u64,
}

impl Line {
    const fn new() -> Line {
        Line { waiters: WaitList::new(), tickets: 0 }
    }
}

/// Someone is in line: the permit count is 0 and changes only under `line`'s lock.
const WAITERS: usize = 1;
const CLOSED: usize = 2;
const SHIFT: u32 = 2;

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
        Semaphore {
            word: AtomicUsize::new(permits << SHIFT),
            served: AtomicU64::new(0),
            line: Mutex::new(Line::new()),
        }
    }

    /// A semaphore with `permits` free permits, usable in a `static`.
    #[cfg(not(loom))]
    pub const fn const_new(permits: usize) -> Semaphore {
        assert!(permits <= Self::MAX_PERMITS);
        Semaphore {
            word: AtomicUsize::new(permits << SHIFT),
            served: AtomicU64::new(0),
            line: Mutex::new(Line::new()),
        }
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        self.word.load(Ordering::Acquire) >> SHIFT
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
        let free = self.available_permits();
        if !matches!(free.checked_add(n), Some(total) if total <= Self::MAX_PERMITS) {
            panic!(
                "number of added permits ({n}) would overflow MAX_PERMITS ({})",
                Self::MAX_PERMITS
            );
        }
        self.release(n);
    }

    /// Removes up to `n` free permits for good; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            let forgotten = n.min(word >> SHIFT);
            match self.word.compare_exchange_weak(
                word,
                word - (forgotten << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return forgotten,
                Err(actual) => word = actual,
            }
        }
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
        let mut line = lock(&self.line);
        self.word.fetch_or(CLOSED, Ordering::AcqRel);
        // Unlinked, not removed: each waiter frees its own slot when it sees the close, and
        // gives back what it had been handed (its node says how much).
        while let Some(key) = line.waiters.front() {
            wakers.push(line.waiters.unlink(key));
        }
        // Nobody is in line any more (and nobody joins a closed semaphore).
        self.word.fetch_and(!WAITERS, Ordering::AcqRel);
        drop(line);
        wakers.wake_all();
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.word.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes `n` permits without waiting, if they are free and nobody is in line. The fast
    /// path of every acquire: one compare-and-swap, no lock.
    pub(crate) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            if word & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if word & WAITERS != 0 || word >> SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.word.compare_exchange_weak(
                word,
                word - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => word = actual,
            }
        }
    }

    /// Gives `n` permits back (a dropped permit): to the waiters first. Never panics.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Fast path: nobody in line, add to the free count.
        let mut word = self.word.load(Ordering::Acquire);
        while word & WAITERS == 0 {
            match self.word.compare_exchange_weak(
                word,
                word + (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        let mut wakers = WakeList::new();
        let mut line = lock(&self.line);
        self.release_locked(&mut line, n, &mut wakers);
        drop(line);
        wakers.wake_all();
    }

    /// Whether the waiter holding `ticket` was served in full (its slot is freed then).
    fn was_served(&self, ticket: u64) -> bool {
        self.served.load(Ordering::Acquire) >= ticket
    }

    /// Under the line's lock: serves waiters front to back with `n` permits; the rest become
    /// free. If that (or a removal before it) leaves the line empty, clears `WAITERS`.
    fn release_locked(&self, line: &mut Line, mut n: usize, wakers: &mut WakeList) {
        let waiters = &mut line.waiters;
        while n > 0 {
            let Some(key) = waiters.front() else {
                break;
            };
            let waiting = &mut waiters.node_mut(key).data;
            let given = n.min(waiting.needed);
            waiting.needed -= given;
            n -= given;
            if waiting.needed > 0 {
                break;
            }
            // Served in full: free its slot, then tell it by its ticket (Release: the slot's
            // reuse and everything before this release happen before its Acquire load).
            let node = waiters.remove(key);
            self.served.store(node.data.ticket, Ordering::Release);
            wakers.push(node.waker);
        }
        if waiters.is_empty() {
            // With WAITERS set the count is 0 and nobody else writes the word; with it clear,
            // fast paths may race, and the atomic add is safe against them.
            let word = self.word.load(Ordering::Acquire);
            if word & WAITERS != 0 {
                self.word.store((word & CLOSED) | (n << SHIFT), Ordering::Release);
            } else if n > 0 {
                self.word.fetch_add(n << SHIFT, Ordering::AcqRel);
            }
        } else {
            // The front waiter still needs more: everything went to it.
            debug_assert_eq!(n, 0);
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// A wait for `n` permits: the future every acquire (and `Mutex::lock`, `RwLock::write`,
/// `mpsc::Sender::send`, ...) awaits. On `Ok` the caller owns the permits.
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    n: usize,
    /// In line: its node's key and its ticket.
    place: Option<Place>,
    /// The permits are ours, but the task's budget was spent: they are handed over at the
    /// next poll, or given back if the future is dropped first.
    holding: bool,
    done: bool,
}

/// Where a waiting [`Acquire`] stands in line.
#[derive(Clone, Copy)]
struct Place {
    key: usize,
    ticket: u64,
}

impl<'a> Acquire<'a> {
    pub(crate) fn new(sem: &'a Semaphore, n: usize) -> Acquire<'a> {
        Acquire { sem, n, place: None, holding: false, done: false }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`Acquire` polled after completion");
        if !this.holding {
            match this.poll_acquire(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(closed)) => {
                    this.done = true;
                    return Poll::Ready(Err(closed));
                }
                Poll::Ready(Ok(())) => this.holding = true,
            }
        }
        // The budget is spent once the permits are ours, as tokio's: a task out of budget
        // still takes its turn in line (FIFO holds under coop) and yields holding them.
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        this.done = true;
        Poll::Ready(Ok(()))
    }
}

impl Acquire<'_> {
    /// Takes the permits, or joins (or keeps its place in) the line.
    fn poll_acquire(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), AcquireError>> {
        let sem = self.sem;
        let Some(Place { key, ticket }) = self.place else {
            // Not in line yet: the lock-free fast path first.
            let fast = if self.n == 0 {
                if sem.is_closed() {
                    Err(TryAcquireError::Closed)
                } else {
                    Ok(())
                }
            } else {
                sem.try_take(self.n)
            };
            match fast {
                Ok(()) => {
                    return Poll::Ready(Ok(()));
                }
                Err(TryAcquireError::Closed) => {
                    return Poll::Ready(Err(AcquireError(())));
                }
                Err(TryAcquireError::NoPermits) => {}
            }
            // Cloned before the lock is taken: no foreign code under it.
            let waker = cx.waker().clone();
            let mut line = lock(&sem.line);
            let mut word = sem.word.load(Ordering::Acquire);
            let taken = loop {
                if word & CLOSED != 0 {
                    drop(line);
                    return Poll::Ready(Err(AcquireError(())));
                }
                let free = word >> SHIFT;
                if word & WAITERS == 0 && free >= self.n {
                    // Released since the fast path looked.
                    match sem.word.compare_exchange(
                        word,
                        word - (self.n << SHIFT),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => {
                            drop(line);
                            return Poll::Ready(Ok(()));
                        }
                        Err(actual) => {
                            word = actual;
                            continue;
                        }
                    }
                }
                // Join the line: set WAITERS, keeping what is free now if nobody is ahead (with
                // WAITERS already set, nothing is free).
                match sem.word.compare_exchange(
                    word,
                    (word & CLOSED) | WAITERS,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break free,
                    Err(actual) => word = actual,
                }
            };
            line.tickets += 1;
            let ticket = line.tickets;
            let key =
                line.waiters.push_back(Waiting { needed: self.n - taken, ticket }, Some(waker));
            self.place = Some(Place { key, ticket });
            return Poll::Pending;
        };
        // In line. Served in full, and not closed: the permits are ours, no lock needed.
        if !sem.is_closed() && sem.was_served(ticket) {
            self.place = None;
            return Poll::Ready(Ok(()));
        }
        // Closed, still waiting, or served just now: look again under the lock, where neither
        // `served` nor `CLOSED` changes.
        let mut new_waker: Option<Waker> = None;
        loop {
            let mut line = lock(&sem.line);
            let served = sem.was_served(ticket);
            if sem.is_closed() {
                // Closed (before or after it was served): it fails, as tokio's does, and what
                // it had been handed becomes free again (close cleared WAITERS). A waiter not
                // served in full still owns its (unlinked) slot and frees it.
                let (given, node) = if served {
                    (self.n, None)
                } else {
                    let node = line.waiters.remove(key);
                    (self.n - node.data.needed, Some(node))
                };
                if given > 0 {
                    sem.word.fetch_add(given << SHIFT, Ordering::AcqRel);
                }
                drop(line);
                self.place = None;
                drop(node);
                return Poll::Ready(Err(AcquireError(())));
            }
            if served {
                drop(line);
                self.place = None;
                return Poll::Ready(Ok(()));
            }
            if line.waiters.will_wake(key, cx.waker()) {
                return Poll::Pending;
            }
            let Some(waker) = new_waker.take() else {
                drop(line);
                new_waker = Some(cx.waker().clone());
                continue;
            };
            let old = line.waiters.set_waker(key, waker);
            drop(line);
            drop(old);
            return Poll::Pending;
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if self.holding && !self.done {
            // Acquired, but dropped before it could hand them over: they go back.
            self.sem.release(self.n);
            return;
        }
        let Some(Place { key, ticket }) = self.place else {
            return;
        };
        if self.sem.was_served(ticket) {
            // Served in full but never saw it: the slot is gone, the permits go back.
            self.sem.release(self.n);
            return;
        }
        let mut wakers = WakeList::new();
        let mut line = lock(&self.sem.line);
        // Served between the load above and the lock: as above. Else the slot is ours to
        // free, and the permits handed to us so far go to the next in line.
        let (given, node) = if self.sem.was_served(ticket) {
            (self.n, None)
        } else {
            let node = line.waiters.remove(key);
            (self.n - node.data.needed, Some(node))
        };
        // If we were the last in line, this clears WAITERS.
        self.sem.release_locked(&mut line, given, &mut wakers);
        drop(line);
        drop(node);
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
