//! The runtime's side of time: every registered deadline, in a binary min-heap.
//!
//! A [`Sleep`](crate::time::Sleep) that has to wait registers its deadline here and gets a
//! [`TimerKey`]; the scheduler's loop asks [`Timers::next_deadline`] for its `epoll_wait` timeout
//! and, after every look at the reactor, calls [`Timers::fire_due`], which pops each due timer
//! and hands back its waker. The `Sleep` then finds its entry fired on its next poll and removes
//! it; dropping a `Sleep` removes its entry wherever it is, so a cancelled timer costs nothing
//! afterwards.
//!
//! ```text
//!  entries: Slab<Entry>    key ──► { deadline, waker, pos }        owned by one Sleep each
//!  heap:    Vec<Node>      [ {deadline, seq, key}, ... ]           min-heap on (deadline, seq)
//!                            ▲ entries[key].pos is the node's index, or FIRED once popped
//! ```
//!
//! The heap nodes carry a copy of their deadline, so sifting compares neighbouring memory and
//! never chases a key into the slab; the slab entry only learns its new position. `seq` is a
//! registration counter: timers with equal deadlines fire in the order they were registered.
//!
//! "Now" is the runtime's [`Clock`]'s (`Timers::now`), which a test may have paused: the loop
//! computes its `epoll_wait` timeout and fires timers against it, and a paused loop with nothing
//! else to do moves it to the earliest deadline (`Timers::auto_advance`) instead of sleeping.
//! Deadlines are stored as `std::time::Instant`s on that clock.
//!
//! Everything sits behind one mutex. On the current-thread runtime only the loop's thread takes
//! it, uncontended; on the multi-thread runtime every worker registers and fires timers here,
//! and a future polled under `Runtime::enter` on any thread may register one too.

use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::Instant;

use slab::Slab;

pub(crate) mod clock;

use crate::trace::trace;
use clock::Clock;

/// `Entry::pos` of a timer that has fired and is no longer in the heap.
const FIRED: usize = usize::MAX;

/// Above this many slots, a timer table that empties gives its memory back.
const SHRINK_ABOVE: usize = 4096;

/// The handle a registered timer's owner holds. Not `Clone`: exactly one owner removes it.
#[derive(Debug)]
pub(crate) struct TimerKey(usize);

/// The runtime that holds the timers has shut down: a timer not yet fired never will be.
#[derive(Debug)]
pub(crate) struct ShutDown;

/// All timers of one runtime.
pub(crate) struct Timers {
    inner: Mutex<Inner>,
    /// The runtime's clock, which deadlines are measured on.
    clock: Clock,
}

struct Inner {
    entries: Slab<Entry>,
    heap: Vec<Node>,
    next_seq: u64,
    /// Set by runtime shutdown: nothing will fire any more, so no waker is kept.
    is_shutdown: bool,
}

struct Entry {
    /// Woken when the timer fires; `None` after it fired (the waker was handed out).
    waker: Option<Waker>,
    /// Index of this entry's node in `heap`, or `FIRED`.
    pos: usize,
}

#[derive(Clone, Copy)]
struct Node {
    deadline: Instant,
    seq: u64,
    key: usize,
}

