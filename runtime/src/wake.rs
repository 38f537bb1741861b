//! Waking a batch of wakers that minirt collected (the reactor's ready sockets, the timers
//! that are due) without letting one user waker that panics lose the rest of the batch or
//! kill the thread that drives the runtime.
//!
//! ```text
//!  reactor.poll / timers.fire_due ──► wake_list: [w1, w2 (panics), w3]
//!  wake_all(wake_list): w1.wake(); w2.wake() unwinds, caught; w3.wake(); the list is empty
//!                       ──► Some(w2's panic payload), for the caller to re-raise or drop
//! ```
//!
//! The panic hook has already printed the panic when it is caught here, so dropping the
//! payload does not hide it. The current-thread scheduler re-raises it out of `block_on` (the
//! caller drives the loop there, as tokio lets such a panic out of `block_on`); a
//! multi-thread worker drops it and goes on, so every other task's sleeps and reads keep
//! completing.
//!
//! The other batch is the deferred wakes: `yield_now` and a spent coop budget call [`defer`],
//! which, on a thread running a current-thread loop (between `start_deferring` and
//! `stop_deferring`), keeps a clone of the waker instead of waking it; the loop wakes them all
//! (`wake_deferred`, through `wake_all`) after its next look at the reactor, as tokio does.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

/// A caught panic's payload.
pub(crate) type Payload = Box<dyn Any + Send>;

/// Wakes every waker in `list`, in order, leaving it empty (its capacity kept), even if some
/// of them panic; returns the first panic's payload.
///
/// One `catch_unwind` per batch, not per waker: the happy path pays for a single landing pad.
pub(crate) fn wake_all(list: &mut Vec<Waker>) -> Option<Payload> {
    let mut first = None;
    let mut wakers = list.drain(..);
    loop {
        // `wakers` lives outside the closure: a waker that unwinds ends this closure, not the
        // drain, and the next turn goes on with the waker after it.
        match panic::catch_unwind(AssertUnwindSafe(|| wakers.by_ref().for_each(Waker::wake))) {
            Ok(()) => return first,
            Err(payload) => {
                if first.is_none() {
                    first = Some(payload);
                }
            }
        }
    }
}

/// Wakes held back until the loop has looked at the reactor (`yield_now`, a spent coop
/// budget), on a thread running a current-thread loop. A multi-thread worker defers a task's
/// wake of itself on its own (its LIFO slot rules), so there `defer` wakes at once.
struct Deferred {
    /// Set by the current-thread loop while it runs on this thread.
    active: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
    /// An empty list with capacity, swapped with `wakers` when they are woken: each keeps its
    /// allocation from one round of the loop to the next (a list taken and left empty would
    /// grow again from nothing every round).
    spare: Cell<Vec<Waker>>,
}

thread_local! {
    static DEFERRED: Deferred = const {
        Deferred {
            active: Cell::new(false),
            wakers: RefCell::new(Vec::new()),
            spare: Cell::new(Vec::new()),
        }
    };
    /// The address of the waker of the task being polled here, if its scheduler defers a
    /// task's wake of itself on its own ([`set_polled`]); compared, never dereferenced. A
    /// thread-local of its own: with nothing to drop it costs one store to set, where
    /// `DEFERRED`'s accesses check that its destructor is registered.
    static POLLED: Cell<*const Waker> = const { Cell::new(std::ptr::null()) };
}

/// Tells `defer` the waker of the task this thread polls now (null when the poll is over): a
/// task that defers its own wake (`yield_now`, a spent budget) is then woken by reference at
/// once, which only marks it (it is running), and its scheduler queues it behind the loop's
/// next look at the reactor when the poll ends (`Schedule::try_schedule_local`): no clone of
/// the waker held, no second wake. Only for tasks whose scheduler does that
/// (`Schedule::DEFERS_SELF_WAKE`); a poll inside such a poll (a runtime's loop started in
/// `block_in_place`) leaves it null, and a deferred wake of the outer task then takes the
/// general path.
#[inline]
pub(crate) fn set_polled(waker: *const Waker) {
    POLLED.set(waker);
}

