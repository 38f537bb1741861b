//! Which runtime this thread is in, which task it is polling, and that task's budget.
//!
//! Two thread-locals answer the questions code deep inside a future asks without being handed
//! the answer: `CONTEXT`, the entered runtime, and `HOT`, the cells read on every poll:
//!
//! ```text
//!  handle   the runtime this thread entered (block_on, Runtime::enter, a worker)
//!           ──► minirt::spawn, Handle::current, AsyncFd::new (its reactor), sleep (its timers)
//!  depth    how many enter guards are live, so one dropped out of order is caught
//!  driving  this thread is running a runtime's loop (block_on, a task): blocking here would
//!           stall every task, so dropping a runtime or nesting block_on panics
//!  task_id  the task being polled (task::id, JoinError's id)
//!  budget   operations left before the polled task must yield (cooperative scheduling)
//! ```
//!
//! The scheduler sets these; everything else only reads them. Every read uses `try_with`:
//! a waker, a `Sleep` or a whole `Runtime` may be dropped during thread exit, after this
//! thread-local is gone, and that must behave as "no runtime here", never abort the process.
//!
//! The context holds the scheduler's [`Handle`] (a type only) and the scheduler enters the
//! context; the reactor, the timers and the tasks do not know the scheduler at all.

use std::cell::{Cell, RefCell};
use std::task::{Context, Poll};

use crate::reactor::Reactor;
use crate::scheduler::Handle;
use crate::task::Id;

/// Operations a task may complete in one poll before an I/O resource makes it yield.
const COOP_BUDGET: u32 = 128;
/// The budget outside any task's poll: nothing is enforced there.
const UNCONSTRAINED: u32 = u32::MAX;

/// The parts without a destructor: plain `Cell`s of `Copy` data, so reading them (once or
/// twice per task poll) costs no check of the thread-local's lifetime.
struct Hot {
    driving: Cell<bool>,
    task_id: Cell<Option<Id>>,
    budget: Cell<u32>,
}

/// The entered runtime, which holds a reference and so needs a destructor.
struct Entered {
    handle: RefCell<Option<Handle>>,
    depth: Cell<usize>,
}

thread_local! {
    static HOT: Hot = const {
        Hot { driving: Cell::new(false), task_id: Cell::new(None), budget: Cell::new(UNCONSTRAINED) }
    };
    static CONTEXT: Entered = const { Entered { handle: RefCell::new(None), depth: Cell::new(0) } };
}

const NO_RUNTIME: &str = tokio_words!(
    "there is no reactor running, must be called from the context of a Tokio 1.x runtime",
    "there is no minirt runtime on this thread: call this from a task or from inside \
     `Runtime::block_on` (or `#[minirt::main]`), or enter one with `Runtime::enter`"
);

/// Whether this thread is in a runtime (cheaper than `try_current`: no reference is taken).
pub(crate) fn in_runtime() -> bool {
    CONTEXT.try_with(|cx| cx.handle.borrow().is_some()).unwrap_or(false)
}

/// The runtime this thread is in, if any.
pub(crate) fn try_current() -> Option<Handle> {
    CONTEXT.try_with(|cx| cx.handle.borrow().clone()).ok().flatten()
}

/// The runtime this thread is in.
///
/// # Panics
/// Outside a runtime, with a message that says how to get into one.
#[track_caller]
pub(crate) fn current() -> Handle {
    // A `match`, not `unwrap_or_else`: `#[track_caller]` does not reach into a closure.
    match try_current() {
        Some(handle) => handle,
        None => panic!("{NO_RUNTIME}"),
    }
}

/// The reactor of the runtime this thread is in.
///
/// # Panics
/// Outside a runtime.
#[track_caller]
pub(crate) fn current_reactor() -> std::sync::Arc<Reactor> {
    current().reactor().clone()
}

/// Makes `handle` this thread's runtime until the guard drops. During thread exit, when the
/// thread-local is already gone, the guard does nothing.
pub(crate) fn enter(handle: Handle) -> EnterGuard {
    let entered = CONTEXT.try_with(|cx| {
        let previous = cx.handle.replace(Some(handle));
        let depth = cx.depth.get() + 1;
        cx.depth.set(depth);
        (previous, depth)
    });
    match entered {
        Ok((previous, depth)) => EnterGuard { previous, depth },
        Err(_) => EnterGuard { previous: None, depth: 0 },
    }
}

/// Restores the runtime that was current before [`enter`].
pub(crate) struct EnterGuard {
    previous: Option<Handle>,
    /// This guard's place in the stack of entered runtimes; 0 for a guard that entered nothing.
    depth: usize,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if self.depth == 0 {
            return;
        }
        let previous = self.previous.take();
        let in_order = CONTEXT.try_with(|cx| {
            if cx.depth.get() != self.depth {
                return false;
            }
            cx.depth.set(self.depth - 1);
            // The replaced handle is dropped after the borrow ends.
            let _entered = cx.handle.replace(previous);
            true
        });
        if in_order == Ok(false) && !std::thread::panicking() {
            panic!(
                "`EnterGuard` values dropped out of order. Guards returned by \
                 `Runtime::enter()` must be dropped in the reverse order as they were acquired."
            );
        }
    }
}

