//! Knowing when a child exits, and reaping it even when nobody waits.
//!
//! ```text
//!  spawn ─ fork/exec (std) ─ pidfd_open(pid) ─────────────── kept raw until the first wait
//!  wait  ─ AsyncFd::new(pidfd) (registered with the runtime that waits)
//!          └─ loop: waitpid(pid, WNOHANG) → status?  done
//!                   else wait for EPOLLIN on the pidfd (the kernel sets it when the child exits)
//! ```
//!
//! Fallback, for kernels without `pidfd_open` (before 5.3: `ENOSYS`; or a seccomp filter that
//! answers `EPERM`): a SIGCHLD listener from [`crate::signal`], created before the first
//! `waitpid(WNOHANG)`, so an exit between the two is not missed; every SIGCHLD re-checks.
//! SIGCHLD coalesces and says nothing about *which* child exited, which is why each waiter
//! re-checks its own pid.
//!
//! Reaping: a `Child` dropped before its exit was seen hands its [`Process`] to a small reaper
//! task on the current runtime, which waits as above and reaps it. With no runtime on the
//! thread (or when the runtime shuts down first and drops that task), the `std` child goes to
//! a process-wide orphan list, which is reaped (`waitpid(WNOHANG)` on each) at every `spawn`
//! and every completed `wait`. So no exited child stays a zombie longer than the next of those.

use std::future::poll_fn;
use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest};
use minirt_runtime::runtime::Handle;

use crate::signal::unix::{signal, Signal, SignalKind};
use crate::sys;

/// Set by tests to exercise the SIGCHLD fallback on a kernel that has `pidfd_open`.
static FORCE_SIGCHLD: AtomicBool = AtomicBool::new(false);

/// Children dropped while no runtime could reap them (see the module docs).
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// How the exit of one child is detected.
enum Watch {
    /// A pidfd: raw until the first wait, then registered with that waiter's runtime.
    Pidfd { raw: Option<OwnedFd>, registered: Option<AsyncFd<OwnedFd>> },
    /// The SIGCHLD listener, created on the first wait.
    Sigchld(Option<Signal>),
}

/// A spawned child and how its exit is detected; the status once it has been reaped.
pub(crate) struct Process {
    std: std::process::Child,
    watch: Watch,
    status: Option<ExitStatus>,
}

impl Process {
    /// Opens the exit watch for a just-spawned child. Fails only on an unexpected
    /// `pidfd_open` error (`EMFILE`, say); `ENOSYS`/`EPERM` select the SIGCHLD fallback.
    pub(crate) fn new(
        std: std::process::Child,
    ) -> Result<Process, (io::Error, std::process::Child)> {
        let watch = if FORCE_SIGCHLD.load(Ordering::Relaxed) {
            Watch::Sigchld(None)
        } else {
            match sys::process::pidfd_open(std.id()) {
                Ok(fd) => Watch::Pidfd { raw: Some(fd), registered: None },
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    Watch::Sigchld(None)
                }
                Err(e) => return Err((e, std)),
            }
        };
        Ok(Process { std, watch, status: None })
    }

    /// The OS pid, until the exit has been seen.
    pub(crate) fn id(&self) -> Option<u32> {
        self.status.is_none().then(|| self.std.id())
    }

    pub(crate) fn status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// Sends SIGKILL, unless the child has been reaped already (its pid may belong to another
    /// process by now).
    pub(crate) fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std.kill()
    }

    /// Reaps the child if it has exited; never waits.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.std.try_wait()?;
            if self.status.is_some() {
                reap_orphans();
            }
        }
        Ok(self.status)
    }

    /// Waits for the exit and reaps the child.
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(status) = self.status {
            return Poll::Ready(Ok(status));
        }
        let polled = match &mut self.watch {
            Watch::Pidfd { raw, registered } => {
                if let Some(fd) = raw.take() {
                    *registered = Some(AsyncFd::new(fd)?);
                }
                match registered {
                    Some(pidfd) => {
                        let std = &mut self.std;
                        pidfd.poll_io(cx, Interest::READABLE, || match std.try_wait()? {
                            Some(status) => Ok(status),
                            // Not exited: a stale readiness (a pidfd turns readable only at exit).
                            None => Err(io::ErrorKind::WouldBlock.into()),
                        })
                    }
                    None => Poll::Ready(Err(io::Error::other("pidfd lost"))),
                }
            }
            Watch::Sigchld(listener) => {
                let listener = match listener {
                    Some(listener) => listener,
                    None => listener.insert(signal(SignalKind::child())?),
                };
                loop {
                    if let Some(status) = self.std.try_wait()? {
                        break Poll::Ready(Ok(status));
                    }
                    match listener.poll_recv(cx) {
                        Poll::Ready(Some(())) => continue,
                        Poll::Ready(None) => {
                            break Poll::Ready(Err(io::Error::other("the runtime shut down")))
                        }
                        Poll::Pending => break Poll::Pending,
                    }
                }
            }
        };
        if let Poll::Ready(Ok(status)) = polled {
            self.status = Some(status);
            reap_orphans();
        }
        polled
    }

    /// Makes sure this child is reaped once it exits, without anyone waiting for it.
    pub(crate) fn reap_in_background(mut self) {
        match self.std.try_wait() {
            // Exited and reaped now; or someone else reaped it (ECHILD): nothing left to do.
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => {}
        }
        let mut orphan = Orphan(Some(self));
        match Handle::try_current() {
            Ok(handle) => {
                // If the runtime drops this task before the child exits, `Orphan`'s drop moves
                // the child to the orphan list.
                drop(handle.spawn(async move {
                    let Some(process) = orphan.0.as_mut() else { return };
                    if poll_fn(|cx| process.poll_wait(cx)).await.is_ok() {
                        // Reaped: nothing for `Orphan`'s drop to do.
                        orphan.0.take();
                    }
                }));
            }
            Err(_) => drop(orphan),
        }
    }
}

/// A child nobody waits for; moved to the orphan list when dropped unreaped.
struct Orphan(Option<Process>);

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(process) = self.0.take() {
            if process.status.is_none() {
                let Process { std, watch, .. } = process;
                // The pidfd and any listener close here, outside the lock.
                drop(watch);
                ORPHANS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(std);
            }
        }
    }
}

/// Reaps every orphan that has exited.
pub(crate) fn reap_orphans() {
    let mut orphans = ORPHANS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // `try_wait` is one waitpid(WNOHANG); a std Child whose stdio was taken drops nothing.
    orphans.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
}

/// Makes every child spawned from now on use the SIGCHLD fallback (or pidfds again), to test
/// the fallback on kernels that have `pidfd_open`. Not part of the API.
#[doc(hidden)]
pub fn force_sigchld_fallback(force: bool) {
    FORCE_SIGCHLD.store(force, Ordering::Relaxed);
}
