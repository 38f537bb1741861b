//! [`Id`]: a number that names a task for as long as the process runs.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// An opaque id of a task, unique among all tasks the process ever spawned. Tokio's
/// `task::Id`: shown by [`JoinError`](super::JoinError), returned by
/// [`JoinHandle::id`](super::JoinHandle::id) and [`task::id`](super::id()).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    /// The number (never 0), for the modules below `task`: the slow-poll detector, the
    /// trace, the `polling` thread-local.
    pub(crate) fn as_u64(self) -> u64 {
        self.0.get()
    }

    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // 2^64 spawns would take centuries; Relaxed suffices for a unique number.
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of the task being polled.
///
/// # Panics
/// Outside a task (tokio's message: use [`try_id`] to get `None` instead).
#[track_caller]
pub fn id() -> Id {
    try_id().expect("Can't get a task id when not inside a task")
}

/// The id of the task being polled, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    NonZeroU64::new(crate::polling::current_task_id()).map(Id)
}