/// Whether this thread is running a runtime's loop (inside `block_on`, or polling a task).
pub(crate) fn is_driving() -> bool {
    HOT.try_with(|cx| cx.driving.get()).unwrap_or(false)
}

/// Marks this thread as running a runtime's loop until the guard drops; `None` if it already
/// is one (a `block_on` inside a task or inside another `block_on`).
pub(crate) fn start_driving() -> Option<DrivingGuard> {
    let started = HOT.try_with(|cx| !cx.driving.replace(true)).unwrap_or(false);
    // `then`, not `then_some`: a guard built and dropped here would clear the flag.
    started.then(|| DrivingGuard(()))
}

/// Returned by [`start_driving`].
pub(crate) struct DrivingGuard(());

impl Drop for DrivingGuard {
    fn drop(&mut self) {
        let _ = HOT.try_with(|cx| {
            cx.driving.set(false);
            cx.task_id.set(None);
            cx.budget.set(UNCONSTRAINED);
        });
    }
}

/// Leaves the "driving" state, and lifts the budget, until the guard drops (which restores
/// both, and the task id): `block_in_place` runs blocking code — which may `block_on` another
/// runtime, whose tasks set and clear the id — in the middle of a task's poll.
pub(crate) fn suspend_driving() -> SuspendGuard {
    let saved = HOT.try_with(|cx| {
        (cx.driving.replace(false), cx.budget.replace(UNCONSTRAINED), cx.task_id.get())
    });
    SuspendGuard(saved.ok())
}

/// Returned by [`suspend_driving`].
pub(crate) struct SuspendGuard(Option<(bool, u32, Option<Id>)>);

impl Drop for SuspendGuard {
    fn drop(&mut self) {
        if let Some((driving, budget, task_id)) = self.0 {
            let _ = HOT.try_with(|cx| {
                cx.driving.set(driving);
                cx.budget.set(budget);
                cx.task_id.set(task_id);
            });
        }
    }
}

/// Starts one poll of a task (or of a `block_on` future, `task_id` `None`): records which task
/// is polled and gives it a fresh budget. Nothing is restored after the poll: the next poll
/// overwrites both, and the loop clears them when it stops driving (`DrivingGuard`), so code
/// outside any loop never sees a budget.
#[inline]
pub(crate) fn start_poll(task_id: Option<Id>) {
    let _ = HOT.try_with(|cx| {
        cx.task_id.set(task_id);
        cx.budget.set(COOP_BUDGET);
    });
}

/// Runs `f`, which polls other tasks inside the current poll (a `LocalSet` running its tasks
/// from within the task that awaits it), and restores the current task's id and budget after
/// it, also when it panics.
pub(crate) fn nested_polls<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<(Option<Id>, u32)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some((task_id, budget)) = self.0 {
                let _ = HOT.try_with(|cx| {
                    cx.task_id.set(task_id);
                    cx.budget.set(budget);
                });
            }
        }
    }
    let _restore = Restore(HOT.try_with(|cx| (cx.task_id.get(), cx.budget.get())).ok());
    f()
}

/// Runs `f` as task `id` (so `task::id()` works in it), restoring the thread's current task
/// after it, also when it panics: a future or output dropped outside the task's poll (abort,
/// a `JoinHandle` dropped after completion) sees its own id, as tokio's do.
pub(crate) fn as_task<R>(id: Id, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Option<Id>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0 {
                let _ = HOT.try_with(|cx| cx.task_id.set(previous));
            }
        }
    }
    let _restore = Restore(HOT.try_with(|cx| cx.task_id.replace(Some(id))).ok());
    f()
}

/// Runs `f` with no budget enforced, restoring the budget after it (also when it panics).
pub(crate) fn without_budget<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(budget) = self.0 {
                let _ = HOT.try_with(|cx| cx.budget.set(budget));
            }
        }
    }
    let _restore = Restore(HOT.try_with(|cx| cx.budget.replace(UNCONSTRAINED)).ok());
    f()
}

/// The id of the task being polled on this thread.
pub(crate) fn current_task_id() -> Option<Id> {
    HOT.try_with(|cx| cx.task_id.get()).ok().flatten()
}

/// Gives back the unit a [`poll_budget`] just spent, for an operation that turned out not to
/// make progress (its resource was not ready after all: tokio's `RestoreOnPending`).
#[inline]
pub(crate) fn refund_budget() {
    let _ = HOT.try_with(|tls| match tls.budget.get() {
        UNCONSTRAINED => {}
        left => tls.budget.set((left + 1).min(COOP_BUDGET)),
    });
}

/// Whether the running task has budget left (always outside a task's poll, and in an
/// `unconstrained` future).
#[inline]
pub(crate) fn has_budget_remaining() -> bool {
    HOT.try_with(|tls| tls.budget.get() != 0).unwrap_or(true)
}

/// Spends one unit of the running task's budget. `Pending` (after arranging to be polled
/// again) once the budget is spent, so a task whose sockets are always ready still yields.
/// Outside a task's poll nothing is enforced.
#[inline]
pub(crate) fn poll_budget(cx: &mut Context<'_>) -> Poll<()> {
    let spent = HOT
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
        crate::scheduler::current_thread::defer(cx.waker());
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}
