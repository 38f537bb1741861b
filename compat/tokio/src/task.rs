//! Tasks (tokio's `tokio::task`): minirt's, plus tokio's `coop::poll_proceed` for crates that
//! build their own budget-aware futures (tokio-util's do).

pub use minirt::task::{
    block_in_place, consume_budget, id, spawn, spawn_blocking, spawn_local, try_id, unconstrained,
    yield_now, AbortHandle, AccessError, Id, JoinError, JoinHandle, JoinSet, LocalEnterGuard,
    LocalKey, LocalSet, Unconstrained,
};

/// Task-related futures (tokio's `task::futures`).
pub mod futures {
    pub use minirt::task::TaskLocalFuture;
}

/// Cooperative scheduling (tokio's `task::coop`).
pub mod coop {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll};

    pub use minirt::task::coop::*;

    /// Returned by [`poll_proceed`] once a unit of budget was spent.
    #[derive(Debug)]
    #[must_use = "call made_progress() once the operation did something"]
    pub struct RestoreOnPending {
        _priv: (),
    }

    impl RestoreOnPending {
        /// Tells the budget the operation made progress. minirt spends the unit in
        /// `poll_proceed` itself, so there is nothing to restore either way.
        pub fn made_progress(&self) {}
    }

    /// Spends one unit of the task's budget, or returns `Pending` (having woken the task)
    /// once it is spent, so that the task goes to the back of the run queue.
    pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
        let spend = pin!(consume_budget());
        match spend.poll(cx) {
            Poll::Ready(()) => Poll::Ready(RestoreOnPending { _priv: () }),
            Poll::Pending => Poll::Pending,
        }
    }
}
