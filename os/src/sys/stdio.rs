//! Standard input: what kind of file fd 0 is, a close-on-exec copy of it, and a `recv` that
//! never blocks, for the socket case.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{cvt, cvt_r};

/// The file type bits (`st_mode & S_IFMT`) of `fd`: `S_IFIFO`, `S_IFSOCK`, `S_IFREG`, ...
/// `EBADF` when `fd` is closed.
pub(crate) fn file_type(fd: RawFd) -> io::Result<libc::mode_t> {
    // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out pointer; a closed `fd` is reported (EBADF), not touched.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st.st_mode & libc::S_IFMT)
}

/// A new close-on-exec fd (numbered 3 or above) for `fd`'s open file description.
pub(crate) fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an int and returns a new fd or -1; no memory is passed.
    let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: `new` was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// `recv(MSG_DONTWAIT)` into `buf`, retrying `EINTR`: non-blocking on this call alone, so the
/// socket's own flags (shared with whoever else has it as fd 0) stay untouched.
pub(crate) fn recv_dontwait(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes; `fd` is open.
    let n = cvt_r(|| unsafe {
        libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
    })?;
    Ok(n as usize) // not -1, so a count between 0 and `buf.len()`
}
