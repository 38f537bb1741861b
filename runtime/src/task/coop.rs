//! Cooperative scheduling from the task's side: [`consume_budget`], [`has_budget_remaining`]
//! and [`unconstrained`] (tokio's `task::coop`).
//!
//! Every poll of a task starts with a budget (see `crate::context`); each operation that
//! completes (an I/O readiness, a timer, a `JoinHandle`) spends one unit, and once it is spent
//! they return `Pending` after waking the task, so it goes to the back of the run queue. These
//! functions let a task take part in that explicitly, or opt out of it. `select!` checks the
//! budget before it polls its branches, as tokio's does: once it is spent, budget-aware
//! branches would yield anyway, and the others would run on without cooperating.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spends one unit of the task's budget, yielding first if it is spent. Tokio's
/// `task::consume_budget`: put it in a loop that does CPU work without awaiting anything that
/// would yield on its own.
pub async fn consume_budget() {
    poll_fn(crate::polling::poll_budget).await
}

/// Whether the current task has budget left: `false` once it has spent it in this poll, so
/// that the next budget-aware operation will yield. Always `true` outside a task, and inside an
/// [`unconstrained`] future.
pub fn has_budget_remaining() -> bool {
    crate::polling::has_budget_remaining()
}

/// Runs `future` without a budget: nothing it awaits yields because of the budget. Tokio's
/// `task::unconstrained`; use it sparingly, since such a future can starve the other tasks.
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

pin_project_lite::pin_project! {
    /// The future returned by [`unconstrained`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Unconstrained<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let future = self.project().future;
        crate::polling::without_budget(|| future.poll(cx))
    }
}
