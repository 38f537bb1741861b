//! A poll's hooks: `PollTimer` counts every poll for its thread and its task, times the
//! sampled and the long ones, and reports those past the threshold.

use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::clock::now_nanos;
use super::settings::{console_enabled, threshold, THRESHOLD_NANOS};
use super::tasks::{describe, find, forget, lookup, Meta, MetaRef, DROPPED, SAMPLE, UNTIMED};
use super::threads::{add, Slot, SLOT};

/// The task completed or was cancelled: its entry goes (or, with the console on, is kept
/// among the last completed).
#[cold]
#[inline(never)]
pub(crate) fn finished(id: u64) {
    if console_enabled() {
        // Kept listed: marked done now, while the caller holds the cell (`lookup`).
        forget(id);
        return;
    }
    // Completed during its own poll: the `PollTimer` still reports it by name, and removes
    // the entry after.
    let in_its_poll = SLOT
        .try_with(|slot| {
            let polling = slot.task.load(Ordering::Relaxed) == id;
            if polling {
                slot.finished.store(id, Ordering::Relaxed);
            }
            polling
        })
        .unwrap_or(false);
    if !in_its_poll {
        forget(id);
    }
}

/// One poll on this thread, from `PollTimer::start` to its drop (which also runs if the poll
/// unwinds, so the watchdog never reports a poll that is over). Every poll is counted and
/// published to the watchdog (its sequence number and task: plain stores to the thread's own
/// slot and the task's own `Meta`); only a sampled one reads the clock (see `SAMPLE`).
pub(crate) struct PollTimer {
    /// This thread's slot (null: the thread is exiting, the poll is not counted). Held as a
    /// pointer, not looked up again at the end: see `PollTimer::start`.
    slot: *const Slot,
    id: u64,
    /// This poll's sequence number on its thread (`Slot::polls`).
    seq: u64,
    /// When it started, in nanoseconds since `epoch()`, if it is timed; else 0.
    start: u64,
    /// What the slot held before (an outer poll's task and start), restored at the end: a
    /// poll nested in another (a `block_on` of another runtime inside `block_in_place`).
    outer: (u64, u64),
    /// The `Meta` a timed poll counts into (`None` for the others: they count at the start).
    meta: Option<Counted>,
}

/// The `Meta` a timed poll counts into. From the table, borrowed without a reference count:
/// the cell may be dropped as soon as its run returns, so its entry stays alive until the
/// poll's `poll_started_at` is cleared (`dropped` hands the entry's reference over if it is
/// not).
enum Counted {
    Table(*const Meta),
    Map(Arc<Meta>),
}

