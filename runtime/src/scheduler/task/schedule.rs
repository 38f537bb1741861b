//! What a task and its scheduler know of each other: [`Runnable`] (a task as a scheduler runs
//! it, whatever its future's type) and [`Schedule`] (what a task asks of its scheduler).

use std::sync::Arc;

use super::Id;

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
    /// `run`, timed by the slow-poll detector and the console (the scheduler calls this
    /// instead of `run` while they are on): a method of its own, so that the hooks reach the
    /// task's id without a virtual call and the future's poll without a second one, while
    /// `run` stays as small as it is with the hooks off. `queued`: see
    /// `scheduler::run_counted`.
    fn run_timed(self: Arc<Self>, queued: fn() -> Option<(usize, usize)>) {
        // Ends the timing when `run` returns, and if it unwinds (it catches the future's
        // panics; this is for a bug of minirt's).
        let _timer = crate::slow_poll::PollTimer::start(self.id().as_u64(), queued);
        self.run();
    }
}

/// What a task needs from its scheduler (tokio's `Schedule`, async-task's schedule function).
pub(crate) trait Schedule: Clone + Send + Sync + 'static {
    /// Whether a poll of these tasks is an async task's poll, which the slow-poll detector
    /// times. Not the blocking pool's: its one "poll" runs the whole blocking closure.
    const IS_ASYNC: bool = true;

    /// Whether [`Schedule::try_schedule_local`] queues a task that woke itself during its poll
    /// behind the loop's next look at the reactor, so that `wake::defer` can wake the polled
    /// task by reference at once instead of holding a clone of its waker (`wake::set_polled`).
    const DEFERS_SELF_WAKE: bool = false;

    /// Queues a task that must run: it was woken, spawned, or aborted. Callable from any thread.
    fn schedule(&self, task: TaskRef);

    /// Forgets a completed task (removes it from the scheduler's list of owned tasks).
    fn release(&self, owned_key: usize);

    /// An identity for [`Schedule::try_schedule_local`]: compared, never dereferenced.
    fn local_key(&self) -> *const () {
        std::ptr::null()
    }

    /// Queues `task`, woken during its own poll, straight onto this thread's local queues if
    /// this thread runs the loop of the scheduler whose `local_key` is `key` (both flavors put
    /// it behind their next look at the reactor); gives it back otherwise. Generic (with `erase` to make a `TaskRef` of it) so the caller has its task
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
