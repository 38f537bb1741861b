//! [`SetOnce`]: a value written at most once, that tasks can wait for. tokio's `SetOnce`.
//!
//! State: a cell for the value, a `value_set` flag, a `claimed` flag, and a [`Notify`].
//! `set` claims the cell with one compare-and-swap on `claimed` (so of two racing `set`s
//! exactly one writes; the other gets its value back), writes the value, publishes it by
//! setting `value_set` (release), and wakes every waiter with `notify_waiters`. `get` is one
//! acquire load of `value_set`. `wait` creates its `Notified` *before* it looks at the flag,
//! so a `set` between the look and the wait still wakes it (a `Notified` counts every
//! `notify_waiters` from its creation on).

use std::error::Error;
use std::fmt;
use std::mem::MaybeUninit;

use super::Notify;
use crate::loom::sync::atomic::{
    AtomicBool,
    Ordering::{AcqRel, Acquire, Release},
};
use crate::loom::UnsafeCell;

/// A cell that is written at most once; [`wait`](SetOnce::wait) for the value from any task.
/// tokio's `SetOnce`.
pub struct SetOnce<T> {
    /// Set (release) once `value` holds the value; never cleared while shared.
    value_set: AtomicBool,
    /// Set by the one `set` that gets to write `value`.
    claimed: AtomicBool,
    /// Written once, by the `set` that claimed it, before `value_set`; from then on only read.
    value: UnsafeCell<MaybeUninit<T>>,
    notify: Notify,
}

/// The value given to [`SetOnce::set`] when the cell already had one.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetOnceError")
    }
}

impl<T: fmt::Debug> Error for SetOnceError<T> {}

impl<T> SetOnce<T> {
    /// An empty cell.
    pub fn new() -> SetOnce<T> {
        SetOnce {
            value_set: AtomicBool::new(false),
            claimed: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            notify: Notify::new(),
        }
    }

    /// An empty cell, in a `const` context (a `static`).
    #[cfg(not(loom))]
    pub const fn const_new() -> SetOnce<T> {
        SetOnce {
            value_set: AtomicBool::new(false),
            claimed: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            notify: Notify::const_new(),
        }
    }

    /// A cell holding `value` if it is `Some`, else empty.
    pub fn new_with(value: Option<T>) -> SetOnce<T> {
        let cell = SetOnce::new();
        if let Some(value) = value {
            // Nobody else can see the cell yet: this `set` cannot fail.
            let _ = cell.set(value);
        }
        cell
    }

    /// A cell holding `value`, in a `const` context.
    #[cfg(not(loom))]
    pub const fn const_new_with(value: T) -> SetOnce<T> {
        SetOnce {
            value_set: AtomicBool::new(true),
            claimed: AtomicBool::new(true),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            notify: Notify::const_new(),
        }
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.value_set.load(Acquire)
    }

    /// The value, if it is set.
    pub fn get(&self) -> Option<&T> {
        if !self.initialized() {
            return None;
        }
        // SAFETY: `value_set` (acquire) says the value was written, and it is never written
        // again nor dropped while `&self` lives (only `into_inner` and `drop`, which own the
        // cell, take it out).
        Some(self.value.with(|value| unsafe { (*value).assume_init_ref() }))
    }

    /// Sets the value, and wakes every task in [`wait`](SetOnce::wait). Gives `value` back if
    /// the cell is already set (or being set by a racing call).
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        if self.claimed.swap(true, AcqRel) {
            return Err(SetOnceError(value));
        }
        // SAFETY: only the one caller that turned `claimed` from false to true writes, and no
        // reader looks before `value_set` is set below.
        self.value.with_mut(|cell| unsafe { (*cell).write(value) });
        self.value_set.store(true, Release);
        self.notify.notify_waiters();
        Ok(())
    }

    /// The value, if it was set, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        if !self.value_set.swap(false, AcqRel) {
            return None;
        }
        // SAFETY: the value was written, and clearing `value_set` above (we own the cell)
        // means `drop` below does not drop it again.
        Some(self.value.with(|value| unsafe { (*value).assume_init_read() }))
    }

    /// Waits until the value is set; returns it.
    pub async fn wait(&self) -> &T {
        super::cooperative(async {
            loop {
                // Created before the look, so a `set` right after the look still wakes it.
                let notified = self.notify.notified();
                if let Some(value) = self.get() {
                    return value;
                }
                notified.await;
            }
        })
        .await
    }
}

impl<T> Drop for SetOnce<T> {
    fn drop(&mut self) {
        if self.value_set.swap(false, AcqRel) {
            // SAFETY: the value was written and not taken (`into_inner` clears the flag);
            // we own the cell, so nobody reads it any more.
            self.value.with_mut(|value| unsafe { (*value).assume_init_drop() });
        }
    }
}

// SAFETY: the value moves in with `set` from any thread and out with `into_inner` or `drop`
// on any thread (`T: Send`); `&SetOnce` hands out `&T` to any thread (`T: Sync`). The flags
// keep the one write apart from every read (see the field docs).
unsafe impl<T: Send + Sync> Sync for SetOnce<T> {}
// SAFETY: owning a `SetOnce` owns at most one `T`.
unsafe impl<T: Send> Send for SetOnce<T> {}

impl<T> Default for SetOnce<T> {
    fn default() -> SetOnce<T> {
        SetOnce::new()
    }
}

impl<T> From<T> for SetOnce<T> {
    fn from(value: T) -> SetOnce<T> {
        SetOnce::new_with(Some(value))
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    fn clone(&self) -> SetOnce<T> {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &SetOnce<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce").field("value", &self.get()).finish()
    }
}
