//! The reactor: turns epoll readiness events into woken tasks.
//!
//! # How data flows through it
//!
//! ```text
//!  Registration::new(fd) ──► slab slot {generation, Arc<ScheduledIo>}
//!                            epoll_ctl(ADD, fd, IN|OUT|RDHUP|ET, token = generation<<32 | slot)
//!
//!  an operation (read, write, accept, ...)
//!    1. poll_ready(interest)   ── readiness bit set? ──► try the syscall
//!    2. syscall says EAGAIN    ──► clear_readiness(event): only if the tick is unchanged
//!    3. poll_ready again       ──► bit clear: store the task's waker, return Pending
//!
//!  the scheduler's loop calls Reactor::poll
//!    epoll_wait ──► for each event: look the token up in the slab, check its generation,
//!                   OR the new bits into the slot's readiness (tick + 1), take the wakers
//!                   of every waiter the new bits concern
//!               ──► hand them to the loop, which wakes them with the due timers' wakers
//!                   (outside every lock, `wake::wake_all`: a waker that panics cannot lose
//!                   the others): the tasks go back on the run queue
//! ```
//!
//! Each fd is registered exactly once, edge-triggered, for the directions its owner asked for
//! (both, by default). Edge-triggered means the kernel reports a *change* of readiness once, so
//! the reactor has to remember it: every registration keeps a cached readiness word
//! (`ScheduledIo::readiness`). The word starts empty: `EPOLL_CTL_ADD` itself queues an event
//! for whatever the fd is ready for at that moment, so the first `epoll_wait` fills it in. An
//! owner that knows better says so with `assume_ready` (an accepted stream is assumed readable
//! and writable, so its first read simply tries the syscall; a listener readable; a fresh pair
//! writable). A
//! readiness bit is cleared only when a syscall returns `EAGAIN`, and never re-armed with
//! `epoll_ctl`.
//!
//! The *tick* in the readiness word closes a race: an event may arrive between a syscall
//! returning `EAGAIN` and the clearing of the bit. Every event bumps the tick, and
//! `clear_readiness` only clears if the tick is the one the operation observed before its
//! syscall, so a fresh event is never thrown away.
//!
//! The *generation* in the epoll token makes stale events harmless: when a slot is freed and
//! reused for a new fd, an event still carrying the old token finds a different generation and
//! wakes nobody.
//!
//! # Waiters
//!
//! Any number of tasks may wait on one registration, in the same direction or not. There are
//! two kinds of waiter, as in tokio:
//!
//! - the poll API (`poll_ready`, used by `AsyncRead`/`AsyncWrite` and every `poll_*` method)
//!   has no future of its own to keep a place in, so it gets one slot per direction, `reader`
//!   and `writer`: the single-reader / single-writer fast path. A second task polling the same
//!   direction replaces the first one's waker (tokio's documented `poll_read_ready` rule).
//! - a future (`AsyncFd::readable`, `accept`, `recv`, ...) holds a [`Waiter`], which owns an
//!   entry in the registration's waiter slab for as long as the future lives. An event wakes
//!   *every* entry whose interest it concerns; dropping the future (cancelling it) removes its
//!   entry, so nothing leaks and nothing is woken for a waiter that is gone.
//!
//! A waker's `clone`, `wake` and `drop` run foreign code (a task's waker can be the last owner
//! of a whole task), so none of them ever runs while a reactor lock is held: a waker is cloned
//! before the lock is taken, and replaced or removed wakers are carried out of the critical
//! section and dropped after it.

use std::fmt;
use std::io;
use std::ops;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use slab::Slab;

use crate::sys::{self, Epoll, EventFd};
use crate::trace::{trace, EpollBits};

/// The token of the reactor's own eventfd; slab tokens never reach it (generation `u32::MAX`
/// with slot `u32::MAX` would need four billion live registrations).
const WAKEUP_TOKEN: u64 = u64::MAX;

/// The eventfd is read (reset to zero) once per this many wake-ups, not after each one.
///
/// Edge-triggered epoll reports an eventfd again after *every* write, whatever the counter
/// holds (each write runs the fd's wake-up callback, which puts it back on epoll's ready
/// list), so the read is not needed to see the next wake-up: it only keeps the counter far
/// from its maximum of 2^64 - 2, where a write would fail with `EAGAIN` and wake nobody.
/// Reading after each wake-up cost one syscall per wake from another thread.
const WAKEUPS_PER_DRAIN: u32 = 1024;

