//! The current-thread scheduler: the loop that runs tasks and polls the reactor.
//!
//! # The loop (`CurrentThread::block_on`)
//!
//! ```text
//!  loop {
//!      poll the block_on future if its waker fired
//!      run up to BATCH tasks from the local run queue
//!          (every INJECTION_INTERVAL tasks, or when the local queue runs dry, first move the
//!           injection queue — tasks woken from other threads — onto it)
//!      work left?  reactor.poll(timeout 0)       so a busy task cannot starve the network
//!      idle?       parked = true; reactor.poll(until the earliest timer)   sleep in the kernel
//!                  (paused clock: reactor.poll(0), still idle? clock := earliest deadline)
//!      fire the timers that are due               their tasks join the run queue
//!      wake the deferred tasks                    (yield_now, a spent budget: see below)
//!  }
//! ```
//!
//! # Deferred wakes
//!
//! A task that yields (`yield_now`, or its coop budget is spent) is not woken at once but
//! deferred (`wake::defer`): it runs again only after the loop has looked at the reactor, as in
//! tokio. Woken at once it would go to the back of the run queue and run again within the
//! same batch, up to BATCH times, before an I/O event or a timer had any chance to wake
//! the task it yields to. The common case, a task deferring its own wake, holds no waker:
//! `defer` recognises the polled task's waker (`wake::set_polled`) and only marks the task, which
//! its poll's end then queues on the loop's deferred queue (`Schedule::try_schedule_local`);
//! that queue joins the run queue where the held wakers are woken.
//!
//! # Where a wake goes
//!
//! A task's waker calls `Shared::schedule`. On the thread that is running this scheduler's
//! loop, that is a push onto the local run queue: no lock, no syscall. From any other thread it
//! is a push onto the injection queue (a mutex), and only if the loop is parked in `epoll_wait`
//! a write to the reactor's eventfd to wake it; the `parked` flag is swapped back to false by
//! the first waker that sees it, so a burst of wakes costs one syscall.
//!
//! # The loop's thread-local
//!
//! `LOCAL` holds, while the loop runs, which runtime this thread drives and its local run
//! queue. Which runtime this thread is *in* (for `spawn`, `Handle::current`, registering
//! sockets), the polled task's id and its cooperative budget live in `crate::context`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use slab::Slab;

use super::blocking::BlockingPool;
use super::worker_metrics::WorkerMetrics;
use crate::loom::lock;
use crate::reactor::Reactor;
use crate::scheduler::task::{JoinHandle, Runnable, Schedule, Task, TaskRef};
use crate::timer::clock::Park;
use crate::timer::Timers;

/// Tasks run between two looks at the reactor.
const BATCH: usize = 61;
/// Tasks run from the local queue between two looks at the injection queue.
const INJECTION_INTERVAL: usize = 31;

/// The state of a runtime that wakers and handles on any thread share.
pub(crate) struct Shared {
    reactor: Arc<Reactor>,
    /// Every registered sleep deadline (see `time`).
    timers: Timers,
    /// Tasks scheduled from outside the loop's thread.
    injection: Mutex<Injection>,
    /// How many tasks `injection` holds, readable without its lock.
    injection_len: AtomicUsize,
    /// Every task not yet complete, so that shutdown can drop their futures.
    owned: Mutex<Slab<TaskRef>>,
    /// The loop is (about to be) blocked in `epoll_wait` until an event or its earliest timer.
    parked: AtomicBool,
    /// The waker of the future passed to `block_on` fired.
    block_on_woken: AtomicBool,
    /// Set once by shutdown (with `Injection::is_shutdown`): `spawn` refuses new tasks.
    is_shutdown: AtomicBool,
    /// The runtime's blocking pool (`spawn_blocking`).
    blocking: BlockingPool,
    /// A `LocalRuntime`'s own set and the thread it belongs to (`task::spawn_local`).
    local: OnceLock<LocalOwner>,
    /// The loop's park and busy counters (`RuntimeMetrics`).
    metrics: WorkerMetrics,
}

