//! [`SetOnce`]: a value written at most once, that tasks can wait for. tokio's `SetOnce`.
//!
//! State: a [`OnceCell`] for the value and a [`Notify`]. `set` is the cell's `set` (of two
//! racing calls exactly one takes the cell's permit and writes; the other gets its value back),
//! then `notify_waiters` wakes every waiter. `get` is the cell's, one acquire load. `wait`
//! creates its `Notified` *before* it looks at the cell, so a `set` between the look and the
//! wait still wakes it (a `Notified` counts every `notify_waiters` from its creation on).

use std::error::Error;
use std::fmt;

use super::{Notify, OnceCell};

/// A cell that is written at most once; [`wait`](SetOnce::wait) for the value from any task.
/// tokio's `SetOnce`.
pub struct SetOnce<T> {
    cell: OnceCell<T>,
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
        SetOnce { cell: OnceCell::new(), notify: Notify::new() }
    }

    /// An empty cell, in a `const` context (a `static`).
    #[cfg(not(loom))]
    pub const fn const_new() -> SetOnce<T> {
        SetOnce { cell: OnceCell::const_new(), notify: Notify::const_new() }
    }

    /// A cell holding `value` if it is `Some`, else empty.
    pub fn new_with(value: Option<T>) -> SetOnce<T> {
        SetOnce { cell: OnceCell::new_with(value), notify: Notify::new() }
    }

    /// A cell holding `value`, in a `const` context.
    #[cfg(not(loom))]
    pub const fn const_new_with(value: T) -> SetOnce<T> {
        SetOnce { cell: OnceCell::const_new_with(value), notify: Notify::const_new() }
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.cell.initialized()
    }

    /// The value, if it is set.
    pub fn get(&self) -> Option<&T> {
        self.cell.get()
    }

    /// Sets the value, and wakes every task in [`wait`](SetOnce::wait). Gives `value` back if
    /// the cell is already set (or being set by a racing call).
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        self.cell.set(value).map_err(|e| SetOnceError(e.into_value()))?;
        self.notify.notify_waiters();
        Ok(())
    }

    /// The value, if it was set, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.cell.into_inner()
    }

    /// Waits until the value is set; returns it.
    pub async fn wait(&self) -> &T {
        super::cooperative(self.notify.wait_until(|| self.get())).await
    }
}

super::once_cell::cell_traits!(SetOnce);
