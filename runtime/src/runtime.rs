//! The user-facing runtime: [`Builder`], [`Runtime`], [`Handle`] and [`spawn`], with tokio's
//! names.
//!
//! A `Runtime` owns a scheduler (see `scheduler`), which owns a reactor (see `reactor`).
//! `block_on` runs the scheduler's loop on the calling thread until the given future completes;
//! `spawn` hands a future to the scheduler as a task. Dropping the `Runtime` drops every task
//! it still owns (their `JoinHandle`s report cancellation) and fails the I/O resources that
//! outlive it with an error rather than leaving them waiting forever.

use std::fmt;
use std::future::Future;
use std::io;

use std::sync::Arc;
use std::time::Duration;

use crate::context;
use crate::scheduler::blocking::{BlockingPool, ThreadConfig};
use crate::scheduler::multi_thread::{self, MultiThread};
use crate::scheduler::{self, current_thread::Scheduler};
use crate::task::JoinHandle;

mod local;
pub use local::{LocalOptions, LocalRuntime};

/// Which scheduler a [`Builder`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Configures and builds a [`Runtime`]. Tokio's `runtime::Builder`.
///
/// ```
/// let rt = minirt::runtime::Builder::new_current_thread().enable_all().build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Builder {
    flavor: Flavor,
    worker_threads: Option<usize>,
    thread: ThreadConfig,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    event_interval: u32,
    global_queue_interval: Option<u32>,
    start_paused: bool,
    slow_poll_threshold: Option<Duration>,
    console: Option<std::net::SocketAddr>,
}

