//! tokio's io traits for minirt's own io types (feature `tokio-io`): `BufReader`, `BufWriter`,
//! `BufStream` and `DuplexStream` also implement `tokio::io::{AsyncRead, AsyncWrite}`, so
//! tokio-util codecs and other tokio-io code take them unchanged.
//!
//! A tokio read goes through the type's `futures-io` `poll_read`: tokio's `ReadBuf` zeroes its
//! unfilled part (only the part it has never initialised), the read fills a prefix of it, and
//! `advance` marks that prefix filled, all in safe code. minirt-os's socket streams skip the
//! zeroing: they read through `AsyncReadUninit` ([`poll_read_tokio_uninit`]).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::{BufReader, BufStream, BufWriter, DuplexStream};

/// One tokio `poll_read` through a `futures-io` `poll_read`.
#[doc(hidden)]
pub fn poll_read_tokio<R: AsyncRead + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let dst = buf.initialize_unfilled();
    let len = dst.len();
    let n = ready!(reader.poll_read(cx, dst))?;
    buf.advance(n.min(len));
    Poll::Ready(Ok(()))
}

/// One tokio `poll_read` through [`AsyncReadUninit`](super::AsyncReadUninit): the reader
/// writes straight into the unfilled part of `buf`, initialised or not, with no zeroing first
/// (minirt-os's socket streams: tokio-util's `FramedRead` hands each read a fresh
/// uninitialised `ReadBuf` over its `BytesMut`, which `poll_read_tokio` would zero every time).
#[doc(hidden)]
pub fn poll_read_tokio_uninit<R: super::AsyncReadUninit + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        // tokio's streams: a full buffer reads nothing, at once (no wait for readiness).
        return Poll::Ready(Ok(()));
    }
    // SAFETY: the reader only writes initialised bytes into the unfilled part
    // (`AsyncReadUninit`'s contract), so no initialised byte of `buf` is de-initialised.
    let dst = unsafe { buf.unfilled_mut() };
    let n = ready!(reader.poll_read_uninit(cx, dst))?;
    // SAFETY: `AsyncReadUninit` promises the reader wrote the first `n` (`<= remaining`)
    // unfilled bytes.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// Implements tokio's `AsyncRead`/`AsyncWrite` for a type by delegating to its `futures-io`
/// implementation; `@read`/`@write` for one direction. Exported (hidden) for minirt-os's
/// streams, whose crate must have `tokio` as a dependency.
#[doc(hidden)]
#[macro_export]
macro_rules! tokio_io_via_futures_io {
    ($([$($generics:tt)*] $ty:ty where [$($read:tt)*] [$($write:tt)*];)*) => {$(
        $crate::tokio_io_via_futures_io!(@read [$($generics)*] $ty where [$($read)*]);
        $crate::tokio_io_via_futures_io!(@write [$($generics)*] $ty where [$($write)*]);
    )*};
    (@read [$($generics:tt)*] $ty:ty where [$($read:tt)*]) => {
        impl<$($generics)*> tokio::io::AsyncRead for $ty where $($read)* {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::io::tokio_io::poll_read_tokio(self, cx, buf)
            }
        }
    };
    (@write [$($generics:tt)*] $ty:ty where [$($write:tt)*]) => {
        impl<$($generics)*> tokio::io::AsyncWrite for $ty where $($write)* {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::io::AsyncWrite::poll_close(self, cx)
            }
        }
    };
}

tokio_io_via_futures_io! {
    [R] BufReader<R> where [R: AsyncRead] [R: AsyncWrite];
    [W] BufWriter<W> where [W: AsyncRead] [W: AsyncWrite];
    [S] BufStream<S> where [S: AsyncRead + AsyncWrite] [S: AsyncRead + AsyncWrite];
    [] DuplexStream where [] [];
}
