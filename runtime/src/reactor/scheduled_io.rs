//! [`ScheduledIo`]: the state one registration shares between its owner and the reactor — the
//! readiness word (ready bits, shutdown bit, tick) and the waiters (the poll API's two slots
//! and the futures' slab) — and how an event turns into the wakers it concerns.

use super::{Interest, Ready};
use crate::loom::lock;
use slab::Slab;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// A snapshot of a registration's readiness, taken by `poll_ready`: what was ready, and the tick
/// at which it was observed (for `clear_readiness`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) ready: Ready,
    tick: usize,
}

impl ReadyEvent {
    /// The same observation, limited to the bits of `ready` (for `clear_ready_matching`).
    pub(crate) fn with_ready(self, ready: Ready) -> ReadyEvent {
        ReadyEvent { ready: self.ready & ready, tick: self.tick }
    }
}

/// Readiness word layout: the low 8 bits hold `Ready`, bit 8 marks a reactor that shut down,
/// and the bits above count events (the tick).
pub(super) const READY_MASK: usize = 0xff;
pub(super) const SHUTDOWN_BIT: usize = 1 << 8;
pub(super) const TICK_SHIFT: usize = 9;

pub(super) fn ready_of(word: usize) -> Ready {
    Ready((word & READY_MASK) as u8)
}

pub(super) fn tick_of(word: usize) -> usize {
    word >> TICK_SHIFT
}

/// Per-registration state shared between the I/O object and the reactor.
pub(super) struct ScheduledIo {
    /// Cached readiness + shutdown bit + tick (see the layout constants above).
    readiness: AtomicUsize,
    /// Every task waiting on this registration.
    pub(super) waiters: Mutex<Waiters>,
}

/// The tasks waiting on one registration (see the module docs, "Waiters").
#[derive(Default)]
pub(super) struct Waiters {
    /// The poll API's slot for readers (`READABLE`, `PRIORITY`, `ERROR` interests).
    reader: Option<Waker>,
    /// The poll API's slot for writers.
    writer: Option<Waker>,
    /// One entry per waiting future ([`Waiter`](super::registration::Waiter)), each owned by that future until it drops.
    pub(super) list: Slab<Entry>,
}

/// A waiting future's place: the readiness that wakes it, and its waker (taken when woken).
pub(super) struct Entry {
    wake_mask: Ready,
    waker: Option<Waker>,
}

/// Which poll-API slot an interest waits in.
#[derive(Clone, Copy)]
pub(super) enum PollSlot {
    Reader,
    Writer,
    Both,
}

impl PollSlot {
    pub(super) fn of(interest: Interest) -> PollSlot {
        let reads = interest.is_readable() || interest.is_priority() || interest.is_error();
        match (reads, interest.is_writable()) {
            (true, true) => PollSlot::Both,
            (false, true) => PollSlot::Writer,
            _ => PollSlot::Reader,
        }
    }
}

/// Which waiter a `poll_ready` call stores its waker for.
pub(super) enum WaiterKey<'a> {
    /// The poll API's per-direction slot(s) for the interest (see `PollSlot`).
    Poll,
    /// A future's own entry: `None` until it first waits.
    Entry(&'a mut Option<usize>),
}

/// The poll API's reader slot wakes on anything a read, a priority read or an error wait
/// could act on; the writer slot as `Interest::WRITABLE.wake_mask()`.
pub(super) const READER_WAKE: Ready = Ready(Ready::READ_SIDE.0 | Ready::PRIORITY.0);
pub(super) const WRITER_WAKE: Ready = Ready(Ready::WRITE_SIDE.0 | Ready::READ_CLOSED.0);

