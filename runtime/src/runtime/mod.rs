//! The user-facing runtime: [`Builder`], [`Runtime`], [`Handle`] and [`spawn`], with tokio's
//! names.
//!
//! A `Runtime` owns a scheduler (see `scheduler`), which owns a reactor (see `reactor`).
//! `block_on` runs the scheduler's loop on the calling thread until the given future completes;
//! `spawn` hands a future to the scheduler as a task. Dropping the `Runtime` drops every task
//! it still owns (their `JoinHandle`s report cancellation) and fails the I/O resources that
//! outlive it with an error rather than leaving them waiting forever.
//!
//! Files: `builder.rs` ([`Builder`]), `runtime.rs` ([`Runtime`]), `handle.rs` ([`Handle`],
//! [`EnterGuard`], [`Id`], [`RuntimeFlavor`]), `metrics.rs` ([`RuntimeMetrics`]), `local.rs`
//! ([`LocalRuntime`]); the free functions ([`spawn`], [`spawn_blocking`], [`block_in_place`])
//! are here.

use std::future::Future;

use crate::context;
use crate::scheduler;
use crate::scheduler::multi_thread;
use crate::task::JoinHandle;

mod builder;
mod handle;
mod local;
mod metrics;
#[allow(clippy::module_inception)]
mod runtime;

pub use builder::Builder;
pub use handle::{EnterGuard, Handle, Id, RuntimeFlavor, TryCurrentError};
pub use local::{LocalOptions, LocalRuntime};
pub use metrics::RuntimeMetrics;
pub use runtime::Runtime;

pub use crate::shutdown::{is_rt_shutdown_err, shutdown_error};

/// Spawns a task on the current runtime and returns a handle to await its output.
///
/// The task starts running at the runtime's next scheduling point; dropping the handle
/// detaches it.
///
/// # Panics
/// Outside a runtime: call it from a task, inside `block_on`, or after `Runtime::enter`. The
/// panic names the caller's line (`#[track_caller]`), as tokio's.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::current().spawn(future)
}

/// Runs the blocking closure `func` right here, in the middle of a task, without stalling the
/// other tasks of this worker: on a multi-thread runtime this worker's queue is handed to a new
/// worker thread first, and this thread stops being a worker once the task's poll ends.
/// Tokio's `task::block_in_place`. The cooperative budget does not apply inside `func`, and
/// `func` may `block_on` another runtime.
///
/// Outside any runtime it simply calls `func`.
///
/// # Panics
/// On a current-thread runtime (there is no other thread to hand the tasks to), and in a
/// `LocalSet` off a worker thread (its other tasks would stall), as in tokio.
#[track_caller]
pub fn block_in_place<F, R>(func: F) -> R
where
    F: FnOnce() -> R,
{
    let handed_off = multi_thread::worker::hand_off_core();
    // Not a worker holding a core: fine anywhere (a plain thread, `Handle::block_on`, a
    // thread already in `block_in_place`) except the loop of a current-thread runtime and a
    // `LocalSet` (whose other tasks would stall).
    if handed_off.is_none()
        && (scheduler::current_thread::runs_any_loop() || scheduler::local::in_local_set())
    {
        panic!(
            "can call blocking only when running on the multi-threaded runtime \
             (`block_in_place` on a current-thread runtime)"
        );
    }
    let _suspended = crate::polling::suspend_loop();
    // Dropped first, when `func` returns or unwinds: takes the core back if it is still
    // waiting for its pool thread.
    let _handed_off = handed_off;
    func()
}

/// The index of the worker this thread is, in its runtime (tokio's `runtime::worker_index`):
/// `Some(0)` on the thread running a current-thread runtime's loop (its `block_on` and its
/// tasks), `Some(i)` on worker `i` of a multi-thread runtime while it runs tasks, `None`
/// elsewhere (a multi-thread runtime's `block_on`, `Handle::block_on`, the blocking pool, a
/// thread in `block_in_place`, outside any runtime). For per-worker state indexed by worker.
pub fn worker_index() -> Option<usize> {
    multi_thread::worker::worker_index()
        .or_else(|| scheduler::current_thread::runs_any_loop().then_some(0))
}

/// Runs a blocking closure on the current runtime's blocking pool, and returns a handle to
/// await its result. Tokio's `task::spawn_blocking`.
///
/// The closure runs on a thread of its own (a pool thread, spawned on demand up to
/// `Builder::max_blocking_threads` and kept `Builder::thread_keep_alive` when idle), so it may
/// block without stalling any task. A panic in it is reported through the handle. It cannot be
/// aborted once it started; `abort()` before that keeps it from running.
///
/// # Panics
/// Outside a runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(func: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    context::current().spawn_blocking(func)
}
