//! tokio's io traits on minirt (feature `tokio-io`).
//!
//! With the feature on, minirt's own streams implement `tokio::io::{AsyncRead, AsyncWrite}`
//! directly (`net::TcpStream`, `net::UnixStream` and their halves, `io::BufReader`,
//! `io::BufWriter`, `io::BufStream`, `io::DuplexStream`), so
//! `tokio_util::codec::Framed::new(stream, LinesCodec::new())` works as on tokio. tokio is pulled in with no default features: its
//! traits only, no tokio runtime.
//!
//! For any other type, [`Compat`] converts both ways: it wraps a `futures-io` type as a tokio
//! one, and a tokio-io type (a `tokio_rustls` stream, say) as a `futures-io` one, so minirt's
//! `AsyncReadExt`/`AsyncWriteExt`, `BufReader` and `copy_bidirectional` take it.

use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::io::{AsyncRead, AsyncReadUninit, AsyncWrite};

/// Wraps a `futures-io` stream as a tokio-io one, or a tokio-io stream as a `futures-io` one.
#[derive(Debug, Default, Clone, Copy)]
pub struct Compat<T> {
    inner: T,
}

impl<T> Compat<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Compat { inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped stream, back.
    pub fn into_inner(self) -> T {
        self.inner
    }

    fn inner(self: Pin<&mut Self>) -> Pin<&mut T>
    where
        T: Unpin,
    {
        Pin::new(&mut self.get_mut().inner)
    }
}

impl<T: AsyncRead + Unpin> tokio::io::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        minirt_runtime::io::tokio_io::poll_read_tokio(self.inner(), cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> tokio::io::AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self.inner(), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write_vectored(self.inner(), cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self.inner(), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(self.inner(), cx)
    }
}

impl<T: tokio::io::AsyncRead + Unpin> AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = tokio::io::ReadBuf::new(buf);
        ready!(tokio::io::AsyncRead::poll_read(self.inner(), cx, &mut read_buf))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

// SAFETY: tokio's `ReadBuf` keeps track of what is initialised and filled (safe code cannot
// mark a byte filled that was not written), it lives over `buf` alone (checked: a reader could
// swap in another `ReadBuf`), and its filled part is a prefix of `buf`.
unsafe impl<T: tokio::io::AsyncRead + Unpin> AsyncReadUninit for Compat<T> {
    /// A tokio-io read straight into `buf`, with no zeroing: tokio's `ReadBuf` carries the
    /// uninitialised memory to the reader (so `minirt::hyper::Io` takes a `tokio_rustls`
    /// stream through `Compat` with no zeroing either).
    fn poll_read_uninit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let start = buf.as_ptr().cast::<u8>();
        let mut read_buf = tokio::io::ReadBuf::uninit(buf);
        ready!(tokio::io::AsyncRead::poll_read(self.inner(), cx, &mut read_buf))?;
        assert_eq!(read_buf.filled().as_ptr(), start, "the reader swapped its ReadBuf");
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(self.inner(), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(self.inner(), cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(self.inner(), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(self.inner(), cx)
    }
}
