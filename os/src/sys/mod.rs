//! Every raw syscall of minirt-os, one file per kind of resource, as in mio's unix backend:
//! `socket` (TCP, UDP and Unix sockets), `process` (pidfds and child pipes), `signal`
//! (`sigaction`, the self-pipe and the handler) and `stdio` (what fd 0 is). Each call goes through [`cvt`] (a `-1`
//! return becomes `errno` as an `io::Error`) or [`cvt_r`] (the same, retrying `EINTR`), so a
//! signal that interrupts a syscall never surfaces as an error.
//!
//! The rest of the crate sees only safe functions and types; the `unsafe` blocks sit here,
//! each with the reason it holds.

use std::io;

pub(crate) mod process;
pub(crate) mod signal;
mod socket;
pub(crate) mod stdio;

pub(crate) use socket::{socket_options, Connect, IntOption, RawAddr, Socket, UnixName};

/// Turns a `-1` return into `errno`.
fn cvt<T: Copy + PartialEq + From<i8>>(ret: T) -> io::Result<T> {
    if ret == T::from(-1) {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Like `cvt`, retrying while the call was interrupted by a signal (`EINTR`).
fn cvt_r<T: Copy + PartialEq + From<i8>>(mut call: impl FnMut() -> T) -> io::Result<T> {
    loop {
        match cvt(call()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets the thread's `errno`, as a failing libc call would.
    fn set_errno(value: libc::c_int) {
        // SAFETY: `__errno_location` returns a valid pointer to this thread's errno.
        unsafe { *libc::__errno_location() = value };
    }

    #[test]
    fn cvt_r_retries_eintr_and_returns_the_first_other_answer() {
        let mut calls = 0;
        let result = cvt_r(|| {
            calls += 1;
            if calls < 3 {
                set_errno(libc::EINTR);
                -1
            } else {
                7
            }
        });
        assert_eq!(result.ok(), Some(7));
        assert_eq!(calls, 3);

        let mut calls = 0;
        let err = cvt_r(|| {
            calls += 1;
            set_errno(libc::EBADF);
            -1_isize
        })
        .expect_err("EBADF is an error");
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        assert_eq!(calls, 1, "only EINTR is retried");
    }

    #[test]
    fn cvt_passes_eintr_through() {
        set_errno(libc::EINTR);
        let err = cvt(-1_i32).expect_err("-1 is an error");
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        assert_eq!(cvt(0_i64).ok(), Some(0));
    }
}