impl Builder {
    /// A runtime whose tasks all run on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(Flavor::CurrentThread)
    }

    /// A runtime whose tasks run on a pool of worker threads that steal work from each other
    /// (`worker_threads`, default: one per CPU). `block_on` runs its future on the calling
    /// thread, the tasks on the workers.
    pub fn new_multi_thread() -> Builder {
        Builder::new(Flavor::MultiThread)
    }

    fn new(flavor: Flavor) -> Builder {
        Builder {
            flavor,
            worker_threads: None,
            thread: ThreadConfig {
                runtime_name: None,
                name: Arc::new(|| "minirt-runtime-worker".to_owned()),
                stack_size: None,
                on_start: None,
                on_stop: None,
            },
            max_blocking_threads: 512,
            thread_keep_alive: Duration::from_secs(10),
            event_interval: 61,
            global_queue_interval: None,
            start_paused: false,
            slow_poll_threshold: None,
            console: None,
        }
    }

    /// The number of worker threads of a multi-thread runtime (default: the number of CPUs).
    /// Ignored by the current-thread runtime.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n > 0, "worker_threads must be greater than 0");
        self.worker_threads = Some(n);
        self
    }

    /// The most threads the blocking pool (`spawn_blocking`) runs at once (default 512); more
    /// blocking tasks wait in its queue.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n > 0, "Max blocking threads cannot be set to 0");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits (default 10 s).
    pub fn thread_keep_alive(&mut self, duration: Duration) -> &mut Builder {
        self.thread_keep_alive = duration;
        self
    }

    /// Names the runtime (tokio's `Builder::name`): [`Handle::name`] gives it back, so code
    /// running on several runtimes can tell them apart. Thread names are [`thread_name`]'s.
    ///
    /// # Panics
    /// If `name` is empty or white space only.
    ///
    /// [`thread_name`]: Builder::thread_name
    #[track_caller]
    pub fn name(&mut self, name: impl Into<String>) -> &mut Builder {
        let name = name.into();
        assert!(!name.trim().is_empty(), "runtime name shouldn't be empty");
        self.thread.runtime_name = Some(name.into());
        self
    }

    /// The name of every thread the runtime spawns (default `minirt-runtime-worker`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        let name: String = name.into();
        self.thread.name = Arc::new(move || name.clone());
        self
    }

    /// A function that names each thread the runtime spawns.
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.thread.name = Arc::new(f);
        self
    }

    /// The stack size of every thread the runtime spawns (default: std's).
    pub fn thread_stack_size(&mut self, size: usize) -> &mut Builder {
        self.thread.stack_size = Some(size);
        self
    }

    /// Runs `f` on every thread the runtime spawns (workers and blocking threads), as it starts.
    pub fn on_thread_start<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.thread.on_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on every thread the runtime spawns, as it stops.
    pub fn on_thread_stop<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.thread.on_stop = Some(Arc::new(f));
        self
    }

    /// Scheduler ticks (tasks run) between two looks at the I/O driver and the timers while
    /// tasks keep a worker busy (default 61).
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn event_interval(&mut self, n: u32) -> &mut Builder {
        assert!(n > 0, "event_interval must be greater than 0");
        self.event_interval = n;
        self
    }

    /// Scheduler ticks between two looks at the global (injection) queue while the local one
    /// has work (default 31 on the current-thread runtime; on the multi-thread one, each
    /// worker tunes it from its poll times, 2 to 127, unless it is set here).
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Builder {
        assert!(n > 0, "global_queue_interval must be greater than 0");
        self.global_queue_interval = Some(n);
        self
    }

    /// Accepted for tokio compatibility: I/O and time are always enabled in minirt.
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Accepted for tokio compatibility: I/O is always enabled in minirt.
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// Accepted for tokio compatibility: time is always enabled in minirt.
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Starts the runtime with its clock paused, as if [`time::pause`](crate::time::pause)
    /// were the first thing it ran: for tests of timeouts and intervals that should take no
    /// real time. Tokio's `Builder::start_paused` (which needs its `test-util` feature;
    /// minirt's is always there). Only for the current-thread runtime.
    ///
    /// ```
    /// use minirt::time::{Duration, Instant};
    /// let rt = minirt::runtime::Builder::new_current_thread().start_paused(true).build()?;
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     minirt::time::sleep(Duration::from_secs(60)).await; // returns at once
    ///     assert_eq!(start.elapsed(), Duration::from_secs(60));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    /// `build` panics if this is set on a multi-thread builder (as tokio's does).
    pub fn start_paused(&mut self, start_paused: bool) -> &mut Builder {
        self.start_paused = start_paused;
        self
    }

    /// Turns on the slow-poll detector (not in tokio): a task's poll that runs longer than
    /// `threshold` is reported on stderr with the task's id, name and spawn location, while it
    /// still runs (at the threshold, then at 2×, 4×, ...) and when it returns. The setting is
    /// process-wide, like the `MINIRT_SLOW_POLL` environment variable (`10ms`, `500us`, `1s`)
    /// that turns it on for every runtime; the first threshold set wins.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = minirt::runtime::Builder::new_multi_thread()
    ///     .slow_poll_threshold(Duration::from_millis(50))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Builder {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Turns on the live console (not in tokio): a page at `http://addr/` and JSON under
    /// `/api/` that show the tasks, workers, reactor, timers and blocking pool, served from a
    /// thread of its own. Process-wide, like the `MINIRT_CONSOLE` environment variable
    /// (`127.0.0.1:6669`): the first address set wins, and every runtime built afterwards is
    /// shown. It says where it listens on stderr (port 0 picks a free one).
    ///
    /// ```no_run
    /// let rt = minirt::runtime::Builder::new_multi_thread()
    ///     .console(([127, 0, 0, 1], 6669))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn console(&mut self, addr: impl Into<std::net::SocketAddr>) -> &mut Builder {
        self.console = Some(addr.into());
        self
    }

    /// Creates the runtime: an epoll instance and an eventfd (and, for the multi-thread
    /// flavor, its worker threads). Fails if the process is out of file descriptors or threads.
    ///
    /// # Panics
    /// With [`Builder::start_paused`] on a multi-thread builder.
    #[track_caller]
    pub fn build(&mut self) -> io::Result<Runtime> {
        if self.start_paused && self.flavor == Flavor::MultiThread {
            panic!(
                "`start_paused` requires the `current_thread` minirt runtime: time can be \
                 paused only where one thread runs every task (use \
                 `Builder::new_current_thread`)"
            );
        }
        crate::slow_poll::enable_from_env();
        crate::console::enable(self.console);
        if let Some(threshold) = self.slow_poll_threshold {
            crate::slow_poll::enable(threshold);
        }
        let blocking = BlockingPool::new(
            self.max_blocking_threads,
            self.thread_keep_alive,
            self.thread.clone(),
        );
        let scheduler = match self.flavor {
            Flavor::CurrentThread => Kind::CurrentThread(Scheduler::new(blocking.clone())?),
            Flavor::MultiThread => {
                let worker_threads = self.worker_threads.unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
                });
                let config = multi_thread::Config {
                    worker_threads,
                    event_interval: self.event_interval,
                    global_queue_interval: self.global_queue_interval,
                    thread: self.thread.clone(),
                };
                Kind::MultiThread(MultiThread::new(config, blocking.clone())?)
            }
        };
        if let Kind::CurrentThread(scheduler) = &scheduler {
            let clock = scheduler.shared().timers().clock();
            clock.allow_pausing();
            if self.start_paused {
                // Cannot fail: a new current-thread clock is pausable and running.
                let _ = clock.pause();
            }
        }
        let handle = Handle { inner: inner_handle(&scheduler) };
        crate::console::runtime_built(&handle.inner);
        Ok(Runtime { scheduler, handle, flavor: self.flavor, blocking, is_shut_down: false })
    }
}

