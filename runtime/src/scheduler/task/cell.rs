//! The task cell: a spawned future, its output and its join waker, in one heap allocation.
//!
//! ```text
//!  Arc<Task<F, S>> { state, id, scheduler: S, join_waker, stage: Running(F) | Finished(out) | Consumed }
//!     ├─ one reference in the scheduler's list of owned tasks (until the task completes)
//!     ├─ one on a run queue while it is queued
//!     ├─ one in the JoinHandle
//!     └─ one in every Waker a future cloned
//! ```
//!
//! The future is pinned where it lies in `stage` and never moved: it is polled in place and
//! dropped in place (`drop_stage`), whether it completes, panics, is aborted or is cancelled by
//! shutdown, so a `!Unpin` future that handed out its own address (an intrusive waiter list)
//! is always dropped at that address. The output, which is not pinned, is moved out by the
//! `JoinHandle`, or dropped in place by whichever of the handle and the task owns it last.
//!
//! Foreign code — the future's poll and drop, the output's drop, a waker's clone, wake and
//! drop — runs only while this task holds no lock: the join waker's mutex guards a swap, and
//! the old waker is dropped after the guard.
//!
//! The state word, the join waker's mutex and the stage's cell come from `crate::loom`:
//! std's types in a normal build, loom's under `cfg(loom)`, where `loom_tests.rs` checks the
//! races between a wake, an abort, the JoinHandle and the run that completes the task.

use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};

use super::state::{Idle, Run, State};
use super::{Id, JoinError, Runnable, Schedule};
use crate::loom::{self, AtomicUsize, Mutex, MutexGuard, UnsafeCell};
use crate::slow_poll;
use crate::trace;

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

pub(crate) struct Task<F: Future, S> {
    state: State,
    id: Id,
    scheduler: S,
    /// This task's key in the scheduler's list of owned tasks.
    owned_key: AtomicUsize,
    /// The waker of whoever awaits the `JoinHandle`. A mutex, because it is touched only when
    /// the handle is polled and once at completion, both rare next to polls of the future.
    join_waker: Mutex<Option<Waker>>,
    stage: UnsafeCell<Stage<F>>,
}

// SAFETY: `stage` is the only field that is not already Sync. One party at a time owns it,
// as the state word decides with atomic read-modify-writes (see `state.rs`): the scheduler
// while it holds RUNNING; after COMPLETE (published with AcqRel) the JoinHandle, or the task
// itself if the handle was dropped first. F, its output and S are Send, so handing them from
// one thread to another that way is fine.
unsafe impl<F, S> Sync for Task<F, S>
where
    F: Future + Send,
    F::Output: Send,
    S: Send + Sync,
{
}

