//! The blocking pool: threads for closures that block (file I/O, `getaddrinfo`, CPU work), so
//! that they never stall a scheduler's loop. Tokio's `spawn_blocking`.
//!
//! ```text
//!  spawn_blocking(f) ──► Task<BlockingFuture(f), BlockingSchedule>  (the ordinary task cell:
//!                        its JoinHandle, abort, panic capture and id come for free)
//!                    ──► pool queue (a mutex) ──► an idle thread is notified (condvar), or a
//!                        new thread is spawned if fewer than `max_blocking_threads` run
//!  pool thread: loop { pop a task, run it (the closure runs once, its result completes the
//!                      task); queue empty: wait on the condvar up to `thread_keep_alive`,
//!                      then exit }
//! ```
//!
//! `block_in_place` hands a worker's core to a pool thread the same way, as a *mandatory* task
//! (`spawn_mandatory`, tokio's name): it is queued ahead of the others and always gets a thread
//! at once — an idle one, or a new one beyond `max_blocking_threads` (at most one per worker
//! can be running such a task) — and a thread running one does not count against that limit,
//! so the runtime's queues never wait behind blocking closures, and `spawn_blocking` keeps its
//! full share. Once the core leaves that thread again, the thread is an ordinary idle pool
//! thread: repeated `block_in_place` calls reuse threads instead of starting a new one each.
//!
//! A blocking task is never idle while it is alive (queued, then running, then complete), so
//! nothing but `spawn` ever schedules it; `abort()` before it starts makes its run drop the
//! closure instead (the handle reports cancellation), and once it runs it cannot be stopped.
//!
//! Shutdown refuses new tasks (they complete as cancelled), wakes the idle threads, and waits
//! for the threads to drain the queue and exit — forever when the runtime is dropped (as tokio
//! does), up to a deadline with `Runtime::shutdown_timeout`, not at all with
//! `shutdown_background`. Tasks still queued then (no thread left to run them) are cancelled;
//! threads still running are detached and exit when their closure returns.
//!
//! Every pool thread enters the runtime (so `Handle::current()` and `minirt::spawn` work in the
//! closure) and runs the builder's `on_thread_start`/`on_thread_stop` hooks.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::loom::lock;
use crate::scheduler::task::{JoinHandle, Schedule, Task, TaskRef};

thread_local! {
    /// On a pool thread, the pool it belongs to (see `wait_for_threads`).
    static POOL_THREAD: Cell<*const Inner> = const { Cell::new(std::ptr::null()) };
}

/// A hook run on every runtime thread as it starts or stops.
pub(crate) type Callback = Arc<dyn Fn() + Send + Sync>;
/// Makes the name of the next runtime thread.
pub(crate) type ThreadNameFn = Arc<dyn Fn() -> String + Send + Sync>;

/// The settings every thread the runtime spawns (workers and pool threads) is made with, and
/// the runtime's own name (`Builder::name`), which travels with them to every scheduler.
#[derive(Clone)]
pub(crate) struct ThreadConfig {
    pub(crate) runtime_name: Option<Arc<str>>,
    pub(crate) name: ThreadNameFn,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_start: Option<Callback>,
    pub(crate) on_stop: Option<Callback>,
    /// Run by a worker (or a current-thread loop) before it sleeps waiting for work, and
    /// after it wakes (`Builder::on_thread_park`/`on_thread_unpark`).
    pub(crate) on_park: Option<Callback>,
    pub(crate) on_unpark: Option<Callback>,
}

impl ThreadConfig {
    /// A `std::thread::Builder` with this configuration's name and stack size.
    pub(crate) fn builder(&self) -> std::thread::Builder {
        let mut builder = std::thread::Builder::new().name((self.name)());
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        builder
    }

    /// Runs `body` between the start and stop hooks; the stop hook also runs if `body` unwinds.
    pub(crate) fn run_hooked(&self, body: impl FnOnce()) {
        struct Stop(Option<Callback>);
        impl Drop for Stop {
            fn drop(&mut self) {
                if let Some(on_stop) = &self.0 {
                    on_stop();
                }
            }
        }
        if let Some(on_start) = &self.on_start {
            on_start();
        }
        let _stop = Stop(self.on_stop.clone());
        body();
    }
}

