//! The only place in the runtime that makes raw syscalls: a thin, safe wrapper over
//! `epoll_create1`, `epoll_ctl`, `epoll_pwait2` / `epoll_wait` and an `eventfd`.
//!
//! The runtime's other `unsafe` code makes no syscalls: the task cell (`scheduler/task/cell.rs`: a future
//! polled and dropped in place, a waker borrowing the task's `Arc`), `LocalSet`'s `!Send`
//! futures (`scheduler/local.rs`), the scheduler's tagged task pointer, lock-free run queue and
//! worker thread-local (`scheduler/`), and the guards and cells of `sync/`. Each wrapper here
//! owns its fd as an [`OwnedFd`], so it is closed exactly once, and every call retries `EINTR`
//! where retrying is correct.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Turns a `-1` return of a libc call into the thread's `errno` as an `io::Error`.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// The readiness bits a registration is created with: both directions, peer half-close, and
/// edge-triggered, so the kernel reports each *change* once and we never re-arm with `epoll_ctl`.
pub(crate) const INTEREST_ALL: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

/// An epoll instance.
#[derive(Debug)]
pub(crate) struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative return is a fresh fd we own.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        Ok(Epoll { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Registers `fd` with the `events` mask; `token` comes back in every event for it.
    pub(crate) fn add(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event that lives across the call; the kernel copies it.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })
            .map(drop)
    }

    /// Removes `fd` from the interest list. Must run before `fd` is closed.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: since Linux 2.6.9 the event pointer may be null for EPOLL_CTL_DEL.
        cvt(unsafe {
            libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut())
        })
        .map(drop)
    }

    /// Waits for events, filling `events` (its length is reset to what the kernel wrote).
    ///
    /// `timeout` of `None` blocks until an event arrives. The wait never ends before the
    /// timeout: `epoll_pwait2` takes it in nanoseconds; where the kernel lacks that call
    /// (before Linux 5.11) `epoll_wait` takes whole milliseconds, rounded up. An interrupted
    /// wait (`EINTR`) returns with no events rather than being retried: the caller's loop
    /// re-computes its timeout.
    pub(crate) fn wait(
        &self,
        events: &mut Vec<libc::epoll_event>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        events.clear();
        let result = match epoll_pwait2(&self.fd, events, timeout) {
            Some(result) => result,
            None => epoll_wait(&self.fd, events, timeout),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Whether `epoll_pwait2` may work here; cleared the first time the kernel refuses it.
static HAS_EPOLL_PWAIT2: AtomicBool = AtomicBool::new(true);

/// `epoll_pwait2` with no signal mask, or `None` if this kernel does not have it. Called
/// through `syscall` because glibc only wraps it since 2.35.
#[cfg(target_pointer_width = "64")]
fn epoll_pwait2(
    epoll: &OwnedFd,
    events: &mut Vec<libc::epoll_event>,
    timeout: Option<Duration>,
) -> Option<io::Result<()>> {
    if !HAS_EPOLL_PWAIT2.load(Ordering::Relaxed) {
        return None;
    }
    // On 64-bit targets `libc::timespec` is the kernel's `__kernel_timespec`.
    let timespec = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as _,
    });
    let timespec_ptr = timespec.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    let capacity = events.capacity().min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: the events pointer and capacity describe the Vec's allocation, and the kernel
    // writes at most `capacity` events there; the timespec (or null, to block) lives across the
    // call; a null signal mask means "leave the mask alone", so its size argument is unused.
    let n = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            epoll.as_raw_fd(),
            events.as_mut_ptr(),
            capacity,
            timespec_ptr,
            std::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    };
    if n >= 0 {
        // SAFETY: the kernel initialised the first `n` (<= capacity) entries.
        unsafe { events.set_len(n as usize) };
        return Some(Ok(()));
    }
    let err = io::Error::last_os_error();
    // ENOSYS: the kernel predates the call. EPERM: a seccomp filter (older container
    // runtimes) refuses syscalls it does not know. Either way epoll_wait will do.
    if matches!(err.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) {
        HAS_EPOLL_PWAIT2.store(false, Ordering::Relaxed);
        return None;
    }
    Some(Err(err))
}

