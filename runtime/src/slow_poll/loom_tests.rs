//! loom model of the watchdog's hand-off with a poll: the poll publishes a new sequence number
//! and its task (`Slot::begin`), the watchdog notes a poll it sees first (`sighted_at`) and
//! marks one whose number has not moved since its last tick (`long`, `watchdog::observe`),
//! and the poll's end (`Slot::end`, then `Slot::long_since`) reads the clock only if it was
//! marked, timing itself from the watchdog's first sighting.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p minirt-runtime --release --lib loom_
//! ```
//!
//! The clock is an atomic only the watchdog moves (one step a tick): the order of its readings
//! against the poll's is then part of what loom explores. Storing `long` Relaxed instead of
//! Release makes `loom_a_long_poll_is_timed_from_its_own_sighting` fail: the poll's end can
//! then see the mark but not the sighting's time.

use loom::sync::atomic::{AtomicU64, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

use super::threads::Slot;
use super::watchdog::{observe, Seen};

/// Two polls in a row on a worker, three ticks of the watchdog: a poll's end counts itself
/// long only if the watchdog saw that very poll on two ticks, and then times it from that
/// poll's first sighting, which is not earlier than the poll's start (a long poll is timed
/// short, by less than a tick, never long).
#[test]
fn loom_a_long_poll_is_timed_from_its_own_sighting() {
    loom::model(|| {
        let slot = Arc::new(Slot::new(String::from("worker")));
        let clock = Arc::new(AtomicU64::new(1));
        let watchdog = {
            let (slot, clock) = (slot.clone(), clock.clone());
            thread::spawn(move || {
                let mut last: Option<Seen> = None;
                // (sequence number, first sighting) of each poll seen again.
                let mut long = Vec::new();
                for _ in 0..3 {
                    let now = clock.fetch_add(1, SeqCst) + 1;
                    if let Some(poll) = observe(&slot, &mut last, now) {
                        long.push((poll.seq, poll.at));
                    }
                }
                long
            })
        };
        let mut timed = Vec::new();
        for task in [7, 8] {
            let start = clock.load(SeqCst);
            let seq = slot.begin(task);
            thread::yield_now();
            let (ended, ended_seq, _) = slot.end();
            assert_eq!((ended, ended_seq), (task, seq), "the poll's end reads its own");
            if let Some(from) = slot.long_since(seq) {
                timed.push((seq, start, from));
            }
        }
        let long = watchdog.join().unwrap();
        for (seq, start, from) in timed {
            assert!(
                long.iter().any(|&(seen, at)| seen == seq && at == from),
                "poll {seq} timed from {from}, but the watchdog saw {long:?} on two ticks"
            );
            assert!(from >= start, "poll {seq} started at {start}, timed from {from}");
        }
        assert_eq!(slot.task.load(SeqCst), 0, "no poll left published");
    });
}
