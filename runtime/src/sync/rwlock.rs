//! [`RwLock`]: many readers or one writer, fair and writer-preferring, built on a
//! [`Semaphore`] as tokio's is.
//!
//! Data flow: the semaphore holds `max_readers` permits. A reader takes 1, a writer takes all
//! of them. Because the semaphore serves waiters strictly in FIFO order and hands permits to
//! the front waiter first, a waiting writer collects permits as readers leave and no reader
//! that arrives after it can overtake it: writers are never starved, and readers queued behind
//! a writer get in together once it is done. [`RwLockWriteGuard::downgrade`] gives back all
//! permits but one, letting the readers queued behind it in at once.

use std::fmt;
use std::marker::PhantomData;

use super::mutex::TryLockError;
use super::semaphore::{Acquire, Semaphore};
// std's Arc even under loom: `self: Arc<Self>` methods take the caller's (std) Arc.
use crate::loom::UnsafeCell;
use std::sync::Arc;

/// An async reader-writer lock. tokio's `RwLock`.
pub struct RwLock<T: ?Sized> {
    max_readers: u32,
    sem: Semaphore,
    value: UnsafeCell<T>,
}

// SAFETY: the value moves between threads with the lock only if `T: Send`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: readers on several threads share `&T` (needs `Sync`); a writer gets `&mut T` from
// any thread (needs `Send`), as for `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// The most readers a lock admits at once (tokio's limit).
const MAX_READS: u32 = u32::MAX >> 3;

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`.
    #[track_caller]
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// An unlocked lock admitting at most `max_reads` readers at once.
    ///
    /// # Panics
    /// If `max_reads` is 0 or above `u32::MAX >> 3`.
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than {MAX_READS} readers"
        );
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        RwLock {
            max_readers: max_reads,
            sem: Semaphore::new(max_reads as usize),
            value: UnsafeCell::new(value),
        }
    }

    /// An unlocked lock holding `value`, usable in a `static`.
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock {
            max_readers: MAX_READS,
            sem: Semaphore::const_new(MAX_READS as usize),
            value: UnsafeCell::new(value),
        }
    }

    /// [`with_max_readers`](RwLock::with_max_readers), usable in a `static`.
    ///
    /// # Panics
    /// If `max_reads` is 0 or above `u32::MAX >> 3`.
    #[cfg(not(loom))]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than u32::MAX >> 3 readers"
        );
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        RwLock {
            max_readers: max_reads,
            sem: Semaphore::const_new(max_reads as usize),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    async fn acquire(&self, n: u32) {
        if Acquire::new(&self.sem, n as usize).await.is_err() {
            unreachable!("a RwLock's semaphore is never closed");
        }
    }

    fn ptr(&self) -> *mut T {
        self.value.with_mut(|ptr| ptr)
    }

    /// Waits for shared access (behind any writer already waiting).
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        RwLockReadGuard::new(&self.sem, self.ptr())
    }

    /// Waits for exclusive access.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.max_readers).await;
        RwLockWriteGuard::new(&self.sem, self.max_readers, self.ptr())
    }

    /// [`read`](RwLock::read), with a guard that owns an `Arc` of the lock.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard::new(self)
    }

    /// [`write`](RwLock::write), with a guard that owns an `Arc` of the lock.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.max_readers).await;
        OwnedRwLockWriteGuard { lock: self }
    }

    /// Shared access if it is free now and no writer waits.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.sem.try_take(1).map_err(|_| TryLockError(()))?;
        Ok(RwLockReadGuard::new(&self.sem, self.ptr()))
    }

    /// Exclusive access if it is free now.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.sem.try_take(self.max_readers as usize).map_err(|_| TryLockError(()))?;
        Ok(RwLockWriteGuard::new(&self.sem, self.max_readers, self.ptr()))
    }

    /// [`try_read`](RwLock::try_read), with an owned guard.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.sem.try_take(1).map_err(|_| TryLockError(()))?;
        Ok(OwnedRwLockReadGuard::new(self))
    }

    /// [`try_write`](RwLock::try_write), with an owned guard.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.sem.try_take(self.max_readers as usize).map_err(|_| TryLockError(()))?;
        Ok(OwnedRwLockWriteGuard { lock: self })
    }

    /// [`read`](RwLock::read) from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::block_on(self.read())
    }

    /// [`write`](RwLock::write) from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::block_on(self.write())
    }

    /// The value, through `&mut self` (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves no guard exists.
        unsafe { &mut *self.ptr() }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared access to (a part of) the value of a [`RwLock`]; one permit, released on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    value: *const T,
    _borrow: PhantomData<&'a T>,
}

/// Exclusive access to the value of a [`RwLock`]; all permits, released on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    permits: u32,
    value: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

/// A [`RwLockWriteGuard`] narrowed to a part of the value by [`RwLockWriteGuard::map`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    permits: u32,
    value: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

/// Shared access through an `Arc<RwLock<T>>`, optionally narrowed to a part `U`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    value: *const U,
}

/// Exclusive access through an `Arc<RwLock<T>>`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

/// An [`OwnedRwLockWriteGuard`] narrowed to a part `U`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    value: *mut U,
}

// Why the guards below are Send/Sync, with tokio's bounds exactly (tests/auto_traits.rs checks
// both side by side): a read guard is `&T` in disguise, so it may move to another thread when
// `T: Sync`; a write guard is `&mut T`, which can hand the value itself to the thread it moves
// to (`mem::replace`), so it needs `T: Send + Sync`. Shared (`&Guard` on several threads),
// each is held to `T: Send + Sync`, as tokio's are: the lock itself is `Sync` only for
// `T: Send + Sync`, and the owned guards lend their `Arc<RwLock<T>>`. The permits a guard
// holds are released through the `Sync` semaphore.
//
// SAFETY: a read guard only lends `&T`, shareable across threads since `T: Sync`.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: see above; the guard also owns an `Arc` of the lock, which needs `T: Send + Sync`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T, U> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    fn new(sem: &'a Semaphore, value: *const T) -> Self {
        RwLockReadGuard { sem, value, _borrow: PhantomData }
    }

    /// Narrows the guard to a part of the value; the read lock stays held.
    pub fn map<U: ?Sized, F: FnOnce(&T) -> &U>(this: Self, f: F) -> RwLockReadGuard<'a, U> {
        // SAFETY: the guard holds a read permit, so no writer exists.
        let value = f(unsafe { &*this.value }) as *const U;
        let sem = this.sem;
        std::mem::forget(this);
        RwLockReadGuard::new(sem, value)
    }

    /// Like [`map`](RwLockReadGuard::map), but `f` may decline, giving the guard back.
    pub fn try_map<U: ?Sized, F: FnOnce(&T) -> Option<&U>>(
        this: Self,
        f: F,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        // SAFETY: the guard holds a read permit, so no writer exists.
        let Some(value) = f(unsafe { &*this.value }) else {
            return Err(this);
        };
        let value = value as *const U;
        let sem = this.sem;
        std::mem::forget(this);
        Ok(RwLockReadGuard::new(sem, value))
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    fn new(sem: &'a Semaphore, permits: u32, value: *mut T) -> Self {
        RwLockWriteGuard { sem, permits, value, _borrow: PhantomData }
    }

    /// Narrows the guard to a part of the value; the write lock stays held.
    pub fn map<U: ?Sized, F: FnOnce(&mut T) -> &mut U>(
        mut this: Self,
        f: F,
    ) -> RwLockMappedWriteGuard<'a, U> {
        let value = f(&mut *this) as *mut U;
        let (sem, permits) = (this.sem, this.permits);
        std::mem::forget(this);
        RwLockMappedWriteGuard { sem, permits, value, _borrow: PhantomData }
    }

    /// Like [`map`](RwLockWriteGuard::map), but `f` may decline, giving the guard back.
    pub fn try_map<U: ?Sized, F: FnOnce(&mut T) -> Option<&mut U>>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self> {
        let Some(value) = f(&mut *this) else {
            return Err(this);
        };
        let value = value as *mut U;
        let (sem, permits) = (this.sem, this.permits);
        std::mem::forget(this);
        Ok(RwLockMappedWriteGuard { sem, permits, value, _borrow: PhantomData })
    }

    /// Turns exclusive access into shared access without letting a writer in between; the
    /// readers queued behind it get in at once.
    pub fn downgrade(this: Self) -> RwLockReadGuard<'a, T> {
        let (sem, permits, value) = (this.sem, this.permits, this.value);
        std::mem::forget(this);
        sem.release(permits as usize - 1);
        RwLockReadGuard::new(sem, value)
    }

    /// [`downgrade`](RwLockWriteGuard::downgrade) and [`map`](RwLockReadGuard::map) in one
    /// step, with no writer let in between.
    pub fn downgrade_map<U: ?Sized, F: FnOnce(&T) -> &U>(
        this: Self,
        f: F,
    ) -> RwLockReadGuard<'a, U> {
        let value = f(&*this) as *const U;
        let (sem, permits) = (this.sem, this.permits);
        std::mem::forget(this);
        sem.release(permits as usize - 1);
        RwLockReadGuard::new(sem, value)
    }

    /// Like [`downgrade_map`](RwLockWriteGuard::downgrade_map), but `f` may decline, giving
    /// the write guard back.
    pub fn try_downgrade_map<U: ?Sized, F: FnOnce(&T) -> Option<&U>>(
        this: Self,
        f: F,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        let Some(value) = f(&*this) else {
            return Err(this);
        };
        let value = value as *const U;
        let (sem, permits) = (this.sem, this.permits);
        std::mem::forget(this);
        sem.release(permits as usize - 1);
        Ok(RwLockReadGuard::new(sem, value))
    }
}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// Narrows the guard further.
    pub fn map<U: ?Sized, F: FnOnce(&mut T) -> &mut U>(
        mut this: Self,
        f: F,
    ) -> RwLockMappedWriteGuard<'a, U> {
        let value = f(&mut *this) as *mut U;
        let (sem, permits) = (this.sem, this.permits);
        std::mem::forget(this);
        RwLockMappedWriteGuard { sem, permits, value, _borrow: PhantomData }
    }
}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    fn new(lock: Arc<RwLock<T>>) -> Self {
        let value = lock.ptr() as *const T;
        OwnedRwLockReadGuard { lock, value }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// The lock this guard reads.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Narrows the guard to a part of the value; the read lock stays held.
    pub fn map<V: ?Sized, F: FnOnce(&U) -> &V>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V> {
        // SAFETY: the guard holds a read permit, so no writer exists.
        let value = f(unsafe { &*this.value }) as *const V;
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never used (nor dropped) again; the Arc moves to the new guard.
        let lock = unsafe { std::ptr::read(&this.lock) };
        OwnedRwLockReadGuard { lock, value }
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// The lock this guard writes.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Narrows the guard to a part of the value; the write lock stays held.
    pub fn map<U: ?Sized, F: FnOnce(&mut T) -> &mut U>(
        mut this: Self,
        f: F,
    ) -> OwnedRwLockMappedWriteGuard<T, U> {
        let value = f(&mut *this) as *mut U;
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never used (nor dropped) again; the Arc moves to the new guard.
        let lock = unsafe { std::ptr::read(&this.lock) };
        OwnedRwLockMappedWriteGuard { lock, value }
    }

    /// Turns exclusive access into shared access without letting a writer in between.
    pub fn downgrade(this: Self) -> OwnedRwLockReadGuard<T> {
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never used (nor dropped) again; the Arc moves to the new guard.
        let lock = unsafe { std::ptr::read(&this.lock) };
        lock.sem.release(lock.max_readers as usize - 1);
        OwnedRwLockReadGuard::new(lock)
    }
}

lock_guards! {
    [T: ?Sized] RwLockReadGuard<'_, T>: shared T = |self| self.value,
        drop self.sem.release(1);
    [T: ?Sized] RwLockWriteGuard<'_, T>: exclusive T = |self| self.value,
        drop self.sem.release(self.permits as usize);
    [T: ?Sized] RwLockMappedWriteGuard<'_, T>: exclusive T = |self| self.value,
        drop self.sem.release(self.permits as usize);
    [T: ?Sized, U: ?Sized] OwnedRwLockReadGuard<T, U>: shared U = |self| self.value,
        drop self.lock.sem.release(1);
    [T: ?Sized] OwnedRwLockWriteGuard<T>: exclusive T = |self| self.lock.ptr(),
        drop self.lock.sem.release(self.lock.max_readers as usize);
    [T: ?Sized, U: ?Sized] OwnedRwLockMappedWriteGuard<T, U>: exclusive U = |self| self.value,
        drop self.lock.sem.release(self.lock.max_readers as usize);
}
