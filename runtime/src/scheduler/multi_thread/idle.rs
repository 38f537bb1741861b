//! Which workers are asleep, which are searching for work, and how one is woken.
//!
//! # Searching and parked (tokio's accounting)
//!
//! ```text
//!  state: AtomicUsize = num_unparked << 16 | num_searching
//!  sleepers: Mutex<Vec<worker index>>           the parked workers
//! ```
//!
//! A worker that runs out of local work becomes *searching* (steals, looks at the injection
//! queue) — but at most half of the workers search at once, so that a burst of idle workers
//! does not hammer each other's queues. New work wakes a parked worker **only if no worker is
//! searching** (a searcher will find it), and the woken worker starts out searching. A
//! searcher that finds work stops searching and, if it was the last searcher, wakes the next
//! sleeper — so work spreads one worker at a time, without a thundering herd, and never
//! strands: the last searcher to give up re-checks every queue before it sleeps.
//!
//! # Parking (`Unparker`)
//!
//! A parked worker sleeps either in `epoll_wait` (if it took the reactor: see `worker.rs`) or
//! on its condvar. `unpark` swaps the state to NOTIFIED and then, depending on where the
//! worker sleeps, writes the reactor's eventfd or signals the condvar; a NOTIFIED worker does
//! not sleep at all, so a wake that races with the worker going to sleep is never lost.

use std::sync::atomic::Ordering::SeqCst;

use crate::loom::{lock, AtomicUsize, Condvar, Mutex};

const SEARCHING_MASK: usize = (1 << 16) - 1;
const UNPARK_SHIFT: usize = 16;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn num_searching(state: usize) -> usize {
        state & SEARCHING_MASK
    }

    fn num_unparked(state: usize) -> usize {
        state >> UNPARK_SHIFT
    }

    /// New work exists: the index of a parked worker to wake, or `None` if a worker is
    /// already searching (it will find the work) or none is parked. The chosen worker is
    /// counted as unparked and searching before it even wakes.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = lock(&self.sleepers);
        // Re-checked under the lock: another notifier may have woken a searcher meanwhile.
        if !self.notify_should_wakeup() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add((1 << UNPARK_SHIFT) | 1, SeqCst);
        Some(worker)
    }

    fn notify_should_wakeup(&self) -> bool {
        // A read-modify-write, not a load: it reads the latest state in modification order,
        // and synchronizes with the worker's `transition_worker_to_parked`, so either this
        // sees the worker parked, or the worker's re-check of the queues (which follows its
        // transition) sees the work pushed before this. loom caught the plain load (it models
        // SeqCst loads as Acquire, and so finds the lost wake-up the hardware may too).
        let state = self.state.fetch_add(0, SeqCst);
        Self::num_searching(state) == 0 && Self::num_unparked(state) < self.num_workers
    }

    /// A worker with no local work asks to search; refused when half of the workers already
    /// search.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * Self::num_searching(state) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work (or gives up); true if it was the last searcher, which must then
    /// wake another worker if work remains.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        Self::num_searching(prev) == 1
    }

    /// Worker `index` goes to sleep; true if it was the last searcher (see
    /// [`Idle::transition_worker_from_searching`]).
    pub(crate) fn transition_worker_to_parked(&self, index: usize, is_searching: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(index);
        is_searching && Self::num_searching(prev) == 1
    }

    /// Worker `index` woke up for a reason of its own (tasks in its queue, shutdown): takes it
    /// off the sleepers if it is still there. True if it was (nobody notified it, so it does
    /// not count as searching).
    pub(crate) fn unpark_worker_by_id(&self, index: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let Some(pos) = sleepers.iter().position(|&w| w == index) else { return false };
        sleepers.swap_remove(pos);
        self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
        true
    }

    /// Whether worker `index` is still among the sleepers (not notified).
    pub(crate) fn is_parked(&self, index: usize) -> bool {
        lock(&self.sleepers).contains(&index)
    }
}

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_IN_REACTOR: usize = 2;
const NOTIFIED: usize = 3;

/// How one worker is put to sleep and woken.
pub(crate) struct Unparker {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Unparker {
    pub(crate) fn new() -> Unparker {
        Unparker { state: AtomicUsize::new(EMPTY), mutex: Mutex::new(()), condvar: Condvar::new() }
    }

    /// Consumes a pending notification, if any.
    pub(crate) fn take_notification(&self) -> bool {
        self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok()
    }

    /// Sleeps on the condvar until `unpark`.
    pub(crate) fn park_condvar(&self) {
        let mut guard = lock(&self.mutex);
        match self.state.compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("minirt: inconsistent park state {actual}"),
        }
        loop {
            guard = self.condvar.wait(guard).unwrap_or_else(|p| p.into_inner());
            if self.take_notification() {
                return;
            }
        }
    }

    /// Marks the worker as about to sleep in `epoll_wait`; false (the notification consumed)
    /// if it was notified already and must not sleep.
    pub(crate) fn begin_park_in_reactor(&self) -> bool {
        match self.state.compare_exchange(EMPTY, PARKED_IN_REACTOR, SeqCst, SeqCst) {
            Ok(_) => true,
            Err(_) => {
                self.state.store(EMPTY, SeqCst);
                false
            }
        }
    }

    /// The worker is back from `epoll_wait` (a notification, if any, is consumed with it).
    pub(crate) fn end_park_in_reactor(&self) {
        self.state.store(EMPTY, SeqCst);
    }

    /// Wakes the worker wherever it sleeps (`wake_reactor` interrupts `epoll_wait`: the
    /// reactor's eventfd); if it is not asleep, it will not sleep next time.
    pub(crate) fn unpark(&self, wake_reactor: impl FnOnce()) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders this notify after the sleeper's wait began.
                drop(lock(&self.mutex));
                self.condvar.notify_one();
            }
            PARKED_IN_REACTOR => wake_reactor(),
            actual => panic!("minirt: inconsistent park state {actual}"),
        }
    }
}
