//! One worker thread: its loop, its core, and the thread-local through which wakes on this
//! thread reach its queues.
//!
//! ```text
//!  loop {
//!      tick += 1
//!      every event_interval ticks: poll the reactor without blocking (if the reactor is free),
//!                                  fire due timers, notice shutdown, move the deferred
//!                                  tasks to the ring
//!      task = [every global_queue_interval ticks: the injection queue]
//!             or the LIFO slot, or the local ring, or a batch from the injection queue,
//!             or the deferred tasks (those that woke themselves during their poll)
//!          ──► run it (then up to MAX_LIFO_POLLS tasks it woke into the LIFO slot)
//!      none: search — steal half of another worker's ring, or a batch from the injection queue
//!      none: park — in epoll_wait if the reactor is free (timeout: the earliest timer),
//!            else on this worker's condvar; until notified (idle.rs)
//!  }
//! ```
//!
//! # The core
//!
//! Everything only this worker touches (`Core`, in `shared.rs`: its ring's owner end, the LIFO slot, the epoll
//! buffers) is one box, moved into the thread-local `WORKER` while a task runs (so a wake on
//! this thread pushes onto this worker's queue, without a lock) and taken back after.
//! `block_in_place` takes it out of the thread-local and hands it to a thread of the blocking
//! pool (an idle one if any: `BlockingPool::spawn_mandatory`), through the worker's handoff
//! slot in `Shared`: the queue keeps being served while this thread blocks. When the task's
//! poll ends, this thread takes the core back if the pool thread has not claimed it yet (the
//! blocking closure was short); otherwise it stops being a worker: a worker thread exits, a
//! pool thread goes back to the pool, where the next `block_in_place` can reuse it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::shared::*;
use crate::loom::lock;
use crate::scheduler::flag_guard::FlagGuard;
use crate::scheduler::task::{JoinHandle, Runnable, Schedule, Task, TaskRef};

/// Tasks run from the LIFO slot in a row before the slot's task goes to the back of the ring:
/// two tasks that keep waking each other cannot starve the rest.
const MAX_LIFO_POLLS: u32 = 3;

/// The worker's thread-local: which runtime this thread works for, and its core while a task
/// runs or the reactor is polled.
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

/// The index of the worker whose core this thread holds (while it runs tasks), if any.
pub(crate) fn worker_index() -> Option<usize> {
    WORKER
        .try_with(|cx| cx.core.try_borrow().ok().and_then(|core| core.as_ref().map(|c| c.index)))
        .ok()
        .flatten()
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
/// `block_in_place` takes it away. The thread has entered the runtime (`Config::enter`).
pub(super) fn run(shared: &Arc<Shared>, core: Box<Core>) {
    crate::slow_poll::worker_started(core.index);
    let Some(_in_loop) = crate::polling::enter_loop() else {
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
    // The slow-poll detector's and the console's hooks for this thread's polls (`None` while
    // they are off).
    let hooks = crate::slow_poll::Hooks::for_loop(None);
    let hooks = hooks.as_ref();
    let mut core = core;
    core.busy_since = std::time::Instant::now();
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
        match run_task(shared, core, task, hooks) {
            Some(back) => core = back,
            // `block_in_place` gave the core to another thread: this one is done.
            None => return,
        }
    }
    shared.remotes[core.index].metrics.stopped(core.busy_since);
    shared.return_core(core);
}

/// Runs `task`, then the tasks it leaves in the LIFO slot (a bounded number of them). `None`
/// if the core was taken by `block_in_place` meanwhile.
fn run_task(
    shared: &Shared,
    mut core: Box<Core>,
    task: TaskRef,
    hooks: Option<&crate::slow_poll::Hooks>,
) -> Option<Box<Core>> {
    let index = core.index;
    core.transition_from_searching(shared);
    core.global_queue.start_batch();
    core.global_queue.count_poll();
    put_core(core);
    crate::scheduler::run(task, hooks);
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
        crate::scheduler::run(task, hooks);
    }
}

/// Every `event_interval` ticks: notice shutdown, poll the reactor without blocking and fire
/// due timers (if no other worker holds the reactor).
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
    if let Some(_reactor) = try_take_reactor(shared) {
        core = drive(shared, core, false);
    }
    core
}

