//! The reactor: turns epoll readiness events into woken tasks.
//!
//! # How data flows through it
//!
//! ```text
//!  Registration::new(fd) ──► slab slot {generation, Arc<ScheduledIo>}
//!                            epoll_ctl(ADD, fd, IN|OUT|RDHUP|ET, token = generation<<32 | slot)
//!
//!  an operation (read, write, accept, ...)
//!    1. poll_ready(interest)   ── readiness bit set? ──► try the syscall
//!    2. syscall says EAGAIN    ──► clear_readiness(event): only if the tick is unchanged
//!    3. poll_ready again       ──► bit clear: store the task's waker, return Pending
//!
//!  the scheduler's loop calls Reactor::poll
//!    epoll_wait ──► for each event: look the token up in the slab, check its generation,
//!                   OR the new bits into the slot's readiness (tick + 1), take the wakers
//!                   of every waiter the new bits concern
//!               ──► hand them to the loop, which wakes them with the due timers' wakers
//!                   (outside every lock, `wake::wake_all`: a waker that panics cannot lose
//!                   the others): the tasks go back on the run queue
//! ```
//!
//! Each fd is registered exactly once, edge-triggered, for the directions its owner asked for
//! (both, by default). Edge-triggered means the kernel reports a *change* of readiness once, so
//! the reactor has to remember it: every registration keeps a cached readiness word
//! (`ScheduledIo::readiness`). The word starts empty: `EPOLL_CTL_ADD` itself queues an event
//! for whatever the fd is ready for at that moment, so the first `epoll_wait` fills it in. An
//! owner that knows better says so with `assume_ready` (an accepted stream is assumed readable
//! and writable, so its first read simply tries the syscall; a listener readable; a fresh pair
//! writable). A
//! readiness bit is cleared only when a syscall returns `EAGAIN`, and never re-armed with
//! `epoll_ctl`.
//!
//! The *tick* in the readiness word closes a race: an event may arrive between a syscall
//! returning `EAGAIN` and the clearing of the bit. Every event bumps the tick, and
//! `clear_readiness` only clears if the tick is the one the operation observed before its
//! syscall, so a fresh event is never thrown away.
//!
//! The *generation* in the epoll token makes stale events harmless: when a slot is freed and
//! reused for a new fd, an event still carrying the old token finds a different generation and
//! wakes nobody.
//!
//! # Waiters
//!
//! Any number of tasks may wait on one registration, in the same direction or not. There are
//! two kinds of waiter, as in tokio:
//!
//! - the poll API (`poll_ready`, used by `AsyncRead`/`AsyncWrite` and every `poll_*` method)
//!   has no future of its own to keep a place in, so it gets one slot per direction, `reader`
//!   and `writer`: the single-reader / single-writer fast path. A second task polling the same
//!   direction replaces the first one's waker (tokio's documented `poll_read_ready` rule).
//! - a future (`AsyncFd::readable`, `accept`, `recv`, ...) holds a [`Waiter`](registration::Waiter), which owns an
//!   entry in the registration's waiter slab for as long as the future lives. An event wakes
//!   *every* entry whose interest it concerns; dropping the future (cancelling it) removes its
//!   entry, so nothing leaks and nothing is woken for a waiter that is gone.
//!
//! A waker's `clone`, `wake` and `drop` run foreign code (a task's waker can be the last owner
//! of a whole task), so none of them ever runs while a reactor lock is held: a waker is cloned
//! before the lock is taken, and replaced or removed wakers are carried out of the critical
//! section and dropped after it.

mod epoll;
mod ready;
mod registration;
mod scheduled_io;

pub(crate) use epoll::Reactor;
pub use ready::{Interest, Ready};
pub(crate) use registration::Registration;
pub(crate) use scheduled_io::ReadyEvent;
