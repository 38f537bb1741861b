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
//!  Task::new         ── on? a Meta (spawn location, name, counters) in TASKS, and in TABLE
//!  scheduler::run    ── on? PollTimer::start: this thread's Slot := (poll number, task id);
//!                       the task's Meta counts the poll; one poll in SAMPLE (and every
//!                       task's first) also reads the clock: a timed poll
//!                       Task::run: poll the future
//!                       PollTimer::drop: Slot := idle; timed, or marked long by the
//!                       watchdog? read the clock, count the duration; past the threshold?
//!                       "... ran for 812 ms ..."
//!  watchdog thread   ── every tick (threshold / 4, 5 ms with the console; 1 to 100 ms):
//!                       a Slot's poll number unchanged since the last tick? mark it long;
//!                       running past the threshold, then 2×, 4×, ...? "... has run for
//!                       200 ms ... and is still running"
//!  Task::complete    ── on? forget the task (the console keeps the last completed listed)
//!  Task's drop       ── on? free its TABLE entry
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
//! threshold: then each `Meta` also keeps a weak reference to the task (to read its state
//! word and its reference count), counters (polls, busy time, wakes, time queued after a
//! wake), and completed tasks stay listed for a while; each thread's Slot counts its steals
//! and parks, says whether it holds the driver, and keeps two histograms (poll duration and
//! scheduling delay, wake → poll). This module only records: the console reads it from its
//! own thread.
//!
//! Exact and sampled. A poll of a small task costs about as much as reading the clock, so
//! the clock is read on a sample only. Exact for every task: its spawn (id, name, location),
//! state, polls, wakes and self-wakes, completion: plain loads and stores to its own `Meta`
//! (only the thread polling a task writes these). Sampled: one poll in `SAMPLE` on each
//! thread, and every task's first poll, is timed (start and end); one wake in `SAMPLE` of
//! each task, and one spawn in `SAMPLE`, reads the clock so that the poll after it times its
//! scheduling delay (and so does a poll after a timed one that woke itself). Busy time and
//! the poll-duration histogram are estimates: the polls known exactly (every task's first,
//! every long one, below) as they are, plus the sampled ones scaled up to all the others
//! (`Meta::busy`, `Slot::estimate`); scheduling time and its histogram scale the timed
//! queueings up to all polls (`Meta::scheduled`). Ages and completion times come from the watchdog's clock (`coarse_nanos`, late by
//! less than a tick). Long polls are not sampled: the watchdog sees a poll whose number has
//! not changed between two of its ticks, marks it long on its Slot, and the poll's end (one
//! relaxed load) then reads the clock and counts it, timed from the watchdog's first sighting
//! when the sample did not time it: short by less than a tick. So a slow poll is reported,
//! while it runs and when it returns, and the longest poll of a task is exact for every poll
//! longer than a tick (and for the timed ones), sampled below.
//!
//! The per-poll path takes no lock, allocates nothing and writes only the thread's own Slot
//! and the task's `Meta`: the `Meta` comes from `TABLE` (indexed by the id, no lock;
//! `TASKS`, the sharded map the console lists, only when the entry is another task's), the
//! clock is the time-stamp counter (`tsc`, where the kernel trusts it), the histograms are
//! the thread's own, and a wake during the poll is not hooked but read off the next poll
//! (no wake hooked since the last poll: it was woken during that one). See BENCHMARKS.md
//! for what it costs.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
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
    /// In nanoseconds since `epoch()`, from the watchdog's clock (`coarse_nanos`).
    pub(crate) spawned_at: u64,
    /// 0 while it lives; from the watchdog's clock.
    pub(crate) done_at: AtomicU64,
    /// Every poll, counted when it starts.
    pub(crate) polls: AtomicU64,
    /// Its polls' durations, in two parts. Known exactly (`exact_polls`): its first poll,
    /// and every poll the watchdog saw long (timed from its start when sampled, else from
    /// the watchdog's first sighting). Sampled (`timed_polls`): the others that the thread's
    /// one-in-`SAMPLE` picked. `busy` adds the first part to the second scaled up to the
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
    /// A wake not yet followed by a poll: when (a wake that read the clock), `UNTIMED`, or 0
    /// (none).
    pub(crate) woken_at: AtomicU64,
    /// Wakes hooked (of the task while idle): `Meta::wakes` adds the self-wakes.
    pub(crate) idle_wakes: AtomicU64,
    pub(crate) longest_poll_nanos: AtomicU64,
    /// When its poll in progress started, if that poll is timed (0: not being polled, or
    /// not timed).
    pub(crate) poll_started_at: AtomicU64,
    /// When its last poll ended, if that poll was timed (else 0): a task polled again with no
    /// wake hooked since was woken during that poll (and queued again by it) at that moment.
    last_poll_end: AtomicU64,
}