impl Builder {
    /// Creates a [`LocalRuntime`]: a current-thread runtime on which `task::spawn_local`
    /// works without a `LocalSet`. Tokio's `Builder::build_local`.
    ///
    /// # Panics
    /// On a multi-thread builder, as tokio's.
    #[track_caller]
    pub fn build_local(&mut self, _options: LocalOptions) -> io::Result<LocalRuntime> {
        if self.flavor == Flavor::MultiThread {
            panic!("multi_thread is not supported for LocalRuntime");
        }
        Ok(LocalRuntime::from_runtime(self.build()?))
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("worker_threads", &self.worker_threads)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("start_paused", &self.start_paused)
            .finish_non_exhaustive()
    }
}

/// The handle through which the rest of the runtime reaches `scheduler`.
fn inner_handle(scheduler: &Kind) -> scheduler::Handle {
    match scheduler {
        Kind::CurrentThread(scheduler) => {
            scheduler::Handle::CurrentThread(scheduler.shared().clone())
        }
        Kind::MultiThread(scheduler) => scheduler.handle(),
    }
}

/// The scheduler a runtime runs.
enum Kind {
    CurrentThread(Scheduler),
    MultiThread(MultiThread),
}

/// An async runtime: a reactor and a scheduler. Tokio's `Runtime`.
pub struct Runtime {
    scheduler: Kind,
    /// Returned by reference from `handle()`, as tokio's.
    handle: Handle,
    /// What the builder asked for.
    flavor: Flavor,
    blocking: BlockingPool,
    /// `shutdown_timeout` already did everything the drop would.
    is_shut_down: bool,
}

impl Runtime {
    /// A multi-thread runtime with default settings, as tokio's `Runtime::new`.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// Runs `future` to completion on this thread. On a current-thread runtime this thread runs
    /// the spawned tasks and the I/O meanwhile; if another thread is already doing so (inside
    /// its own `block_on`), this one waits, polling `future` when it is woken, and takes the
    /// loop over when the other returns. On a multi-thread runtime the workers run the tasks
    /// and this thread sleeps between polls of `future`.
    ///
    /// # Panics
    /// When called from inside a runtime (from a task, or inside another `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.scheduler {
            Kind::CurrentThread(scheduler) => scheduler.block_on(future),
            Kind::MultiThread(scheduler) => scheduler::block_on_parked(&scheduler.handle(), future),
        }
    }

    /// Spawns a task on this runtime. It runs when a thread drives the runtime (`block_on`).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.scheduler {
            Kind::CurrentThread(scheduler) => scheduler.shared().spawn(future),
            Kind::MultiThread(scheduler) => scheduler.shared().spawn(future),
        }
    }

    /// Runs `func` on this runtime's blocking pool. See [`crate::task::spawn_blocking`].
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner_handle().spawn_blocking(func)
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    fn inner_handle(&self) -> scheduler::Handle {
        self.handle.inner.clone()
    }

    /// Makes this the current runtime of the thread until the guard drops, so `spawn`,
    /// `Handle::current` and socket constructors work outside `block_on`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Counters that describe this runtime's load.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle().metrics()
    }

    /// Shuts the runtime down and waits at most `duration` for its blocking tasks: those still
    /// running then are detached (their threads exit when their closures return).
    pub fn shutdown_timeout(mut self, duration: Duration) {
        // Allowed inside an asynchronous context (unlike the drop): the caller chose to block
        // for at most `duration`.
        self.shutdown_scheduler(Some(duration), false);
        self.blocking.shutdown(Some(duration));
        // The drop that follows has nothing left to wait for.
        self.is_shut_down = true;
    }

    /// Shuts the runtime down without waiting for its blocking tasks.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    fn shutdown_scheduler(&mut self, timeout: Option<Duration>, check_context: bool) {
        // Shutting down drops every task of this runtime right here; inside another runtime's
        // loop that would block it, and tokio refuses it the same way.
        if check_context && context::is_driving() && !std::thread::panicking() {
            panic!(
                "Cannot drop a runtime in a context where blocking is not allowed. This happens \
                 when a runtime is dropped from within an asynchronous context."
            );
        }
        match &self.scheduler {
            Kind::CurrentThread(scheduler) => scheduler.shutdown(),
            Kind::MultiThread(scheduler) => scheduler.shutdown(timeout),
        }
    }
}

