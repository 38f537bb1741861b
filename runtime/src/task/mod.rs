//! Tasks: a spawned future in one heap allocation, its state machine, the `Waker` that re-queues
//! it, and the [`JoinHandle`] that awaits it.
//!
//! # Lifecycle
//!
//! ```text
//!  spawn(future) ──► Arc<Task<F, S>> {state: NOTIFIED | JOIN_INTEREST, stage: Running(future)}
//!                    (cell.rs; S is the scheduler, reached only through the `Schedule` trait)
//!
//!  scheduler pops it ──► run(): NOTIFIED → RUNNING, poll the future in place with a Waker that
//!                        is this same Arc, borrowed for the poll (std's `Wake` trait)
//!      Pending ──► RUNNING → idle; if woken meanwhile (NOTIFIED), back on the queue
//!      Ready   ──► drop the future in place, stage = Finished(output), COMPLETE, wake the
//!                  JoinHandle's waker (or, if the handle is gone, drop the output right here)
//!      panic   ──► the future is dropped while unwinding; stage = Finished(Err(panic)), as Ready
//!
//!  waker.wake() ──► set NOTIFIED; only the call that set it on an idle task pushes the task on
//!                   a run queue, so a task is queued at most once and polled by one thread
//!  abort()      ──► set CANCELLED and wake; the next run drops the future instead of polling it
//!  shutdown     ──► set CANCELLED; an idle or queued task has its future dropped at once
//! ```
//!
//! `state.rs` holds the state word and its transitions, `cell.rs` the task itself, `join.rs`
//! the handles ([`JoinHandle`], [`AbortHandle`]), `join_set.rs` [`JoinSet`], `error.rs`
//! [`JoinError`], `id.rs` [`Id`], `coop.rs` the budget as a task sees it; `loom_tests.rs`
//! model-checks the cross-thread races of the state machine (`cfg(loom)` builds only).
//!
//! The task module knows no scheduler: a scheduler implements `Schedule` (queue a task,
//! forget a completed one), and the task calls nothing else.

mod builder;
mod cell;
pub mod coop;
mod error;
mod id;
mod join;
mod join_set;
pub(crate) mod local;
mod state;

#[cfg(all(test, loom))]
mod loom_tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use builder::Builder;
pub(crate) use cell::Task;
pub use coop::{consume_budget, has_budget_remaining, unconstrained, Unconstrained};
pub use error::JoinError;
pub use id::{id, try_id, Id};
pub use join::{AbortHandle, JoinHandle};
pub use join_set::JoinSet;
pub(crate) use local::Shared as LocalShared;
pub use local::{spawn_local, LocalEnterGuard, LocalSet};

/// Spawns a task on the current runtime. See [`crate::spawn`].
pub use crate::runtime::spawn;
pub use crate::runtime::{block_in_place, spawn_blocking};

/// A task as a scheduler sees it, whatever its future's type.
pub(crate) type TaskRef = Arc<dyn Runnable>;

/// What a scheduler can do with a task.
pub(crate) trait Runnable: Send + Sync {
    /// Polls the future once (or drops it, if the task was cancelled). Called only by the
    /// scheduler that popped the task from its queue.
    fn run(self: Arc<Self>);
    /// Cancels the task for runtime shutdown: drops its future now if no one is polling it.
    fn shutdown(self: Arc<Self>);
    /// The task's id (for the slow-poll detector, which times `run` from the scheduler).
    fn id(&self) -> Id;
}

/// What a task needs from its scheduler (tokio's `Schedule`, async-task's schedule function).
pub(crate) trait Schedule: Clone + Send + Sync + 'static {
    /// Whether a poll of these tasks is an async task's poll, which the slow-poll detector
    /// times. Not the blocking pool's: its one "poll" runs the whole blocking closure.
    const IS_ASYNC: bool = true;

    /// Queues a task that must run: it was woken, spawned, or aborted. Callable from any thread.
    fn schedule(&self, task: TaskRef);

    /// Forgets a completed task (removes it from the scheduler's list of owned tasks).
    fn release(&self, owned_key: usize);

    /// An identity for [`Schedule::try_schedule_local`]: compared, never dereferenced.
    fn local_key(&self) -> *const () {
        std::ptr::null()
    }

    /// Queues `task`, woken during its own poll, straight onto this thread's local run queue if
    /// this thread runs the loop of the scheduler whose `local_key` is `key`; gives it back
    /// otherwise. Generic (with `erase` to make a `TaskRef` of it) so the caller has its task
    /// back, concrete type and all, without having taken a reference to the scheduler.
    fn try_schedule_local<T>(key: *const (), task: T, erase: fn(T) -> TaskRef) -> Result<(), T> {
        let _ = (key, erase);
        Err(task)
    }

    /// Like [`Schedule::try_schedule_local`], for a wake (not a task waking itself during its
    /// poll): where a scheduler puts a freshly woken task (the multi-thread worker's LIFO slot)
    /// may differ from where a yielding one goes. The default gives the task back, and the
    /// caller then goes through [`Schedule::schedule`].
    fn try_wake_local<T>(key: *const (), task: T, erase: fn(T) -> TaskRef) -> Result<(), T> {
        let _ = (key, erase);
        Err(task)
    }
}

/// Yields to the scheduler: other ready tasks (and I/O) get a turn before this task continues.
pub async fn yield_now() {
    struct YieldNow {
        yielded: bool,
    }

    impl Future for YieldNow {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.yielded {
                return Poll::Ready(());
            }
            self.yielded = true;
            // Woken after the loop's next look at the reactor, as in tokio: everything already
            // queued, and whatever that look wakes, runs first.
            crate::scheduler::current_thread::defer(cx.waker());
            Poll::Pending
        }
    }

    YieldNow { yielded: false }.await
}

mod task_local;
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};
