//! The task cells: a spawned future in one heap allocation, its state machine, the `Waker` that re-queues
//! it, and the [`JoinHandle`] that awaits it.
//!
//! # Lifecycle
//!
//! ```text
//!  spawn(future) ──► Arc<Task<F, S>> {state: NOTIFIED | JOIN_INTEREST, stage: Running(future)}
//!                    (cell.rs; S is the scheduler, reached only through the `Schedule` trait)
//!
//!  scheduler pops it ──► run(): NOTIFIED → RUNNING, poll the future in place with a Waker that
//!                        is this same Arc, borrowed for the poll (std's `Wake` trait)
//!      Pending ──► RUNNING → idle; if woken meanwhile (NOTIFIED), back on the queue
//!      Ready   ──► drop the future in place, stage = Finished(output), COMPLETE, wake the
//!                  JoinHandle's waker (or, if the handle is gone, drop the output right here)
//!      panic   ──► the future is dropped while unwinding; stage = Finished(Err(panic)), as Ready
//!
//!  waker.wake() ──► set NOTIFIED; only the call that set it on an idle task pushes the task on
//!                   a run queue, so a task is queued at most once and polled by one thread
//!  abort()      ──► set CANCELLED and wake; the next run drops the future instead of polling it
//!  shutdown     ──► set CANCELLED; an idle or queued task has its future dropped at once
//! ```
//!
//! `state.rs` holds the state word and its transitions, `cell.rs` the task itself, `join.rs`
//! the handles ([`JoinHandle`], [`AbortHandle`]), `error.rs` [`JoinError`], `id.rs` [`Id`];
//! `loom_tests.rs` model-checks the cross-thread races of the state machine (`cfg(loom)`
//! builds only). The public `task` module (spawn, `JoinSet`, `LocalSet`, `Builder`) is built
//! on these.
//!
//! A task knows no scheduler: a scheduler implements [`Schedule`] (queue a task, forget a
//! completed one), and the task calls nothing else.

mod cell;
mod error;
mod id;
mod join;
mod schedule;
mod state;

#[cfg(all(test, loom))]
mod loom_tests;

pub(crate) use cell::{Abort, Join, Task};
pub use error::JoinError;
pub use id::{id, try_id, Id};
pub use join::{AbortHandle, JoinHandle};
pub(crate) use schedule::{Runnable, Schedule, TaskRef};
