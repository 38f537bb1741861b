//! [`LocalSet`] and [`spawn_local`](crate::task::spawn_local): tasks whose futures are not `Send`, run on one thread.
//!
//! ```text
//!  spawn_local(f) ──► Task<LocalFuture<f>, LocalScheduler> (the usual task cell; the wrapper
//!                     asserts Send, which the rules below make true), owned by the set
//!  a wake, from any thread ──► LocalScheduler::schedule: push on the set's queue, wake the task
//!                              that is running the set (its waker is kept in the set)
//!  run_until(fut) / awaiting the set, polled by an ordinary task (or block_on):
//!       poll fut; run up to BATCH queued local tasks, right here, inside this poll;
//!       more left? wake ourselves, so the runtime's other tasks get a turn first
//!  dropping the set ──► cancels every local task, in place, on this thread
//! ```
//!
//! Why asserting `Send` is sound: a local future is polled only by `LocalSet::tick` and dropped
//! only by a run or the set's drop, and the set is neither `Send` nor `Sync`, so both happen on
//! the thread that created the set. Other threads only ever touch the task's state word, the
//! queue and the handles; a `JoinHandle` of a non-`Send` output is itself not `Send`, so that
//! output is taken or dropped on the owning thread too.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use slab::Slab;

use super::task::{Abort, Id, Join, JoinError, JoinHandle, Runnable, Schedule, Task, TaskRef};
use crate::loom::lock;

/// Local tasks run per poll of the set, before it yields to the runtime's other tasks.
const BATCH: usize = 61;

thread_local! {
    /// The set this thread is running or has entered, for `spawn_local`.
    static CURRENT: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

/// Whether this thread is running a `LocalSet` (or has entered one): `block_in_place` refuses
/// to block there off a worker thread, as in tokio (the set's other tasks would stall).
pub(crate) fn in_local_set() -> bool {
    CURRENT.try_with(|current| current.borrow().is_some()).unwrap_or(false)
}

/// The set this thread is running or has entered, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    CURRENT.try_with(|current| current.borrow().clone()).ok().flatten()
}

/// A set of tasks that run on the current thread, so their futures need not be `Send`.
/// Tokio's `LocalSet`.
///
/// Its tasks run while the set is driven: by [`run_until`](LocalSet::run_until),
/// [`block_on`](LocalSet::block_on), or by awaiting the set itself (which completes when all of
/// them have). Dropping the set cancels the tasks left in it.
pub struct LocalSet {
    shared: Arc<Shared>,
    /// Neither `Send` nor `Sync`: the tasks' futures stay on this thread.
    _not_send: PhantomData<*const ()>,
}

pub(crate) struct Shared {
    queue: Mutex<Queue>,
    /// Every local task not yet complete, so that dropping the set can cancel them.
    owned: Mutex<Slab<TaskRef>>,
    /// The waker of the task driving the set, woken when a local task is scheduled.
    waker: Mutex<Option<Waker>>,
}

struct Queue {
    tasks: VecDeque<TaskRef>,
    /// Set when the set is dropped: a task scheduled afterwards is dropped, not queued.
    closed: bool,
}

/// How a local task reaches its set.
#[derive(Clone)]
pub(crate) struct LocalScheduler(Arc<Shared>);

impl Schedule for LocalScheduler {
    fn schedule(&self, task: TaskRef) {
        if crate::slow_poll::enabled() {
            task.woken();
        }
        let mut queue = lock(&self.0.queue);
        if queue.closed {
            drop(queue);
            drop(task); // outside the lock: it may be the last reference
            return;
        }
        queue.tasks.push_back(task);
        drop(queue);
        let waker = lock(&self.0.waker).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn release(&self, owned_key: usize) {
        let removed = lock(&self.0.owned).try_remove(owned_key);
        drop(removed);
    }
}

/// A non-`Send` future made `Send` for the task cell; see the module docs for why that holds.
pub(crate) struct LocalFuture<F>(F);

/// A non-`Send` output, likewise.
pub(crate) struct LocalOutput<T>(T);

// SAFETY: a LocalFuture is polled and dropped only on the thread of its LocalSet (module docs).
unsafe impl<F> Send for LocalFuture<F> {}
// SAFETY: a LocalOutput is dropped by the completing task (on the set's thread) or taken by the
// JoinHandle, which is `Send` only if the output itself is.
unsafe impl<T> Send for LocalOutput<T> {}

impl<F: Future> Future for LocalFuture<F> {
    type Output = LocalOutput<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field: it is never moved out.
        let future = unsafe { self.map_unchecked_mut(|local| &mut local.0) };
        future.poll(cx).map(LocalOutput)
    }
}

type LocalTask<F> = Task<LocalFuture<F>, LocalScheduler>;