/// Where `spawn_local` puts a task on a `LocalRuntime` (see `runtime/local.rs`).
pub(crate) struct LocalOwner {
    pub(crate) thread: std::thread::ThreadId,
    pub(crate) set: Arc<super::local::Shared>,
}

struct Injection {
    queue: VecDeque<TaskRef>,
    /// Set once by shutdown; a task scheduled afterwards is dropped, not queued.
    is_shutdown: bool,
}

impl Schedule for Arc<Shared> {
    const DEFERS_SELF_WAKE: bool = true;

    fn schedule(&self, task: TaskRef) {
        if let Err(task) = schedule_local(Arc::as_ptr(self), task, |task| task, false) {
            self.schedule_remote(task);
        }
    }

    fn release(&self, owned_key: usize) {
        let removed = lock(&self.owned).try_remove(owned_key);
        // Dropped outside the lock: it may be the last reference, and drop the task itself.
        drop(removed);
    }

    fn local_key(&self) -> *const () {
        Arc::as_ptr(self).cast()
    }

    #[inline]
    fn try_schedule_local<T>(key: *const (), task: T, erase: fn(T) -> TaskRef) -> Result<(), T> {
        schedule_local(key.cast(), task, erase, true)
    }
}

impl Shared {
    /// True on the thread currently running this runtime's loop.
    fn is_driven_here(&self) -> bool {
        LOCAL.try_with(|cx| std::ptr::eq(cx.running_loop.get(), self)).unwrap_or(false)
    }

    fn schedule_remote(&self, task: TaskRef) {
        let mut injection = lock(&self.injection);
        if injection.is_shutdown {
            // Drop the reference outside the lock: it may be the task's last one.
            drop(injection);
            drop(task);
            return;
        }
        injection.queue.push_back(task);
        self.injection_len.store(injection.queue.len(), Ordering::SeqCst);
        drop(injection);
        self.unpark();
    }

    /// The `LocalRuntime` set of this runtime, if it is one.
    pub(crate) fn local_owner(&self) -> Option<&LocalOwner> {
        self.local.get()
    }

    /// Makes this runtime a `LocalRuntime` whose set is `owner` (once, at build).
    pub(crate) fn set_local_owner(&self, owner: LocalOwner) {
        let _ = self.local.set(owner);
    }

    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }

    pub(crate) fn worker_metrics(&self) -> &WorkerMetrics {
        &self.metrics
    }

    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    /// Tasks spawned and not yet complete.
    pub(crate) fn num_alive_tasks(&self) -> usize {
        lock(&self.owned).len()
    }

    /// Tasks waiting in the injection queue.
    pub(crate) fn injection_depth(&self) -> usize {
        self.injection_len.load(Ordering::Relaxed)
    }

    /// Wakes the loop if it is parked. SeqCst pairs with `park`'s store-then-check: either the
    /// loop sees our work (a task, or an earlier timer), or we see `parked` and write the
    /// eventfd.
    pub(crate) fn unpark(&self) {
        // On the loop's own thread the loop is not blocked (it is dispatching events or running
        // tasks, and re-checks its flags before it parks): no syscall needed.
        if self.is_driven_here() {
            return;
        }
        if self.parked.load(Ordering::SeqCst) && self.parked.swap(false, Ordering::SeqCst) {
            self.reactor.unpark();
        }
    }

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
        let accepted = {
            // Checked under the `owned` lock: shutdown sets the flag before it empties `owned`,
            // so a task inserted here is either refused or seen (and cancelled) by shutdown.
            let mut owned = lock(&self.owned);
            if self.is_shutdown.load(Ordering::SeqCst) {
                false
            } else {
                task.set_owned_key(owned.insert(task.clone()));
                true
            }
        };
        if accepted {
            self.schedule(task);
        } else {
            // The runtime is shutting down: the task completes as cancelled, never polled.
            task.shutdown();
        }
        handle
    }
}

