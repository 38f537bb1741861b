//! The runtime (tokio's `tokio::runtime`): minirt's `Runtime` and `Handle`, built by a
//! [`Builder`] that takes every tokio knob.
//!
//! The builder is a thin wrapper over minirt's: knobs minirt has are passed on; knobs that
//! only tune tokio's internals (`max_io_events_per_tick`, `disable_lifo_slot`...) are
//! accepted and recorded, since minirt always has its I/O and timer drivers and its own
//! scheduling policy. `#[tokio::main]` expands to calls on this type.

use std::fmt;
use std::io;
use std::time::Duration;

pub use minirt::runtime::{is_rt_shutdown_err, worker_index};
pub use minirt::runtime::{
    EnterGuard, Handle, Id, LocalOptions, LocalRuntime, Runtime, RuntimeFlavor, RuntimeMetrics,
    TryCurrentError,
};

/// What a runtime does when a spawned task panics (`#[tokio::main(unhandled_panic = ...)]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// The panic is caught and reported through the task's `JoinHandle` (minirt's behaviour).
    Ignore,
    /// tokio shuts the runtime down; minirt reports the panic through the `JoinHandle` too.
    ShutdownRuntime,
}

/// Builds a runtime with tokio's builder methods.
pub struct Builder {
    inner: minirt::runtime::Builder,
    unhandled_panic: UnhandledPanic,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder").field("inner", &self.inner).finish()
    }
}

macro_rules! pass_on {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        $(#[$doc])*
        pub fn $name(&mut self, $($arg: $ty),*) -> &mut Self {
            self.inner.$name($($arg),*);
            self
        }
    )*};
}

impl Builder {
    /// A single-threaded runtime.
    pub fn new_current_thread() -> Builder {
        Builder {
            inner: minirt::runtime::Builder::new_current_thread(),
            unhandled_panic: UnhandledPanic::Ignore,
        }
    }

    /// A runtime with a pool of worker threads.
    pub fn new_multi_thread() -> Builder {
        Builder {
            inner: minirt::runtime::Builder::new_multi_thread(),
            unhandled_panic: UnhandledPanic::Ignore,
        }
    }

    /// How many worker threads (multi-thread runtimes); 0 panics, as in tokio.
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "Worker threads cannot be set to 0");
        self.inner.worker_threads(n);
        self
    }

    /// The most threads the blocking pool starts; 0 panics, as in tokio.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "Max blocking threads cannot be set to 0");
        self.inner.max_blocking_threads(n);
        self
    }

    /// How many tasks run between two looks at epoll; 0 panics, as in tokio.
    #[track_caller]
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "event_interval must be greater than 0");
        self.inner.event_interval(n);
        self
    }

    /// How many local tasks run between two looks at the shared queue; 0 panics, as in
    /// tokio.
    #[track_caller]
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "global_queue_interval must be greater than 0");
        self.inner.global_queue_interval(n);
        self
    }

    pass_on! {
        /// How long an idle blocking thread waits for work.
        thread_keep_alive(duration: Duration);
        /// The worker threads' stack size.
        thread_stack_size(size: usize);
        /// Enables the I/O and time drivers (always on in minirt).
        enable_all();
        /// Enables the I/O driver (always on in minirt).
        enable_io();
        /// Enables the time driver (always on in minirt).
        enable_time();
        /// Starts with the clock paused (current-thread runtimes).
        start_paused(start_paused: bool);
    }

    /// Accepted for compatibility: minirt's LIFO slot is part of its scheduler.
    pub fn disable_lifo_slot(&mut self) -> &mut Self {
        self
    }

    /// Accepted for compatibility (minirt's reactor sizes its event batch itself); 0 panics,
    /// as in tokio.
    #[track_caller]
    pub fn max_io_events_per_tick(&mut self, capacity: usize) -> &mut Self {
        assert!(capacity > 0, "max_io_events_per_tick must be non-zero");
        self
    }

    /// Accepted for compatibility, like [`Builder::max_io_events_per_tick`]; 0 panics.
    #[track_caller]
    pub fn max_io_events_per_busy_tick(&mut self, capacity: usize) -> &mut Self {
        assert!(capacity > 0, "max_io_events_per_busy_tick must be non-zero");
        self
    }

    /// The runtime's name (`Handle::name`); a blank one panics, as in tokio.
    #[track_caller]
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        assert!(!name.trim().is_empty(), "runtime name shouldn't be empty");
        self.inner.name(name);
        self
    }

    /// The worker threads' name.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.inner.thread_name(name);
        self
    }

    /// The worker threads' names, one call per thread.
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.inner.thread_name_fn(f);
        self
    }

    /// Called on each worker and blocking thread when it starts.
    pub fn on_thread_start<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.inner.on_thread_start(f);
        self
    }

    /// Called on each worker and blocking thread when it stops.
    pub fn on_thread_stop<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.inner.on_thread_stop(f);
        self
    }

    /// Called on a worker (or a current-thread runtime's loop) before it sleeps for lack of
    /// work.
    pub fn on_thread_park<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.inner.on_thread_park(f);
        self
    }

    /// Called on a worker (or a current-thread runtime's loop) when it wakes from that sleep.
    pub fn on_thread_unpark<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.inner.on_thread_unpark(f);
        self
    }

    /// What to do when a task panics; minirt always reports the panic through the task's
    /// `JoinHandle`.
    pub fn unhandled_panic(&mut self, behavior: UnhandledPanic) -> &mut Self {
        self.unhandled_panic = behavior;
        self
    }

    /// Builds the runtime.
    pub fn build(&mut self) -> io::Result<Runtime> {
        self.inner.build()
    }

    /// Builds a runtime whose `block_on` may run `!Send` tasks (`flavor = "local"`).
    pub fn build_local(&mut self, options: LocalOptions) -> io::Result<LocalRuntime> {
        self.inner.build_local(options)
    }
}
