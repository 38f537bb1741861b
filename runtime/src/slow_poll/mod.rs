//! The slow-poll detector: names the task whose poll blocks its thread, while it still blocks.
//!
//! A poll that does not return (a synchronous call, a long loop, a lock held across work)
//! stalls every task queued behind it on that worker. `MINIRT_SLOW_POLL=10ms` (or
//! [`Builder::slow_poll_threshold`](crate::runtime::Builder::slow_poll_threshold)) turns this
//! on for the process; then one line goes to stderr for each poll past the threshold, with
//! the task's id, its name (`task::Builder::name`) and where it was spawned
//! (`#[track_caller]`), once it has run past the threshold (seen by a watchdog thread within
//! a quarter of the threshold; again at 2×, 4×, ... while it goes on) and once more when it
//! returns (the duration of a poll the sample did not time is counted from the watchdog's
//! first sighting: short by less than a quarter of the threshold):
//!
//! ```text
//!  Task::new         ── on? the task's TABLE entry (spawn location, a Weak to the cell,
//!                       counters) filled in place; in TASKS, a map, if the entry is taken
//!  a loop starts     ── on, and not nested in a poll? Hooks::for_loop: this thread's Slot
//!  Task::run(hooks)  ── the state word counts the poll (hooks or not: one `add` in the run's
//!                       own read-modify-write)
//!                       hooks? poll_started: Slot := (poll number, task id); a sampled
//!                       poll (about one in SAMPLE) reads the clock, and so does one whose
//!                       state word is marked to time its queueing (TIMED_NEXT)
//!                       poll the future
//!                       hooks? poll_ended: Slot := idle; sampled, or marked long by the
//!                       watchdog? read the clock, count the duration; past the threshold?
//!                       "... ran for 812 ms ..."
//!  watchdog thread   ── every tick (threshold / 4, 5 ms with the console; 1 to 100 ms):
//!                       a Slot's poll number unchanged since the last tick? mark it long;
//!                       running past the threshold, then 2×, 4×, ...? "... has run for
//!                       200 ms ... and is still running"
//!  Task::complete    ── on? mark it done (the console lists the last completed)
//!  Task's drop       ── on? its TABLE entry keeps its poll count and lets the cell go; its
//!                       counters stay until a later spawn reuses the entry
//! ```
//!
//! The watchdog is a thread of its own, so it reports while every worker is blocked. Off (the
//! default), a loop hands its polls `None` (one relaxed load when the loop starts) and
//! `Task::run` tests that before and after the poll; the hooks are inlined into the one copy
//! of `Task::run` (two copies, one hooked, lost LLVM's inlining of the future's poll into
//! the other) and no memory is kept per task. Tasks are known here by their ids' numbers: this
//! module sits below `task`.
//! The setting is process-wide (the first runtime that turns it on sets the threshold), as
//! the environment variable is; a loop started before it was turned on does not hook its
//! polls.
//!
//! The same hooks feed the live console (`crate::console`), which turns them on without a
//! threshold: then each task's entry also keeps a weak reference to the task (to read its
//! state word and its reference count), counters (busy time, wakes, time queued after a
//! wake), and completed tasks stay listed for a while; each thread's Slot counts its polls,
//! steals and parks, says whether it holds the driver, and keeps two histograms (poll
//! duration and scheduling delay, wake → poll). This module only records: the console reads
//! it from its own thread.
//!
//! Exact and sampled. A poll of a small task costs about as much as reading the clock, so
//! the clock is read on a sample only. Exact for every task: its spawn (id, name, location),
//! state and polls (both in its state word), wakes and self-wakes, completion. Sampled: about
//! one poll in `SAMPLE` on each thread, a random distance apart (`Slot::is_sampled`: every
//! `SAMPLE`th would time the same task of a round of 32 each time), is timed (start and end);
//! one wake in `SAMPLE` of each task, and one spawn in `SAMPLE`, reads the clock and marks
//! the task's state word so that the poll after it times its scheduling delay, and so does a
//! sampled poll during which the task woke itself (its next poll times its queueing from its
//! end). Busy time and the poll-duration histogram are estimates: the long polls (below) as
//! they are, plus the sampled ones scaled up to all the others (`Counters::busy`,
//! `Slot::estimate`); a task none of whose polls was sampled shows no busy time. Scheduling
//! time and its histogram scale the timed queueings up to all polls (`Counters::scheduled`).
//! Ages and completion times come from the watchdog's clock (`coarse_nanos`, late by less
//! than a tick). Long polls are not sampled: the watchdog sees a poll whose number has not
//! changed between two of its ticks, marks it long on its Slot, and the poll's end (one
//! relaxed load) then reads the clock and counts it, timed from the watchdog's first sighting
//! when the sample did not time it: short by less than a tick. So a slow poll is reported,
//! while it runs and when it returns, and the longest poll of a task is exact for every poll
//! longer than a tick (and for the sampled ones), sampled below.
//!
//! The spawn, the per-poll path and the completion take no lock and allocate nothing (for a
//! task whose entry in `TABLE` is free, which is every task unless one spawned `ENTRIES`
//! spawns earlier still lives). An unsampled poll touches only its thread's Slot (two words
//! at its start, one at its end, two loads); the task's counters are in `TABLE` (indexed by
//! the id: `table.rs`) and written by the sampled polls, the wakes, the spawn and the
//! completion; the clock is the time-stamp counter (`tsc`, where the kernel trusts it), the
//! histograms are the thread's own, and a wake during the poll is not hooked but counted
//! from the poll count (`Counters::self_wakes`). See BENCHMARKS.md for what it costs.

