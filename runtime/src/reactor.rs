//! The reactor: turns epoll readiness events into woken tasks.
//!
//! # How data flows through it
//!
//! ```text
//!  Registration::new(fd) ──► slab slot {generation, Arc<ScheduledIo>}
//!                            epoll_ctl(ADD, fd, IN|OUT|RDHUP|ET, token = generation<<32 | slot)
//!
//!  an operation (read, write, accept, ...)
//!    1. poll_ready(direction)  ── readiness bit set? ──► try the syscall
//!    2. syscall says EAGAIN    ──► clear_readiness(event): only if the tick is unchanged
//!    3. poll_ready again       ──► bit clear: store the task's waker, return Pending
//!
//!  the scheduler's loop calls Reactor::poll
//!    epoll_wait ──► for each event: look the token up in the slab, check its generation,
//!                   OR the new bits into the slot's readiness (tick + 1), take its wakers
//!               ──► wake them (outside every lock): the tasks go back on the run queue
//! ```
//!
//! Each fd is registered exactly once, edge-triggered, for both directions. Edge-triggered means
//! the kernel reports a *change* of readiness once, so the reactor has to remember it: every
//! registration keeps a cached readiness word (`ScheduledIo::readiness`). The word starts as
//! "readable and writable", so the first operation simply tries the syscall; a readiness bit is
//! cleared only when a syscall returns `EAGAIN`, and never re-armed with `epoll_ctl`.
//!
//! The *tick* in the readiness word closes a race: an event may arrive between a syscall
//! returning `EAGAIN` and the clearing of the bit. Every event bumps the tick, and
//! `clear_readiness` only clears if the tick is the one the operation observed before its
//! syscall, so a fresh event is never thrown away.
//!
//! The *generation* in the epoll token makes stale events harmless: when a slot is freed and
//! reused for a new fd, an event still carrying the old token finds a different generation and
//! wakes nobody.

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
    /// Every readiness bit.
    pub const ALL: Ready = Ready(0b1_1111);

    /// Readiness that lets a read make progress, successful or not.
    const READ_SIDE: Ready = Ready(Self::READABLE.0 | Self::READ_CLOSED.0 | Self::ERROR.0);
    /// Readiness that lets a write make progress, successful or not.
    const WRITE_SIDE: Ready = Ready(Self::WRITABLE.0 | Self::WRITE_CLOSED.0 | Self::ERROR.0);
    /// Bits that stay set once seen: a closed half does not reopen.
    const CLOSED: Ready = Ready(Self::READ_CLOSED.0 | Self::WRITE_CLOSED.0);

    /// No readiness at all.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Reading will not block.
    pub fn is_readable(self) -> bool {
        self.contains(Self::READABLE)
    }
    /// Writing will not block.
    pub fn is_writable(self) -> bool {
        self.contains(Self::WRITABLE)
    }
    /// The read half is closed: reads return 0 (EOF) or an error.
    pub fn is_read_closed(self) -> bool {
        self.contains(Self::READ_CLOSED)
    }
    /// The write half is closed: writes fail.
    pub fn is_write_closed(self) -> bool {
        self.contains(Self::WRITE_CLOSED)
    }
    /// An error is pending; the next operation returns it.
    pub fn is_error(self) -> bool {
        self.contains(Self::ERROR)
    }
    fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// Translates an epoll event mask. `EPOLLHUP` closes both halves; `EPOLLERR` is reported as
    /// `ERROR`, which wakes both directions (see `Direction::mask`).
    fn from_epoll(events: u32) -> Ready {
        let has = |flag: libc::c_int| events & flag as u32 != 0;
        let mut ready = Ready::EMPTY;
        if has(libc::EPOLLIN) || has(libc::EPOLLPRI) {
            ready = ready | Ready::READABLE;
        }
        if has(libc::EPOLLOUT) {
            ready = ready | Ready::WRITABLE;
        }
        if has(libc::EPOLLRDHUP) {
            ready = ready | Ready::READ_CLOSED;
        }
        if has(libc::EPOLLHUP) {
            ready = ready | Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        }
        if has(libc::EPOLLERR) {
            ready = ready | Ready::ERROR;
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
            .finish()
    }
}