impl ScheduledIo {
    pub(super) fn new() -> ScheduledIo {
        ScheduledIo {
            // Nothing is known until the reactor's first event: `EPOLL_CTL_ADD` queues one
            // for whatever the fd is ready for at registration, so a fresh fd that is ready
            // is reported at the next `epoll_wait`. Owners that know better (an accepted
            // stream, a fresh pair) say so with `assume_ready`.
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// For the console (`Reactor::inspect`): the cached readiness and every waiting waker, with
    /// whether it waits to read, to write; under the waiters' lock.
    pub(super) fn inspect(&self, visit: impl FnOnce(Ready, &[(&Waker, bool, bool)])) {
        let ready = ready_of(self.readiness.load(Ordering::Acquire));
        let waiters = lock(&self.waiters);
        let mut wakers: Vec<(&Waker, bool, bool)> = Vec::new();
        wakers.extend(waiters.reader.iter().map(|w| (w, true, false)));
        wakers.extend(waiters.writer.iter().map(|w| (w, false, true)));
        for (_, entry) in waiters.list.iter() {
            let (r, w) = (entry.wake_mask.intersects(READER_WAKE), entry.wake_mask.is_writable());
            wakers.extend(entry.waker.iter().map(|waker| (waker, r, w)));
        }
        visit(ready, &wakers);
    }

    /// Records an event: ORs in `ready`, bumps the tick, and moves the wakers of every waiter
    /// the event concerns into `wake_list` (moved, not woken nor dropped: the caller wakes them
    /// after releasing its locks).
    /// Returns which waiters it took, for `MINIRT_TRACE`.
    pub(super) fn set_readiness(
        &self,
        ready: Ready,
        extra: usize,
        wake_list: &mut Vec<Waker>,
    ) -> Woke {
        let mut current = self.readiness.load(Ordering::Acquire);
        loop {
            let next_tick = tick_of(current).wrapping_add(1) << TICK_SHIFT;
            let next =
                next_tick | (current & (READY_MASK | SHUTDOWN_BIT)) | ready.0 as usize | extra;
            match self.readiness.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        // The bits were published before the lock is taken; `poll_ready` re-reads them under
        // the same lock before storing its waker, so either it sees them or we see its waker.
        let mut waiters = lock(&self.waiters);
        let all = extra & SHUTDOWN_BIT != 0;
        let mut woke = Woke::default();
        if all || ready.intersects(READER_WAKE) {
            if let Some(waker) = waiters.reader.take() {
                wake_list.push(waker);
                woke.reader = true;
            }
        }
        if all || ready.intersects(WRITER_WAKE) {
            if let Some(waker) = waiters.writer.take() {
                wake_list.push(waker);
                woke.writer = true;
            }
        }
        if !waiters.list.is_empty() {
            let before = wake_list.len();
            for (_, entry) in waiters.list.iter_mut() {
                if all || ready.intersects(entry.wake_mask) {
                    wake_list.extend(entry.waker.take());
                }
            }
            woke.listed = wake_list.len() - before;
        }
        woke
    }

    /// `Ready(event)` if any bit in `interest`'s mask is set; otherwise stores the waker for
    /// `key` and returns `Pending`.
    #[inline]
    pub(super) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        key: WaiterKey<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        let mask = interest.mask();
        if let Some(result) = self.check(mask) {
            return Poll::Ready(result);
        }
        self.poll_ready_slow(cx, interest, mask, key)
    }

    /// `poll_ready` when the cached readiness says no: store the waker, unless an event
    /// landed meanwhile.
    pub(super) fn poll_ready_slow(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        mask: Ready,
        key: WaiterKey<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        // Cloned before the lock: a clone runs the waker's own code. In the rare case that
        // the slot already holds an equivalent waker, the clone is dropped, after the lock.
        let waker = cx.waker().clone();
        let second = matches!((&key, PollSlot::of(interest)), (WaiterKey::Poll, PollSlot::Both))
            .then(|| cx.waker().clone());
        let mut spare = [None, None];
        let result = {
            let mut waiters = lock(&self.waiters);
            // Re-check under the lock: an event may have landed since the check above.
            if let Some(result) = self.check(mask) {
                spare = [Some(waker), second];
                Poll::Ready(result)
            } else {
                let waiters = &mut *waiters;
                match key {
                    WaiterKey::Poll => match PollSlot::of(interest) {
                        PollSlot::Reader => spare[0] = store(&mut waiters.reader, waker),
                        PollSlot::Writer => spare[0] = store(&mut waiters.writer, waker),
                        PollSlot::Both => {
                            spare[0] = store(&mut waiters.reader, waker);
                            spare[1] = second.and_then(|waker| store(&mut waiters.writer, waker));
                        }
                    },
                    WaiterKey::Entry(slot) => match slot.and_then(|k| waiters.list.get_mut(k)) {
                        Some(entry) => spare[0] = store(&mut entry.waker, waker),
                        None => {
                            let entry =
                                Entry { wake_mask: interest.wake_mask(), waker: Some(waker) };
                            *slot = Some(waiters.list.insert(entry));
                        }
                    },
                }
                Poll::Pending
            }
        };
        // The lock is released: now a replaced (or unused) waker may run its drop.
        drop(spare);
        result
    }

    /// The cached readiness for `mask`, whether or not the runtime has shut down.
    #[inline]
    pub(super) fn check_cached(&self, mask: Ready) -> Option<ReadyEvent> {
        let word = self.readiness.load(Ordering::Acquire);
        let ready = ready_of(word) & mask;
        (!ready.is_empty()).then_some(ReadyEvent { ready, tick: tick_of(word) })
    }

    #[inline]
    pub(super) fn check(&self, mask: Ready) -> Option<io::Result<ReadyEvent>> {
        let word = self.readiness.load(Ordering::Acquire);
        if word & SHUTDOWN_BIT != 0 {
            return Some(Err(crate::shutdown::error(
                "the minirt runtime that drove this I/O resource has shut down",
            )));
        }
        let ready = ready_of(word) & mask;
        (!ready.is_empty()).then_some(Ok(ReadyEvent { ready, tick: tick_of(word) }))
    }

    /// Removes a future's waiter entry; its waker is returned so that it drops after the lock.
    pub(super) fn remove_waiter(&self, key: usize) -> Option<Entry> {
        lock(&self.waiters).list.try_remove(key)
    }

    /// Marks `ready` without an event from epoll, leaving the tick alone (so an operation's
    /// `clear_readiness` on `EAGAIN` still applies); nothing after shutdown.
    pub(super) fn assume_ready(&self, ready: Ready) {
        let _ = self.readiness.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
            (current & SHUTDOWN_BIT == 0).then_some(current | ready.0 as usize)
        });
    }

