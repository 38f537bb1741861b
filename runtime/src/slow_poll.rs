//! The slow-poll detector: names the task whose poll blocks its thread, while it still blocks.
//!
//! A poll that does not return (a synchronous call, a long loop, a lock held across work)
//! stalls every task queued behind it on that worker. `MINIRT_SLOW_POLL=10ms` (or
//! [`Builder::slow_poll_threshold`](crate::runtime::Builder::slow_poll_threshold)) turns this
//! on for the process; then one line goes to stderr for each poll past the threshold, with
//! the task's id, its name (`task::Builder::name`) and where it was spawned
//! (`#[track_caller]`), as soon as it passes the threshold (again at 2×, 4×, ... while it goes
//! on) and once more when it returns:
//!
//! ```text
//!  Task::new         ── on? keep (id → spawn location, name) in TASKS
//!  scheduler::run    ── on? this thread's Slot := (task id, start)
//!                       Task::run: poll the future
//!                       Slot := idle; longer than the threshold? "... ran for 812 ms ..."
//!  watchdog thread   ── every threshold / 2 (1 ms to 100 ms): a Slot busy past the threshold,
//!                       then 2×, 4×, ...? "... has run for 200 ms ... and is still running"
//!  Task::complete    ── on? forget the task's entry
//! ```
//!
//! The watchdog is a thread of its own, so it reports while every worker is blocked. Off (the
//! default) each hook is one relaxed load and a branch, in the scheduler's loop (not in the
//! task cell, where it made `Task::run` too big for LLVM to inline the future's poll); no
//! memory is kept per task. Tasks are known here by their ids' numbers: this module sits
//! below `task`.
//! The setting is process-wide (the first runtime that turns it on sets the threshold), as
//! the environment variable is.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock, Weak};
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);
static THRESHOLD_NANOS: AtomicU64 = AtomicU64::new(u64::MAX);

/// What is known of a live task while the detector is on.
struct Meta {
    location: &'static Location<'static>,
    name: Option<String>,
}

static TASKS: Mutex<BTreeMap<u64, Meta>> = Mutex::new(BTreeMap::new());
/// Every thread's slot that has polled a task since the detector was turned on.
static SLOTS: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only plain maps and vectors are changed under these locks: consistent after a panic.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether the detector is on.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Turns the detector on with `threshold`, and starts the watchdog (once per process).
pub(crate) fn enable(threshold: Duration) {
    let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX).max(1);
    // The first runtime to turn it on sets the threshold; later ones keep it.
    let _ = THRESHOLD_NANOS.compare_exchange(u64::MAX, nanos, Ordering::Relaxed, Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
    static WATCHDOG: Once = Once::new();
    WATCHDOG.call_once(|| {
        let started = std::thread::Builder::new()
            .name("minirt-slow-poll".into())
            .spawn(watchdog);
        if let Err(e) = started {
            eprintln!("minirt: slow poll: cannot start the watchdog thread ({e}): only polls that return are reported");
        }
    });
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

/// `10ms`, `500us` (or `µs`), `2s`, `100ns`; a bare number is milliseconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "" | "ms" => Some(Duration::from_millis(number)),
        "us" | "µs" => Some(Duration::from_micros(number)),
        "ns" => Some(Duration::from_nanos(number)),
        "s" => Some(Duration::from_secs(number)),
        _ => None,
    }
}

fn threshold() -> Duration {
    Duration::from_nanos(THRESHOLD_NANOS.load(Ordering::Relaxed))
}

/// A task was created at `location` (the detector is on).
#[cold]
pub(crate) fn spawned(id: u64, location: &'static Location<'static>) {
    lock(&TASKS).insert(id, Meta { location, name: None });
}

/// The task was given a name (`task::Builder::name`).
pub(crate) fn named(id: u64, name: &str) {
    if let Some(meta) = lock(&TASKS).get_mut(&id) {
        meta.name = Some(name.to_string());
    }
}

