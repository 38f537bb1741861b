//! [`BufStream`]: a read buffer and a write buffer around one stream, as
//! `BufReader<BufWriter<S>>` (tokio's layout): reads go through the outer read buffer, writes
//! pass through it into the inner write buffer.

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
use pin_project_lite::pin_project;

use super::{BufReader, BufWriter};

pin_project! {
    /// Buffers both directions of a stream (say a `TcpStream` speaking a line protocol).
    /// Flush after writing: the write buffer goes out only when full or flushed.
    #[derive(Debug)]
    pub struct BufStream<S> {
        #[pin]
        inner: BufReader<BufWriter<S>>,
    }
}

impl<S: AsyncRead + AsyncWrite> BufStream<S> {
    /// A `BufStream` with 8 KiB buffers each way.
    pub fn new(stream: S) -> BufStream<S> {
        BufStream { inner: BufReader::new(BufWriter::new(stream)) }
    }

    /// A `BufStream` with the given buffer sizes.
    ///
    /// # Panics
    ///
    /// If `reader_capacity` is zero.
    pub fn with_capacity(reader_capacity: usize, writer_capacity: usize, stream: S) -> Self {
        BufStream {
            inner: BufReader::with_capacity(
                reader_capacity,
                BufWriter::with_capacity(writer_capacity, stream),
            ),
        }
    }
}

impl<S> BufStream<S> {
    /// The stream.
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref().get_ref()
    }

    /// The stream, mutably (using it directly bypasses both buffers).
    pub fn get_mut(&mut self) -> &mut S {
        self.inner.get_mut().get_mut()
    }

    /// The pinned stream.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut S> {
        self.project().inner.get_pin_mut().get_pin_mut()
    }

    /// The stream; anything buffered either way is lost.
    pub fn into_inner(self) -> S {
        self.inner.into_inner().into_inner()
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncRead for BufStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncBufRead for BufStream<S> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncWrite for BufStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + AsyncSeek> AsyncSeek for BufStream<S> {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.project().inner.poll_seek(cx, pos)
    }
}
