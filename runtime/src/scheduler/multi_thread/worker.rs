//! One worker thread: its loop, its core, and the thread-local through which wakes on this
//! thread reach its queues.
//!
//! ```text
//!  loop {
//!      tick += 1
//!      every event_interval ticks: poll the reactor without blocking (if the driver is free),
//!                                  fire due timers, notice shutdown, move the deferred
//!                                  tasks to the ring
//!      task = [every global_queue_interval ticks: the injection queue]
//!             or the LIFO slot, or the local ring, or a batch from the injection queue,
//!             or the deferred tasks (those that woke themselves during their poll)
//!          ──► run it (then up to MAX_LIFO_POLLS tasks it woke into the LIFO slot)
//!      none: search — steal half of another worker's ring, or a batch from the injection queue
//!      none: park — in epoll_wait if the driver is free (timeout: the earliest timer),
//!            else on this worker's condvar; until notified (idle.rs)
//!  }
//! ```
//!
//! # The core
//!
//! Everything only this worker touches (`Core`: its ring's owner end, the LIFO slot, the epoll
//! buffers) is one box, moved into the thread-local `WORKER` while a task runs (so a wake on
//! this thread pushes onto this worker's queue, without a lock) and taken back after.
//! `block_in_place` takes it out of the thread-local and hands it to a thread of the blocking
//! pool (an idle one if any: `BlockingPool::spawn_mandatory`), through the worker's handoff
//! slot in `Shared`: the queue keeps being served while this thread blocks. When the task's
//! poll ends, this thread takes the core back if the pool thread has not claimed it yet (the
//! blocking closure was short); otherwise it stops being a worker: a worker thread exits, a
//! pool thread goes back to the pool, where the next `block_in_place` can reuse it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::queue::{self, CAPACITY};
use super::Shared;
use crate::context;
use crate::scheduler::Handle;
use crate::task::TaskRef;

/// Tasks run from the LIFO slot in a row before the slot's task goes to the back of the ring:
/// two tasks that keep waking each other cannot starve the rest.
const MAX_LIFO_POLLS: u32 = 3;

/// The self-tuned global queue interval aims to check the injection queue about this often:
/// tokio's target (200 µs of polls between two checks).
const GLOBAL_QUEUE_TARGET_NANOS: f64 = 200_000.0;
/// Bounds of the self-tuned interval (tokio's): at least 2 (1 would always take the injection
/// queue first), at most 127 (twice the fixed default of 61).
const MIN_GLOBAL_QUEUE_INTERVAL: u32 = 2;
const MAX_GLOBAL_QUEUE_INTERVAL: u32 = 127;
/// The interval before any poll was measured: the fixed default.
const DEFAULT_GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// Weight of one poll in the moving average of poll times (tokio's).
const POLL_TIME_EWMA_ALPHA: f64 = 0.1;

/// The global queue interval, fixed (`Builder::global_queue_interval`) or tuned from how long
/// this worker's polls take, as tokio does: `GLOBAL_QUEUE_TARGET_NANOS` / the average poll
/// time, so that remote work waits about as long whether the tasks are long or short. The
/// polls are timed in batches (two clock reads per batch, not per poll): a batch runs from the
/// first task after a park or a maintenance until the next maintenance or until the worker
/// runs out of queued work.
struct QueueInterval {
    current: u32,
    /// `None`: self-tuning.
    fixed: Option<u32>,
    /// Tick of the last look at the injection queue. (Not `tick % interval`: see the
    /// maintenance in `run`.)
    last_check: u32,
    /// Moving average of poll times, in nanoseconds.
    poll_time_ewma: f64,
    batch_start: Option<Instant>,
    batch_polls: u32,
}

impl QueueInterval {
    fn new(fixed: Option<u32>) -> QueueInterval {
        let current = fixed.unwrap_or(DEFAULT_GLOBAL_QUEUE_INTERVAL);
        QueueInterval {
            current,
            fixed,
            last_check: 0,
            poll_time_ewma: GLOBAL_QUEUE_TARGET_NANOS / f64::from(current),
            batch_start: None,
            batch_polls: 0,
        }
    }

