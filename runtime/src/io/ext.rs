//! Tokio's method names over the `futures-io` traits: each method returns a small future that
//! polls the underlying `poll_*` method until it can answer.
//!
//! Every loop here (`read_exact`, `read_to_end`, `write_all`, `copy`, the integer readers and
//! writers) retries an [`io::ErrorKind::Interrupted`] from the inner reader or writer, as std's
//! and tokio's do: `Interrupted` means "nothing happened, try again", never the end of the
//! operation.

use std::future::Future;
use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::adapters::{Chain, Take};

/// Polls an I/O operation again while it answers `Interrupted`; yields the first other answer.
macro_rules! retry_interrupted {
    ($poll:expr) => {
        loop {
            match ready!($poll) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        }
    };
}
pub(crate) use retry_interrupted;

/// Declares the `read_<int>` methods: each reads exactly `size_of::<T>()` bytes and decodes them.
macro_rules! read_num_methods {
    ($($(#[$doc:meta])* $name:ident -> $ty:ty, $from:ident;)*) => {$(
        $(#[$doc])*
        fn $name(&mut self) -> ReadNum<'_, Self, $ty>
        where
            Self: Unpin,
        {
            fn decode(bytes: &[u8]) -> $ty {
                let mut raw = [0u8; std::mem::size_of::<$ty>()];
                raw.copy_from_slice(bytes);
                <$ty>::$from(raw)
            }
            ReadNum::new(self, std::mem::size_of::<$ty>(), decode)
        }
    )*};
}

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

/// Reading methods for every [`AsyncRead`], named as in tokio's `AsyncReadExt`.
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`; `Ok(0)` means end of stream (or an empty `buf`).
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads once, appending to `buf` (tokio's `read_buf`, without the `bytes` crate): if `buf`
    /// has no spare capacity it grows first, so `Ok(0)` means end of stream. Returns the
    /// number of bytes appended.
    fn read_buf<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadBuf<'a, Self>
    where
        Self: Unpin,
    {
        ReadBuf { reader: self, buf }
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact { reader: self, buf, filled: 0 }
    }

    /// Reads until end of stream, appending to `buf`; returns the number of bytes read.
    ///
    /// Grows `buf` as tokio does: when `buf` has less than 32 spare bytes at the start, a first
    /// read goes into a 32-byte probe on the stack, so a stream that is already at its end (or
    /// fits exactly) never reallocates; after that, `Vec`'s doubling growth.
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        let start_len = buf.len();
        let start_cap = buf.capacity();
        ReadToEnd { reader: self, buf, start_len, start_cap }
    }

    /// Reads until end of stream, appending to `buf`; `InvalidData` (and `buf` unchanged) if the
    /// bytes are not UTF-8.
    fn read_to_string<'a>(&'a mut self, buf: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        ReadToString { reader: self, buf, bytes: Vec::new() }
    }

    /// A reader that yields at most `limit` bytes of this one, then end of stream.
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        Take::new(self, limit)
    }

    /// A reader that yields all of this one, then all of `next`.
    fn chain<R: AsyncRead>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
    {
        Chain::new(self, next)
    }

    read_num_methods! {
        /// Reads an unsigned byte.
        read_u8 -> u8, from_be_bytes;
        /// Reads a signed byte.
        read_i8 -> i8, from_be_bytes;
        /// Reads a big-endian `u16`.
        read_u16 -> u16, from_be_bytes;
        /// Reads a big-endian `i16`.
        read_i16 -> i16, from_be_bytes;
        /// Reads a big-endian `u32`.
        read_u32 -> u32, from_be_bytes;
        /// Reads a big-endian `i32`.
        read_i32 -> i32, from_be_bytes;
        /// Reads a big-endian `u64`.
        read_u64 -> u64, from_be_bytes;
        /// Reads a big-endian `i64`.
        read_i64 -> i64, from_be_bytes;
        /// Reads a big-endian `u128`.
        read_u128 -> u128, from_be_bytes;
        /// Reads a big-endian `i128`.
        read_i128 -> i128, from_be_bytes;
        /// Reads a big-endian IEEE-754 `f32`.
        read_f32 -> f32, from_be_bytes;
        /// Reads a big-endian IEEE-754 `f64`.
        read_f64 -> f64, from_be_bytes;
        /// Reads a little-endian `u16`.
        read_u16_le -> u16, from_le_bytes;
        /// Reads a little-endian `i16`.
        read_i16_le -> i16, from_le_bytes;
        /// Reads a little-endian `u32`.
        read_u32_le -> u32, from_le_bytes;
        /// Reads a little-endian `i32`.
        read_i32_le -> i32, from_le_bytes;
        /// Reads a little-endian `u64`.
        read_u64_le -> u64, from_le_bytes;
        /// Reads a little-endian `i64`.
        read_i64_le -> i64, from_le_bytes;
        /// Reads a little-endian `u128`.
        read_u128_le -> u128, from_le_bytes;
        /// Reads a little-endian `i128`.
        read_i128_le -> i128, from_le_bytes;
        /// Reads a little-endian IEEE-754 `f32`.
        read_f32_le -> f32, from_le_bytes;
        /// Reads a little-endian IEEE-754 `f64`.
        read_f64_le -> f64, from_le_bytes;
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

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

/// Seeking methods for every [`AsyncSeek`], named as in tokio's `AsyncSeekExt`.
pub trait AsyncSeekExt: AsyncSeek {
    /// Moves the cursor; returns the new position from the start.
    fn seek(&mut self, pos: SeekFrom) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        Seek { seeker: self, pos }
    }

    /// Moves the cursor back to the start.
    fn rewind(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(SeekFrom::Start(0))
    }

    /// The current position from the start.
    fn stream_position(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(SeekFrom::Current(0))
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}

/// Future of [`AsyncReadExt::read`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Read<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Pin::new(&mut *this.reader).poll_read(cx, this.buf)
    }
}

/// Future of [`AsyncReadExt::read_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadBuf<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut Vec<u8>,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadBuf<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.buf.capacity() == this.buf.len() {
            // As tokio's `Vec<u8>: BufMut`: a full vector grows, so a read of 0 is EOF.
            this.buf.reserve(64);
        }
        read_into_spare(this.reader, this.buf, READ_WINDOW, cx)
    }
}

