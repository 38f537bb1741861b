//! minirt-runtime: the epoll reactor, the executor, tasks, and the I/O traits of minirt.
//!
//! Users depend on the `minirt` facade crate, which re-exports this one. A tour, in the order
//! data flows:
//!
//! - `sys` (private): the raw syscalls — `epoll_create1`, `epoll_ctl`, `epoll_wait`,
//!   `eventfd` — behind safe wrappers. The only `unsafe` syscalls in this crate but for the
//!   console's read-only look at an fd (below).
//! - `reactor` (private): one edge-triggered registration per fd, a cached readiness word per
//!   registration, and `epoll_wait` events turned into woken tasks.
//! - `timer` (private): the heap of deadlines that sets the loop's `epoll_wait` timeout, and
//!   the runtime's clock, which a test can pause.
//! - `scheduler` (private): the loops — run a batch of tasks, poll the reactor, fire the
//!   timers, park in `epoll_wait` — and, in `scheduler/task/`, a spawned future in one
//!   allocation, its state machine, the `Waker` that re-queues it, and the
//!   [`JoinHandle`](task::JoinHandle) that awaits it.
//! - [`task`]: spawning and awaiting tasks, [`JoinSet`](task::JoinSet),
//!   [`LocalSet`](task::LocalSet), task-local values, cooperative scheduling.
//! - [`time`]: [`sleep`](time::sleep), [`timeout`](time::timeout),
//!   [`interval`](time::interval), paused time, over the timer heap.
//! - [`runtime`]: [`Builder`](runtime::Builder), [`Runtime`](runtime::Runtime),
//!   [`Handle`](runtime::Handle), [`spawn`].
//! - [`sync`]: tokio's channels and locks (mpsc, oneshot, watch, broadcast, Notify, Mutex,
//!   RwLock, Semaphore, Barrier, OnceCell), over one cancel-safe waiter queue.
//! - [`io`]: the `futures-io` traits, tokio-named extension methods, and
//!   [`AsyncFd`](io::AsyncFd), the public readiness API that `minirt-os` is built on.
//! - `wake` (private): wakes a batch of collected wakers (ready sockets, due timers) so that
//!   one user waker that panics neither loses the rest nor kills the thread driving the loop.
//! - `trace` (private): `MINIRT_TRACE=1` prints each step above to stderr (`epoll_wait`
//!   returned n events, token → fd and bits, the waiters woken, tasks polled, timers fired);
//!   off, one predictable branch per hook.
//! - `slow_poll` (private): `MINIRT_SLOW_POLL=10ms` names a task whose poll blocks its thread,
//!   while it still blocks (a watchdog thread) and when it returns; each loop hands its polls
//!   the hooks (`slow_poll::Hooks`) only while it is on.
//! - `context` (private): the runtime this thread entered (`CONTEXT`); `polling` (private): what
//!   this thread is polling — the loop flag, the task id, the cooperative budget (`POLLING`).
//! - `console` (private): `MINIRT_CONSOLE=127.0.0.1:6669` serves a live page and JSON from a
//!   thread of its own: the tasks (from `slow_poll`'s hooks and each task's state word), the
//!   workers, and each reactor's fds with the tasks waiting on them. Its `fds` module asks
//!   the kernel what an fd is (`getsockopt`, `getsockname`, `getpeername`): the only syscalls
//!   outside `sys`, read-only.
//!
//! ## Layers
//!
//! A module may use the modules on the lines below its own, never one above nor one beside it
//! (`tests/layers.rs` reads every `crate::` path and checks this map, and that no two files or
//! folders import each other).
//!
//! ```text
//! io sync macros_support            | the public API, and minirt-os's only way in: I/O, sync,
//! time                              |   sleep, timeout, interval, Instant, pause/advance,
//! task                              |   JoinSet, spawn_local, task::Builder, task-locals, coop,
//! runtime                           |   Runtime, Builder, Handle, spawn, spawn_blocking
//! context console                   | the runtime this thread entered; the live console
//! scheduler                         | the loops, the blocking pool, LocalSet, the task cells
//! reactor timer                     | epoll registrations and readiness; the timer heap, the clock
//! park slow_poll trace              | park-until-woken block_on; the poll watchdog; MINIRT_TRACE
//! polling                           | the loop flag, the task id, the budget (a spent one defers)
//! loom shutdown sys wake            | leaves: std or loom; the shutdown error; syscalls; wakes
//! ```

#![deny(missing_docs)]

/// A panic message that tokio has too: with the `tokio-messages` feature (compat/tokio turns
/// it on), tokio's words come first, so code and tests that match tokio's message recognise
/// it, then minirt's explanation in parentheses; without it, minirt's alone.
#[cfg(feature = "tokio-messages")]
macro_rules! tokio_words {
    ($tokio:literal, $minirt:literal) => {
        concat!($tokio, " (", $minirt, ")")
    };
}
#[cfg(not(feature = "tokio-messages"))]
macro_rules! tokio_words {
    ($tokio:literal, $minirt:literal) => {
        $minirt
    };
}

mod console;
mod context;
mod loom;
mod park;
mod polling;
mod reactor;
mod scheduler;
mod shutdown;
mod slow_poll;
mod sys;
mod timer;
mod trace;
mod wake;

pub mod io;
#[doc(hidden)]
pub mod macros_support;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod time;

pub use runtime::spawn;
