//! The task's state word: which of the scheduler, the `JoinHandle` and the wakers may do what.
//!
//! ```text
//!  NOTIFIED       queued (or about to be): a wake now has nothing to do
//!  RUNNING        the scheduler is polling or dropping the future: it owns the stage
//!  COMPLETE       the future is gone; the stage holds the output (or nothing)
//!  CANCELLED      abort() or shutdown: the next run drops the future instead of polling it
//!  JOIN_INTEREST  the JoinHandle is alive: it, not the task, drops the output
//!  TIMED_NEXT     the slow-poll hooks' mark: the next poll reads the clock at its start
//!                 (its queueing after a timed wake, spawn or poll is timed)
//!  bits 6..       the polls so far: each run that polls the future adds one
//! ```
//!
//! Every transition is one atomic read-modify-write, so two parties never both believe they
//! own the stage: the scheduler owns it while it holds RUNNING; after COMPLETE the output
//! belongs to whichever of the JoinHandle and the completing task sees the other gone (the
//! JOIN_INTEREST bit, cleared by the handle's drop, decides it).
//!
//! The poll count rides on the run's own read-modify-write (one `add` more, hooks on or
//! off), so the console knows every task's polls exactly without a store of its own per poll.
//!
//! The word is `crate::loom`'s `AtomicUsize` (std's, or loom's under `cfg(loom)`):
//! `loom_tests.rs` model-checks these transitions racing each other through the real task cell.

use std::sync::atomic::Ordering::{AcqRel, Acquire};

use crate::loom::AtomicUsize;

const NOTIFIED: usize = 1;
const RUNNING: usize = 1 << 1;
const COMPLETE: usize = 1 << 2;
const CANCELLED: usize = 1 << 3;
const JOIN_INTEREST: usize = 1 << 4;
const TIMED_NEXT: usize = 1 << 5;
/// The poll count's lowest bit: the count is the word shifted right by `POLL_SHIFT` (it would
/// take 2^58 polls of one task to wrap it).
const POLL_SHIFT: u32 = 6;
const POLL_ONE: usize = 1 << POLL_SHIFT;

/// A copy of the state word at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Snapshot(usize);

impl Snapshot {
    pub(super) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(super) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(super) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(super) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(super) fn has_join_interest(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    /// The hooks marked this run's poll to be timed from its start (`State::mark_timed_next`).
    pub(super) fn is_timed_next(self) -> bool {
        self.0 & TIMED_NEXT != 0
    }
    /// The polls counted so far (a run that found the task cancelled counts none).
    pub(super) fn polls(self) -> u64 {
        (self.0 >> POLL_SHIFT) as u64
    }
    /// Neither queued, nor running, nor complete: whoever notifies it must queue it.
    fn is_idle(self) -> bool {
        self.0 & (NOTIFIED | RUNNING | COMPLETE) == 0
    }
}

/// What `transition_to_running` found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Run {
    /// Poll the future.
    Poll,
    /// Drop the future: the task was cancelled.
    Cancel,
    /// Nothing to do: shutdown cancelled the task while it sat on the queue, and has already
    /// completed it or is dropping its future right now (it holds RUNNING).
    Skip,
}

/// What `transition_to_idle` found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Idle {
    /// Nothing happened during the poll: the task waits for a wake.
    Wait,
    /// Woken during the poll: the wake left the queueing to the runner.
    Requeue,
    /// Aborted or shut down during the poll: the runner still holds RUNNING and drops the
    /// future now.
    Cancel,
}

pub(super) struct State(AtomicUsize);

/// `transition_to_running` found the task complete or running: running is allowed only
/// cancelled (see there).
#[cold]
#[inline(never)]
fn assert_not_running_uncancelled(s: Snapshot) {
    assert!(
        !s.is_running() || s.is_complete() || s.is_cancelled(),
        "minirt: a task was run while it was already running"
    );
}

impl State {
    /// A new task: queued by its creator, with a live JoinHandle.
    pub(super) fn new() -> State {
        State(AtomicUsize::new(NOTIFIED | JOIN_INTEREST))
    }

    #[inline]
    pub(super) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    #[inline]
    fn update(&self, mut f: impl FnMut(Snapshot) -> Option<usize>) -> Result<Snapshot, Snapshot> {
        self.0.fetch_update(AcqRel, Acquire, |s| f(Snapshot(s))).map(Snapshot).map_err(Snapshot)
    }

    /// A wake: true if the caller must put the task on a run queue.
    #[inline]
    pub(super) fn transition_to_notified(&self) -> bool {
        Snapshot(self.0.fetch_or(NOTIFIED, AcqRel)).is_idle()
    }

