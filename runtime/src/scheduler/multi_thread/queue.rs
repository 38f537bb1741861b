//! A worker's local run queue: a fixed ring of 256 tasks that its owner pushes to and pops
//! from without a lock, and that other workers steal half of when they run dry (tokio's
//! design, after the Chase-Lev deque and Go's scheduler).
//!
//! ```text
//!  head: AtomicU64 = steal:u32 | real:u32     tail: AtomicU32 (written by the owner only)
//!
//!  buffer  [ ....  steal ....... real ............. tail  .... ]
//!                  └ being copied ┘└ the owner's tasks ┘
//!                    by one stealer
//! ```
//!
//! - The owner pushes at `tail` (a plain store with `Release` publishes the slot) while fewer
//!   than 256 slots lie between `steal` and `tail`; when full, it moves half of the queue to the
//!   injection queue in one batch (or, during a steal, only the new task).
//! - The owner pops at `real` with a CAS on `head` (a stealer may move `real` concurrently).
//! - A stealer claims half of `[real, tail)` by moving `real` forward while leaving `steal`
//!   behind (one CAS), copies the claimed slots into its own queue, then sets `steal = real`
//!   (a second CAS). While `steal != real` no other stealer starts and the owner does not reuse
//!   the claimed slots, because it counts free space from `steal`.
//!
//! Positions are `u32`s that wrap; slot `i` is `buffer[i % 256]`.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::*;

use crate::loom::{Arc, AtomicU32, AtomicU64, UnsafeCell};

use crate::scheduler::task::TaskRef;

/// Slots in the ring: a power of two. Small under loom, so that a model reaches a full ring.
#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;
const MASK: usize = CAPACITY - 1;

struct Inner {
    head: AtomicU64,
    tail: AtomicU32,
    buffer: Box<[UnsafeCell<MaybeUninit<TaskRef>>]>,
}

// SAFETY: slots are handed between threads only as the head/tail protocol above decides (one
// writer per slot at a time, published with Release and read after Acquire), and a TaskRef is
// Send + Sync.
unsafe impl Sync for Inner {}
// SAFETY: as above; the slots hold `Send` tasks.
unsafe impl Send for Inner {}

/// The owner's end. Not `Clone`: one worker pushes and pops.
pub(crate) struct Local {
    inner: Arc<Inner>,
}

/// The end other workers steal from.
#[derive(Clone)]
pub(crate) struct Steal(Arc<Inner>);

/// A new queue, as its owner's and its stealers' ends.
pub(crate) fn local() -> (Steal, Local) {
    let buffer = (0..CAPACITY).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect();
    let inner = Arc::new(Inner { head: AtomicU64::new(0), tail: AtomicU32::new(0), buffer });
    (Steal(inner.clone()), Local { inner })
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

impl Inner {
    /// Moves the task out of slot `pos`.
    ///
    /// # Safety
    /// The caller has claimed slot `pos` (see the module docs) and it holds a task.
    unsafe fn take(&self, pos: u32) -> TaskRef {
        // SAFETY: the caller's claim makes this the only access to the initialised slot.
        self.buffer[pos as usize & MASK].with_mut(|slot| unsafe { ptr::read((*slot).as_ptr()) })
    }

    /// Moves `task` into slot `pos`.
    ///
    /// # Safety
    /// Only the owner writes, and only to a free slot (`pos - steal < CAPACITY`).
    unsafe fn put(&self, pos: u32, task: TaskRef) {
        // SAFETY: the slot is free and only the owner writes: no other access.
        self.buffer[pos as usize & MASK].with_mut(|slot| unsafe { (*slot).write(task) });
    }

    fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Acquire));
        self.tail.load(Acquire).wrapping_sub(real) as usize
    }
}

