//! [`spawn_local`]: a `!Send` task onto the [`LocalSet`] this thread runs, or
//! onto a `LocalRuntime`'s own set. The set itself is `scheduler/local.rs`.

use std::future::Future;

use super::{JoinHandle, LocalSet};
use crate::context;
use crate::runtime::Runtime;
use crate::scheduler::local;

const OUTSIDE: &str =
    "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`";

/// Spawns a `!Send` future on the [`LocalSet`] this thread is running (or has entered).
/// Tokio's `task::spawn_local`.
///
/// # Panics
/// Outside a `LocalSet`, with tokio's message.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    if let Some(shared) = local::current() {
        return local::spawn_on(&shared, future);
    }
    // On a `LocalRuntime` (from any of its tasks, or under its `enter` guard) the runtime's
    // own set takes it, but only on the runtime's thread: the future is not `Send`.
    if let Some(crate::scheduler::Handle::CurrentThread(runtime)) = context::try_current() {
        if let Some(owner) = runtime.local_owner() {
            if owner.thread != std::thread::current().id() {
                panic!("{OTHER_THREAD}");
            }
            return local::spawn_on(&owner.set, future);
        }
    }
    panic!("{OUTSIDE}")
}

const OTHER_THREAD: &str =
    "Local tasks can only be spawned on a LocalRuntime from the thread the runtime was created on";

// `LocalSet` itself is the scheduler's (`scheduler/local.rs`); this method runs one on a
// runtime, which sits above it.
impl LocalSet {
    /// Runs `future` on `runtime`, with this set's tasks running beside it. Tokio's
    /// `LocalSet::block_on`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, runtime: &Runtime, future: F) -> F::Output {
        runtime.block_on(self.run_until(future))
    }
}
