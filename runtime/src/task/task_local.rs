//! Task-local storage: [`task_local!`](crate::task_local) declares a [`LocalKey`], and
//! [`LocalKey::scope`] runs a future with a value bound to it.
//!
//! A task has no storage of its own here; the value lives in the future returned by `scope`
//! ([`TaskLocalFuture`]). Each time that future is polled, it swaps its value into a
//! thread-local slot (a `RefCell<Option<T>>`), polls the inner future, and swaps the value back
//! out — through a guard, so the swap back happens even if the inner poll panics. Between polls
//! the thread-local slot holds whatever it held before (nothing, or an outer scope's value), so
//! another task on the same thread never sees this one's value. The inner future is also
//! dropped inside the scope, so its destructor can still read the value.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::{mem, thread};

use pin_project_lite::pin_project;

/// Declares task-local keys, tokio's syntax:
///
/// ```
/// minirt_runtime::task_local! {
///     pub static REQUEST_ID: u64;
///     static USER: String;
/// }
///
/// # minirt_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// REQUEST_ID
///     .scope(7, async {
///         assert_eq!(REQUEST_ID.get(), 7);
///     })
///     .await;
/// # });
/// ```
///
/// Each key is a `static` [`LocalKey`]; a value is bound with [`LocalKey::scope`] (for a future)
/// or [`LocalKey::sync_scope`] (for a closure), and read with `with`, `try_with` or `get`.
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

/// One key of [`task_local!`]; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __KEY: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey { inner: __KEY }
        };
    };
}

/// A key for task-local data, declared with [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    /// The thread-local slot the scoped value is swapped into while its future runs.
    #[doc(hidden)]
    pub inner: thread::LocalKey<RefCell<Option<T>>>,
}

/// Swaps the value back out of the thread-local slot when dropped (also while unwinding).
struct Guard<'a, T: 'static> {
    local: &'static LocalKey<T>,
    slot: &'a mut Option<T>,
}

impl<T: 'static> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        // The slot was swapped in by `scope_inner` with a mutable borrow that has ended, and no
        // `with` borrow outlives the closure it was taken in, so this borrow cannot fail; the
        // thread-local cannot be gone either (it was alive when the scope began, on this thread).
        let _ = self.local.inner.try_with(|inner| {
            if let Ok(mut value) = inner.try_borrow_mut() {
                mem::swap(self.slot, &mut *value);
            }
        });
    }
}

/// Why a scope could not be entered.
#[derive(Debug)]
enum ScopeInnerErr {
    Borrowed,
    AccessError,
}

impl ScopeInnerErr {
    #[track_caller]
    fn panic(&self) -> ! {
        match self {
            ScopeInnerErr::Borrowed => {
                panic!("cannot enter a task-local scope while the task-local storage is borrowed")
            }
            ScopeInnerErr::AccessError => panic!(
                "cannot enter a task-local scope during or after destruction of the underlying \
                 thread-local"
            ),
        }
    }
}

impl<T: 'static> LocalKey<T> {
    /// Runs `f` with `value` bound to this key, for every poll of `f` (and for its drop); the
    /// returned future gives `f`'s output.
    pub fn scope<F: Future>(&'static self, value: T, f: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture { local: self, slot: Some(value), future: Some(f), _pinned: PhantomPinned }
    }

    /// Runs the closure `f` with `value` bound to this key.
    ///
    /// # Panics
    ///
    /// If called inside `with` on the same key (the value is borrowed).
    #[track_caller]
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut slot = Some(value);
        match self.scope_inner(&mut slot, f) {
            Ok(res) => res,
            Err(err) => err.panic(),
        }
    }

    /// Swaps `slot` in, runs `f`, swaps it back (also when `f` panics).
    fn scope_inner<F: FnOnce() -> R, R>(
        &'static self,
        slot: &mut Option<T>,
        f: F,
    ) -> Result<R, ScopeInnerErr> {
        self.inner
            .try_with(|inner| {
                inner
                    .try_borrow_mut()
                    .map(|mut value| mem::swap(slot, &mut *value))
                    .map_err(|_| ScopeInnerErr::Borrowed)
            })
            .map_err(|_| ScopeInnerErr::AccessError)??;
        let guard = Guard { local: self, slot };
        let res = f();
        drop(guard);
        Ok(res)
    }

    /// Runs `f` with a reference to the value bound to this key.
    ///
    /// # Panics
    ///
    /// If no value is bound (outside `scope`/`sync_scope`).
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(res) => res,
            Err(_) => panic!("cannot access a task-local storage value without setting it first"),
        }
    }

    /// Runs `f` with a reference to the value bound to this key; [`AccessError`] if none is.
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        // A thread-local that is gone (thread exit) reads as "not set".
        let mut f = Some(f);
        self.inner
            .try_with(|inner| {
                let value = inner.try_borrow().ok()?;
                let value = value.as_ref()?;
                let f = f.take()?;
                Some(f(value))
            })
            .ok()
            .flatten()
            .ok_or(AccessError { _private: () })
    }

    /// A copy of the value bound to this key.
    ///
    /// # Panics
    ///
    /// If no value is bound.
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(|v| v.clone())
    }

    /// A copy of the value bound to this key; [`AccessError`] if none is.
    pub fn try_get(&'static self) -> Result<T, AccessError>
    where
        T: Clone,
    {
        self.try_with(|v| v.clone())
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

pin_project! {
    /// The future of [`LocalKey::scope`]: the inner future, run with the value bound.
    pub struct TaskLocalFuture<T: 'static, F> {
        local: &'static LocalKey<T>,
        slot: Option<T>,
        #[pin]
        future: Option<F>,
        #[pin]
        _pinned: PhantomPinned,
    }

    impl<T: 'static, F> PinnedDrop for TaskLocalFuture<T, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut future = this.future;
            if future.is_some() {
                // Drop the inner future inside the scope, so its destructor can read the
                // value; if the scope cannot be entered (thread exit), drop it outside.
                let local = *this.local;
                if local.scope_inner(this.slot, || future.set(None)).is_err() {
                    future.set(None);
                }
            }
        }
    }
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the value out of the scope: the inner future, polled again, no longer sees it.
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        self.project().slot.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut future = this.future;
        let local = *this.local;
        let res = local.scope_inner(this.slot, || match future.as_mut().as_pin_mut() {
            Some(inner) => {
                let res = inner.poll(cx);
                if res.is_ready() {
                    // Drop the finished future while the value is still bound.
                    future.set(None);
                }
                Some(res)
            }
            None => None,
        });
        match res {
            Ok(Some(res)) => res,
            Ok(None) => panic!("`TaskLocalFuture` polled after completion"),
            Err(err) => err.panic(),
        }
    }
}

impl<T: 'static + fmt::Debug, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture").field("value", &self.slot).finish_non_exhaustive()
    }
}

/// [`LocalKey::try_with`] found no value bound to the key.
#[derive(Clone, Copy, Eq, PartialEq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl Error for AccessError {}
