//! [`Shared`]: the state of a multi-thread runtime that every worker, waker and handle
//! reaches (the reactor, the timers, the injection queue, the owned tasks, the parked
//! workers), and [`Core`], what only one worker touches (its ring, LIFO slot and deferred
//! tasks); the two refer to each other, so they live together. The loop that runs a core is
//! `worker.rs`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Waker;

use slab::Slab;

use super::idle::{Idle, Unparker};
use super::inject::Inject;
use super::queue::{self, CAPACITY};
use super::queue_interval::QueueInterval;
use crate::loom::lock;
use crate::reactor::Reactor;
use crate::scheduler::blocking::{BlockingPool, EnterRuntime, ThreadConfig, ThreadEntry};
use crate::scheduler::task::TaskRef;
use crate::scheduler::worker_metrics::WorkerMetrics;
use crate::timer::Timers;

/// Shards of the owned-task list (a power of two).
pub(super) const OWNED_SHARDS: usize = 16;

/// Settings of the scheduler.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) worker_threads: usize,
    pub(crate) event_interval: u32,
    /// `None`: tuned by each worker (`queue_interval.rs`).
    pub(crate) global_queue_interval: Option<u32>,
    pub(crate) thread: ThreadConfig,
    /// Runs a worker's body (or a pool thread's, after `block_in_place`) inside this runtime:
    /// the layer above enters its context, which this module does not know.
    pub(crate) enter: fn(&Arc<Shared>, &mut dyn FnMut()),
}

impl EnterRuntime for Arc<Shared> {
    fn for_new_thread(&self) -> ThreadEntry {
        let shared = self.clone();
        Box::new(move |body| (shared.config.enter)(&shared, body))
    }
}

/// What every worker reaches of another: the end of its ring to steal from, and its parker.
pub(super) struct Remote {
    pub(super) steal: queue::Steal,
    pub(super) unpark: Unparker,
    /// The worker's park and busy counters (`RuntimeMetrics`).
    pub(super) metrics: WorkerMetrics,
}

/// How many worker threads are running, and the condvar a shutdown waits on for them.
#[derive(Default)]
pub(super) struct LiveThreads {
    pub(super) count: Mutex<usize>,
    pub(super) exited: Condvar,
}

/// The state of a multi-thread runtime that every worker, waker and handle shares.
pub(crate) struct Shared {
    pub(super) reactor: Arc<Reactor>,
    pub(super) timers: Timers,
    pub(super) remotes: Box<[Remote]>,
    pub(super) inject: Inject,
    pub(super) idle: Idle,
    /// Every task not yet complete, so that shutdown can drop their futures.
    /// Sharded (`OWNED_SHARDS` locks): workers spawning and completing tasks at once rarely
    /// meet on one lock. A task's key is `index * OWNED_SHARDS + shard`.
    pub(super) owned: Box<[Mutex<Slab<TaskRef>>]>,
    /// Set once by shutdown: `spawn` refuses new tasks.
    pub(super) is_shutdown: AtomicBool,
    /// Whether some worker holds the reactor (polls the reactor and fires timers). Taken with a
    /// compare-exchange and never waited for.
    pub(super) reactor_taken: AtomicBool,
    /// The reactor's holder is (about to be) blocked in `epoll_wait`.
    pub(super) reactor_parked: AtomicBool,
    /// Cores handed back by workers that stopped for shutdown. Boxed as everywhere else: a
    /// core moves between threads and the thread-local as one pointer.
    #[allow(clippy::vec_box)]
    pub(super) shutdown_cores: Mutex<Vec<Box<Core>>>,
    pub(super) shutdown_cond: Condvar,
    /// Cores handed off by `block_in_place` (one slot per worker index), until the pool thread
    /// started for each takes it — or the thread that handed it off, if its poll ended first
    /// (`worker::run_task`), or shutdown.
    #[allow(clippy::type_complexity)]
    pub(super) handoff: Box<[Mutex<Option<Box<Core>>>]>,
    /// Threads that run or may still return a core: worker threads (including one that gave
    /// its core away in `block_in_place` and still finishes its task's poll) and the pool
    /// threads' handoff jobs (counted from the moment the core is handed off). Not inside
    /// `Shared`'s own allocation: a thread counts itself out after it dropped its reference to
    /// `Shared` (see `launch`).
    pub(super) live: Arc<LiveThreads>,
    pub(super) config: Config,
    pub(super) blocking: BlockingPool,
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

