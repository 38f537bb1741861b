//! Tasks: a spawned future, its output and its join waker, in one heap allocation.
//!
//! # Lifecycle
//!
//! ```text
//!  spawn(future) ──► Arc<Task<F>> {state: NOTIFIED, stage: Running(future)}
//!                    ├─ one reference in the runtime's list of owned tasks (for shutdown)
//!                    ├─ one on the run queue
//!                    └─ one in the JoinHandle
//!
//!  scheduler pops it ──► run(): NOTIFIED → RUNNING, poll the future with a Waker that is
//!                        this same Arc, borrowed for the poll (std's `Wake` trait: no
//!                        hand-written vtable)
//!      Pending ──► RUNNING → idle; if woken meanwhile (NOTIFIED), back on the queue
//!      Ready   ──► stage = Finished(output), state COMPLETE, wake the JoinHandle's waker
//!      panic   ──► caught; stage = Finished(Err(JoinError::panic)), same as Ready
//!
//!  waker.wake() ──► set NOTIFIED; only the call that set it on an idle task pushes the task on
//!                   a run queue, so a task is queued at most once and polled by one thread
//!  abort()      ──► set CANCELLED and wake; the next run drops the future instead of polling
//! ```
//!
//! The `state` word is what makes the unsynchronised `stage` cell safe: only the holder of the
//! `RUNNING` bit touches the future, and once `COMPLETE` is set only the `JoinHandle` touches
//! the output.

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::scheduler::{self, Shared};

/// The task is on a run queue (or about to be): a wake now has nothing to do.
const NOTIFIED: usize = 1;
/// The scheduler is polling (or dropping) the future: it has the `stage` to itself.
const RUNNING: usize = 1 << 1;
/// The future is gone and `stage` holds the output, which belongs to the `JoinHandle`.
const COMPLETE: usize = 1 << 2;
/// `abort()` was called: the next run drops the future instead of polling it.
const CANCELLED: usize = 1 << 3;

/// A task as the scheduler sees it, whatever its future's type.
pub(crate) type TaskRef = Arc<dyn Runnable>;

/// What the scheduler can do with a task.
pub(crate) trait Runnable: Send + Sync {
    /// Polls the future once. Called only by the scheduler that owns the task.
    fn run(self: Arc<Self>);
    /// Drops the future without polling it and completes the task as cancelled; used when the
    /// runtime shuts down.
    fn shutdown(self: Arc<Self>);
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

pub(crate) struct Task<F: Future> {
    state: AtomicUsize,
    scheduler: Arc<Shared>,
    /// This task's key in the scheduler's list of owned tasks.
    owned_key: AtomicUsize,
    /// The waker of whoever awaits the `JoinHandle`. A mutex, because it is touched only when
    /// the handle is polled and once at completion, both rare next to polls of the future.
    join_waker: Mutex<Option<Waker>>,
    stage: UnsafeCell<Stage<F>>,
}

// SAFETY: `stage` is the only field that is not already Sync. It is accessed by one thread at a
// time: the scheduler while it holds the RUNNING bit (acquired by an atomic read-modify-write),
// and after COMPLETE (published with Release, observed with Acquire) only by the JoinHandle,
// which is not Clone and is polled through `&mut`. F and its output are Send, so moving them
// between those threads is fine.
unsafe impl<F> Sync for Task<F>
where
    F: Future + Send,
    F::Output: Send,
{
}

impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// A new task, already marked NOTIFIED because its creator puts it on a run queue.
    pub(crate) fn new(future: F, scheduler: Arc<Shared>) -> Arc<Task<F>> {
        Arc::new(Task {
            state: AtomicUsize::new(NOTIFIED),
            scheduler,
            owned_key: AtomicUsize::new(usize::MAX),
            join_waker: Mutex::new(None),
            stage: UnsafeCell::new(Stage::Running(future)),
        })
    }

    pub(crate) fn set_owned_key(&self, key: usize) {
        self.owned_key.store(key, Ordering::Relaxed);
    }

