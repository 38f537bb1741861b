//! minirt's streams seen through tokio's traits.
//!
//! minirt's own types implement the runtime-neutral `futures-io` traits; here each one also
//! implements tokio's, by calling the same `poll_*` on the same object: no adapter type, no
//! copy. A tokio read hands `futures-io` the unfilled part of the `ReadBuf`, initialised first;
//! `ReadBuf` remembers what it initialised, so a buffer is zeroed at most once, not per read.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::ReadBuf;

/// One tokio `poll_read` through a `futures-io` `poll_read`.
pub(crate) fn poll_read_futures<R: futures_io::AsyncRead + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    let dst = buf.initialize_unfilled();
    let len = dst.len();
    let n = ready!(reader.poll_read(cx, dst))?;
    buf.advance(n.min(len));
    Poll::Ready(Ok(()))
}

macro_rules! read_via_futures_io {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read_futures(self, cx, buf)
            }
        }
    )*};
}

macro_rules! write_via_futures_io {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    )*};
}

use minirt::net::{tcp, unix, TcpStream, UnixStream};

read_via_futures_io!(
    TcpStream,
    tcp::ReadHalf<'_>,
    tcp::OwnedReadHalf,
    UnixStream,
    unix::ReadHalf<'_>,
    unix::OwnedReadHalf,
    minirt::io::Stdin,
    minirt::process::ChildStdout,
    minirt::process::ChildStderr,
    minirt::io::DuplexStream,
);

write_via_futures_io!(
    TcpStream,
    tcp::WriteHalf<'_>,
    tcp::OwnedWriteHalf,
    UnixStream,
    unix::WriteHalf<'_>,
    unix::OwnedWriteHalf,
    minirt::io::Stdout,
    minirt::io::Stderr,
    minirt::process::ChildStdin,
    minirt::io::DuplexStream,
);
