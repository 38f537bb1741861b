//! Each thread's `Slot`: the poll in progress there (read by the watchdog and the console),
//! its counters and its own histograms.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::counters::{scale, SAMPLE};
use super::settings::enabled;
use crate::loom::{self, lock};

/// Every thread's slot that has polled a task since the detector was turned on.
static SLOTS: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

/// One thread's poll in progress and its counters, read by the watchdog and the console.
///
/// The fields the watchdog and the poll hand each other (`task`, `started`, `polls`,
/// `sighted`, `sighted_at`, `long`: see `Slot::begin` and `watchdog::observe`) are `loom`'s
/// atomics, which `loom_tests.rs` checks.
pub(crate) struct Slot {
    /// The task being polled (`Id`'s number), or 0.
    pub(crate) task: loom::AtomicU64,
    /// When its poll started, in nanoseconds since `epoch()`, if that poll is timed (else 0).
    pub(crate) started: loom::AtomicU64,
    /// Counts the polls started here: the poll in progress's sequence number, by which the
    /// watchdog tells one long poll from two.
    pub(crate) polls: loom::AtomicU64,
    /// The polls sampled here (not counting those known exactly: a task's first, the long
    /// ones), and the queueings (wake → poll) timed here: the histograms hold these,
    /// `histograms` scales them up; and the polls known exactly, in a histogram of their own.
    pub(super) timed: AtomicU64,
    pub(super) exact: AtomicU64,
    pub(super) exact_times: Histogram,
    pub(super) timed_delays: AtomicU64,
    /// Written by the watchdog: the poll (by sequence number) it saw first at `sighted_at`
    /// (its clock), and the poll it saw on two ticks (`long`), which the poll's end then
    /// times from that sighting.
    pub(super) sighted: loom::AtomicU64,
    pub(super) sighted_at: loom::AtomicU64,
    pub(super) long: loom::AtomicU64,
    pub(crate) thread: String,
    /// The multi-thread worker whose core this thread runs (-1: none, or current-thread).
    pub(crate) worker: AtomicI64,
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) unparks: AtomicU64,
    pub(crate) parked: AtomicBool,
    /// This thread holds the runtime's driver (polls the reactor and fires the timers).
    pub(crate) driver: AtomicBool,
    /// The current-thread runtime whose loop polled here last (its `Shared`'s address, never
    /// dereferenced; 0: none), the tasks its local queue held when its latest batch of polls
    /// started, and this thread's `polls` then (`Slot::loop_queue`).
    pub(crate) loop_runtime: AtomicUsize,
    pub(super) loop_queue: AtomicU64,
    pub(super) loop_polls: AtomicU64,
    /// This thread's polls' durations and scheduling delays (`histograms` adds all up): a
    /// thread's own, so that workers do not write the same cache lines at every poll.
    pub(super) poll_times: Histogram,
    pub(super) schedule_delays: Histogram,
    /// The sequence number of the next poll to sample, and the random state that picks it
    /// (`Slot::is_sampled`): only this thread uses them.
    next_sample: AtomicU64,
    random: AtomicU64,
}

/// Every thread's slot still alive, for the console.
pub(crate) fn slots() -> Vec<Arc<Slot>> {
    let mut slots = lock(&SLOTS);
    slots.retain(|slot| slot.strong_count() > 0);
    slots.iter().filter_map(Weak::upgrade).collect()
}

thread_local! {
    pub(super) static SLOT: Arc<Slot> = {
        let thread = std::thread::current();
        // Workers share a name: the id tells them apart.
        let slot = Arc::new(Slot::new(format!(
            "{} {:?}",
            thread.name().unwrap_or("(unnamed)"),
            thread.id()
        )));
        lock(&SLOTS).push(Arc::downgrade(&slot));
        slot
    };
}

impl Slot {
    /// A thread's slot, no poll in progress.
    pub(super) fn new(thread: String) -> Slot {
        // A seed of its own per thread (never 0: xorshift's one fixed point); the sample
        // only has to be independent of the order of the polls.
        static SEEDS: AtomicU64 = AtomicU64::new(0);
        let seed = SEEDS.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        Slot {
            task: loom::AtomicU64::new(0),
            started: loom::AtomicU64::new(0),
            polls: loom::AtomicU64::new(0),
            timed: AtomicU64::new(0),
            exact: AtomicU64::new(0),
            exact_times: Histogram::new(),
            timed_delays: AtomicU64::new(0),
            sighted: loom::AtomicU64::new(0),
            sighted_at: loom::AtomicU64::new(0),
            long: loom::AtomicU64::new(0),
            thread,
            worker: AtomicI64::new(-1),
            steals: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            unparks: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            driver: AtomicBool::new(false),
            loop_runtime: AtomicUsize::new(0),
            loop_queue: AtomicU64::new(0),
            loop_polls: AtomicU64::new(0),
            poll_times: Histogram::new(),
            schedule_delays: Histogram::new(),
            next_sample: AtomicU64::new(1),
            random: AtomicU64::new(seed),
        }
    }