/// Wakes `waker` after the loop's next look at the reactor, if this thread runs a
/// current-thread loop; at once anywhere else. As tokio: woken at once, a yielding task would
/// go to the back of the run queue and run again within the same batch, before an I/O event
/// or a timer had any chance to wake the task it yields to.
pub(crate) fn defer(waker: &Waker) {
    // The polled task's own waker: marked now, queued behind the next look at the reactor by
    // its scheduler when the poll ends (see `set_polled`).
    let deferred = !std::ptr::eq(POLLED.get(), waker)
        && DEFERRED
            .try_with(|d| {
                if !d.active.get() {
                    return false;
                }
                let Ok(mut wakers) = d.wakers.try_borrow_mut() else { return false };
                // A task that yields twice in a row is deferred once (tokio checks the last
                // too).
                if !wakers.last().is_some_and(|last| last.will_wake(waker)) {
                    wakers.push(waker.clone());
                }
                true
            })
            .unwrap_or(false);
    if !deferred {
        waker.wake_by_ref();
    }
}

/// Turns deferring on for this thread (the current-thread loop, while it runs); returns
/// whether it was on before, for [`stop_deferring`].
pub(crate) fn start_deferring() -> bool {
    DEFERRED.try_with(|d| d.active.replace(true)).unwrap_or(true)
}

/// Restores the state [`start_deferring`] returned; when deferring ends, the wakers still
/// held are dropped unless `wake` (a loop that stops normally wakes them, so their tasks are
/// queued, not lost; one that unwinds just lets go of them).
pub(crate) fn stop_deferring(was_on: bool, wake: bool) -> Option<Payload> {
    if was_on {
        return None;
    }
    let left = DEFERRED.try_with(|d| {
        d.active.set(false);
        // The loop is done with this thread: its spare list goes too.
        drop(d.spare.take());
        std::mem::take(&mut *d.wakers.borrow_mut())
    });
    let mut left = left.unwrap_or_default();
    if wake {
        wake_all(&mut left)
    } else {
        drop(left);
        None
    }
}

/// Wakes the deferred wakers, outside the thread-local's borrow (a woken task may defer
/// again); returns the first panic's payload, as [`wake_all`].
pub(crate) fn wake_deferred() -> Option<Payload> {
    let taken = DEFERRED.try_with(|d| {
        let mut wakers = d.wakers.borrow_mut();
        if wakers.is_empty() {
            return None;
        }
        Some(std::mem::replace(&mut *wakers, d.spare.take()))
    });
    let Ok(Some(mut wakers)) = taken else { return None };
    let payload = wake_all(&mut wakers);
    // Emptied by `wake_all`; the next round's spare.
    let _ = DEFERRED.try_with(|d| d.spare.set(wakers));
    payload
}

/// Whether wakes are held back on this thread.
pub(crate) fn has_deferred() -> bool {
    DEFERRED.try_with(|d| !d.wakers.borrow().is_empty()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Counting(AtomicUsize, bool);

    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
            if self.1 {
                panic!("a waker that panics");
            }
        }
    }

    #[test]
    fn a_panicking_waker_does_not_lose_the_rest() {
        let good = Arc::new(Counting(AtomicUsize::new(0), false));
        let bad = Arc::new(Counting(AtomicUsize::new(0), true));
        let mut list: Vec<Waker> = vec![
            good.clone().into(),
            bad.clone().into(),
            good.clone().into(),
            bad.clone().into(),
            good.clone().into(),
        ];
        let payload = wake_all(&mut list).expect("the first panic is returned");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"a waker that panics"));
        assert!(list.is_empty());
        assert_eq!(good.0.load(Ordering::SeqCst), 3, "every good waker woken");
        assert_eq!(bad.0.load(Ordering::SeqCst), 2);
        assert_eq!(Arc::strong_count(&good), 1, "every waker consumed");
        assert_eq!(Arc::strong_count(&bad), 1);
        assert!(wake_all(&mut list).is_none());
    }
}
