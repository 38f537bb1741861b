//! [`QueueInterval`]: how many polls a worker runs between two looks at the injection queue,
//! fixed or tuned from the worker's poll times (tokio's self-tuning global queue interval).

use std::time::Instant;

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
pub(super) struct QueueInterval {
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
    pub(super) fn new(fixed: Option<u32>) -> QueueInterval {
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
    pub(super) fn is_due(&mut self, tick: u32) -> bool {
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

    pub(super) fn start_batch(&mut self) {
        if self.fixed.is_none() && self.batch_start.is_none() {
            self.batch_start = Some(Instant::now());
            self.batch_polls = 0;
        }
    }

    pub(super) fn count_poll(&mut self) {
        self.batch_polls += 1;
    }

    pub(super) fn end_batch(&mut self) {
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