/// The waker of the future passed to `block_on`: it is not a task, just a flag the loop checks.
struct BlockOnWaker {
    shared: Arc<Shared>,
}

impl Wake for BlockOnWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.block_on_woken.store(true, Ordering::SeqCst);
        self.shared.unpark();
    }
}

/// Pushes `task` onto the local run queue if this thread is running the loop of the runtime
/// `shared` points to (compared, never dereferenced); gives it back otherwise. A task that
/// woke itself during its poll (`is_yield`) goes to the deferred queue instead, which joins
/// the run queue after the loop's next look at the reactor. Generic (with `erase` to make a
/// `TaskRef` of it) so that a task can re-queue itself, and have itself back with its concrete
/// type, without first taking a reference to its runtime.
#[inline]
pub(crate) fn schedule_local<T>(
    shared: *const Shared,
    task: T,
    erase: fn(T) -> TaskRef,
    is_yield: bool,
) -> Result<(), T> {
    let mut task = Some(task);
    // `try_with`: during thread exit the thread-local may be gone; that thread is not running
    // a loop, so the task goes back to the caller (and on to the injection queue).
    let _ = LOCAL.try_with(|cx| {
        if std::ptr::eq(cx.running_loop.get(), shared) {
            if let Some(task) = task.take() {
                let queue = if is_yield { &cx.deferred } else { &cx.run_queue };
                queue.borrow_mut().push_back(erase(task));
            }
        }
    });
    match task {
        None => Ok(()),
        Some(task) => Err(task),
    }
}

/// Whether this thread is running the loop of some current-thread runtime (its `block_on`, or
/// one of its tasks): `block_in_place` refuses to run there, as in tokio.
pub(crate) fn runs_any_loop() -> bool {
    LOCAL.try_with(|cx| !cx.running_loop.get().is_null()).unwrap_or(false)
}

/// The loop's per-thread state, while `block_on` runs on this thread.
struct Local {
    /// The runtime whose loop this thread is running, or null. Compared, never dereferenced.
    running_loop: Cell<*const Shared>,
    /// The loop's local run queue.
    run_queue: RefCell<VecDeque<TaskRef>>,
    /// Tasks that woke themselves during their poll (`yield_now`, a spent budget): they join
    /// the run queue after the loop's next look at the reactor (see "Deferred wakes").
    deferred: RefCell<VecDeque<TaskRef>>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            running_loop: Cell::new(std::ptr::null()),
            run_queue: RefCell::new(VecDeque::new()),
            deferred: RefCell::new(VecDeque::new()),
        }
    };
}

/// The part of a runtime only the loop's thread touches: moved into the thread-local while
/// `block_on` runs and back out when it returns.
pub(crate) struct Core {
    run_queue: VecDeque<TaskRef>,
    events: Vec<libc::epoll_event>,
    wake_list: Vec<Waker>,
}

/// The current-thread scheduler.
pub(crate) struct CurrentThread {
    shared: Arc<Shared>,
    /// `None` while some thread is inside `block_on`.
    core: Mutex<Option<Box<Core>>>,
    /// Threads in `block_on` waiting for the core while another thread drives the loop; woken
    /// when it is handed back, so one of them takes over (tokio's "always active parker").
    core_waiters: Mutex<Vec<std::thread::Thread>>,
}