impl<F, S> Task<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    /// A new task, already marked NOTIFIED because its creator puts it on a run queue.
    #[track_caller]
    pub(crate) fn new(future: F, scheduler: S) -> Arc<Task<F, S>> {
        let task = Arc::new(Task {
            state: State::new(),
            id: Id::next(),
            scheduler,
            owned_key: AtomicUsize::new(usize::MAX),
            join_waker: Mutex::new(None),
            stage: UnsafeCell::new(Stage::Running(future)),
        });
        if S::IS_ASYNC && slow_poll::enabled() {
            // The spawn call's line: `#[track_caller]` runs from every public spawn to here.
            let cell = Weak::into_raw(Arc::downgrade(&task)).cast::<()>();
            let timed = slow_poll::spawned(
                task.id.as_u64(),
                std::panic::Location::caller(),
                cell,
                &Self::CELL_OPS,
            );
            if timed {
                // Before the caller queues it: nobody else has the task yet.
                task.state.mark_timed_next();
            }
        }
        task
    }

    /// How the hooks' table reaches this cell through the raw pointer of a `Weak` to it.
    const CELL_OPS: slow_poll::CellOps =
        slow_poll::CellOps { clone_weak: Self::clone_weak, release: Self::release_weak };

    /// # Safety
    /// `cell` comes from `Weak::into_raw` of a `Weak<Self>` not yet given up.
    unsafe fn clone_weak(cell: *const ()) -> Weak<dyn slow_poll::Inspect> {
        // SAFETY: as the caller promises; `ManuallyDrop` leaves that `Weak` as it is.
        let weak = ManuallyDrop::new(unsafe { Weak::from_raw(cell.cast::<Self>()) });
        let clone: Weak<Self> = Weak::clone(&weak);
        clone
    }

    /// # Safety
    /// As `clone_weak`, and the `Weak` is given up once, here.
    unsafe fn release_weak(cell: *const ()) {
        // SAFETY: as the caller promises.
        drop(unsafe { Weak::from_raw(cell.cast::<Self>()) });
    }

    pub(crate) fn set_owned_key(&self, key: usize) {
        self.owned_key.store(key, Ordering::Relaxed);
    }

    /// Drops the future of a cancelled task (the caller holds RUNNING) and completes it; a panic
    /// in that drop is the task's error.
    fn cancel(&self) {
        // Timed as a poll while the hooks are on: a future's drop can block its thread too.
        let hooks = if S::IS_ASYNC { slow_poll::Hooks::for_loop(None) } else { None };
        if let Some(hooks) = &hooks {
            slow_poll::poll_started(hooks, self.id.as_u64(), false);
        }
        let guard = slow_poll::PollGuard(hooks.as_ref());
        let error = self.drop_future();
        mem::forget(guard);
        if let Some(hooks) = &hooks {
            slow_poll::poll_ended(hooks);
        }
        self.complete(Err(error));
    }

    /// Drops the future of a cancelled task (the caller holds RUNNING): the task's error.
    fn drop_future(&self) -> JoinError {
        // SAFETY: the caller holds RUNNING.
        let dropped = panic::catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: as above.
            crate::polling::as_task(self.id.as_u64(), || unsafe { drop_stage(&self.stage) })
        }));
        match dropped {
            Ok(()) => JoinError::cancelled(self.id),
            Err(payload) => JoinError::panic(self.id, payload),
        }
    }

    /// Stores the result (the future is already gone), publishes COMPLETE, and tells the
    /// JoinHandle — or, if it was dropped, drops the output here, where no lock is held.
    fn complete(&self, result: Result<F::Output, JoinError>) {
        if trace::enabled() {
            let outcome = match &result {
                Ok(_) => trace::Outcome::Ready,
                Err(e) if e.is_panic() => trace::Outcome::Panicked,
                Err(_) => trace::Outcome::Cancelled,
            };
            trace::task_completed(self.id.as_u64(), outcome);
        }
        if S::IS_ASYNC && slow_poll::enabled() {
            slow_poll::finished(self.id.as_u64());
        }
        // SAFETY: the caller holds RUNNING and the future was dropped, so the stage is
        // `Consumed`, ours, and written without dropping anything.
        self.stage.with_mut(|stage| unsafe { ptr::write(stage, Stage::Finished(result)) });
        let prev = self.state.transition_to_complete();
        if !prev.has_join_interest() {
            // Nobody will take the output. A panic in its drop has nobody to go to.
            // SAFETY: the JoinHandle gave up the output before COMPLETE: it is ours alone.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: as above.
                crate::polling::as_task(self.id.as_u64(), || unsafe { drop_stage(&self.stage) })
            }));
        }
        self.scheduler.release(self.owned_key.load(Ordering::Relaxed));
        if prev.has_join_interest() {
            let waker = self.lock_join_waker().take();
            if let Some(waker) = waker {
                // A join waker that panics must not unwind into whoever completed the task (a
                // worker, with its core lent to its thread-local): the task is complete and
                // its output stored either way. Dropped, as tokio drops it; the panic hook has
                // reported it.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
            }
        }
    }

    fn lock_join_waker(&self) -> MutexGuard<'_, Option<Waker>> {
        // Only swaps happen under this lock, so a poisoned lock still holds a valid Option.
        loom::lock(&self.join_waker)
    }

    /// Marks the task NOTIFIED, and queues it if it was idle.
    fn schedule(self: &Arc<Self>) {
        if self.state.transition_to_notified() {
            self.scheduler.schedule(self.clone());
        }
    }
}