impl PollTimer {
    /// A poll of task `id` starts on this thread (the detector or the console is on); the
    /// caller holds a reference to the task. `local_queue`, asked on timed polls only: the
    /// current-thread loop polling it (its address) and the tasks queued behind it.
    #[inline]
    pub(crate) fn start(id: u64, local_queue: fn() -> Option<(usize, usize)>) -> PollTimer {
        // The slot outlives the poll: the thread's `SLOT` holds it until the thread's
        // thread-locals are destroyed, which a poll on the thread cannot span (one that
        // starts once `SLOT` is gone finds no slot).
        let slot = SLOT.try_with(Arc::as_ptr).unwrap_or(ptr::null());
        if slot.is_null() {
            return PollTimer { slot, id, seq: 0, start: 0, outer: (0, 0), meta: None };
        }
        // SAFETY: just taken from the live `SLOT`.
        let slot_ref = unsafe { &*slot };
        // Only this thread writes its slot's counters.
        let seq = slot_ref.polls.load(Ordering::Relaxed).wrapping_add(1);
        slot_ref.polls.store(seq, Ordering::Release);
        let outer =
            (slot_ref.task.load(Ordering::Relaxed), slot_ref.started.load(Ordering::Relaxed));
        slot_ref.task.store(id, Ordering::Release);
        let sampled = seq % SAMPLE == 0;
        match lookup(id) {
            Some(meta) => {
                let polls = meta.polls.load(Ordering::Relaxed);
                meta.polls.store(polls.wrapping_add(1), Ordering::Relaxed);
                let woken = meta.woken_at.load(Ordering::Relaxed);
                let queued_at = if woken != 0 {
                    meta.woken_at.store(0, Ordering::Relaxed);
                    woken
                } else {
                    // Polled again with no wake hooked since its last poll: it was woken
                    // during that poll (a wake of its own, `yield_now` or a spent budget; or,
                    // rarely, another thread's while it ran), and queued again when it ended
                    // (then, if that poll was timed).
                    let end = meta.last_poll_end.load(Ordering::Relaxed);
                    if end != 0 {
                        meta.last_poll_end.store(0, Ordering::Relaxed);
                    }
                    end
                };
                // Every task's first poll is timed: a task polled once gets real figures.
                if sampled || polls == 0 || queued_at > UNTIMED {
                    let timed = sampled || polls == 0;
                    let (start, meta) = timed_start(slot_ref, meta, queued_at, timed, local_queue);
                    return PollTimer { slot, id, seq, start, outer, meta };
                }
            }
            None if sampled => {
                let start = timed_start_untracked(slot_ref, local_queue);
                return PollTimer { slot, id, seq, start, outer, meta: None };
            }
            None => {}
        }
        slot_ref.started.store(0, Ordering::Relaxed);
        PollTimer { slot, id, seq, start: 0, outer, meta: None }
    }
}

/// The start of a poll that reads the clock: timed (`timed`), or whose wake was. Returns
/// when it started (0: not timed) and the `Meta` it counts into.
#[cold]
#[inline(never)]
fn timed_start(
    slot: &Slot,
    meta: MetaRef,
    queued_at: u64,
    timed: bool,
    local_queue: fn() -> Option<(usize, usize)>,
) -> (u64, Option<Counted>) {
    let now = now_nanos().max(1);
    if queued_at > UNTIMED {
        let delay = now.saturating_sub(queued_at);
        add(&meta.scheduled_nanos, delay);
        add(&meta.timed_delays, 1);
        slot.schedule_delays.record(delay);
        add(&slot.timed_delays, 1);
    }
    if !timed {
        slot.started.store(0, Ordering::Relaxed);
        return (0, None);
    }
    // Set while the caller holds the cell: `dropped` cannot have run yet.
    meta.poll_started_at.store(now, Ordering::Relaxed);
    let meta = match meta {
        MetaRef::Table(meta) => Counted::Table(meta),
        MetaRef::Map(meta) => Counted::Map(meta),
    };
    (mark_timed(slot, now, local_queue), Some(meta))
}

/// The start of a sampled poll of a task unknown here (spawned before the hooks were on).
#[cold]
#[inline(never)]
fn timed_start_untracked(slot: &Slot, local_queue: fn() -> Option<(usize, usize)>) -> u64 {
    mark_timed(slot, now_nanos().max(1), local_queue)
}

/// A timed poll started at `now`: the slot says so, and where the loop's queue stands.
fn mark_timed(slot: &Slot, now: u64, local_queue: fn() -> Option<(usize, usize)>) -> u64 {
    slot.started.store(now, Ordering::Relaxed);
    if let Some((runtime, queued)) = local_queue() {
        slot.loop_runtime.store(runtime, Ordering::Relaxed);
        slot.loop_queue.store(queued as u64, Ordering::Relaxed);
    }
    now
}

impl Counted {
    fn get(&self) -> &Meta {
        match self {
            // SAFETY: see `Counted`: alive until this poll clears `poll_started_at`, after
            // its last use of the `Meta`.
            Counted::Table(meta) => unsafe { &**meta },
            Counted::Map(meta) => meta,
        }
    }
}