impl CurrentThread {
    pub(crate) fn new(blocking: BlockingPool) -> io::Result<CurrentThread> {
        let shared = Arc::new(Shared {
            reactor: Arc::new(Reactor::new()?),
            timers: Timers::new(),
            injection: Mutex::new(Injection { queue: VecDeque::new(), is_shutdown: false }),
            injection_len: AtomicUsize::new(0),
            owned: Mutex::new(Slab::new()),
            parked: AtomicBool::new(false),
            block_on_woken: AtomicBool::new(false),
            is_shutdown: AtomicBool::new(false),
            blocking,
            local: OnceLock::new(),
            metrics: WorkerMetrics::default(),
        });
        let core = Box::new(Core {
            run_queue: VecDeque::with_capacity(256),
            events: Vec::with_capacity(1024),
            wake_list: Vec::with_capacity(64),
        });
        Ok(CurrentThread {
            shared,
            core: Mutex::new(Some(core)),
            core_waiters: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Runs the loop until `future` completes.
    #[track_caller]
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let Some(_in_loop) = crate::polling::enter_loop() else {
            panic!("{}", crate::polling::NESTED_BLOCK_ON);
        };
        let core = lock(&self.core).take();
        match core {
            Some(core) => RunningLoop::start(self, core).run(future),
            None => self.block_on_waiting(future),
        }
    }

    /// `block_on` while another thread drives the loop: polls `future` here whenever its waker
    /// fires (the driving thread runs the tasks and the I/O), and takes the core over, with
    /// the future unfinished, as soon as the other thread hands it back.
    #[cold]
    fn block_on_waiting<F: Future>(&self, future: F) -> F::Output {
        let me = std::thread::current();
        let state = crate::park::ThreadWaker::new();
        let waker = Waker::from(state.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if state.take_woken() {
                crate::polling::start_poll(0);
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            // Registered before the core is looked at: a hand-back after the look finds us.
            {
                let mut waiters = lock(&self.core_waiters);
                if !waiters.iter().any(|t| t.id() == me.id()) {
                    waiters.push(me.clone());
                }
            }
            let core = lock(&self.core).take();
            if let Some(core) = core {
                return RunningLoop::start(self, core).run(future.as_mut());
            }
            // Spurious returns are fine: both conditions are checked again.
            std::thread::park();
        }
    }

    /// Drops every task (cancelling it) and fails every remaining I/O registration. The
    /// caller has entered the runtime, so the futures dropped here can still reach it.
    pub(crate) fn shutdown(&self) {
        let shared = &self.shared;
        let queued = {
            let mut injection = lock(&shared.injection);
            injection.is_shutdown = true;
            shared.is_shutdown.store(true, Ordering::SeqCst);
            shared.injection_len.store(0, Ordering::SeqCst);
            std::mem::take(&mut injection.queue)
        };
        drop(queued);
        // Dropping a future may spawn (refused now) or complete other tasks; loop until none
        // is left.
        loop {
            let tasks = std::mem::take(&mut *lock(&shared.owned));
            if tasks.is_empty() {
                break;
            }
            for (_, task) in tasks {
                task.shutdown();
            }
        }
        if let Some(core) = lock(&self.core).as_mut() {
            core.run_queue.clear();
        }
        shared.timers.shutdown();
        shared.reactor.shutdown();
    }
}

/// The running loop: owns the core while `block_on` runs and gives it back when it ends,
/// also when it unwinds.
struct RunningLoop<'a> {
    shared: &'a Arc<Shared>,
    core: Option<Box<Core>>,
    scheduler: &'a CurrentThread,
    /// When the loop last started or woke (the busy time of `RuntimeMetrics`).
    busy_since: std::time::Instant,
    /// Whether this thread already deferred wakes before this loop started (`wake::defer`).
    was_deferring: bool,
}

impl<'a> RunningLoop<'a> {
    fn start(scheduler: &'a CurrentThread, mut core: Box<Core>) -> RunningLoop<'a> {
        let shared = &scheduler.shared;
        LOCAL.with(|cx| {
            std::mem::swap(&mut *cx.run_queue.borrow_mut(), &mut core.run_queue);
            cx.running_loop.set(Arc::as_ptr(shared));
        });
        RunningLoop {
            shared,
            core: Some(core),
            scheduler,
            busy_since: std::time::Instant::now(),
            was_deferring: crate::wake::start_deferring(),
        }
    }

    fn run<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = pin!(future);
        let waker = Waker::from(Arc::new(BlockOnWaker { shared: self.shared.clone() }));
        let mut cx = Context::from_waker(&waker);
        self.shared.block_on_woken.store(true, Ordering::SeqCst);
        // The slow-poll detector's and the console's hooks for this loop's polls (`None`
        // while they are off): a local, which stays in a register across the polls.
        let hooks = crate::slow_poll::Hooks::for_loop(Some(Arc::as_ptr(self.shared) as usize));
        let mut tick: usize = 0;
        loop {
            if self.shared.block_on_woken.swap(false, Ordering::SeqCst) {
                crate::polling::start_poll(0);
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            // The batch runs even when the block_on future is already woken again: a future
            // that wakes itself (yield_now, an exhausted budget) must not starve the tasks.
            if let Some(hooks) = &hooks {
                hooks.batch_starts(LOCAL.with(|cx| cx.run_queue.borrow().len()));
            }
            for _ in 0..BATCH {
                tick = tick.wrapping_add(1);
                let Some(task) = self.next_task(tick) else { break };
                super::run(task, hooks.as_ref());
            }
            if self.is_idle() {
                self.park();
            } else {
                self.poll_reactor(Some(Duration::ZERO));
            }
        }
    }

    /// The next task to run: from the local queue, except that the injection queue is moved
    /// over every INJECTION_INTERVAL ticks, and whenever the local queue is empty.
    fn next_task(&self, tick: usize) -> Option<TaskRef> {
        if tick % INJECTION_INTERVAL == 0 {
            self.drain_injection();
        }
        let task = LOCAL.with(|cx| cx.run_queue.borrow_mut().pop_front());
        task.or_else(|| {
            self.drain_injection();
            LOCAL.with(|cx| cx.run_queue.borrow_mut().pop_front())
        })
    }

    fn drain_injection(&self) {
        if self.shared.injection_len.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut injection = lock(&self.shared.injection);
        self.shared.injection_len.store(0, Ordering::SeqCst);
        LOCAL.with(|cx| cx.run_queue.borrow_mut().extend(injection.queue.drain(..)));
    }

    /// Sleeps in `epoll_wait` until an event, a remote wake, or the earliest timer; around
    /// it, the builder's park hooks. Work the park hook makes (a task it spawns or wakes) is
    /// run instead, after one look at the reactor and the timers (as tokio).
    fn park(&mut self) {
        let shared = self.shared;
        let hooks = shared.blocking.thread_config();
        if let Some(on_park) = &hooks.on_park {
            on_park();
            if !self.is_idle() {
                self.poll_reactor(Some(Duration::ZERO));
                return;
            }
        }
        shared.metrics.parked(self.busy_since);
        self.sleep();
        self.busy_since = shared.metrics.unparked();
        if let Some(on_unpark) = &hooks.on_unpark {
            on_unpark();
        }
    }

    fn sleep(&mut self) {
        let _parked = super::flag_guard::FlagGuard::set(&self.shared.parked);
        // Re-check after publishing `parked`: a remote wake that came before it did not see
        // the flag, so it did not write the eventfd, but its work is visible now.
        if self.shared.injection_len.load(Ordering::SeqCst) != 0
            || self.shared.block_on_woken.load(Ordering::SeqCst)
            || crate::wake::has_deferred()
        {
            return;
        }
        // Read after `parked` is published, so a timer registered from another thread is either
        // seen here or sees `parked` and wakes us (see `Shared::unpark`).
        let shared = self.shared;
        let timers = &shared.timers;
        let timeout = timers.next_deadline().map(|d| d.saturating_duration_since(timers.now()));
        match timers.clock().park(timeout, || shared.blocking.is_busy()) {
            Park::Sleep(timeout) => self.poll_reactor(timeout),
            // Paused time (timer/clock.rs): only a timer can wake us, so jump to it, unless
            // I/O is ready.
            Park::AutoAdvance => {
                self.poll_reactor(Some(Duration::ZERO));
                if self.is_idle() {
                    timers.auto_advance();
                    self.poll_reactor(Some(Duration::ZERO));
                }
            }
        }
    }

    /// Nothing to run: no task queued here or from outside, none deferred, and the `block_on`
    /// future not woken.
    fn is_idle(&self) -> bool {
        !self.shared.block_on_woken.load(Ordering::SeqCst)
            && LOCAL.with(|cx| cx.run_queue.borrow().is_empty() && cx.deferred.borrow().is_empty())
            && !crate::wake::has_deferred()
            && self.shared.injection_len.load(Ordering::SeqCst) == 0
    }

    /// Polls the reactor (waking the tasks of ready sockets), fires the due timers, then wakes
    /// the deferred tasks.
    fn poll_reactor(&mut self, timeout: Option<Duration>) {
        self.poll_reactor_and_timers(timeout);
        LOCAL.with(|cx| cx.run_queue.borrow_mut().append(&mut cx.deferred.borrow_mut()));
        if let Some(payload) = crate::wake::wake_deferred() {
            std::panic::resume_unwind(payload);
        }
    }

    fn poll_reactor_and_timers(&mut self, timeout: Option<Duration>) {
        let Some(core) = self.core.as_mut() else { return };
        let Core { events, wake_list, .. } = &mut **core;
        if let Err(e) = self.shared.reactor.poll(events, wake_list, timeout) {
            // epoll_wait on our own, valid epoll fd with a valid buffer fails only on EINTR,
            // which the reactor absorbs; anything else means the runtime itself is broken.
            panic!("minirt: the reactor failed to poll its own epoll instance: {e}");
        }
        // The clock is read after the kernel returned, so no timer fires before its deadline;
        // and only when there is a timer, so a runtime without timers never reads it.
        if self.shared.timers.next_deadline().is_none() {
            return self.wake_all();
        }
        self.shared.timers.fire_due(self.shared.timers.now(), wake_list);
        self.wake_all();
    }

    /// Wakes the tasks of the ready sockets and due timers, outside the reactor's and the
    /// timers' locks (a woken task may register or drop fds and timers). A user waker that
    /// panics does not keep the others from being woken; its panic then goes on out of
    /// `block_on`, as in tokio, with the loop's state whole: `RunningLoop`'s drop hands the core
    /// back and `Parked` clears the flag, so the runtime runs on at the next `block_on`.
    fn wake_all(&mut self) {
        let Some(core) = self.core.as_mut() else { return };
        if let Some(payload) = crate::wake::wake_all(&mut core.wake_list) {
            std::panic::resume_unwind(payload);
        }
    }
}

impl Drop for RunningLoop<'_> {
    fn drop(&mut self) {
        // Tasks that yielded just before `block_on`'s future finished are queued, not lost
        // (woken while this thread still runs the loop, they go to the run queue handed
        // back). A waker's panic here is dropped: the hook printed it, and `block_on`'s output
        // is already there to return.
        let wake = !std::thread::panicking();
        drop(crate::wake::stop_deferring(self.was_deferring, wake));
        let Some(mut core) = self.core.take() else { return };
        self.shared.metrics.stopped(self.busy_since);
        let _ = LOCAL.try_with(|cx| {
            cx.running_loop.set(std::ptr::null());
            std::mem::swap(&mut *cx.run_queue.borrow_mut(), &mut core.run_queue);
            // Queued, not lost, as the deferred wakes above.
            core.run_queue.append(&mut cx.deferred.borrow_mut());
        });
        *lock(&self.scheduler.core) = Some(core);
        // Another thread may be waiting in `block_on` to take over the loop.
        let waiters = std::mem::take(&mut *lock(&self.scheduler.core_waiters));
        for thread in waiters {
            thread.unpark();
        }
    }
}