// Shared state behind these handles is kept consistent across panics (a panicking task is
// caught and reported through its JoinHandle; locks are taken poison-tolerant), so a
// `catch_unwind` closure may hold them, as with tokio's.
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}
impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.is_shut_down {
            return;
        }
        self.shutdown_scheduler(None, true);
        // As tokio: the blocking tasks that are running are waited for.
        self.blocking.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("flavor", &self.flavor).finish_non_exhaustive()
    }
}

/// Counters describing a runtime's load, read at the moment of the call. Tokio's
/// `runtime::RuntimeMetrics`.
#[derive(Clone)]
pub struct RuntimeMetrics {
    handle: scheduler::Handle,
}

impl RuntimeMetrics {
    /// The number of worker threads (1 for the current-thread runtime).
    pub fn num_workers(&self) -> usize {
        self.handle.num_workers()
    }

    /// Tasks spawned and not yet finished.
    pub fn num_alive_tasks(&self) -> usize {
        self.handle.num_alive_tasks()
    }

    /// Tasks waiting in the global (injection) queue: scheduled from outside the workers.
    pub fn global_queue_depth(&self) -> usize {
        self.handle.injection_depth()
    }

    /// Threads alive in the blocking pool.
    pub fn num_blocking_threads(&self) -> usize {
        self.handle.blocking().num_threads()
    }

    /// Blocking-pool threads waiting for work.
    pub fn num_idle_blocking_threads(&self) -> usize {
        self.handle.blocking().num_idle_threads()
    }

    /// Blocking tasks waiting for a thread.
    pub fn blocking_queue_depth(&self) -> usize {
        self.handle.blocking().queue_depth()
    }
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("num_workers", &self.num_workers())
            .field("num_alive_tasks", &self.num_alive_tasks())
            .field("global_queue_depth", &self.global_queue_depth())
            .field("num_blocking_threads", &self.num_blocking_threads())
            .finish()
    }
}

/// The guard returned by [`Runtime::enter`] and [`Handle::enter`].
pub struct EnterGuard<'a> {
    _guard: context::EnterGuard,
    /// Borrows the runtime or handle it entered, as tokio's.
    _entered: std::marker::PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// A cloneable reference to a runtime, for spawning onto it from anywhere. Tokio's `Handle`.
#[derive(Clone)]
pub struct Handle {
    inner: scheduler::Handle,
}

impl Handle {
    /// The runtime this thread is running in.
    ///
    /// # Panics
    /// Outside a runtime (see [`Handle::try_current`]).
    pub fn current() -> Handle {
        Handle { inner: context::current() }
    }

    /// The runtime this thread is running in, or an error outside one.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::try_current().map(|inner| Handle { inner }).ok_or(TryCurrentError(()))
    }

    /// Spawns a task on this handle's runtime; callable from any thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }

    /// Runs `future` to completion on this thread, in this runtime (so it can spawn, do I/O
    /// and sleep). The thread sleeps between polls; on a multi-thread runtime its workers run
    /// the tasks and the I/O, on a current-thread runtime only a thread inside
    /// `Runtime::block_on` does (as in tokio).
    ///
    /// # Panics
    /// Inside a runtime's asynchronous context (a task, or another `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        scheduler::block_on_parked(&self.inner, future)
    }

    /// Makes this the current runtime of the thread until the guard drops (tokio's
    /// `Handle::enter`), from any thread: `spawn`, `Handle::current` and socket constructors
    /// then reach it.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::enter(self.inner.clone()),
            _entered: std::marker::PhantomData,
        }
    }

    /// Runs `func` on this runtime's blocking pool; callable from any thread.
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(func)
    }

    /// Counters that describe this runtime's load.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics { handle: self.inner.clone() }
    }

    /// An identifier of this runtime, unique among the runtimes alive.
    pub fn id(&self) -> Id {
        Id(self.inner.id())
    }

    /// The name given with [`Builder::name`], if any (tokio's `Handle::name`).
    pub fn name(&self) -> Option<&str> {
        self.inner.blocking().runtime_name()
    }

    /// Which scheduler this runtime has (tokio's `Handle::runtime_flavor`).
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        match self.inner {
            scheduler::Handle::CurrentThread(_) => RuntimeFlavor::CurrentThread,
            scheduler::Handle::MultiThread(_) => RuntimeFlavor::MultiThread,
        }
    }
}

