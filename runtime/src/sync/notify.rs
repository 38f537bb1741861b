//! [`Notify`]: wake one task, the last one, or all of them, without sending data.
//!
//! State, under one lock: a stored permit (a `notify_one` that found nobody waiting) and a
//! [`WaitList`] of [`Notified`] futures, each node's data saying whether (and how) it was
//! notified. Beside the lock, a counter of `notify_waiters` calls: a `Notified` reads it when it
//! is *created*, so a `notify_waiters` that runs between its creation and its first poll still
//! counts for it (tokio's rule, which makes "create, check a condition, await" race-free).
//!
//! Data flow: `notify_one` unlinks the front waiter (the one waiting longest), marks it
//! `One`, and wakes it after the lock; with no waiter it stores the permit, which the next
//! `Notified` consumes. `notify_last` does the same from the back. `notify_waiters` unlinks and
//! marks every waiter. A `Notified` dropped after it was picked by `notify_one`/`notify_last`
//! but before it returned `Ready` forwards that notification to the next waiter (or back to
//! the permit), so no notification is lost to a cancelled waiter.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{lock, WaitList, WakeList};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use crate::loom::sync::Mutex;
// std's Arc even under loom: `notified_owned` takes the caller's (std) Arc.
use std::sync::Arc;

/// Notifies one task, or all waiting tasks, of an event. tokio's `Notify`.
///
/// `notify_one` with no task waiting stores one permit, so the next `notified().await`
/// completes at once; `notify_waiters` only wakes the tasks already waiting (or whose
/// `Notified` future already exists) and stores nothing.
pub struct Notify {
    state: Mutex<State>,
    /// How many times `notify_waiters` has run; only written under `state`'s lock.
    waiters_calls: AtomicUsize,
    /// A copy of `state.permit`, written under the lock. Read without it only as a guess of
    /// whether a first poll will have to wait: then the waker is cloned before the lock is
    /// taken, so the lock is taken once, not twice (the decision is still made under it).
    permit_hint: AtomicBool,
}

struct State {
    permit: bool,
    waiters: WaitList<Mark>,
}

/// What a waiter was given.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mark {
    Waiting,
    /// Picked by `notify_one` (front) or `notify_last` (back): forwarded if dropped unseen.
    One {
        last: bool,
    },
    /// Woken by `notify_waiters`: never forwarded.
    All,
}

impl Notify {
    /// A `Notify` with no permit stored.
    #[cfg(not(loom))]
    pub const fn const_new() -> Notify {
        Notify {
            state: Mutex::new(State { permit: false, waiters: WaitList::new() }),
            waiters_calls: AtomicUsize::new(0),
            permit_hint: AtomicBool::new(false),
        }
    }

    /// A `Notify` with no permit stored.
    pub fn new() -> Notify {
        Notify {
            state: Mutex::new(State { permit: false, waiters: WaitList::new() }),
            waiters_calls: AtomicUsize::new(0),
            permit_hint: AtomicBool::new(false),
        }
    }

    /// A future that completes when this `Notify` is notified (or at once if a permit is
    /// stored). It takes part in `notify_waiters` from the moment it is created, and in
    /// `notify_one` from its first poll (or [`Notified::enable`]).
    pub fn notified(&self) -> Notified<'_> {
        Notified { wait: Wait::new(self) }
    }

    /// [`notified`](Notify::notified), with a future that owns an `Arc` of the `Notify` (so it
    /// is `'static` and can be stored or sent to another task).
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        OwnedNotified { wait: Wait::new(self) }
    }

    /// Wakes the task that has waited longest, or stores a permit if none waits.
    pub fn notify_one(&self) {
        self.notify_one_from(false);
    }

    /// Wakes the task that started waiting last, or stores a permit if none waits.
    pub fn notify_last(&self) {
        self.notify_one_from(true);
    }

    fn notify_one_from(&self, last: bool) {
        let mut state = lock(&self.state);
        let waker = notify_locked(self, &mut state, last);
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Waits until `check` gives a value, looking again after each notification: the
    /// `Notified` is created before each look, so a notification that lands between the look
    /// and the wait still wakes it (a `Notified` counts every `notify_waiters` from its
    /// creation on). How the channels' `closed` and `changed` and `SetOnce::wait` wait.
    pub(crate) async fn wait_until<R>(&self, mut check: impl FnMut() -> Option<R>) -> R {
        loop {
            let notified = self.notified();
            if let Some(done) = check() {
                return done;
            }
            notified.await;
        }
    }

    /// Wakes every task waiting now (every `Notified` created before this call). Stores no
    /// permit.
    pub fn notify_waiters(&self) {
        let mut wakers = WakeList::new();
        let mut state = lock(&self.state);
        self.waiters_calls.fetch_add(1, SeqCst);
        while let Some(key) = state.waiters.front() {
            wakers.push(state.waiters.unlink(key));
            state.waiters.node_mut(key).data = Mark::All;
        }
        drop(state);
        wakers.wake_all();
    }
}