mod clock;
mod counters;
#[cfg(all(test, loom))]
mod loom_tests;
mod poll;
mod settings;
mod table;
#[cfg(all(test, loom))]
mod table_loom_tests;
mod tasks;
mod threads;
mod watchdog;

use std::sync::atomic::Ordering;
use std::sync::Once;
use std::time::Duration;

pub(crate) use clock::now_nanos;
pub(crate) use counters::{Inspect, Meta, TaskState, SAMPLE};
pub(crate) use poll::{finished, poll_ended, poll_started, Hooks, PollGuard};
pub(crate) use settings::{console_enabled, enabled, threshold};
pub(crate) use table::CellOps;
pub(crate) use tasks::{dropped, named, spawned, tasks, woken};
pub(crate) use threads::{driver, histograms, slots, stole, worker_started, Parked, BUCKETS};
pub(crate) use watchdog::running;

use clock::start_clock;
use settings::{parse_duration, CONSOLE, ENABLED, THRESHOLD_NANOS};
use watchdog::start_watchdog;

/// Turns the detector on with `threshold`, and starts the watchdog (once per process).
pub(crate) fn enable(threshold: Duration) {
    let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX).clamp(1, u64::MAX - 1);
    // The first runtime to turn it on sets the threshold; later ones keep it.
    let _ = THRESHOLD_NANOS.compare_exchange(u64::MAX, nanos, Ordering::Relaxed, Ordering::Relaxed);
    start_clock();
    ENABLED.store(true, Ordering::Relaxed);
    start_watchdog();
}

/// Turns the hooks on for the console (no reports on stderr unless the detector is on too).
pub(crate) fn enable_console() {
    start_clock();
    CONSOLE.store(true, Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
    start_watchdog();
}

/// Reads `MINIRT_SLOW_POLL` (once per process) and turns the detector on if it is set.
pub(crate) fn enable_from_env() {
    static READ: Once = Once::new();
    READ.call_once(|| {
        let Some(value) = std::env::var_os("MINIRT_SLOW_POLL") else { return };
        match value.to_str().and_then(parse_duration) {
            Some(threshold) => enable(threshold),
            None => eprintln!(
                "minirt: MINIRT_SLOW_POLL={value:?} is not a duration (say 10ms, 500us or 1s): \
                 the slow-poll detector stays off"
            ),
        }
    });
}
