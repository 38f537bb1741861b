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
//!
//! The same hooks feed the live console (`crate::console`), which turns them on without a
//! threshold: then each entry of TASKS also keeps a weak reference to the task (to read its
//! state word and its reference count), counters (polls, busy time, wakes, time queued after a
//! wake), and completed tasks stay listed for a while; each thread's Slot counts its steals
//! and parks and says whether it holds the driver; two histograms collect every poll's
//! duration and scheduling delay (wake → poll). This module only records: the console reads
//! it from its own thread.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock, Weak};
use std::time::{Duration, Instant};

/// On while the detector or the console is: every hook checks this first.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The console is on: keep what it shows (completed tasks, histograms).
static CONSOLE: AtomicBool = AtomicBool::new(false);
/// The detector's threshold; `u64::MAX` while only the console is on (nothing is reported).
static THRESHOLD_NANOS: AtomicU64 = AtomicU64::new(u64::MAX);

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
}

/// What is known of a task while the detector or the console is on.
pub(crate) struct Meta {
    pub(crate) id: u64,
    pub(crate) location: &'static Location<'static>,
    pub(crate) name: Mutex<Option<String>>,
    /// The task cell, to read its state and count its references (`Weak::strong_count`).
    pub(crate) task: Weak<dyn Inspect>,
    /// In nanoseconds since `epoch()`.
    pub(crate) spawned_at: u64,
    /// 0 while it lives.
    pub(crate) done_at: AtomicU64,
    pub(crate) polls: AtomicU64,
    pub(crate) busy_nanos: AtomicU64,
    /// Time spent queued between a wake (or the spawn) and the poll that followed.
    pub(crate) scheduled_nanos: AtomicU64,
    /// The first wake not yet followed by a poll (0: none).
    pub(crate) woken_at: AtomicU64,
    pub(crate) wakes: AtomicU64,
    /// Polls during which it was woken (a wake of its own, `yield_now` or a spent budget; or,
    /// rarely, another thread's while it ran): counted once per poll, when the poll ends.
    pub(crate) self_wakes: AtomicU64,
    pub(crate) longest_poll_nanos: AtomicU64,
    /// When its poll in progress started (0: not being polled).
    pub(crate) poll_started_at: AtomicU64,
}

impl Meta {
    /// The name given with `task::Builder::name`, if any.
    pub(crate) fn name(&self) -> Option<String> {
        lock(&self.name).clone()
    }
}

/// Every task alive (and, with the console on, the last `KEEP_DONE` completed), by id, in
/// shards (by id) so that workers spawning and polling at once seldom share a lock.
static TASKS: [Mutex<Option<TaskMap>>; SHARDS] = [const { Mutex::new(None) }; SHARDS];
const SHARDS: usize = 16;
type TaskMap = HashMap<u64, Arc<Meta>, BuildHasherDefault<IdHasher>>;

/// Task ids are unique and handed out in order: a multiply spreads them well enough, for a
/// fraction of SipHash's cost on every poll.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

fn shard(id: u64) -> MutexGuard<'static, Option<TaskMap>> {
    lock(&TASKS[(id as usize) % SHARDS])
}
/// Completed tasks kept for the console, oldest first.
static DONE: Mutex<VecDeque<u64>> = Mutex::new(VecDeque::new());
const KEEP_DONE: usize = 256;
/// Every thread's slot that has polled a task since the detector was turned on.
static SLOTS: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

// Only plain maps, vectors and counters are changed under these locks: consistent after a
// panic, so the poison-free lock is right for them.
pub(crate) use crate::loom::lock;

fn find(id: u64) -> Option<Arc<Meta>> {
    shard(id).as_ref().and_then(|tasks| tasks.get(&id).cloned())
}

/// Whether the detector or the console is on.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether the console is on.
pub(crate) fn console_enabled() -> bool {
    CONSOLE.load(Ordering::Relaxed)
}

/// Turns the detector on with `threshold`, and starts the watchdog (once per process).
pub(crate) fn enable(threshold: Duration) {
    let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX).clamp(1, u64::MAX - 1);
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

