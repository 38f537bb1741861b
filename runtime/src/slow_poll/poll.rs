//! A poll's hooks (`poll_started`, `poll_ended`, with the loop's `Hooks`): every poll is
//! published to its thread's slot, the sampled and the long ones are timed, and those past
//! the threshold reported.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::clock::now_nanos;
use super::settings::{enabled, threshold, THRESHOLD_NANOS};
use super::tasks::{describe, forget, lookup};
use super::threads::{add, Slot, SLOT};

/// The task completed or was cancelled: its entry goes (or, with the console on, is kept
/// among the last completed). Its poll has ended (`poll_ended` comes first, and reports it by
/// name).
#[cold]
#[inline(never)]
pub(crate) fn finished(id: u64) {
    forget(id);
}

/// What a scheduler loop hands each of its polls while the hooks are on (`Hooks::for_loop`,
/// made once when the loop starts): its thread's slot. A loop hands `None` while they are
/// off, and a loop nested in a poll (a `block_on` of another runtime in `block_in_place`; a
/// `LocalSet`'s tasks, polled inside the task that runs the set) hands `None` too: the outer
/// poll holds the thread, and stays the one published. The polls of all these are still
/// counted, by their tasks' state words.
pub(crate) struct Hooks {
    /// The thread's slot (`SLOT`'s), which outlives the loop; a raw pointer, which keeps
    /// `Hooks` on the loop's thread (`!Send`).
    slot: *const Slot,
}

impl Hooks {
    /// The hooks for a loop starting on this thread: `None` if they are off or the loop is
    /// nested in a poll (see `Hooks`). `current_thread`: the current-thread runtime whose
    /// loop this is (its address, compared, never dereferenced), whose queue the loop then
    /// reports at each batch (`Hooks::batch_starts`).
    pub(crate) fn for_loop(current_thread: Option<usize>) -> Option<Hooks> {
        if !enabled() {
            return None;
        }
        // `None` once the thread's thread-locals are being destroyed.
        let slot = SLOT.try_with(Arc::as_ptr).ok()?;
        // SAFETY: just taken from the live `SLOT`, which holds it.
        let slot_ref = unsafe { &*slot };
        if slot_ref.task.load(Ordering::Relaxed) != 0 {
            return None;
        }
        if let Some(runtime) = current_thread {
            slot_ref.loop_runtime.store(runtime, Ordering::Relaxed);
        }
        Some(Hooks { slot })
    }

    /// The current-thread loop starts a batch of polls with `queued` tasks in its queue (which
    /// is its thread's own: the console reads this, less the polls the batch has started
    /// since, as the tasks waiting behind the poll in progress; `Slot::loop_queue`).
    #[inline]
    pub(crate) fn batch_starts(&self, queued: usize) {
        let slot = self.slot();
        slot.loop_queue.store(queued as u64, Ordering::Relaxed);
        slot.loop_polls.store(slot.polls.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    fn slot(&self) -> &Slot {
        // SAFETY: the thread's live slot (`for_loop`), on the thread that made `self` (a raw
        // pointer's owner is `!Send`) and while the loop runs: before the thread's
        // thread-locals go.
        unsafe { &*self.slot }
    }
}

/// A poll of task `id` starts, on the loop `hooks` are for; the caller holds a reference to
/// the task, and calls `poll_ended` when the poll returns (and holds a `PollGuard`
/// meanwhile). The poll is published to the watchdog (its sequence number and task: plain
/// stores to the thread's own slot; the task's state word counts it); only a sampled one
/// reads the clock (`Slot::is_sampled`), and one whose queueing is timed (`timed_next`, the
/// state word's mark: after a wake, spawn or poll that read the clock). Inlined into
/// `Task::run`: the path every poll but a few takes touches only the thread's slot.
#[inline(always)]
pub(crate) fn poll_started(hooks: &Hooks, id: u64, timed_next: bool) {
    let slot = hooks.slot();
    let seq = slot.begin(id);
    let sampled = slot.is_sampled(seq);
    if sampled || timed_next {
        timed_start(slot, id, seq, sampled, timed_next);
    }
}

/// The poll `poll_started` published on `hooks`' loop returned: a sampled one, or one the
/// watchdog saw long, is timed and reported if it took longer than the threshold. True if it
/// read the clock at both ends: its end is then the task's `last_poll_end`, where the
/// queueing of a task that woke itself during the poll starts (the caller marks its next
/// poll to time it).
#[inline(always)]
pub(crate) fn poll_ended(hooks: &Hooks) -> bool {
    let slot = hooks.slot();
    let (id, seq, start) = slot.end();
    if start != 0 || slot.is_long(seq) {
        return end_slow(slot, id, seq, start);
    }
    false
}

/// Held across a poll, with the hooks it was started with: ends it if the poll unwinds (a
/// bug of minirt's: the task cell catches the future's panics), so the watchdog never reports
/// a poll that is over. No instruction but on the unwinding path (the hooks are kept across
/// the poll anyway, for its end); forgotten on the way out that does not unwind, which calls
/// `poll_ended` itself.
pub(crate) struct PollGuard<'a>(pub(crate) Option<&'a Hooks>);

impl Drop for PollGuard<'_> {
    #[cold]
    fn drop(&mut self) {
        if let Some(hooks) = self.0 {
            poll_ended(hooks);
        }
    }
}

