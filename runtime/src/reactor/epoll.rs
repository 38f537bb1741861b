//! The reactor proper: the epoll instance, the eventfd that interrupts it, and the slab of
//! registrations; [`Reactor::poll`] turns `epoll_wait`'s events into the wakers of the waiters
//! they concern (see the module docs of `reactor`).

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use slab::Slab;

use crate::loom::lock;
use crate::sys::{Epoll, EventFd};
use crate::trace::{trace, EpollBits};

use super::scheduled_io::*;
use super::Ready;

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

/// A registered slot: the generation its token carries, the fd (for `MINIRT_TRACE` only: an
/// event names its slot by token, never by fd), and the shared state.
pub(super) struct Slot {
    pub(super) generation: u32,
    pub(super) fd: RawFd,
    pub(super) io: Arc<ScheduledIo>,
}

/// The epoll instance, the eventfd that interrupts it, and every registration.
pub(crate) struct Reactor {
    pub(super) epoll: Epoll,
    pub(super) wakeup: EventFd,
    pub(super) slots: Mutex<Slots>,
    pub(super) is_shutdown: AtomicBool,
    /// Wake-up events seen since the eventfd was last drained (see `WAKEUPS_PER_DRAIN`).
    /// Only the polling thread touches it; atomic because the reactor is shared.
    pub(super) undrained_wakeups: AtomicU32,
}

pub(super) struct Slots {
    pub(super) slab: Slab<Slot>,
    pub(super) next_generation: u32,
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
    pub(super) fn note_wakeup(&self) {
        let seen = self.undrained_wakeups.load(Ordering::Relaxed) + 1;
        if seen >= WAKEUPS_PER_DRAIN {
            self.wakeup.drain();
            self.undrained_wakeups.store(0, Ordering::Relaxed);
        } else {
            self.undrained_wakeups.store(seen, Ordering::Relaxed);
        }
    }

    /// For the console: each registration's fd, cached readiness and waiting wakers (with
    /// whether each waits to read, to write), under the reactor's locks, so `visit` must run
    /// no foreign code (it compares wakers with `will_wake`).
    pub(crate) fn inspect(&self, mut visit: impl FnMut(RawFd, Ready, &[(&Waker, bool, bool)])) {
        let slots = lock(&self.slots);
        for (_, slot) in slots.slab.iter() {
            slot.io.inspect(|ready, wakers| visit(slot.fd, ready, wakers));
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
    pub(super) fn dispatch(&self, token: u64, bits: u32, wake_list: &mut Vec<Waker>) {
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

    pub(super) fn insert(&mut self, fd: RawFd) -> (u64, Arc<ScheduledIo>) {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let io = Arc::new(ScheduledIo::new());
        let index = self.slab.insert(Slot { generation, fd, io: io.clone() });
        ((u64::from(generation) << 32) | index as u64, io)
    }
}

#[cfg(test)]
mod tests {
    use super::super::registration::{Registration, Waiter};
    use super::super::Interest;
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Poll, Wake};

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

        let a = Registration::new(reactor.clone(), read_a.as_raw_fd(), RW).expect("reg a");
        let stale_token = a.token;
        drop(a);
        let b = Registration::new(reactor.clone(), read_b.as_raw_fd(), RW).expect("reg b");
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
        let reg = Registration::new(reactor.clone(), read.as_raw_fd(), RW).expect("reg");
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
