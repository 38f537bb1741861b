//! [`AsyncReadUninit`]: a read into memory that may be uninitialised.
//!
//! `futures-io`'s `poll_read` takes `&mut [u8]`, so a caller holding uninitialised memory (the
//! spare capacity of a `Vec` or `BytesMut`, hyper's read buffer, tokio's `ReadBuf`) has to zero
//! it first, only for the kernel to overwrite it. A reader whose bytes come straight from
//! `read(2)`/`recv(2)` (minirt's TCP and Unix streams and their read halves) can take the
//! uninitialised memory as it is: the kernel only writes into it. [`ZeroFill`] makes any other
//! reader one, the old way (zeroing first).

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

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

/// Any `futures-io` reader as an [`AsyncReadUninit`], by zeroing the memory before each read:
/// for a stream that has no read into uninitialised memory (a TLS stream of another crate,
/// say) where an `AsyncReadUninit` is asked for, such as `minirt::hyper::Io`. Writes, flushes
/// and closes go straight through.
///
/// ```
/// # minirt::runtime::Runtime::new().unwrap().block_on(async {
/// use std::mem::MaybeUninit;
/// use std::pin::Pin;
/// use minirt::io::{AsyncReadUninit, ZeroFill};
///
/// let mut reader = ZeroFill::new(&b"any reader"[..]);
/// let mut buf = [MaybeUninit::<u8>::uninit(); 16];
/// let n = std::future::poll_fn(|cx| Pin::new(&mut reader).poll_read_uninit(cx, &mut buf))
///     .await
///     .unwrap();
/// assert_eq!(n, 10);
/// # });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct ZeroFill<R> {
    inner: R,
}

impl<R> ZeroFill<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        ZeroFill { inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The wrapped stream, back.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn inner(self: Pin<&mut Self>) -> Pin<&mut R>
    where
        R: Unpin,
    {
        Pin::new(&mut self.get_mut().inner)
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for ZeroFill<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner().poll_read(cx, buf)
    }
}

// SAFETY: `buf` is zeroed before the read, so the reader only ever sees (and writes)
// initialised memory, and the count it returns is clamped to `buf.len()`.
unsafe impl<R: AsyncRead + Unpin> AsyncReadUninit for ZeroFill<R> {
    fn poll_read_uninit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        buf.fill(MaybeUninit::new(0));
        // SAFETY: every byte of `buf` was just initialised, and `[MaybeUninit<u8>]` and `[u8]`
        // have the same layout.
        let buf = unsafe { &mut *(buf as *mut [MaybeUninit<u8>] as *mut [u8]) };
        let len = buf.len();
        self.inner().poll_read(cx, buf).map_ok(|n| n.min(len))
    }
}

impl<R: AsyncWrite + Unpin> AsyncWrite for ZeroFill<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner().poll_close(cx)
    }
}
