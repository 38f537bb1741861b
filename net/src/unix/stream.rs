//! [`UnixStream`]: one Unix stream connection, readable and writable as futures.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use minirt_runtime::io::{AsyncFd, Interest, Ready};

use super::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use super::{raw_addr, raw_from_std, SocketAddr, UCred};
use crate::sys::{RawAddr, Socket};
use crate::transfer::poll_transfer;

/// A Unix stream connection. Tokio's `UnixStream`.
///
/// It implements the `futures-io` [`AsyncRead`] and [`AsyncWrite`] traits for `UnixStream`
/// and `&UnixStream`. The `async` readiness methods may be awaited by any number of tasks at
/// once; the poll-based ones (the io traits, `poll_*`) keep one waker per direction (one
/// reading task and one writing task, as in tokio).
pub struct UnixStream {
    io: AsyncFd<Socket>,
}

impl UnixStream {
    /// Connects to the socket at `path` (a leading NUL byte names an abstract address). The
    /// OS error comes back as is: `ENOENT` (no such socket), `ECONNREFUSED` (nobody
    /// listening), `EAGAIN` (the listener's backlog is full).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        UnixStream::connect_raw(raw_addr(path.as_ref())?).await
    }

    /// [`UnixStream::connect`] to a std `SocketAddr` (a path or an abstract name).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn connect_addr(addr: &std::os::unix::net::SocketAddr) -> io::Result<UnixStream> {
        UnixStream::connect_raw(raw_from_std(addr)?).await
    }

    async fn connect_raw(addr: RawAddr) -> io::Result<UnixStream> {
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        // Even a connect that completed at once (the usual case on Unix sockets) waits for
        // the reactor's writable event and checks `SO_ERROR`, as tokio's does: a listener
        // that closes before accepting makes the connect fail, not the first read.
        socket.connect_raw(&addr)?;
        let stream = UnixStream::from_socket(socket)?;
        poll_fn(|cx| {
            stream.io.poll_io(cx, Interest::WRITABLE, || {
                match stream.io.get_ref().take_error()? {
                    Some(err) => Err(err),
                    None => Ok(()),
                }
            })
        })
        .await?;
        Ok(stream)
    }

    /// A connected pair of unnamed sockets (`socketpair`), for talking between tasks or to a
    /// child process.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(libc::AF_UNIX, libc::SOCK_STREAM)?;
        let (a, b) = (UnixStream::from_socket(a)?, UnixStream::from_socket(b)?);
        // Empty buffers: writable now, readable only once the peer writes (as tokio's pair).
        a.io.assume_ready(Ready::WRITABLE);
        b.io.assume_ready(Ready::WRITABLE);
        Ok((a, b))
    }

    pub(crate) fn from_socket(socket: Socket) -> io::Result<UnixStream> {
        Ok(UnixStream { io: AsyncFd::new(socket)? })
    }

    /// A stream `accept` returned, assumed readable and writable (see
    /// `TcpStream::from_accepted`).
    pub(crate) fn from_accepted(socket: Socket) -> io::Result<UnixStream> {
        let stream = UnixStream::from_socket(socket)?;
        stream.io.assume_ready(Ready::READABLE | Ready::WRITABLE);
        Ok(stream)
    }

    /// Takes a std stream (switched to non-blocking mode) and registers it.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_socket(Socket::from_owned(OwnedFd::from(stream))?)
    }

    /// Gives the socket back as a std stream (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(std::os::unix::net::UnixStream::from(self.io.into_inner().into_owned()))
    }

    /// This end's address (usually unnamed for a connecting client).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from_raw(self.io.get_ref().local_raw()?))
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from_raw(self.io.get_ref().peer_raw()?))
    }

    /// The peer process's credentials when it connected (`SO_PEERCRED`).
    pub fn peer_cred(&self) -> io::Result<UCred> {
        Ok(UCred::from_raw(self.io.get_ref().peer_cred()?))
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Waits until any part of `interest` is ready and says what is.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.io.ready(interest).await?.ready())
    }

    /// Waits until the stream is readable (data, EOF, or an error); then try `try_read`.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await.map(drop)
    }

    /// Waits until the send buffer has room (or an error); then try `try_write`.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await.map(drop)
    }

    /// Poll form of [`UnixStream::readable`] (one waker per direction).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_read_ready(cx).map_ok(drop)
    }

    /// Poll form of [`UnixStream::writable`] (one waker per direction).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_write_ready(cx).map_ok(drop)
    }

    /// Reads without waiting: `WouldBlock` if no data is ready. `Ok(0)` is EOF.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv(buf, 0))
    }

    /// Reads into several buffers in one syscall, without waiting. `Ok(0)` is EOF.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_vectored(bufs))
    }

    /// Reads without waiting into the spare capacity of `buf`, appending what arrived (see
    /// `TcpStream::try_read_buf`).
    #[cfg(not(feature = "bytes"))]
    pub fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_into_spare(buf, 0))
    }

    /// Reads without waiting into a `bytes::BufMut` (a `Vec<u8>` or a `BytesMut`), advancing it
    /// past what arrived: tokio's `try_read_buf` signature (feature `bytes`).
    #[cfg(feature = "bytes")]
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_into_buf_mut(buf, 0))
    }

    /// Writes without waiting: `WouldBlock` if the send buffer is full; `EPIPE` if the peer
    /// closed (never `SIGPIPE`).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |socket| socket.send(buf))
    }

    /// Writes from several buffers in one syscall, without waiting.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |socket| socket.send_vectored(bufs))
    }

    /// Runs `op` (non-blocking I/O on this socket) if `interest` is ready, clearing the
    /// readiness if it returns `WouldBlock`.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.try_io(interest, |_| op())
    }

    /// Runs `op` once `interest` is ready, waiting again each time it says `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.async_io(interest, |_| op()).await
    }

    /// Borrowed halves, usable at the same time within one task.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Owned halves that can move into two tasks. Dropping the write half shuts the write
    /// direction down; [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(Arc::new(self))
    }

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_transfer(&self.io, cx, Interest::READABLE, buf.len(), |socket| socket.recv(buf, 0))
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_transfer(&self.io, cx, Interest::WRITABLE, buf.len(), |socket| socket.send(buf))
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        poll_transfer(&self.io, cx, Interest::WRITABLE, len, |socket| socket.send_vectored(bufs))
    }

    /// `shutdown(2)` one or both halves.
    /// `shutdown(2)`, with `NotConnected` taken as done, as tokio does: the connection is
    /// already shut (by the peer closing), and whether the kernel says so depends on a race with it.
    pub(crate) fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        match self.io.get_ref().shutdown(how) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            result => result,
        }
    }
}

macro_rules! impl_io_traits {
    ($ty:ty) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }
        }

        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            /// Nothing to flush: every write goes straight to the kernel.
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts the write half down: the peer reads EOF; reading stays possible.
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown_std(Shutdown::Write))
            }
        }
    };
}

impl_io_traits!(UnixStream);
impl_io_traits!(&UnixStream);

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixStream");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

/// [`UnixStream::from_std`], for `?` and `.try_into()` (as tokio).
impl TryFrom<std::os::unix::net::UnixStream> for UnixStream {
    type Error = io::Error;

    fn try_from(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(stream)
    }
}
