//! [`Barrier`]: `n` tasks wait until all of them have arrived. tokio's `Barrier`.
//!
//! Data flow: a lock counts arrivals and a generation number; the `n`-th arrival starts a new
//! generation and calls `notify_waiters` on a [`Notify`]. Each earlier arrival created its
//! `Notified` under the lock, before that call could happen, so it cannot miss it; it then
//! waits until the generation moves on. Like tokio's, `wait` is not cancel-safe: a task that
//! arrives and is cancelled still counts.

use super::{lock, Notify};
use crate::loom::sync::Mutex;

/// A barrier for `n` tasks. tokio's `Barrier`.
#[derive(Debug)]
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Debug)]
struct State {
    arrived: usize,
    generation: usize,
}

/// What [`Barrier::wait`] returns: exactly one task per generation is the leader.
#[derive(Debug, Clone)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the one whose arrival released the others.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier that releases its waiters once `n` have arrived (`0` behaves as `1`).
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State { arrived: 0, generation: 0 }),
            notify: Notify::new(),
        }
    }

    /// Waits until `n` tasks (this one included) have called `wait`.
    pub async fn wait(&self) -> BarrierWaitResult {
        super::cooperative(self.wait_inner()).await
    }

    async fn wait_inner(&self) -> BarrierWaitResult {
        let (mut notified, generation) = {
            let mut state = lock(&self.state);
            state.arrived += 1;
            if state.arrived == self.n {
                state.arrived = 0;
                state.generation = state.generation.wrapping_add(1);
                drop(state);
                self.notify.notify_waiters();
                return BarrierWaitResult(true);
            }
            (self.notify.notified(), state.generation)
        };
        loop {
            notified.await;
            notified = self.notify.notified();
            if lock(&self.state).generation != generation {
                return BarrierWaitResult(false);
            }
        }
    }
}