/// Gives one notification: to the front (or back) waiter, or to the permit.
fn notify_locked(notify: &Notify, state: &mut State, last: bool) -> Option<Waker> {
    let key = if last { state.waiters.back() } else { state.waiters.front() };
    match key {
        Some(key) => {
            let waker = state.waiters.unlink(key);
            state.waiters.node_mut(key).data = Mark::One { last };
            waker
        }
        None => {
            state.permit = true;
            notify.permit_hint.store(true, Relaxed);
            None
        }
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify").finish_non_exhaustive()
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Notified<'a> {
    wait: Wait<&'a Notify>,
}

/// The future of [`Notify::notified_owned`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct OwnedNotified {
    wait: Wait<Arc<Notify>>,
}

/// One wait, shared by [`Notified`] and [`OwnedNotified`] (which differ only in how they hold
/// the `Notify`, `N`); dropping it leaves the line.
#[derive(Debug)]
struct Wait<N: Deref<Target = Notify>> {
    notify: N,
    /// `notify_waiters` calls seen at creation.
    waiters_calls: usize,
    state: WaitState,
}

#[derive(Clone, Copy, Debug)]
enum WaitState {
    Init,
    Waiting(usize),
    Done,
}

impl<N: Deref<Target = Notify>> Wait<N> {
    fn new(notify: N) -> Wait<N> {
        let waiters_calls = notify.waiters_calls.load(SeqCst);
        Wait { notify, waiters_calls, state: WaitState::Init }
    }

    fn poll(&mut self, waker: Option<&Waker>) -> Poll<()> {
        let notify = &*self.notify;
        // Cloned outside the lock: before taking it if a first poll looks like it will wait
        // (no permit, no `notify_waiters` since creation), else on a second pass if it must.
        let mut new_waker: Option<Waker> = None;
        if let (WaitState::Init, Some(waker)) = (self.state, waker) {
            let notified = notify.permit_hint.load(Relaxed)
                || notify.waiters_calls.load(SeqCst) != self.waiters_calls;
            if !notified {
                new_waker = Some(waker.clone());
            }
        }
        loop {
            let mut state = lock(&notify.state);
            match self.state {
                WaitState::Done => return Poll::Ready(()),
                WaitState::Init => {
                    // A notify_waiters since creation counts; otherwise take the permit.
                    let by_all = notify.waiters_calls.load(SeqCst) != self.waiters_calls;
                    if by_all || state.permit {
                        if !by_all {
                            state.permit = false;
                            notify.permit_hint.store(false, Relaxed);
                        }
                        drop(state);
                        self.state = WaitState::Done;
                        return Poll::Ready(());
                    }
                    if let (Some(waker), None) = (waker, &new_waker) {
                        drop(state);
                        new_waker = Some(waker.clone());
                        continue;
                    }
                    let key = state.waiters.push_back(Mark::Waiting, new_waker.take());
                    self.state = WaitState::Waiting(key);
                    return Poll::Pending;
                }
                WaitState::Waiting(key) => {
                    if !state.waiters.is_queued(key) {
                        let node = state.waiters.remove(key);
                        drop(state);
                        self.state = WaitState::Done;
                        drop(node);
                        return Poll::Ready(());
                    }
                    let Some(waker) = waker else {
                        return Poll::Pending;
                    };
                    if state.waiters.will_wake(key, waker) {
                        return Poll::Pending;
                    }
                    let Some(new) = new_waker.take() else {
                        drop(state);
                        new_waker = Some(waker.clone());
                        continue;
                    };
                    let old = state.waiters.set_waker(key, new);
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
            }
        }
    }

    fn poll_future(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if crate::polling::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        self.poll(Some(cx.waker()))
    }
}

impl<N: Deref<Target = Notify>> Drop for Wait<N> {
    /// Leaves the line; a notification picked for us but never seen is passed on.
    fn drop(&mut self) {
        let WaitState::Waiting(key) = self.state else {
            return;
        };
        self.state = WaitState::Done;
        let notify = &*self.notify;
        let mut state = lock(&notify.state);
        let node = state.waiters.remove(key);
        // Picked by notify_one/notify_last but never seen: pass it on, not lose it.
        let forwarded = match node.data {
            Mark::One { last } => notify_locked(notify, &mut state, last),
            Mark::Waiting | Mark::All => None,
        };
        drop(state);
        drop(node);
        if let Some(waker) = forwarded {
            waker.wake();
        }
    }
}

impl Notified<'_> {
    /// Registers this future as a waiter without polling it, so a `notify_one` from now on
    /// is kept for it. Returns `true` if it is already notified (the next poll is `Ready`).
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.get_mut().wait.poll(None).is_ready()
    }
}

impl OwnedNotified {
    /// See [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.get_mut().wait.poll(None).is_ready()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().wait.poll_future(cx)
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().wait.poll_future(cx)
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified").field("wait", &self.wait).finish_non_exhaustive()
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified").field("wait", &self.wait).finish_non_exhaustive()
    }
}