/// Which directions an operation waits for. Tokio's `Interest`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Wait until the resource is readable (or its read half closed, or it errored).
    pub const READABLE: Interest = Interest(1);
    /// Wait until the resource is writable (or its write half closed, or it errored).
    pub const WRITABLE: Interest = Interest(2);

    /// The interest includes reading.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }
    /// The interest includes writing.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
    /// Both interests: `Interest::READABLE.add(Interest::WRITABLE)`.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// The readiness bits that satisfy this interest.
    fn mask(self) -> Ready {
        let mut mask = Ready::EMPTY;
        if self.is_readable() {
            mask = mask | Direction::Read.mask();
        }
        if self.is_writable() {
            mask = mask | Direction::Write.mask();
        }
        mask
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            _ => f.write_str("WRITABLE"),
        }
    }
}

/// One of the two directions a registration keeps a waker for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready::READ_SIDE,
            Direction::Write => Ready::WRITE_SIDE,
        }
    }
}

/// A snapshot of a registration's readiness, taken by `poll_ready`: what was ready, and the tick
/// at which it was observed (for `clear_readiness`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) ready: Ready,
    tick: usize,
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
    /// One waiting task per direction, so a reader and a writer task can share a socket.
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Waiters {
    fn slot(&mut self, direction: Direction) -> &mut Option<Waker> {
        match direction {
            Direction::Read => &mut self.reader,
            Direction::Write => &mut self.writer,
        }
    }
}