impl fmt::Debug for ThreadConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadConfig").field("stack_size", &self.stack_size).finish_non_exhaustive()
    }
}

/// The closure of a blocking task, as a future that runs it on its first poll.
struct BlockingFuture<F>(Option<F>);

// The closure is never pinned: it is moved out and called.
impl<F> Unpin for BlockingFuture<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingFuture<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let func = self.0.take().expect("minirt: a blocking task was polled after it returned");
        // Not cooperative (as in tokio): the closure may drive futures of its own, say with
        // `Handle::block_on`, whose polls would otherwise share this one poll's budget: spent
        // after 128 operations, every later one would yield forever.
        Poll::Ready(crate::polling::without_budget(func))
    }
}

/// The `Schedule` of a blocking task: queueing is the pool's, and there is no owned list
/// (the pool's own shutdown cancels the queued tasks).
#[derive(Clone)]
struct BlockingSchedule {
    pool: Arc<Inner>,
}

impl Schedule for BlockingSchedule {
    const IS_ASYNC: bool = false;

    fn schedule(&self, task: TaskRef) {
        // Only `spawn` queues a blocking task (it is never idle and so never re-scheduled by a
        // wake or an abort); reaching here means a cancelled task: it is run to be dropped.
        self.pool.push(task, None);
    }

    fn release(&self, _owned_key: usize) {}
}

/// The runtime a pool thread enters for its whole life, so that `Handle::current()` and
/// `spawn` work inside a blocking closure. The pool knows a runtime only through this: the
/// scheduler's `Handle` implements it in `context`, which does the entering.
pub(crate) trait EnterRuntime {
    /// What a new pool thread takes along: it runs the thread's body inside the runtime.
    fn for_new_thread(&self) -> ThreadEntry;
}

/// Runs a thread's body (the argument) inside a runtime: see [`EnterRuntime`].
pub(crate) type ThreadEntry = Box<dyn FnOnce(&mut dyn FnMut()) + Send>;

/// The pool, shared by the runtime and every handle to it.
#[derive(Clone)]
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Idle threads wait here for work.
    work: Condvar,
    /// Shutdown waits here for the last thread to exit.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread: ThreadConfig,
}