    /// The counters of worker `index`.
    ///
    /// # Panics
    /// If there is no worker `index`.
    #[track_caller]
    pub(crate) fn worker_metrics(&self, index: usize) -> &WorkerMetrics {
        match self.remotes.get(index) {
            Some(remote) => &remote.metrics,
            None => panic!("worker index out of bounds: {index} ({} workers)", self.remotes.len()),
        }
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
        if self.reactor_parked.load(Ordering::SeqCst)
            && self.reactor_parked.swap(false, Ordering::SeqCst)
        {
            self.reactor.unpark();
        }
    }

    /// Queues `task` from outside the workers and wakes one, if none is searching.
    pub(super) fn schedule_remote(&self, task: TaskRef) {
        if let Err(refused) = self.inject.push([task]) {
            // Shut down: the references are dropped outside the lock, here.
            drop(refused);
            return;
        }
        self.notify_parked();
    }

    /// Wakes one parked worker if work may be waiting and nobody searches for it.
    pub(super) fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.remotes[index].unpark.unpark(|| self.reactor.unpark());
        }
    }

    /// Wakes a worker if any queue holds work (called by the last searcher before it parks).
    pub(super) fn notify_if_work_pending(&self) {
        let pending = !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    /// The core this thread handed off from worker `index`, if no pool thread took it yet.
    pub(super) fn take_handed_off(&self, index: usize) -> Option<Box<Core>> {
        lock(&self.handoff[index]).take()
    }

    /// A worker stopped for shutdown and hands its core back.
    pub(super) fn return_core(&self, core: Box<Core>) {
        lock(&self.shutdown_cores).push(core);
        self.shutdown_cond.notify_all();
    }
}

/// Counts a thread (or a handoff job) out of `LiveThreads` even if it unwinds (a panicking
/// `on_thread_start` hook), so that shutdown does not wait for it forever.
pub(super) struct Exit(pub(super) Arc<LiveThreads>);

impl Drop for Exit {
    fn drop(&mut self) {
        *lock(&self.0.count) -= 1;
        self.0.exited.notify_all();
    }
}

/// What only one worker touches.
pub(crate) struct Core {
    pub(super) index: usize,
    pub(super) tick: u32,
    /// Tick of the last maintenance (see `run`).
    pub(super) last_maintenance: u32,
    pub(super) global_queue: QueueInterval,
    /// The task woken last by the task that is running: it runs next.
    pub(super) lifo_slot: Option<TaskRef>,
    pub(super) run_queue: queue::Local,
    /// Tasks woken during their own poll (`yield_now`, the coop budget, a wake from another
    /// thread while they ran): they run once the LIFO slot, the ring and the injection queue
    /// are empty, or at the next maintenance. Not stealable (see `take_deferred`).
    pub(super) deferred: VecDeque<TaskRef>,
    /// This worker counts among the searching ones (see idle.rs).
    pub(super) is_searching: bool,
    /// Set while the worker polls the reactor from `park`: wakes then must not wake other
    /// workers one by one (the worker wakes one after, if it got more than one task).
    pub(super) is_parking: bool,
    /// When this worker last started or woke (the busy time of `RuntimeMetrics`).
    pub(super) busy_since: std::time::Instant,
    pub(super) is_shutdown: bool,
    pub(super) rand: u32,
    pub(super) events: Vec<libc::epoll_event>,
    pub(super) wake_list: Vec<Waker>,
    pub(super) batch: Vec<TaskRef>,
}

impl Core {
    pub(super) fn new(
        index: usize,
        run_queue: queue::Local,
        global_queue_interval: Option<u32>,
    ) -> Box<Core> {
        Box::new(Core {
            index,
            tick: 0,
            last_maintenance: 0,
            global_queue: QueueInterval::new(global_queue_interval),
            lifo_slot: None,
            run_queue,
            deferred: VecDeque::with_capacity(64),
            is_searching: false,
            is_parking: false,
            busy_since: std::time::Instant::now(),
            is_shutdown: false,
            rand: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
            events: Vec::with_capacity(1024),
            wake_list: Vec::with_capacity(64),
            batch: Vec::with_capacity(CAPACITY / 2),
        })
    }

    /// Hands every queued task to `f` (shutdown).
    pub(super) fn drain(&mut self, mut f: impl FnMut(TaskRef)) {
        if let Some(task) = self.lifo_slot.take() {
            f(task);
        }
        while let Some(task) = self.run_queue.pop() {
            f(task);
        }
        self.deferred.drain(..).for_each(f);
    }

    pub(super) fn index(&self) -> usize {
        self.index
    }

    pub(super) fn has_tasks(&self) -> bool {
        self.lifo_slot.is_some() || !self.run_queue.is_empty() || !self.deferred.is_empty()
    }

    pub(super) fn next_rand(&mut self) -> u32 {
        // xorshift32: enough to spread the stealing victims.
        let mut x = self.rand;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rand = x;
        x
    }

