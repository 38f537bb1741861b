//! The multi-thread scheduler: N worker threads that run tasks, steal from each other, and
//! share one reactor and one timer heap. Tokio's work-stealing design.
//!
//! # Where a task goes
//!
//! ```text
//!  wake/spawn on a worker thread ──► that worker's LIFO slot (the task just woken by the
//!                                    running one runs next: a message's receiver runs while
//!                                    the message is hot in cache); the slot's previous task
//!                                    moves to the back of the local ring (queue.rs)
//!  self-wake during its own poll ──► that worker's deferred list (yield_now and the coop
//!                                    budget must let others run; not stealable)
//!  wake/spawn from anywhere else ──► the injection queue (a mutex), then wake one worker
//!  local ring full               ──► half of it moves to the injection queue in one batch
//! ```
//!
//! A worker (worker.rs) runs: its LIFO slot (at most `MAX_LIFO_POLLS` times in a row, so two
//! tasks waking each other cannot starve the ring), its ring, and every
//! `global_queue_interval` ticks the injection queue first (so remote work is not starved by
//! local work; unless set with the builder, each worker tunes that interval so that about
//! 200 µs of polls pass between two looks, as tokio does: worker.rs, `QueueInterval`); then
//! a batch from the injection queue; then its deferred tasks, one at a time (all of them move
//! to the ring at every maintenance, so they cannot be starved). Out of work, it *searches*:
//! steals half of another worker's ring, or takes a batch from the injection queue. Still
//! nothing: it parks (idle.rs has the wake-up rules).
//!
//! # When a worker wakes another
//!
//! Every wake-up of a parked worker costs a futex or eventfd write here and a context switch
//! there, and a worker woken for a task that its queue's owner would have run next anyway
//! only moves that task away from the tasks it talks to (a channel's sender and receiver on
//! two workers wake each other across threads for every message). So a worker wakes another
//! (one, and only if none is searching: idle.rs) when work is queued that it will not get to
//! at once: a task spawned or woken from outside the workers; a second task queued behind
//! its LIFO slot; more than one task on its ring after the LIFO slot's cap; more than two
//! after a maintenance moved its deferred tasks there (two that take turns run best on one
//! worker); more than one task after a park; and, as the last searcher to find work, to pass
//! the search on. A yielding task (deferred, run one at a time once the worker's queues are
//! empty, never stealable before a maintenance) and a lone task on the ring wake nobody:
//! their worker is awake and runs them next.
//!
//! # `block_in_place`
//!
//! The worker's core (its queues) goes to a thread of the blocking pool while the closure
//! blocks, through a handoff slot per worker (`Shared::hand_off`): an idle pool thread if
//! there is one, so repeated calls reuse threads, and the thread that handed it off takes it
//! back if its poll ends before the pool thread claimed it (worker.rs). The runtime's first
//! worker threads are its own; after a handoff, a worker may run on any pool thread.
//!
//! # One reactor, one timer heap (why)
//!
//! All workers share the reactor and the timers, and whichever worker parks first *takes the
//! driver* (an atomic flag, not a lock: nobody ever waits for it) and sleeps in
//! `epoll_wait` with the earliest deadline as its timeout; the other parked workers sleep on
//! their condvars. Busy workers poll the reactor without blocking every `event_interval`
//! ticks, if the driver is free. This is tokio's shape, chosen over one epoll per worker
//! because: a socket is registered once, wherever it is created, and its task may be stolen
//! by any worker without its events being stranded on a worker that is now busy; timers keep
//! one heap, so "the earliest deadline" is one lookup; and an idle runtime has exactly one
//! thread in `epoll_wait` and the rest asleep, so an event wakes one thread. The cost — a
//! wake from the driver's thread onto a task that another worker then steals — is the same
//! cost tokio pays.
//!
//! A parked worker is woken by `Unparker::unpark`: an eventfd write if it is the one in
//! `epoll_wait`, a condvar signal otherwise. A timer that becomes the earliest from any thread
//! wakes the driver (`Shared::unpark`), so sub-millisecond timers keep their precision.
//!
//! # Shutdown
//!
//! `MultiThread::shutdown` closes the injection queue, sets `is_shutdown` (spawn refuses),
//! wakes every worker, and waits for each worker to hand its core back (a worker only stops
//! between two polls, so after this no task is running except inside `block_in_place`); a
//! core that `block_in_place` handed off and that no pool thread has claimed yet is taken from
//! its handoff slot. Then, on the dropping thread, it cancels every task in the returned local
//! queues and in the owned list — `Runnable::shutdown` claims only idle or queued tasks; a
//! task still running in a `block_in_place` is cancelled by its runner when its poll ends —
//! and shuts down the timers and the reactor, as the current-thread scheduler does.