    /// Marks the task NOTIFIED, and queues it if it was idle.
    fn schedule(self: &Arc<Self>) {
        let prev = self.state.fetch_or(NOTIFIED, Ordering::AcqRel);
        if prev & (NOTIFIED | RUNNING | COMPLETE) == 0 {
            self.scheduler.schedule(self.clone());
        }
    }

    /// Replaces the future (or whatever the stage holds) with the task's result, dropping the
    /// future first. A panic while dropping is caught: it must not escape into the scheduler.
    ///
    /// Callers hold the RUNNING bit.
    fn finish(&self, result: Result<F::Output, JoinError>) {
        // SAFETY: the caller holds RUNNING, so no other thread touches `stage` (see `Sync`).
        let stage = unsafe { &mut *self.stage.get() };
        let old = mem::replace(stage, Stage::Consumed);
        let dropped = panic::catch_unwind(AssertUnwindSafe(move || drop(old)));
        *stage = Stage::Finished(match (result, dropped) {
            (Ok(_), Err(payload)) => Err(JoinError::panic(payload)),
            (result, _) => result,
        });
        self.complete();
    }

    /// Publishes the result and tells the JoinHandle.
    fn complete(&self) {
        // Release: the stage written by `finish` is visible to whoever sees COMPLETE.
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| Some((s | COMPLETE) & !RUNNING))
            .ok();
        self.scheduler.release(self.owned_key.load(Ordering::Relaxed));
        let waker = self.lock_join_waker().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn lock_join_waker(&self) -> std::sync::MutexGuard<'_, Option<Waker>> {
        // Wakers cannot leave the lock in an inconsistent state; ignore poisoning.
        self.join_waker.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<F> Wake for Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

impl<F> Runnable for Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn run(self: Arc<Self>) {
        // Take the RUNNING bit; a task completed (say by shutdown) while queued is skipped.
        let acquired = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            (s & COMPLETE == 0).then_some((s & !NOTIFIED) | RUNNING)
        });
        let state = match acquired {
            Ok(prev) => prev,
            Err(_) => return,
        };
        if state & CANCELLED != 0 {
            self.finish(Err(JoinError::cancelled()));
            return;
        }

        // The waker borrows this run's reference to the task instead of taking one of its own,
        // which would cost an atomic increment and decrement per poll. A future that keeps
        // the waker clones it, and the clone does take a reference.
        // SAFETY: `Arc::as_ptr` of a live `Arc<Self>` is a pointer `Arc::from_raw` accepts.
        // The `Arc` rebuilt from it owns no count of its own, so it must never be dropped:
        // `ManuallyDrop` keeps it (inside the waker) from ever being dropped, and `self` keeps
        // the task alive for as long as the waker is used, which is this poll. Nothing can
        // take the waker by value: the future only sees `&Waker` through the `Context`.
        let waker = ManuallyDrop::new(Waker::from(unsafe { Arc::from_raw(Arc::as_ptr(&self)) }));
        let mut cx = Context::from_waker(&waker);
        let polled = panic::catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: we hold RUNNING, so we have the stage to ourselves; the task is heap
            // allocated behind an Arc and the future is never moved out while Running, so
            // pinning it in place is sound.
            let stage = unsafe { &mut *self.stage.get() };
            match stage {
                Stage::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(&mut cx),
                _ => unreachable!("a task without a future was scheduled"),
            }
        }));
        match polled {
            Ok(Poll::Pending) => {
                let prev = self.state.fetch_and(!RUNNING, Ordering::AcqRel);
                // A wake during the poll saw RUNNING and left the queueing to us.
                if prev & NOTIFIED != 0 {
                    // The common case (`yield_now`, a spent budget) is the loop's own thread:
                    // no reference to the runtime needs taking for it.
                    let shared = Arc::as_ptr(&self.scheduler);
                    if let Err(task) = scheduler::schedule_local(shared, self, |task| task) {
                        let scheduler = task.scheduler.clone();
                        scheduler.schedule(task);
                    }
                }
            }
            Ok(Poll::Ready(output)) => self.finish(Ok(output)),
            Err(payload) => self.finish(Err(JoinError::panic(payload))),
        }
    }

    fn shutdown(self: Arc<Self>) {
        let acquired = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            (s & (COMPLETE | RUNNING) == 0).then_some(s | RUNNING)
        });
        if acquired.is_ok() {
            self.finish(Err(JoinError::cancelled()));
        }
    }
}

