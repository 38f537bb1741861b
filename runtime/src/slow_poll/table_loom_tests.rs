//! loom model of the pin protocol of a `TABLE` entry (`table.rs`): the console reads the
//! entry's cell through a pin (`pinned_weak`), the cell's drop lets the entry's `Weak` go
//! (`release`: itself, or, if it finds the word pinned, by leaving `PINNED` for the console
//! to give it up), and a later spawn refills the entry once its cell word is 0 (`claim`).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p minirt-runtime --release --lib loom_table
//! ```
//!
//! The cells are stand-ins: the "raw pointer of a `Weak`" is the address of a `Cell` the
//! model keeps alive, and each cell type's `CellOps` count, in a loom `UnsafeCell`, the clones
//! and the give-ups of that `Weak`. So loom fails the model on a `Weak` given up twice or
//! cloned after it was given up (an assertion, or two unordered touches of the count: the
//! real `Weak`'s memory may be freed by the give-up), on a `Weak` never given up (checked at
//! the end), and on an entry refilled while pinned (the refill's `Weak` is then lost, or the
//! console reaches the pinned cell through the refill's ops, of another cell type: an
//! assertion).

use std::panic::Location;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Weak;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

use super::counters::{Inspect, TaskState};
use super::table::{claim, pinned_weak, release as release_entry, CellOps, Entry};

/// A task cell of the model, named `A` or `B` (the two tasks that share the entry; each has a
/// type of its own, so a `CellOps` of its own).
struct Cell {
    name: char,
    weak: UnsafeCell<Counts>,
}

/// What became of the entry's `Weak` to a cell.
#[derive(Default)]
struct Counts {
    clones: usize,
    given_up: usize,
}

impl Cell {
    fn new(name: char) -> Arc<Cell> {
        Arc::new(Cell { name, weak: UnsafeCell::new(Counts::default()) })
    }

    /// Its "raw pointer of a `Weak`", as an integer (to move it into a model thread).
    fn raw(cell: &Arc<Cell>) -> usize {
        Arc::as_ptr(cell) as usize
    }

    fn counts(&self) -> (usize, usize) {
        // SAFETY: read after every model thread is joined.
        self.weak.with(|counts| unsafe { ((*counts).clones, (*counts).given_up) })
    }
}

/// What the console's `Weak` upgrades to: never anything (the model's cells are not `Inspect`).
struct Nothing;

impl Inspect for Nothing {
    fn inspect(&self) -> TaskState {
        TaskState::default()
    }
}

/// # Safety
/// `raw` is the address of a `Cell` the model keeps alive until its threads are joined.
unsafe fn cell<'a>(raw: *const (), name: char) -> &'a Cell {
    // SAFETY: as the caller promises.
    let cell = unsafe { &*raw.cast::<Cell>() };
    assert_eq!(
        cell.name, name,
        "cell {} reached through cell {name}'s ops: its entry was refilled while pinned",
        cell.name
    );
    cell
}

/// A clone of `name`'s `Weak`: a touch of its count that loom tracks.
///
/// # Safety
/// As `cell`.
unsafe fn clone_weak(raw: *const (), name: char) -> Weak<dyn Inspect> {
    // SAFETY: as the caller promises.
    let cell = unsafe { cell(raw, name) };
    // SAFETY: loom checks that no other touch of the count is unordered with this one.
    cell.weak.with_mut(|counts| unsafe {
        assert_eq!((*counts).given_up, 0, "the Weak of cell {name} cloned after it was given up");
        (*counts).clones += 1;
    });
    Weak::<Nothing>::new()
}

/// # Safety
/// As `cell`.
unsafe fn release(raw: *const (), name: char) {
    // SAFETY: as the caller promises.
    let cell = unsafe { cell(raw, name) };
    // SAFETY: as in `clone_weak`.
    cell.weak.with_mut(|counts| unsafe {
        assert_eq!((*counts).given_up, 0, "the Weak of cell {name} given up twice");
        (*counts).given_up += 1;
    });
}