/// Polls the future once. The future is dropped in place when it completes, and while
/// unwinding when its poll panics (so `std::thread::panicking()` is true in its drop, as in
/// tokio).
///
/// # Safety
/// The caller holds RUNNING (it owns the stage) and the stage holds the future.
#[inline]
unsafe fn poll_future<F: Future>(
    stage: &UnsafeCell<Stage<F>>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    struct DropOnUnwind<'a, F: Future>(&'a UnsafeCell<Stage<F>>);
    impl<F: Future> Drop for DropOnUnwind<'_, F> {
        fn drop(&mut self) {
            // SAFETY: only reached while `poll_future`, whose caller owns the stage, unwinds.
            // If the future's drop panics too, the process aborts (as in tokio).
            unsafe { drop_stage(self.0) }
        }
    }
    let guard = DropOnUnwind(stage);
    let polled = stage.with_mut(|stage| {
        // SAFETY: the caller holds RUNNING, so no one else touches the stage.
        let Stage::Running(future) = (unsafe { &mut *stage }) else {
            unreachable!("minirt: a task without a future was polled");
        };
        // SAFETY: the task is heap-allocated behind an Arc and the future is never moved out
        // of the stage: it is dropped in place (`drop_stage`), so pinning it here is sound.
        unsafe { Pin::new_unchecked(future) }.poll(cx)
    });
    mem::forget(guard);
    if polled.is_ready() {
        // SAFETY: we still hold RUNNING.
        unsafe { drop_stage(stage) };
    }
    polled
}

/// Drops whatever the stage holds, where it lies, and leaves `Consumed` behind, also when
/// the drop panics (the panic goes on to the caller).
///
/// # Safety
/// The caller owns the stage (see `state.rs`).
unsafe fn drop_stage<F: Future>(stage: &UnsafeCell<Stage<F>>) {
    struct Refill<F: Future>(*mut Stage<F>);
    impl<F: Future> Drop for Refill<F> {
        fn drop(&mut self) {
            // SAFETY: the old value was just dropped in place (or its drop unwound, which
            // still ends its life): the slot is uninitialised and must not be dropped again.
            unsafe { ptr::write(self.0, Stage::Consumed) }
        }
    }
    stage.with_mut(|stage| {
        let _refill = Refill(stage);
        // SAFETY: the caller owns the stage, and the value is dropped in place: a pinned
        // future is never moved before its drop.
        unsafe { ptr::drop_in_place(stage) }
    })
}

