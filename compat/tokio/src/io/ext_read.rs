//! `AsyncReadExt`: tokio's read methods, each a small future over `AsyncRead::poll_read`.

use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes_dep::BufMut;

use super::misc::{chain, take, Chain, Take};
use super::{AsyncRead, ReadBuf};

fn eof() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "early eof")
}

/// Future of [`AsyncReadExt::read`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Read<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let mut buf = ReadBuf::new(me.buf);
        ready!(Pin::new(&mut *me.reader).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

/// Future of [`AsyncReadExt::read_exact`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadExact<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: ReadBuf<'a>,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        while me.buf.remaining() > 0 {
            let before = me.buf.remaining();
            ready_retry!(Pin::new(&mut *me.reader).poll_read(cx, &mut me.buf));
            if me.buf.remaining() == before {
                return Poll::Ready(Err(eof()));
            }
        }
        Poll::Ready(Ok(me.buf.capacity()))
    }
}

/// Future of [`AsyncReadExt::read_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadBufFuture<'a, R: ?Sized, B: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut B,
}

impl<R: AsyncRead + Unpin + ?Sized, B: BufMut + ?Sized> Future for ReadBufFuture<'_, R, B> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        poll_read_buf(Pin::new(&mut *me.reader), cx, &mut *me.buf)
    }
}

/// Reads once into a `BufMut`'s next chunk (uninitialised memory, handed over as a `ReadBuf`).
pub(crate) fn poll_read_buf<R: AsyncRead + ?Sized, B: BufMut + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut B,
) -> Poll<io::Result<usize>> {
    if !buf.has_remaining_mut() {
        return Poll::Ready(Ok(0));
    }
    let n = {
        let dst = buf.chunk_mut();
        // SAFETY: `UninitSlice` is `[MaybeUninit<u8>]`; the ReadBuf only ever writes bytes.
        let dst = unsafe { &mut *(dst as *mut _ as *mut [MaybeUninit<u8>]) };
        let mut rb = ReadBuf::uninit(dst);
        let ptr = rb.filled().as_ptr();
        ready!(reader.poll_read(cx, &mut rb))?;
        // A reader that swapped the ReadBuf's memory would make the bytes below lie.
        assert_eq!(ptr, rb.filled().as_ptr(), "ReadBuf swapped during read");
        rb.filled().len()
    };
    // SAFETY: the read initialised and filled `n` bytes of the chunk.
    unsafe { buf.advance_mut(n) };
    Poll::Ready(Ok(n))
}

/// Reads to end of file into a `Vec`'s spare capacity, remembering across polls how much of it
/// the previous read already initialised (so it is never zeroed twice).
///
/// Growth follows tokio's: while the Vec still has the capacity it started with (at least 32
/// bytes) and less than 32 bytes are spare, read into a 32-byte probe first, so a Vec whose
/// capacity was right is not grown just to find end of file; otherwise reserve 32 bytes
/// (amortised doubling) and read into the spare capacity.
pub(crate) fn poll_read_to_end<R: AsyncRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    vec: &mut Vec<u8>,
    state: &mut ReadToEndState,
) -> Poll<io::Result<usize>> {
    const PROBE: usize = 32;
    let start_cap = *state.start_cap.get_or_insert(vec.capacity());
    loop {
        let spare = vec.capacity() - vec.len();
        if spare < PROBE && vec.capacity() == start_cap && start_cap >= PROBE {
            let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); PROBE];
            let mut rb = ReadBuf::uninit(&mut probe);
            ready_retry!(reader.as_mut().poll_read(cx, &mut rb));
            let n = rb.filled().len();
            if n == 0 {
                return Poll::Ready(Ok(std::mem::take(&mut state.read)));
            }
            let cap = vec.capacity();
            vec.extend_from_slice(rb.filled());
            if vec.capacity() != cap {
                state.spare_init = 0;
            } else {
                state.spare_init = state.spare_init.saturating_sub(n);
            }
            state.read += n;
            continue;
        }
        let cap = vec.capacity();
        vec.reserve(PROBE);
        if vec.capacity() != cap {
            state.spare_init = 0;
        }
        let len = vec.len();
        let (n, init) = {
            let spare = vec.spare_capacity_mut();
            let mut rb = ReadBuf::uninit(spare);
            // SAFETY: the previous read initialised this many bytes of the same spare capacity
            // (reset to 0 whenever the Vec reallocated).
            unsafe { rb.assume_init(state.spare_init) };
            ready_retry!(reader.as_mut().poll_read(cx, &mut rb));
            (rb.filled().len(), rb.initialized().len())
        };
        if n == 0 {
            return Poll::Ready(Ok(std::mem::take(&mut state.read)));
        }
        // SAFETY: `n` bytes past `len` were filled by the read.
        unsafe { vec.set_len(len + n) };
        state.spare_init = init - n;
        state.read += n;
    }
}