    /// Clears the bits of `event`, unless an event arrived after it was observed. Closed bits
    /// are sticky: a half that closed stays closed.
    pub(super) fn clear_readiness(&self, event: ReadyEvent) {
        let to_clear = event.ready - Ready::CLOSED;
        let mut current = self.readiness.load(Ordering::Acquire);
        while tick_of(current) == event.tick {
            let next = current & !(to_clear.0 as usize);
            match self.readiness.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

/// Puts `waker` in `slot` unless the slot already holds one that wakes the same task; returns
/// whichever waker is left over (the old one, or the unused new one) for the caller to drop
/// once its lock is released. `will_wake` only compares pointers: no foreign code runs.
pub(super) fn store(slot: &mut Option<Waker>, waker: Waker) -> Option<Waker> {
    match slot {
        Some(old) if old.will_wake(&waker) => Some(waker),
        _ => slot.replace(waker),
    }
}
/// Which waiters one event woke (for the `MINIRT_TRACE` line; the wakers themselves are in
/// the caller's `wake_list`).
#[derive(Default)]
pub(super) struct Woke {
    reader: bool,
    writer: bool,
    listed: usize,
}

impl fmt::Display for Woke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut woke = Vec::with_capacity(3);
        if self.reader {
            woke.push("reader".to_string());
        }
        if self.writer {
            woke.push("writer".to_string());
        }
        if self.listed > 0 {
            woke.push(format!("{} future waiter(s)", self.listed));
        }
        if woke.is_empty() {
            f.write_str("woke nobody (no task was waiting: the bits stay cached)")
        } else {
            write!(f, "woke {}", woke.join(" + "))
        }
    }
}