/// Turns the hooks on for the console (no reports on stderr unless the detector is on too).
pub(crate) fn enable_console() {
    epoch();
    CONSOLE.store(true, Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
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

/// The detector's threshold, if it is on.
pub(crate) fn threshold() -> Option<Duration> {
    let nanos = THRESHOLD_NANOS.load(Ordering::Relaxed);
    (nanos != u64::MAX).then(|| Duration::from_nanos(nanos))
}

/// A task was created at `location` (the detector or the console is on).
#[cold]
#[inline(never)]
pub(crate) fn spawned(id: u64, location: &'static Location<'static>, task: Weak<dyn Inspect>) {
    let now = now_nanos();
    let meta = Arc::new(Meta {
        id,
        location,
        name: Mutex::new(None),
        task,
        spawned_at: now,
        done_at: AtomicU64::new(0),
        polls: AtomicU64::new(0),
        busy_nanos: AtomicU64::new(0),
        scheduled_nanos: AtomicU64::new(0),
        woken_at: AtomicU64::new(now.max(1)),
        wakes: AtomicU64::new(0),
        self_wakes: AtomicU64::new(0),
        longest_poll_nanos: AtomicU64::new(0),
        poll_started_at: AtomicU64::new(0),
    });
    shard(id).get_or_insert_with(TaskMap::default).insert(id, meta);
}

/// The task was given a name (`task::Builder::name`).
pub(crate) fn named(id: u64, name: &str) {
    if let Some(meta) = find(id) {
        *lock(&meta.name) = Some(name.to_string());
    }
}

/// An idle task was woken, and queued (the detector or the console is on): by value, from
/// `Task::wake`; by reference (and a spawn, whose queueing `spawned` already timed), from
/// the scheduler's `schedule`. Wakes during its poll are not hooked (that path stays as it
/// is when all this is off): `poll_ended` counts them from the state word. A wake counts once
/// per queueing.
#[cold]
#[inline(never)]
pub(crate) fn woken(id: u64) {
    let Some(meta) = find(id) else { return };
    let queued =
        meta.woken_at.compare_exchange(0, now_nanos().max(1), Ordering::Relaxed, Ordering::Relaxed);
    if queued.is_ok() {
        meta.wakes.fetch_add(1, Ordering::Relaxed);
    }
}

/// The task completed or was cancelled: its entry goes (or, with the console on, is kept
/// among the last completed).
#[cold]
#[inline(never)]
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
        forget(id);
    }
}

fn forget(id: u64) {
    if !console_enabled() {
        if let Some(tasks) = shard(id).as_mut() {
            tasks.remove(&id);
        }
        return;
    }
    if let Some(meta) = find(id) {
        let _ = meta.done_at.compare_exchange(
            0,
            now_nanos().max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
    let expired = {
        let mut done = lock(&DONE);
        done.push_back(id);
        (done.len() > KEEP_DONE).then(|| done.pop_front()).flatten()
    };
    if let Some(old) = expired {
        if let Some(tasks) = shard(old).as_mut() {
            tasks.remove(&old);
        }
    }
}

/// Every task known (alive, and the last completed ones), for the console.
pub(crate) fn tasks() -> Vec<Arc<Meta>> {
    let mut all = Vec::new();
    for shard in &TASKS {
        all.extend(lock(shard).iter().flat_map(|tasks| tasks.values().cloned()));
    }
    all
}

/// "task 12 \"name\" spawned at src/main.rs:10:5", from what is known of `id`.
fn describe(id: u64) -> String {
    let mut text = format!("task {id}");
    if let Some(meta) = find(id) {
        if let Some(name) = meta.name() {
            let _ = write!(text, " {name:?}");
        }
        let _ = write!(text, " spawned at {}", meta.location);
    }
    text
}

/// A timed poll in progress on this thread.
struct Poll {
    id: u64,
    /// Nanoseconds since `epoch()`.
    start: u64,
    meta: Option<Arc<Meta>>,
    /// What the slot held before (an outer poll's task and start), restored at the end.
    outer: (u64, u64),
    /// The task completed during this poll: its entry goes once the poll is reported.
    finished: bool,
}

/// One thread's poll in progress and its counters, read by the watchdog and the console.
pub(crate) struct Slot {
    /// The task being polled (`Id`'s number), or 0.
    pub(crate) task: AtomicU64,
    /// When its poll started, in nanoseconds since `epoch()`.
    pub(crate) started: AtomicU64,
    /// Counts the polls started here, so the watchdog tells one long poll from two.
    pub(crate) polls: AtomicU64,
    pub(crate) thread: String,
    /// The multi-thread worker whose core this thread runs (-1: none, or current-thread).
    pub(crate) worker: AtomicI64,
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) unparks: AtomicU64,
    pub(crate) parked: AtomicBool,
    /// This thread holds the runtime's driver (polls the reactor and fires the timers).
    pub(crate) driver: AtomicBool,
}

/// Every thread's slot still alive, for the console.
pub(crate) fn slots() -> Vec<Arc<Slot>> {
    let mut slots = lock(&SLOTS);
    slots.retain(|slot| slot.strong_count() > 0);
    slots.iter().filter_map(Weak::upgrade).collect()
}

/// Nanoseconds since the registry's epoch, the clock of every time kept here.
pub(crate) fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

pub(crate) fn now_nanos() -> u64 {
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
            worker: AtomicI64::new(-1),
            steals: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            unparks: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            driver: AtomicBool::new(false),
        });
        lock(&SLOTS).push(Arc::downgrade(&slot));
        slot
    };
}

/// Log-2 buckets of durations: bucket i holds [2^i, 2^(i+1)) microseconds (bucket 0 also
/// everything under 1 µs).
pub(crate) const BUCKETS: usize = 24;
pub(crate) struct Histogram(pub(crate) [AtomicU64; BUCKETS]);

