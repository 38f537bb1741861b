//! Per-worker counters behind `RuntimeMetrics::worker_park_count`,
//! `worker_park_unpark_count` and `worker_total_busy_duration` (tokio's).
//!
//! A worker (or a current-thread runtime's loop) reports each time it goes to sleep for lack
//! of work (`parked`, with how long it was busy since it last woke or started) and each time
//! it wakes (`unparked`), and when it stops (`stopped`). The counters are atomics read from any
//! thread; the busy stretch's start is the worker's own (`busy_since`, kept by the caller).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Default)]
pub(crate) struct WorkerMetrics {
    park_count: AtomicU64,
    park_unpark_count: AtomicU64,
    busy_nanos: AtomicU64,
}

impl WorkerMetrics {
    /// The worker goes to sleep, after being busy since `busy_since`.
    pub(crate) fn parked(&self, busy_since: Instant) {
        self.add_busy(busy_since);
        self.park_count.fetch_add(1, Relaxed);
        self.park_unpark_count.fetch_add(1, Relaxed);
    }

    /// The worker woke: its new busy stretch starts now (returned).
    pub(crate) fn unparked(&self) -> Instant {
        self.park_unpark_count.fetch_add(1, Relaxed);
        Instant::now()
    }

    /// The worker stops (shutdown, or the loop hands its core back), busy since `busy_since`.
    pub(crate) fn stopped(&self, busy_since: Instant) {
        self.add_busy(busy_since);
    }

    fn add_busy(&self, since: Instant) {
        let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(nanos, Relaxed);
    }

    pub(crate) fn park_count(&self) -> u64 {
        self.park_count.load(Relaxed)
    }

    pub(crate) fn park_unpark_count(&self) -> u64 {
        self.park_unpark_count.load(Relaxed)
    }

    pub(crate) fn total_busy_duration(&self) -> Duration {
        Duration::from_nanos(self.busy_nanos.load(Relaxed))
    }
}
