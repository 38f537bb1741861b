//! Asynchronous signal handling: [`ctrl_c`] and, for any signal, [`unix::signal`]. Tokio's
//! `tokio::signal`.
//!
//! How a signal reaches a task, end to end:
//!
//! ```text
//!  signal(SignalKind::user_defined1())
//!   ├─ sigaction(SIGUSR1, handler, SA_RESTART|SA_SIGINFO)   once per process per signal;
//!   │                                                       the old handler is kept to chain
//!   ├─ dup(self-pipe read end) → AsyncFd in this runtime's epoll   one fd per Signal
//!   └─ remember GENERATION[SIGUSR1]
//!
//!  kill(getpid(), SIGUSR1)
//!   └─ handler: PENDING[SIGUSR1] = true; write(pipe, 1 byte)    (sys/signal.rs)
//!       └─ the pipe turns readable: the epoll of each runtime with a Signal reports it and
//!          wakes the task waiting in that Signal's recv()
//!
//!  Signal::recv (poll_recv)
//!   ├─ register the task's waker for SIGUSR1 (registry.rs)
//!   ├─ GENERATION[SIGUSR1] moved past what we remembered?  → Ready(Some(()))
//!   └─ on readiness: dispatch() = under a lock, drain the pipe, swap PENDING flags to false
//!      and bump their GENERATION; then wake every registered waiter of a bumped signal, in
//!      every runtime (epoll drops the events of the other listeners once the pipe is empty,
//!      so the one that drained wakes them); check again; EAGAIN → wait for the next edge
//! ```
//!
//! What follows from it:
//!
//! - A signal that arrives after a [`Signal`](unix::Signal) was created is seen by it, even
//!   if it arrives before the first `recv`: the flag and the byte wait for someone to dispatch,
//!   and the generation it then gets is larger than the one the `Signal` remembered.
//! - Every listener of a kind sees each delivery: each has its own registration of the pipe,
//!   and the generation is global. Several deliveries between two `recv`s coalesce into one.
//! - Listeners may live in several runtimes at once; any one of them can dispatch, and each
//!   runtime's epoll wakes its own.
//! - Like tokio, once minirt handles a signal, it handles it for the rest of the process:
//!   after the last `Signal` for SIGINT is dropped, Ctrl-C no longer ends the program.
//! - A handler the program installed before ours keeps being called (after ours) if it was a
//!   function, as the kernel would have called it: with its `SA_SIGINFO` arguments, once only
//!   if it was `SA_RESETHAND` (then as if it were `SIG_DFL`), under its `sa_mask` and, unless
//!   `SA_NODEFER`, with the signal blocked. `SIG_DFL` and `SIG_IGN` are not chained, since
//!   replacing them is the point.
//! - SIGKILL, SIGSTOP (uncatchable), SIGSEGV, SIGBUS, SIGILL and SIGFPE (a handler that returns
//!   re-runs the faulting instruction) are refused with an `InvalidInput` error.

mod registry;
pub mod unix;

use std::io;

/// Completes on the next SIGINT (Ctrl-C in a terminal) after it was first polled.
///
/// The listener is created at the first poll: a Ctrl-C before that is not seen (and, if no
/// other listener for SIGINT exists yet, ends the process as usual).
///
/// # Panics
/// If first polled outside a minirt runtime.
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = unix::signal(unix::SignalKind::interrupt())?;
    match interrupt.recv().await {
        Some(()) => Ok(()),
        None => Err(io::Error::other("ctrl_c: the runtime shut down")),
    }
}