/// 32-bit targets would need the kernel's 64-bit timespec layout; they use `epoll_wait`.
#[cfg(not(target_pointer_width = "64"))]
fn epoll_pwait2(
    _epoll: &OwnedFd,
    _events: &mut Vec<libc::epoll_event>,
    _timeout: Option<Duration>,
) -> Option<io::Result<()>> {
    None
}

/// `epoll_wait`, with the timeout rounded up to whole milliseconds.
fn epoll_wait(
    epoll: &OwnedFd,
    events: &mut Vec<libc::epoll_event>,
    timeout: Option<Duration>,
) -> io::Result<()> {
    let timeout_ms = match timeout {
        None => -1,
        Some(d) => d.as_nanos().div_ceil(1_000_000).min(libc::c_int::MAX as u128) as libc::c_int,
    };
    let capacity = events.capacity().min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: the pointer and capacity describe the Vec's allocation; the kernel writes at
    // most `capacity` events there, and we set the length to exactly what it wrote.
    let n = cvt(unsafe {
        libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), capacity, timeout_ms)
    })?;
    // SAFETY: the kernel initialised the first `n` (<= capacity) entries.
    unsafe { events.set_len(n as usize) };
    Ok(())
}

/// A non-blocking eventfd: a counter the kernel reports readable while non-zero. Writing to it
/// is how another thread gets a loop parked in `epoll_wait` to return.
#[derive(Debug)]
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers; a non-negative return is a fresh fd we own.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        Ok(EventFd { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Adds one to the counter, making the fd readable.
    pub(crate) fn notify(&self) {
        let one: u64 = 1;
        loop {
            // SAFETY: writes 8 bytes from a valid, live u64.
            let n = unsafe {
                libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), size_of::<u64>())
            };
            // EAGAIN means the counter is saturated, which already wakes the loop; any other
            // failure cannot happen for a valid eventfd, so there is nothing useful to report.
            if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        }
    }

    /// Resets the counter to zero. Not needed to see the next `notify` (edge-triggered epoll
    /// reports every write): the reactor calls it now and then to keep the counter far from
    /// its maximum, where a write would fail with `EAGAIN`.
    pub(crate) fn drain(&self) {
        let mut buf: u64 = 0;
        loop {
            // SAFETY: reads at most 8 bytes into a valid, live u64.
            let n = unsafe {
                libc::read(self.fd.as_raw_fd(), (&mut buf as *mut u64).cast(), size_of::<u64>())
            };
            if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        }
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Both ways of waiting (nanosecond `epoll_pwait2`, and the millisecond `epoll_wait`
    /// fallback) time out, and never before the timeout.
    #[test]
    fn a_wait_never_ends_before_its_timeout() {
        let epoll = Epoll::new().expect("epoll");
        let mut events = Vec::with_capacity(8);
        for use_pwait2 in [true, false] {
            for micros in [0, 1, 100, 999, 1_000, 1_001, 2_500] {
                let timeout = Duration::from_micros(micros);
                let start = Instant::now();
                let result = if use_pwait2 {
                    epoll_pwait2(&epoll.fd, &mut events, Some(timeout))
                        .unwrap_or_else(|| epoll_wait(&epoll.fd, &mut events, Some(timeout)))
                } else {
                    epoll_wait(&epoll.fd, &mut events, Some(timeout))
                };
                match result {
                    Ok(()) => {
                        let took = start.elapsed();
                        assert!(events.is_empty(), "nothing is registered");
                        assert!(took >= timeout, "{timeout:?} ended after {took:?}");
                    }
                    // A signal may cut a wait short; the loop above it would simply wait again.
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => panic!("wait failed: {e}"),
                }
            }
        }
    }
}
