//! [`AsyncReadExt`]: tokio's reading methods over any `futures-io` [`AsyncRead`], and the
//! future each one returns.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::AsyncRead;

use crate::io::adapters::{Chain, Take};

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

io_future! {
    /// Future of [`AsyncReadExt::read`].
    pub struct Read<'a, R: AsyncRead> {
        reader: &'a mut R,
        buf: &'a mut [u8],
    }
    fn poll(this, cx) -> usize {
        Pin::new(&mut *this.reader).poll_read(cx, this.buf)
    }

    /// Future of [`AsyncReadExt::read_buf`].
    pub struct ReadBuf<'a, R: AsyncRead> {
        reader: &'a mut R,
        buf: &'a mut Vec<u8>,
    }
    fn poll(this, cx) -> usize {
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

io_future! {
    /// Future of [`AsyncReadExt::read_exact`].
    pub struct ReadExact<'a, R: AsyncRead> {
        reader: &'a mut R,
        buf: &'a mut [u8],
        filled: usize,
    }
    fn poll(this, cx) -> usize {
        ready!(poll_read_exact(this.reader, this.buf, &mut this.filled, cx))?;
        Poll::Ready(Ok(this.filled))
    }
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

io_future! {
    /// Future of [`AsyncReadExt::read_to_end`].
    pub struct ReadToEnd<'a, R: AsyncRead> {
        reader: &'a mut R,
        buf: &'a mut Vec<u8>,
        start_len: usize,
        start_cap: usize,
    }
    fn poll(this, cx) -> usize {
        ready!(poll_read_to_end(this.reader, this.buf, this.start_cap, cx))?;
        Poll::Ready(Ok(this.buf.len() - this.start_len))
    }

    /// Future of [`AsyncReadExt::read_to_string`].
    pub struct ReadToString<'a, R: AsyncRead> {
        reader: &'a mut R,
        buf: &'a mut String,
        bytes: Vec<u8>,
    }
    fn poll(this, cx) -> usize {
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