/// Readiness of an I/O resource, as reported by the reactor. Tokio's `Ready`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(u8);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// Reading will not block (`EPOLLIN`).
    pub const READABLE: Ready = Ready(1);
    /// Writing will not block (`EPOLLOUT`).
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// The peer closed its write half, or the fd hung up (`EPOLLRDHUP`, `EPOLLHUP`).
    pub const READ_CLOSED: Ready = Ready(1 << 2);
    /// The fd hung up: writes will fail (`EPOLLHUP`).
    pub const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// An error is pending on the fd (`EPOLLERR`); the next operation returns it.
    pub const ERROR: Ready = Ready(1 << 4);
    /// Priority (out-of-band) data is available (`EPOLLPRI`); needs [`Interest::PRIORITY`].
    pub const PRIORITY: Ready = Ready(1 << 5);
    /// Every readiness bit.
    pub const ALL: Ready = Ready(0b11_1111);

    /// Readiness that lets a read make progress, successful or not.
    const READ_SIDE: Ready = Ready(Self::READABLE.0 | Self::READ_CLOSED.0 | Self::ERROR.0);
    /// Readiness that lets a write make progress, successful or not.
    const WRITE_SIDE: Ready = Ready(Self::WRITABLE.0 | Self::WRITE_CLOSED.0 | Self::ERROR.0);
    /// Readiness that lets a priority read make progress, successful or not.
    const PRIORITY_SIDE: Ready = Ready(Self::PRIORITY.0 | Self::READ_CLOSED.0 | Self::ERROR.0);
    /// Bits that stay set once seen: a closed half does not reopen.
    const CLOSED: Ready = Ready(Self::READ_CLOSED.0 | Self::WRITE_CLOSED.0);

    /// No bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// `READABLE` is set.
    pub fn is_readable(self) -> bool {
        self.contains(Self::READABLE)
    }
    /// `WRITABLE` is set.
    pub fn is_writable(self) -> bool {
        self.contains(Self::WRITABLE)
    }
    /// `READ_CLOSED` is set: reads return EOF (or the pending error).
    pub fn is_read_closed(self) -> bool {
        self.contains(Self::READ_CLOSED)
    }
    /// `WRITE_CLOSED` is set: writes fail.
    pub fn is_write_closed(self) -> bool {
        self.contains(Self::WRITE_CLOSED)
    }
    /// `ERROR` is set: an error is pending (`SO_ERROR`).
    pub fn is_error(self) -> bool {
        self.contains(Self::ERROR)
    }
    /// `PRIORITY` is set: out-of-band data is waiting.
    pub fn is_priority(self) -> bool {
        self.contains(Self::PRIORITY)
    }
    fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }
    fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// Translates an epoll event mask. `EPOLLHUP` closes both halves; `EPOLLERR` is reported as
    /// `ERROR`, which satisfies every interest (see `Interest::mask`).
    fn from_epoll(events: u32) -> Ready {
        let has = |flag: libc::c_int| events & flag as u32 != 0;
        let mut ready = Ready::EMPTY;
        if has(libc::EPOLLIN) {
            ready |= Ready::READABLE;
        }
        if has(libc::EPOLLPRI) {
            // As mio does: priority data is also something a plain read can act on.
            ready |= Ready::READABLE | Ready::PRIORITY;
        }
        if has(libc::EPOLLOUT) {
            ready |= Ready::WRITABLE;
        }
        if has(libc::EPOLLRDHUP) {
            ready |= Ready::READ_CLOSED;
        }
        if has(libc::EPOLLHUP) {
            ready |= Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        }
        if has(libc::EPOLLERR) {
            ready |= Ready::ERROR;
        }
        ready
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    fn sub(self, rhs: Ready) -> Ready {
        Ready(self.0 & !rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("is_readable", &self.is_readable())
            .field("is_writable", &self.is_writable())
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .field("is_error", &self.is_error())
            .field("is_priority", &self.is_priority())
            .finish()
    }
}

/// What an operation waits for, and what an fd is registered for. Tokio's `Interest`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Readable (or its read half closed, or an error pending).
    pub const READABLE: Interest = Interest(1);
    /// Writable (or its write half closed, or an error pending).
    pub const WRITABLE: Interest = Interest(1 << 1);
    /// Priority (out-of-band) data available (`EPOLLPRI`): TCP urgent data, a pty's packet
    /// mode, `/proc/self/mounts` changing, a cgroup event file...
    pub const PRIORITY: Interest = Interest(1 << 2);
    /// An error pending (`EPOLLERR`). The kernel always reports errors, so registering for
    /// `ERROR` alone adds no epoll flag; waiting for it wakes only on an error.
    pub const ERROR: Interest = Interest(1 << 3);

    /// Includes `READABLE`.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }
    /// Includes `WRITABLE`.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
    /// Includes `PRIORITY`.
    pub const fn is_priority(self) -> bool {
        self.0 & Self::PRIORITY.0 != 0
    }
    /// Includes `ERROR`.
    pub const fn is_error(self) -> bool {
        self.0 & Self::ERROR.0 != 0
    }
    /// Both interests: `Interest::READABLE.add(Interest::WRITABLE)`.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
    /// This interest without `other`'s; `None` if nothing is left (an empty interest cannot
    /// exist, as in tokio).
    pub const fn remove(self, other: Interest) -> Option<Interest> {
        let left = self.0 & !other.0;
        if left == 0 {
            None
        } else {
            Some(Interest(left))
        }
    }

    /// The readiness bits that satisfy this interest. An error satisfies every interest: the
    /// operation then returns it. A table lookup: this runs on every readiness check.
    #[inline]
    pub(crate) fn mask(self) -> Ready {
        INTEREST_MASKS[(self.0 & 0xf) as usize]
    }

    /// `mask`, computed (for the table).
    const fn compute_mask(bits: u8) -> Ready {
        let mut mask = Ready::ERROR.0;
        if bits & Self::READABLE.0 != 0 {
            mask |= Ready::READ_SIDE.0;
        }
        if bits & Self::WRITABLE.0 != 0 {
            mask |= Ready::WRITE_SIDE.0;
        }
        if bits & Self::PRIORITY.0 != 0 {
            mask |= Ready::PRIORITY_SIDE.0;
        }
        Ready(mask)
    }

    /// The readiness bits whose arrival wakes a waiter with this interest: its `mask`, and for
    /// writers any hang-up too (a send to a peer that went away reports `EPIPE`/`ECONNRESET`
    /// instead of waiting for space; the writer re-checks and sees no `WRITABLE`).
    fn wake_mask(self) -> Ready {
        let mut mask = self.mask();
        if self.is_writable() {
            mask |= Ready::READ_CLOSED;
        }
        mask
    }

    /// The epoll flags to register for this interest (edge-triggered; `EPOLLERR` and
    /// `EPOLLHUP` are always reported).
    fn epoll_events(self) -> u32 {
        let mut events = libc::EPOLLET;
        if self.is_readable() {
            events |= libc::EPOLLIN | libc::EPOLLRDHUP;
        }
        if self.is_writable() {
            events |= libc::EPOLLOUT;
        }
        if self.is_priority() {
            events |= libc::EPOLLPRI;
        }
        events as u32
    }
}

