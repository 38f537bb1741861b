//! What is known of each task while the hooks are on: its counters (`Counters`), inline in
//! the lock-free `TABLE` (`table.rs`: spawn, hooks and completion take no lock and allocate
//! nothing), or, for a task whose table entry is taken, in a `Meta` in the sharded `TASKS`
//! map; the console lists both (`tasks`).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use super::clock::{coarse_nanos, now_nanos};
use super::counters::{Counters, Meta, SAMPLE};
use super::settings::console_enabled;
use super::table::{self, CellOps, Entry};
// Only plain maps, queues and names are changed under these locks: consistent after a panic,
// so the poison-free lock is right for them.
use crate::loom::lock;

/// The tasks that `TABLE` could not hold (their entry was taken by a task still alive), and,
/// with the console on, the last `KEEP_DONE` of them completed, by id, in shards (by id) so
/// that workers seldom share a lock.
static TASKS: [Mutex<Option<TaskMap>>; SHARDS] = [const { Mutex::new(None) }; SHARDS];
const SHARDS: usize = 16;
type TaskMap = HashMap<u64, Arc<Meta>, BuildHasherDefault<IdHasher>>;

/// Task ids are unique and handed out in order: a multiply spreads them well enough.
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
/// Completed tasks of `TASKS` kept for the console, oldest first.
static DONE: Mutex<VecDeque<u64>> = Mutex::new(VecDeque::new());
/// Completed tasks the console lists (of the table's, those not yet replaced; and of the map's).
const KEEP_DONE: usize = 256;

fn find_in_map(id: u64) -> Option<Arc<Meta>> {
    shard(id).as_ref().and_then(|tasks| tasks.get(&id).cloned())
}

/// `id`'s counters, for a hook whose caller holds a reference to the task cell (the table's
/// entry stays the task's while its cell lives), or for a poll's end (which may come after
/// the cell's drop: the entry is then the task's until a later spawn reuses it, `ENTRIES`
/// spawns later at the soonest; if one did, the poll counts into the wrong task's
/// counters, which are atomics: a wrong figure, not a wrong read).
#[inline]
pub(super) fn lookup(id: u64) -> Option<MetaRef> {
    if let Some(entry) = table::find(id) {
        return Some(MetaRef::Table(entry));
    }
    lookup_in_map(id)
}

#[cold]
#[inline(never)]
fn lookup_in_map(id: u64) -> Option<MetaRef> {
    find_in_map(id).map(MetaRef::Map)
}