    /// `abort()`: true if the caller must queue the task (so its scheduler drops the future).
    #[inline]
    pub(super) fn transition_to_cancelled(&self) -> bool {
        Snapshot(self.0.fetch_or(CANCELLED | NOTIFIED, AcqRel)).is_idle()
    }

    /// The scheduler picked the task from its queue.
    ///
    /// A queued task that is RUNNING was claimed by shutdown (`transition_to_shutdown`), which
    /// drops its future on its own thread: a worker that shutdown stopped waiting for may still
    /// pop the queued copy meanwhile, and skips it.
    ///
    /// # Panics
    /// If the task is running and was not cancelled: a task is on one queue at most once, so a
    /// second run means the state machine is broken.
    #[cfg(test)]
    pub(super) fn transition_to_running(&self) -> Run {
        self.run_from().0
    }

    /// `transition_to_running`, with the state it found. A run that polls counts a poll and
    /// takes the hooks' `TIMED_NEXT` mark off; a cancelled one counts one too, which
    /// `uncount_poll` takes back (the count's add stays one instruction on every poll).
    #[inline]
    pub(super) fn run_from(&self) -> (Run, Snapshot) {
        let result = self.update(|s| {
            if s.0 & (COMPLETE | RUNNING) != 0 {
                // Out of line: `Task::run` inlines this, and a bigger `run` made LLVM stop
                // inlining the future's poll into it (callgrind: +7 % on yield_many).
                assert_not_running_uncancelled(s);
                return None;
            }
            Some(((s.0 & !(NOTIFIED | TIMED_NEXT)) | RUNNING).wrapping_add(POLL_ONE))
        });
        match result {
            Ok(prev) if prev.is_cancelled() => (Run::Cancel, prev),
            Ok(prev) => (Run::Poll, prev),
            Err(prev) => (Run::Skip, prev),
        }
    }

    /// A run that found the task cancelled drops its future instead of polling it: not a
    /// poll. Only the runner (it holds RUNNING) changes the count.
    #[cold]
    pub(super) fn uncount_poll(&self) {
        self.0.fetch_sub(POLL_ONE, AcqRel);
    }

    /// The hooks time the task's next poll from its start (a wake or spawn that read the
    /// clock, before it queues the task): see `TIMED_NEXT`.
    #[cold]
    pub(super) fn mark_timed_next(&self) {
        self.0.fetch_or(TIMED_NEXT, AcqRel);
    }

    /// The poll returned `Pending`. `time_requeue`: the poll was timed, so if it was woken
    /// during it (the runner queues it again), its next poll times that queueing (`TIMED_NEXT`).
    #[inline]
    pub(super) fn transition_to_idle(&self, time_requeue: bool) -> Idle {
        let result = self.update(|s| {
            let mark = if time_requeue { (s.0 & NOTIFIED) * TIMED_NEXT } else { 0 };
            (!s.is_cancelled()).then_some((s.0 & !RUNNING) | mark)
        });
        match result {
            Ok(prev) if prev.is_notified() => Idle::Requeue,
            Ok(_) => Idle::Wait,
            Err(_) => Idle::Cancel,
        }
    }

