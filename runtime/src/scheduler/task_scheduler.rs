//! [`TaskScheduler`]: the scheduler a spawned task holds, for both flavors in one type.
//!
//! `Handle::spawn` can reach either scheduler, so a future spawned through it would be compiled
//! into two task types, `Task<F, Arc<current_thread::Shared>>` and
//! `Task<F, Arc<multi_thread::Shared>>`. Then the future's `poll` has two callers, and LLVM
//! stops inlining it (and what it calls) into `Task::run`, which costs the current-thread hot
//! path measurably. With one type, each future has one `run` again
//! (`docs/BENCHMARKS-notebook.md`, "One task type per future", has the counts).
//!
//! The type is one pointer: an `Arc` of either flavor's `Shared`, turned into a raw pointer and
//! tagged in its low bit (0: current-thread, 1: multi-thread; an `Arc`'s pointer is at least
//! 8-aligned, so the bit is free). The current-thread hot paths never look at the tag:
//!
//! ```text
//!  local_key()                 the tagged pointer itself (one load)
//!  try_schedule_local(key)     current_thread::schedule_local(key) first: its thread-local
//!  try_wake_local(key)         holds an untagged pointer, which a tagged key never equals;
//!                              only if that fails, the tag picks the multi-thread worker's path
//!  schedule / release / clone  (a wake from another thread, a completion): branch on the tag
//! ```
//!
//! The tag is set and cleared with integer arithmetic on the address: with the borrowed `Arc`
//! wrapped in an enum and the tag added by pointer arithmetic, LLVM stops inlining the
//! channel's `Next::poll` into `Task::run` (more instructions per `ping_pong` round trip).
//!
//! Why not a plain `enum` of the two `Arc`s with one `schedule(task, is_yield)`: a task that
//! queues itself must then clone the scheduler's `Arc` first (once queued, the task may run
//! and be freed on another worker, so nothing the call uses may be borrowed from it): an
//! atomic increment and decrement per wake, on a cache line every worker writes. Measured
//! slower on both flavors (`docs/BENCHMARKS-notebook.md`, "`TaskScheduler`: the plain enum
//! against the tagged pointer"); the key compared with the loop's thread-local avoids it.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;

use super::{current_thread, multi_thread};
use crate::scheduler::task::{Schedule, TaskRef};

/// The scheduler of a task spawned on a runtime of either flavor: one tagged pointer that owns
/// one reference (`Arc::into_raw`) to that runtime's shared state.
pub(crate) struct TaskScheduler(NonNull<()>);

/// The low bit of the pointer: set for a multi-thread runtime.
const MULTI_THREAD_TAG: usize = 1;

// SAFETY: it is an `Arc` of either flavor's `Shared`, both of which are Send + Sync.
unsafe impl Send for TaskScheduler {}
// SAFETY: as above.
unsafe impl Sync for TaskScheduler {}

impl From<Arc<current_thread::Shared>> for TaskScheduler {
    #[inline]
    fn from(shared: Arc<current_thread::Shared>) -> TaskScheduler {
        TaskScheduler::current_thread(shared)
    }
}

impl From<Arc<multi_thread::Shared>> for TaskScheduler {
    #[inline]
    fn from(shared: Arc<multi_thread::Shared>) -> TaskScheduler {
        TaskScheduler::multi_thread(shared)
    }
}

impl TaskScheduler {
    pub(crate) fn current_thread(shared: Arc<current_thread::Shared>) -> TaskScheduler {
        let raw = Arc::into_raw(shared) as *mut ();
        // SAFETY: `Arc::into_raw` never returns null.
        TaskScheduler(unsafe { NonNull::new_unchecked(raw) })
    }

    pub(crate) fn multi_thread(shared: Arc<multi_thread::Shared>) -> TaskScheduler {
        let raw = (Arc::into_raw(shared) as usize | MULTI_THREAD_TAG) as *mut ();
        // SAFETY: not null: the tag bit is set.
        TaskScheduler(unsafe { NonNull::new_unchecked(raw) })
    }

    #[inline(always)]
    fn is_multi_thread(&self) -> bool {
        self.0.as_ptr() as usize & MULTI_THREAD_TAG != 0
    }

    #[inline(always)]
    fn untagged(&self) -> usize {
        self.0.as_ptr() as usize & !MULTI_THREAD_TAG
    }

    /// The runtime's `Arc`, borrowed: `Ok` for a current-thread runtime, `Err` for a
    /// multi-thread one.
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    fn arc(
        &self,
    ) -> Result<ManuallyDrop<Arc<current_thread::Shared>>, ManuallyDrop<Arc<multi_thread::Shared>>>
    {
        // SAFETY: this value owns one reference (from `Arc::into_raw`); ManuallyDrop keeps the
        // borrowed Arc from giving it back.
        unsafe {
            if self.is_multi_thread() {
                Err(ManuallyDrop::new(
                    Arc::from_raw(self.untagged() as *const multi_thread::Shared),
                ))
            } else {
                Ok(ManuallyDrop::new(Arc::from_raw(
                    self.untagged() as *const current_thread::Shared
                )))
            }
        }
    }
}

impl Clone for TaskScheduler {
    fn clone(&self) -> TaskScheduler {
        match self.arc() {
            Ok(ct) => TaskScheduler::current_thread(Arc::clone(&ct)),
            Err(mt) => TaskScheduler::multi_thread(Arc::clone(&mt)),
        }
    }
}

impl Drop for TaskScheduler {
    fn drop(&mut self) {
        match self.arc() {
            Ok(ct) => drop(ManuallyDrop::into_inner(ct)),
            Err(mt) => drop(ManuallyDrop::into_inner(mt)),
        }
    }
}

impl Schedule for TaskScheduler {
    /// Both flavors put a task that woke itself during its poll behind their next look at the
    /// reactor: the current-thread loop's deferred queue, the worker's `deferred` list.
    const DEFERS_SELF_WAKE: bool = true;

    fn schedule(&self, task: TaskRef) {
        if crate::slow_poll::enabled() {
            task.woken();
        }
        match self.arc() {
            Ok(ct) => ct.schedule(task),
            Err(mt) => mt.schedule(task),
        }
    }

    fn release(&self, owned_key: usize) {
        match self.arc() {
            Ok(ct) => ct.release(owned_key),
            Err(mt) => mt.release(owned_key),
        }
    }

    #[inline(always)]
    fn local_key(&self) -> *const () {
        self.0.as_ptr()
    }

    #[inline]
    fn try_schedule_local<T>(key: *const (), task: T, erase: fn(T) -> TaskRef) -> Result<(), T> {
        // A tagged (multi-thread) key never equals the current-thread loop's pointer, so the
        // current-thread check needs no look at the tag first.
        current_thread::schedule_local(key.cast(), task, erase, true).or_else(|task| {
            let key = key as usize;
            if key & MULTI_THREAD_TAG == 0 {
                return Err(task);
            }
            multi_thread::worker::schedule_yield_local(
                (key & !MULTI_THREAD_TAG) as *const multi_thread::Shared,
                task,
                erase,
            )
        })
    }

    #[inline]
    fn try_wake_local<T>(key: *const (), task: T, erase: fn(T) -> TaskRef) -> Result<(), T> {
        current_thread::schedule_local(key.cast(), task, erase, false).or_else(|task| {
            let key = key as usize;
            if key & MULTI_THREAD_TAG == 0 {
                return Err(task);
            }
            multi_thread::worker::schedule_wake_local(
                (key & !MULTI_THREAD_TAG) as *const multi_thread::Shared,
                task,
                erase,
            )
        })
    }
}
