//! [`split`]: one read half and one write half of any `AsyncRead + AsyncWrite` value, each
//! movable to its own task.
//!
//! Both halves own an `Arc` of the same `Mutex<T>`; each `poll_*` call locks it for the length
//! of one call into `T`. This is the one place in minirt where foreign code (the inner stream's
//! `poll_*`, and whatever waker clone it stores) runs under one of our locks: a call into `T`
//! needs `&mut T`, which the lock provides. Nothing of ours is woken or dropped under it. For a
//! `net::TcpStream`, prefer `into_split`, which needs no lock at all.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use crate::loom::lock;
use futures_io::{AsyncRead, AsyncWrite};

/// Splits `stream` into a read half and a write half; [`ReadHalf::unsplit`] joins them again.
pub fn split<T: AsyncRead + AsyncWrite>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let inner = Arc::new(Mutex::new(stream));
    (ReadHalf { inner: inner.clone() }, WriteHalf { inner })
}

/// The reading half of a value split by [`split`].
pub struct ReadHalf<T> {
    inner: Arc<Mutex<T>>,
}

/// The writing half of a value split by [`split`].
pub struct WriteHalf<T> {
    inner: Arc<Mutex<T>>,
}

impl<T> ReadHalf<T> {
    /// Whether `other` is the write half split from the same value.
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Joins the halves back into the original value.
    ///
    /// # Panics
    ///
    /// If `write` is not this half's pair.
    #[track_caller]
    pub fn unsplit(self, write: WriteHalf<T>) -> T {
        assert!(self.is_pair_of(&write), "unrelated `WriteHalf` passed to `ReadHalf::unsplit`");
        drop(write);
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner.into_inner().unwrap_or_else(PoisonError::into_inner),
            Err(_) => unreachable!("both halves were given, so no other owner exists"),
        }
    }
}

impl<T> WriteHalf<T> {
    /// Whether `other` is the read half split from the same value.
    pub fn is_pair_of(&self, other: &ReadHalf<T>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.inner)).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.inner)).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.inner)).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_close(cx)
    }
}

impl<T> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}
