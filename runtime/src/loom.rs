//! The concurrency primitives that loom model-checks, behind one path, and the one
//! poison-ignoring [`lock`].
//!
//! Code that must be checked by loom (`sync`, the task cell, the multi-thread scheduler's
//! queues and park/unpark, the slow-poll table's pin: see `task/loom_tests.rs`,
//! `scheduler/multi_thread/loom_tests.rs`, `sync/loom_tests.rs`,
//! `slow_poll/table_loom_tests.rs`) imports its atomics, `Mutex`, `Arc`, `UnsafeCell` and `thread` from
//! here instead of `std`. A normal build re-exports std's; a
//! `RUSTFLAGS="--cfg loom"` build re-exports loom's, whose every load, store and lock is a
//! point where loom's scheduler may switch threads, so a model explores every interleaving.
//!
//! `UnsafeCell` is the one type whose API differs: loom's tracks each access, so both builds
//! use `with` / `with_mut` closures instead of `get()`.

#![allow(unused_imports, dead_code)]

pub(crate) use sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
pub(crate) use sync::{Arc, Condvar, Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning: our locks guard queues, counters and waker slots, and
/// the one user code run under any of them (a `broadcast` value's `clone`, under that value's
/// own lock) only reads what it guards, so the data is consistent after a panic either way,
/// and one panicking task must not make every later lock panic too. The one
/// helper for every internal mutex of the crate: std's, and loom's in a loom build.
#[inline]
pub(crate) fn lock<M: PoisonFree + ?Sized>(mutex: &M) -> M::Guard<'_> {
    mutex.lock_poison_free()
}

/// A mutex [`lock`] can take: std's, and (in a loom build) loom's.
pub(crate) trait PoisonFree {
    type Guard<'a>
    where
        Self: 'a;
    fn lock_poison_free(&self) -> Self::Guard<'_>;
}

impl<T: ?Sized> PoisonFree for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        Self: 'a;
    #[inline]
    fn lock_poison_free(&self) -> Self::Guard<'_> {
        self.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// So that `lock(&shared)` works on an `Arc<Mutex<_>>` as it does on the mutex.
impl<M: PoisonFree + ?Sized> PoisonFree for std::sync::Arc<M> {
    type Guard<'a>
        = M::Guard<'a>
    where
        Self: 'a;
    #[inline]
    fn lock_poison_free(&self) -> Self::Guard<'_> {
        (**self).lock_poison_free()
    }
}

#[cfg(loom)]
impl<T: ?Sized> PoisonFree for ::loom::sync::Mutex<T> {
    type Guard<'a>
        = ::loom::sync::MutexGuard<'a, T>
    where
        Self: 'a;
    fn lock_poison_free(&self) -> Self::Guard<'_> {
        self.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(loom)]
pub(crate) use ::loom::{sync, thread};

#[cfg(loom)]
pub(crate) use ::loom::cell::UnsafeCell;

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::{
        atomic, Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, Weak,
    };
}

#[cfg(not(loom))]
pub(crate) use std::thread;

/// `std::cell::UnsafeCell` with loom's closure API, so the same code builds both ways; a
/// transparent wrapper with always-inlined methods, so it compiles to the bare cell.
#[cfg(not(loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared raw pointer to the value.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a mutable raw pointer to the value.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
impl<M: PoisonFree + ?Sized> PoisonFree for ::loom::sync::Arc<M> {
    type Guard<'a>
        = M::Guard<'a>
    where
        Self: 'a;
    fn lock_poison_free(&self) -> Self::Guard<'_> {
        (**self).lock_poison_free()
    }
}