/// The task completed or was cancelled: its entry goes.
#[cold]
pub(crate) fn finished(id: u64) {
    // Completed during its own timed poll: `poll_ended` still reports it by name, and removes
    // the entry after.
    let in_its_poll = OUTER
        .try_with(|stack| match stack.borrow_mut().last_mut() {
            Some(poll) if poll.id == id => {
                poll.finished = true;
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    if !in_its_poll {
        lock(&TASKS).remove(&id);
    }
}

/// "task 12 \"name\" spawned at src/main.rs:10:5", from what is known of `id`.
fn describe(id: u64) -> String {
    let mut text = format!("task {id}");
    if let Some(meta) = lock(&TASKS).get(&id) {
        if let Some(name) = &meta.name {
            let _ = write!(text, " {name:?}");
        }
        let _ = write!(text, " spawned at {}", meta.location);
    }
    text
}

/// A timed poll in progress on this thread.
struct Poll {
    id: u64,
    start: Instant,
    /// What the slot held before (an outer poll's task and start), restored at the end.
    outer: (u64, u64),
    /// The task completed during this poll: its entry goes once the poll is reported.
    finished: bool,
}

/// One thread's poll in progress, read by the watchdog.
struct Slot {
    /// The task being polled (`Id`'s number), or 0.
    task: AtomicU64,
    /// When its poll started, in nanoseconds since `epoch()`.
    started: AtomicU64,
    /// Counts the polls started here, so the watchdog tells one long poll from two.
    polls: AtomicU64,
    thread: String,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_nanos() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

thread_local! {
    /// Per poll in progress on this thread, innermost last: what the slot held before it (the
    /// outer poll's task and start) and when it started.
    static OUTER: RefCell<Vec<Poll>> = const { RefCell::new(Vec::new()) };
    static SLOT: Arc<Slot> = {
        let thread = std::thread::current();
        let slot = Arc::new(Slot {
            task: AtomicU64::new(0),
            started: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            // Workers share a name: the id tells them apart.
            thread: format!("{} {:?}", thread.name().unwrap_or("(unnamed)"), thread.id()),
        });
        lock(&SLOTS).push(Arc::downgrade(&slot));
        slot
    };
}

/// A poll of task `id` starts on this thread (the detector is on): marks this thread's slot
/// busy.
pub(crate) fn poll_started(id: u64) {
    let _ = SLOT.try_with(|slot| {
        // A poll nested in another (a `block_on` of another runtime inside `block_in_place`)
        // restores the outer one's when it ends.
        let outer = (slot.task.load(Ordering::Relaxed), slot.started.load(Ordering::Relaxed));
        let poll = Poll { id, start: Instant::now(), outer, finished: false };
        let _ = OUTER.try_with(|stack| stack.borrow_mut().push(poll));
        slot.started.store(now_nanos(), Ordering::Relaxed);
        slot.task.store(id, Ordering::Release);
        slot.polls.fetch_add(1, Ordering::Release);
    });
}

/// The poll `poll_started` began returned: reports it if it took longer than the threshold.
pub(crate) fn poll_ended(id: u64) {
    let ended = SLOT.try_with(|slot| {
        let poll = OUTER.try_with(|stack| stack.borrow_mut().pop()).ok()??;
        let (task, started) = poll.outer;
        slot.started.store(started, Ordering::Relaxed);
        slot.task.store(task, Ordering::Release);
        Some((poll.start.elapsed(), poll.finished, slot.thread.clone()))
    });
    let Ok(Some((took, finished, thread))) = ended else { return };
    let threshold = threshold();
    if took > threshold {
        eprintln!(
            "minirt: slow poll: {} ran for {} on thread {thread} (threshold {})",
            describe(id),
            show(took),
            show(threshold),
        );
    }
    if finished {
        lock(&TASKS).remove(&id);
    }
}

fn show(d: Duration) -> String {
    if d >= Duration::from_millis(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} µs", d.as_micros())
    }
}

/// The watchdog's loop: reports polls still running past the threshold, at growing intervals.
fn watchdog() {
    // Per slot: the poll (by its count) last reported, and when to report it next.
    let mut next: BTreeMap<usize, (u64, Duration)> = BTreeMap::new();
    loop {
        let threshold = threshold();
        std::thread::sleep(
            (threshold / 2).clamp(Duration::from_millis(1), Duration::from_millis(100)),
        );
        let slots: Vec<Arc<Slot>> = {
            let mut slots = lock(&SLOTS);
            slots.retain(|slot| slot.strong_count() > 0);
            slots.iter().filter_map(Weak::upgrade).collect()
        };
        for slot in &slots {
            let key = Arc::as_ptr(slot) as usize;
            let polls = slot.polls.load(Ordering::Acquire);
            let task = slot.task.load(Ordering::Acquire);
            let started = slot.started.load(Ordering::Relaxed);
            if task == 0 || slot.polls.load(Ordering::Acquire) != polls {
                continue;
            }
            let running = Duration::from_nanos(now_nanos().saturating_sub(started));
            let due = match next.get(&key) {
                Some(&(seen, due)) if seen == polls => due,
                _ => threshold,
            };
            if running < due {
                continue;
            }
            next.insert(key, (polls, due.saturating_mul(2)));
            eprintln!(
                "minirt: slow poll: {} has run for {} on thread {} and is still running (threshold {})",
                describe(task),
                show(running),
                slot.thread,
                show(threshold),
            );
        }
        next.retain(|key, _| slots.iter().any(|slot| Arc::as_ptr(slot) as usize == *key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_units() {
        assert_eq!(parse_duration("10ms"), Some(Duration::from_millis(10)));
        assert_eq!(parse_duration("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("500us"), Some(Duration::from_micros(500)));
        assert_eq!(parse_duration("500µs"), Some(Duration::from_micros(500)));
        assert_eq!(parse_duration(" 2s "), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("100ns"), Some(Duration::from_nanos(100)));
        assert_eq!(parse_duration("ten ms"), None);
        assert_eq!(parse_duration("10 minutes"), None);
        assert_eq!(parse_duration(""), None);
    }
}