impl<F, S> Wake for Task<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    fn wake(self: Arc<Self>) {
        if self.state.transition_to_notified() {
            if trace::enabled() {
                trace::task_woken(self.id.as_u64());
            }
            if S::IS_ASYNC && slow_poll::enabled() {
                Runnable::woken(&*self);
            }
            // On a thread running this task's scheduler the task goes straight onto its local
            // queue, without a reference to the scheduler taken and dropped for it.
            let key = self.scheduler.local_key();
            if let Err(task) = S::try_wake_local(key, self, |task| task) {
                let scheduler = task.scheduler.clone();
                scheduler.schedule(task);
            }
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

/// With the slow-poll detector or the console on, the cell's drop frees its entry in their
/// table (`slow_poll::dropped`): until then, whoever holds the cell may reach its entry.
impl<F: Future, S> Drop for Task<F, S> {
    fn drop(&mut self) {
        if slow_poll::enabled() {
            // The count goes to the table: the console reads it there once the cell is gone.
            slow_poll::dropped(self.id.as_u64(), self.state.load().polls());
        }
    }
}

/// The live console reads the state word through this (the hooks' table holds a `Weak`).
impl<F, S> slow_poll::Inspect for Task<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    fn inspect(&self) -> slow_poll::TaskState {
        let s = self.state.load();
        slow_poll::TaskState {
            notified: s.is_notified(),
            running: s.is_running(),
            complete: s.is_complete(),
            join_interest: s.has_join_interest(),
            polls: s.polls(),
        }
    }
}

impl<F, S> Runnable for Task<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    /// One run: polls the future once (or drops it, if the task was cancelled). With `hooks`
    /// (the slow-poll detector or the console is on, see `slow_poll::Hooks`; off, all they
    /// cost here is a test before and after the poll), the poll is bracketed by
    /// `slow_poll::poll_started` and `poll_ended`, inlined, so that they reach the id and the
    /// state word's mark without a call. One copy, with and without the hooks: LLVM inlines
    /// the future's poll into its one caller (two copies of this, one with the hooks and one
    /// without, each lost that: callgrind, ping_pong with the hooks off, +4.6 % instructions).
    fn run(self: Arc<Self>, hooks: Option<&slow_poll::Hooks>) {
        let (run, prev) = self.state.run_from();
        match run {
            Run::Poll => {}
            Run::Cancel => {
                self.state.uncount_poll();
                return self.cancel();
            }
            Run::Skip => return,
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
        // Off, all the hooks cost here is a test of `hooks` now and after the poll.
        let hooks = hooks.filter(|_| S::IS_ASYNC);
        if let Some(hooks) = hooks {
            slow_poll::poll_started(hooks, self.id.as_u64(), prev.is_timed_next());
        }
        // No instruction unless the poll unwinds: the end below tests `hooks` again rather
        // than keep a timer across the poll.
        let guard = slow_poll::PollGuard(hooks);
        crate::polling::start_poll(self.id.as_u64());
        if S::DEFERS_SELF_WAKE {
            crate::wake::set_polled(&*waker);
        }
        // SAFETY: we hold RUNNING (transition_to_running said Poll), so the stage is ours and
        // holds the future.
        let polled =
            panic::catch_unwind(AssertUnwindSafe(|| unsafe { poll_future(&self.stage, &mut cx) }));
        if S::DEFERS_SELF_WAKE {
            crate::wake::set_polled(std::ptr::null());
        }
        mem::forget(guard);
        // The hooks end the poll before the state word lets another thread run the task again
        // (a timed poll's end is where the queueing of a task that woke itself starts), in
        // each arm: one check after the poll kept `polled` on the stack across it.
        let ended = || hooks.is_some_and(slow_poll::poll_ended);
        match polled {
            Ok(Poll::Pending) => match self.state.transition_to_idle(ended()) {
                Idle::Wait => {
                    if trace::enabled() {
                        trace::task_pending(self.id.as_u64());
                    }
                }
                Idle::Cancel => self.cancel(),
                // Woken during the poll: the wake left the queueing to us. The common case
                // (`yield_now`, a spent budget) is the loop's own thread, where the task goes
                // straight onto the local queue without touching its scheduler's Arc.
                Idle::Requeue => {
                    let key = self.scheduler.local_key();
                    if let Err(task) = S::try_schedule_local(key, self, |task| task) {
                        let scheduler = task.scheduler.clone();
                        scheduler.schedule(task);
                    }
                }
            },
            Ok(Poll::Ready(output)) => {
                ended();
                self.complete(Ok(output));
            }
            Err(payload) => {
                ended();
                self.complete(Err(JoinError::panic(self.id, payload)));
            }
        }
    }

    fn woken(&self) {
        // A spawn's queueing is not a wake (`spawned` timed it): the task has not been polled.
        let polls = self.state.load().polls();
        if S::IS_ASYNC && polls > 0 && slow_poll::woken(self.id.as_u64(), polls) {
            // Before the caller queues it: the waker that won the state word's transition
            // queues the task, and has not yet.
            self.state.mark_timed_next();
        }
    }

    fn shutdown(self: Arc<Self>) {
        if self.state.transition_to_shutdown() {
            self.cancel();
        }
    }
}

/// What an `AbortHandle` can do, with both the future's and the output's type erased.
pub(crate) trait Abort: Send + Sync {
    fn abort(self: Arc<Self>);
    fn is_finished(&self) -> bool;
    fn id(&self) -> Id;
}

/// The part of a task a `JoinHandle` uses, with the future's type erased.
pub(crate) trait Join<T>: Abort {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    /// The same task as an `AbortHandle` sees it.
    fn as_abort(self: Arc<Self>) -> Arc<dyn Abort>;
    /// The handle is gone: the output (now or at completion) is dropped without it.
    fn drop_join_handle(&self);
}

impl<F, S> Abort for Task<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    fn abort(self: Arc<Self>) {
        // An idle task is queued, so that its own scheduler drops the future on its thread; a
        // queued or running one sees CANCELLED at its next run.
        if self.state.transition_to_cancelled() {
            let scheduler = self.scheduler.clone();
            scheduler.schedule(self);
        }
    }