    /// Whether it is time to look at the injection queue first (and, self-tuning, retunes).
    fn is_due(&mut self, tick: u32) -> bool {
        if tick.wrapping_sub(self.last_check) < self.current {
            return false;
        }
        self.last_check = tick;
        if self.fixed.is_none() {
            let tuned = (GLOBAL_QUEUE_TARGET_NANOS / self.poll_time_ewma) as u32;
            let tuned = tuned.clamp(MIN_GLOBAL_QUEUE_INTERVAL, MAX_GLOBAL_QUEUE_INTERVAL);
            // Small changes are jitter, not a change of load.
            if tuned.abs_diff(self.current) > 2 {
                self.current = tuned;
            }
        }
        true
    }

    fn start_batch(&mut self) {
        if self.fixed.is_none() && self.batch_start.is_none() {
            self.batch_start = Some(Instant::now());
            self.batch_polls = 0;
        }
    }

    fn count_poll(&mut self) {
        self.batch_polls += 1;
    }

    fn end_batch(&mut self) {
        let Some(start) = self.batch_start.take() else { return };
        if self.batch_polls == 0 {
            return;
        }
        let polls = f64::from(self.batch_polls);
        let mean = start.elapsed().as_nanos() as f64 / polls;
        // The batch's polls weigh as many single updates would.
        let alpha = 1.0 - (1.0 - POLL_TIME_EWMA_ALPHA).powf(polls);
        self.poll_time_ewma = alpha * mean + (1.0 - alpha) * self.poll_time_ewma;
    }
}

/// What only one worker touches.
pub(crate) struct Core {
    index: usize,
    tick: u32,
    /// Tick of the last maintenance (see `run`).
    last_maintenance: u32,
    global_queue: QueueInterval,
    /// The task woken last by the task that is running: it runs next.
    lifo_slot: Option<TaskRef>,
    run_queue: queue::Local,
    /// Tasks woken during their own poll (`yield_now`, the coop budget, a wake from another
    /// thread while they ran): they run once the LIFO slot, the ring and the injection queue
    /// are empty, or at the next maintenance. Not stealable (see `take_deferred`).
    deferred: VecDeque<TaskRef>,
    /// This worker counts among the searching ones (see idle.rs).
    is_searching: bool,
    /// Set while the worker polls the driver from `park`: wakes then must not wake other
    /// workers one by one (the worker wakes one after, if it got more than one task).
    is_parking: bool,
    is_shutdown: bool,
    rand: u32,
    events: Vec<libc::epoll_event>,
    wake_list: Vec<Waker>,
    batch: Vec<TaskRef>,
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

    fn has_tasks(&self) -> bool {
        self.lifo_slot.is_some() || !self.run_queue.is_empty() || !self.deferred.is_empty()
    }

    fn next_rand(&mut self) -> u32 {
        // xorshift32: enough to spread the stealing victims.
        let mut x = self.rand;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rand = x;
        x
    }

    fn push_back(&mut self, shared: &Shared, task: TaskRef) {
        self.run_queue.push_back(task, &mut |batch| {
            if let Err(refused) = shared.inject.push(batch) {
                drop(refused);
            }
        });
    }

