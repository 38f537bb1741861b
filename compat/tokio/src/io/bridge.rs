//! minirt's streams seen through tokio's traits.
//!
//! minirt's own types implement the runtime-neutral `futures-io` traits; here each one also
//! implements tokio's, by calling the same `poll_*` on the same object: no adapter type, no
//! copy. A tokio read on a socket stream (TCP, Unix, their read halves) goes through
//! minirt's `AsyncReadUninit`: `recv(2)` writes straight into the unfilled part of the
//! `ReadBuf`, initialised or not. Any other reader gets the unfilled part through
//! `futures-io`, initialised first; `ReadBuf` remembers what it initialised, so a buffer is
//! zeroed at most once, not per read (but hyper hands a fresh uninitialised `ReadBuf` each
//! read, which is why the streams skip the zeroing).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use minirt::io::AsyncReadUninit;

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

/// One tokio `poll_read` through [`AsyncReadUninit`]: the stream reads straight into the
/// unfilled part of `buf`, initialised or not (no zeroing first, unlike
/// [`poll_read_futures`]).
pub(crate) fn poll_read_uninit<R: AsyncReadUninit + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
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

/// tokio's `AsyncRead` for `$ty`s through `$read`: [`poll_read_uninit`] for minirt's streams
/// (TCP, Unix and their read halves), which read into the unfilled part as it is;
/// [`poll_read_futures`] for the other readers, which zero it first.
macro_rules! read_via {
    ($read:ident: $($ty:ty),* $(,)?) => {$(
        impl $crate::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                $read(self, cx, buf)
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

read_via!(
    poll_read_uninit:
    TcpStream,
    tcp::ReadHalf<'_>,
    tcp::OwnedReadHalf,
    UnixStream,
    unix::ReadHalf<'_>,
    unix::OwnedReadHalf,
);

read_via!(
    poll_read_futures:
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
