//! What is known of each task while the hooks are on: its `Meta` (spawn location, name,
//! counters), found by id in the lock-free `TABLE` on the hooks' paths and in the sharded
//! `TASKS` map that the console lists.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::clock::{coarse_nanos, now_nanos};
use super::settings::console_enabled;
// Only plain maps, queues and names are changed under these locks: consistent after a panic,
// so the poison-free lock is right for them.
use crate::loom::lock;

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
    pub(super) last_poll_end: AtomicU64,
}

/// `Meta::woken_at` of a task queued by a wake that did not read the clock.
pub(super) const UNTIMED: u64 = 1;

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

pub(super) fn find(id: u64) -> Option<Arc<Meta>> {
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
pub(super) fn lookup(id: u64) -> Option<MetaRef> {
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
pub(super) enum MetaRef {
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
pub(super) const DROPPED: u64 = u64::MAX;

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

/// The task completed: its entry goes (or, with the console on, is kept among the last
/// completed). With the console on, the caller holds the task cell (see `lookup`).
pub(super) fn forget(id: u64) {
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
pub(super) fn describe(id: u64) -> String {
    let mut text = format!("task {id}");
    if let Some(meta) = find(id) {
        if let Some(name) = meta.name() {
            let _ = write!(text, " {name:?}");
        }
        let _ = write!(text, " spawned at {}", meta.location);
    }
    text
}