/// `Interest::mask` for each of the 16 interest bit patterns.
const INTEREST_MASKS: [Ready; 16] = {
    let mut table = [Ready::EMPTY; 16];
    let mut bits = 0;
    while bits < 16 {
        table[bits] = Interest::compute_mask(bits as u8);
        bits += 1;
    }
    table
};

impl ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, rhs: Interest) {
        *self = self.add(rhs);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.is_readable(), "READABLE"),
            (self.is_writable(), "WRITABLE"),
            (self.is_priority(), "PRIORITY"),
            (self.is_error(), "ERROR"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(set, _)| *set) {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        Ok(())
    }
}

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
const READY_MASK: usize = 0xff;
const SHUTDOWN_BIT: usize = 1 << 8;
const TICK_SHIFT: usize = 9;

fn ready_of(word: usize) -> Ready {
    Ready((word & READY_MASK) as u8)
}

fn tick_of(word: usize) -> usize {
    word >> TICK_SHIFT
}

/// Per-registration state shared between the I/O object and the reactor.
struct ScheduledIo {
    /// Cached readiness + shutdown bit + tick (see the layout constants above).
    readiness: AtomicUsize,
    /// Every task waiting on this registration.
    waiters: Mutex<Waiters>,
}

/// The tasks waiting on one registration (see the module docs, "Waiters").
#[derive(Default)]
struct Waiters {
    /// The poll API's slot for readers (`READABLE`, `PRIORITY`, `ERROR` interests).
    reader: Option<Waker>,
    /// The poll API's slot for writers.
    writer: Option<Waker>,
    /// One entry per waiting future ([`Waiter`]), each owned by that future until it drops.
    list: Slab<Entry>,
}

/// A waiting future's place: the readiness that wakes it, and its waker (taken when woken).
struct Entry {
    wake_mask: Ready,
    waker: Option<Waker>,
}

/// Which poll-API slot an interest waits in.
#[derive(Clone, Copy)]
enum PollSlot {
    Reader,
    Writer,
    Both,
}

impl PollSlot {
    fn of(interest: Interest) -> PollSlot {
        let reads = interest.is_readable() || interest.is_priority() || interest.is_error();
        match (reads, interest.is_writable()) {
            (true, true) => PollSlot::Both,
            (false, true) => PollSlot::Writer,
            _ => PollSlot::Reader,
        }
    }
}

