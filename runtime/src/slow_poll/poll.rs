//! A poll's hooks: `PollTimer` counts every poll for its thread and its task, times the
//! sampled and the long ones, and reports those past the threshold.

use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::clock::now_nanos;
use super::counters::{Counters, SAMPLE, UNTIMED};
use super::settings::{console_enabled, threshold, THRESHOLD_NANOS};
use super::table;
use super::tasks::{describe, forget, lookup};
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
/// slot and the task's own counters); only a sampled one reads the clock (see `SAMPLE`).
/// What the end needs (the task, the sequence number, the start) is in the slot.
pub(crate) struct PollTimer {
    /// This thread's slot, if this poll is published there (null: the thread is exiting, or
    /// the poll is nested in another). Held as a pointer, not looked up again at the end:
    /// see `PollTimer::start`.
    slot: *const Slot,
}

impl PollTimer {
    /// A poll of task `id` starts on this thread (the detector or the console is on); the
    /// caller holds a reference to the task. `local_queue`, asked on timed polls only: the
    /// current-thread loop polling it (its address) and the tasks queued behind it. Inlined
    /// into `Runnable::run_timed`: the untimed poll of a task in `TABLE` is the path every
    /// poll but a few takes.
    #[inline(always)]
    pub(crate) fn start(id: u64, local_queue: fn() -> Option<(usize, usize)>) -> PollTimer {
        // The slot outlives the poll: the thread's `SLOT` holds it until the thread's
        // thread-locals are destroyed, which a poll on the thread cannot span (one that
        // starts once `SLOT` is gone finds no slot).
        let slot = SLOT.try_with(Arc::as_ptr).unwrap_or(ptr::null());
        // SAFETY: null, or just taken from the live `SLOT`.
        let Some(slot_ref) = (unsafe { slot.as_ref() }) else {
            return PollTimer { slot };
        };
        let Some(seq) = slot_ref.begin(id) else {
            count_nested(id);
            return PollTimer { slot: ptr::null() };
        };
        let sampled = seq % SAMPLE == 0;
        let Some(entry) = table::find(id) else {
            start_off_table(slot_ref, id, sampled, local_queue);
            return PollTimer { slot };
        };
        let (polls, queued_at) = count_poll(&entry.counters);
        // Every task's first poll is timed: a task polled once gets real figures.
        if sampled || polls == 0 || queued_at > UNTIMED {
            timed_start(slot_ref, &entry.counters, queued_at, sampled, polls, local_queue);
        }
        PollTimer { slot }
    }
}

/// A poll nested in another on this thread: counted for its task, not timed.
#[cold]
#[inline(never)]
fn count_nested(id: u64) {
    if let Some(meta) = lookup(id) {
        count_poll(&meta);
    }
}

/// Counts a poll of the task whose counters these are: returns its polls before this one,
/// and when it was queued (`woken_at`'s meaning: 0 not known, `UNTIMED`, or when).
#[inline(always)]
fn count_poll(meta: &Counters) -> (u64, u64) {
    let polls = meta.polls.load(Ordering::Relaxed);
    meta.polls.store(polls.wrapping_add(1), Ordering::Relaxed);
    let woken = meta.woken_at.load(Ordering::Relaxed);
    let queued_at = if woken != 0 {
        meta.woken_at.store(0, Ordering::Relaxed);
        woken
    } else {
        // Polled again with no wake hooked since its last poll: it was woken during that
        // poll (a wake of its own, `yield_now` or a spent budget; or, rarely, another
        // thread's while it ran), and queued again when it ended (then, if that poll was
        // timed).
        let end = meta.last_poll_end.load(Ordering::Relaxed);
        if end != 0 {
            meta.last_poll_end.store(0, Ordering::Relaxed);
        }
        end
    };
    (polls, queued_at)
}