/// `Meta::woken_at` of a task queued by a wake that did not read the clock.
const UNTIMED: u64 = 1;

/// One poll in `SAMPLE` on each thread is timed (and every task's first poll), and one wake
/// (or spawn) in `SAMPLE` reads the clock: `SAMPLE - 1` polls in `SAMPLE` cost no clock read.
pub(crate) const SAMPLE: u64 = 1 << 5;

impl Meta {
    /// The name given with `task::Builder::name`, if any.
    pub(crate) fn name(&self) -> Option<String> {
        lock(&self.name).clone()
    }

    /// Every wake that queued it: while idle, and during its polls.
    pub(crate) fn wakes(&self) -> u64 {
        self.idle_wakes.load(Ordering::Relaxed) + self.self_wakes()
    }

    /// Its polls during which it was woken (a wake of its own, `yield_now` or a spent
    /// budget; or, rarely, another thread's while it ran), counted without a hook: every poll
    /// but the first follows a wake, hooked (while it was idle) or during the poll before;
    /// the hooked wake not yet followed by a poll (`woken_at` set) is not one of them.
    pub(crate) fn self_wakes(&self) -> u64 {
        let polls = self.polls.load(Ordering::Relaxed);
        let pending = u64::from(self.woken_at.load(Ordering::Relaxed) != 0);
        let followed = self.idle_wakes.load(Ordering::Relaxed).saturating_sub(pending);
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

/// The hooks' way to a task's `Meta` without a lock: a table indexed by the id's low bits
/// (ids are handed out in order, so tasks alive at once seldom share an entry; one that finds
/// its entry taken is looked up in `TASKS`, under its shard's lock). An entry holds a strong
/// reference to the `Meta` from `spawned` until the task cell is dropped (`dropped`), and
/// every hook that reads it is called by someone holding a reference to the cell (a waker
/// being woken, a scheduler running the task): so what an entry points to outlives the read.
/// 1 MiB of zeroes, touched only while the hooks are on.
struct Entry {
    /// The task's id, `CLAIMED` while `spawned` fills the entry, or 0 (free).
    id: AtomicU64,
    meta: AtomicPtr<Meta>,
}
const ENTRIES: usize = 1 << 16;
const CLAIMED: u64 = u64::MAX;
static TABLE: [Entry; ENTRIES] =
    [const { Entry { id: AtomicU64::new(0), meta: AtomicPtr::new(ptr::null_mut()) } }; ENTRIES];

fn entry(id: u64) -> &'static Entry {
    &TABLE[(id as usize) % ENTRIES]
}

/// `id`'s `Meta`, for a hook whose caller holds a reference to the task cell (see `Entry`).
#[inline]
fn lookup(id: u64) -> Option<MetaRef> {
    let entry = entry(id);
    if entry.id.load(Ordering::Acquire) == id {
        let meta = entry.meta.load(Ordering::Relaxed);
        // SAFETY: the entry is `id`'s (the Acquire pairs with `spawned`'s Release, after
        // it stored the pointer), and it keeps the `Meta` alive until the task cell is dropped,
        // which our caller's reference to the cell prevents for as long as it runs.
        return Some(MetaRef::Table(unsafe { &*meta }));
    }
    find(id).map(MetaRef::Map)
}

/// A `Meta` found by `lookup`: borrowed from the table, or a reference from `TASKS`.
enum MetaRef {
    Table(&'static Meta),
    Map(Arc<Meta>),
}

impl std::ops::Deref for MetaRef {
    type Target = Meta;
    fn deref(&self) -> &Meta {
        match self {
            MetaRef::Table(meta) => meta,
            MetaRef::Map(meta) => meta,
        }
    }
}

/// The task cell of `id` is being dropped (the hooks are on): frees its table entry; or, if
/// a poll of the task is still being counted (the cell went as its run returned), leaves the
/// entry's reference to that poll's `PollTimer` to give back.
#[cold]
#[inline(never)]
pub(crate) fn dropped(id: u64) {
    let entry = entry(id);
    if entry.id.load(Ordering::Relaxed) != id {
        return;
    }
    let meta = entry.meta.swap(ptr::null_mut(), Ordering::Relaxed);
    entry.id.store(0, Ordering::Release);
    // SAFETY: the entry's reference keeps `meta` alive until it is given back, below or by
    // the poll this hands it to.
    let started = unsafe { &(*meta).poll_started_at };
    let mut seen = started.load(Ordering::Acquire);
    while seen != 0 {
        match started.compare_exchange(seen, DROPPED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(now) => seen = now,
        }
    }
    // SAFETY: the pointer came from `Arc::into_raw` in `spawned`, and the entry's reference
    // is given back once: here, or by the poll that found `DROPPED`.
    drop(unsafe { Arc::from_raw(meta) });
}

/// `Meta::poll_started_at` of a task whose cell was dropped during a poll being counted.
const DROPPED: u64 = u64::MAX;

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
    // Ids are handed out in order: one spawn in `SAMPLE` times its first queueing.
    let queued = if id % SAMPLE == 0 { now_nanos().max(UNTIMED + 1) } else { UNTIMED };
    let meta = Arc::new(Meta {
        id,
        location,
        name: Mutex::new(None),
        task,
        spawned_at: coarse_nanos(),
        done_at: AtomicU64::new(0),
        polls: AtomicU64::new(0),
        busy_nanos: AtomicU64::new(0),
        timed_polls: AtomicU64::new(0),
        exact_busy_nanos: AtomicU64::new(0),
        exact_polls: AtomicU64::new(0),
        scheduled_nanos: AtomicU64::new(0),
        timed_delays: AtomicU64::new(0),
        woken_at: AtomicU64::new(queued),
        idle_wakes: AtomicU64::new(0),
        longest_poll_nanos: AtomicU64::new(0),
        poll_started_at: AtomicU64::new(0),
        last_poll_end: AtomicU64::new(0),
    });
    let entry = entry(id);
    if entry.id.compare_exchange(0, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_ok() {
        entry.meta.store(Arc::into_raw(Arc::clone(&meta)).cast_mut(), Ordering::Relaxed);
        entry.id.store(id, Ordering::Release);
    }
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
/// is when all this is off): `PollTimer::start` counts them when the task is polled again
/// with no wake hooked since. A wake counts once per queueing.
#[cold]
#[inline(never)]
pub(crate) fn woken(id: u64) {
    let Some(meta) = lookup(id) else { return };
    // Only the thread that queues the task calls this (its wake won the state word's
    // transition), and the poll that clears `woken_at` comes after the queueing: plain loads
    // and stores are enough.
    if meta.woken_at.load(Ordering::Relaxed) == 0 {
        let wakes = meta.idle_wakes.load(Ordering::Relaxed);
        meta.idle_wakes.store(wakes + 1, Ordering::Relaxed);
        // One wake in `SAMPLE` (the task's first among them) times its queueing.
        let at = if wakes % SAMPLE == 0 { now_nanos().max(UNTIMED + 1) } else { UNTIMED };
        meta.woken_at.store(at, Ordering::Relaxed);
    }
}

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

/// The task completed: its entry goes (or, with the console on, is kept among the last
/// completed). With the console on, the caller holds the task cell (see `lookup`).
fn forget(id: u64) {
    if !console_enabled() {
        if let Some(tasks) = shard(id).as_mut() {
            tasks.remove(&id);
        }
        return;
    }
    if let Some(meta) = lookup(id) {
        let now = coarse_nanos().max(1);
        let _ = meta.done_at.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
    }
    let expired = {
        let mut done = lock(&DONE);
        done.push_back(id);
        (done.len() > KEEP_DONE).then(|| done.pop_front()).flatten()
    };
    if let Some(old) = expired {
        // Dropped outside the shard's lock: its `Weak` may free the task cell.
        let old = shard(old).as_mut().and_then(|tasks| tasks.remove(&old));
        drop(old);
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

/// One thread's poll in progress and its counters, read by the watchdog and the console.
pub(crate) struct Slot {
    /// The task being polled (`Id`'s number), or 0.
    pub(crate) task: AtomicU64,
    /// When its poll started, in nanoseconds since `epoch()`, if that poll is timed (else 0).
    pub(crate) started: AtomicU64,
    /// Counts the polls started here: the poll in progress's sequence number, by which the
    /// watchdog tells one long poll from two.
    pub(crate) polls: AtomicU64,
    /// The polls sampled here (not counting those known exactly: a task's first, the long
    /// ones), and the queueings (wake → poll) timed here: the histograms hold these,
    /// `histograms` scales them up; and the polls known exactly, in a histogram of their own.
    timed: AtomicU64,
    exact: AtomicU64,
    exact_times: Histogram,
    timed_delays: AtomicU64,
    /// Written by the watchdog: the poll (by sequence number) it saw first at `sighted_at`
    /// (its clock), and the poll it saw on two ticks (`long`), which the poll's end then
    /// times from that sighting.
    sighted: AtomicU64,
    sighted_at: AtomicU64,
    long: AtomicU64,
    pub(crate) thread: String,
    /// The multi-thread worker whose core this thread runs (-1: none, or current-thread).
    pub(crate) worker: AtomicI64,
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) unparks: AtomicU64,
    pub(crate) parked: AtomicBool,
    /// This thread holds the runtime's driver (polls the reactor and fires the timers).
    pub(crate) driver: AtomicBool,
    /// The current-thread runtime whose loop polled here last (its `Shared`'s address, never
    /// dereferenced; 0: none), and the tasks its local queue held then.
    pub(crate) loop_runtime: AtomicUsize,
    pub(crate) loop_queue: AtomicU64,
    /// This thread's polls' durations and scheduling delays (`histograms` adds all up): a
    /// thread's own, so that workers do not write the same cache lines at every poll.
    poll_times: Histogram,
    schedule_delays: Histogram,
    /// The task that completed during the poll in progress here: `PollTimer` forgets it
    /// once the poll is reported.
    finished: AtomicU64,
}

/// Every thread's slot still alive, for the console.
pub(crate) fn slots() -> Vec<Arc<Slot>> {
    let mut slots = lock(&SLOTS);
    slots.retain(|slot| slot.strong_count() > 0);
    slots.iter().filter_map(Weak::upgrade).collect()
}

/// Starts the epoch, and the time-stamp counter's calibration.
fn start_clock() {
    let nanos = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
    #[cfg(target_arch = "x86_64")]
    tsc::start(nanos);
}

/// The registry's epoch: every time kept here counts nanoseconds from it.
pub(crate) fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since `epoch()`: read twice per poll while the hooks are on, so from the
/// time-stamp counter once it is calibrated (`tsc`), from `Instant` (a `clock_gettime`) until
/// then and on machines whose kernel does not trust the counter.
#[inline]
pub(crate) fn now_nanos() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(nanos) = tsc::now() {
        return nanos;
    }
    instant_nanos()
}

#[cold]
#[inline(never)]
fn instant_nanos() -> u64 {
    let nanos = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
    #[cfg(target_arch = "x86_64")]
    tsc::calibrate(nanos);
    nanos
}

/// The time-stamp counter as a clock: `rdtsc` is a fifth of a `clock_gettime` here (17 ns
/// against 45 on this VM, and one instruction for callgrind against a syscall). Used only
/// where the kernel uses it itself (clocksource `tsc`: it found the counter invariant and in
/// step across CPUs), after a calibration against `Instant` over `WINDOW`; times read before
/// come from `Instant`, and the two agree where they meet (the counter's times count from the
/// calibration's own `Instant` reading).
#[cfg(target_arch = "x86_64")]
mod tsc {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::OnceLock;

    /// How long the first reading and the calibration are apart: the error of the rate is
    /// about a `clock_gettime`'s duration (50 ns) over this, 5 parts per million.
    const WINDOW: u64 = 10_000_000;
    /// Nanoseconds per tick × 2^32; 0 until calibrated.
    static MULT: AtomicU64 = AtomicU64::new(0);
    /// The calibration's reading: `BASE_TICKS` counted at `BASE_NANOS` since the epoch.
    static BASE_TICKS: AtomicU64 = AtomicU64::new(0);
    static BASE_NANOS: AtomicU64 = AtomicU64::new(0);
    /// The first reading (ticks, nanoseconds), taken by `start` if the kernel trusts the
    /// counter.
    static FIRST: OnceLock<(u64, u64)> = OnceLock::new();
    static CALIBRATING: AtomicBool = AtomicBool::new(false);

    fn ticks() -> u64 {
        // SAFETY: `rdtsc` reads a counter every x86-64 processor has; it touches no memory.
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }

    #[inline]
    pub(super) fn now() -> Option<u64> {
        // Acquire: the base was stored before the rate.
        let mult = MULT.load(Ordering::Acquire);
        if mult == 0 {
            return None;
        }
        let since = ticks().saturating_sub(BASE_TICKS.load(Ordering::Relaxed));
        let nanos = (u128::from(since) * u128::from(mult)) >> 32;
        Some(BASE_NANOS.load(Ordering::Relaxed).saturating_add(nanos as u64))
    }

    /// Takes the first reading, if the kernel's clocksource is the counter.
    pub(super) fn start(nanos: u64) {
        FIRST.get_or_init(|| {
            let source = std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .unwrap_or_default();
            // A counter the kernel does not use never gets a rate: `now` stays `None`.
            if source.trim() == "tsc" {
                (ticks(), nanos)
            } else {
                (0, u64::MAX)
            }
        });
    }

    /// Sets the rate once `WINDOW` has passed since the first reading (`nanos`: `Instant`'s
    /// time now).
    pub(super) fn calibrate(nanos: u64) {
        let Some(&(ticks0, nanos0)) = FIRST.get() else { return };
        if nanos0 == u64::MAX || nanos < nanos0.saturating_add(WINDOW) {
            return;
        }
        if CALIBRATING.swap(true, Ordering::Relaxed) {
            return;
        }
        let ticks = ticks();
        let elapsed = ticks.saturating_sub(ticks0);
        if elapsed == 0 {
            return;
        }
        let mult = (u128::from(nanos - nanos0) << 32) / u128::from(elapsed);
        let Ok(mult) = u64::try_from(mult) else { return };
        BASE_TICKS.store(ticks, Ordering::Relaxed);
        BASE_NANOS.store(nanos, Ordering::Relaxed);
        MULT.store(mult.max(1), Ordering::Release);
    }
}

thread_local! {
    static SLOT: Arc<Slot> = {
        let thread = std::thread::current();
        let slot = Arc::new(Slot {
            task: AtomicU64::new(0),
            started: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            timed: AtomicU64::new(0),
            exact: AtomicU64::new(0),
            exact_times: Histogram::new(),
            timed_delays: AtomicU64::new(0),
            sighted: AtomicU64::new(0),
            sighted_at: AtomicU64::new(0),
            long: AtomicU64::new(0),
            // Workers share a name: the id tells them apart.
            thread: format!("{} {:?}", thread.name().unwrap_or("(unnamed)"), thread.id()),
            worker: AtomicI64::new(-1),
            steals: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            unparks: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            driver: AtomicBool::new(false),
            loop_runtime: AtomicUsize::new(0),
            loop_queue: AtomicU64::new(0),
            poll_times: Histogram::new(),
            schedule_delays: Histogram::new(),
            finished: AtomicU64::new(0),
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
    /// Counts one duration: a plain load and store, as only the slot's own thread counts.
    fn record(&self, nanos: u64) {
        let micros = nanos / 1000;
        let bucket = (u64::BITS - micros.leading_zeros()).saturating_sub(1) as usize;
        add(&self.0[bucket.min(BUCKETS - 1)], 1);
    }
}

/// The polls' durations and scheduling delays (wake or spawn → poll) counted on threads that
/// have exited, scaled as `histograms` scales: the live threads' own are in their `Slot`s.
static RETIRED: [Histogram; 2] = [Histogram::new(), Histogram::new()];

/// Every poll's duration and scheduling delay since the hooks were turned on, for the
/// console, estimated: each thread's timed polls and queueings, scaled to all its polls.
pub(crate) fn histograms() -> [[u64; BUCKETS]; 2] {
    let mut sums = [[0; BUCKETS]; 2];
    let count = |histogram: &Histogram, sum: &mut [u64; BUCKETS]| {
        for (sum, count) in sum.iter_mut().zip(&histogram.0) {
            *sum += count.load(Ordering::Relaxed);
        }
    };
    let scaled = |slot: &Slot, sums: &mut [[u64; BUCKETS]; 2]| {
        for (sum, count) in sums.iter_mut().zip(slot.estimate()) {
            for (sum, count) in sum.iter_mut().zip(count) {
                *sum += count;
            }
        }
    };
    // Under SLOTS' lock, so a thread that exits meanwhile is counted once (`Slot::drop`
    // takes it too). The slots are let go after it: the last reference to one runs its drop.
    let slots: Vec<Arc<Slot>> = {
        let slots = lock(&SLOTS);
        for (histogram, sum) in RETIRED.iter().zip(&mut sums) {
            count(histogram, sum);
        }
        let live: Vec<Arc<Slot>> = slots.iter().filter_map(Weak::upgrade).collect();
        for slot in &live {
            scaled(slot, &mut sums);
        }
        live
    };
    drop(slots);
    sums
}

impl Drop for Slot {
    /// The thread exits: its histograms' counts go to `RETIRED`.
    fn drop(&mut self) {
        let _slots = lock(&SLOTS);
        for (retired, own) in RETIRED.iter().zip(self.estimate()) {
            for (retired, own) in retired.0.iter().zip(own) {
                retired.fetch_add(own, Ordering::Relaxed);
            }
        }
    }
}

impl Slot {
    /// This thread's histograms, estimated: the polls known exactly as counted, the sampled
    /// ones scaled up to all the others; the timed queueings scaled up to all the polls.
    fn estimate(&self) -> [[u64; BUCKETS]; 2] {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let all = load(&self.polls);
        let others = all.saturating_sub(load(&self.exact));
        let (timed, timed_delays) = (load(&self.timed), load(&self.timed_delays));
        let mut out = [[0; BUCKETS]; 2];
        for (i, out) in out[0].iter_mut().enumerate() {
            *out = load(&self.exact_times.0[i])
                + scale(load(&self.poll_times.0[i]), others, timed.min(others));
        }
        for (out, count) in out[1].iter_mut().zip(&self.schedule_delays.0) {
            *out = scale(load(count), all, timed_delays.min(all));
        }
        out
    }
}

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

/// This worker parks (no work anywhere) until the guard is dropped: unparked, also if the
/// park loop unwinds, so the console never shows a dead loop's worker parked.
pub(crate) struct Parked(bool);

impl Parked {
    #[inline]
    pub(crate) fn new() -> Parked {
        let on = enabled();
        if on {
            parked(true);
        }
        Parked(on)
    }
}

impl Drop for Parked {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            parked(false);
        }
    }
}

fn parked(parked: bool) {
    with_slot(|slot| {
        slot.parked.store(parked, Ordering::Relaxed);
        let count = if parked { &slot.parks } else { &slot.unparks };
        add(count, 1);
    });
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

fn show(d: Duration) -> String {
    if d >= Duration::from_millis(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} µs", d.as_micros())
    }
}

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

/// The watchdog's clock: `now_nanos()` at its last tick. Spawns and completions read this
/// (a task's age is late by less than a tick) instead of the clock.
static COARSE_NANOS: AtomicU64 = AtomicU64::new(0);

fn coarse_nanos() -> u64 {
    COARSE_NANOS.load(Ordering::Relaxed)
}

/// Starts the watchdog thread (once per process).
fn start_watchdog() {
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
struct Seen {
    /// The poll's sequence number, and when the watchdog first saw it.
    seq: u64,
    at: u64,
    /// Whether it told the poll it is long (seen on two ticks).
    long: bool,
    /// When to report it next, as running this long.
    due: Duration,
}

/// The watchdog's loop. Each tick, for each thread: a poll first seen is noted (its sequence
/// number and the tick's time, published for the console); one seen on two ticks is marked
/// long on its slot, so that its end reads the clock; one past the threshold (then 2×, 4×,
/// ...) is reported as still running. A poll's start is its own when timed, else the first
/// sighting: it started within the tick before.
fn watchdog() {
    let mut seen: HashMap<usize, Seen> = HashMap::new();
    loop {
        std::thread::sleep(tick());
        let now = now_nanos();
        COARSE_NANOS.fetch_max(now, Ordering::Relaxed);
        let threshold = threshold();
        let slots = slots();
        for slot in &slots {
            let key = Arc::as_ptr(slot) as usize;
            let seq = slot.polls.load(Ordering::Acquire);
            let task = slot.task.load(Ordering::Acquire);
            if task == 0 {
                continue;
            }
            let poll = match seen.get_mut(&key) {
                Some(poll) if poll.seq == seq => poll,
                _ => {
                    slot.sighted_at.store(now, Ordering::Relaxed);
                    slot.sighted.store(seq, Ordering::Release);
                    let due = threshold.unwrap_or(Duration::MAX);
                    seen.insert(key, Seen { seq, at: now, long: false, due });
                    continue;
                }
            };
            if !poll.long {
                poll.long = true;
                // After `sighted_at`, which the poll's end reads.
                slot.long.store(seq, Ordering::Release);
            }
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
                describe(task),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Once calibrated, the counter's time stays within a millisecond of `Instant`'s (the rate's
    /// error is parts per million; this checks the conversion and the base).
    #[test]
    fn the_clock_agrees_with_instant() {
        let instant = || u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
        start_clock();
        std::thread::sleep(Duration::from_millis(15));
        let _ = instant_nanos();
        #[cfg(target_arch = "x86_64")]
        {
            let source = "/sys/devices/system/clocksource/clocksource0/current_clocksource";
            if std::fs::read_to_string(source).is_ok_and(|source| source.trim() == "tsc") {
                assert!(tsc::now().is_some(), "the counter is calibrated after 15 ms");
            }
        }
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(10));
            let (before, now, after) = (instant(), now_nanos(), instant());
            assert!(
                now + 1_000_000 >= before && now <= after + 1_000_000,
                "{now} ns is not within 1 ms of [{before}, {after}]"
            );
        }
    }

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