pub(crate) mod idle;
pub(crate) mod inject;
pub(crate) mod queue;
pub(crate) mod worker;

#[cfg(all(test, loom))]
mod loom_tests;

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use slab::Slab;

use super::blocking::{BlockingPool, ThreadConfig};
use super::Handle;
use crate::reactor::Reactor;
use crate::task::{JoinHandle, Runnable, Schedule, Task, TaskRef};
use crate::time::timers::Timers;

use idle::{Idle, Unparker};
use inject::Inject;
use worker::Core;

/// Shards of the owned-task list (a power of two).
const OWNED_SHARDS: usize = 16;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held (queues of Arcs, counters), so a poisoned lock
    // still guards consistent data.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Settings of the scheduler.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) worker_threads: usize,
    pub(crate) event_interval: u32,
    /// `None`: tuned by each worker (worker.rs, `QueueInterval`).
    pub(crate) global_queue_interval: Option<u32>,
    pub(crate) thread: ThreadConfig,
}

/// What every worker reaches of another: the end of its ring to steal from, and its parker.
struct Remote {
    steal: queue::Steal,
    unpark: Unparker,
}

/// How many worker threads are running, and the condvar a shutdown waits on for them.
#[derive(Default)]
struct LiveThreads {
    count: Mutex<usize>,
    exited: Condvar,
}

/// The state of a multi-thread runtime that every worker, waker and handle shares.
pub(crate) struct Shared {
    reactor: Arc<Reactor>,
    timers: Timers,
    remotes: Box<[Remote]>,
    inject: Inject,
    idle: Idle,
    /// Every task not yet complete, so that shutdown can drop their futures.
    /// Sharded (`OWNED_SHARDS` locks): workers spawning and completing tasks at once rarely
    /// meet on one lock. A task's key is `index * OWNED_SHARDS + shard`.
    owned: Box<[Mutex<Slab<TaskRef>>]>,
    /// Set once by shutdown: `spawn` refuses new tasks.
    is_shutdown: AtomicBool,
    /// Whether some worker holds the driver (polls the reactor and fires timers). Taken with a
    /// compare-exchange and never waited for.
    driver_taken: AtomicBool,
    /// The driver's holder is (about to be) blocked in `epoll_wait`.
    driver_parked: AtomicBool,
    /// Cores handed back by workers that stopped for shutdown. Boxed as everywhere else: a
    /// core moves between threads and the thread-local as one pointer.
    #[allow(clippy::vec_box)]
    shutdown_cores: Mutex<Vec<Box<Core>>>,
    shutdown_cond: Condvar,
    /// Cores handed off by `block_in_place` (one slot per worker index), until the pool thread
    /// started for each takes it — or the thread that handed it off, if its poll ended first
    /// (`worker::run_task`), or shutdown.
    #[allow(clippy::type_complexity)]
    handoff: Box<[Mutex<Option<Box<Core>>>]>,
    /// Threads that run or may still return a core: worker threads (including one that gave
    /// its core away in `block_in_place` and still finishes its task's poll) and the pool
    /// threads' handoff jobs (counted from the moment the core is handed off). Not inside
    /// `Shared`'s own allocation: a thread counts itself out after it dropped its reference to
    /// `Shared` (see `launch`).
    live: Arc<LiveThreads>,
    config: Config,
    blocking: BlockingPool,
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: TaskRef) {
        worker::schedule(self, task);
    }

    fn release(&self, owned_key: usize) {
        let shard = &self.owned[owned_key % OWNED_SHARDS];
        let removed = lock(shard).try_remove(owned_key / OWNED_SHARDS);
        // Dropped outside the lock: it may be the last reference, and drop the task itself.
        drop(removed);
    }

    // No `local_key` / `try_schedule_local` / `try_wake_local` here: tasks hold a
    // `TaskScheduler` (task_scheduler.rs), whose own versions reach the worker's queues.
}