    /// A poll of task `id` starts on this thread (only this thread calls this and `end`):
    /// published for the watchdog, a new sequence number first. Returns that number. A loop
    /// nested in a poll (a `block_on` of another runtime inside `block_in_place`) publishes
    /// nothing (`Hooks::for_loop`): the outer poll holds the thread.
    #[inline(always)]
    pub(super) fn begin(&self, id: u64) -> u64 {
        let seq = self.polls.load(Ordering::Relaxed).wrapping_add(1);
        self.polls.store(seq, Ordering::Release);
        self.task.store(id, Ordering::Release);
        seq
    }

    /// The poll `begin` published has returned: the slot is idle again. Returns its task, its
    /// sequence number and when it started if it was sampled (else 0; the caller clears it).
    /// All three are read back from the slot rather than kept across the poll.
    #[inline(always)]
    pub(super) fn end(&self) -> (u64, u64, u64) {
        let id = self.task.load(Ordering::Relaxed);
        let seq = self.polls.load(Ordering::Relaxed);
        let start = self.started.load(Ordering::Relaxed);
        self.task.store(0, Ordering::Release);
        (id, seq, start)
    }

    /// Whether poll `seq` is sampled: one in `SAMPLE` on average, a random distance apart
    /// (so that tasks polled in a fixed round are all sampled, not the same one every time).
    /// One comparison per poll; the next is picked on the sampled ones (`pick_next_sample`).
    #[inline(always)]
    pub(super) fn is_sampled(&self, seq: u64) -> bool {
        self.next_sample.load(Ordering::Relaxed) == seq
    }

    /// Picks the poll after `seq` to sample next: 1 to `2 * SAMPLE - 1` polls on (a xorshift of
    /// the thread's own state), `SAMPLE` on average.
    pub(super) fn pick_next_sample(&self, seq: u64) {
        let mut x = self.random.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.store(x, Ordering::Relaxed);
        let distance = 1 + x % (2 * SAMPLE - 1);
        self.next_sample.store(seq.wrapping_add(distance), Ordering::Relaxed);
    }

    /// The tasks queued behind the current-thread loop's poll in progress here (or its next):
    /// those its queue held when the batch started, less the polls started since. Tasks
    /// queued during the batch are not counted: at least this many wait.
    pub(crate) fn loop_queue(&self) -> u64 {
        let started = self.polls.load(Ordering::Relaxed);
        let since = started.wrapping_sub(self.loop_polls.load(Ordering::Relaxed));
        self.loop_queue.load(Ordering::Relaxed).saturating_sub(since)
    }

    /// Whether the watchdog saw poll `seq` on two ticks (then its end reads the clock).
    #[inline]
    pub(super) fn is_long(&self, seq: u64) -> bool {
        self.long.load(Ordering::Acquire) == seq
    }

    /// When the watchdog first saw poll `seq`, if it marked it long (`is_long`).
    pub(super) fn long_since(&self, seq: u64) -> Option<u64> {
        // The Acquire pairs with the watchdog's Release (`observe`), after it stored the
        // time of its first sighting.
        self.is_long(seq).then(|| self.sighted_at.load(Ordering::Relaxed))
    }
}

/// Log-2 buckets of durations: bucket i holds [2^i, 2^(i+1)) microseconds (bucket 0 also
/// everything under 1 µs).
pub(crate) const BUCKETS: usize = 24;
pub(crate) struct Histogram(pub(crate) [AtomicU64; BUCKETS]);

impl Histogram {
    const fn new() -> Histogram {
        Histogram([const { AtomicU64::new(0) }; BUCKETS])
    }
    /// Counts one duration: a plain load and store, as only the slot's own thread counts.
    pub(super) fn record(&self, nanos: u64) {
        let micros = nanos / 1000;
        let bucket = (u64::BITS - micros.leading_zeros()).saturating_sub(1) as usize;
        add(&self.0[bucket.min(BUCKETS - 1)], 1);
    }
}

/// The polls' durations and scheduling delays (wake or spawn → poll) counted on threads that
/// have exited, scaled as `histograms` scales: the live threads' own are in their `Slot`s.
static RETIRED: [Histogram; 2] = [Histogram::new(), Histogram::new()];

