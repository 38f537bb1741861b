//! What is known of a task while the hooks are on: its `Counters` (inline in its `TABLE`
//! entry, or in a `Meta`), and how its cell answers the console (`Inspect`).

use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Weak};

use crate::loom::lock;

/// How a task's cell answers the console: its state word, read at one moment.
pub(crate) trait Inspect: Send + Sync {
    /// The task's state now.
    fn inspect(&self) -> TaskState;
}

/// A task's state word, decoded (see `task/state.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TaskState {
    pub(crate) notified: bool,
    pub(crate) running: bool,
    pub(crate) complete: bool,
    pub(crate) join_interest: bool,
    /// Its polls so far, counted by the state word itself.
    pub(crate) polls: u64,
}

/// A task's counters: inline in its `TABLE` entry (`table.rs`), or in its `Meta` if the table
/// could not hold it. Only the thread polling or queueing the task writes them (plain loads
/// and stores), except `done_at`.
pub(crate) struct Counters {
    /// 0 while it lives; from the watchdog's clock.
    pub(crate) done_at: AtomicU64,
    /// Its polls: counted by the task's state word (`TaskState::polls`), and copied here when
    /// the console reads a live task and when the cell is dropped (`dropped`).
    pub(crate) polls: AtomicU64,
    /// Its polls' durations, in two parts. Known exactly (`exact_polls`): every poll the
    /// watchdog saw long (timed from its start when sampled, else from the watchdog's first
    /// sighting). Sampled (`timed_polls`): the others that the thread's one-in-`SAMPLE`
    /// picked (`sampled`). `busy` adds the first part to the second scaled up to the
    /// polls not known exactly.
    pub(crate) busy_nanos: AtomicU64,
    pub(crate) timed_polls: AtomicU64,
    pub(crate) exact_busy_nanos: AtomicU64,
    pub(crate) exact_polls: AtomicU64,
    /// Time spent queued between a wake (or the spawn) and the poll that followed, for the
    /// queueings whose wake read the clock (`timed_delays` of them): `scheduled` estimates
    /// the total.
    pub(crate) scheduled_nanos: AtomicU64,
    pub(crate) timed_delays: AtomicU64,
    /// When the wake (or the spawn) that read the clock queued it, until the poll after it
    /// (which the state word's mark times) takes it; else 0.
    pub(crate) woken_at: AtomicU64,
    /// Wakes hooked (of the task while idle): `Counters::wakes` adds the self-wakes.
    pub(crate) idle_wakes: AtomicU64,
    /// Its polls when its last hooked wake came: a wake not yet followed by a poll if they
    /// are its polls now.
    pub(crate) woken_polls: AtomicU64,
    pub(crate) longest_poll_nanos: AtomicU64,
    /// When its last sampled poll ended: the queueing of a task that woke itself during that
    /// poll starts there (the state word's mark tells its next poll to time it).
    pub(super) last_poll_end: AtomicU64,
}

/// What is known of a task while the detector or the console is on, outside `TABLE`: a task
/// whose table entry was taken, or a copy of an entry made for the console (`tasks`).
pub(crate) struct Meta {
    pub(crate) id: u64,
    pub(crate) location: &'static Location<'static>,
    pub(crate) name: Mutex<Option<String>>,
    /// The task cell, to read its state and count its references (`Weak::strong_count`).
    pub(crate) task: Weak<dyn Inspect>,
    /// In nanoseconds since `epoch()`, from the watchdog's clock (`coarse_nanos`).
    pub(crate) spawned_at: u64,
    pub(crate) counters: Counters,
}

impl std::ops::Deref for Meta {
    type Target = Counters;
    fn deref(&self) -> &Counters {
        &self.counters
    }
}

/// One poll in `SAMPLE` on each thread is timed, and one wake (or spawn) in `SAMPLE` reads
/// the clock: `SAMPLE - 1` polls in `SAMPLE` cost no clock read.
pub(crate) const SAMPLE: u64 = 1 << 5;

impl Meta {
    /// The name given with `task::Builder::name`, if any.
    pub(crate) fn name(&self) -> Option<String> {
        lock(&self.name).clone()
    }
}