/// What `read_to_end` keeps between polls.
#[derive(Debug, Default)]
pub(crate) struct ReadToEndState {
    start_cap: Option<usize>,
    spare_init: usize,
    read: usize,
}

/// Future of [`AsyncReadExt::read_to_end`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToEnd<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut Vec<u8>,
    state: ReadToEndState,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        poll_read_to_end(Pin::new(&mut *me.reader), cx, me.buf, &mut me.state)
    }
}

/// Future of [`AsyncReadExt::read_to_string`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToString<'a, R: ?Sized> {
    reader: &'a mut R,
    output: &'a mut String,
    bytes: Vec<u8>,
    state: ReadToEndState,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let n =
            ready!(poll_read_to_end(Pin::new(&mut *me.reader), cx, &mut me.bytes, &mut me.state))?;
        match std::str::from_utf8(&me.bytes) {
            Ok(s) => {
                me.output.push_str(s);
                me.bytes.clear();
                Poll::Ready(Ok(n))
            }
            Err(_) => {
                // The error names the offset in the whole string (what was there plus what was
                // read), as tokio's does; the string itself is left as it was.
                let mut all = me.output.as_bytes().to_vec();
                all.extend_from_slice(&me.bytes);
                me.bytes.clear();
                let err = match std::str::from_utf8(&all) {
                    Err(e) => io::Error::new(io::ErrorKind::InvalidData, e),
                    Ok(_) => io::Error::new(io::ErrorKind::InvalidData, "invalid UTF-8"),
                };
                Poll::Ready(Err(err))
            }
        }
    }
}

/// Future of the `read_u8`..`read_f64_le` methods: reads exactly `N` bytes, then converts.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadNum<'a, R: ?Sized, T, const N: usize> {
    reader: &'a mut R,
    buf: [u8; N],
    filled: usize,
    convert: fn([u8; N]) -> T,
    _out: PhantomData<fn() -> T>,
}

impl<R: AsyncRead + Unpin + ?Sized, T, const N: usize> Future for ReadNum<'_, R, T, N> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        while me.filled < N {
            let mut rb = ReadBuf::new(&mut me.buf[me.filled..]);
            ready_retry!(Pin::new(&mut *me.reader).poll_read(cx, &mut rb));
            let n = rb.filled().len();
            if n == 0 {
                return Poll::Ready(Err(eof()));
            }
            me.filled += n;
        }
        Poll::Ready(Ok((me.convert)(me.buf)))
    }
}

macro_rules! read_num {
    ($($(#[$doc:meta])* $name:ident -> $ty:ty, $from:ident;)*) => {$(
        $(#[$doc])*
        fn $name(&mut self) -> ReadNum<'_, Self, $ty, { std::mem::size_of::<$ty>() }>
        where
            Self: Unpin,
        {
            ReadNum {
                reader: self,
                buf: [0; std::mem::size_of::<$ty>()],
                filled: 0,
                convert: <$ty>::$from,
                _out: PhantomData,
            }
        }
    )*};
}

/// tokio's read methods for every [`AsyncRead`].
pub trait AsyncReadExt: AsyncRead {
    /// Reads from `self`, then from `next`.
    fn chain<R: AsyncRead>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
    {
        chain(self, next)
    }

    /// Reads some bytes into `buf`, returning how many (0 at end of file).
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads some bytes into a `BufMut`, advancing it.
    fn read_buf<'a, B: BufMut + ?Sized>(&'a mut self, buf: &'a mut B) -> ReadBufFuture<'a, Self, B>
    where
        Self: Unpin,
    {
        ReadBufFuture { reader: self, buf }
    }

    /// Reads exactly `buf.len()` bytes (`UnexpectedEof` if the stream ends first).
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact { reader: self, buf: ReadBuf::new(buf) }
    }

    read_num! {
        /// Reads a `u8`.
        read_u8 -> u8, from_be_bytes;
        /// Reads an `i8`.
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
        /// Reads a big-endian `f32`.
        read_f32 -> f32, from_be_bytes;
        /// Reads a big-endian `f64`.
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
        /// Reads a little-endian `f32`.
        read_f32_le -> f32, from_le_bytes;
        /// Reads a little-endian `f64`.
        read_f64_le -> f64, from_le_bytes;
    }

    /// Reads to end of file, appending to `buf`; returns how many bytes were read.
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        ReadToEnd { reader: self, buf, state: ReadToEndState::default() }
    }

    /// Reads to end of file, appending to `dst` (`InvalidData` if it is not UTF-8).
    fn read_to_string<'a>(&'a mut self, dst: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        ReadToString {
            reader: self,
            output: dst,
            bytes: Vec::new(),
            state: ReadToEndState::default(),
        }
    }

    /// A reader of at most `limit` bytes of `self`.
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        take(self, limit)
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}
