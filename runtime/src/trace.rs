//! `MINIRT_TRACE=1`: one line on stderr per step of the data path, for a reader who wants to
//! watch a readiness event travel from `epoll_wait` to a polled task.
//!
//! ```text
//! minirt-trace [main] epoll_wait (timeout None): 1 event(s)
//! minirt-trace [main]   token 0x0000000200000002 -> fd 7: EPOLLIN|EPOLLOUT, woke reader
//! minirt-trace [main] task 1 woken: onto the run queue
//! minirt-trace [main] task 1 polled -> Ready
//! minirt-trace [main] epoll_wait (timeout Some(996.617µs)): 0 event(s)
//! minirt-trace [main] timer fired (late by 146.856µs)
//! minirt-trace [unnamed] eventfd write: wake the thread parked in epoll_wait
//! ```
//!
//! How it stays free when off: the variable is read once, on the first call to [`enabled`], and
//! its answer is cached in a static byte. Every later call is one relaxed load and one compare
//! against `OFF`, a branch that always goes the same way and that the CPU predicts perfectly;
//! the formatting sits behind it, in a `#[cold]`, never-inlined function ([`cold`], [`emit`]).
//! (`docs/BENCHMARKS-notebook.md`, "MINIRT_TRACE off", has the callgrind counts.)
//!
//! Where the hooks are:
//!
//! - `reactor/`: `Reactor::poll` (`epoll_wait` returned n events; per event the token, the
//!   fd, the epoll bits, and which waiters — reader, writer, per-future
//!   list — it woke; the eventfd's own wake-up event) and `Reactor::unpark` (the eventfd
//!   write that interrupts a parked `epoll_wait`: a wake from another thread);
//! - `scheduler/task/cell.rs`: a task woken by value (`Wake::wake`: what the reactor, the timers and
//!   other threads do; `wake_by_ref` from inside a poll, as `yield_now` does, is not traced),
//!   a poll that left the task waiting (`-> Pending`), and a task completing (`-> Ready`,
//!   panicked, cancelled). These hooks are plain cold functions (`task_pending`, ...) placed
//!   where `Task::run` already branches: see `task_pending` for why;
//! - `timer/mod.rs`: a timer fired, and how late.
//!
//! Not traced: a multi-thread worker parking (in `epoll_wait` or on its condvar) and being
//! unparked, and the decision to write the eventfd on a cross-thread wake (the
//! `Reactor::unpark` line covers the write itself, not who asked for it). Hooks for those
//! would go in `scheduler/multi_thread/`.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// Not read yet.
const UNKNOWN: u8 = 0;
/// `MINIRT_TRACE` unset, empty, or `0`.
const OFF: u8 = 1;
/// `MINIRT_TRACE` set to anything else.
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether `MINIRT_TRACE` is on. After the first call: one load, one well-predicted branch.
#[inline(always)]
pub(crate) fn enabled() -> bool {
    let state = STATE.load(Ordering::Relaxed);
    if state == OFF {
        return false;
    }
    state == ON || init()
}

/// Reads the variable once. Two threads racing here both read the same environment, so
/// whichever store lands last stores the same answer.
#[cold]
#[inline(never)]
fn init() -> bool {
    let on = std::env::var_os("MINIRT_TRACE").is_some_and(|v| !v.is_empty() && v != "0");
    STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
    on
}

/// Writes one trace line to stderr, prefixed with the thread's name. Errors writing stderr
/// are ignored: tracing must never change what the program does.
#[cold]
#[inline(never)]
pub(crate) fn emit(args: fmt::Arguments<'_>) {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed");
    let _ = writeln!(std::io::stderr().lock(), "minirt-trace [{name}] {args}");
}

/// `trace!("format", args..)`: formats and prints only when `MINIRT_TRACE` is on; otherwise
/// the arguments are not even evaluated.
///
/// The formatting goes into a closure run by [`cold`], so the function that traces keeps only
/// the load, the compare and a branch over a call: its size, and so the compiler's inlining
/// decisions around it, stay what they were without the trace (a first version that built the
/// `fmt::Arguments` inline made `Task::run` large enough that the scheduler's
/// `try_schedule_local` stopped being inlined: +15% instructions on `yield_many`).
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::trace::enabled() {
            $crate::trace::cold(|| $crate::trace::emit(format_args!($($arg)*)))
        }
    };
}
pub(crate) use trace;

/// Runs `f` out of line, marked cold: keeps a trace's formatting out of the hot function.
#[cold]
#[inline(never)]
pub(crate) fn cold<F: FnOnce()>(f: F) {
    f()
}

/// The `scheduler/task/cell.rs` hook after a poll that returned `Pending` and left the task waiting.
/// A plain function called from the `Idle::Wait` arm, not a `trace!` right after the poll:
/// `Task::run` is generic and hot, and a check there (even calling out to a cold function)
/// made the compiler stop inlining the scheduler's `try_schedule_local` into it, which
/// showed in `yield_many`'s instruction count (`docs/BENCHMARKS-notebook.md`, "MINIRT_TRACE
/// off"). A poll that
/// returns `Pending` after waking itself (`yield_now`, a spent budget) shows as the
/// `task N woken` line that precedes it.
#[cold]
#[inline(never)]
pub(crate) fn task_pending(id: u64) {
    emit(format_args!("task {id} polled -> Pending"));
}

/// The `scheduler/task/cell.rs` hook when a task completes: its poll returned `Ready`, or it panicked,
/// or it was cancelled (`error` says which).
#[cold]
#[inline(never)]
pub(crate) fn task_completed(id: u64, outcome: Outcome) {
    match outcome {
        Outcome::Ready => emit(format_args!("task {id} polled -> Ready")),
        Outcome::Panicked => emit(format_args!("task {id} polled -> panicked")),
        Outcome::Cancelled => emit(format_args!("task {id} cancelled")),
    }
}

/// How a task completed, for [`task_completed`].
pub(crate) enum Outcome {
    Ready,
    Panicked,
    Cancelled,
}

/// The `scheduler/task/cell.rs` hook when a wake queues a task.
#[cold]
#[inline(never)]
pub(crate) fn task_woken(id: u64) {
    emit(format_args!("task {id} woken: onto the run queue"));
}

/// Displays raw `epoll_event.events` bits by their kernel names (`EPOLLIN|EPOLLRDHUP`).
pub(crate) struct EpollBits(pub(crate) u32);

impl fmt::Display for EpollBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(libc::c_int, &str); 6] = [
            (libc::EPOLLIN, "EPOLLIN"),
            (libc::EPOLLPRI, "EPOLLPRI"),
            (libc::EPOLLOUT, "EPOLLOUT"),
            (libc::EPOLLERR, "EPOLLERR"),
            (libc::EPOLLHUP, "EPOLLHUP"),
            (libc::EPOLLRDHUP, "EPOLLRDHUP"),
        ];
        let mut first = true;
        for (bit, name) in NAMES {
            if self.0 & bit as u32 != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            write!(f, "{:#x}", self.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::EpollBits;

    #[test]
    fn epoll_bits_are_named() {
        let bits = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        assert_eq!(EpollBits(bits).to_string(), "EPOLLIN|EPOLLRDHUP");
        assert_eq!(EpollBits(0).to_string(), "0x0");
    }
}
