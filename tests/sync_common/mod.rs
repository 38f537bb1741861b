//! A mock task for the sync tests, with the names of `tokio_test` (`task::spawn`,
//! `assert_pending!`, `assert_ready!`, ...), so tokio's own sync tests port with a rename.
//!
//! [`task::spawn`] pins a future with a waker that only records that it was woken: each
//! `poll()` is one poll, by hand, with no runtime, so a test can check exactly when a
//! primitive wakes a waiter and when it does not.

#![allow(dead_code, unused_macros, unused_imports)]

pub mod task {
    use std::future::Future;
    use std::ops::{Deref, DerefMut};
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use futures_core::Stream;

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// A future (or stream) polled by hand with a recording waker.
    pub struct Spawn<T> {
        flag: Arc<Flag>,
        future: Pin<Box<T>>,
    }

    /// Wraps `task` in a mock task.
    pub fn spawn<T>(task: T) -> Spawn<T> {
        Spawn { flag: Arc::new(Flag(AtomicBool::new(false))), future: Box::pin(task) }
    }

    impl<T> Spawn<T> {
        /// Whether the waker was woken since the last poll.
        pub fn is_woken(&self) -> bool {
            self.flag.0.load(Ordering::SeqCst)
        }

        /// How many references to the waker are alive, this mock's own included (as in
        /// `tokio_test`: 1 means no primitive holds a waker).
        pub fn waker_ref_count(&self) -> usize {
            Arc::strong_count(&self.flag)
        }

        /// Runs `f` with the mock's context and the pinned future.
        pub fn enter<F, R>(&mut self, f: F) -> R
        where
            F: FnOnce(&mut Context<'_>, Pin<&mut T>) -> R,
        {
            self.flag.0.store(false, Ordering::SeqCst);
            let waker = Waker::from(self.flag.clone());
            let mut cx = Context::from_waker(&waker);
            f(&mut cx, self.future.as_mut())
        }
    }

    impl<T: Unpin> Spawn<T> {
        /// The wrapped value, back out of the mock task.
        pub fn into_inner(self) -> T {
            *Pin::into_inner(self.future)
        }
    }

    impl<T: Future> Spawn<T> {
        /// Polls the future once.
        pub fn poll(&mut self) -> Poll<T::Output> {
            self.enter(|cx, fut| fut.poll(cx))
        }
    }

    impl<T: Stream> Spawn<T> {
        /// Polls the stream once.
        pub fn poll_next(&mut self) -> Poll<Option<T::Item>> {
            self.enter(|cx, stream| stream.poll_next(cx))
        }
    }

    impl<T: Unpin> Deref for Spawn<T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.future
        }
    }

    impl<T: Unpin> DerefMut for Spawn<T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.future
        }
    }
}

/// Asserts `Poll::Pending`.
macro_rules! assert_pending {
    ($e:expr) => {{
        match $e {
            std::task::Poll::Pending => {}
            std::task::Poll::Ready(v) => panic!("ready; value = {:?}", v),
        }
    }};
    ($e:expr, $($msg:tt)+) => {{
        match $e {
            std::task::Poll::Pending => {}
            std::task::Poll::Ready(v) => panic!("ready; value = {:?}; {}", v, format_args!($($msg)+)),
        }
    }};
}

/// Asserts `Poll::Ready(v)`; evaluates to `v`.
macro_rules! assert_ready {
    ($e:expr) => {{
        match $e {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("pending"),
        }
    }};
    ($e:expr, $($msg:tt)+) => {{
        match $e {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("pending; {}", format_args!($($msg)+)),
        }
    }};
}

/// Asserts `Poll::Ready(Ok(v))`; evaluates to `v`.
macro_rules! assert_ready_ok {
    ($e:expr) => {{
        assert_ok!(assert_ready!($e))
    }};
    ($e:expr, $($msg:tt)+) => {{
        assert_ok!(assert_ready!($e, $($msg)+))
    }};
}

/// Asserts `Poll::Ready(Err(e))`; evaluates to `e`.
macro_rules! assert_ready_err {
    ($e:expr) => {{
        assert_err!(assert_ready!($e))
    }};
    ($e:expr, $($msg:tt)+) => {{
        assert_err!(assert_ready!($e, $($msg)+))
    }};
}

/// Asserts `Poll::Ready(v)` with `v == expected`.
macro_rules! assert_ready_eq {
    ($e:expr, $expect:expr) => {
        let val = assert_ready!($e);
        assert_eq!(val, $expect)
    };
}

/// Asserts `Ok(v)`; evaluates to `v`.
macro_rules! assert_ok {
    ($e:expr) => {{
        match $e {
            Ok(v) => v,
            Err(e) => panic!("assertion failed: Err({:?})", e),
        }
    }};
    ($e:expr, $($msg:tt)+) => {{
        match $e {
            Ok(v) => v,
            Err(e) => panic!("assertion failed: Err({:?}): {}", e, format_args!($($msg)+)),
        }
    }};
}

/// Asserts that `$now.elapsed()` is `$dur`, up to tokio's 1 ms of timer-wheel rounding
/// (`tokio_test::assert_elapsed!`). minirt's deadlines are exact, so in paused time the
/// elapsed time is exactly `$dur` where a timer was waited for.
macro_rules! assert_elapsed {
    ($now:expr, $dur:expr) => {{
        let elapsed = $now.elapsed();
        let lower: std::time::Duration = $dur;
        assert!(
            elapsed >= lower && elapsed <= lower + std::time::Duration::from_millis(1),
            "actual = {:?}, expected = {:?}",
            elapsed,
            lower
        );
    }};
}

/// Asserts `Err(e)`; evaluates to `e`.
macro_rules! assert_err {
    ($e:expr) => {{
        match $e {
            Ok(v) => panic!("assertion failed: Ok({:?})", v),
            Err(e) => e,
        }
    }};
    ($e:expr, $($msg:tt)+) => {{
        match $e {
            Ok(v) => panic!("assertion failed: Ok({:?}): {}", v, format_args!($($msg)+)),
            Err(e) => e,
        }
    }};
}

/// Runs `func`, which must panic, and returns the file of the panic's location (tokio's
/// `support::panic::test_panic`): `#[track_caller]` must point at the caller's file.
pub fn test_panic<Func: FnOnce() + std::panic::UnwindSafe>(func: Func) -> Option<String> {
    use std::panic;
    use std::sync::{Arc, Mutex};
    static PANIC_MUTEX: Mutex<()> = Mutex::new(());
    let _guard = PANIC_MUTEX.lock();
    let panic_file: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let prev_hook = panic::take_hook();
    {
        let panic_file = panic_file.clone();
        panic::set_hook(Box::new(move |panic_info| {
            let panic_location = panic_info.location().unwrap();
            panic_file.lock().unwrap().clone_from(&Some(panic_location.file().to_string()));
        }));
    }
    let result = panic::catch_unwind(func);
    panic::set_hook(prev_hook);
    if result.is_err() {
        panic_file.lock().unwrap().clone()
    } else {
        None
    }
}