impl Local {
    /// Tasks in the queue (approximate if a stealer is at work).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// Free slots the owner can push to without overflowing.
    pub(crate) fn remaining(&self) -> usize {
        let (steal, _) = unpack(self.inner.head.load(Acquire));
        CAPACITY - self.inner.tail.load(Relaxed).wrapping_sub(steal) as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pushes `task`; if the ring is full, moves half of it (with `task`) to `overflow`.
    pub(crate) fn push_back(&mut self, mut task: TaskRef, overflow: &mut dyn FnMut(Vec<TaskRef>)) {
        loop {
            let (steal, real) = unpack(self.inner.head.load(Acquire));
            // Only this thread writes `tail`.
            let tail = self.inner.tail.load(Relaxed);
            if (tail.wrapping_sub(steal) as usize) < CAPACITY {
                // SAFETY: `tail - steal < CAPACITY`: the slot is free, and we are the owner.
                unsafe { self.inner.put(tail, task) };
                self.inner.tail.store(tail.wrapping_add(1), Release);
                return;
            }
            if steal != real {
                // A stealer is emptying part of the queue; it will have room soon. This one
                // task goes to the injection queue.
                overflow(vec![task]);
                return;
            }
            match self.push_overflow(task, real, tail, overflow) {
                Ok(()) => return,
                // A stealer took tasks meanwhile: there is room now.
                Err(back) => task = back,
            }
        }
    }

    /// Moves the older half of a full queue, and `task`, to `overflow`.
    fn push_overflow(
        &mut self,
        task: TaskRef,
        head: u32,
        tail: u32,
        overflow: &mut dyn FnMut(Vec<TaskRef>),
    ) -> Result<(), TaskRef> {
        const HALF: u32 = (CAPACITY / 2) as u32;
        debug_assert_eq!(tail.wrapping_sub(head) as usize, CAPACITY);
        let claimed = self.inner.head.compare_exchange(
            pack(head, head),
            pack(head.wrapping_add(HALF), head.wrapping_add(HALF)),
            Release,
            Relaxed,
        );
        if claimed.is_err() {
            return Err(task);
        }
        let mut batch = Vec::with_capacity(HALF as usize + 1);
        for i in 0..HALF {
            // SAFETY: the CAS moved `head` past these slots: no stealer and no pop reaches
            // them, and the owner writes them again only after they are taken here.
            batch.push(unsafe { self.inner.take(head.wrapping_add(i)) });
        }
        batch.push(task);
        overflow(batch);
        Ok(())
    }

    /// Pops the oldest task.
    pub(crate) fn pop(&mut self) -> Option<TaskRef> {
        let mut head = self.inner.head.load(Acquire);
        let pos = loop {
            let (steal, real) = unpack(head);
            if real == self.inner.tail.load(Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // While a stealer is at work, `steal` stays where it is.
            let next =
                if steal == real { pack(next_real, next_real) } else { pack(steal, next_real) };
            match self.inner.head.compare_exchange(head, next, AcqRel, Acquire) {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS claimed slot `pos` for us, and it was pushed (it is below `tail`).
        Some(unsafe { self.inner.take(pos) })
    }
}

impl Steal {
    /// Tasks in the queue (approximate).
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steals half of this queue into `dst` (the caller's own queue) and returns one of the
    /// stolen tasks to run at once. `None` if there was nothing to steal, another stealer is at
    /// work, or `dst` is more than half full.
    pub(crate) fn steal_into(&self, dst: &mut Local) -> Option<TaskRef> {
        let dst_tail = dst.inner.tail.load(Relaxed);
        let (dst_steal, _) = unpack(dst.inner.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) as usize > CAPACITY / 2 {
            return None;
        }
        let mut n = self.steal_into2(dst, dst_tail);
        if n == 0 {
            return None;
        }
        n -= 1;
        let ret_pos = dst_tail.wrapping_add(n);
        // SAFETY: `steal_into2` wrote slots `dst_tail..dst_tail + n + 1` of our own queue and
        // has not published them: they are ours.
        let ret = unsafe { dst.inner.take(ret_pos) };
        if n > 0 {
            dst.inner.tail.store(dst_tail.wrapping_add(n), Release);
        }
        Some(ret)
    }

    /// Claims half of this queue and moves it into `dst`'s free slots from `dst_tail`;
    /// returns how many moved (not yet published in `dst`).
    fn steal_into2(&self, dst: &mut Local, dst_tail: u32) -> u32 {
        let mut prev = self.0.head.load(Acquire);
        let (next, n) = loop {
            let (src_steal, src_real) = unpack(prev);
            if src_steal != src_real {
                return 0;
            }
            let src_tail = self.0.tail.load(Acquire);
            let available = src_tail.wrapping_sub(src_real);
            let n = available - available / 2;
            if n == 0 {
                return 0;
            }
            let next = pack(src_steal, src_real.wrapping_add(n));
            match self.0.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => break (next, n),
                Err(actual) => prev = actual,
            }
        };
        let (first, _) = unpack(next);
        for i in 0..n {
            // SAFETY: slots `first..first + n` were claimed by the CAS (the owner neither pops
            // nor overwrites them while `steal` lags `real`); the destination slots are free
            // slots of the caller's own queue, which only the caller writes.
            unsafe {
                let task = self.0.take(first.wrapping_add(i));
                dst.inner.put(dst_tail.wrapping_add(i), task);
            }
        }
        // Done copying: let `steal` catch up with `real`, releasing the slots to the owner.
        let mut prev = next;
        loop {
            let (_, real) = unpack(prev);
            match self.0.head.compare_exchange(prev, pack(real, real), AcqRel, Acquire) {
                Ok(_) => return n,
                Err(actual) => prev = actual,
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last end is gone: no other thread exists to race with.
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        let mut pos = real;
        while pos != tail {
            // SAFETY: every slot in `[real, tail)` holds a pushed, not yet taken task, and no
            // one else can reach it now.
            drop(unsafe { self.take(pos) });
            pos = pos.wrapping_add(1);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::scheduler::task::Runnable;
    use std::sync::atomic::AtomicUsize;

    struct Counted(usize, Arc<AtomicUsize>);
    impl Runnable for Counted {
        fn run(self: Arc<Self>, _: Option<&crate::slow_poll::Hooks>) {
            self.1.fetch_add(self.0, Relaxed);
        }
        fn shutdown(self: Arc<Self>) {}
        fn woken(&self) {}
    }

    #[test]
    fn fifo_overflow_and_steal() {
        let sum = Arc::new(AtomicUsize::new(0));
        let (_steal, mut local) = local();
        let mut spilled = Vec::new();
        for i in 0..300 {
            local.push_back(Arc::new(Counted(i, sum.clone())), &mut |batch| spilled.extend(batch));
        }
        assert_eq!(spilled.len(), 129, "half of the ring and the pushing task");
        assert_eq!(local.len(), 300 - 129);
        let (_s2, mut other) = local2();
        let stolen = _steal.steal_into(&mut other).expect("something to steal");
        stolen.run(None);
        let mut ran = 1;
        while let Some(t) = local.pop().or_else(|| other.pop()) {
            t.run(None);
            ran += 1;
        }
        for t in spilled {
            t.run(None);
            ran += 1;
        }
        assert_eq!(ran, 300);
        assert_eq!(sum.load(Relaxed), (0..300).sum::<usize>());
    }

    fn local2() -> (Steal, Local) {
        local()
    }

    #[test]
    fn concurrent_steals_lose_and_duplicate_nothing() {
        const N: usize = 100_000;
        let sum = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        let (steal, mut local) = local();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (steal, stop, count) = (steal.clone(), stop.clone(), count.clone());
                std::thread::spawn(move || {
                    let (_, mut mine) = super::local();
                    while !stop.load(Acquire) || !steal.is_empty() {
                        if let Some(t) = steal.steal_into(&mut mine) {
                            t.run(None);
                            count.fetch_add(1, Relaxed);
                        }
                        while let Some(t) = mine.pop() {
                            t.run(None);
                            count.fetch_add(1, Relaxed);
                        }
                    }
                })
            })
            .collect();
        let mut spilled = Vec::new();
        for i in 0..N {
            local.push_back(Arc::new(Counted(i, sum.clone())), &mut |b| spilled.extend(b));
            if i % 3 == 0 {
                if let Some(t) = local.pop() {
                    t.run(None);
                    count.fetch_add(1, Relaxed);
                }
            }
        }
        stop.store(true, Release);
        while let Some(t) = local.pop() {
            t.run(None);
            count.fetch_add(1, Relaxed);
        }
        thieves.into_iter().for_each(|t| t.join().unwrap());
        for t in spilled {
            t.run(None);
            count.fetch_add(1, Relaxed);
        }
        assert_eq!(count.load(Relaxed), N);
        assert_eq!(sum.load(Relaxed), (0..N).sum::<usize>());
    }
}
