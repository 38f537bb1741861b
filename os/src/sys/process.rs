//! Child processes: `pidfd_open` (an fd that turns readable when a process exits), switching a
//! pipe fd between blocking and non-blocking mode, and `read` / `write` on a pipe.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{cvt, cvt_r};

/// `pidfd_open(pid, 0)`: an fd referring to process `pid` (Linux 5.3+), close-on-exec. It polls
/// readable once the process has exited. `ENOSYS` on older kernels (or `EPERM` under a seccomp
/// filter that does not know the call).
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is passed.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::other("pidfd_open: bad fd"))?;
    // SAFETY: the syscall succeeded, so `fd` is a new open fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets or clears `O_NONBLOCK` on `fd`'s file description.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument and only reads the fd's flags.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let flags = if nonblocking { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    // SAFETY: F_SETFL with an int of flags derived from the fd's own.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }).map(drop)
}

/// `read(2)` into `buf`, retrying `EINTR`. `Ok(0)` is EOF (every write end closed).
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
    let n = cvt_r(|| unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })?;
    Ok(n as usize) // not -1, so a count between 0 and `buf.len()`
}

/// `write(2)` from `buf`, retrying `EINTR`. With no reader left it fails with `EPIPE`
/// (`BrokenPipe`) — and raises SIGPIPE, which Rust programs ignore from `main` on.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of reads.
    let n = cvt_r(|| unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })?;
    Ok(n as usize) // not -1, so a count between 0 and `buf.len()`
}

/// `writev(2)` from several buffers, retrying `EINTR`.
pub(crate) fn write_vectored(fd: BorrowedFd<'_>, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    let count = bufs.len().min(1024) as libc::c_int;
    // SAFETY: `IoSlice` is ABI-compatible with `iovec`, and `count` entries are valid.
    let n = cvt_r(|| unsafe { libc::writev(fd.as_raw_fd(), bufs.as_ptr().cast(), count) })?;
    Ok(n as usize) // not -1, so a count of bytes written
}
