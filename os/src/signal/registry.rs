//! Turning the handler's flags into something every listener sees: one generation counter per
//! signal number, and the wakers of the listeners waiting for each.
//!
//! The handler only sets `PENDING[sig]` and writes a byte (see `sys::signal`). Whichever listener
//! is polled after its fd for the pipe turned readable calls [`dispatch`]: under one lock, it
//! drains the pipe, swaps each pending flag back to `false` and bumps that signal's generation;
//! then it wakes every listener registered as waiting for a signal it bumped, in any runtime.
//! A listener remembers the generation it last reported; a larger one means "the signal came".
//!
//! Why the waiter list, when every listener has its own epoll registration of the pipe: epoll
//! reports an fd's state *when `epoll_wait` runs*, not the edge that queued it. Once one
//! listener has drained the pipe, the others' queued events find it empty and are dropped. So
//! the drainer wakes the others itself. A listener registers its waker *before* it checks the
//! generation, so a bump either happens before the check (seen) or wakes the registered waker.
//!
//! Wakers are cloned before and woken or dropped after the `WAITERS` lock, never under it. The
//! handler takes no lock.

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use crate::sys;
use crate::sys::signal::NSIG;

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);

/// How many times each signal has been dispatched (several arrivals between two dispatches
/// count once: signals coalesce, as in the kernel and in tokio).
static GENERATION: [AtomicU64; NSIG] = [ZERO; NSIG];

/// Serialises draining and publishing, so one dispatch's drain-take-bump is never interleaved
/// with another's.
static DISPATCH: Mutex<()> = Mutex::new(());

/// Listeners waiting for a signal: `(signal slot, listener id, waker)`.
static WAITERS: Mutex<Vec<(usize, u64, Waker)>> = Mutex::new(Vec::new());

/// Ids for listeners.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing under these locks can be left half-done by a panic.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A new listener id.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The current generation of signal `slot`.
pub(crate) fn generation(slot: usize) -> u64 {
    GENERATION[slot].load(Ordering::SeqCst)
}

/// Records that listener `id` waits for signal `slot` and is woken through `waker`.
pub(crate) fn register(slot: usize, id: u64, waker: &Waker) {
    let fresh = waker.clone();
    let stale = {
        let mut waiters = lock(&WAITERS);
        match waiters.iter_mut().find(|(_, waiter, _)| *waiter == id) {
            Some((_, _, current)) if current.will_wake(&fresh) => Some(fresh),
            Some((_, _, current)) => Some(std::mem::replace(current, fresh)),
            None => {
                waiters.push((slot, id, fresh));
                None
            }
        }
    };
    drop(stale);
}

/// Forgets listener `id` (it was dropped).
pub(crate) fn deregister(id: u64) {
    let removed = {
        let mut waiters = lock(&WAITERS);
        waiters.iter().position(|(_, waiter, _)| *waiter == id).map(|i| waiters.swap_remove(i))
    };
    drop(removed);
}

/// Drains the self-pipe through `read`, publishes every pending signal as a new generation,
/// and wakes the listeners waiting for those signals.
pub(crate) fn dispatch(read: BorrowedFd<'_>) {
    let mut bumped = [false; NSIG];
    {
        let _dispatch = lock(&DISPATCH);
        sys::signal::drain(read);
        for (slot, generation) in GENERATION.iter().enumerate().skip(1) {
            if sys::signal::take_pending(slot) {
                generation.fetch_add(1, Ordering::SeqCst);
                bumped[slot] = true;
            }
        }
    }
    if !bumped.contains(&true) {
        return;
    }
    let woken: Vec<Waker> = {
        let mut waiters = lock(&WAITERS);
        let mut woken = Vec::new();
        let mut i = 0;
        while i < waiters.len() {
            if bumped[waiters[i].0] {
                woken.push(waiters.swap_remove(i).2);
            } else {
                i += 1;
            }
        }
        woken
    };
    for waker in woken {
        waker.wake();
    }
}