/// The most spare capacity one read into a `Vec` offers (and zeroes first).
const READ_WINDOW: usize = 64 * 1024;

/// One read into (at most `window` bytes of) the spare capacity of `buf`, which keeps exactly
/// the bytes read. `futures-io` reads into initialised memory, so that part is zeroed first; the
/// window bounds it, or a peer that sends a byte at a time would cost a memset of the whole
/// spare capacity per byte (quadratic).
fn read_into_spare<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    window: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let len = buf.len();
    let window = (buf.capacity() - len).min(window);
    buf.resize(len + window, 0);
    let result = Pin::new(reader).poll_read(cx, &mut buf[len..]);
    let n = match &result {
        Poll::Ready(Ok(n)) => (*n).min(window),
        _ => 0,
    };
    buf.truncate(len + n);
    result
}

/// Future of [`AsyncReadExt::read_exact`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadExact<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
    filled: usize,
}

/// Fills `buf[*filled..]` from `reader`; `UnexpectedEof` if the stream ends first.
fn poll_read_exact<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    buf: &mut [u8],
    filled: &mut usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while *filled < buf.len() {
        let n = retry_interrupted!(Pin::new(&mut *reader).poll_read(cx, &mut buf[*filled..]))?;
        if n == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("early eof: stream ended after {} of {} bytes", filled, buf.len()),
            )));
        }
        *filled += n;
    }
    Poll::Ready(Ok(()))
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(poll_read_exact(this.reader, this.buf, &mut this.filled, cx))?;
        Poll::Ready(Ok(this.filled))
    }
}

/// Future of the `read_<int>` methods of [`AsyncReadExt`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadNum<'a, R: ?Sized, T> {
    reader: &'a mut R,
    bytes: [u8; 16],
    len: usize,
    filled: usize,
    decode: fn(&[u8]) -> T,
}

impl<R: ?Sized, T> std::fmt::Debug for ReadNum<'_, R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadNum").field("len", &self.len).field("filled", &self.filled).finish()
    }
}

impl<'a, R: ?Sized, T> ReadNum<'a, R, T> {
    fn new(reader: &'a mut R, len: usize, decode: fn(&[u8]) -> T) -> Self {
        ReadNum { reader, bytes: [0; 16], len, filled: 0, decode }
    }
}

