//! Async I/O traits and readiness over any file descriptor.
//!
//! - [`AsyncRead`] / [`AsyncWrite`] are the runtime-neutral traits of the `futures-io` crate, so
//!   code written for the `futures` ecosystem works on minirt unchanged.
//! - [`AsyncReadExt`] / [`AsyncWriteExt`] add tokio's method names on top of them (`read`,
//!   `read_exact`, `write_all`, `shutdown`, ...), so porting from tokio is mostly a rename.
//! - [`AsyncFd`] turns any fd into something a task can await readiness on: it is how
//!   `minirt::net` builds its sockets, and how a user builds a new I/O type (a pipe, a tty, an
//!   inotify fd) without touching the runtime.

mod async_fd;
mod ext;

pub use async_fd::{
    AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdTryNewError, TryIoError,
};
pub use ext::{
    copy, AsyncReadExt, AsyncWriteExt, Copy, Flush, Read, ReadExact, ReadToEnd, ReadToString,
    Shutdown, Write, WriteAll,
};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

pub use crate::reactor::{Interest, Ready};