    pub(super) fn push_back(&mut self, shared: &Shared, task: TaskRef) {
        self.run_queue.push_back(task, &mut |batch| {
            if let Err(refused) = shared.inject.push(batch) {
                drop(refused);
            }
        });
    }

    /// The next task: the injection queue every `global_queue_interval` ticks (fixed or
    /// tuned: `QueueInterval`), else the LIFO slot, the ring, or a batch from the injection
    /// queue.
    pub(super) fn next_task(&mut self, shared: &Shared) -> Option<TaskRef> {
        if self.global_queue.is_due(self.tick) {
            if let Some(task) = shared.inject.pop() {
                return Some(task);
            }
        }
        if let Some(task) = self.lifo_slot.take() {
            return Some(task);
        }
        self.run_queue.pop().or_else(|| self.take_injected(shared))
    }

    /// Takes a fair share of the injection queue: returns one task and queues the rest.
    pub(super) fn take_injected(&mut self, shared: &Shared) -> Option<TaskRef> {
        if shared.inject.is_empty() {
            return None;
        }
        let fair = shared.inject.len() / shared.num_workers() + 1;
        let room = self.run_queue.remaining().min(CAPACITY / 2);
        let mut batch = std::mem::take(&mut self.batch);
        shared.inject.pop_n(fair.min(room).max(1), &mut batch);
        let mut tasks = batch.drain(..);
        let first = tasks.next();
        for task in tasks.by_ref() {
            self.push_back(shared, task);
        }
        drop(tasks);
        self.batch = batch;
        first
    }

    /// The oldest deferred task, once nothing else is queued here; the others stay deferred.
    ///
    /// Why deferred at all: a yielding task pushed straight onto the ring is stealable, so
    /// an idle worker woken for it (or merely searching) took it, and two tasks that feed each
    /// other (a channel's sender that yields every so often and its receiver, whose coop budget
    /// runs out as often) ended up on two workers, each waking the other across threads for
    /// every message: the multi-thread 1→1 channel benchmarks ran at 0.6× tokio's speed that
    /// way. One at a time, the deferred tasks are never visible to a thief here (a first
    /// version moved all but the first to the ring: a worker woken at the start of the work,
    /// still searching, kept stealing the pair's second task from there).
    pub(super) fn take_deferred(&mut self) -> Option<TaskRef> {
        self.deferred.pop_front()
    }

    /// Maintenance and `block_in_place`: the deferred tasks go to the back of the ring, so
    /// that tasks that keep this worker busy (two tasks waking each other through the LIFO
    /// slot and the ring) cannot keep them waiting for ever, and other workers can take them.
    /// Returns whether there were any.
    pub(super) fn release_deferred(&mut self, shared: &Shared) -> bool {
        if self.deferred.is_empty() {
            return false;
        }
        let mut deferred = std::mem::take(&mut self.deferred);
        for task in deferred.drain(..) {
            self.push_back(shared, task);
        }
        self.deferred = deferred;
        true
    }

    /// Wakes another worker if this one's ring holds more than one task: with just one, this
    /// worker runs it next, and a worker woken to steal it would only move it away from the
    /// tasks it talks to (and cost a futex or eventfd wake-up for nothing).
    pub(super) fn notify_if_queued_several(&self, shared: &Shared) {
        if self.run_queue.len() > 1 {
            shared.notify_parked();
        }
    }

    /// Becomes a searcher (if allowed) and steals from another worker or the injection queue.
    pub(super) fn steal_work(&mut self, shared: &Shared) -> Option<TaskRef> {
        if !self.is_searching {
            if !shared.idle.transition_worker_to_searching() {
                return None;
            }
            self.is_searching = true;
        }
        let n = shared.remotes.len();
        let start = self.next_rand() as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            if let Some(task) = shared.remotes[victim].steal.steal_into(&mut self.run_queue) {
                crate::slow_poll::stole();
                return Some(task);
            }
        }
        self.take_injected(shared)
    }

    /// Stops searching; the last searcher to find work wakes another worker to search on.
    pub(super) fn transition_from_searching(&mut self, shared: &Shared) {
        if !self.is_searching {
            return;
        }
        self.is_searching = false;
        if shared.idle.transition_worker_from_searching() {
            shared.notify_parked();
        }
    }

    /// Back from a park: true if the worker should run (it has tasks, was notified, or the
    /// runtime shuts down).
    pub(super) fn transition_from_park(&mut self, shared: &Shared) -> bool {
        if self.has_tasks() {
            // Counted as searching only if someone else woke it (and so counted it).
            self.is_searching = !shared.idle.unpark_worker_by_id(self.index);
            return true;
        }
        if shared.idle.is_parked(self.index) {
            return false;
        }
        self.is_searching = true;
        true
    }
}