/// Which waiter a `poll_ready` call stores its waker for.
enum WaiterKey<'a> {
    /// The poll API's per-direction slot(s) for the interest (see `PollSlot`).
    Poll,
    /// A future's own entry: `None` until it first waits.
    Entry(&'a mut Option<usize>),
}

/// The poll API's reader slot wakes on anything a read, a priority read or an error wait
/// could act on; the writer slot as `Interest::WRITABLE.wake_mask()`.
const READER_WAKE: Ready = Ready(Ready::READ_SIDE.0 | Ready::PRIORITY.0);
const WRITER_WAKE: Ready = Ready(Ready::WRITE_SIDE.0 | Ready::READ_CLOSED.0);

/// A std `Mutex` poisons when a thread panics while holding it. Nothing in the reactor can
/// panic while holding one (it only moves `Waker`s), so a poisoned lock still holds consistent
/// data and is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ScheduledIo {
    fn new() -> ScheduledIo {
        ScheduledIo {
            // Nothing is known until the reactor's first event: `EPOLL_CTL_ADD` queues one
            // for whatever the fd is ready for at registration, so a fresh fd that is ready
            // is reported at the next `epoll_wait`. Owners that know better (an accepted
            // stream, a fresh pair) say so with `assume_ready`.
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Records an event: ORs in `ready`, bumps the tick, and moves the wakers of every waiter
    /// the event concerns into `wake_list` (moved, not woken nor dropped: the caller wakes them
    /// after releasing its locks).
    /// Returns which waiters it took, for `MINIRT_TRACE`.
    fn set_readiness(&self, ready: Ready, extra: usize, wake_list: &mut Vec<Waker>) -> Woke {
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
    fn poll_ready(
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
    fn poll_ready_slow(
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

    #[inline]
    fn check(&self, mask: Ready) -> Option<io::Result<ReadyEvent>> {
        let word = self.readiness.load(Ordering::Acquire);
        if word & SHUTDOWN_BIT != 0 {
            return Some(Err(crate::runtime::RuntimeShutDown::error(
                "the minirt runtime that drove this I/O resource has shut down",
            )));
        }
        let ready = ready_of(word) & mask;
        (!ready.is_empty()).then_some(Ok(ReadyEvent { ready, tick: tick_of(word) }))
    }

    /// The cached readiness for `mask`, whether or not the runtime has shut down.
    #[inline]
    fn check_cached(&self, mask: Ready) -> Option<ReadyEvent> {
        let word = self.readiness.load(Ordering::Acquire);
        let ready = ready_of(word) & mask;
        (!ready.is_empty()).then_some(ReadyEvent { ready, tick: tick_of(word) })
    }

    /// Removes a future's waiter entry; its waker is returned so that it drops after the lock.
    fn remove_waiter(&self, key: usize) -> Option<Entry> {
        lock(&self.waiters).list.try_remove(key)
    }

    /// Marks `ready` without an event from epoll, leaving the tick alone (so an operation's
    /// `clear_readiness` on `EAGAIN` still applies); nothing after shutdown.
    fn assume_ready(&self, ready: Ready) {
        let _ = self.readiness.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
            (current & SHUTDOWN_BIT == 0).then_some(current | ready.0 as usize)
        });
    }

    /// Clears the bits of `event`, unless an event arrived after it was observed. Closed bits
    /// are sticky: a half that closed stays closed.
    fn clear_readiness(&self, event: ReadyEvent) {
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
fn store(slot: &mut Option<Waker>, waker: Waker) -> Option<Waker> {
    match slot {
        Some(old) if old.will_wake(&waker) => Some(waker),
        _ => slot.replace(waker),
    }
}
/// Which waiters one event woke (for the `MINIRT_TRACE` line; the wakers themselves are in
/// the caller's `wake_list`).
#[derive(Default)]
struct Woke {
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

/// A registered slot: the generation its token carries, the fd (for `MINIRT_TRACE` only: an
/// event names its slot by token, never by fd), and the shared state.
struct Slot {
    generation: u32,
    fd: RawFd,
    io: Arc<ScheduledIo>,
}

/// The epoll instance, the eventfd that interrupts it, and every registration.
pub(crate) struct Reactor {
    epoll: Epoll,
    wakeup: EventFd,
    slots: Mutex<Slots>,
    is_shutdown: AtomicBool,
    /// Wake-up events seen since the eventfd was last drained (see `WAKEUPS_PER_DRAIN`).
    /// Only the polling thread touches it; atomic because the reactor is shared.
    undrained_wakeups: AtomicU32,
}

struct Slots {
    slab: Slab<Slot>,
    next_generation: u32,
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Reactor> {
        let epoll = Epoll::new()?;
        let wakeup = EventFd::new()?;
        epoll.add(
            std::os::fd::AsRawFd::as_raw_fd(&wakeup),
            (libc::EPOLLIN | libc::EPOLLET) as u32,
            WAKEUP_TOKEN,
        )?;
        Ok(Reactor {
            epoll,
            wakeup,
            slots: Mutex::new(Slots { slab: Slab::new(), next_generation: 0 }),
            is_shutdown: AtomicBool::new(false),
            undrained_wakeups: AtomicU32::new(0),
        })
    }

    /// Makes a thread parked in `poll` return. Called only by a thread that saw the loop parked.
    pub(crate) fn unpark(&self) {
        trace!("eventfd write: wake the thread parked in epoll_wait");
        self.wakeup.notify();
    }

    /// Waits for events (up to `timeout`, `None` = until one arrives) and adds the wakers of
    /// the tasks they concern to `wake_list`, for the caller to wake (with the due timers'
    /// wakers, through `wake::wake_all`) once it holds no lock and can contain a waker that
    /// panics. `events` and `wake_list` are buffers owned by the caller and reused every call.
    pub(crate) fn poll(
        &self,
        events: &mut Vec<libc::epoll_event>,
        wake_list: &mut Vec<Waker>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.epoll.wait(events, timeout)?;
        trace!("epoll_wait (timeout {timeout:?}): {} event(s)", events.len());
        {
            let slots = lock(&self.slots);
            for event in events.iter() {
                // Copy out of the (packed) struct before use.
                let (token, bits) = (event.u64, event.events);
                if token == WAKEUP_TOKEN {
                    trace!("  eventfd: woken by another thread");
                    self.note_wakeup();
                    continue;
                }
                slots.dispatch(token, bits, wake_list);
            }
        }
        Ok(())
    }

    /// Counts a wake-up event, and resets the eventfd's counter once every `WAKEUPS_PER_DRAIN`.
    fn note_wakeup(&self) {
        let seen = self.undrained_wakeups.load(Ordering::Relaxed) + 1;
        if seen >= WAKEUPS_PER_DRAIN {
            self.wakeup.drain();
            self.undrained_wakeups.store(0, Ordering::Relaxed);
        } else {
            self.undrained_wakeups.store(seen, Ordering::Relaxed);
        }
    }

    /// Fails every pending and future operation on the remaining registrations with an error,
    /// instead of letting them wait forever for a loop that no longer runs.
    pub(crate) fn shutdown(&self) {
        let mut wake_list = Vec::new();
        {
            let slots = lock(&self.slots);
            // Set under the lock a registration takes to check it and insert its slot: either
            // the registration is refused, or its slot is in the slab walked here.
            self.is_shutdown.store(true, Ordering::Release);
            for (_, slot) in slots.slab.iter() {
                slot.io.set_readiness(Ready::EMPTY, SHUTDOWN_BIT, &mut wake_list);
            }
        }
        // A waker that panics must not keep the rest from learning of the shutdown, nor stop
        // the runtime's drop halfway; the panic hook has reported it.
        drop(crate::wake::wake_all(&mut wake_list));
    }
}

impl Slots {
    /// Applies one event to the slot its token names, if that slot still holds the same
    /// registration (same generation).
    fn dispatch(&self, token: u64, bits: u32, wake_list: &mut Vec<Waker>) {
        let index = (token & u64::from(u32::MAX)) as usize;
        let generation = (token >> 32) as u32;
        let ready = Ready::from_epoll(bits);
        match self.slab.get(index) {
            Some(slot) if slot.generation == generation => {
                let woke = slot.io.set_readiness(ready, 0, wake_list);
                trace!("  token {token:#018x} -> fd {}: {}, {woke}", slot.fd, EpollBits(bits));
            }
            _ => trace!("  token {token:#018x}: stale (slot closed or reused), woke nobody"),
        }
    }

    fn insert(&mut self, fd: RawFd) -> (u64, Arc<ScheduledIo>) {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let io = Arc::new(ScheduledIo::new());
        let index = self.slab.insert(Slot { generation, fd, io: io.clone() });
        ((u64::from(generation) << 32) | index as u64, io)
    }
}

/// An fd registered with the reactor of the current runtime, and its readiness.
///
/// The registration does not own the fd: its owner must drop the `Registration` (which
/// removes the fd from epoll) before closing the fd.
pub(crate) struct Registration {
    reactor: Arc<Reactor>,
    io: Arc<ScheduledIo>,
    token: u64,
    fd: RawFd,
}

impl Registration {
    /// Registers `fd` with the reactor of the runtime this thread is in, for `interest`.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub(crate) fn new(fd: RawFd, interest: Interest) -> io::Result<Registration> {
        let reactor = crate::context::current_reactor();
        Registration::with_reactor(reactor, fd, interest)
    }

    fn with_reactor(
        reactor: Arc<Reactor>,
        fd: RawFd,
        interest: Interest,
    ) -> io::Result<Registration> {
        let (token, io) = {
            let mut slots = lock(&reactor.slots);
            // Checked under the slots' lock, which `shutdown` holds while it sets the flag and
            // walks the slots: a registration checked before the flag was set is in the slab
            // by the time shutdown walks it, so it is failed there and waits for nothing.
            if reactor.is_shutdown.load(Ordering::Acquire) {
                return Err(crate::runtime::RuntimeShutDown::error(
                    "cannot register an fd: the minirt runtime has shut down",
                ));
            }
            slots.insert(fd)
        };
        let events = if interest == Interest::READABLE.add(Interest::WRITABLE) {
            sys::INTEREST_ALL
        } else {
            interest.epoll_events()
        };
        if let Err(e) = reactor.epoll.add(fd, events, token) {
            let slot = lock(&reactor.slots).slab.remove((token & u64::from(u32::MAX)) as usize);
            drop(slot);
            return Err(e);
        }
        Ok(Registration { reactor, io, token, fd })
    }

    /// `Ready` once `interest` is ready; otherwise stores the task's waker in the poll API's
    /// slot(s) for that interest (one per direction: a later poller of the same direction
    /// replaces the earlier one) and returns `Pending`.
    ///
    /// Readiness found spends a unit of the task's budget (so a task whose sockets are always
    /// ready still gives the others a turn); readiness not found gives it back, as tokio's
    /// `poll_read_ready` does.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<ReadyEvent>> {
        if crate::context::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let poll = self.io.poll_ready(cx, interest, WaiterKey::Poll);
        if poll.is_pending() {
            crate::context::refund_budget();
        }
        poll
    }

    /// A place of its own among this registration's waiters, for one future.
    pub(crate) fn waiter(&self) -> Waiter<'_> {
        Waiter { registration: self, key: None, io: None }
    }

    /// Marks `ready` as if epoll had reported it (see [`crate::io::AsyncFd::assume_ready`]).
    pub(crate) fn assume_ready(&self, ready: Ready) {
        self.io.assume_ready(ready);
    }

    /// Forgets readiness that turned out stale (the syscall said `EAGAIN`).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Runs `op` when `interest` is ready, until it stops returning `WouldBlock`: the
    /// try-syscall / clear-on-EAGAIN / wait loop every non-blocking operation follows.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        poll_io_with(self, |cx| self.io.poll_ready(cx, interest, WaiterKey::Poll), cx, op)
    }

    /// Runs `op` once if the cached readiness says `interest` is ready, and `WouldBlock`
    /// without a syscall otherwise. Never waits, never stores a waker.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        // As tokio's: the cached readiness alone decides, also once the runtime has shut down
        // (data already known to be there is still read; the next wait reports the shutdown).
        let Some(event) = self.io.check_cached(interest.mask()) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let result = op();
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(event);
        }
        result
    }
}