impl Shared {
    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }

    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.owned.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Tasks in worker `index`'s local ring (for the console).
    pub(crate) fn local_queue_depth(&self, index: usize) -> usize {
        self.remotes.get(index).map_or(0, |remote| remote.steal.len())
    }

    pub(crate) fn injection_depth(&self) -> usize {
        self.inject.len()
    }

    /// Wakes the worker blocked in `epoll_wait`, if any, so it recomputes its timeout (a timer
    /// registered from elsewhere became the earliest).
    pub(crate) fn unpark(&self) {
        if self.driver_parked.load(Ordering::SeqCst)
            && self.driver_parked.swap(false, Ordering::SeqCst)
        {
            self.reactor.unpark();
        }
    }

    /// Queues `task` from outside the workers and wakes one, if none is searching.
    fn schedule_remote(&self, task: TaskRef) {
        if let Err(refused) = self.inject.push([task]) {
            // Shut down: the references are dropped outside the lock, here.
            drop(refused);
            return;
        }
        self.notify_parked();
    }

    /// Wakes one parked worker if work may be waiting and nobody searches for it.
    fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.remotes[index].unpark.unpark(|| self.reactor.unpark());
        }
    }

    /// Wakes a worker if any queue holds work (called by the last searcher before it parks).
    fn notify_if_work_pending(&self) {
        let pending = !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    /// Spawns `future` onto this runtime.
    #[track_caller]
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = Task::new(future, super::TaskScheduler::multi_thread(self.clone()));
        let handle = JoinHandle::new(task.clone());
        // The shard: from the task's address, which spreads tasks spawned by one thread.
        let shard = (Arc::as_ptr(&task) as *const () as usize >> 6).wrapping_mul(0x9E37_79B9) >> 8;
        let shard = shard % OWNED_SHARDS;
        let accepted = {
            // Checked under the shard's lock: shutdown sets the flag before it locks the shards
            // to empty them, so a task inserted here is either refused or seen (and cancelled)
            // by shutdown.
            let mut owned = lock(&self.owned[shard]);
            if self.is_shutdown.load(Ordering::SeqCst) {
                false
            } else {
                task.set_owned_key(owned.insert(task.clone()) * OWNED_SHARDS + shard);
                true
            }
        };
        if accepted {
            worker::schedule(self, task);
        } else {
            task.shutdown();
        }
        handle
    }

    /// Starts a worker thread that runs `core`.
    fn launch(self: &Arc<Self>, core: Box<Core>) -> io::Result<()> {
        *lock(&self.live.count) += 1;
        let live = self.live.clone();
        let shared = self.clone();
        let spawned = self.config.thread.builder().spawn(move || {
            let _exit = Exit(live);
            // Declared after `_exit`, so dropped before it, unwinding or not: once shutdown
            // sees this thread counted out, the thread holds no reference to the runtime. (It
            // may have been the last one, whose drop closes the reactor's fds: a runtime's
            // drop must have closed them when it returns.)
            let shared = shared;
            let config = shared.config.thread.clone();
            config.run_hooked(|| worker::run(&shared, core));
        });
        match spawned {
            Ok(_) => Ok(()),
            Err(e) => {
                *lock(&self.live.count) -= 1;
                Err(e)
            }
        }
    }

    /// `block_in_place`: parks `core` in its handoff slot and has a pool thread run it (tokio
    /// hands it to the blocking pool the same way). On an error (the pool cannot start a
    /// thread) the core is handed back.
    fn hand_off(self: &Arc<Self>, core: Box<Core>) -> Result<(), (Box<Core>, io::Error)> {
        let index = core.index();
        // The slot is empty (a worker hands off at most one core at a time); were it not, the
        // old core (its tasks) is dropped after the lock, not under it.
        let previous = lock(&self.handoff[index]).replace(core);
        debug_assert!(previous.is_none(), "a handoff slot held two cores");
        drop(previous);
        // Counted before the job exists: from now on either the job or whoever takes the core
        // back may still return it to shutdown (see `live`).
        *lock(&self.live.count) += 1;
        // Counts the job out when it ends, or when it is dropped unrun.
        let exit = Exit(self.live.clone());
        let shared = self.clone();
        let job = move || {
            let _exit = exit;
            // After `_exit`, as in `launch`.
            let shared = shared;
            let core = lock(&shared.handoff[index]).take();
            // Empty if the thread that handed it off took it back (or shutdown did).
            if let Some(core) = core {
                worker::run(&shared, core);
            }
        };
        match self.blocking.spawn_mandatory(&Handle::MultiThread(self.clone()), job) {
            Ok(()) => Ok(()),
            Err(e) => {
                // The job was dropped unrun (and counted itself out): the core is still here.
                let core = lock(&self.handoff[index]).take();
                Err((core.expect("minirt: a handed-off core vanished without a thread"), e))
            }
        }
    }

    /// The core this thread handed off from worker `index`, if no pool thread took it yet.
    fn take_handed_off(&self, index: usize) -> Option<Box<Core>> {
        lock(&self.handoff[index]).take()
    }

    /// A worker stopped for shutdown and hands its core back.
    fn return_core(&self, core: Box<Core>) {
        lock(&self.shutdown_cores).push(core);
        self.shutdown_cond.notify_all();
    }
}