/// The reactor, held: released when dropped, also if the worker unwinds while it drives (so
/// another worker can still poll the reactor and fire timers).
struct ReactorTaken<'a>(&'a Shared);

impl Drop for ReactorTaken<'_> {
    fn drop(&mut self) {
        crate::slow_poll::driver(false);
        self.0.reactor_taken.store(false, Ordering::Release);
    }
}

fn try_take_reactor(shared: &Shared) -> Option<ReactorTaken<'_>> {
    let free = !shared.reactor_taken.load(Ordering::Relaxed)
        && shared
            .reactor_taken
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
    // Built only when taken: a guard made and dropped here would release the holder's flag.
    free.then(|| {
        crate::slow_poll::driver(true);
        ReactorTaken(shared)
    })
}

/// The core lent to the thread-local while the reactor runs, and the buffers taken from it:
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
    let parked = block.then(|| FlagGuard::set(&shared.reactor_parked));
    // Read after `reactor_parked` is published: a timer registered elsewhere is either
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
    if let Some(on_park) = &shared.config.thread.on_park {
        // With the core in the thread-local, so a task the hook spawns lands here.
        put_core(core);
        on_park();
        core = take_core().expect("minirt: the park hook took the worker's core");
        if core.has_tasks() {
            return core;
        }
    }
    let metrics = &shared.remotes[core.index].metrics;
    metrics.parked(core.busy_since);
    let mut core = sleep(shared, core);
    core.busy_since = metrics.unparked();
    if let Some(on_unpark) = &shared.config.thread.on_unpark {
        on_unpark();
    }
    core
}

fn sleep(shared: &Shared, mut core: Box<Core>) -> Box<Core> {
    let was_searching = std::mem::replace(&mut core.is_searching, false);
    if shared.idle.transition_worker_to_parked(core.index, was_searching) {
        // The last searcher to give up: work queued meanwhile would have nobody to find it.
        shared.notify_if_work_pending();
    }
    let unpark = &shared.remotes[core.index].unpark;
    core.is_parking = true;
    // Shows the worker unparked again however the loop ends, an unwind included.
    let _parked = crate::slow_poll::Parked::new();
    loop {
        if shared.is_shutdown.load(Ordering::Acquire) {
            core.is_shutdown = true;
            break;
        }
        if !unpark.take_notification() {
            if let Some(_reactor) = try_take_reactor(shared) {
                if unpark.begin_park_in_reactor() {
                    core = drive(shared, core, true);
                    unpark.end_park_in_reactor();
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

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: TaskRef) {
        schedule(self, task);
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

// The parts of `Shared` that start or feed workers: here, beside the loop they run.
impl Shared {
    /// Spawns `future` onto this runtime.
    #[track_caller]
    /// `S` is what the task calls back to be queued, made from this runtime's `Arc`.
    pub(crate) fn spawn<F, S>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule + From<Arc<Self>>,
    {
        let task = Task::new(future, S::from(self.clone()));
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
            schedule(self, task);
        } else {
            task.shutdown();
        }
        handle
    }

    /// Starts a worker thread that runs `core`.
    pub(super) fn launch(self: &Arc<Self>, core: Box<Core>) -> io::Result<()> {
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
            let mut core = Some(core);
            config.run_hooked(|| {
                (shared.config.enter)(&shared, &mut || {
                    if let Some(core) = core.take() {
                        run(&shared, core);
                    }
                });
            });
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
    pub(super) fn hand_off(
        self: &Arc<Self>,
        core: Box<Core>,
    ) -> Result<(), (Box<Core>, io::Error)> {
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
                // A pool thread has entered the runtime already.
                run(&shared, core);
            }
        };
        match self.blocking.spawn_mandatory(self, job) {
            Ok(()) => Ok(()),
            Err(e) => {
                // The job was dropped unrun (and counted itself out): the core is still here.
                let core = lock(&self.handoff[index]).take();
                Err((core.expect("minirt: a handed-off core vanished without a thread"), e))
            }
        }
    }
}
