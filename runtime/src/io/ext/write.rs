//! [`AsyncWriteExt`]: tokio's writing methods over any `futures-io` [`AsyncWrite`], and the
//! future each one returns.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::AsyncWrite;

/// Declares the `write_<int>` methods: each encodes the number and writes all of its bytes.
macro_rules! write_num_methods {
    ($($(#[$doc:meta])* $name:ident($ty:ty), $to:ident;)*) => {$(
        $(#[$doc])*
        fn $name(&mut self, n: $ty) -> WriteNum<'_, Self>
        where
            Self: Unpin,
        {
            WriteNum::new(self, &n.$to())
        }
    )*};
}

/// Writing methods for every [`AsyncWrite`], named as in tokio's `AsyncWriteExt`.
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some bytes from `buf`, returning how many.
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write { writer: self, buf }
    }

    /// Writes some bytes from the slices in `bufs` with one call (`writev` for sockets),
    /// returning how many.
    fn write_vectored<'a, 'b>(&'a mut self, bufs: &'a [IoSlice<'b>]) -> WriteVectored<'a, 'b, Self>
    where
        Self: Unpin,
    {
        WriteVectored { writer: self, bufs }
    }

    /// Writes all of `buf`; `WriteZero` if the writer stops accepting bytes.
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll { writer: self, buf }
    }

    /// Writes some bytes from the front of the cursor `buf` and advances it past them (tokio's
    /// `write_buf`, with `&mut &[u8]` as the cursor instead of `bytes::Buf`).
    fn write_buf<'a, 'b>(&'a mut self, buf: &'a mut &'b [u8]) -> WriteBuf<'a, 'b, Self>
    where
        Self: Unpin,
    {
        WriteBuf { writer: self, buf }
    }

    /// Writes all of the cursor `buf`, advancing it as bytes go out: if the future is dropped
    /// half-way, `buf` holds exactly what was not written (tokio's `write_all_buf`, with
    /// `&mut &[u8]` as the cursor).
    fn write_all_buf<'a, 'b>(&'a mut self, buf: &'a mut &'b [u8]) -> WriteAllBuf<'a, 'b, Self>
    where
        Self: Unpin,
    {
        WriteAllBuf { writer: self, buf }
    }

    /// Flushes buffered data.
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        Flush { writer: self }
    }

    /// Shuts the writer down (for a TCP stream: sends FIN, the read half stays open).
    /// `futures-io` calls this `poll_close`.
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { writer: self }
    }

    write_num_methods! {
        /// Writes an unsigned byte.
        write_u8(u8), to_be_bytes;
        /// Writes a signed byte.
        write_i8(i8), to_be_bytes;
        /// Writes a big-endian `u16`.
        write_u16(u16), to_be_bytes;
        /// Writes a big-endian `i16`.
        write_i16(i16), to_be_bytes;
        /// Writes a big-endian `u32`.
        write_u32(u32), to_be_bytes;
        /// Writes a big-endian `i32`.
        write_i32(i32), to_be_bytes;
        /// Writes a big-endian `u64`.
        write_u64(u64), to_be_bytes;
        /// Writes a big-endian `i64`.
        write_i64(i64), to_be_bytes;
        /// Writes a big-endian `u128`.
        write_u128(u128), to_be_bytes;
        /// Writes a big-endian `i128`.
        write_i128(i128), to_be_bytes;
        /// Writes a big-endian IEEE-754 `f32`.
        write_f32(f32), to_be_bytes;
        /// Writes a big-endian IEEE-754 `f64`.
        write_f64(f64), to_be_bytes;
        /// Writes a little-endian `u16`.
        write_u16_le(u16), to_le_bytes;
        /// Writes a little-endian `i16`.
        write_i16_le(i16), to_le_bytes;
        /// Writes a little-endian `u32`.
        write_u32_le(u32), to_le_bytes;
        /// Writes a little-endian `i32`.
        write_i32_le(i32), to_le_bytes;
        /// Writes a little-endian `u64`.
        write_u64_le(u64), to_le_bytes;
        /// Writes a little-endian `i64`.
        write_i64_le(i64), to_le_bytes;
        /// Writes a little-endian `u128`.
        write_u128_le(u128), to_le_bytes;
        /// Writes a little-endian `i128`.
        write_i128_le(i128), to_le_bytes;
        /// Writes a little-endian IEEE-754 `f32`.
        write_f32_le(f32), to_le_bytes;
        /// Writes a little-endian IEEE-754 `f64`.
        write_f64_le(f64), to_le_bytes;
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

io_future! {
    /// Future of [`AsyncWriteExt::write`].
    pub struct Write<'a, W: AsyncWrite> {
        writer: &'a mut W,
        buf: &'a [u8],
    }
    fn poll(this, cx) -> usize {
        Pin::new(&mut *this.writer).poll_write(cx, this.buf)
    }

    /// Future of [`AsyncWriteExt::write_vectored`].
    pub struct WriteVectored<'a, 'b, W: AsyncWrite> {
        writer: &'a mut W,
        bufs: &'a [IoSlice<'b>],
    }
    fn poll(this, cx) -> usize {
        Pin::new(&mut *this.writer).poll_write_vectored(cx, this.bufs)
    }

    /// Future of [`AsyncWriteExt::write_all`].
    pub struct WriteAll<'a, W: AsyncWrite> {
        writer: &'a mut W,
        buf: &'a [u8],
    }
    fn poll(this, cx) -> () {
        poll_write_all(this.writer, &mut this.buf, cx)
    }
}

