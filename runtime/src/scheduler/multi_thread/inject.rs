//! The injection queue: tasks scheduled from outside the workers (other threads, `spawn` from
//! a plain thread, wakes from the blocking pool) and the overflow of full local rings.
//!
//! A mutex-guarded `VecDeque`, with its length mirrored in an atomic so that a worker checks
//! "anything injected?" on its hot path without the lock. Shutdown closes it: later pushes are
//! refused (the caller drops the tasks), so no task is queued after shutdown collected them.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::SeqCst;

use crate::loom::{lock, AtomicUsize, Mutex};
use crate::scheduler::task::TaskRef;

pub(crate) struct Inject {
    queue: Mutex<Queue>,
    /// How many tasks `queue` holds, readable without its lock.
    len: AtomicUsize,
}

struct Queue {
    tasks: VecDeque<TaskRef>,
    is_closed: bool,
}

impl Inject {
    pub(crate) fn new() -> Inject {
        Inject {
            queue: Mutex::new(Queue { tasks: VecDeque::new(), is_closed: false }),
            len: AtomicUsize::new(0),
        }
    }

    /// Queues tasks; once the queue is closed, gives them back (to be dropped by the caller,
    /// outside the lock).
    pub(crate) fn push(
        &self,
        tasks: impl IntoIterator<Item = TaskRef>,
    ) -> Result<(), Vec<TaskRef>> {
        let mut queue = lock(&self.queue);
        if queue.is_closed {
            drop(queue);
            return Err(tasks.into_iter().collect());
        }
        queue.tasks.extend(tasks);
        self.len.store(queue.tasks.len(), SeqCst);
        Ok(())
    }

    /// Tasks queued (without the lock: a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.len.load(SeqCst)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes up to `max` tasks into `out`.
    pub(crate) fn pop_n(&self, max: usize, out: &mut Vec<TaskRef>) {
        if self.is_empty() {
            return;
        }
        let mut queue = lock(&self.queue);
        let n = max.min(queue.tasks.len());
        out.extend(queue.tasks.drain(..n));
        self.len.store(queue.tasks.len(), SeqCst);
    }

    pub(crate) fn pop(&self) -> Option<TaskRef> {
        if self.is_empty() {
            return None;
        }
        let mut queue = lock(&self.queue);
        let task = queue.tasks.pop_front();
        self.len.store(queue.tasks.len(), SeqCst);
        task
    }

    /// Closes the queue and returns what it held; `None` if it was closed already.
    pub(crate) fn close(&self) -> Option<VecDeque<TaskRef>> {
        let mut queue = lock(&self.queue);
        if queue.is_closed {
            return None;
        }
        queue.is_closed = true;
        self.len.store(0, SeqCst);
        Some(std::mem::take(&mut queue.tasks))
    }
}