impl Histogram {
    const fn new() -> Histogram {
        Histogram([const { AtomicU64::new(0) }; BUCKETS])
    }
    /// Counts one duration. A plain load and store, not a read-modify-write: two threads that
    /// count at the same instant may lose one count, which a histogram can afford better
    /// than every poll a locked instruction more.
    fn record(&self, nanos: u64) {
        let micros = nanos / 1000;
        let bucket = (u64::BITS - micros.leading_zeros()).saturating_sub(1) as usize;
        add(&self.0[bucket.min(BUCKETS - 1)], 1);
    }
}

/// Every poll's duration, while the console is on.
pub(crate) static POLL_TIMES: Histogram = Histogram::new();
/// Every poll's scheduling delay (wake or spawn → poll), while the console is on.
pub(crate) static SCHEDULE_DELAYS: Histogram = Histogram::new();

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

/// This worker parks (`true`: no work anywhere) or is unparked (`false`).
#[inline]
pub(crate) fn parked(parked: bool) {
    if enabled() {
        with_slot(|slot| {
            slot.parked.store(parked, Ordering::Relaxed);
            let count = if parked { &slot.parks } else { &slot.unparks };
            add(count, 1);
        });
    }
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
fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// A poll of task `id` starts on this thread (the detector or the console is on): marks this
/// thread's slot busy.
pub(crate) fn poll_started(id: u64) {
    let now = now_nanos();
    let meta = find(id);
    if let Some(meta) = &meta {
        meta.poll_started_at.store(now.max(1), Ordering::Relaxed);
        let woken = meta.woken_at.swap(0, Ordering::Relaxed);
        if woken != 0 {
            let delay = now.saturating_sub(woken);
            add(&meta.scheduled_nanos, delay);
            SCHEDULE_DELAYS.record(delay);
        }
    }
    let _ = SLOT.try_with(|slot| {
        // A poll nested in another (a `block_on` of another runtime inside `block_in_place`)
        // restores the outer one's when it ends.
        let outer = (slot.task.load(Ordering::Relaxed), slot.started.load(Ordering::Relaxed));
        let poll = Poll { id, start: now, meta, outer, finished: false };
        let _ = OUTER.try_with(|stack| stack.borrow_mut().push(poll));
        slot.started.store(now, Ordering::Relaxed);
        slot.task.store(id, Ordering::Release);
        // Only this thread writes its slot's counters.
        slot.polls.store(slot.polls.load(Ordering::Relaxed).wrapping_add(1), Ordering::Release);
    });
}

/// The poll `poll_started` began returned: reports it if it took longer than the threshold.
pub(crate) fn poll_ended(id: u64) {
    let ended = SLOT.try_with(|slot| {
        let poll = OUTER.try_with(|stack| stack.borrow_mut().pop()).ok()??;
        let (task, started) = poll.outer;
        slot.started.store(started, Ordering::Relaxed);
        slot.task.store(task, Ordering::Release);
        Some(poll)
    });
    let Ok(Some(poll)) = ended else { return };
    let end = now_nanos();
    let nanos = end.saturating_sub(poll.start);
    let took = Duration::from_nanos(nanos);
    if let Some(meta) = &poll.meta {
        meta.poll_started_at.store(0, Ordering::Relaxed);
        let state = meta.task.upgrade().map(|task| task.inspect());
        if state.is_some_and(|s| s.notified && !s.complete) {
            // Woken during the poll, and queued again by it.
            add(&meta.self_wakes, 1);
            let queued =
                meta.woken_at.compare_exchange(0, end.max(1), Ordering::Relaxed, Ordering::Relaxed);
            if queued.is_ok() {
                meta.wakes.fetch_add(1, Ordering::Relaxed);
            }
        }
        add(&meta.polls, 1);
        add(&meta.busy_nanos, nanos);
        if nanos > meta.longest_poll_nanos.load(Ordering::Relaxed) {
            meta.longest_poll_nanos.store(nanos, Ordering::Relaxed);
        }
        POLL_TIMES.record(nanos);
    }
    if let Some(threshold) = threshold() {
        if took > threshold {
            let thread = SLOT.try_with(|slot| slot.thread.clone()).unwrap_or_default();
            eprintln!(
                "minirt: slow poll: {} ran for {} on thread {thread} (threshold {})",
                describe(id),
                show(took),
                show(threshold),
            );
        }
    }
    if poll.finished {
        forget(id);
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
    let mut next: HashMap<usize, (u64, Duration)> = HashMap::new();
    loop {
        // Only started by `enable`, which set it.
        let threshold = threshold().unwrap_or(Duration::MAX);
        std::thread::sleep(
            (threshold / 2).clamp(Duration::from_millis(1), Duration::from_millis(100)),
        );
        let slots = slots();
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