/// Cell A's type's ops (`clone_weak` and `release` for that name).
static OPS_A: CellOps = CellOps { clone_weak: clone_a, release: release_a };
/// Cell B's type's.
static OPS_B: CellOps = CellOps { clone_weak: clone_b, release: release_b };

/// # Safety
/// As `cell`.
unsafe fn clone_a(raw: *const ()) -> Weak<dyn Inspect> {
    // SAFETY: as the caller promises.
    unsafe { clone_weak(raw, 'A') }
}

/// # Safety
/// As `cell`.
unsafe fn release_a(raw: *const ()) {
    // SAFETY: as the caller promises.
    unsafe { release(raw, 'A') }
}

/// # Safety
/// As `cell`.
unsafe fn clone_b(raw: *const ()) -> Weak<dyn Inspect> {
    // SAFETY: as the caller promises.
    unsafe { clone_weak(raw, 'B') }
}

/// # Safety
/// As `cell`.
unsafe fn release_b(raw: *const ()) {
    // SAFETY: as the caller promises.
    unsafe { release(raw, 'B') }
}

/// A model's end: the entry is free, each cell's `Weak` was given up exactly once, and the
/// console cloned at most `reads` of them (one per read).
fn all_given_up(entry: &Entry, a: &Cell, b: &Cell, reads: usize) {
    let word = entry.cell.load(SeqCst);
    assert_eq!(word, 0, "the entry still holds a Weak: {word:#x}");
    let (clones_a, given_up_a) = a.counts();
    let (clones_b, given_up_b) = b.counts();
    assert_eq!(given_up_a, 1, "the Weak of cell A never given up");
    assert_eq!(given_up_b, 1, "the Weak of cell B never given up");
    assert!(clones_a + clones_b <= reads, "{reads} reads, one clone each at most");
}

/// The entry holds task 1 (cell A). Then, at once: the console reads the entry through its
/// pin, A's cell is dropped, and task 2 (cell B, same entry) is spawned and dropped: it takes
/// the entry if that is free by then, else it lives in the map, which gives its `Weak` up.
/// At the end every `Weak` was given up exactly once, none was cloned after, the entry is
/// free, and the console cloned only a `Weak` it had pinned (through the ops of its cell).
///
/// Broken variants it failed on (each tried, then reverted):
/// - `release` giving the `Weak` up even when it found the word pinned: "Causality
///   violation: Concurrent write accesses to `UnsafeCell`" (the console gave A's `Weak` up
///   too, with nothing ordering the two).
/// - `pinned_weak` storing the unpinned word instead of its second compare-and-swap: "the
///   entry still holds a Weak: 0x1" (A's `Weak` cloned, never given up: the drop left it to
///   a console that did not notice).
/// - `claim` taking a word that is `PINNED` alone as free: "the Weak of cell B never given
///   up" (B refilled the entry while A was pinned, and the console, giving A's `Weak` up,
///   stored 0 over B's).
#[test]
fn loom_table_pin_gives_every_weak_up_once() {
    loom::model(|| {
        let (a, b) = (Cell::new('A'), Cell::new('B'));
        let entry = Arc::new(Entry::new());
        let here = Location::caller();
        assert!(claim(&entry, 1, here, Cell::raw(&a) as *const (), &OPS_A, 0, 0));

        let console = {
            let entry = entry.clone();
            thread::spawn(move || drop(pinned_weak(&entry)))
        };
        let drop_a = {
            let entry = entry.clone();
            thread::spawn(move || assert!(release_entry(&entry, 1, 3), "the entry is A's"))
        };
        let spawn_b = {
            let (entry, b) = (entry.clone(), Cell::raw(&b));
            thread::spawn(move || {
                let claimed = claim(&entry, 2, here, b as *const (), &OPS_B, 0, 0);
                let released = release_entry(&entry, 2, 4);
                assert_eq!(claimed, released, "B's drop finds the entry B's iff B claimed it");
                if !claimed {
                    // SAFETY: the map held B's `Weak`, and gives it up once, here.
                    unsafe { (OPS_B.release)(b as *const ()) };
                }
            })
        };
        for thread in [console, drop_a, spawn_b] {
            thread.join().unwrap();
        }

        all_given_up(&entry, &a, &b, 1);
    });
}

