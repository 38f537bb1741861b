//! The primitives of the task cell's and the scheduler's cross-thread protocols, by their
//! short names: `crate::loom`'s (std's in a normal build, loom's under `cfg(loom)`, so the
//! model checker explores every interleaving of the task state word, the local queue, the
//! injection queue and park/unpark: see `task/loom_tests.rs` and
//! `scheduler/multi_thread/loom_tests.rs`), plus the poison-ignoring `lock` they all use.

pub(crate) use crate::loom::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};
pub(crate) use crate::loom::sync::{Arc, Condvar, Mutex, MutexGuard};
pub(crate) use crate::loom::UnsafeCell;

/// Locks `mutex`, ignoring poisoning: nothing panics while these locks are held (they guard
/// queues, counters and a waker swap), so the data is consistent either way.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
