//! [`JoinSet`]: a set of spawned tasks, awaited in the order they finish.
//!
//! ```text
//!  spawn ──► entries: Slab<JoinHandle<T>>, key k      ready: Mutex<{ keys: VecDeque, waker }>
//!            k pushed on `ready`, so the first join_next polls it (which stores k's waker)
//!
//!  task k completes ──► its JoinHandle's waker (an EntryWaker for k) pushes k on `ready` and
//!                       wakes whoever waits in join_next
//!  join_next ──► pop keys from `ready`, poll that one handle: Ready → remove and return it
//!                `ready` empty: Pending (the set's waker is stored), or None if the set is empty
//! ```
//!
//! So each `join_next` polls only the handles that were woken, never the whole set. A key may
//! sit in `ready` twice, or stay there after its entry went away (an abort, a reused slot):
//! polling a handle that is not finished is harmless, so nothing tries to prevent that.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Wake, Waker};

use slab::Slab;

use super::{AbortHandle, Id, JoinError, JoinHandle};
use crate::runtime::Handle;

/// A set of tasks spawned on a runtime, awaited in the order they complete. Tokio's `JoinSet`.
///
/// Dropping the set aborts every task still in it.
pub struct JoinSet<T> {
    /// Each task's handle, and the waker its handle is polled with (made once, at spawn).
    entries: Slab<(JoinHandle<T>, Waker)>,
    ready: Arc<Ready>,
}

/// The keys of entries whose task woke them, and the waker of the task awaiting the set.
struct Ready {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    keys: std::collections::VecDeque<usize>,
    waker: Option<Waker>,
}

impl Ready {
    fn lock(&self) -> MutexGuard<'_, ReadyInner> {
        // Only pushes, pops and swaps happen under this lock: a poisoned one is consistent.
        crate::loom::lock(&self.inner)
    }

    fn push(&self, key: usize) {
        let waker = {
            let mut inner = self.lock();
            inner.keys.push_back(key);
            inner.waker.take()
        };
        // Woken (and so perhaps dropped) outside the lock.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The waker given to entry `key`'s JoinHandle.
struct EntryWaker {
    key: usize,
    ready: Arc<Ready>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.key);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.key);
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet { entries: Slab::new(), ready: Arc::new(Ready { inner: Mutex::default() }) }
    }

    /// How many tasks are in the set (finished ones too, until they are joined).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let entry = self.entries.vacant_entry();
        let key = entry.key();
        let waker = Waker::from(Arc::new(EntryWaker { key, ready: self.ready.clone() }));
        entry.insert((handle, waker));
        // Polled once by the next join_next, which gives the handle its entry waker.
        self.ready.push(key);
        abort
    }

    /// Aborts every task in the set. They stay in it until joined (each then gives a
    /// cancelled `JoinError`, or its output if it finished first).
    pub fn abort_all(&mut self) {
        for (_, (handle, _)) in &self.entries {
            handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: they run on, detached.
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.ready.lock().keys.clear();
    }

    /// Aborts every task and waits until all of them have stopped; the set is then empty.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for the next task to finish and returns its result; `None` once the set is empty.
    /// Cancel safe: a result not yet returned stays in the set.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](Self::join_next), with the finished task's id beside its output.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The result of a task that has already finished, without waiting; `None` if none has.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id().map(|result| result.map(|(_, output)| output))
    }

    /// [`try_join_next`](Self::try_join_next), with the task's id beside its output.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        // A finished task woke its entry, so only woken entries need a look. Not async, this
        // cannot yield: the budget is set aside, or a spent one would make every handle look
        // unfinished (and re-wake its entry, forever).
        loop {
            let key = self.ready.lock().keys.pop_front()?;
            if let Poll::Ready(result) = crate::polling::without_budget(|| self.poll_entry(key)) {
                return Some(result);
            }
        }
    }

    /// Polls entry `key`'s handle with its own waker; removes the entry once it is ready.
    fn poll_entry(&mut self, key: usize) -> Poll<Result<(Id, T), JoinError>> {
        let Some((handle, waker)) = self.entries.get_mut(key) else {
            return Poll::Pending; // a stale key: the entry was joined or detached already
        };
        let result = ready!(Pin::new(handle).poll(&mut Context::from_waker(waker)));
        let (handle, _) = self.entries.remove(key);
        Poll::Ready(result.map(|output| (handle.id(), output)))
    }

    /// Waits for every task and returns their outputs, in the order they finished.
    ///
    /// # Panics
    /// If a task panicked (resuming its panic) or was cancelled; the remaining tasks are then
    /// aborted, as the set is dropped.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(output) => outputs.push(output),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("{err}"),
            }
        }
        outputs
    }

    /// Poll form of [`join_next`](Self::join_next).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx).map(|r| r.map(|r| r.map(|(_, output)| output)))
    }

    /// Poll form of [`join_next_with_id`](Self::join_next_with_id).
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        loop {
            let Some(key) = self.next_ready(cx) else {
                return if self.entries.is_empty() { Poll::Ready(None) } else { Poll::Pending };
            };
            if let Poll::Ready(result) = self.poll_entry(key) {
                return Poll::Ready(Some(result));
            }
            // Not finished: its entry waker is stored and will bring the key back. Or the
            // budget is spent, in which case the handle woke its entry already and the task
            // awaiting the set must yield too.
            if crate::polling::poll_budget(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// Pops a woken key; if there is none, stores the caller's waker (cloned, and the old one
    /// dropped, outside the lock) and returns `None`.
    fn next_ready(&self, cx: &mut Context<'_>) -> Option<usize> {
        {
            let mut inner = self.ready.lock();
            if let Some(key) = inner.keys.pop_front() {
                return Some(key);
            }
            if inner.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                return None;
            }
        }
        let waker = cx.waker().clone();
        let (key, old) = {
            let mut inner = self.ready.lock();
            match inner.keys.pop_front() {
                Some(key) => (Some(key), Some(waker)),
                None => (None, inner.waker.replace(waker)),
            }
        };
        drop(old);
        key
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a `!Send` future on the [`LocalSet`](super::LocalSet) this thread is running,
    /// as a task of the set (see [`spawn_local`](super::spawn_local)).
    ///
    /// # Panics
    /// Outside a `LocalSet`, as `spawn_local` does.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::spawn_local(future))
    }

    /// Spawns a `!Send` future on `local_set`, as a task of the set; it starts when the
    /// `LocalSet` is next driven (which need not be now).
    #[track_caller]
    pub fn spawn_local_on<F>(&mut self, future: F, local_set: &super::LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(local_set.spawn_local(future))
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime into the set.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Runs `func` on the current runtime's blocking pool, as a task of the set.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, func: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(crate::task::spawn_blocking(func))
    }

    /// Runs `func` on the blocking pool of `handle`'s runtime, as a task of the set.
    pub fn spawn_blocking_on<F>(&mut self, func: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(handle.spawn_blocking(func))
    }

    /// Spawns `future` on the runtime of `handle` into the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for future in iter {
            self.spawn(future);
        }
    }
}

impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}