    fn is_finished(&self) -> bool {
        self.state.load().is_complete()
    }

    fn id(&self) -> Id {
        self.id
    }
}

impl<F, S> Join<F::Output> for Task<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        if !self.state.load().is_complete() {
            let stored = self.lock_join_waker().as_ref().is_some_and(|w| w.will_wake(cx.waker()));
            if stored {
                // `complete` sets COMPLETE before it takes the waker, so it will find this one.
                return Poll::Pending;
            }
            // Cloned and the old one dropped outside the lock: both may run foreign code.
            let waker = cx.waker().clone();
            let mut slot = self.lock_join_waker();
            // Re-checked under the lock `complete` takes after setting COMPLETE, so a completion
            // cannot slip between the check and the store.
            if !self.state.load().is_complete() {
                let old = slot.replace(waker);
                drop(slot);
                drop(old);
                return Poll::Pending;
            }
            drop(slot);
            drop(waker);
        }
        // SAFETY: COMPLETE is set and the JoinHandle holds JOIN_INTEREST, so the output is the
        // handle's; the handle is not Clone and is polled through `&mut`, so this is the only
        // access. The output is not pinned: moving it out is fine.
        let taken =
            self.stage.with_mut(|stage| mem::replace(unsafe { &mut *stage }, Stage::Consumed));
        match taken {
            Stage::Finished(result) => Poll::Ready(result),
            _ => panic!("JoinHandle polled after it returned the task's output"),
        }
    }

    fn as_abort(self: Arc<Self>) -> Arc<dyn Abort> {
        self
    }

    fn drop_join_handle(&self) {
        if self.state.unset_join_interest().is_err() {
            // Complete, and the output is still ours. Its drop may panic: that must not reach
            // whoever dropped the handle.
            // SAFETY: COMPLETE with JOIN_INTEREST: the handle owns the output.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: as above.
                crate::polling::as_task(self.id.as_u64(), || unsafe { drop_stage(&self.stage) })
            }));
        }
        let waker = self.lock_join_waker().take();
        drop(waker);
    }
}

#[cfg(test)]
mod tests {
    //! The whole state machine with a scheduler that only records what it is asked to do.

    use super::*;
    use crate::scheduler::task::{JoinHandle, TaskRef};
    // std's, also in a loom build (these tests run outside any loom model).
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Recorder {
        queue: Arc<Mutex<Vec<TaskRef>>>,
        released: Arc<AtomicUsize>,
    }