impl Node {
    fn fires_before(&self, other: &Node) -> bool {
        (self.deadline, self.seq) < (other.deadline, other.seq)
    }
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            inner: Mutex::new(Inner {
                entries: Slab::new(),
                heap: Vec::new(),
                next_seq: 0,
                is_shutdown: false,
            }),
            clock: Clock::new(),
        }
    }

    /// The runtime's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The time on the runtime's clock: what deadlines are compared with.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Paused time only: moves the clock to the earliest deadline, so that the next
    /// [`Timers::fire_due`] fires it. The loop calls this instead of sleeping until it.
    pub(crate) fn auto_advance(&self) {
        if let Some(deadline) = self.next_deadline() {
            self.clock.advance_to(deadline);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code panics while holding this lock (heap arithmetic on indices it maintains), so a
        // poisoned lock still guards a consistent heap.
        crate::loom::lock(&self.inner)
    }

    /// Registers a timer that wakes `waker` at `deadline`. Also returns whether it is now the
    /// earliest timer, in which case a loop parked with a later timeout must be woken.
    /// `Err(ShutDown)` once the runtime has shut down: nothing would ever fire it.
    pub(crate) fn insert(
        &self,
        deadline: Instant,
        waker: &Waker,
    ) -> Result<(TimerKey, bool), ShutDown> {
        // Cloned before the lock, and dropped after it if unused: both may run foreign code.
        let waker = waker.clone();
        let mut inner = self.lock();
        if inner.is_shutdown {
            drop(inner);
            drop(waker);
            return Err(ShutDown);
        }
        let key = inner.entries.insert(Entry { waker: Some(waker), pos: FIRED });
        let earliest = inner.push(deadline, key);
        Ok((TimerKey(key), earliest))
    }

    /// `Ready` once the timer has fired; otherwise remembers `waker` (replacing the old one
    /// unless it would wake the same task) and returns `Pending`. `Err(ShutDown)` if it has
    /// not fired and the runtime has shut down: it never will.
    ///
    /// A waker's clone and drop may run arbitrary code (the last reference to a task drops its
    /// output, which may drop a `Sleep`, which takes this lock): the new waker is cloned and the
    /// old one dropped outside the lock.
    pub(crate) fn poll(&self, key: &TimerKey, waker: &Waker) -> Result<Poll<()>, ShutDown> {
        {
            let inner = self.lock();
            let entry = &inner.entries[key.0];
            if entry.pos == FIRED {
                return Ok(Poll::Ready(()));
            }
            if inner.is_shutdown {
                return Err(ShutDown);
            }
            if entry.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                return Ok(Poll::Pending);
            }
        }
        let new = waker.clone();
        let mut inner = self.lock();
        let is_shutdown = inner.is_shutdown;
        let entry = &mut inner.entries[key.0];
        let (result, unused) = if entry.pos == FIRED {
            (Ok(Poll::Ready(())), Some(new))
        } else if is_shutdown {
            (Err(ShutDown), Some(new))
        } else {
            (Ok(Poll::Pending), entry.waker.replace(new))
        };
        drop(inner);
        drop(unused);
        result
    }

    /// Moves a timer to a new deadline, re-arming it if it had fired. A deadline already reached
    /// at `now` fires at once, waking the stored waker (as tokio's reset does), so the owner's
    /// next poll is ready without waiting for the loop. Returns whether the timer is now the
    /// earliest (see [`Timers::insert`]).
    pub(crate) fn reset(&self, key: &TimerKey, deadline: Instant, now: Instant) -> bool {
        let mut inner = self.lock();
        let pos = inner.entries[key.0].pos;
        if pos != FIRED {
            inner.remove_node(pos);
        }
        if deadline <= now {
            let entry = &mut inner.entries[key.0];
            entry.pos = FIRED;
            let waker = entry.waker.take();
            drop(inner);
            // Outside the lock: waking may run foreign code.
            if let Some(waker) = waker {
                waker.wake();
            }
            return false;
        }
        inner.push(deadline, key.0)
    }

    /// Whether the timer has fired (and not been reset since).
    pub(crate) fn has_fired(&self, key: &TimerKey) -> bool {
        self.lock().entries[key.0].pos == FIRED
    }

    /// Forgets a timer, fired or not.
    pub(crate) fn remove(&self, key: TimerKey) {
        let mut inner = self.lock();
        let entry = inner.entries.remove(key.0);
        if entry.pos != FIRED {
            inner.remove_node(entry.pos);
        }
        // A burst of timers (a million sleeps, say) must not pin its memory forever: once the
        // table is empty again, start from small buffers.
        if inner.entries.is_empty() && inner.entries.capacity() > SHRINK_ABOVE {
            inner.entries = Slab::new();
            inner.heap = Vec::new();
        }
        drop(inner);
        // The waker (a task reference) is dropped outside the lock.
        drop(entry);
    }

    /// Timers waiting in the heap (for the console).
    pub(crate) fn waiting(&self) -> usize {
        self.lock().heap.len()
    }

    /// The deadline of the timer that fires first.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.lock().heap.first().map(|node| node.deadline)
    }

    /// Takes every timer due at `now` out of the heap and pushes its waker onto `wakers`; the
    /// caller wakes them after this returns, outside the lock.
    pub(crate) fn fire_due(&self, now: Instant, wakers: &mut Vec<Waker>) {
        let mut inner = self.lock();
        while let Some(first) = inner.heap.first() {
            if first.deadline > now {
                break;
            }
            let key = first.key;
            trace!(
                "timer fired (late by {:?}){}",
                now.saturating_duration_since(first.deadline),
                if inner.entries[key].waker.is_some() { "" } else { ", no waker stored" }
            );
            inner.remove_node(0);
            let entry = &mut inner.entries[key];
            entry.pos = FIRED;
            wakers.extend(entry.waker.take());
        }
    }

    /// Wakes every stored waker, once, outside the lock: the loop will never run again to
    /// fire them, so each waiter must poll once more and see the shutdown (a `Sleep` then
    /// panics with tokio's "being shutdown"). A waiter outside the runtime's tasks
    /// (`Handle::block_on` on another thread) would otherwise wait for ever; a task of this
    /// runtime is cancelled by the shutdown and its wake-up dropped. No waker is kept: one
    /// would keep its task (and through it the runtime) alive.
    pub(crate) fn shutdown(&self) {
        let mut inner = self.lock();
        inner.is_shutdown = true;
        let wakers: Vec<Waker> =
            inner.entries.iter_mut().filter_map(|(_, entry)| entry.waker.take()).collect();
        drop(inner);
        // Each waiter is woken to see the shutdown (see above); a user waker that panics, in
        // its wake or its drop, must not stop the runtime's shutdown halfway (the panic hook
        // has reported it).
        let mut wakers = wakers;
        drop(crate::wake::wake_all(&mut wakers));
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.heap.len())
    }
}

