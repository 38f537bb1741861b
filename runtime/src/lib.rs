//! minirt-runtime: the epoll reactor, the executor, tasks, and the I/O traits of minirt.
//!
//! Users depend on the `minirt` facade crate, which re-exports this one. A tour, in the order
//! data flows:
//!
//! - `sys` (private): the raw syscalls — `epoll_create1`, `epoll_ctl`, `epoll_wait`,
//!   `eventfd` — behind safe wrappers. The only `unsafe` syscalls in this crate but for the
//!   console's read-only look at an fd (below).
//! - `reactor`: one edge-triggered registration per fd, a cached readiness word per
//!   registration, and `epoll_wait` events turned into woken tasks.
//! - [`task`]: a spawned future in one allocation, its state machine, the `Waker` that
//!   re-queues it, and the [`JoinHandle`](task::JoinHandle) that awaits it.
//! - `scheduler`: the loop — run a batch of tasks, poll the reactor, park in `epoll_wait`.
//! - [`time`]: [`sleep`](time::sleep), [`timeout`](time::timeout),
//!   [`interval`](time::interval), over a heap of deadlines that sets the loop's `epoll_wait`
//!   timeout.
//! - [`runtime`]: [`Builder`](runtime::Builder), [`Runtime`](runtime::Runtime),
//!   [`Handle`](runtime::Handle), [`spawn`].
//! - [`sync`]: tokio's channels and locks (mpsc, oneshot, watch, broadcast, Notify, Mutex,
//!   RwLock, Semaphore, Barrier, OnceCell), over one cancel-safe waiter queue.
//! - [`io`]: the `futures-io` traits, tokio-named extension methods, and
//!   [`AsyncFd`](io::AsyncFd), the public readiness API that `minirt-net` is built on.
//! - `wake` (private): wakes a batch of collected wakers (ready sockets, due timers) so that
//!   one user waker that panics neither loses the rest nor kills the thread driving the loop.
//! - `trace` (private): `MINIRT_TRACE=1` prints each step above to stderr (`epoll_wait`
//!   returned n events, token → fd and bits, the waiters woken, tasks polled, timers fired);
//!   off, one predictable branch per hook.
//! - `slow_poll` (private): `MINIRT_SLOW_POLL=10ms` names a task whose poll blocks its thread,
//!   while it still blocks (a watchdog thread) and when it returns; the schedulers time each
//!   poll through `scheduler::run` only while it is on.
//! - `console` (private): `MINIRT_CONSOLE=127.0.0.1:6669` serves a live page and JSON from a
//!   thread of its own: the tasks (from `slow_poll`'s hooks and each task's state word), the
//!   workers, and each reactor's fds with the tasks waiting on them. Its `fds` module asks
//!   the kernel what an fd is (`getsockopt`, `getsockname`, `getpeername`): the only syscalls
//!   outside `sys`, read-only.

#![deny(missing_docs)]

mod console;
mod context;
mod loom;
mod loom_shim;
mod reactor;
mod scheduler;
mod slow_poll;
mod sys;
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