/// The loop of `poll_io`, for either kind of waiter (`ready` polls readiness). An operation
/// that gets past `WouldBlock` spends a unit of the task's budget (tokio's `async_io`), so a
/// task whose socket always has data still yields; one that finds the readiness stale gets
/// its unit back.
fn poll_io_with<R>(
    registration: &Registration,
    mut ready: impl FnMut(&mut Context<'_>) -> Poll<io::Result<ReadyEvent>>,
    cx: &mut Context<'_>,
    mut op: impl FnMut() -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        let event = match ready(cx) {
            Poll::Ready(Ok(event)) => event,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        if crate::context::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                crate::context::refund_budget();
                registration.clear_readiness(event);
            }
            result => return Poll::Ready(result),
        }
    }
}

/// One future's place among a registration's waiters (see the module docs, "Waiters").
///
/// The entry is created the first time the future has to wait, reused by every later wait
/// of the same future, and removed when the `Waiter` drops (the future completed or was
/// cancelled), so any number of futures can wait on one registration and a cancelled one
/// leaves nothing behind.
pub(crate) struct Waiter<'a> {
    registration: &'a Registration,
    key: Option<usize>,
    /// The registration's state, held from the first wait on, so that `drop` needs nothing
    /// borrowed: it stays sound even if the future holding this waiter is dropped somewhere
    /// other than where it was polled.
    io: Option<Arc<ScheduledIo>>,
}

