//! What this thread is polling: whether it runs a runtime's loop, which task, and that task's
//! budget. One thread-local, `POLLING`, of plain `Cell`s of `Copy` data, read once or twice per
//! task poll (no destructor, so no check of the thread-local's lifetime):
//!
//! ```text
//!  in_loop  this thread is running a runtime's loop (block_on, a task): blocking here would
//!           stall every task, so dropping a runtime or nesting block_on panics
//!  task_id  the task being polled (task::id, JoinError's id), 0 for none
//!  budget   operations left before the polled task must yield (cooperative scheduling)
//! ```
//!
//! The schedulers and the task cells set these; I/O resources, channels and timers spend the
//! budget. A leaf: it knows no other module, so every layer may use it. Every access uses
//! `try_with`, so code running during thread exit sees "not polling", never an abort.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

/// Operations a task may complete in one poll before an I/O resource makes it yield.
const COOP_BUDGET: u32 = 128;
/// The budget outside any task's poll: nothing is enforced there.
const UNCONSTRAINED: u32 = u32::MAX;
/// The task id outside any task's poll (task ids start at 1).
const NO_TASK: u64 = 0;

struct Polling {
    in_loop: Cell<bool>,
    task_id: Cell<u64>,
    budget: Cell<u32>,
}

thread_local! {
    static POLLING: Polling = const {
        Polling { in_loop: Cell::new(false), task_id: Cell::new(NO_TASK), budget: Cell::new(UNCONSTRAINED) }
    };
}

/// The panic of a `block_on` inside a runtime, on either flavor: tokio 1.54's words, to the
/// letter (tests ported from tokio match the whole sentence).
pub(crate) const NESTED_BLOCK_ON: &str = "Cannot start a runtime from within a runtime. This \
     happens because a function (like `block_on`) attempted to block the current thread while \
     the thread is being used to drive asynchronous tasks. If you are in an async function, \
     use `.await` on the future instead of blocking on it.";

/// Whether this thread is running a runtime's loop (inside `block_on`, or polling a task).
pub(crate) fn in_loop() -> bool {
    POLLING.try_with(|cx| cx.in_loop.get()).unwrap_or(false)
}

/// Marks this thread as running a runtime's loop until the guard drops; `None` if it already
/// is one (a `block_on` inside a task or inside another `block_on`).
pub(crate) fn enter_loop() -> Option<LoopGuard> {
    let started = POLLING.try_with(|cx| !cx.in_loop.replace(true)).unwrap_or(false);
    // `then`, not `then_some`: a guard built and dropped here would clear the flag.
    started.then(|| LoopGuard(()))
}

/// Returned by [`enter_loop`].
pub(crate) struct LoopGuard(());

impl Drop for LoopGuard {
    fn drop(&mut self) {
        let _ = POLLING.try_with(|cx| {
            cx.in_loop.set(false);
            cx.task_id.set(NO_TASK);
            cx.budget.set(UNCONSTRAINED);
        });
    }
}

/// Leaves the loop state, and lifts the budget, until the guard drops (which restores
/// both, and the task id): `block_in_place` runs blocking code — which may `block_on` another
/// runtime, whose tasks set and clear the id — in the middle of a task's poll.
pub(crate) fn suspend_loop() -> SuspendGuard {
    let saved = POLLING.try_with(|cx| {
        (cx.in_loop.replace(false), cx.budget.replace(UNCONSTRAINED), cx.task_id.get())
    });
    SuspendGuard(saved.ok())
}

/// Returned by [`suspend_loop`].
pub(crate) struct SuspendGuard(Option<(bool, u32, u64)>);

impl Drop for SuspendGuard {
    fn drop(&mut self) {
        if let Some((in_loop, budget, task_id)) = self.0 {
            let _ = POLLING.try_with(|cx| {
                cx.in_loop.set(in_loop);
                cx.budget.set(budget);
                cx.task_id.set(task_id);
            });
        }
    }
}

/// Starts one poll of a task (or of a `block_on` future, `task_id` 0): records which task
/// is polled and gives it a fresh budget. Nothing is restored after the poll: the next poll
/// overwrites both, and the loop clears them when it ends (`LoopGuard`), so code
/// outside any loop never sees a budget.
#[inline]
pub(crate) fn start_poll(task_id: u64) {
    let _ = POLLING.try_with(|cx| {
        cx.task_id.set(task_id);
        cx.budget.set(COOP_BUDGET);
    });
}