/// Counts a thread (or a handoff job) out of `LiveThreads` even if it unwinds (a panicking
/// `on_thread_start` hook), so that shutdown does not wait for it forever.
struct Exit(Arc<LiveThreads>);

impl Drop for Exit {
    fn drop(&mut self) {
        *lock(&self.0.count) -= 1;
        self.0.exited.notify_all();
    }
}

/// The multi-thread scheduler, owned by the `Runtime`.
pub(crate) struct MultiThread {
    shared: Arc<Shared>,
}

impl MultiThread {
    pub(crate) fn new(config: Config, blocking: BlockingPool) -> io::Result<MultiThread> {
        let n = config.worker_threads;
        let mut cores = Vec::with_capacity(n);
        let mut remotes = Vec::with_capacity(n);
        for index in 0..n {
            let (steal, local) = queue::local();
            remotes.push(Remote { steal, unpark: Unparker::new() });
            cores.push(Core::new(index, local, config.global_queue_interval));
        }
        let shared = Arc::new(Shared {
            reactor: Arc::new(Reactor::new()?),
            timers: Timers::new(),
            remotes: remotes.into_boxed_slice(),
            inject: Inject::new(),
            idle: Idle::new(n),
            owned: (0..OWNED_SHARDS).map(|_| Mutex::new(Slab::new())).collect(),
            is_shutdown: AtomicBool::new(false),
            driver_taken: AtomicBool::new(false),
            driver_parked: AtomicBool::new(false),
            shutdown_cores: Mutex::new(Vec::new()),
            shutdown_cond: Condvar::new(),
            handoff: (0..n).map(|_| Mutex::new(None)).collect(),
            live: Arc::default(),
            config,
            blocking,
        });
        let scheduler = MultiThread { shared };
        for core in cores {
            // On an error, the workers already started are stopped by the drop of `scheduler`.
            scheduler.shared.launch(core)?;
        }
        Ok(scheduler)
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn handle(&self) -> Handle {
        Handle::MultiThread(self.shared.clone())
    }

    /// Stops the workers, then drops every task (cancelling it) and fails every remaining I/O
    /// registration. Waits up to `timeout` (`None`: as long as it takes) for the worker threads
    /// to exit.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let shared = &self.shared;
        let _enter = crate::context::enter(self.handle());
        let Some(queued) = shared.inject.close() else { return };
        // Before the shards are locked to be emptied (see `Shared::spawn`).
        shared.is_shutdown.store(true, Ordering::SeqCst);
        for remote in shared.remotes.iter() {
            remote.unpark.unpark(|| shared.reactor.unpark());
        }
        // Every worker stops between two polls and hands its core back. Workers that failed
        // to start never had a core to return: their cores were dropped with the error. Called
        // from a task on one of the workers, that worker's core is taken here instead.
        let own = worker::take_own_core(shared);
        let expected = shared.remotes.len() - usize::from(own.is_some());
        // A thread that runs one of this runtime's cores (or gave its core to
        // `block_in_place` and still finishes its poll there) counts among the live threads
        // until this returns: waiting for it would wait for ever.
        let own_thread = usize::from(worker::is_worker_of(shared));
        // Both waits below keep the deadline: a worker inside a poll that blocks for seconds
        // does not hand its core back until the poll ends. Its queued tasks are cancelled
        // from the owned list below all the same; it finds them done when it gets to them.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut cores = {
            let mut returned = lock(&shared.shutdown_cores);
            loop {
                // A core handed off by `block_in_place` whose pool thread has not started yet
                // is taken here (the job then finds its slot empty).
                returned.extend(shared.handoff.iter().filter_map(|slot| lock(slot).take()));
                if returned.len() >= expected || *lock(&shared.live.count) <= own_thread {
                    break;
                }
                let mut wait = Duration::from_millis(10);
                if let Some(deadline) = deadline {
                    match deadline.checked_duration_since(Instant::now()) {
                        Some(left) if !left.is_zero() => wait = wait.min(left),
                        _ => break,
                    }
                }
                returned = shared
                    .shutdown_cond
                    .wait_timeout(returned, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            std::mem::take(&mut *returned)
        };
        cores.extend(own);
        // No worker runs any more: the queued tasks are ours to cancel.
        for task in queued {
            task.shutdown();
        }
        for core in &mut cores {
            core.drain(|task| task.shutdown());
        }
        drop(cores);
        // Dropping a future may spawn (refused now) or complete other tasks.
        loop {
            let mut any = false;
            for shard in shared.owned.iter() {
                let tasks = std::mem::take(&mut *lock(shard));
                any |= !tasks.is_empty();
                for (_, task) in tasks {
                    task.shutdown();
                }
            }
            if !any {
                break;
            }
        }
        shared.timers.shutdown();
        shared.reactor.shutdown();
        // The worker threads exit right after handing their cores back; wait for them so that
        // their `on_thread_stop` hooks have run (bounded by `timeout`).
        let mut live = lock(&shared.live.count);
        // The calling worker's thread ends only after this returns.
        while *live > own_thread {
            live = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        shared
                            .live
                            .exited
                            .wait_timeout(live, left)
                            .unwrap_or_else(|p| p.into_inner())
                            .0
                    }
                    _ => break,
                },
                None => shared.live.exited.wait(live).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }
}

impl Drop for MultiThread {
    fn drop(&mut self) {
        // Normally already done by the runtime (then this returns at once); here for a
        // runtime whose build failed halfway, with some workers started, and for one dropped
        // in an asynchronous context: `Runtime::drop` panicked there, and this runs during
        // that unwinding. Waiting then would block the thread of another runtime's loop
        // (tokio does not wait either), so the workers are told to stop and left to do so.
        let unwinding_in_a_loop = std::thread::panicking() && crate::context::is_driving();
        self.shutdown(if unwinding_in_a_loop { Some(Duration::ZERO) } else { None });
    }
}
