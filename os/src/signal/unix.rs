//! Unix signals as async streams: [`signal`] returns a [`Signal`] whose [`recv`](Signal::recv)
//! completes once per delivery of its [`SignalKind`]. Tokio's `tokio::signal::unix`. See the
//! parent module for the data flow.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest};

use super::registry;
use crate::sys;

/// A signal number, with tokio's names for the common ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

/// Declares the constructors of the usual signals, tokio's names: `alarm()` is `SIGALRM`, ...
macro_rules! signal_kinds {
    ($($(#[$doc:meta])* $name:ident => $signum:ident;)*) => {$(
        $(#[$doc])*
        pub const fn $name() -> SignalKind {
            SignalKind(libc::$signum)
        }
    )*};
}

impl SignalKind {
    /// Any signal by number (a real-time one, say). Forbidden or invalid numbers are accepted
    /// here and refused by [`signal`].
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    signal_kinds! {
        /// SIGALRM: a timer set with `alarm(2)` expired.
        alarm => SIGALRM;
        /// SIGCHLD: a child process exited or stopped.
        child => SIGCHLD;
        /// SIGHUP: the terminal hung up; daemons take it as "reload your configuration".
        hangup => SIGHUP;
        /// SIGINT: Ctrl-C in a terminal.
        interrupt => SIGINT;
        /// SIGIO: I/O is possible on an fd set up for it.
        io => SIGIO;
        /// SIGPIPE: a write to a pipe or socket with no reader.
        pipe => SIGPIPE;
        /// SIGQUIT: Ctrl-\ in a terminal.
        quit => SIGQUIT;
        /// SIGTERM: the polite request to exit (what `kill` and service managers send).
        terminate => SIGTERM;
        /// SIGUSR1, for the program's own use.
        user_defined1 => SIGUSR1;
        /// SIGUSR2, for the program's own use.
        user_defined2 => SIGUSR2;
        /// SIGWINCH: the terminal window changed size.
        window_change => SIGWINCH;
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for libc::c_int {
    fn from(kind: SignalKind) -> libc::c_int {
        kind.0
    }
}

/// A listener for one kind of signal, created by [`signal`].
///
/// Each `Signal` holds one fd (a `dup` of the process's signal pipe) registered with the
/// runtime it was created in; dropping it closes that fd. Other listeners, and the process-wide
/// handler, are not affected.
pub struct Signal {
    slot: usize,
    /// This listener's key in the registry's waiter list.
    id: u64,
    /// The generation of this signal last reported by `recv` (or current at creation).
    seen: u64,
    pipe: AsyncFd<OwnedFd>,
}

/// Starts listening for `kind`: installs the process-wide handler for it if this is the first
/// listener ever, and registers a listener with the current runtime.
///
/// Every delivery after this call is reported by the returned [`Signal`], coalesced: if the
/// signal arrives twice before a `recv`, that `recv` completes once.
///
/// # Errors
/// `InvalidInput` for SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE and numbers outside
/// `1..=SIGRTMAX`; an OS error if `sigaction`, `pipe2`, `dup` or epoll fails (`EMFILE`, say).
///
/// # Panics
/// Outside a minirt runtime.
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let slot = sys::signal::slot(kind.0)?;
    sys::signal::install(kind.0)?;
    let seen = registry::generation(slot);
    let pipe = AsyncFd::new(sys::signal::dup_read_end()?)?;
    Ok(Signal { slot, id: registry::next_id(), seen, pipe })
}

impl Signal {
    /// Waits for the next delivery of this signal. `None` only if the runtime this `Signal`
    /// was created in has shut down.
    ///
    /// Cancel-safe: dropping the future loses nothing; the delivery is reported by the next
    /// call.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`Signal::recv`]: `Ready(Some(()))` once per (coalesced) delivery,
    /// `Pending` with the task's waker stored otherwise.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let Signal { slot, id, seen, pipe } = self;
        // Before the check: a dispatch that bumps the generation after it wakes this waker.
        registry::register(*slot, *id, cx.waker());
        let mut fresh = || {
            let generation = registry::generation(*slot);
            let is_new = generation != *seen;
            *seen = generation;
            is_new
        };
        if fresh() {
            return Poll::Ready(Some(()));
        }
        let polled = pipe.poll_io(cx, Interest::READABLE, || {
            registry::dispatch(pipe.get_ref().as_fd());
            if fresh() {
                Ok(())
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            }
        });
        match polled {
            Poll::Ready(Ok(())) => Poll::Ready(Some(())),
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        registry::deregister(self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("signum", &self.slot).finish_non_exhaustive()
    }
}