impl<R: AsyncRead + Unpin + ?Sized, T> Future for ReadNum<'_, R, T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let this = self.get_mut();
        let bytes = &mut this.bytes[..this.len];
        ready!(poll_read_exact(this.reader, bytes, &mut this.filled, cx))?;
        Poll::Ready(Ok((this.decode)(bytes)))
    }
}

/// Future of [`AsyncReadExt::read_to_end`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToEnd<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut Vec<u8>,
    start_len: usize,
    start_cap: usize,
}

/// The size of `read_to_end`'s first probe read, and of its smallest growth step.
const PROBE: usize = 32;

/// Reads into `buf` until EOF, growing it as tokio's `read_to_end` does.
fn poll_read_to_end<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    start_cap: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    loop {
        let spare = buf.capacity() - buf.len();
        let n = if spare < PROBE && buf.capacity() == start_cap && start_cap >= PROBE {
            // Still the caller's allocation, nearly full: a stream that ends here (or fits the
            // spare bytes) must not make us reallocate, so read into a stack probe first.
            let mut probe = [0u8; PROBE];
            let n = retry_interrupted!(Pin::new(&mut *reader).poll_read(cx, &mut probe))?;
            let n = n.min(PROBE);
            if n > spare {
                buf.reserve(PROBE);
            }
            buf.extend_from_slice(&probe[..n]);
            n
        } else {
            if spare < PROBE {
                // `Vec::reserve` at least doubles: amortised linear growth.
                buf.reserve(PROBE);
            }
            retry_interrupted!(read_into_spare(reader, buf, READ_WINDOW, cx))?
        };
        if n == 0 {
            return Poll::Ready(Ok(()));
        }
    }
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(poll_read_to_end(this.reader, this.buf, this.start_cap, cx))?;
        Poll::Ready(Ok(this.buf.len() - this.start_len))
    }
}

/// Future of [`AsyncReadExt::read_to_string`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToString<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut String,
    bytes: Vec<u8>,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(poll_read_to_end(this.reader, &mut this.bytes, 0, cx))?;
        let bytes = std::mem::take(&mut this.bytes);
        match String::from_utf8(bytes) {
            Ok(text) => {
                this.buf.push_str(&text);
                Poll::Ready(Ok(text.len()))
            }
            Err(e) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("read_to_string: stream is not valid UTF-8: {e}"),
            ))),
        }
    }
}

/// Future of [`AsyncWriteExt::write`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Write<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Pin::new(&mut *this.writer).poll_write(cx, this.buf)
    }
}

/// Future of [`AsyncWriteExt::write_vectored`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteVectored<'a, 'b, W: ?Sized> {
    writer: &'a mut W,
    bufs: &'a [IoSlice<'b>],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteVectored<'_, '_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Pin::new(&mut *this.writer).poll_write_vectored(cx, this.bufs)
    }
}

/// Future of [`AsyncWriteExt::write_all`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAll<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a [u8],
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

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_write_all(this.writer, &mut this.buf, cx)
    }
}

/// Future of [`AsyncWriteExt::write_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteBuf<'a, 'b, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a mut &'b [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteBuf<'_, '_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = ready!(Pin::new(&mut *this.writer).poll_write(cx, this.buf))?;
        *this.buf = &this.buf[n.min(this.buf.len())..];
        Poll::Ready(Ok(n))
    }
}

/// Future of [`AsyncWriteExt::write_all_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAllBuf<'a, 'b, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a mut &'b [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAllBuf<'_, '_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_write_all(this.writer, this.buf, cx)
    }
}

/// Future of the `write_<int>` methods of [`AsyncWriteExt`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteNum<'a, W: ?Sized> {
    writer: &'a mut W,
    bytes: [u8; 16],
    start: usize,
    end: usize,
}

impl<'a, W: ?Sized> WriteNum<'a, W> {
    fn new(writer: &'a mut W, encoded: &[u8]) -> Self {
        let mut bytes = [0; 16];
        bytes[..encoded.len()].copy_from_slice(encoded);
        WriteNum { writer, bytes, start: 0, end: encoded.len() }
    }
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteNum<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut rest = &this.bytes[this.start..this.end];
        let before = rest.len();
        let result = poll_write_all(this.writer, &mut rest, cx);
        this.start += before - rest.len();
        result
    }
}

