//! [`AsyncReadUninit`]: a read into memory that may be uninitialised.
//!
//! `futures-io`'s `poll_read` takes `&mut [u8]`, so a caller holding uninitialised memory (the
//! spare capacity of a `Vec` or `BytesMut`, hyper's read buffer, tokio's `ReadBuf`) has to zero
//! it first, only for the kernel to overwrite it. A reader whose bytes come straight from
//! `read(2)`/`recv(2)` (minirt's TCP and Unix streams and their read halves) can take the
//! uninitialised memory as it is: the kernel only writes into it.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncRead;

/// A reader that can read into uninitialised memory: `poll_read` without the zeroing.
///
/// `minirt::hyper::Io` reads through it, and so does the drop-in `tokio` crate's `AsyncRead`
/// for minirt's streams, so that an HTTP server's reads cost no `memset`.
///
/// # Safety
/// An implementation must write only initialised bytes into `buf` (never de-initialise a byte
/// of it), and `Ready(Ok(n))` must mean `n <= buf.len()` and that the first `n` bytes of `buf`
/// now hold what was read: callers mark them initialised on that word.
pub unsafe trait AsyncReadUninit: AsyncRead {
    /// Reads into `buf` like [`AsyncRead::poll_read`]: `Ready(Ok(n))` with the first `n` bytes
    /// written (`n == 0` at end of stream, for a non-empty `buf`), or `Pending` with the task
    /// woken once the reader may have data.
    fn poll_read_uninit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
}
