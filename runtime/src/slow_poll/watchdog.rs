//! The watchdog thread: sees a poll that has not changed between two ticks, marks it long,
//! and reports it while it still runs; it also keeps the coarse clock.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Once};
use std::time::Duration;

use super::clock::{now_nanos, COARSE_NANOS};
use super::poll::show;
use super::settings::{console_enabled, threshold};
use super::tasks::describe;
use super::threads::{slots, Slot};

/// How often the watchdog looks at the threads' polls while only the console is on: the
/// console's "running for" of an untimed poll is short by less than this.
const CONSOLE_TICK: Duration = Duration::from_millis(5);

/// The watchdog's period: a quarter of the threshold (a poll is reported at most a quarter
/// late), `CONSOLE_TICK` if only the console is on or if that is shorter; 1 to 100 ms.
fn tick() -> Duration {
    let detector = threshold().map_or(Duration::MAX, |threshold| threshold / 4);
    let console = if console_enabled() { CONSOLE_TICK } else { Duration::MAX };
    detector.min(console).clamp(Duration::from_millis(1), Duration::from_millis(100))
}

/// Starts the watchdog thread (once per process).
pub(super) fn start_watchdog() {
    COARSE_NANOS.fetch_max(now_nanos(), Ordering::Relaxed);
    static WATCHDOG: Once = Once::new();
    WATCHDOG.call_once(|| {
        let started = std::thread::Builder::new()
            .name("minirt-slow-poll".into())
            .spawn(watchdog);
        if let Err(e) = started {
            eprintln!("minirt: slow poll: cannot start the watchdog thread ({e}): only timed polls are reported, and ages stop");
        }
    });
}

/// What the watchdog knows of a thread's poll in progress.
pub(super) struct Seen {
    /// The poll's sequence number, and when the watchdog first saw it.
    pub(super) seq: u64,
    pub(super) at: u64,
    /// Its task.
    task: u64,
    /// Whether it told the poll it is long (seen on two ticks).
    long: bool,
    /// When to report it next, as running this long.
    due: Duration,
}

/// One tick's look at a thread's slot (`last`: what the tick before saw there; `now`: this
/// tick's clock). A poll in progress first seen is noted, on the slot too (`sighted`,
/// `sighted_at`: the console's "running for" of an untimed poll); one seen again (its
/// sequence number has not moved) is marked long on the slot (`long`), so that its end
/// reads the clock and times it from the first sighting (`Slot::long_since`), and is
/// returned.
pub(super) fn observe<'a>(
    slot: &Slot,
    last: &'a mut Option<Seen>,
    now: u64,
) -> Option<&'a mut Seen> {
    let seq = slot.polls.load(Ordering::Acquire);
    let task = slot.task.load(Ordering::Acquire);
    if task == 0 {
        *last = None;
        return None;
    }
    match last {
        Some(poll) if poll.seq == seq => {
            if !poll.long {
                poll.long = true;
                // After `sighted_at`, which the poll's end reads.
                slot.long.store(seq, Ordering::Release);
            }
            last.as_mut()
        }
        _ => {
            slot.sighted_at.store(now, Ordering::Relaxed);
            slot.sighted.store(seq, Ordering::Release);
            let due = threshold().unwrap_or(Duration::MAX);
            *last = Some(Seen { seq, at: now, task, long: false, due });
            None
        }
    }
}

/// The watchdog's loop. Each tick, for each thread: `observe`; a poll past the threshold
/// (then 2×, 4×, ...) is reported as still running. A poll's start is its own when timed,
/// else the first sighting: it started within the tick before.
fn watchdog() {
    let mut seen: HashMap<usize, Option<Seen>> = HashMap::new();
    loop {
        std::thread::sleep(tick());
        let now = now_nanos();
        COARSE_NANOS.fetch_max(now, Ordering::Relaxed);
        let threshold = threshold();
        let slots = slots();
        for slot in &slots {
            let key = Arc::as_ptr(slot) as usize;
            let last = seen.entry(key).or_default();
            let Some(poll) = observe(slot, last, now) else { continue };
            let Some(threshold) = threshold else { continue };
            let started = slot.started.load(Ordering::Relaxed);
            let from = if started != 0 { started } else { poll.at };
            let running = Duration::from_nanos(now.saturating_sub(from));
            if running < poll.due {
                continue;
            }
            poll.due = poll.due.saturating_mul(2);
            eprintln!(
                "minirt: slow poll: {} has run for {} on thread {} and is still running (threshold {})",
                describe(poll.task),
                show(running),
                slot.thread,
                show(threshold),
            );
        }
        seen.retain(|key, _| slots.iter().any(|slot| Arc::as_ptr(slot) as usize == *key));
    }
}

/// The task in a thread's poll in progress and how long it has run (`now`: the clock now):
/// exact if the poll is timed; else from the watchdog's first sighting (short by less than a
/// tick), or 0 if it has not seen it yet.
pub(crate) fn running(slot: &Slot, now: u64) -> Option<(u64, u64)> {
    let task = slot.task.load(Ordering::Acquire);
    if task == 0 {
        return None;
    }
    let started = slot.started.load(Ordering::Relaxed);
    let from = if started != 0 {
        started
    } else if slot.sighted.load(Ordering::Acquire) == slot.polls.load(Ordering::Relaxed) {
        slot.sighted_at.load(Ordering::Relaxed)
    } else {
        now
    };
    Some((task, now.saturating_sub(from)))
}