/// The start of a poll that reads the clock: sampled (its duration is timed: its start goes
/// to the slot, `started`), or whose queueing is timed (from the wake or spawn that read the
/// clock, `woken_at`, or else from the end of its last poll, which was timed and woke it).
#[cold]
#[inline(never)]
fn timed_start(slot: &Slot, id: u64, seq: u64, sampled: bool, timed_next: bool) {
    if sampled {
        slot.pick_next_sample(seq);
    }
    let now = now_nanos().max(1);
    if timed_next {
        // The caller holds the cell: the entry (or the map's `Meta`) is the task's.
        if let Some(meta) = lookup(id) {
            let woken = meta.woken_at.load(Ordering::Relaxed);
            let queued_at = if woken != 0 {
                meta.woken_at.store(0, Ordering::Relaxed);
                woken
            } else {
                meta.last_poll_end.load(Ordering::Relaxed)
            };
            if queued_at != 0 {
                let delay = now.saturating_sub(queued_at);
                add(&meta.scheduled_nanos, delay);
                add(&meta.timed_delays, 1);
                slot.schedule_delays.record(delay);
                add(&slot.timed_delays, 1);
            }
        }
    }
    if sampled {
        slot.started.store(now, Ordering::Relaxed);
    }
}

/// The end of poll `seq` of task `id`: sampled (`start`, not 0), or seen long by the watchdog.
/// Reads the clock, counts the poll's duration, reports it if past the threshold. True if the
/// poll was sampled (its end is the task's `last_poll_end`).
#[cold]
#[inline(never)]
fn end_slow(slot: &Slot, id: u64, seq: u64, start: u64) -> bool {
    // Only this thread writes its slot's `started`.
    slot.started.store(0, Ordering::Relaxed);
    let timed = start != 0;
    let sighted = slot.long_since(seq);
    let long = sighted.is_some();
    let end = now_nanos();
    // An untimed long poll started before the watchdog first saw it, after its tick
    // before: timed from the sighting, it is short by less than a tick.
    let from = if timed { start } else { sighted.unwrap_or(end) };
    let nanos = end.saturating_sub(from);
    // Known exactly (not scaled): a long poll. Sampled: the others timed.
    if long {
        slot.exact_times.record(nanos);
        add(&slot.exact, 1);
    } else {
        slot.poll_times.record(nanos);
        add(&slot.timed, 1);
    }
    // The cell may be gone: the counters are looked up again (see `lookup`).
    if let Some(meta) = lookup(id) {
        let (polls, busy) = if long {
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
    // Before `finished`, so that a task that completed in this poll is still named.
    if THRESHOLD_NANOS.load(Ordering::Relaxed) < nanos {
        report(slot, id, nanos);
    }
    timed
}

#[cold]
#[inline(never)]
fn report(slot: &Slot, id: u64, nanos: u64) {
    let (took, threshold) = (Duration::from_nanos(nanos), threshold().unwrap_or(Duration::MAX));
    eprintln!(
        "minirt: slow poll: {} ran for {} on thread {} (threshold {})",
        describe(id),
        show(took),
        slot.thread,
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
