//! [`Builder`]: a runtime's settings, and `build`, which makes the scheduler, its blocking
//! pool and the [`Runtime`] that owns them.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::context;
use crate::scheduler::blocking::{BlockingPool, ThreadConfig};
use crate::scheduler::current_thread::CurrentThread;
use crate::scheduler::multi_thread::{self, MultiThread};

use super::runtime::{inner_handle, Scheduler};
use super::{Handle, Runtime, RuntimeFlavor};

/// Configures and builds a [`Runtime`]. Tokio's `runtime::Builder`.
///
/// ```
/// let rt = minirt::runtime::Builder::new_current_thread().enable_all().build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Builder {
    pub(super) flavor: RuntimeFlavor,
    pub(super) worker_threads: Option<usize>,
    pub(super) thread: ThreadConfig,
    pub(super) max_blocking_threads: usize,
    pub(super) thread_keep_alive: Duration,
    pub(super) event_interval: u32,
    pub(super) global_queue_interval: Option<u32>,
    pub(super) start_paused: bool,
    pub(super) slow_poll_threshold: Option<Duration>,
    pub(super) console: Option<std::net::SocketAddr>,
}

/// Declares the setters of the thread hooks: each keeps `f`, shared by every thread.
macro_rules! thread_hooks {
    ($($(#[$doc:meta])* $name:ident => $field:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name<F>(&mut self, f: F) -> &mut Builder
        where
            F: Fn() + Send + Sync + 'static,
        {
            self.thread.$field = Some(Arc::new(f));
            self
        }
    )*};
}

impl Builder {
    /// A runtime whose tasks all run on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(RuntimeFlavor::CurrentThread)
    }

    /// A runtime whose tasks run on a pool of worker threads that steal work from each other
    /// (`worker_threads`, default: one per CPU). `block_on` runs its future on the calling
    /// thread, the tasks on the workers.
    pub fn new_multi_thread() -> Builder {
        Builder::new(RuntimeFlavor::MultiThread)
    }

    fn new(flavor: RuntimeFlavor) -> Builder {
        Builder {
            flavor,
            worker_threads: None,
            thread: ThreadConfig {
                runtime_name: None,
                name: Arc::new(|| "minirt-runtime-worker".to_owned()),
                stack_size: None,
                on_start: None,
                on_stop: None,
                on_park: None,
                on_unpark: None,
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

    thread_hooks! {
        /// Runs `f` on every thread the runtime spawns (workers and blocking threads), as it
        /// starts.
        on_thread_start => on_start;
        /// Runs `f` on every thread the runtime spawns, as it stops.
        on_thread_stop => on_stop;
        /// Runs `f` on a worker thread (or the thread running a current-thread runtime's loop)
        /// each time it is about to sleep for lack of work, as tokio's `on_thread_park`. Work
        /// `f` makes (a task it spawns or wakes) is run instead of sleeping.
        on_thread_park => on_park;
        /// Runs `f` on a worker thread each time it wakes from sleeping for lack of work, as
        /// tokio's `on_thread_unpark`.
        on_thread_unpark => on_unpark;
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
        if self.start_paused && self.flavor == RuntimeFlavor::MultiThread {
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
            RuntimeFlavor::CurrentThread => {
                Scheduler::CurrentThread(CurrentThread::new(blocking.clone())?)
            }
            RuntimeFlavor::MultiThread => {
                let worker_threads = self.worker_threads.unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
                });
                let config = multi_thread::Config {
                    worker_threads,
                    event_interval: self.event_interval,
                    global_queue_interval: self.global_queue_interval,
                    thread: self.thread.clone(),
                    enter: context::enter_multi_thread,
                };
                Scheduler::MultiThread(MultiThread::new(config, blocking.clone())?)
            }
        };
        if let Scheduler::CurrentThread(scheduler) = &scheduler {
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

// Here rather than beside `Runtime`: the runtime is what a builder makes, not the other way.
impl Runtime {
    /// A multi-thread runtime with default settings, as tokio's `Runtime::new`.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }
}