    /// The future is gone and the output stored: returns the state before, whose
    /// `has_join_interest` says whether the JoinHandle will take the output.
    #[inline]
    pub(super) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        prev
    }

    /// Runtime shutdown: marks the task cancelled; true if the caller took RUNNING and must
    /// drop the future now (a queued or running task drops it at its next run instead).
    #[inline]
    pub(super) fn transition_to_shutdown(&self) -> bool {
        let prev = self
            .update(|s| {
                let claim = if s.is_running() || s.is_complete() { 0 } else { RUNNING };
                Some(s.0 | CANCELLED | claim)
            })
            .unwrap_or_else(|s| s);
        !prev.is_running() && !prev.is_complete()
    }

    /// The JoinHandle is dropped. `Ok` if the task has not completed: it will drop its output
    /// itself. `Err` if it has: the output is the handle's to drop.
    pub(super) fn unset_join_interest(&self) -> Result<(), Snapshot> {
        self.update(|s| (!s.is_complete()).then_some(s.0 & !JOIN_INTEREST)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_queues_an_idle_task_once() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), Run::Poll);
        assert_eq!(state.transition_to_idle(false), Idle::Wait, "not woken during the poll");
        assert!(state.transition_to_notified(), "idle: the waker queues it");
        assert!(!state.transition_to_notified(), "already queued");
    }

    #[test]
    fn a_wake_while_running_is_left_to_the_runner() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), Run::Poll);
        assert!(!state.transition_to_notified(), "running: the waker does not queue");
        assert_eq!(state.transition_to_idle(false), Idle::Requeue, "the runner re-queues it");
        assert_eq!(state.transition_to_running(), Run::Poll);
    }

    #[test]
    fn a_wake_after_completion_does_nothing() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), Run::Poll);
        assert!(state.transition_to_complete().has_join_interest());
        assert!(!state.transition_to_notified());
        assert!(!state.transition_to_cancelled());
        assert_eq!(state.transition_to_running(), Run::Skip);
    }

    #[test]
    fn abort_while_running_cancels_when_the_poll_ends() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), Run::Poll);
        assert!(!state.transition_to_cancelled(), "running: the runner cancels it");
        assert_eq!(state.transition_to_idle(false), Idle::Cancel);
        assert!(state.load().is_running(), "the runner keeps RUNNING to drop the future");
    }

    #[test]
    fn abort_while_queued_cancels_at_the_run() {
        let state = State::new();
        assert!(!state.transition_to_cancelled(), "already queued");
        assert_eq!(state.transition_to_running(), Run::Cancel);
    }

    #[test]
    fn shutdown_claims_only_an_idle_or_queued_task() {
        let idle = State::new();
        assert!(idle.transition_to_shutdown(), "queued: shutdown drops it now");
        assert!(idle.load().is_running() && idle.load().is_cancelled());

        let running = State::new();
        assert_eq!(running.transition_to_running(), Run::Poll);
        assert!(!running.transition_to_shutdown(), "running: the runner cancels it");
        assert_eq!(running.transition_to_idle(false), Idle::Cancel);
    }

    #[test]
    fn a_queued_task_that_shutdown_is_cancelling_is_skipped() {
        let state = State::new();
        assert!(state.transition_to_shutdown(), "queued: shutdown drops the future itself");
        assert_eq!(state.transition_to_running(), Run::Skip, "the queued copy, popped meanwhile");
        state.transition_to_complete();
        assert_eq!(state.transition_to_running(), Run::Skip);
    }

    #[test]
    fn the_output_belongs_to_exactly_one_of_handle_and_task() {
        let early = State::new();
        assert!(early.unset_join_interest().is_ok(), "dropped before completion");
        assert_eq!(early.transition_to_running(), Run::Poll);
        assert!(!early.transition_to_complete().has_join_interest(), "the task drops it");

        let late = State::new();
        assert_eq!(late.transition_to_running(), Run::Poll);
        assert!(late.transition_to_complete().has_join_interest());
        assert!(late.unset_join_interest().is_err(), "the handle drops it");
    }

    #[test]
    fn each_poll_is_counted_and_a_cancelled_run_is_not() {
        let state = State::new();
        assert_eq!(state.load().polls(), 0);
        for polls in 1..=3 {
            assert_eq!(state.transition_to_running(), Run::Poll);
            assert_eq!(state.load().polls(), polls, "counted as the poll starts");
            assert!(state.load().is_running() && !state.load().is_notified());
            assert_eq!(state.transition_to_idle(false), Idle::Wait);
            assert!(state.transition_to_notified());
        }
        assert!(!state.transition_to_cancelled(), "already queued");
        let (run, _) = state.run_from();
        assert_eq!(run, Run::Cancel);
        state.uncount_poll();
        assert_eq!(state.load().polls(), 3, "dropping the future is not a poll");
        assert!(state.transition_to_complete().has_join_interest());
        assert_eq!(state.load().polls(), 3);
    }

    #[test]
    fn the_timed_mark_is_seen_by_the_next_run_only() {
        let state = State::new();
        state.mark_timed_next();
        let (run, prev) = state.run_from();
        assert_eq!(run, Run::Poll);
        assert!(prev.is_timed_next(), "the spawn's mark");
        assert!(!state.load().is_timed_next(), "the run takes it off");
        // A timed poll that was not woken during it leaves no mark.
        assert_eq!(state.transition_to_idle(true), Idle::Wait);
        assert!(!state.load().is_timed_next());
        assert!(state.transition_to_notified());
        assert!(!state.run_from().1.is_timed_next());
        // One woken during it marks its next run, which the runner queues.
        assert!(!state.transition_to_notified(), "running: left to the runner");
        assert_eq!(state.transition_to_idle(true), Idle::Requeue);
        assert!(state.load().is_timed_next());
        assert!(state.run_from().1.is_timed_next());
        assert_eq!(state.load().polls(), 3);
    }

    #[test]
    #[should_panic(expected = "already running")]
    fn running_a_running_task_is_a_bug() {
        let state = State::new();
        assert_eq!(state.transition_to_running(), Run::Poll);
        state.transition_to_running();
    }
}
