//! The synchronisation primitives of the task cell's and the scheduler's cross-thread
//! protocols, from `loom` in a `cfg(loom)` build (so the model checker explores every
//! interleaving of the task state word, the local queue, the injection queue and park/unpark:
//! see `task/loom_tests.rs` and `scheduler/multi_thread/loom_tests.rs`) and from `std`
//! otherwise.
//!
//! A normal build gets std's types themselves, with no wrapper in between, so it compiles to
//! exactly the code it would without this module. The one exception is `UnsafeCell`, whose
//! API follows loom's (`with`, `with_mut`, closures over a raw pointer) so that loom can check
//! that no cell is read on one thread while another writes it; its std version is a
//! `#[repr(transparent)]` wrapper whose methods are `#[inline(always)]`.
//!
//! (`crate::loom` is the same idea for `minirt::sync`; this one serves `task` and
//! `scheduler`.)

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// `std::cell::UnsafeCell` with loom's access API.
#[cfg(not(loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a shared pointer to the value; the caller upholds the aliasing rules.
    #[inline(always)]
    #[allow(dead_code)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a mutable pointer to the value; the caller upholds the aliasing rules.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Locks `mutex`, ignoring poisoning: nothing panics while these locks are held (they guard
/// queues, counters and a waker swap), so the data is consistent either way.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
