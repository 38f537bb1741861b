//! Tasks, as a program sees them: [`spawn`] (and [`spawn_blocking`], [`spawn_local`]), the
//! [`JoinHandle`] that awaits one, [`JoinSet`], [`LocalSet`], [`Builder`], task-local values,
//! and cooperative scheduling ([`coop`], [`yield_now`]).
//!
//! The task itself — one heap allocation holding the future, its state machine, the `Waker`
//! that re-queues it — is the scheduler's: `scheduler/task/`. `builder.rs` holds [`Builder`],
//! `join_set.rs` [`JoinSet`], `local.rs` [`spawn_local`], `task_local.rs` [`LocalKey`],
//! `coop.rs` the budget as a task sees it.

mod builder;
pub mod coop;
mod join_set;
mod local;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use builder::Builder;
pub use coop::{consume_budget, has_budget_remaining, unconstrained, Unconstrained};
pub use join_set::JoinSet;
pub use local::spawn_local;

pub use crate::scheduler::local::{LocalEnterGuard, LocalSet};
pub use crate::scheduler::task::{id, try_id, AbortHandle, Id, JoinError, JoinHandle};

/// Spawns a task on the current runtime. See [`crate::spawn`].
pub use crate::runtime::spawn;
pub use crate::runtime::{block_in_place, spawn_blocking};

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
            crate::wake::defer(cx.waker());
            Poll::Pending
        }
    }

    YieldNow { yielded: false }.await
}

mod task_local;
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};
