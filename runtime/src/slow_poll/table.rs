//! `TABLE`: every task's counters, inline in a static table indexed by its id, so that a spawn,
//! a poll and a completion reach them with no lock and no allocation.
//!
//! ```text
//!  Entry { id, cell, ops, location, spawned_at, named, counters }      TABLE[id % ENTRIES]
//!
//!  spawned   an entry that is free (never used, or its task's cell is gone): id := CLAIMED,
//!            fill it, cell := the task's Weak (as a raw pointer), id := the task's id
//!            (taken: a task alive with the same low bits; the task goes to `TASKS`, the map)
//!  hooks     entry.id == id? its counters (the caller holds the cell: the entry stays its)
//!  dropped   the cell's drop: the poll count (from the state word) kept, cell := 0, its
//!            Weak given up; the counters stay, listed as a
//!            done task until a later spawn reuses the entry (ENTRIES spawns later at most)
//!  console   reads an entry between two loads of its id (a seqlock: the entry is only ever
//!            refilled after id := CLAIMED); reads the cell through a pin (below)
//! ```
//!
//! The pin: the console sets `PINNED` on the cell word (a compare-and-swap from the pointer it
//! read) before it clones the entry's `Weak`, and takes it off after. The cell's drop swaps the
//! word to 0, or, if it finds it pinned, to `PINNED` alone: then the console gives the entry's
//! `Weak` up and frees the word. An entry is refilled only once its cell word is 0, so while a
//! pin is held the entry's `ops` (how to clone and give up the `Weak`: the cell's type is not
//! known here) stay those of the cell that was pinned.
//!
//! `id`, `cell` and `ops`, the words of that protocol, are `crate::loom`'s atomics (std's in a
//! normal build), and its steps (`claim`, `release`, `pinned_weak`) take an `&Entry`:
//! `table_loom_tests.rs` model-checks them on an entry of its own. A loom build has no `TABLE`
//! (loom's atomics are not const, and exist only inside a model).

use std::collections::HashMap;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::counters::{Counters, Inspect, Meta, TaskState};
use crate::loom::{self, lock};

/// How to reach a task cell known by the raw pointer of a `Weak` to it (the cell's type is
/// erased): one `static` per task type (`Task::CELL_OPS`).
pub(crate) struct CellOps {
    /// A new `Weak`, leaving the one the pointer stands for as it is.
    ///
    /// # Safety
    /// The pointer comes from `Weak::into_raw` of the cell's type, and that `Weak` is not
    /// given up before this returns.
    pub(crate) clone_weak: unsafe fn(*const ()) -> Weak<dyn Inspect>,
    /// Gives up the `Weak` the pointer stands for.
    ///
    /// # Safety
    /// As `clone_weak`; called once per pointer.
    pub(crate) release: unsafe fn(*const ()),
}

/// One task's entry (see the module's docs).
pub(super) struct Entry {
    /// The task's id; `CLAIMED` while a spawn fills the entry; 0 never used.
    pub(super) id: loom::AtomicU64,
    /// The cell, as the raw pointer of the entry's `Weak` to it, `| PINNED` while the console
    /// reads it; 0 once the cell is dropped (the entry may then be refilled); `PINNED` alone
    /// if it was dropped while pinned (the console gives the `Weak` up).
    pub(super) cell: loom::AtomicUsize,
    /// How to clone and give up the `Weak` (a `&'static CellOps`).
    ops: loom::AtomicPtr<CellOps>,
    location: AtomicPtr<Location<'static>>,
    /// From the watchdog's clock (`coarse_nanos`).
    spawned_at: AtomicU64,
    /// It was given a name, kept in `NAMES` (named tasks are few: a map, and a lock).
    named: AtomicBool,
    pub(super) counters: Counters,
}

const PINNED: usize = 1;
const CLAIMED: u64 = u64::MAX;
/// 32,768 entries of 144 bytes: 4.5 MiB of zeroes, touched only while the hooks are on. Ids
/// are handed out in order, so a task finds its entry taken only if a task spawned that many
/// spawns before it is still alive.
const ENTRIES: usize = 1 << 15;
#[cfg(not(loom))]
static TABLE: [Entry; ENTRIES] = [const { Entry::new() }; ENTRIES];
/// None in a loom build: every model but the table's own runs with the hooks off, so nothing
/// looks an entry up (`entry` would panic), and the table's model builds its own entry.
#[cfg(loom)]
static TABLE: [Entry; 0] = [];
/// The names of the tasks in `TABLE` that have one.
static NAMES: Mutex<Option<HashMap<u64, String>>> = Mutex::new(None);

