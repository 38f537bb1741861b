//! [`UnixDatagram`]: Unix-domain messages, as futures.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest, Ready};

use super::{raw_addr, SocketAddr};
use crate::sys::Socket;

/// A Unix datagram socket. Tokio's `UnixDatagram`.
///
/// Message boundaries are kept, and, unlike UDP, nothing is dropped: a send waits while the
/// receiver's queue is full. The `async` methods may be awaited by any number of tasks at
/// once; the `poll_*` methods keep one waker per direction. The `poll_recv*` methods take a
/// plain `&mut [u8]` (minirt has no `ReadBuf`).
pub struct UnixDatagram {
    io: AsyncFd<Socket>,
}

impl UnixDatagram {
    /// A socket bound to `path` (a leading NUL byte names an abstract address).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_DGRAM)?;
        socket.bind_raw(&raw_addr(path.as_ref())?)?;
        UnixDatagram::from_socket(socket)
    }

    /// A socket bound to nothing: it can send (to a path, or after `connect`), but nobody can
    /// address a reply to it.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_socket(Socket::new(libc::AF_UNIX, libc::SOCK_DGRAM)?)
    }

    /// A connected pair of unnamed sockets.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(libc::AF_UNIX, libc::SOCK_DGRAM)?;
        let (a, b) = (UnixDatagram::from_socket(a)?, UnixDatagram::from_socket(b)?);
        // Empty buffers: writable now, readable only once the peer sends (as tokio's pair).
        a.io.assume_ready(Ready::WRITABLE);
        b.io.assume_ready(Ready::WRITABLE);
        Ok((a, b))
    }

    fn from_socket(socket: Socket) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { io: AsyncFd::new(socket)? })
    }

    /// Takes a std socket (switched to non-blocking mode) and registers it.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_socket(Socket::from_owned(OwnedFd::from(socket))?)
    }

    /// Gives the socket back as a std socket (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(std::os::unix::net::UnixDatagram::from(self.io.into_inner().into_owned()))
    }

    /// Sets the default destination of `send` and the only source `recv` accepts.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        // A datagram connect completes at once.
        self.io.get_ref().connect_raw(&raw_addr(path.as_ref())?).map(drop)
    }

    /// This socket's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from_raw(self.io.get_ref().local_raw()?))
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from_raw(self.io.get_ref().peer_raw()?))
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// `shutdown(2)`: stop sending and/or receiving.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Waits until any part of `interest` is ready and says what is.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.io.ready(interest).await?.ready())
    }

    /// Waits until a message can be received.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await.map(drop)
    }

    /// Waits until a message can be sent (the peer's queue has room).
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await.map(drop)
    }

    /// Poll form of [`UnixDatagram::readable`] (one waker per direction).
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_read_ready(cx).map_ok(drop)
    }

    /// Poll form of [`UnixDatagram::writable`] (one waker per direction).
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_write_ready(cx).map_ok(drop)
    }

    /// Sends one message to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.async_io(Interest::WRITABLE, |socket| socket.send(buf)).await
    }

    /// Poll form of [`UnixDatagram::send`].
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Interest::WRITABLE, || self.io.get_ref().send(buf))
    }

    /// Sends without waiting: `WouldBlock` if the peer's queue is full.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |socket| socket.send(buf))
    }

    /// Receives one message from the connected peer (truncated to `buf`).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv(buf, 0)).await
    }

    /// Poll form of [`UnixDatagram::recv`].
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().recv(buf, 0))
    }

    /// Receives without waiting: `WouldBlock` if no message is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv(buf, 0))
    }

    /// Receives one message from the connected peer into the spare capacity of `buf`,
    /// appending it (see `UdpSocket::recv_buf`). Tokio's `recv_buf`, with a `Vec<u8>`.
    pub async fn recv_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv_into_spare(buf, 0)).await
    }

    /// [`UnixDatagram::recv_buf`] without waiting.
    pub fn try_recv_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_into_spare(buf, 0))
    }

    /// Sends one message to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = raw_addr(path.as_ref())?;
        self.io.async_io(Interest::WRITABLE, |socket| socket.send_to_raw(buf, &addr)).await
    }

    /// Poll form of [`UnixDatagram::send_to`].
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        path: impl AsRef<Path>,
    ) -> Poll<io::Result<usize>> {
        let addr = raw_addr(path.as_ref())?;
        self.io.poll_io(cx, Interest::WRITABLE, || self.io.get_ref().send_to_raw(buf, &addr))
    }

    /// Sends to `path` without waiting.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = raw_addr(path.as_ref())?;
        self.io.try_io(Interest::WRITABLE, |socket| socket.send_to_raw(buf, &addr))
    }

    /// Receives one message and the address of its sender (unnamed if it was not bound).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) =
            self.io.async_io(Interest::READABLE, |socket| socket.recv_from_raw(buf, 0)).await?;
        Ok((n, SocketAddr::from_raw(addr)))
    }

    /// Poll form of [`UnixDatagram::recv_from`].
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io
            .poll_io(cx, Interest::READABLE, || self.io.get_ref().recv_from_raw(buf, 0))
            .map_ok(|(n, addr)| (n, SocketAddr::from_raw(addr)))
    }

    /// Receives a message and its sender without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) =
            self.io.try_io(Interest::READABLE, |socket| socket.recv_from_raw(buf, 0))?;
        Ok((n, SocketAddr::from_raw(addr)))
    }

    /// [`UnixDatagram::recv_from`] into the spare capacity of `buf`.
    pub async fn recv_buf_from(&self, buf: &mut Vec<u8>) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self
            .io
            .async_io(Interest::READABLE, |socket| socket.recv_from_raw_into_spare(buf, 0))
            .await?;
        Ok((n, SocketAddr::from_raw(addr)))
    }

    /// [`UnixDatagram::recv_buf_from`] without waiting.
    pub fn try_recv_buf_from(&self, buf: &mut Vec<u8>) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) =
            self.io.try_io(Interest::READABLE, |socket| socket.recv_from_raw_into_spare(buf, 0))?;
        Ok((n, SocketAddr::from_raw(addr)))
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
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixDatagram");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

/// [`UnixDatagram::from_std`], for `?` and `.try_into()` (as tokio).
impl TryFrom<std::os::unix::net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    fn try_from(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(socket)
    }
}
