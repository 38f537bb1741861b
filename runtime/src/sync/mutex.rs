//! [`Mutex`]: an async lock over a value, FIFO-fair, built on a one-permit [`Semaphore`].
//!
//! Data flow: `lock()` awaits the semaphore's single permit (so waiters queue in the
//! semaphore's FIFO list, and a cancelled `lock()` passes on a permit it was handed); the guard
//! gives `&mut T` through the `UnsafeCell`; dropping the guard releases the permit to the next
//! waiter. `blocking_lock` parks the thread on the same future.

use std::error::Error;
use std::fmt;
use std::marker::PhantomData;

use super::semaphore::{Acquire, Semaphore};
// std's Arc even under loom: `self: Arc<Self>` methods take the caller's (std) Arc.
use crate::loom::UnsafeCell;
use std::sync::Arc;

/// An async mutual-exclusion lock. tokio's `Mutex`: `lock().await` waits in FIFO order, and
/// the guard may be held across `.await`s.
pub struct Mutex<T: ?Sized> {
    sem: Semaphore,
    value: UnsafeCell<T>,
}

// SAFETY: the value moves between threads with the Mutex only if `T: Send`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: the semaphore gives access to at most one guard at a time, so `&Mutex` only ever
// lends out `&mut T` to one thread: `T: Send` suffices (as for `std::sync::Mutex`).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// [`Mutex::try_lock`] failed: the lock is held (or waited for).
#[derive(Debug, PartialEq, Eq)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl Error for TryLockError {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex { sem: Semaphore::new(1), value: UnsafeCell::new(value) }
    }

    /// An unlocked mutex holding `value`, usable in a `static`.
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> Mutex<T> {
        Mutex { sem: Semaphore::const_new(1), value: UnsafeCell::new(value) }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock. Cancel-safe: dropping the future leaves the line (FIFO).
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        MutexGuard { lock: self }
    }

    /// [`lock`](Mutex::lock) from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::block_on(self.lock())
    }

    /// [`lock_owned`](Mutex::lock_owned) from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        super::block_on(self.lock_owned())
    }

    /// [`lock`](Mutex::lock), with a guard that owns an `Arc` of the mutex.
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard { lock: self }
    }

    /// The lock, if it is free and nobody waits for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.sem.try_take(1).map_err(|_| TryLockError(()))?;
        Ok(MutexGuard { lock: self })
    }

    /// [`try_lock`](Mutex::try_lock), with an owned guard.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        self.sem.try_take(1).map_err(|_| TryLockError(()))?;
        Ok(OwnedMutexGuard { lock: self })
    }

    /// The value, through `&mut self` (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves no guard exists.
        self.value.with_mut(|ptr| unsafe { &mut *ptr })
    }

    async fn acquire(&self) {
        // The semaphore is never closed, so the acquire cannot fail.
        if Acquire::new(&self.sem, 1).await.is_err() {
            unreachable!("a Mutex's semaphore is never closed");
        }
    }

    fn value_ptr(&self) -> *mut T {
        self.value.with_mut(|ptr| ptr)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The lock on a [`Mutex`], released on drop.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

/// The lock on an `Arc<Mutex>`, released on drop.
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
}

/// A [`MutexGuard`] narrowed to a part of the value by [`MutexGuard::map`].
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    value: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

// The bounds are tokio's, exactly (tests/auto_traits.rs checks both side by side). A guard is
// `&mut T` in disguise, but `T: Sync` alone is not enough to share one: `MutexGuard::mutex`
// turns a `&MutexGuard<'a, T>` into a `&'a Mutex<T>` that outlives the guard, so a thread
// that was lent the guard could lock the mutex after the guard's drop and take `&mut T` (and
// with it the value) on its own thread: `T: Send` too.
//
// SAFETY: see above: shared, the guard lends `&T` (`T: Sync`) and `&Mutex<T>` (`T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: as for `MutexGuard` (`OwnedMutexGuard::mutex` lends the `Arc<Mutex<T>>`).
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}
// SAFETY: the mapped guard owns the permit and a unique `&mut T`: it may move to another
// thread when `T: Send` (the permit is released through the `Sync` semaphore).
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: a mapped guard lends only `&T` when shared (it has no way back to its mutex), so
// `T: Sync` suffices, as in tokio.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }

    /// Narrows the guard to a part of the value; the lock stays held.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let lock = this.lock;
        std::mem::forget(this);
        // SAFETY: we hold the lock's permit (moved out of the forgotten guard), so this is
        // the only reference to the value.
        let value = f(unsafe { &mut *lock.value_ptr() }) as *mut U;
        MappedMutexGuard { sem: &lock.sem, value, _borrow: PhantomData }
    }

    /// Like [`map`](MutexGuard::map), but `f` may decline, giving the guard back.
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: we hold the lock, so this is the only reference to the value.
        let value = match f(unsafe { &mut *this.lock.value_ptr() }) {
            Some(value) => value as *mut U,
            None => return Err(this),
        };
        let lock = this.lock;
        std::mem::forget(this);
        Ok(MappedMutexGuard { sem: &lock.sem, value, _borrow: PhantomData })
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Narrows the guard further.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let (sem, value) = (this.sem, this.value);
        std::mem::forget(this);
        // SAFETY: the guard held the lock (its permit moves to the new guard), so `value` is
        // the only reference into the protected value.
        let value = f(unsafe { &mut *value }) as *mut U;
        MappedMutexGuard { sem, value, _borrow: PhantomData }
    }
}

lock_guards! {
    [T: ?Sized] MutexGuard<'_, T>: exclusive T = |self| self.lock.value_ptr(),
        drop self.lock.sem.release(1);
    [T: ?Sized] OwnedMutexGuard<T>: exclusive T = |self| self.lock.value_ptr(),
        drop self.lock.sem.release(1);
    [T: ?Sized] MappedMutexGuard<'_, T>: exclusive T = |self| self.value,
        drop self.sem.release(1);
}
