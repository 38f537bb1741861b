//! [`RuntimeMetrics`]: a runtime's load, read from its scheduler and blocking pool.

use std::fmt;
use std::time::Duration;

use crate::scheduler;

/// Counters describing a runtime's load, read at the moment of the call. Tokio's
/// `runtime::RuntimeMetrics`.
#[derive(Clone)]
pub struct RuntimeMetrics {
    pub(super) handle: scheduler::Handle,
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

    /// How many times worker `worker` went to sleep for lack of work.
    ///
    /// # Panics
    /// If `worker` is not below `num_workers()`.
    #[track_caller]
    pub fn worker_park_count(&self, worker: usize) -> u64 {
        self.handle.worker_metrics(worker).park_count()
    }

    /// How many times worker `worker` went to sleep plus how many times it woke: odd while it
    /// sleeps, even while it works.
    ///
    /// # Panics
    /// If `worker` is not below `num_workers()`.
    #[track_caller]
    pub fn worker_park_unpark_count(&self, worker: usize) -> u64 {
        self.handle.worker_metrics(worker).park_unpark_count()
    }

    /// How long worker `worker` has been awake (running tasks or looking for some), in all,
    /// up to its last sleep (or its stop).
    ///
    /// # Panics
    /// If `worker` is not below `num_workers()`.
    #[track_caller]
    pub fn worker_total_busy_duration(&self, worker: usize) -> Duration {
        self.handle.worker_metrics(worker).total_busy_duration()
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