/// What a local task's `JoinHandle` holds: the task, with the output unwrapped.
struct LocalJoin<F: Future + 'static>(Arc<LocalTask<F>>)
where
    F::Output: 'static;

impl<F: Future + 'static> Abort for LocalJoin<F> {
    fn abort(self: Arc<Self>) {
        self.0.clone().abort();
    }
    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
    fn id(&self) -> Id {
        Abort::id(&*self.0)
    }
}

impl<F: Future + 'static> Join<F::Output> for LocalJoin<F> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        self.0.poll_join(cx).map(|result| result.map(|LocalOutput(output)| output))
    }
    fn as_abort(self: Arc<Self>) -> Arc<dyn Abort> {
        self.0.clone()
    }
    fn drop_join_handle(&self) {
        self.0.drop_join_handle();
    }
}

#[track_caller]
pub(crate) fn spawn_on<F>(shared: &Arc<Shared>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let scheduler = LocalScheduler(shared.clone());
    let task = Task::new(LocalFuture(future), scheduler.clone());
    let handle = JoinHandle::from_join(Arc::new(LocalJoin(task.clone())));
    let accepted = {
        let mut owned = lock(&shared.owned);
        let closed = lock(&shared.queue).closed;
        if !closed {
            task.set_owned_key(owned.insert(task.clone()));
        }
        !closed
    };
    if accepted {
        scheduler.schedule(task);
    } else {
        task.shutdown();
    }
    handle
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> LocalSet {
        LocalSet {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue { tasks: VecDeque::new(), closed: false }),
                owned: Mutex::new(Slab::new()),
                waker: Mutex::new(None),
            }),
            _not_send: PhantomData,
        }
    }

    /// Spawns a `!Send` future on this set. It runs when the set is next driven.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_on(&self.shared, future)
    }

    /// The state `spawn_local` reaches this set through (for `LocalRuntime`).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Makes this the set `spawn_local` spawns on, until the guard drops.
    pub fn enter(&self) -> LocalEnterGuard {
        let previous = CURRENT.try_with(|c| c.replace(Some(self.shared.clone()))).ok().flatten();
        LocalEnterGuard { previous, _not_send: PhantomData }
    }

    /// Runs `future` to completion, running this set's tasks while it waits.
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        RunUntil { set: self, future }.await
    }

    /// Runs up to `BATCH` queued tasks; true if some are still queued after.
    fn tick(&self) -> bool {
        crate::polling::nested_polls(|| {
            // `None` while the hooks are off, and when the set runs inside a task's poll (that
            // poll holds the thread); `Some` when it runs in `block_on`'s own future.
            let hooks = crate::slow_poll::Hooks::for_loop(None);
            for _ in 0..BATCH {
                let task = lock(&self.shared.queue).tasks.pop_front();
                match task {
                    Some(task) => super::run(task, hooks.as_ref()),
                    None => return false,
                }
            }
            !lock(&self.shared.queue).tasks.is_empty()
        })
    }

    /// Keeps `cx`'s waker, to be woken when a local task is scheduled (cloned, and the old one
    /// dropped, outside the lock).
    fn register(&self, cx: &Context<'_>) {
        let stored = lock(&self.shared.waker).as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if !stored {
            let waker = cx.waker().clone();
            let old = lock(&self.shared.waker).replace(waker);
            drop(old);
        }
    }

    /// One turn of driving the set: `Ready` once it has no task left.
    fn poll_tasks(&self, cx: &mut Context<'_>) -> Poll<()> {
        let _enter = self.enter();
        self.register(cx);
        if self.tick() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if lock(&self.shared.owned).is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// The future of [`LocalSet::run_until`].
struct RunUntil<'a, F> {
    set: &'a LocalSet,
    future: F,
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        let _enter = this.set.enter();
        this.set.register(cx);
        // SAFETY: as above; `this` is pinned, so is its field.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(output);
        }
        if this.set.tick() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Future for LocalSet {
    type Output = ();

    /// Runs the set's tasks until none is left.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_tasks(cx)
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        let _enter = self.enter();
        let queued = {
            let mut queue = lock(&self.shared.queue);
            queue.closed = true;
            std::mem::take(&mut queue.tasks)
        };
        drop(queued);
        // Cancelling a future may spawn (refused now) or finish other tasks: loop until none.
        loop {
            let tasks = std::mem::take(&mut *lock(&self.shared.owned));
            if tasks.is_empty() {
                break;
            }
            for (_, task) in tasks {
                task.shutdown();
            }
        }
        let waker = lock(&self.shared.waker).take();
        drop(waker);
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet").finish_non_exhaustive()
    }
}

/// Returned by [`LocalSet::enter`]; restores the previous set when dropped.
pub struct LocalEnterGuard {
    previous: Option<Arc<Shared>>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for LocalEnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| c.replace(previous));
    }
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish_non_exhaustive()
    }
}