impl Entry {
    /// Const for `TABLE`, but not in a loom build, whose atomics are not.
    #[cfg(not(loom))]
    const fn new() -> Entry {
        Entry::with(
            loom::AtomicU64::new(0),
            loom::AtomicUsize::new(0),
            loom::AtomicPtr::new(ptr::null_mut()),
        )
    }

    /// For the table's model, inside `loom::model`.
    #[cfg(loom)]
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn new() -> Entry {
        Entry::with(
            loom::AtomicU64::new(0),
            loom::AtomicUsize::new(0),
            loom::AtomicPtr::new(ptr::null_mut()),
        )
    }

    /// An empty entry around the protocol's words, which `new` makes (const, or loom's).
    const fn with(
        id: loom::AtomicU64,
        cell: loom::AtomicUsize,
        ops: loom::AtomicPtr<CellOps>,
    ) -> Entry {
        Entry {
            id,
            cell,
            ops,
            location: AtomicPtr::new(ptr::null_mut()),
            spawned_at: AtomicU64::new(0),
            named: AtomicBool::new(false),
            counters: Counters::new(),
        }
    }
}

#[inline]
pub(super) fn entry(id: u64) -> &'static Entry {
    &TABLE[(id as usize) % ENTRIES]
}

/// `id`'s entry, if the table holds it (for a hook whose caller holds the cell, or a poll's
/// end, which checks again that the entry is still the task's).
#[inline]
pub(super) fn find(id: u64) -> Option<&'static Entry> {
    let entry = entry(id);
    holds(entry, id).then_some(entry)
}

#[inline]
fn holds(entry: &Entry, id: u64) -> bool {
    entry.id.load(Ordering::Acquire) == id
}

