//! Async I/O traits and readiness over any file descriptor.
//!
//! - [`AsyncRead`] / [`AsyncWrite`] are the runtime-neutral traits of the `futures-io` crate, so
//!   code written for the `futures` ecosystem works on minirt unchanged.
//! - [`AsyncReadExt`] / [`AsyncWriteExt`] add tokio's method names on top of them (`read`,
//!   `read_exact`, `write_all`, `shutdown`, ...), so porting from tokio is mostly a rename.
//! - [`AsyncFd`] turns any fd into something a task can await readiness on: it is how
//!   `minirt::net` builds its sockets, and how a user builds a new I/O type (a pipe, a tty, an
//!   inotify fd) without touching the runtime.
//! - Buffers and lines: [`BufReader`], [`BufWriter`], [`BufStream`] and [`AsyncBufReadExt`]
//!   (`read_line`, `lines`, `split`, ...): bytes flow from the inner reader into a buffer, and
//!   the line methods take from the buffer up to each delimiter.
//! - Plumbing: [`copy`], [`copy_buf`], [`copy_bidirectional()`], [`split()`] into halves, the
//!   in-memory [`duplex()`] pipe, and [`empty`], [`sink`], [`repeat`].

mod adapters;
mod async_fd;
mod buf_read_ext;
mod buf_reader;
mod buf_stream;
mod buf_writer;
mod copy_bidirectional;
mod duplex;
mod ext;
mod read_uninit;
mod split;
#[cfg(feature = "tokio-io")]
#[doc(hidden)]
pub mod tokio_io;
mod util;

pub use async_fd::{
    AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdRegisterError, AsyncFdTryNewError,
    TryIoError,
};
pub use ext::{
    copy, AsyncReadExt, AsyncWriteExt, Copy, Flush, Read, ReadExact, ReadToEnd, ReadToString,
    Shutdown, Write, WriteAll,
};
pub use ext::{
    copy_buf, AsyncSeekExt, CopyBuf, ReadBuf, ReadNum, Seek, WriteAllBuf, WriteBuf, WriteNum,
    WriteVectored,
};

pub use adapters::{Chain, Take};
pub use buf_read_ext::{AsyncBufReadExt, FillBuf, Lines, ReadLine, ReadUntil, Split};
pub use buf_reader::BufReader;
pub use buf_stream::BufStream;
pub use buf_writer::BufWriter;
pub use copy_bidirectional::{
    copy_bidirectional, copy_bidirectional_with_sizes, CopyBidirectional,
};
pub use duplex::{duplex, DuplexStream};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use read_uninit::{AsyncReadUninit, ZeroFill};
pub use split::{split, ReadHalf, WriteHalf};
pub use std::io::{Error, ErrorKind, Result, SeekFrom};
pub use util::{empty, repeat, sink, Empty, Repeat, Sink};

pub use crate::reactor::{Interest, Ready};