/// The part of a task a `JoinHandle` uses, with the future's type erased.
trait Join<T>: Send + Sync {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    fn abort(self: Arc<Self>);
    fn is_finished(&self) -> bool;
}

impl<F> Join<F::Output> for Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        // Check and store under the lock `complete` takes after setting COMPLETE, so a
        // completion cannot slip between the check and the store.
        let mut join_waker = self.lock_join_waker();
        if self.state.load(Ordering::Acquire) & COMPLETE == 0 {
            match &*join_waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *join_waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        drop(join_waker);
        // SAFETY: COMPLETE is set (Acquire pairs with its Release), so the scheduler is done
        // with `stage`; the JoinHandle is unique and polled through `&mut`, so this is the only
        // access.
        let stage = unsafe { &mut *self.stage.get() };
        match mem::replace(stage, Stage::Consumed) {
            Stage::Finished(result) => Poll::Ready(result),
            _ => panic!("JoinHandle polled after it returned the task's output"),
        }
    }

    fn abort(self: Arc<Self>) {
        let prev = self.state.fetch_or(CANCELLED | NOTIFIED, Ordering::AcqRel);
        // An idle task is queued, so that its own scheduler drops the future on its thread; a
        // queued or running one sees CANCELLED at its next run.
        if prev & (NOTIFIED | RUNNING | COMPLETE) == 0 {
            self.scheduler.schedule(self.clone());
        }
    }

    fn is_finished(&self) -> bool {
        self.state.load(Ordering::Acquire) & COMPLETE != 0
    }
}

/// An owned permission to await a spawned task's output. Tokio's `JoinHandle`.
///
/// Awaiting it returns `Ok(output)`, or a [`JoinError`] if the task panicked or was aborted.
/// Dropping it *detaches* the task: it keeps running, and its output is dropped when it ends.
pub struct JoinHandle<T> {
    task: Arc<dyn Join<T>>,
    _output: PhantomData<T>,
}

impl<T: Send + 'static> JoinHandle<T> {
    pub(crate) fn new<F>(task: Arc<Task<F>>) -> JoinHandle<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        JoinHandle { task, _output: PhantomData }
    }
}

impl<T> JoinHandle<T> {
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
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.task.poll_join(cx)
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("is_finished", &self.is_finished()).finish()
    }
}

/// Why a task did not return its output. Tokio's `JoinError`.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    // A Mutex only to make the error Sync, as `io::Error` and `Box<dyn Error + Sync>` want.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    fn cancelled() -> JoinError {
        JoinError { repr: Repr::Cancelled }
    }

    fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError { repr: Repr::Panic(Mutex::new(payload)) }
    }

    /// The task was aborted, or its runtime shut down before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to resume it with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is not a panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().unwrap_or_else(|_| panic!("`JoinError` reason is not a panic"))
    }

    /// The panic payload, or the error itself if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload.into_inner().unwrap_or_else(|p| p.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(payload) = &self.repr else { return None };
        let payload = payload.lock().unwrap_or_else(|p| p.into_inner());
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::Panic(_), Some(message)) => write!(f, "task panicked with message {message:?}"),
            (Repr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(_) => write!(f, "JoinError::Panic({:?})", self.panic_message()),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}

/// Spawns a task on the current runtime. See [`crate::spawn`].
pub use crate::runtime::spawn;

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
            // Back of the queue: everything already queued runs first.
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    YieldNow { yielded: false }.await
}

mod task_local;
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};