/// Every poll's duration and scheduling delay since the hooks were turned on, for the
/// console, estimated: each thread's timed polls and queueings, scaled to all its polls.
pub(crate) fn histograms() -> [[u64; BUCKETS]; 2] {
    let mut sums = [[0; BUCKETS]; 2];
    let count = |histogram: &Histogram, sum: &mut [u64; BUCKETS]| {
        for (sum, count) in sum.iter_mut().zip(&histogram.0) {
            *sum += count.load(Ordering::Relaxed);
        }
    };
    let scaled = |slot: &Slot, sums: &mut [[u64; BUCKETS]; 2]| {
        for (sum, count) in sums.iter_mut().zip(slot.estimate()) {
            for (sum, count) in sum.iter_mut().zip(count) {
                *sum += count;
            }
        }
    };
    // Under SLOTS' lock, so a thread that exits meanwhile is counted once (`Slot::drop`
    // takes it too). The slots are let go after it: the last reference to one runs its drop.
    let slots: Vec<Arc<Slot>> = {
        let slots = lock(&SLOTS);
        for (histogram, sum) in RETIRED.iter().zip(&mut sums) {
            count(histogram, sum);
        }
        let live: Vec<Arc<Slot>> = slots.iter().filter_map(Weak::upgrade).collect();
        for slot in &live {
            scaled(slot, &mut sums);
        }
        live
    };
    drop(slots);
    sums
}

impl Drop for Slot {
    /// The thread exits: its histograms' counts go to `RETIRED`.
    fn drop(&mut self) {
        let _slots = lock(&SLOTS);
        for (retired, own) in RETIRED.iter().zip(self.estimate()) {
            for (retired, own) in retired.0.iter().zip(own) {
                retired.fetch_add(own, Ordering::Relaxed);
            }
        }
    }
}

impl Slot {
    /// This thread's histograms, estimated: the polls known exactly as counted, the sampled
    /// ones scaled up to all the others; the timed queueings scaled up to all the polls.
    fn estimate(&self) -> [[u64; BUCKETS]; 2] {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let all = self.polls.load(Ordering::Relaxed);
        let others = all.saturating_sub(load(&self.exact));
        let (timed, timed_delays) = (load(&self.timed), load(&self.timed_delays));
        let mut out = [[0; BUCKETS]; 2];
        for (i, out) in out[0].iter_mut().enumerate() {
            *out = load(&self.exact_times.0[i])
                + scale(load(&self.poll_times.0[i]), others, timed.min(others));
        }
        for (out, count) in out[1].iter_mut().zip(&self.schedule_delays.0) {
            *out = scale(load(count), all, timed_delays.min(all));
        }
        out
    }
}

fn with_slot(f: impl FnOnce(&Slot)) {
    let _ = SLOT.try_with(|slot| f(slot));
}

/// This thread runs worker `index`'s core (a multi-thread runtime's worker loop starts).
#[inline]
pub(crate) fn worker_started(index: usize) {
    if enabled() {
        with_slot(|slot| slot.worker.store(index as i64, Ordering::Relaxed));
    }
}

/// This worker stole a batch of tasks from another.
#[inline]
pub(crate) fn stole() {
    if enabled() {
        with_slot(|slot| {
            add(&slot.steals, 1);
        });
    }
}

/// This worker parks (no work anywhere) until the guard is dropped: unparked, also if the
/// park loop unwinds, so the console never shows a dead loop's worker parked.
pub(crate) struct Parked(bool);

impl Parked {
    #[inline]
    pub(crate) fn new() -> Parked {
        let on = enabled();
        if on {
            parked(true);
        }
        Parked(on)
    }
}

impl Drop for Parked {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            parked(false);
        }
    }
}

fn parked(parked: bool) {
    with_slot(|slot| {
        slot.parked.store(parked, Ordering::Relaxed);
        let count = if parked { &slot.parks } else { &slot.unparks };
        add(count, 1);
    });
}

/// This thread took (`true`) or released the runtime's driver.
#[inline]
pub(crate) fn driver(held: bool) {
    if enabled() {
        with_slot(|slot| slot.driver.store(held, Ordering::Relaxed));
    }
}

/// `counter += n` for a counter only the thread polling the task writes (the task's poll
/// counters: one thread polls a task at a time): a load and a store, no locked instruction.
#[inline]
pub(super) fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Tasks polled in a fixed round are all sampled, whatever the round's length: every
    /// `SAMPLE`th poll would time one task of a round of 32 and never the others.
    #[test]
    fn every_task_of_a_round_is_sampled() {
        for round in [1, 2, 7, 31, 32, 64, 100] {
            let slot = Slot::new(String::from("test"));
            let mut sampled = vec![0u32; round];
            let polls = round as u64 * SAMPLE * 40;
            for n in 0..polls {
                let seq = slot.begin(n % round as u64 + 1);
                if slot.is_sampled(seq) {
                    slot.pick_next_sample(seq);
                    sampled[(n % round as u64) as usize] += 1;
                }
                slot.end();
            }
            let total: u32 = sampled.iter().sum();
            // One in `SAMPLE` on average: within a fifth of it over this many polls.
            let expected = (polls / SAMPLE) as u32;
            assert!(
                total.abs_diff(expected) < expected / 5,
                "round of {round}: {total} sampled, {expected} expected"
            );
            // Each task about its share (40 each): none left out, none taken every time.
            assert!(
                sampled.iter().all(|&n| (10..=100).contains(&n)),
                "round of {round}: {sampled:?}"
            );
        }
    }
}