impl Counters {
    pub(super) const fn new() -> Counters {
        Counters {
            done_at: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            busy_nanos: AtomicU64::new(0),
            timed_polls: AtomicU64::new(0),
            exact_busy_nanos: AtomicU64::new(0),
            exact_polls: AtomicU64::new(0),
            scheduled_nanos: AtomicU64::new(0),
            timed_delays: AtomicU64::new(0),
            woken_at: AtomicU64::new(0),
            idle_wakes: AtomicU64::new(0),
            woken_polls: AtomicU64::new(0),
            longest_poll_nanos: AtomicU64::new(0),
            last_poll_end: AtomicU64::new(0),
        }
    }

    /// A new task's counters, queued at `woken_at` (when, if its spawn read the clock; else 0).
    #[inline]
    pub(super) fn reset(&self, woken_at: u64) {
        for counter in [
            &self.done_at,
            &self.polls,
            &self.busy_nanos,
            &self.timed_polls,
            &self.exact_busy_nanos,
            &self.exact_polls,
            &self.scheduled_nanos,
            &self.timed_delays,
            &self.idle_wakes,
            &self.woken_polls,
            &self.longest_poll_nanos,
            &self.last_poll_end,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.woken_at.store(woken_at, Ordering::Relaxed);
    }

    /// A copy, read now.
    pub(super) fn copy(&self) -> Counters {
        let read = |counter: &AtomicU64| AtomicU64::new(counter.load(Ordering::Relaxed));
        Counters {
            done_at: read(&self.done_at),
            polls: read(&self.polls),
            busy_nanos: read(&self.busy_nanos),
            timed_polls: read(&self.timed_polls),
            exact_busy_nanos: read(&self.exact_busy_nanos),
            exact_polls: read(&self.exact_polls),
            scheduled_nanos: read(&self.scheduled_nanos),
            timed_delays: read(&self.timed_delays),
            woken_at: read(&self.woken_at),
            idle_wakes: read(&self.idle_wakes),
            woken_polls: read(&self.woken_polls),
            longest_poll_nanos: read(&self.longest_poll_nanos),
            last_poll_end: read(&self.last_poll_end),
        }
    }

    /// Every wake that queued it: while idle, and during its polls.
    pub(crate) fn wakes(&self) -> u64 {
        self.idle_wakes.load(Ordering::Relaxed) + self.self_wakes()
    }

    /// Its polls during which it was woken (a wake of its own, `yield_now` or a spent
    /// budget; or, rarely, another thread's while it ran), counted without a hook: every poll
    /// but the first follows a wake, hooked (while it was idle) or during the poll before;
    /// the hooked wake not yet followed by a poll is not one of them.
    pub(crate) fn self_wakes(&self) -> u64 {
        let polls = self.polls.load(Ordering::Relaxed);
        let wakes = self.idle_wakes.load(Ordering::Relaxed);
        let pending = u64::from(wakes > 0 && self.woken_polls.load(Ordering::Relaxed) == polls);
        let followed = wakes.saturating_sub(pending);
        polls.saturating_sub(1).saturating_sub(followed)
    }

    /// Its busy time, estimated: the polls known exactly, plus the sampled polls' time
    /// scaled up to all the others (exact while there are no others).
    pub(crate) fn busy(&self) -> u64 {
        let polls = self.polls.load(Ordering::Relaxed);
        let (timed, exact) =
            (self.timed_polls.load(Ordering::Relaxed), self.exact_polls.load(Ordering::Relaxed));
        let others = polls.saturating_sub(exact);
        scale(self.busy_nanos.load(Ordering::Relaxed), others, timed.min(others))
            .saturating_add(self.exact_busy_nanos.load(Ordering::Relaxed))
    }

    /// Its time queued after wakes (and the spawn), estimated from the timed queueings: one
    /// per poll.
    pub(crate) fn scheduled(&self) -> u64 {
        let polls = self.polls.load(Ordering::Relaxed);
        let timed = self.timed_delays.load(Ordering::Relaxed);
        scale(self.scheduled_nanos.load(Ordering::Relaxed), polls, timed.min(polls))
    }
}

/// `sum` of `of` samples, scaled to `all`.
pub(crate) fn scale(sum: u64, all: u64, of: u64) -> u64 {
    if of == 0 || of >= all {
        return sum;
    }
    u64::try_from(u128::from(sum) * u128::from(all) / u128::from(of)).unwrap_or(u64::MAX)
}