/// Writes all of `*buf`, advancing it past what was written; `WriteZero` if the writer stops.
fn poll_write_all<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    buf: &mut &[u8],
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while !buf.is_empty() {
        let n = retry_interrupted!(Pin::new(&mut *writer).poll_write(cx, buf))?;
        if n == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write_all: the writer accepted no more bytes",
            )));
        }
        *buf = &buf[n.min(buf.len())..];
    }
    Poll::Ready(Ok(()))
}

io_future! {
    /// Future of [`AsyncWriteExt::write_buf`].
    pub struct WriteBuf<'a, 'b, W: AsyncWrite> {
        writer: &'a mut W,
        buf: &'a mut &'b [u8],
    }
    fn poll(this, cx) -> usize {
        if this.buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = ready!(Pin::new(&mut *this.writer).poll_write(cx, this.buf))?;
        *this.buf = &this.buf[n.min(this.buf.len())..];
        Poll::Ready(Ok(n))
    }

    /// Future of [`AsyncWriteExt::write_all_buf`].
    pub struct WriteAllBuf<'a, 'b, W: AsyncWrite> {
        writer: &'a mut W,
        buf: &'a mut &'b [u8],
    }
    fn poll(this, cx) -> () {
        poll_write_all(this.writer, this.buf, cx)
    }

    /// Future of the `write_<int>` methods of [`AsyncWriteExt`].
    pub struct WriteNum<'a, W: AsyncWrite> {
        writer: &'a mut W,
        bytes: [u8; 16],
        start: usize,
        end: usize,
    }
    fn poll(this, cx) -> () {
        let mut rest = &this.bytes[this.start..this.end];
        let before = rest.len();
        let result = poll_write_all(this.writer, &mut rest, cx);
        this.start += before - rest.len();
        result
    }

    /// Future of [`AsyncWriteExt::flush`].
    pub struct Flush<'a, W: AsyncWrite> {
        writer: &'a mut W,
    }
    fn poll(this, cx) -> () {
        Pin::new(&mut *this.writer).poll_flush(cx)
    }

    /// Future of [`AsyncWriteExt::shutdown`].
    pub struct Shutdown<'a, W: AsyncWrite> {
        writer: &'a mut W,
    }
    fn poll(this, cx) -> () {
        Pin::new(&mut *this.writer).poll_close(cx)
    }
}

impl<'a, W: ?Sized> WriteNum<'a, W> {
    fn new(writer: &'a mut W, encoded: &[u8]) -> Self {
        let mut bytes = [0; 16];
        bytes[..encoded.len()].copy_from_slice(encoded);
        WriteNum { writer, bytes, start: 0, end: encoded.len() }
    }
}