/// The start of a poll of a task `TABLE` does not hold: one in `TASKS` (its entry was
/// taken), or one unknown here (spawned before the hooks were on).
#[cold]
#[inline(never)]
fn start_off_table(
    slot: &Slot,
    id: u64,
    sampled: bool,
    local_queue: fn() -> Option<(usize, usize)>,
) {
    match lookup(id) {
        Some(meta) => {
            let (polls, queued_at) = count_poll(&meta);
            if sampled || polls == 0 || queued_at > UNTIMED {
                timed_start(slot, &meta, queued_at, sampled, polls, local_queue);
            }
        }
        None if sampled => mark_timed(slot, now_nanos().max(1), local_queue),
        None => {}
    }
}

/// The start of a poll that reads the clock: timed (sampled, or the task's first), or whose
/// wake was. A timed poll's start goes to the slot (`started`).
#[cold]
#[inline(never)]
fn timed_start(
    slot: &Slot,
    meta: &Counters,
    queued_at: u64,
    sampled: bool,
    polls: u64,
    local_queue: fn() -> Option<(usize, usize)>,
) {
    let now = now_nanos().max(1);
    if queued_at > UNTIMED {
        let delay = now.saturating_sub(queued_at);
        add(&meta.scheduled_nanos, delay);
        add(&meta.timed_delays, 1);
        slot.schedule_delays.record(delay);
        add(&slot.timed_delays, 1);
    }
    if sampled || polls == 0 {
        mark_timed(slot, now, local_queue);
    }
}

/// A timed poll started at `now`: the slot says so, and where the loop's queue stands.
fn mark_timed(slot: &Slot, now: u64, local_queue: fn() -> Option<(usize, usize)>) {
    slot.started.store(now, Ordering::Relaxed);
    if let Some((runtime, queued)) = local_queue() {
        slot.loop_runtime.store(runtime, Ordering::Relaxed);
        slot.loop_queue.store(queued as u64, Ordering::Relaxed);
    }
}

impl Drop for PollTimer {
    /// The poll returned: a timed one, or one the watchdog saw long, is timed and reported if
    /// it took longer than the threshold.
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: see `PollTimer::start`: the slot outlives the poll.
        let Some(slot) = (unsafe { self.slot.as_ref() }) else { return };
        let (id, seq, start) = slot.end();
        if start != 0 || slot.is_long(seq) || slot.finished.load(Ordering::Relaxed) != 0 {
            end_slow(slot, id, seq, start);
        }
    }
}

/// The end of poll `seq` of task `id`: timed (`start`, not 0), seen long by the watchdog, or
/// one whose task completed while only the detector is on. Reads the clock (the first two),
/// counts the poll's duration, reports it if past the threshold, forgets the completed task.
#[cold]
#[inline(never)]
fn end_slow(slot: &Slot, id: u64, seq: u64, start: u64) {
    // Only this thread writes its slot's `started` and `finished`.
    slot.started.store(0, Ordering::Relaxed);
    let finished = slot.finished.load(Ordering::Relaxed) == id;
    if finished {
        slot.finished.store(0, Ordering::Relaxed);
    }
    let timed = start != 0;
    let sighted = slot.long_since(seq);
    let long = sighted.is_some();
    if timed || long {
        let end = now_nanos();
        // An untimed long poll started before the watchdog first saw it, after its tick
        // before: timed from the sighting, it is short by less than a tick.
        let from = if timed { start } else { sighted.unwrap_or(end) };
        let nanos = end.saturating_sub(from);
        // Known exactly (not scaled): a long poll, or a task's first poll that the
        // thread's sample did not pick.
        let exact = long || seq % SAMPLE != 0;
        if exact {
            slot.exact_times.record(nanos);
            add(&slot.exact, 1);
        } else {
            slot.poll_times.record(nanos);
            add(&slot.timed, 1);
        }
        // The cell may be gone: the counters are looked up again (see `lookup`).
        if let Some(meta) = lookup(id) {
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
            if timed {
                meta.last_poll_end.store(end, Ordering::Relaxed);
            }
        }
        // Before `forget`, so that a task that completed in this poll is still named.
        if THRESHOLD_NANOS.load(Ordering::Relaxed) < nanos {
            report(id, nanos);
        }
    }
    if finished {
        forget(id);
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