impl Drop for PollTimer {
    /// The poll returned: a timed one, or one the watchdog saw long, is timed and reported if
    /// it took longer than the threshold.
    #[inline]
    fn drop(&mut self) {
        if self.slot.is_null() {
            return;
        }
        // SAFETY: see `PollTimer::start`: the slot outlives the poll.
        let slot = unsafe { &*self.slot };
        slot.started.store(self.outer.1, Ordering::Relaxed);
        slot.task.store(self.outer.0, Ordering::Release);
        if self.start != 0
            || slot.long.load(Ordering::Acquire) == self.seq
            || slot.finished.load(Ordering::Relaxed) != 0
        {
            self.end_slow(slot);
        }
    }
}

impl PollTimer {
    /// The end of a timed poll, of one the watchdog saw long, or of one whose task completed
    /// while only the detector is on: reads the clock (the first two), counts the poll's
    /// duration, reports it if past the threshold, forgets the completed task.
    #[cold]
    #[inline(never)]
    fn end_slow(&mut self, slot: &Slot) {
        let id = self.id;
        // Only this thread writes its slot's `finished`.
        let finished = slot.finished.load(Ordering::Relaxed) == id;
        if finished {
            slot.finished.store(0, Ordering::Relaxed);
        }
        let timed = self.start != 0;
        let long = slot.long.load(Ordering::Acquire) == self.seq;
        if timed || long {
            let end = now_nanos();
            // An untimed long poll started before the watchdog first saw it, after its tick
            // before: timed from the sighting, it is short by less than a tick.
            let from = if timed { self.start } else { slot.sighted_at.load(Ordering::Relaxed) };
            let nanos = end.saturating_sub(from);
            // Known exactly (not scaled): a long poll, or a task's first poll that the
            // thread's sample did not pick.
            let exact = long || self.seq % SAMPLE != 0;
            if exact {
                slot.exact_times.record(nanos);
                add(&slot.exact, 1);
            } else {
                slot.poll_times.record(nanos);
                add(&slot.timed, 1);
            }
            let count = |meta: &Meta| {
                let (polls, busy) = if exact {
                    (&meta.exact_polls, &meta.exact_busy_nanos)
                } else {
                    (&meta.timed_polls, &meta.busy_nanos)
                };
                add(polls, 1);
                add(busy, nanos);
                if nanos > meta.longest_poll_nanos.load(Ordering::Relaxed) {
                    meta.longest_poll_nanos.store(nanos, Ordering::Relaxed);
                }
            };
            match &self.meta {
                Some(meta) => {
                    let meta = meta.get();
                    meta.last_poll_end.store(end, Ordering::Relaxed);
                    count(meta);
                }
                // Not timed: the cell may be gone, the `Meta` is looked up in `TASKS`.
                None if !timed => {
                    if let Some(meta) = find(id) {
                        count(&meta);
                    }
                }
                None => {}
            }
            // Before `forget`, so that a task that completed in this poll is still named.
            if THRESHOLD_NANOS.load(Ordering::Relaxed) < nanos {
                report(id, nanos);
            }
        }
        if finished {
            forget(id);
        }
        if let Some(counted) = self.meta.take() {
            // The poll's last use of the `Meta`: from here `dropped` frees the entry itself.
            let started = counted.get().poll_started_at.swap(0, Ordering::AcqRel);
            if let (DROPPED, Counted::Table(meta)) = (started, counted) {
                // SAFETY: `dropped` handed the entry's reference (from `Arc::into_raw`) to
                // this poll, and gave it up itself.
                drop(unsafe { Arc::from_raw(meta) });
            }
        }
    }
}

#[cold]
#[inline(never)]
fn report(id: u64, nanos: u64) {
    let (took, threshold) = (Duration::from_nanos(nanos), threshold().unwrap_or(Duration::MAX));
    let thread = SLOT.try_with(|slot| slot.thread.clone()).unwrap_or_default();
    eprintln!(
        "minirt: slow poll: {} ran for {} on thread {thread} (threshold {})",
        describe(id),
        show(took),
        show(threshold),
    );
}

pub(super) fn show(d: Duration) -> String {
    if d >= Duration::from_millis(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} µs", d.as_micros())
    }
}
