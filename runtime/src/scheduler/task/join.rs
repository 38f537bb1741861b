//! [`JoinHandle`]: an owned permission to await a spawned task's output.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::cell::{Abort, Join, Task};
use super::{Id, JoinError, Schedule};

/// An owned permission to await a spawned task's output. Tokio's `JoinHandle`.
///
/// Awaiting it returns `Ok(output)`, or a [`JoinError`] if the task panicked or was aborted.
/// Dropping it *detaches* the task: it keeps running, and its output is dropped when it ends
/// (on the runtime's thread; a panic in that drop is caught there).
pub struct JoinHandle<T> {
    task: Arc<dyn Join<T>>,
    _output: PhantomData<T>,
}

impl<T: Send + 'static> JoinHandle<T> {
    pub(crate) fn new<F, S>(task: Arc<Task<F, S>>) -> JoinHandle<T>
    where
        F: Future<Output = T> + Send + 'static,
        S: Schedule,
    {
        JoinHandle { task, _output: PhantomData }
    }
}

impl<T> JoinHandle<T> {
    /// A handle over any task that can be joined (a local task's adapter, say).
    pub(crate) fn from_join(task: Arc<dyn Join<T>>) -> JoinHandle<T> {
        JoinHandle { task, _output: PhantomData }
    }

    /// Cancels the task: its future is dropped at the next scheduling point, and awaiting this
    /// handle then returns a `JoinError` for which `is_cancelled()` is true. A task that already
    /// finished keeps its output.
    pub fn abort(&self) {
        self.task.clone().abort();
    }

    /// True once the task has finished: returned, panicked, or was cancelled.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.task.id()
    }

    /// A handle that can abort the task (and ask whether it finished) without owning its
    /// output; any number of them may exist beside the `JoinHandle`.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle { task: self.task.clone().as_abort() }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Awaiting a handle counts against the budget, so a loop over finished handles yields.
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        self.task.poll_join(cx)
    }
}

// A task's shared state stays consistent across panics (a panic in the task is caught and
// becomes its JoinError), so the handles may be held across `catch_unwind`, as tokio's.
impl<T> std::panic::UnwindSafe for JoinHandle<T> {}
impl<T> std::panic::RefUnwindSafe for JoinHandle<T> {}
impl std::panic::UnwindSafe for AbortHandle {}
impl std::panic::RefUnwindSafe for AbortHandle {}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.task.drop_join_handle();
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("is_finished", &self.is_finished())
            .finish()
    }
}

/// A handle that aborts a task without owning its output. Tokio's `AbortHandle`: from
/// [`JoinHandle::abort_handle`] or [`JoinSet::spawn`](crate::task::JoinSet::spawn). Dropping it does
/// nothing to the task.
#[derive(Clone)]
pub struct AbortHandle {
    task: Arc<dyn Abort>,
}

impl AbortHandle {
    /// Cancels the task, as [`JoinHandle::abort`] does.
    pub fn abort(&self) {
        self.task.clone().abort();
    }

    /// True once the task has finished: returned, panicked, or was cancelled.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.task.id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("is_finished", &self.is_finished())
            .finish()
    }
}
