//! [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: the parent's ends of a child's standard
//! pipes, as `futures-io` [`AsyncWrite`] / [`AsyncRead`].
//!
//! `std::process::Command` creates the pipes (close-on-exec); the parent's end is switched to
//! non-blocking mode (the child's end is a separate file description and stays blocking) and
//! registered with the runtime through an [`AsyncFd`]. A read that would block waits for
//! `EPOLLIN`; the child closing its end (or exiting) gives `EPOLLHUP` and then `read` = 0,
//! EOF. A write into a full pipe waits for `EPOLLOUT`; a write after the child closed its end
//! fails with `BrokenPipe` (`EPIPE`).

use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use minirt_runtime::io::{AsyncFd, Interest};

use crate::sys;

/// One registered, non-blocking pipe end.
struct Pipe {
    io: AsyncFd<OwnedFd>,
}

impl Pipe {
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        sys::process::set_nonblocking(fd.as_fd(), true)?;
        Ok(Pipe { io: AsyncFd::new(fd)? })
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let fd = self.io.get_ref().as_fd();
        self.io.poll_io(cx, Interest::READABLE, || sys::process::read(fd, buf))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let fd = self.io.get_ref().as_fd();
        self.io.poll_io(cx, Interest::WRITABLE, || sys::process::write(fd, buf))
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let fd = self.io.get_ref().as_fd();
        self.io.poll_io(cx, Interest::WRITABLE, || sys::process::write_vectored(fd, bufs))
    }

    /// Deregisters the fd and puts it back in blocking mode, ready to hand to another process.
    fn into_owned_fd(self) -> io::Result<OwnedFd> {
        let fd = self.io.into_inner();
        sys::process::set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }
}

/// The write end of a child's stdin pipe. Dropping it is how the child sees EOF (`close` from
/// `AsyncWriteExt` does not close the fd, as tokio's `shutdown` does not: drop the value).
pub struct ChildStdin {
    pipe: Pipe,
}

/// The read end of a child's stdout pipe.
pub struct ChildStdout {
    pipe: Pipe,
}

/// The read end of a child's stderr pipe.
pub struct ChildStderr {
    pipe: Pipe,
}

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_write_vectored(cx, bufs)
    }

    /// A pipe has no user-space buffer: nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do: a pipe has no half-close. Drop the `ChildStdin` to give the child EOF.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What the three pipe types share: `from_std`, `into_owned_fd`, the conversion to `Stdio`,
/// the fd traits and `Debug`; with `read`, `AsyncRead` too.
macro_rules! pipe_impls {
    ($ty:ident, $std:ty $(, $read:ident)?) => {
        impl $ty {
            #[doc = concat!(
                "Wraps a std `", stringify!($ty), "` (switched to non-blocking mode) for the ",
                "current runtime."
            )]
            ///
            /// # Panics
            /// Outside a minirt runtime.
            pub fn from_std(std: $std) -> io::Result<$ty> {
                Ok($ty { pipe: Pipe::new(OwnedFd::from(std))? })
            }

            /// Gives the fd back, deregistered and in blocking mode.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.into_owned_fd()
            }
        }

        impl TryFrom<$ty> for Stdio {
            type Error = io::Error;

            /// The pipe, back in blocking mode, as another child's stdio.
            fn try_from(pipe: $ty) -> io::Result<Stdio> {
                pipe.into_owned_fd().map(Stdio::from)
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.as_fd().as_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.io.get_ref().as_fd()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).field("fd", &self.as_raw_fd()).finish()
            }
        }

        $(pipe_impls!(@$read $ty);)?
    };
    (@read $ty:ident) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }
        }
    };
}

pipe_impls!(ChildStdin, std::process::ChildStdin);
pipe_impls!(ChildStdout, std::process::ChildStdout, read);
pipe_impls!(ChildStderr, std::process::ChildStderr, read);