/// Which scheduler a runtime has ([`Handle::runtime_flavor`]). Tokio's `RuntimeFlavor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// Every task runs on the thread inside `block_on` ([`Builder::new_current_thread`]).
    CurrentThread,
    /// Tasks run on a pool of workers ([`Builder::new_multi_thread`]).
    MultiThread,
}

/// An identifier of a runtime, unique among the runtimes alive. Tokio's `runtime::Id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Id(usize);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// Returned by [`Handle::try_current`] outside a runtime.
#[derive(Debug)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("there is no minirt runtime on this thread")
    }
}

impl std::error::Error for TryCurrentError {}

/// Whether `err` is the error of an I/O operation refused because its runtime has shut down
/// (registering a socket with a runtime that shut down, or using one whose runtime did): tokio's
/// `runtime::is_rt_shutdown_err`, to tell that case from the network's errors.
pub fn is_rt_shutdown_err(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<RuntimeShutDown>())
}

/// The error [`is_rt_shutdown_err`] recognises, for minirt's own crates (minirt-net's stdio,
/// whose blocking jobs the pool's shutdown cancels). Not public API.
#[doc(hidden)]
pub fn shutdown_error(what: &'static str) -> io::Error {
    RuntimeShutDown::error(what)
}

/// What an [`io::Error`] of [`is_rt_shutdown_err`] carries: which operation the shutdown
/// refused.
#[derive(Debug)]
pub(crate) struct RuntimeShutDown(pub(crate) &'static str);

impl RuntimeShutDown {
    pub(crate) fn error(what: &'static str) -> io::Error {
        io::Error::other(RuntimeShutDown(what))
    }
}

impl fmt::Display for RuntimeShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for RuntimeShutDown {}

/// Spawns a task on the current runtime and returns a handle to await its output.
///
/// The task starts running at the runtime's next scheduling point; dropping the handle
/// detaches it.
///
/// # Panics
/// Outside a runtime: call it from a task, inside `block_on`, or after `Runtime::enter`. The
/// panic names the caller's line (`#[track_caller]`), as tokio's.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::current().spawn(future)
}

/// Runs the blocking closure `func` right here, in the middle of a task, without stalling the
/// other tasks of this worker: on a multi-thread runtime this worker's queue is handed to a new
/// worker thread first, and this thread stops being a worker once the task's poll ends.
/// Tokio's `task::block_in_place`. The cooperative budget does not apply inside `func`, and
/// `func` may `block_on` another runtime.
///
/// Outside any runtime it simply calls `func`.
///
/// # Panics
/// On a current-thread runtime (there is no other thread to hand the tasks to).
#[track_caller]
pub fn block_in_place<F, R>(func: F) -> R
where
    F: FnOnce() -> R,
{
    let handed_off = multi_thread::worker::hand_off_core();
    // Not a worker holding a core: fine anywhere (a plain thread, `Handle::block_on`, a
    // thread already in `block_in_place`) except the loop of a current-thread runtime.
    if handed_off.is_none() && scheduler::current_thread::is_driving_any() {
        panic!(
            "can call blocking only when running on the multi-threaded runtime \
             (`block_in_place` on a current-thread runtime)"
        );
    }
    let _suspended = context::suspend_driving();
    // Dropped first, when `func` returns or unwinds: takes the core back if it is still
    // waiting for its pool thread.
    let _handed_off = handed_off;
    func()
}

/// Runs a blocking closure on the current runtime's blocking pool, and returns a handle to
/// await its result. Tokio's `task::spawn_blocking`.
///
/// The closure runs on a thread of its own (a pool thread, spawned on demand up to
/// `Builder::max_blocking_threads` and kept `Builder::thread_keep_alive` when idle), so it may
/// block without stalling any task. A panic in it is reported through the handle. It cannot be
/// aborted once it started; `abort()` before that keeps it from running.
///
/// # Panics
/// Outside a runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(func: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    context::current().spawn_blocking(func)
}