/// Two tasks of the same entry (1, cell A, and 2, cell B) spawned at once, on two threads,
/// onto a free entry; then dropped. One of them takes the entry (the other lives in the map),
/// the drop of each finds the entry its own iff it took it, and every `Weak` is given up once.
///
/// It failed with claim's first load of the id `Relaxed` (as it was before this model):
/// "task 1: claimed true, found false". The second spawn read A's id, but not A's cell word
/// (a stale 0: nothing ordered the two loads after A's stores), took the entry while A lived
/// and overwrote A's `Weak`, which nobody then gave up. An `Acquire` load fixes it (the
/// same instruction on x86-64, whose loads are not reordered; `ldar` for `ldr` on aarch64).
#[test]
fn loom_table_two_spawns_never_share_an_entry() {
    loom::model(|| {
        let (a, b) = (Cell::new('A'), Cell::new('B'));
        let entry = Arc::new(Entry::new());
        let here = Location::caller();
        let tasks = [(1, Cell::raw(&a), &OPS_A), (2, Cell::raw(&b), &OPS_B)];
        let spawns = tasks.map(|(id, raw, ops)| {
            let entry = entry.clone();
            thread::spawn(move || claim(&entry, id, here, raw as *const (), ops, 0, 0))
        });
        let claimed = spawns.map(|spawn| spawn.join().unwrap());
        assert!(claimed[0] || claimed[1], "a free entry, and neither task took it");

        for ((id, raw, ops), claimed) in tasks.into_iter().zip(claimed) {
            let held = release_entry(&entry, id, 1);
            assert_eq!(held, claimed, "task {id}: claimed {claimed}, found {held}");
            if !held {
                // SAFETY: the map held the task's `Weak`, and gives it up once, here.
                unsafe { (ops.release)(raw as *const ()) };
            }
        }
        all_given_up(&entry, &a, &b, 0);
    });
}

/// Two console reads at once (the pin is one reader's: the other spins until it is off),
/// while A's cell is dropped and, on the same thread after it, B is spawned and dropped:
/// every `Weak` given up once, none cloned after, the entry free at the end.
///
/// It failed (the first model does not: one reader) on `pinned_weak` joining a pin already
/// held (a compare-and-swap from the word, pinned or not, to the word pinned): "Causality
/// violation: Concurrent write accesses to `UnsafeCell`" (the first reader's unpin let the
/// drop give A's `Weak` up while the second still cloned it).
#[test]
fn loom_table_two_readers_share_the_pin() {
    loom::model(|| {
        let (a, b) = (Cell::new('A'), Cell::new('B'));
        let entry = Arc::new(Entry::new());
        let here = Location::caller();
        assert!(claim(&entry, 1, here, Cell::raw(&a) as *const (), &OPS_A, 0, 0));

        let read = || {
            let entry = entry.clone();
            thread::spawn(move || drop(pinned_weak(&entry)))
        };
        let readers = [read(), read()];
        let (raw_b, claimed) = (Cell::raw(&b), release_entry(&entry, 1, 3));
        assert!(claimed, "the entry is A's");
        let claimed = claim(&entry, 2, here, raw_b as *const (), &OPS_B, 0, 0);
        let released = release_entry(&entry, 2, 4);
        assert_eq!(claimed, released, "B's drop finds the entry B's iff B claimed it");
        if !claimed {
            // SAFETY: the map held B's `Weak`, and gives it up once, here.
            unsafe { (OPS_B.release)(raw_b as *const ()) };
        }
        for reader in readers {
            reader.join().unwrap();
        }

        all_given_up(&entry, &a, &b, 2);
    });
}