struct State {
    queue: VecDeque<TaskRef>,
    /// Mandatory tasks (see the module docs): popped before `queue`.
    mandatory: VecDeque<TaskRef>,
    /// Threads running a mandatory task: not counted against `max_threads`.
    num_mandatory: usize,
    /// Threads alive (running a task, or idle).
    num_threads: usize,
    /// Threads waiting on `work`.
    num_idle: usize,
    /// Wake-ups handed to idle threads and not yet taken (a condvar may wake spuriously, so a
    /// thread counts as notified only by taking one of these).
    num_notify: usize,
    is_shutdown: bool,
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration, thread: ThreadConfig) -> Self {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    mandatory: VecDeque::new(),
                    num_mandatory: 0,
                    num_threads: 0,
                    num_idle: 0,
                    num_notify: 0,
                    is_shutdown: false,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                max_threads,
                keep_alive,
                thread,
            }),
        }
    }

    /// Runs `func` on a pool thread; `handle` is the runtime the thread enters.
    pub(crate) fn spawn<F, R>(&self, handle: &dyn EnterRuntime, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let task =
            Task::new(BlockingFuture(Some(func)), BlockingSchedule { pool: self.inner.clone() });
        let join = JoinHandle::new(task.clone());
        self.inner.push(task, Some(handle));
        join
    }

    /// Runs `func` on a pool thread at once, whatever `max_blocking_threads` says (see the
    /// module docs); `handle` is the runtime the thread enters. Fails if the pool is shut down,
    /// or if no thread is idle and a new one cannot be started; `func` is then dropped unrun.
    pub(crate) fn spawn_mandatory<F>(&self, handle: &dyn EnterRuntime, func: F) -> io::Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let task =
            Task::new(BlockingFuture(Some(func)), BlockingSchedule { pool: self.inner.clone() });
        // The result is not wanted: the handle is dropped, the task runs detached.
        drop(JoinHandle::new(task.clone()));
        self.inner.push_mandatory(task, handle)
    }

    /// The threads' configuration (the park hooks are read from here by the loops).
    pub(crate) fn thread_config(&self) -> &ThreadConfig {
        &self.inner.thread
    }

    /// The name given with `Builder::name`, if any.
    pub(crate) fn runtime_name(&self) -> Option<&str> {
        self.inner.thread.runtime_name.as_deref()
    }

    pub(crate) fn num_threads(&self) -> usize {
        lock(&self.inner.state).num_threads
    }

    /// `Builder::max_blocking_threads` (for the console).
    pub(crate) fn max_threads(&self) -> usize {
        self.inner.max_threads
    }

    /// Threads waiting for work.
    pub(crate) fn num_idle_threads(&self) -> usize {
        lock(&self.inner.state).num_idle
    }

    /// Whether any work is queued or running on the pool (one look, under one lock): what
    /// holds a paused clock's auto-advance back. A thread counts as busy from when it is
    /// counted in `num_threads` until it is counted idle.
    pub(crate) fn is_busy(&self) -> bool {
        let state = lock(&self.inner.state);
        !state.queue.is_empty() || !state.mandatory.is_empty() || state.num_threads > state.num_idle
    }

    /// Tasks waiting for a thread.
    pub(crate) fn queue_depth(&self) -> usize {
        lock(&self.inner.state).queue.len()
    }

    /// Closes the pool and waits up to `timeout` (`None`: as long as it takes) for its threads
    /// to run what is queued and exit; then cancels what is still queued. Returns whether every
    /// thread exited.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) -> bool {
        lock(&self.inner.state).is_shutdown = true;
        self.inner.work.notify_all();
        let exited = self.wait_for_threads(timeout);
        let (queued, mandatory) = {
            let mut state = lock(&self.inner.state);
            (std::mem::take(&mut state.queue), std::mem::take(&mut state.mandatory))
        };
        // Outside the lock: cancelling drops the closures, which is foreign code.
        for task in queued.into_iter().chain(mandatory) {
            task.shutdown();
        }
        exited
    }

    fn wait_for_threads(&self, timeout: Option<Duration>) -> bool {
        // A closure on one of this pool's threads that drops the last handle to its runtime
        // shuts the pool down from inside: that thread exits only after the shutdown returns,
        // so it must not wait for itself.
        let own = POOL_THREAD
            .try_with(|pool| std::ptr::eq(pool.get(), Arc::as_ptr(&self.inner)))
            .unwrap_or(false);
        let deadline = timeout.map(|t| Instant::now().checked_add(t));
        let mut state = lock(&self.inner.state);
        while state.num_threads > usize::from(own) {
            state = match deadline {
                None | Some(None) => {
                    self.inner.exited.wait(state).unwrap_or_else(|p| p.into_inner())
                }
                Some(Some(deadline)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    self.inner
                        .exited
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        true
    }
}

impl Inner {
    /// Queues `task` and finds it a thread. `handle` is `None` only for a re-queued cancelled
    /// task, which needs no new thread (one is alive: the task was queued before).
    fn push(self: &Arc<Self>, task: TaskRef, handle: Option<&dyn EnterRuntime>) {
        let mut state = lock(&self.state);
        if state.is_shutdown {
            drop(state);
            // Completes as cancelled: the closure is dropped here, outside the lock.
            task.shutdown();
            return;
        }
        state.queue.push_back(task);
        if state.num_idle > state.num_notify {
            state.num_notify += 1;
            drop(state);
            self.work.notify_one();
            return;
        }
        let Some(handle) = handle else { return };
        if state.num_threads - state.num_mandatory >= self.max_threads {
            // Every thread is busy; the task waits for the first one that finishes.
            return;
        }
        state.num_threads += 1;
        drop(state);
        if let Err(e) = self.start_thread(handle) {
            let mut state = lock(&self.state);
            state.num_threads -= 1;
            let stranded = state.num_threads == 0;
            let task = if stranded { state.queue.pop_back() } else { None };
            drop(state);
            if stranded {
                // No thread will ever run it: tokio panics the same way.
                drop(task);
                panic!("OS can't spawn worker thread: {e}");
            }
        }
    }

    /// Queues a mandatory task and makes sure a thread takes it at once (module docs).
    fn push_mandatory(
        self: &Arc<Self>,
        task: TaskRef,
        handle: &dyn EnterRuntime,
    ) -> io::Result<()> {
        let mut state = lock(&self.state);
        if state.is_shutdown {
            drop(state);
            task.shutdown();
            return Err(io::Error::other("minirt: the blocking pool is shut down"));
        }
        state.mandatory.push_back(task.clone());
        // Every mandatory task queued has a thread on its way: a notified idle one (it pops
        // the mandatory queue first) or a new one.
        if state.num_idle > state.num_notify {
            state.num_notify += 1;
            drop(state);
            self.work.notify_one();
            return Ok(());
        }
        state.num_threads += 1;
        drop(state);
        let Err(e) = self.start_thread(handle) else { return Ok(()) };
        let mut state = lock(&self.state);
        state.num_threads -= 1;
        // Unqueued, unless a thread that finished its task took it meanwhile.
        let ours = state.mandatory.iter().position(|queued| std::sync::Arc::ptr_eq(queued, &task));
        let unqueued = ours.and_then(|i| state.mandatory.remove(i));
        drop(state);
        match unqueued {
            Some(task) => {
                task.shutdown();
                Err(e)
            }
            None => Ok(()),
        }
    }

    fn start_thread(self: &Arc<Self>, handle: &dyn EnterRuntime) -> io::Result<()> {
        let pool = self.clone();
        let enter = handle.for_new_thread();
        self.thread.builder().spawn(move || pool.run(enter)).map(drop)
    }

    /// A pool thread: runs queued tasks, waits up to `keep_alive` for more, then exits.
    fn run(self: Arc<Self>, enter: ThreadEntry) {
        /// Counts the thread out even if it unwinds (a panicking hook), so that shutdown does
        /// not wait for it forever.
        struct Exit<'a>(&'a Inner);
        impl Drop for Exit<'_> {
            fn drop(&mut self) {
                let _ = POOL_THREAD.try_with(|pool| pool.set(std::ptr::null()));
                lock(&self.0.state).num_threads -= 1;
                // Every exit, not only the last: a shutdown waiting on a pool thread of its
                // own waits for all but one.
                self.0.exited.notify_all();
            }
        }
        POOL_THREAD.with(|pool| pool.set(Arc::as_ptr(&self)));
        let _exit = Exit(&self);
        enter(&mut || self.thread.run_hooked(|| self.work_loop()));
    }

    fn work_loop(&self) {
        let mut state = lock(&self.state);
        loop {
            if let Some(task) = state.mandatory.pop_front() {
                state.num_mandatory += 1;
                drop(state);
                task.run(None);
                state = lock(&self.state);
                state.num_mandatory -= 1;
                continue;
            }
            if let Some(task) = state.queue.pop_front() {
                drop(state);
                task.run(None);
                state = lock(&self.state);
                continue;
            }
            if state.is_shutdown {
                return;
            }
            state.num_idle += 1;
            let idle_since = Instant::now();
            loop {
                let (guard, _) = self
                    .work
                    .wait_timeout(state, self.keep_alive.saturating_sub(idle_since.elapsed()))
                    .unwrap_or_else(|p| p.into_inner());
                state = guard;
                if state.num_notify > 0 {
                    state.num_notify -= 1;
                    state.num_idle -= 1;
                    break;
                }
                if state.is_shutdown {
                    // Back to the queue: what is queued still runs; then the thread exits.
                    state.num_idle -= 1;
                    break;
                }
                if idle_since.elapsed() >= self.keep_alive {
                    state.num_idle -= 1;
                    if state.queue.is_empty() && state.mandatory.is_empty() {
                        return;
                    }
                    break;
                }
            }
        }
    }
}