/// Fills `entry` (`id`'s: `entry(id)`), if it is free: false if it is taken (the caller keeps
/// the task in the map instead). `cell` is the raw pointer of a `Weak` to the task cell,
/// which the entry owns from here.
#[inline]
pub(super) fn claim(
    entry: &Entry,
    id: u64,
    location: &'static Location<'static>,
    cell: *const (),
    ops: &'static CellOps,
    woken_at: u64,
    spawned_at: u64,
) -> bool {
    // Acquire: if `old` is a task's id, the cell word read below is the one its claim
    // stored or a later one; a stale 0 from before that claim would refill the entry of a
    // live task (`table_loom_tests.rs`, `loom_table_two_spawns_never_share_an_entry`).
    let old = entry.id.load(Ordering::Acquire);
    // Taken: being filled, or its task's cell is alive (or being read by the console).
    if old == CLAIMED || (old != 0 && entry.cell.load(Ordering::Acquire) != 0) {
        return false;
    }
    if entry.id.compare_exchange(old, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_err() {
        return false;
    }
    // The seqlock's writer: a reader that sees any of the stores below sees CLAIMED after.
    fence(Ordering::Release);
    if entry.named.load(Ordering::Relaxed) {
        unname(entry, old);
    }
    entry.ops.store(ptr::from_ref(ops).cast_mut(), Ordering::Relaxed);
    entry.location.store(ptr::from_ref(location).cast_mut(), Ordering::Relaxed);
    entry.spawned_at.store(spawned_at, Ordering::Relaxed);
    entry.counters.reset(woken_at);
    entry.cell.store(cell as usize, Ordering::Release);
    entry.id.store(id, Ordering::Release);
    true
}

#[cold]
fn unname(entry: &Entry, old: u64) {
    entry.named.store(false, Ordering::Relaxed);
    if let Some(names) = lock(&NAMES).as_mut() {
        names.remove(&old);
    }
}

/// The task cell of `id` is being dropped after `polls` polls: its entry (`entry`, `id`'s)
/// keeps the count, its `Weak` is given up (or handed to the console that has it pinned),
/// and the entry may be refilled. False if the entry does not hold `id`.
#[inline]
pub(super) fn release(entry: &Entry, id: u64, polls: u64) -> bool {
    if !holds(entry, id) {
        return false;
    }
    // Before the cell word goes to 0: a reader that finds the cell gone reads this count.
    entry.counters.polls.store(polls, Ordering::Relaxed);
    // Before the cell word goes to 0, after which the entry may be refilled.
    let ops = entry.ops.load(Ordering::Relaxed);
    let mut cell = entry.cell.load(Ordering::Acquire);
    loop {
        let left = if cell & PINNED != 0 { PINNED } else { 0 };
        match entry.cell.compare_exchange(cell, left, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => cell = now,
        }
    }
    if cell != 0 && cell & PINNED == 0 {
        // SAFETY: `cell` is the entry's `Weak` (from `claim`), and `ops` its type's: the
        // entry cannot be refilled before the swap above. The swap took the `Weak` from the
        // entry, so it is given up once, here.
        unsafe { ((*ops).release)(cell as *const ()) };
    }
    true
}

/// Names `id`'s task, if the table holds it.
pub(super) fn name(id: u64, name: &str) -> bool {
    let Some(entry) = find(id) else { return false };
    lock(&NAMES).get_or_insert_with(HashMap::new).insert(id, name.to_string());
    entry.named.store(true, Ordering::Relaxed);
    true
}

/// The name and spawn location of `id`'s task, if the table holds it.
pub(super) fn describe(id: u64) -> Option<(Option<String>, &'static Location<'static>)> {
    let entry = find(id)?;
    let location = entry.location.load(Ordering::Relaxed);
    let name = lock(&NAMES).as_ref().and_then(|names| names.get(&id).cloned());
    fence(Ordering::Acquire);
    if entry.id.load(Ordering::Relaxed) != id || location.is_null() {
        return None;
    }
    // SAFETY: only `&'static Location`s are stored in an entry.
    Some((name, unsafe { &*location }))
}

/// A cell the table no longer holds: read as complete, no references.
struct Gone;

impl Inspect for Gone {
    fn inspect(&self) -> TaskState {
        TaskState { complete: true, ..TaskState::default() }
    }
}

/// A `Weak` to the entry's cell, or an empty one if it is gone: through the pin.
pub(super) fn pinned_weak(entry: &Entry) -> Weak<dyn Inspect> {
    let mut cell = entry.cell.load(Ordering::Acquire);
    loop {
        if cell == 0 || cell == PINNED {
            return Weak::<Gone>::new();
        }
        if cell & PINNED != 0 {
            // Another reader's pin, for a few instructions.
            #[cfg(not(loom))]
            std::hint::spin_loop();
            // Loom runs one thread at a time: a spin must let the pin's holder go on.
            #[cfg(loom)]
            loom::thread::yield_now();
            cell = entry.cell.load(Ordering::Acquire);
            continue;
        }
        match entry.cell.compare_exchange(cell, cell | PINNED, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => break,
            Err(now) => cell = now,
        }
    }
    // Pinned: the entry cannot be refilled until the pin is off, so `ops` is the cell's.
    let ops = entry.ops.load(Ordering::Relaxed);
    // SAFETY: `cell` is the entry's `Weak`, which the pin keeps from being given up.
    let weak = unsafe { ((*ops).clone_weak)(cell as *const ()) };
    if entry
        .cell
        .compare_exchange(cell | PINNED, cell, Ordering::Release, Ordering::Relaxed)
        .is_err()
    {
        // The cell was dropped meanwhile and left the entry's `Weak` to us.
        // SAFETY: as above; `release` left the word at `PINNED`, so nobody else gives it up.
        unsafe { ((*ops).release)(cell as *const ()) };
        entry.cell.store(0, Ordering::Release);
    }
    weak
}

/// Every task the table holds (alive, or done and not yet replaced), as `Meta`s of their own:
/// a copy of the counters, read at one moment.
pub(super) fn list() -> Vec<Arc<Meta>> {
    let names = lock(&NAMES).clone().unwrap_or_default();
    let mut all = Vec::new();
    for entry in &TABLE {
        let id = entry.id.load(Ordering::Acquire);
        if id == 0 || id == CLAIMED {
            continue;
        }
        let location = entry.location.load(Ordering::Relaxed);
        let spawned_at = entry.spawned_at.load(Ordering::Relaxed);
        let counters = entry.counters.copy();
        let task = pinned_weak(entry);
        // A live task's polls are in its state word (the entry has them once it is gone).
        let polls = match task.upgrade() {
            Some(cell) => cell.inspect().polls,
            // Stored by the cell's drop, which may have come after the copy.
            None => entry.counters.polls.load(Ordering::Relaxed),
        };
        counters.polls.store(polls, Ordering::Relaxed);
        fence(Ordering::Acquire);
        if entry.id.load(Ordering::Relaxed) != id || location.is_null() {
            // Refilled while read.
            continue;
        }
        all.push(Arc::new(Meta {
            id,
            // SAFETY: only `&'static Location`s are stored in an entry.
            location: unsafe { &*location },
            name: Mutex::new(names.get(&id).cloned()),
            task,
            spawned_at,
            counters,
        }));
    }
    all
}