/// A task's counters found by `lookup`: in the table, or in a `Meta` from `TASKS`.
pub(super) enum MetaRef {
    Table(&'static Entry),
    Map(Arc<Meta>),
}

impl std::ops::Deref for MetaRef {
    type Target = Counters;
    #[inline]
    fn deref(&self) -> &Counters {
        match self {
            MetaRef::Table(entry) => &entry.counters,
            MetaRef::Map(meta) => &meta.counters,
        }
    }
}

/// The task cell of `id` is being dropped (the hooks are on), after `polls` polls: its table
/// entry lets go of the cell, and keeps the count (and the other counters, for the console)
/// until the entry is reused.
#[cold]
#[inline(never)]
pub(crate) fn dropped(id: u64, polls: u64) {
    if !table::release(table::entry(id), id, polls) {
        if let Some(meta) = find_in_map(id) {
            meta.polls.store(polls, Ordering::Relaxed);
        }
    }
}

/// A task was created at `location` (the detector or the console is on). `cell` is the raw
/// pointer of a `Weak` to its cell (from `Weak::into_raw`), which this takes over; `ops`
/// reaches the cell through it. True if its spawn read the clock: the caller marks its state
/// word so that its first poll times its queueing (`State::mark_timed_next`).
#[cold]
#[inline(never)]
pub(crate) fn spawned(
    id: u64,
    location: &'static Location<'static>,
    cell: *const (),
    ops: &'static CellOps,
) -> bool {
    // Ids are handed out in order: one spawn in `SAMPLE` times its first queueing.
    let timed = id % SAMPLE == 0;
    let queued = if timed { now_nanos().max(1) } else { 0 };
    let spawned_at = coarse_nanos();
    if !table::claim(table::entry(id), id, location, cell, ops, queued, spawned_at) {
        spawned_in_map(id, location, cell, ops, queued, spawned_at);
    }
    timed
}

/// `spawned`, for a task whose table entry is taken.
#[cold]
#[inline(never)]
fn spawned_in_map(
    id: u64,
    location: &'static Location<'static>,
    cell: *const (),
    ops: &'static CellOps,
    queued: u64,
    spawned_at: u64,
) {
    // SAFETY: `cell` is a `Weak` of the type `ops` is for, ours (`spawned`): cloned, then
    // given up once.
    let task = unsafe {
        let task = (ops.clone_weak)(cell);
        (ops.release)(cell);
        task
    };
    let counters = Counters::new();
    counters.reset(queued);
    let meta = Arc::new(Meta { id, location, name: Mutex::new(None), task, spawned_at, counters });
    shard(id).get_or_insert_with(TaskMap::default).insert(id, meta);
}

/// The task was given a name (`task::Builder::name`).
pub(crate) fn named(id: u64, name: &str) {
    if table::name(id, name) {
        return;
    }
    if let Some(meta) = find_in_map(id) {
        *lock(&meta.name) = Some(name.to_string());
    }
}

/// An idle task was woken, and queued (the detector or the console is on), after `polls`
/// polls: by value, from `Task::wake`; by reference, from the scheduler's `schedule` (which
/// may come after `Task::wake` for the same queueing: counted once). Wakes during its poll are
/// not hooked (that path stays as it is when all this is off): `Counters::self_wakes` counts
/// them. True if this wake read the clock (one in `SAMPLE` of the task's): the caller marks
/// its state word so that the poll after it times its queueing.
#[cold]
#[inline(never)]
pub(crate) fn woken(id: u64, polls: u64) -> bool {
    let Some(meta) = lookup(id) else { return false };
    // Only the thread that queues the task calls this (its wake won the state word's
    // transition), before it queues it: plain loads and stores are enough.
    let wakes = meta.idle_wakes.load(Ordering::Relaxed);
    if wakes > 0 && meta.woken_polls.load(Ordering::Relaxed) == polls {
        return false;
    }
    meta.idle_wakes.store(wakes + 1, Ordering::Relaxed);
    meta.woken_polls.store(polls, Ordering::Relaxed);
    let timed = wakes % SAMPLE == 0;
    meta.woken_at.store(if timed { now_nanos().max(1) } else { 0 }, Ordering::Relaxed);
    timed
}

/// The task completed: marked done. The table keeps its entry until a later spawn reuses
/// it; the map drops it (or, with the console on, keeps it among the last completed).
pub(super) fn forget(id: u64) {
    let now = coarse_nanos().max(1);
    match lookup(id) {
        Some(MetaRef::Table(entry)) => {
            let _ = entry.counters.done_at.compare_exchange(
                0,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        Some(MetaRef::Map(meta)) => forget_in_map(id, &meta, now),
        None => {}
    }
}

#[cold]
#[inline(never)]
fn forget_in_map(id: u64, meta: &Meta, now: u64) {
    if !console_enabled() {
        if let Some(tasks) = shard(id).as_mut() {
            tasks.remove(&id);
        }
        return;
    }
    let _ = meta.done_at.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
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

/// Every task known (alive, and the last `KEEP_DONE` completed), for the console.
pub(crate) fn tasks() -> Vec<Arc<Meta>> {
    let mut all = table::list();
    let mapped = all.len();
    for shard in &TASKS {
        all.extend(lock(shard).iter().flat_map(|tasks| tasks.values().cloned()));
    }
    // A live task's polls are in its state word (its drop stores the last count here).
    for meta in &all[mapped..] {
        if let Some(cell) = meta.task.upgrade() {
            meta.polls.store(cell.inspect().polls, Ordering::Relaxed);
        }
    }
    // The table keeps done tasks until their entries are reused: only the last are listed.
    let done =
        |meta: &Meta| meta.done_at.load(Ordering::Relaxed) != 0 || meta.task.strong_count() == 0;
    let mut finished: Vec<(u64, u64)> = all
        .iter()
        .filter(|meta| done(meta))
        .map(|meta| (meta.done_at.load(Ordering::Relaxed), meta.id))
        .collect();
    if finished.len() > KEEP_DONE {
        finished.sort_unstable();
        let first_kept = finished[finished.len() - KEEP_DONE];
        all.retain(|meta| {
            !done(meta) || (meta.done_at.load(Ordering::Relaxed), meta.id) >= first_kept
        });
    }
    all
}

/// "task 12 \"name\" spawned at src/main.rs:10:5", from what is known of `id`.
pub(super) fn describe(id: u64) -> String {
    let mut text = format!("task {id}");
    let known =
        table::describe(id).or_else(|| find_in_map(id).map(|meta| (meta.name(), meta.location)));
    if let Some((name, location)) = known {
        if let Some(name) = name {
            let _ = write!(text, " {name:?}");
        }
        let _ = write!(text, " spawned at {location}");
    }
    text
}