/// Future of [`AsyncWriteExt::flush`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Flush<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().writer).poll_flush(cx)
    }
}

/// Future of [`AsyncWriteExt::shutdown`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Shutdown<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().writer).poll_close(cx)
    }
}

/// Future of [`AsyncSeekExt::seek`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Seek<'a, S: ?Sized> {
    seeker: &'a mut S,
    pos: SeekFrom,
}

impl<S: AsyncSeek + Unpin + ?Sized> Future for Seek<'_, S> {
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        Pin::new(&mut *this.seeker).poll_seek(cx, this.pos)
    }
}

/// Copies everything `reader` yields into `writer`, then flushes it; returns the byte count.
/// Tokio's `io::copy`.
pub fn copy<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> Copy<'a, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    Copy { reader, writer, buf: CopyBuffer::new(8 * 1024) }
}

/// Future of [`copy`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Copy<'a, R: ?Sized, W: ?Sized> {
    reader: &'a mut R,
    writer: &'a mut W,
    buf: CopyBuffer,
}

impl<R, W> Future for Copy<'_, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        this.buf.poll_copy(cx, Pin::new(&mut *this.reader), Pin::new(&mut *this.writer))
    }
}

/// The state of one copying direction: a buffer, what of it is not written yet, and whether
/// the reader has ended. Shared by [`copy`] and `copy_bidirectional`.
#[derive(Debug)]
pub(crate) struct CopyBuffer {
    buf: Box<[u8]>,
    /// `buf[start..end]` is read but not yet written.
    start: usize,
    end: usize,
    total: u64,
    read_done: bool,
    /// Bytes were written since the last flush.
    need_flush: bool,
}

impl CopyBuffer {
    pub(crate) fn new(size: usize) -> CopyBuffer {
        CopyBuffer {
            buf: vec![0; size].into_boxed_slice(),
            start: 0,
            end: 0,
            total: 0,
            read_done: false,
            need_flush: false,
        }
    }

    /// Copies until the reader ends and everything is written and flushed; returns the total.
    pub(crate) fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            if self.start == self.end && !self.read_done {
                match reader.as_mut().poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(n)) => {
                        self.read_done = n == 0;
                        self.start = 0;
                        self.end = n.min(self.buf.len());
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        // Nothing to read: flush what the writer buffered so far, so a slow
                        // reader never holds written data back (as tokio's copy does).
                        if self.need_flush {
                            ready!(writer.as_mut().poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                }
            }
            while self.start < self.end {
                let chunk = &self.buf[self.start..self.end];
                let n = retry_interrupted!(writer.as_mut().poll_write(cx, chunk))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "copy: the writer accepted no more bytes",
                    )));
                }
                let n = n.min(self.end - self.start);
                self.start += n;
                self.total += n as u64;
                self.need_flush = true;
            }
            if self.read_done {
                retry_interrupted!(writer.as_mut().poll_flush(cx))?;
                return Poll::Ready(Ok(self.total));
            }
        }
    }
}

/// Copies everything the buffered `reader` yields into `writer` straight from the reader's own
/// buffer (no second buffer), then flushes; returns the byte count. Tokio's `io::copy_buf`.
pub fn copy_buf<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> CopyBuf<'a, R, W>
where
    R: futures_io::AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    CopyBuf { reader, writer, total: 0 }
}

/// Future of [`copy_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CopyBuf<'a, R: ?Sized, W: ?Sized> {
    reader: &'a mut R,
    writer: &'a mut W,
    total: u64,
}

impl<R, W> Future for CopyBuf<'_, R, W>
where
    R: futures_io::AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        loop {
            let chunk = retry_interrupted!(Pin::new(&mut *this.reader).poll_fill_buf(cx))?;
            if chunk.is_empty() {
                retry_interrupted!(Pin::new(&mut *this.writer).poll_flush(cx))?;
                return Poll::Ready(Ok(this.total));
            }
            let n = retry_interrupted!(Pin::new(&mut *this.writer).poll_write(cx, chunk))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "copy_buf: the writer accepted no more bytes",
                )));
            }
            let n = n.min(chunk.len());
            Pin::new(&mut *this.reader).consume(n);
            this.total += n as u64;
        }
    }
}