    /// The next task: the injection queue every `global_queue_interval` ticks (fixed or
    /// tuned: `QueueInterval`), else the LIFO slot, the ring, or a batch from the injection
    /// queue.
    fn next_task(&mut self, shared: &Shared) -> Option<TaskRef> {
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
    fn take_injected(&mut self, shared: &Shared) -> Option<TaskRef> {
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
    fn take_deferred(&mut self) -> Option<TaskRef> {
        self.deferred.pop_front()
    }

    /// Maintenance and `block_in_place`: the deferred tasks go to the back of the ring, so
    /// that tasks that keep this worker busy (two tasks waking each other through the LIFO
    /// slot and the ring) cannot keep them waiting for ever, and other workers can take them.
    /// Returns whether there were any.
    fn release_deferred(&mut self, shared: &Shared) -> bool {
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
    fn notify_if_queued_several(&self, shared: &Shared) {
        if self.run_queue.len() > 1 {
            shared.notify_parked();
        }
    }

    /// Becomes a searcher (if allowed) and steals from another worker or the injection queue.
    fn steal_work(&mut self, shared: &Shared) -> Option<TaskRef> {
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
    fn transition_from_searching(&mut self, shared: &Shared) {
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
    fn transition_from_park(&mut self, shared: &Shared) -> bool {
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

/// The worker's thread-local: which runtime this thread works for, and its core while a task
/// runs or the driver is polled.
struct Context {
    /// Compared with a task's runtime on every wake (a pointer compare, no reference count);
    /// dereferenced only while the worker runs (it holds an `Arc` to it for that whole time).
    shared: Cell<*const Shared>,
    /// The same runtime, for the rare paths that need a reference of their own
    /// (`block_in_place`): not the thread's *entered* runtime, which a task may have changed
    /// with `Handle::enter`.
    owner: RefCell<Option<Arc<Shared>>>,
    core: RefCell<Option<Box<Core>>>,
}

thread_local! {
    static WORKER: Context = const {
        Context {
            shared: Cell::new(ptr::null()),
            owner: RefCell::new(None),
            core: RefCell::new(None),
        }
    };
}

/// Queues `task` (spawned, or woken by value) on this thread's worker if it belongs to
/// `shared`'s runtime (the LIFO slot), else on the injection queue.
pub(super) fn schedule(shared: &Arc<Shared>, task: TaskRef) {
    let mut task = Some(task);
    let _ = WORKER.try_with(|cx| {
        if !ptr::eq(cx.shared.get(), Arc::as_ptr(shared)) {
            return;
        }
        let Ok(mut slot) = cx.core.try_borrow_mut() else { return };
        // Taken only once a core is known to be here: otherwise it goes to the injection queue.
        if let Some(core) = slot.as_mut() {
            if let Some(task) = task.take() {
                schedule_local(shared, core, task, false);
            }
        }
    });
    if let Some(task) = task {
        shared.schedule_remote(task);
    }
}

/// The task woken during its own poll (`Schedule::try_schedule_local`): to the back of this
/// worker's ring, if this thread is a worker of the runtime `shared` points to.
#[inline]
pub(crate) fn schedule_yield_local<T>(
    shared: *const Shared,
    task: T,
    erase: fn(T) -> TaskRef,
) -> Result<(), T> {
    schedule_local_by_key(shared, task, erase, true)
}

/// A task woken on this thread (`Schedule::try_wake_local`): into this worker's LIFO slot, if
/// this thread is a worker of the runtime `shared` points to.
#[inline]
pub(crate) fn schedule_wake_local<T>(
    shared: *const Shared,
    task: T,
    erase: fn(T) -> TaskRef,
) -> Result<(), T> {
    schedule_local_by_key(shared, task, erase, false)
}

#[inline(always)]
fn schedule_local_by_key<T>(
    shared: *const Shared,
    task: T,
    erase: fn(T) -> TaskRef,
    is_yield: bool,
) -> Result<(), T> {
    let mut task = Some(task);
    let _ = WORKER.try_with(|cx| {
        if !ptr::eq(cx.shared.get(), shared) {
            return;
        }
        let Ok(mut slot) = cx.core.try_borrow_mut() else { return };
        if let Some(core) = slot.as_mut() {
            // SAFETY: `cx.shared` is set only while `run` executes on this thread, and `run`
            // holds an `Arc<Shared>` to this very runtime for that whole time.
            let shared = unsafe { &*shared };
            if let Some(task) = task.take() {
                schedule_local(shared, core, erase(task), is_yield);
            }
        }
    });
    match task {
        None => Ok(()),
        Some(task) => Err(task),
    }
}

fn schedule_local(shared: &Shared, core: &mut Core, task: TaskRef, is_yield: bool) {
    if is_yield {
        // Not stealable, no wake-up for anyone: see `Core::take_deferred`.
        core.deferred.push_back(task);
        return;
    }
    if let Some(previous) = core.lifo_slot.replace(task) {
        core.push_back(shared, previous);
        // Two tasks queued here now: another worker may take the one on the ring. (With the
        // slot empty before, its new task runs next on this worker: nobody needs waking.)
        if !core.is_parking {
            shared.notify_parked();
        }
    }
}

/// Puts the core in the thread-local until the guard takes it back.
fn put_core(core: Box<Core>) {
    WORKER.with(|cx| *cx.core.borrow_mut() = Some(core));
}

fn take_core() -> Option<Box<Core>> {
    WORKER.try_with(|cx| cx.core.borrow_mut().take()).ok().flatten()
}

/// A worker thread's body: runs `core` until shutdown (then hands it back) or until
/// `block_in_place` takes it away.
pub(super) fn run(shared: &Arc<Shared>, core: Box<Core>) {
    let _enter = context::enter(Handle::MultiThread(shared.clone()));
    crate::slow_poll::worker_started(core.index);
    let Some(_driving) = context::start_driving() else {
        unreachable!("minirt: a new worker thread is already driving a runtime")
    };
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = WORKER.try_with(|cx| {
                cx.shared.set(ptr::null());
                let owner = cx.owner.borrow_mut().take();
                // Only set if a task's poll unwound through us (a bug); drop it.
                let core = cx.core.borrow_mut().take();
                // After the borrows: the last reference to the runtime, or the core's tasks,
                // may run foreign drops that reach this thread-local again.
                drop(core);
                drop(owner);
            });
        }
    }
    WORKER.with(|cx| {
        cx.shared.set(Arc::as_ptr(shared));
        *cx.owner.borrow_mut() = Some(shared.clone());
    });
    let _reset = Reset;
    let mut core = core;
    let event_interval = shared.config.event_interval;
    while !core.is_shutdown {
        core.tick = core.tick.wrapping_add(1);
        // Not `tick % event_interval == 0`: ticks advance by more than one per loop (the LIFO
        // slot's polls count), and a modulo can then miss forever: a chain of tasks spawning
        // each other (4 ticks a loop) and an injected task every 61 ticks (1 tick) made
        // exactly 61 ticks a cycle, and this worker never polled the reactor again.
        if core.tick.wrapping_sub(core.last_maintenance) >= event_interval {
            core.last_maintenance = core.tick;
            core.global_queue.end_batch();
            core = maintenance(shared, core);
            if core.is_shutdown {
                break;
            }
        }
        let task = match core.next_task(shared) {
            Some(task) => task,
            None => match core.take_deferred() {
                Some(task) => task,
                None => {
                    // Out of local work: the batch of timed polls ends here.
                    core.global_queue.end_batch();
                    match core.steal_work(shared) {
                        Some(task) => task,
                        None => {
                            core = park(shared, core);
                            continue;
                        }
                    }
                }
            },
        };
        match run_task(shared, core, task) {
            Some(back) => core = back,
            // `block_in_place` gave the core to another thread: this one is done.
            None => return,
        }
    }
    shared.return_core(core);
}

/// Runs `task`, then the tasks it leaves in the LIFO slot (a bounded number of them). `None`
/// if the core was taken by `block_in_place` meanwhile.
fn run_task(shared: &Shared, mut core: Box<Core>, task: TaskRef) -> Option<Box<Core>> {
    let index = core.index;
    core.transition_from_searching(shared);
    core.global_queue.start_batch();
    core.global_queue.count_poll();
    put_core(core);
    crate::scheduler::run(task);
    let mut lifo_polls = 0;
    loop {
        // No core: `block_in_place` handed it off during the poll. If the pool thread started
        // for it has not taken it yet (a short blocking closure), this thread takes it back
        // and saves the switch to that thread; else this thread is done.
        let mut core = take_core().or_else(|| shared.take_handed_off(index))?;
        let Some(task) = core.lifo_slot.take() else { return Some(core) };
        if lifo_polls >= MAX_LIFO_POLLS {
            core.push_back(shared, task);
            core.notify_if_queued_several(shared);
            return Some(core);
        }
        lifo_polls += 1;
        core.tick = core.tick.wrapping_add(1);
        core.global_queue.count_poll();
        put_core(core);
        crate::scheduler::run(task);
    }
}

/// Every `event_interval` ticks: notice shutdown, poll the reactor without blocking and fire
/// due timers (if no other worker holds the driver).
fn maintenance(shared: &Shared, mut core: Box<Core>) -> Box<Core> {
    if shared.is_shutdown.load(Ordering::Acquire) {
        core.is_shutdown = true;
        return core;
    }
    // Another worker is woken only for three tasks or more: two that take turns (a yielding
    // sender beside its receiver) run best here, and waking a worker for them at every
    // maintenance split the pair again (about one wake-up per 10,000 messages, each one a
    // split that lasted).
    if core.release_deferred(shared) && core.run_queue.len() > 2 {
        shared.notify_parked();
    }
    if let Some(_driver) = try_take_driver(shared) {
        core = drive(shared, core, false);
    }
    core
}

/// The driver, held: released when dropped, also if the worker unwinds while it drives (so
/// another worker can still poll the reactor and fire timers).
struct DriverTaken<'a>(&'a Shared);

impl Drop for DriverTaken<'_> {
    fn drop(&mut self) {
        crate::slow_poll::driver(false);
        self.0.driver_taken.store(false, Ordering::Release);
    }
}

fn try_take_driver(shared: &Shared) -> Option<DriverTaken<'_>> {
    let free = !shared.driver_taken.load(Ordering::Relaxed)
        && shared
            .driver_taken
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
    // Built only when taken: a guard made and dropped here would release the holder's flag.
    free.then(|| {
        crate::slow_poll::driver(true);
        DriverTaken(shared)
    })
}

/// `driver_parked` set for as long as this lives (the driver's holder blocks in `epoll_wait`).
struct DriverParked<'a>(&'a Shared);

impl<'a> DriverParked<'a> {
    fn set(shared: &'a Shared) -> DriverParked<'a> {
        shared.driver_parked.store(true, Ordering::SeqCst);
        DriverParked(shared)
    }
}

impl Drop for DriverParked<'_> {
    fn drop(&mut self) {
        self.0.driver_parked.store(false, Ordering::SeqCst);
    }
}

/// The core lent to the thread-local while the driver runs, and the buffers taken from it:
/// on drop (also while unwinding) the buffers go back into the core wherever it is.
struct LentCore {
    events: Vec<libc::epoll_event>,
    wake_list: Vec<Waker>,
}

impl LentCore {
    fn lend(mut core: Box<Core>) -> LentCore {
        let lent = LentCore {
            events: std::mem::take(&mut core.events),
            wake_list: std::mem::take(&mut core.wake_list),
        };
        put_core(core);
        lent
    }