impl Inner {
    /// Adds a heap node for entry `key`; true if it became the root.
    fn push(&mut self, deadline: Instant, key: usize) -> bool {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Node { deadline, seq, key });
        let pos = self.sift_up(self.heap.len() - 1);
        pos == 0
    }

    /// Removes the node at `pos`, filling the hole with the last node.
    fn remove_node(&mut self, pos: usize) {
        let last = self.heap.len() - 1;
        self.heap.swap(pos, last);
        self.heap.pop();
        if pos < self.heap.len() {
            // The moved node may belong above or below the hole; at most one sift moves it.
            let pos = self.sift_up(pos);
            self.sift_down(pos);
        }
    }

    /// Moves the node at `pos` up while it fires before its parent; returns where it ends.
    fn sift_up(&mut self, mut pos: usize) -> usize {
        let node = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !node.fires_before(&self.heap[parent]) {
                break;
            }
            self.place(self.heap[parent], pos);
            pos = parent;
        }
        self.place(node, pos);
        pos
    }

    /// Moves the node at `pos` down while a child fires before it.
    fn sift_down(&mut self, mut pos: usize) {
        let node = self.heap[pos];
        let len = self.heap.len();
        loop {
            let left = 2 * pos + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.heap[right].fires_before(&self.heap[left]) {
                right
            } else {
                left
            };
            if !self.heap[child].fires_before(&node) {
                break;
            }
            self.place(self.heap[child], pos);
            pos = child;
        }
        self.place(node, pos);
    }

    /// Writes `node` at heap index `pos` and tells its entry where it is.
    fn place(&mut self, node: Node, pos: usize) {
        self.heap[pos] = node;
        self.entries[node.key].pos = pos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Duration;

    /// A waker that records the order in which timers woke it.
    struct Recorder {
        id: usize,
        log: Arc<Mutex<Vec<usize>>>,
    }

    impl Wake for Recorder {
        fn wake(self: Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
        }
    }

    fn recorder(id: usize, log: &Arc<Mutex<Vec<usize>>>) -> Waker {
        Waker::from(Arc::new(Recorder { id, log: log.clone() }))
    }

    fn fire(timers: &Timers, now: Instant) {
        let mut wakers = Vec::new();
        timers.fire_due(now, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Checks the heap property and every entry's back-pointer.
    fn check(timers: &Timers) {
        let inner = timers.lock();
        for (i, node) in inner.heap.iter().enumerate() {
            assert_eq!(inner.entries[node.key].pos, i, "entry {} points elsewhere", node.key);
            if i > 0 {
                assert!(!node.fires_before(&inner.heap[(i - 1) / 2]), "heap order broken at {i}");
            }
        }
    }

    #[test]
    fn fires_in_deadline_order_and_fifo_among_equal_deadlines() {
        let timers = Timers::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let base = Instant::now();
        // ids 0..30; deadlines 3, 2, 1, 0 ms repeating, so each deadline has several timers.
        let keys: Vec<TimerKey> = (0..30)
            .map(|id| {
                let at = base + Duration::from_millis(3 - (id % 4) as u64);
                timers.insert(at, &recorder(id, &log)).expect("running").0
            })
            .collect();
        check(&timers);
        fire(&timers, base + Duration::from_millis(10));
        let mut expected: Vec<usize> = (0..30).collect();
        expected.sort_by_key(|id| (3 - id % 4, *id));
        assert_eq!(*log.lock().unwrap(), expected);
        for key in keys {
            timers.remove(key);
        }
        assert_eq!(timers.len(), (0, 0));
    }

    #[test]
    fn only_due_timers_fire() {
        let timers = Timers::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let base = Instant::now();
        let early = timers.insert(base, &recorder(1, &log)).expect("running").0;
        let late =
            timers.insert(base + Duration::from_secs(60), &recorder(2, &log)).expect("running").0;
        fire(&timers, base);
        assert_eq!(*log.lock().unwrap(), vec![1]);
        assert!(timers.poll(&early, &recorder(1, &log)).expect("running").is_ready());
        assert!(timers.poll(&late, &recorder(2, &log)).expect("running").is_pending());
        assert_eq!(timers.next_deadline(), Some(base + Duration::from_secs(60)));
        timers.remove(early);
        timers.remove(late);
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn removing_from_the_middle_keeps_the_heap_valid() {
        let timers = Timers::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let base = Instant::now();
        // A scrambled but deterministic order of deadlines.
        let mut keys: Vec<Option<TimerKey>> = (0..200u64)
            .map(|i| {
                let at = base + Duration::from_micros((i * 7919) % 1000);
                Some(timers.insert(at, &recorder(i as usize, &log)).expect("running").0)
            })
            .collect();
        for i in (0..200).step_by(3) {
            timers.remove(keys[i].take().unwrap());
            check(&timers);
        }
        fire(&timers, base + Duration::from_secs(1));
        let fired = log.lock().unwrap().clone();
        assert_eq!(fired.len(), 200 - (0..200).step_by(3).count());
        let deadlines: Vec<u64> = fired.iter().map(|&i| (i as u64 * 7919) % 1000).collect();
        assert!(deadlines.windows(2).all(|w| w[0] <= w[1]), "fired out of order: {deadlines:?}");
        keys.into_iter().flatten().for_each(|key| timers.remove(key));
    }

    #[test]
    fn reset_moves_a_pending_timer_and_rearms_a_fired_one() {
        let timers = Timers::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let base = Instant::now();
        let a =
            timers.insert(base + Duration::from_millis(1), &recorder(1, &log)).expect("running").0;
        let b =
            timers.insert(base + Duration::from_millis(2), &recorder(2, &log)).expect("running").0;
        let earlier = base - Duration::from_millis(1);
        assert!(timers.reset(&b, base, earlier), "b moved before a, so it is the earliest");
        check(&timers);
        fire(&timers, base);
        assert_eq!(*log.lock().unwrap(), vec![2]);
        // Re-arm the fired `b` later than `a`; it keeps no waker until polled again.
        assert!(!timers.reset(&b, base + Duration::from_millis(5), earlier));
        assert!(timers.poll(&b, &recorder(3, &log)).expect("running").is_pending());
        fire(&timers, base + Duration::from_millis(10));
        assert_eq!(*log.lock().unwrap(), vec![2, 1, 3]);
        timers.remove(a);
        timers.remove(b);
    }

    #[test]
    fn reset_to_a_deadline_already_reached_fires_at_once() {
        let timers = Timers::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let base = Instant::now();
        let later = base + Duration::from_secs(60);
        let key = timers.insert(later, &recorder(1, &log)).expect("running").0;
        assert!(!timers.reset(&key, base, base), "fired, so not in the heap at all");
        assert_eq!(*log.lock().unwrap(), vec![1], "the stored waker is woken");
        assert_eq!(timers.next_deadline(), None);
        assert!(timers.poll(&key, &recorder(2, &log)).expect("running").is_ready());
        timers.remove(key);
    }

    #[test]
    fn a_replaced_waker_is_the_one_woken() {
        let timers = Timers::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let base = Instant::now();
        let key = timers.insert(base, &recorder(1, &log)).expect("running").0;
        assert!(timers.poll(&key, &recorder(2, &log)).expect("running").is_pending());
        fire(&timers, base);
        assert_eq!(*log.lock().unwrap(), vec![2]);
        timers.remove(key);
    }

    #[test]
    fn an_emptied_table_gives_its_memory_back() {
        let timers = Timers::new();
        let count = Arc::new(AtomicUsize::new(0));
        struct Count(Arc<AtomicUsize>);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let waker = Waker::from(Arc::new(Count(count.clone())));
        let base = Instant::now();
        let keys: Vec<TimerKey> = (0..100_000u64)
            .map(|i| timers.insert(base + Duration::from_nanos(i), &waker).expect("running").0)
            .collect();
        for key in keys {
            timers.remove(key);
        }
        assert_eq!(timers.len(), (0, 0));
        let inner = timers.lock();
        assert!(inner.entries.capacity() <= SHRINK_ABOVE, "slab kept {}", inner.entries.capacity());
        assert!(inner.heap.capacity() <= SHRINK_ABOVE, "heap kept {}", inner.heap.capacity());
        assert_eq!(count.load(Ordering::Relaxed), 0, "removed timers must not fire");
    }

    #[test]
    fn shutdown_wakes_the_waiters_once_and_keeps_no_waker() {
        let timers = Timers::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let task = Arc::new(Recorder { id: 1, log: log.clone() });
        let waker = Waker::from(task.clone());
        let key = timers.insert(Instant::now(), &waker).expect("running").0;
        assert_eq!(Arc::strong_count(&task), 3, "`task`, `waker` and the stored clone");
        timers.shutdown();
        assert_eq!(*log.lock().unwrap(), [1], "the waiter is woken to see the shutdown");
        assert_eq!(Arc::strong_count(&task), 2);
        assert!(timers.poll(&key, &waker).is_err(), "an unfired timer never fires now");
        assert_eq!(Arc::strong_count(&task), 2, "no waker is stored after shutdown");
        assert!(timers.insert(Instant::now(), &waker).is_err());
        assert_eq!(Arc::strong_count(&task), 2, "nor by a new timer");
        timers.remove(key);
    }
}
