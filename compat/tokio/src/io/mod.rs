//! tokio's io: its four traits with its signatures ([`AsyncRead`] fills a [`ReadBuf`]), the
//! `*Ext` traits, buffers, copies, pipes, and the standard streams.
//!
//! minirt's own streams keep their `futures-io` traits; `bridge` implements these traits for
//! them on the same objects (no wrapper, no copy), so `tokio::net::TcpStream` is
//! `minirt::net::TcpStream`. Everything else here is written against these traits only.

/// `ready!(poll)?` for a poll inside a loop, where `Interrupted` means "try again" (as
/// tokio's utilities treat it, like std's `read_exact`/`write_all`).
macro_rules! ready_retry {
    ($e:expr) => {
        match std::task::ready!($e) {
            Ok(v) => v,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return std::task::Poll::Ready(Err(e.into())),
        }
    };
}

pub(crate) mod bridge;
mod buffered;
mod copy;
mod ext_buf;
mod ext_read;
mod ext_write;
mod misc;
mod read_buf;
mod traits;

pub use buffered::{BufReader, BufStream, BufWriter};
pub use copy::{copy, copy_bidirectional, copy_bidirectional_with_sizes, copy_buf};
pub use ext_buf::{AsyncBufReadExt, AsyncSeekExt, Lines, Split};
pub use ext_read::AsyncReadExt;
pub use ext_write::AsyncWriteExt;
pub use misc::{
    empty, join, repeat, simplex, sink, split, Chain, Empty, Join, ReadHalf, Repeat, SimplexStream,
    Sink, Take, WriteHalf,
};
pub use read_buf::ReadBuf;
pub use traits::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

pub use minirt::io::{duplex, DuplexStream, Interest, Ready};
pub use minirt::io::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
pub use std::io::{Error, ErrorKind, Result, SeekFrom};

/// Readiness over any file descriptor (tokio's `tokio::io::unix`): minirt's `AsyncFd`.
pub mod unix {
    pub use minirt::io::{
        AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdRegisterError, AsyncFdTryNewError,
        TryIoError,
    };
}

/// The future types of the `*Ext` traits (tokio keeps them unnameable; here they have a path so
/// they can be documented).
#[doc(hidden)]
pub mod util {
    pub use super::copy::{Copy, CopyBuf};
    pub use super::ext_buf::{FillBuf, ReadLine, ReadUntil, Seek};
    pub use super::ext_read::{Read, ReadBufFuture, ReadExact, ReadNum, ReadToEnd, ReadToString};
    pub use super::ext_write::{
        Flush, Shutdown, Write, WriteAll, WriteAllBuf, WriteBuf, WriteNum, WriteVectored,
    };
}