impl Waiter<'_> {
    /// `Ready` once `interest` is ready; otherwise stores the task's waker in this waiter's
    /// own entry and returns `Pending`. Spends no budget: waiting for readiness is not
    /// progress (tokio's `readable`/`writable`/`ready` do not spend it either); the operation
    /// that follows does.
    pub(crate) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<ReadyEvent>> {
        let poll = self.registration.io.poll_ready(cx, interest, WaiterKey::Entry(&mut self.key));
        if self.key.is_some() && self.io.is_none() {
            self.io = Some(self.registration.io.clone());
        }
        poll
    }

    /// [`Registration::poll_io`], waiting in this waiter's own entry.
    pub(crate) fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let registration = self.registration;
        poll_io_with(registration, |cx| self.poll_ready(cx, interest), cx, op)
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let (Some(key), Some(io)) = (self.key.take(), self.io.take()) {
            // The entry (and its waker) comes out of the lock before it drops.
            let entry = io.remove_waiter(key);
            drop(entry);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // ENOENT/EBADF here mean the owner already closed the fd (a bug in the owner, or a
        // user's `AsyncFd` inner type closing early); the kernel dropped it from epoll then.
        let _ = self.reactor.epoll.delete(self.fd);
        let index = (self.token & u64::from(u32::MAX)) as usize;
        let removed = {
            let mut slots = lock(&self.reactor.slots);
            if slots.slab.get(index).is_some_and(|slot| Arc::ptr_eq(&slot.io, &self.io)) {
                Some(slots.slab.remove(index))
            } else {
                None
            }
        };
        // Dropped after the lock (our own `io` keeps the state alive anyway; this keeps the
        // rule simple: nothing that holds wakers is dropped under a reactor lock).
        drop(removed);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("fd", &self.fd).field("token", &self.token).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    const RW: Interest = Interest::READABLE.add(Interest::WRITABLE);
    const READ: Interest = Interest::READABLE;
    const WRITE: Interest = Interest::WRITABLE;

    fn reader() -> WaiterKey<'static> {
        WaiterKey::Poll
    }

    fn slot(_interest: Interest) -> WaiterKey<'static> {
        WaiterKey::Poll
    }

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    fn pipe() -> (std::fs::File, std::fs::File) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two fds pipe2 writes.
        let ret = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        assert_eq!(ret, 0, "pipe2: {}", io::Error::last_os_error());
        use std::os::fd::FromRawFd;
        // SAFETY: both fds were just created and are owned by nothing else.
        unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) }
    }

    /// Registration A takes a slot, is dropped, and B reuses the slot. An event carrying A's
    /// token (as one already read from epoll_wait would) must not wake B.
    #[test]
    fn stale_event_for_reused_slot_wakes_nobody() {
        use std::os::fd::AsRawFd;
        let reactor = Arc::new(Reactor::new().expect("reactor"));
        let (read_a, _write_a) = pipe();
        let (read_b, _write_b) = pipe();

        let a = Registration::with_reactor(reactor.clone(), read_a.as_raw_fd(), RW).expect("reg a");
        let stale_token = a.token;
        drop(a);
        let b = Registration::with_reactor(reactor.clone(), read_b.as_raw_fd(), RW).expect("reg b");
        assert_eq!(b.token & 0xffff_ffff, stale_token & 0xffff_ffff, "slot reused");
        assert_ne!(b.token, stale_token, "generation differs");

        // Make B wait for readability.
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(b.poll_ready(&mut cx, Interest::READABLE).is_pending(), "nothing known yet");

        let mut wake_list = Vec::new();
        lock(&reactor.slots).dispatch(stale_token, libc::EPOLLIN as u32, &mut wake_list);
        assert!(wake_list.is_empty(), "stale token must wake nobody");
        assert!(b.poll_ready(&mut cx, Interest::READABLE).is_pending(), "readiness untouched");

        // The live token does wake B.
        lock(&reactor.slots).dispatch(b.token, libc::EPOLLIN as u32, &mut wake_list);
        assert_eq!(wake_list.len(), 1);
        wake_list.drain(..).for_each(Waker::wake);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }

    /// Every `unpark` must make the next `epoll_wait` return, even though the eventfd is not
    /// read in between (edge-triggered epoll reports each write as a new edge).
    #[test]
    fn every_unpark_is_seen_without_draining_the_eventfd() {
        let reactor = Reactor::new().expect("reactor");
        let mut events = Vec::with_capacity(8);
        for round in 0..3 {
            reactor.unpark();
            // Far above what a wake-up needs: if an unpark were lost this would time out.
            reactor.epoll.wait(&mut events, Some(Duration::from_secs(10))).expect("epoll_wait");
            let tokens: Vec<u64> = events.iter().map(|event| event.u64).collect();
            assert_eq!(tokens, [WAKEUP_TOKEN], "round {round}: the wake-up is reported");
        }
        // With nothing written since, nothing is reported.
        reactor.epoll.wait(&mut events, Some(Duration::ZERO)).expect("epoll_wait");
        assert!(events.is_empty(), "no edge without a write");
    }

    /// An event between observing readiness and clearing it must survive the clear.
    #[test]
    fn clear_readiness_keeps_an_event_that_arrived_meanwhile() {
        let io = ScheduledIo::new();
        let (_counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(&mut cx, READ, reader()).is_pending(), "nothing known yet");
        io.assume_ready(Ready::READABLE);
        let Poll::Ready(Ok(observed)) = io.poll_ready(&mut cx, READ, reader()) else {
            panic!("assumed readable");
        };
        io.set_readiness(Ready::READABLE, 0, &mut Vec::new()); // the event lands
        io.clear_readiness(observed); // the EAGAIN of the older observation
        assert!(io.poll_ready(&mut cx, READ, reader()).is_ready());

        let Poll::Ready(Ok(current)) = io.poll_ready(&mut cx, READ, reader()) else {
            panic!("still readable");
        };
        io.clear_readiness(current);
        assert!(io.poll_ready(&mut cx, READ, reader()).is_pending());
    }

    #[test]
    fn closed_bits_are_sticky_and_hangups_wake_both_directions() {
        let io = ScheduledIo::new();
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        for direction in [READ, WRITE] {
            assert!(io.poll_ready(&mut cx, direction, slot(direction)).is_pending());
        }
        let mut wake_list = Vec::new();
        io.set_readiness(Ready::from_epoll(libc::EPOLLERR as u32), 0, &mut wake_list);
        assert_eq!(wake_list.len(), 2, "reader and writer both woken");
        wake_list.drain(..).for_each(Waker::wake);
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);

        // ERROR is not sticky: an EAGAIN proves no error is pending any more, so clearing it
        // through one direction clears it for both. Then both directions wait again.
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, READ, reader()) else {
            panic!("the error is ready");
        };
        assert!(event.ready.is_error());
        io.clear_readiness(event);
        for direction in [READ, WRITE] {
            assert!(io.poll_ready(&mut cx, direction, slot(direction)).is_pending());
        }
        io.set_readiness(Ready::from_epoll(libc::EPOLLRDHUP as u32), 0, &mut wake_list);
        assert_eq!(wake_list.len(), 2, "a hang-up wakes the writer too");
        wake_list.clear();
        assert!(
            io.poll_ready(&mut cx, WRITE, slot(WRITE)).is_pending(),
            "but the writer is not told the socket is writable"
        );
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, READ, reader()) else {
            panic!("read closed is ready");
        };
        io.clear_readiness(event);
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, READ, reader()) else {
            panic!("read closed stays set");
        };
        assert!(event.ready.is_read_closed());
    }

    /// Every waiting future gets its own entry; an event wakes each entry it concerns; a
    /// dropped waiter (a cancelled future) removes its entry, so nothing leaks.
    #[test]
    fn waiter_entries_are_all_woken_and_freed_on_drop() {
        use std::os::fd::AsRawFd;
        let reactor = Arc::new(Reactor::new().expect("reactor"));
        let (read, _write) = pipe();
        let reg = Registration::with_reactor(reactor.clone(), read.as_raw_fd(), RW).expect("reg");
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        reg.assume_ready(Ready::WRITABLE);

        let mut readers: Vec<Waiter<'_>> = (0..10).map(|_| reg.waiter()).collect();
        let mut writer = reg.waiter();
        for waiter in &mut readers {
            assert!(waiter.poll_ready(&mut cx, READ).is_pending());
        }
        // A writer that is not waiting (writable at once) takes no entry.
        assert!(writer.poll_ready(&mut cx, WRITE).is_ready());
        assert_eq!(lock(&reg.io.waiters).list.len(), 10);
        // Re-polling with the same waker reuses the entry.
        assert!(readers[0].poll_ready(&mut cx, READ).is_pending());
        assert_eq!(lock(&reg.io.waiters).list.len(), 10);

        readers.truncate(4); // six futures cancelled
        assert_eq!(lock(&reg.io.waiters).list.len(), 4);

        let mut wake_list = Vec::new();
        lock(&reactor.slots).dispatch(reg.token, libc::EPOLLIN as u32, &mut wake_list);
        assert_eq!(wake_list.len(), 4, "every remaining reader, no writer");
        wake_list.drain(..).for_each(Waker::wake);
        assert_eq!(counter.0.load(Ordering::SeqCst), 4);
        drop(readers);
        drop(writer);
        assert!(lock(&reg.io.waiters).list.is_empty(), "no entry outlives its waiter");
    }
}