/// Runs `f`, which polls other tasks inside the current poll (a `LocalSet` running its tasks
/// from within the task that awaits it), and restores the current task's id and budget after
/// it, also when it panics.
pub(crate) fn nested_polls<R>(f: impl FnOnce() -> R) -> R {
    let save = |cx: &Polling| (cx.task_id.get(), cx.budget.get());
    changed_while(save, f, |cx, (task_id, budget)| {
        cx.task_id.set(task_id);
        cx.budget.set(budget);
    })
}

/// Runs `f` as task `id` (so `task::id()` works in it), restoring the thread's current task
/// after it, also when it panics: a future or output dropped outside the task's poll (abort,
/// a `JoinHandle` dropped after completion) sees its own id, as tokio's do.
pub(crate) fn as_task<R>(id: u64, f: impl FnOnce() -> R) -> R {
    changed_while(|cx| cx.task_id.replace(id), f, |cx, previous| cx.task_id.set(previous))
}

/// Runs `f` with no budget enforced, restoring the budget after it (also when it panics).
pub(crate) fn without_budget<R>(f: impl FnOnce() -> R) -> R {
    let lift = |cx: &Polling| cx.budget.replace(UNCONSTRAINED);
    changed_while(lift, f, |cx, budget| cx.budget.set(budget))
}

/// Runs `change` on this thread's state, then `f`, then `restore` with what `change` returned:
/// from a guard's drop, so also when `f` panics.
fn changed_while<S, R>(
    change: impl FnOnce(&Polling) -> S,
    f: impl FnOnce() -> R,
    restore: impl Fn(&Polling, S),
) -> R {
    struct Restore<S, F: Fn(&Polling, S)>(Option<S>, F);
    impl<S, F: Fn(&Polling, S)> Drop for Restore<S, F> {
        fn drop(&mut self) {
            if let Some(saved) = self.0.take() {
                let _ = POLLING.try_with(|cx| (self.1)(cx, saved));
            }
        }
    }
    let _restore = Restore(POLLING.try_with(change).ok(), restore);
    f()
}

/// The id of the task being polled on this thread, 0 for none.
pub(crate) fn current_task_id() -> u64 {
    POLLING.try_with(|cx| cx.task_id.get()).unwrap_or(NO_TASK)
}

/// Gives back the unit a [`poll_budget`] just spent, for an operation that turned out not to
/// make progress (its resource was not ready after all: tokio's `RestoreOnPending`).
#[inline]
pub(crate) fn refund_budget() {
    let _ = POLLING.try_with(|tls| match tls.budget.get() {
        UNCONSTRAINED => {}
        left => tls.budget.set((left + 1).min(COOP_BUDGET)),
    });
}

/// Whether the running task has budget left (always outside a task's poll, and in an
/// `unconstrained` future).
#[inline]
pub(crate) fn has_budget_remaining() -> bool {
    POLLING.try_with(|tls| tls.budget.get() != 0).unwrap_or(true)
}

/// Spends one unit of the running task's budget. `Pending` (after arranging to be polled
/// again) once the budget is spent, so a task whose sockets are always ready still yields.
/// Outside a task's poll nothing is enforced.
#[inline]
pub(crate) fn poll_budget(cx: &mut Context<'_>) -> Poll<()> {
    let spent = POLLING
        .try_with(|tls| match tls.budget.get() {
            UNCONSTRAINED => false,
            0 => true,
            left => {
                tls.budget.set(left - 1);
                false
            }
        })
        .unwrap_or(false);
    if spent {
        crate::wake::defer(cx.waker());
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}

/// Runs `future`, spending one unit of the task's coop budget on each poll first (tokio's
/// `cooperative`). For the async methods built from other futures that can complete without
/// ever waiting (`watch::Receiver::changed` on a closed channel, say), so that a loop over them
/// still yields to the other tasks.
pub(crate) async fn cooperative<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    std::future::poll_fn(|cx| {
        if poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        future.as_mut().poll(cx)
    })
    .await
}
