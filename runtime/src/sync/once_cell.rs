//! [`OnceCell`]: a value set at most once, possibly by an async initializer. tokio's
//! `OnceCell`.
//!
//! Data flow: a flag says whether the value is set; a one-permit [`Semaphore`] elects the one
//! task that runs the initializer while the others wait in its FIFO queue. The initializer's
//! task stores the value, sets the flag and *closes* the semaphore, which wakes every waiter
//! with an error that means "set": they return the value. If the initializer fails or is
//! cancelled, its permit is released and the next waiter in line runs its own initializer.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;

use super::semaphore::{Acquire, Semaphore, TryAcquireError};
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::UnsafeCell;

/// A cell set at most once. tokio's `OnceCell`.
pub struct OnceCell<T> {
    value_set: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    semaphore: Semaphore,
}

// SAFETY: the value moves between threads with the cell only if `T: Send`.
unsafe impl<T: Send> Send for OnceCell<T> {}
// SAFETY: `&OnceCell` hands out `&T` on any thread (needs `Sync`) and lets any thread store
// the value (needs `Send`). The store happens once, by the holder of the one permit, before
// `value_set` is released; readers read only after acquiring `value_set`.
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}

/// Why [`OnceCell::set`] failed; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell is already set.
    AlreadyInitializedError(T),
    /// Another task is setting it right now.
    InitializingError(T),
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => write!(f, "AlreadyInitializedError"),
            SetError::InitializingError(_) => write!(f, "InitializingError"),
        }
    }
}

impl<T: fmt::Debug> Error for SetError<T> {}

impl<T> SetError<T> {
    /// Whether the cell was already set.
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether another task was setting it.
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }

    /// The value that was not stored.
    pub(crate) fn into_value(self) -> T {
        match self {
            SetError::AlreadyInitializedError(value) | SetError::InitializingError(value) => value,
        }
    }
}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub fn new() -> OnceCell<T> {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: Semaphore::new(1),
        }
    }

    /// An empty cell, usable in a `static`.
    #[cfg(not(loom))]
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: Semaphore::const_new(1),
        }
    }

    /// A cell holding `value` if it is `Some`.
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(value) = value {
            cell.store(value);
        }
        cell
    }

    /// A set cell, usable in a `static`.
    #[cfg(not(loom))]
    pub const fn const_new_with(value: T) -> OnceCell<T> {
        OnceCell {
            value_set: AtomicBool::new(true),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            semaphore: Semaphore::const_new(0),
        }
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.value_set.load(Ordering::Acquire)
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if !self.initialized() {
            return None;
        }
        // SAFETY: `value_set` (acquired) says the value was written, and it is never written
        // again while `&self` lives.
        Some(self.value.with(|ptr| unsafe { (*ptr).assume_init_ref() }))
    }

    /// The value, if set, through `&mut self`.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if !self.initialized() {
            return None;
        }
        // SAFETY: set (see `get`), and `&mut self` is unique.
        Some(self.value.with_mut(|ptr| unsafe { (*ptr).assume_init_mut() }))
    }

    /// Sets the value if the cell is empty and nobody is initializing it.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_take(1) {
            Ok(()) => {
                self.store(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// The value, running `f` to set it first if the cell is empty. Only one task runs its
    /// `f` at a time; if it is cancelled, the next waiting task runs its own.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self.get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(f().await) }).await
        {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_init`](OnceCell::get_or_init), but `f` may fail: the error is returned,
    /// the cell stays empty, and the next waiting task gets its turn.
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        super::cooperative(async {
            if let Some(value) = self.get() {
                return Ok(value);
            }
            // Give the permit back if `f` fails or we are cancelled.
            struct Release<'a>(&'a Semaphore);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    self.0.release(1);
                }
            }
            if Acquire::new(&self.semaphore, 1).await.is_err() {
                // Closed: the value is set.
                return Ok(self.get().expect("a closed OnceCell semaphore means set"));
            }
            let permit = Release(&self.semaphore);
            if let Some(value) = self.get() {
                return Ok(value);
            }
            let value = f().await?;
            std::mem::forget(permit);
            Ok(self.store(value))
        })
        .await
    }

    /// The value, consuming the cell.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        if !self.initialized() {
            return None;
        }
        self.value_set.store(false, Ordering::Release);
        self.semaphore = Semaphore::new(1);
        // SAFETY: it was set (checked above) and is marked unset now, so it is read once.
        Some(self.value.with(|ptr| unsafe { (*ptr).assume_init_read() }))
    }

    /// Stores the value; the caller holds the one permit (or owns the cell).
    fn store(&self, value: T) -> &T {
        // SAFETY: the caller holds the only permit and `value_set` is false, so nobody reads
        // or writes the value concurrently.
        let value = self.value.with_mut(|ptr| unsafe { (*ptr).write(value) as &T });
        self.value_set.store(true, Ordering::Release);
        self.semaphore.close();
        value
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// The std traits of a set-once cell (`OnceCell`, `SetOnce`), from its `new`, `new_with` and
/// `get`: `Default` is empty, `From<T>` and `Clone` are set, `Eq` and `Debug` look at `get`.
macro_rules! cell_traits {
    ($Cell:ident) => {
        impl<T> Default for $Cell<T> {
            fn default() -> $Cell<T> {
                $Cell::new()
            }
        }

        impl<T> From<T> for $Cell<T> {
            fn from(value: T) -> $Cell<T> {
                $Cell::new_with(Some(value))
            }
        }

        impl<T: Clone> Clone for $Cell<T> {
            fn clone(&self) -> $Cell<T> {
                $Cell::new_with(self.get().cloned())
            }
        }

        impl<T: PartialEq> PartialEq for $Cell<T> {
            fn eq(&self, other: &$Cell<T>) -> bool {
                self.get() == other.get()
            }
        }

        impl<T: Eq> Eq for $Cell<T> {}

        impl<T: fmt::Debug> fmt::Debug for $Cell<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Cell)).field("value", &self.get()).finish()
            }
        }
    };
}
pub(super) use cell_traits;

cell_traits!(OnceCell);