/// A std `Mutex` poisons when a thread panics while holding it. Nothing in the reactor can
/// panic while holding one (it only moves `Waker`s), so a poisoned lock still holds consistent
/// data and is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ScheduledIo {
    fn new() -> ScheduledIo {
        ScheduledIo {
            // Optimistic start: the first operation tries its syscall, which tells the truth.
            readiness: AtomicUsize::new((Ready::READABLE | Ready::WRITABLE).0 as usize),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Records an event: ORs in `ready`, bumps the tick, and moves the wakers of the woken
    /// directions into `wake_list`.
    fn set_readiness(&self, ready: Ready, extra: usize, wake_list: &mut Vec<Waker>) {
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
        // the same lock after storing its waker, so either it sees them or we see its waker.
        let mut waiters = lock(&self.waiters);
        let shutdown = extra & SHUTDOWN_BIT != 0;
        if shutdown || !(ready & Direction::Read.mask()).is_empty() {
            wake_list.extend(waiters.reader.take());
        }
        // Any hang-up (RDHUP too) also wakes the writer: it re-checks the socket, and a send
        // to a peer that went away reports EPIPE/ECONNRESET instead of waiting for space.
        if shutdown || !(ready & (Direction::Write.mask() | Ready::READ_CLOSED)).is_empty() {
            wake_list.extend(waiters.writer.take());
        }
    }

    /// `Ready(event)` if any bit in `mask` is set; otherwise stores the waker in each direction
    /// of `directions` and returns `Pending`.
    fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        mask: Ready,
        directions: &[Direction],
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(result) = self.check(mask) {
            return Poll::Ready(result);
        }
        let mut waiters = lock(&self.waiters);
        // Re-check under the lock: an event may have landed since the check above.
        if let Some(result) = self.check(mask) {
            return Poll::Ready(result);
        }
        for &direction in directions {
            let slot = waiters.slot(direction);
            match slot {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }

    fn check(&self, mask: Ready) -> Option<io::Result<ReadyEvent>> {
        let word = self.readiness.load(Ordering::Acquire);
        if word & SHUTDOWN_BIT != 0 {
            return Some(Err(io::Error::other(
                "the minirt runtime that drove this I/O resource has shut down",
            )));
        }
        let ready = ready_of(word) & mask;
        (!ready.is_empty()).then_some(Ok(ReadyEvent { ready, tick: tick_of(word) }))
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

/// A registered slot: the generation its token carries, and the shared state.
struct Slot {
    generation: u32,
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
        self.wakeup.notify();
    }

    /// Waits for events (up to `timeout`, `None` = until one arrives) and wakes the tasks they
    /// concern. `events` and `wake_list` are buffers owned by the caller and reused every call.
    pub(crate) fn poll(
        &self,
        events: &mut Vec<libc::epoll_event>,
        wake_list: &mut Vec<Waker>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.epoll.wait(events, timeout)?;
        {
            let slots = lock(&self.slots);
            for event in events.iter() {
                // Copy out of the (packed) struct before use.
                let (token, bits) = (event.u64, event.events);
                if token == WAKEUP_TOKEN {
                    self.note_wakeup();
                    continue;
                }
                slots.dispatch(token, Ready::from_epoll(bits), wake_list);
            }
        }
        // Wake outside the lock: a waker may run arbitrary code, even drop a registration.
        for waker in wake_list.drain(..) {
            waker.wake();
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
        self.is_shutdown.store(true, Ordering::Release);
        let mut wake_list = Vec::new();
        for (_, slot) in lock(&self.slots).slab.iter() {
            slot.io.set_readiness(Ready::EMPTY, SHUTDOWN_BIT, &mut wake_list);
        }
        wake_list.into_iter().for_each(Waker::wake);
    }
}

impl Slots {
    /// Applies one event to the slot its token names, if that slot still holds the same
    /// registration (same generation).
    fn dispatch(&self, token: u64, ready: Ready, wake_list: &mut Vec<Waker>) {
        let index = (token & u64::from(u32::MAX)) as usize;
        let generation = (token >> 32) as u32;
        if let Some(slot) = self.slab.get(index) {
            if slot.generation == generation {
                slot.io.set_readiness(ready, 0, wake_list);
            }
        }
    }

    fn insert(&mut self) -> (u64, Arc<ScheduledIo>) {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let io = Arc::new(ScheduledIo::new());
        let index = self.slab.insert(Slot { generation, io: io.clone() });
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
    /// Registers `fd` with the reactor of the runtime this thread is in.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub(crate) fn new(fd: RawFd) -> io::Result<Registration> {
        let reactor = crate::context::current_reactor();
        Registration::with_reactor(reactor, fd)
    }

    fn with_reactor(reactor: Arc<Reactor>, fd: RawFd) -> io::Result<Registration> {
        if reactor.is_shutdown.load(Ordering::Acquire) {
            return Err(io::Error::other(
                "cannot register an fd: the minirt runtime has shut down",
            ));
        }
        let (token, io) = lock(&reactor.slots).insert();
        if let Err(e) = reactor.epoll.add(fd, sys::INTEREST_ALL, token) {
            lock(&reactor.slots).slab.remove((token & u64::from(u32::MAX)) as usize);
            return Err(e);
        }
        Ok(Registration { reactor, io, token, fd })
    }

    /// `Ready` once any direction of `interest` is ready; otherwise stores the task's waker for
    /// each of those directions and returns `Pending`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<ReadyEvent>> {
        // Every wait for readiness spends the task's budget, so a task whose sockets are always
        // ready still gives the others a turn.
        if crate::context::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let directions: &[Direction] = match (interest.is_readable(), interest.is_writable()) {
            (true, true) => &[Direction::Read, Direction::Write],
            (true, false) => &[Direction::Read],
            _ => &[Direction::Write],
        };
        self.io.poll_ready(cx, interest.mask(), directions)
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
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = match self.poll_ready(cx, interest) {
                Poll::Ready(Ok(event)) => event,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                result => return Poll::Ready(result),
            }
        }
    }

    /// Runs `op` once if the cached readiness says `interest` is ready, and `WouldBlock`
    /// without a syscall otherwise. Never waits, never stores a waker.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let event = match self.io.check(interest.mask()) {
            Some(Ok(event)) => event,
            Some(Err(e)) => return Err(e),
            None => return Err(io::ErrorKind::WouldBlock.into()),
        };
        let result = op();
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(event);
        }
        result
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // ENOENT/EBADF here mean the owner already closed the fd (a bug in the owner, or a
        // user's `AsyncFd` inner type closing early); the kernel dropped it from epoll then.
        let _ = self.reactor.epoll.delete(self.fd);
        let index = (self.token & u64::from(u32::MAX)) as usize;
        let mut slots = lock(&self.reactor.slots);
        if slots.slab.get(index).is_some_and(|slot| Arc::ptr_eq(&slot.io, &self.io)) {
            slots.slab.remove(index);
        }
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

        let a = Registration::with_reactor(reactor.clone(), read_a.as_raw_fd()).expect("reg a");
        let stale_token = a.token;
        drop(a);
        let b = Registration::with_reactor(reactor.clone(), read_b.as_raw_fd()).expect("reg b");
        assert_eq!(b.token & 0xffff_ffff, stale_token & 0xffff_ffff, "slot reused");
        assert_ne!(b.token, stale_token, "generation differs");

        // Make B wait for readability.
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let event = match b.poll_ready(&mut cx, Interest::READABLE) {
            Poll::Ready(Ok(event)) => event,
            other => panic!("fresh registration starts readable, got {other:?}"),
        };
        b.clear_readiness(event);
        assert!(b.poll_ready(&mut cx, Interest::READABLE).is_pending());

        let mut wake_list = Vec::new();
        lock(&reactor.slots).dispatch(stale_token, Ready::READABLE, &mut wake_list);
        assert!(wake_list.is_empty(), "stale token must wake nobody");
        assert!(b.poll_ready(&mut cx, Interest::READABLE).is_pending(), "readiness untouched");

        // The live token does wake B.
        lock(&reactor.slots).dispatch(b.token, Ready::READABLE, &mut wake_list);
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
        let mask = Direction::Read.mask();
        let Poll::Ready(Ok(observed)) = io.poll_ready(&mut cx, mask, &[Direction::Read]) else {
            panic!("starts readable");
        };
        io.set_readiness(Ready::READABLE, 0, &mut Vec::new()); // the event lands
        io.clear_readiness(observed); // the EAGAIN of the older observation
        assert!(io.poll_ready(&mut cx, mask, &[Direction::Read]).is_ready());

        let Poll::Ready(Ok(current)) = io.poll_ready(&mut cx, mask, &[Direction::Read]) else {
            panic!("still readable");
        };
        io.clear_readiness(current);
        assert!(io.poll_ready(&mut cx, mask, &[Direction::Read]).is_pending());
    }

    #[test]
    fn closed_bits_are_sticky_and_hangups_wake_both_directions() {
        let io = ScheduledIo::new();
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        for direction in [Direction::Read, Direction::Write] {
            let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, direction.mask(), &[direction])
            else {
                panic!("starts ready");
            };
            io.clear_readiness(event);
            assert!(io.poll_ready(&mut cx, direction.mask(), &[direction]).is_pending());
        }
        let mut wake_list = Vec::new();
        io.set_readiness(Ready::from_epoll(libc::EPOLLERR as u32), 0, &mut wake_list);
        assert_eq!(wake_list.len(), 2, "reader and writer both woken");
        wake_list.drain(..).for_each(Waker::wake);
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);

        // ERROR is not sticky: an EAGAIN proves no error is pending any more, so clearing it
        // through one direction clears it for both. Then both directions wait again.
        let Poll::Ready(Ok(event)) =
            io.poll_ready(&mut cx, Direction::Read.mask(), &[Direction::Read])
        else {
            panic!("the error is ready");
        };
        assert!(event.ready.is_error());
        io.clear_readiness(event);
        for direction in [Direction::Read, Direction::Write] {
            assert!(io.poll_ready(&mut cx, direction.mask(), &[direction]).is_pending());
        }
        io.set_readiness(Ready::from_epoll(libc::EPOLLRDHUP as u32), 0, &mut wake_list);
        assert_eq!(wake_list.len(), 2, "a hang-up wakes the writer too");
        wake_list.clear();
        assert!(
            io.poll_ready(&mut cx, Direction::Write.mask(), &[Direction::Write]).is_pending(),
            "but the writer is not told the socket is writable"
        );
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, Ready::READ_SIDE, &[Direction::Read])
        else {
            panic!("read closed is ready");
        };
        io.clear_readiness(event);
        let Poll::Ready(Ok(event)) = io.poll_ready(&mut cx, Ready::READ_SIDE, &[Direction::Read])
        else {
            panic!("read closed stays set");
        };
        assert!(event.ready.is_read_closed());
    }
}
