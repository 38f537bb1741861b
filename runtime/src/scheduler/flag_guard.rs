//! [`FlagGuard`]: the one "set while this lives" flag of both schedulers' park paths.

use std::sync::atomic::{AtomicBool, Ordering};

/// A flag set for as long as this guard lives: a loop's "blocked in `epoll_wait`" flag
/// (current-thread `parked`, multi-thread `reactor_parked`), which wakers read to decide
/// whether to write to the eventfd. Cleared on drop, so also when a waker's panic unwinds out
/// of the park: a flag left set would tell the next waker that the loop sleeps when it does not.
pub(crate) struct FlagGuard<'a>(&'a AtomicBool);

impl<'a> FlagGuard<'a> {
    pub(crate) fn set(flag: &'a AtomicBool) -> FlagGuard<'a> {
        flag.store(true, Ordering::SeqCst);
        FlagGuard(flag)
    }
}

impl Drop for FlagGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