    impl Schedule for Recorder {
        fn schedule(&self, task: TaskRef) {
            self.queue.lock().unwrap().push(task);
        }
        fn release(&self, _owned_key: usize) {
            self.released.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Recorder {
        fn queued(&self) -> usize {
            self.queue.lock().unwrap().len()
        }
        fn run_all(&self) {
            let tasks = mem::take(&mut *self.queue.lock().unwrap());
            tasks.into_iter().for_each(|task| task.run(None));
        }
    }

    /// A future that returns `Pending` until `ready` is set, waking itself when `wake_self`.
    struct Gate {
        ready: Arc<AtomicBool>,
        wake_self: bool,
    }

    impl Future for Gate {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.ready.load(Ordering::SeqCst) {
                return Poll::Ready(42);
            }
            if self.wake_self {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    }

    fn spawn(wake_self: bool) -> (Recorder, Arc<AtomicBool>, JoinHandle<u32>, Waker) {
        let recorder = Recorder::default();
        let ready = Arc::new(AtomicBool::new(false));
        let task = Task::new(Gate { ready: ready.clone(), wake_self }, recorder.clone());
        let waker = Waker::from(task.clone());
        let handle = JoinHandle::new(task.clone());
        recorder.schedule(task);
        (recorder, ready, handle, waker)
    }

    fn poll_handle(handle: &mut JoinHandle<u32>) -> Poll<Result<u32, JoinError>> {
        let waker = futures_noop_waker();
        Pin::new(handle).poll(&mut Context::from_waker(&waker))
    }

    fn futures_noop_waker() -> Waker {
        struct Noop;
        impl Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        Waker::from(Arc::new(Noop))
    }

    #[test]
    fn a_wake_while_running_requeues_once() {
        let (recorder, _ready, _handle, _waker) = spawn(true);
        recorder.run_all();
        assert_eq!(recorder.queued(), 1, "woken during its poll: queued again, once");
        // The queued task holds the recorder that holds the queue: break the cycle.
        recorder.queue.lock().unwrap().clear();
    }

    #[test]
    fn a_wake_after_completion_is_ignored() {
        let (recorder, ready, mut handle, waker) = spawn(false);
        ready.store(true, Ordering::SeqCst);
        recorder.run_all();
        waker.wake_by_ref();
        assert_eq!(recorder.queued(), 0);
        assert_eq!(recorder.released.load(Ordering::SeqCst), 1, "released once");
        assert!(matches!(poll_handle(&mut handle), Poll::Ready(Ok(42))));
    }

    #[test]
    fn abort_while_running_cancels_when_the_poll_ends() {
        let recorder = Recorder::default();
        let handle_slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
        let slot = handle_slot.clone();
        let task = Task::new(
            std::future::poll_fn(move |_| {
                if let Some(handle) = slot.lock().unwrap().as_ref() {
                    handle.abort();
                }
                Poll::<()>::Pending
            }),
            recorder.clone(),
        );
        *handle_slot.lock().unwrap() = Some(JoinHandle::new(task.clone()));
        recorder.schedule(task);
        recorder.run_all();
        assert_eq!(recorder.queued(), 0, "aborted while running: cancelled by the runner");
        let mut handle = handle_slot.lock().unwrap().take().unwrap();
        let waker = futures_noop_waker();
        let polled = Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
        assert!(matches!(polled, Poll::Ready(Err(e)) if e.is_cancelled()));
    }

    #[test]
    fn abort_while_queued_never_polls() {
        let (recorder, ready, mut handle, _waker) = spawn(false);
        ready.store(true, Ordering::SeqCst);
        handle.abort();
        assert_eq!(recorder.queued(), 1, "already queued: not queued twice");
        recorder.run_all();
        assert!(matches!(poll_handle(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
    }

    #[test]
    fn the_join_waker_is_replaced_and_woken_at_completion() {
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let (recorder, ready, mut handle, waker) = spawn(false);
        recorder.run_all();
        let (first, second) =
            (Arc::new(Count(AtomicUsize::new(0))), Arc::new(Count(AtomicUsize::new(0))));
        for count in [&first, &second] {
            let waker = Waker::from(count.clone());
            assert!(Pin::new(&mut handle).poll(&mut Context::from_waker(&waker)).is_pending());
        }
        assert_eq!(Arc::strong_count(&first), 1, "the replaced waker was dropped");
        ready.store(true, Ordering::SeqCst);
        waker.wake_by_ref();
        recorder.run_all();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1, "the latest join waker is woken");
    }

    #[test]
    #[should_panic(expected = "JoinHandle polled after it returned")]
    fn the_output_is_taken_once() {
        let (recorder, ready, mut handle, _waker) = spawn(false);
        ready.store(true, Ordering::SeqCst);
        recorder.run_all();
        assert!(poll_handle(&mut handle).is_ready());
        let _ = poll_handle(&mut handle);
    }

    #[test]
    fn shutdown_of_a_queued_task_cancels_it_and_a_later_run_skips_it() {
        let (recorder, _ready, mut handle, _waker) = spawn(false);
        let queued = mem::take(&mut *recorder.queue.lock().unwrap());
        for task in &queued {
            task.clone().shutdown();
        }
        queued.into_iter().for_each(|task| task.run(None));
        assert!(matches!(poll_handle(&mut handle), Poll::Ready(Err(e)) if e.is_cancelled()));
        assert_eq!(recorder.released.load(Ordering::SeqCst), 1);
    }
}
