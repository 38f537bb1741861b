//! tokio's io traits for minirt's TCP streams (feature `tokio-io`): `TcpStream` and its
//! borrowed and owned halves implement `tokio::io::{AsyncRead, AsyncWrite}` too, so tokio-util
//! codecs (`Framed`, `LinesCodec`), tokio-rustls and other tokio-io code work on them
//! unchanged. Each call goes through the stream's `futures-io` implementation (see
//! `minirt_runtime::io::tokio_io::poll_read_tokio` for the read side); no tokio runtime is
//! involved.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncWrite;
use minirt_runtime::io::tokio_io::poll_read_tokio;

use crate::tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::TcpStream;

/// tokio's `AsyncRead` for each type, through its futures-io `poll_read`.
macro_rules! tokio_read {
    ($($ty:ty),*) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read_tokio(self, cx, buf)
            }
        }
    )*};
}

/// tokio's `AsyncWrite` for each type, through its futures-io `poll_*` (a TCP stream writes
/// vectored with `writev`).
macro_rules! tokio_write {
    ($($ty:ty),*) => {$(
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_close(self, cx)
            }
        }
    )*};
}

tokio_read!(TcpStream, ReadHalf<'_>, OwnedReadHalf);
tokio_write!(TcpStream, WriteHalf<'_>, OwnedWriteHalf);
