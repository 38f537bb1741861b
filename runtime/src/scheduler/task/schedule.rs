//! What a task and its scheduler know of each other: [`Runnable`] (a task as a scheduler runs
//! it, whatever its future's type) and [`Schedule`] (what a task asks of its scheduler).

use std::sync::Arc;

/// A task as a scheduler sees it, whatever its future's type.
pub(crate) type TaskRef = Arc<dyn Runnable>;

/// What a scheduler can do with a task.
pub(crate) trait Runnable: Send + Sync {
    /// Polls the future once (or drops it, if the task was cancelled), hooked by the
    /// slow-poll detector and the console while they are on (`hooks`: the loop's, see
    /// `slow_poll::Hooks`). Called only by the scheduler that popped the task from its queue.
    /// `None` for a poll nested in another (a `LocalSet`'s) and for the blocking pool's tasks.
    fn run(self: Arc<Self>, hooks: Option<&crate::slow_poll::Hooks>);
    /// Cancels the task for runtime shutdown: drops its future now if no one is polling it.
    fn shutdown(self: Arc<Self>);
    /// The hooks are on, and the caller queues this task because a wake found it idle:
    /// counted for the console (`slow_poll::woken`).
    fn woken(&self);
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