    /// The core back from the thread-local, with its buffers.
    fn take_back(mut self) -> Box<Core> {
        let mut core =
            take_core().expect("minirt: the worker's core vanished while it polled the reactor");
        core.events = std::mem::take(&mut self.events);
        core.wake_list = std::mem::take(&mut self.wake_list);
        // Nothing left to give back (two empty vectors): skip the thread-local look of `Drop`.
        std::mem::forget(self);
        core
    }
}

impl Drop for LentCore {
    /// Reached only when `drive` unwinds (a bug in minirt: every waker's panic is caught):
    /// the core stays in the thread-local, where the worker's `run` finds it, whole.
    fn drop(&mut self) {
        let events = std::mem::take(&mut self.events);
        let wake_list = std::mem::take(&mut self.wake_list);
        let _ = WORKER.try_with(|cx| {
            if let Ok(mut slot) = cx.core.try_borrow_mut() {
                if let Some(core) = slot.as_mut() {
                    core.events = events;
                    core.wake_list = wake_list;
                }
            }
        });
    }
}

/// Polls the reactor (blocking until the earliest timer if `block`), then fires due timers,
/// then wakes the tasks of both. The core sits in the thread-local meanwhile, so the woken
/// tasks land on this worker. A user waker that panics is contained (`wake::wake_all`): the
/// rest of the list is still woken and the worker goes on (the panic hook reported it).
fn drive(shared: &Shared, core: Box<Core>, block: bool) -> Box<Core> {
    let mut lent = LentCore::lend(core);
    let LentCore { events, wake_list } = &mut lent;
    let parked = block.then(|| DriverParked::set(shared));
    // Read after `driver_parked` is published: a timer registered elsewhere is either
    // seen here or sees the flag and writes the eventfd (`Shared::unpark`).
    let timeout = match parked {
        Some(_) => {
            shared.timers.next_deadline().map(|d| d.saturating_duration_since(Instant::now()))
        }
        None => Some(Duration::ZERO),
    };
    if let Err(e) = shared.reactor.poll(events, wake_list, timeout) {
        // epoll_wait on our own epoll fd fails only on EINTR, which the reactor absorbs.
        panic!("minirt: the reactor failed to poll its own epoll instance: {e}");
    }
    drop(parked);
    if shared.timers.next_deadline().is_some() {
        shared.timers.fire_due(Instant::now(), wake_list);
    }
    // Outside the reactor's and the timers' locks: a woken task may register or drop timers
    // and fds.
    drop(crate::wake::wake_all(wake_list));
    lent.take_back()
}

/// No work anywhere: sleep until notified (or until the reactor hands this worker tasks).
fn park(shared: &Shared, mut core: Box<Core>) -> Box<Core> {
    if core.has_tasks() {
        return core;
    }
    let was_searching = std::mem::replace(&mut core.is_searching, false);
    if shared.idle.transition_worker_to_parked(core.index, was_searching) {
        // The last searcher to give up: work queued meanwhile would have nobody to find it.
        shared.notify_if_work_pending();
    }
    let unpark = &shared.remotes[core.index].unpark;
    core.is_parking = true;
    crate::slow_poll::parked(true);
    loop {
        if shared.is_shutdown.load(Ordering::Acquire) {
            core.is_shutdown = true;
            break;
        }
        if !unpark.take_notification() {
            if let Some(_driver) = try_take_driver(shared) {
                if unpark.begin_park_driver() {
                    core = drive(shared, core, true);
                    unpark.end_park_driver();
                }
            } else {
                unpark.park_condvar();
            }
        }
        if core.transition_from_park(shared) {
            break;
        }
    }
    core.is_parking = false;
    crate::slow_poll::parked(false);
    // Woken with more work than this worker can start at once: let another one help.
    if core.run_queue.len() + usize::from(core.lifo_slot.is_some()) > 1 {
        shared.notify_parked();
    }
    core
}

/// `task::block_in_place` on a worker of a multi-thread runtime: hands this worker's core to
/// a pool thread (module docs). `None` if this thread holds no core (not a worker, or its core
/// is already handed off), in which case nothing needs doing.
pub(crate) fn hand_off_core() -> Option<HandedOff> {
    // The worker's own runtime, not `context::try_current()`: the task may have entered
    // another runtime (`Handle::enter`), and the core must go to a thread of its own runtime.
    let taken = WORKER.try_with(|cx| {
        let shared = cx.owner.try_borrow().ok()?.clone()?;
        let core = cx.core.try_borrow_mut().ok()?.take()?;
        Some((shared, core))
    });
    let (shared, mut core) = taken.ok().flatten()?;
    // Until a pool thread runs the core, the other workers can take what it holds only from
    // its ring: the LIFO slot's task and the deferred ones go there (tokio does the same).
    if let Some(task) = core.lifo_slot.take() {
        core.push_back(&shared, task);
    }
    core.release_deferred(&shared);
    core.notify_if_queued_several(&shared);
    let index = core.index;
    if let Err((core, e)) = shared.hand_off(core) {
        // Back in this thread's hands: the poll that panics here ends, and this thread runs
        // the core on as before.
        put_core(core);
        panic!("minirt: block_in_place could not start a thread to run this worker's tasks: {e}");
    }
    Some(HandedOff { shared, index })
}

/// A core handed off by `block_in_place`. Its drop, when the blocking closure has returned
/// (or unwound), takes the core back if no pool thread has claimed it yet (a short closure),
/// as tokio does: the rest of the task's poll then runs as a worker's again (its wakes go to
/// the LIFO slot), and the pool thread started for it finds the slot empty.
pub(crate) struct HandedOff {
    shared: Arc<Shared>,
    index: usize,
}

impl Drop for HandedOff {
    fn drop(&mut self) {
        if let Some(core) = self.shared.take_handed_off(self.index) {
            // Read back by `run_task` once the poll ends. (This thread gave its core away and
            // runs no loop until then: its slot is empty.)
            let _ = WORKER.try_with(|cx| {
                let previous = cx.core.borrow_mut().replace(core);
                debug_assert!(previous.is_none(), "a worker thread held two cores");
            });
        }
    }
}

/// Whether this thread runs (or ran, and still finishes a poll of) one of `shared`'s cores:
/// a worker thread, or a pool thread that took a handed-off core. Such a thread counts among
/// the runtime's live threads until its loop ends, so a shutdown called from it must not wait
/// for it.
pub(super) fn is_worker_of(shared: &Shared) -> bool {
    WORKER.try_with(|cx| ptr::eq(cx.shared.get(), shared)).unwrap_or(false)
}

/// `Runtime::shutdown_timeout` called from a task on one of `shared`'s workers: that worker
/// cannot hand its core back while the shutdown waits for the cores, so the shutdown takes it
/// here. After the current poll the worker finds its core gone and its thread ends, as after
/// `block_in_place`.
pub(super) fn take_own_core(shared: &Shared) -> Option<Box<Core>> {
    WORKER
        .try_with(|cx| {
            if !ptr::eq(cx.shared.get(), shared) {
                return None;
            }
            cx.core.try_borrow_mut().ok().and_then(|mut slot| slot.take())
        })
        .ok()
        .flatten()
}
