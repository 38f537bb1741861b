//! [`TcpStream`]: one TCP connection, readable and writable as futures.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use minirt_runtime::io::{AsyncFd, Interest, Ready};

use super::resolve;
use super::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::lookup::ToSocketAddrs;
use crate::sys::{Connect, Socket};

/// A TCP connection. Tokio's `TcpStream`.
///
/// It implements the `futures-io` [`AsyncRead`] and [`AsyncWrite`] traits (use
/// `minirt::io::{AsyncReadExt, AsyncWriteExt}` for `read`, `write_all`, ...), for `TcpStream`
/// and for `&TcpStream`: reading and writing need only a shared reference, so one task can read
/// while another writes (see also [`TcpStream::into_split`]). The `async` methods
/// (`readable`, `writable`, `ready`, `peek`) may be awaited by any number of tasks at once;
/// the poll-based ones (the io traits, `poll_*`) keep one waker per direction, so two tasks
/// *reading* the same stream through `AsyncRead` at once is not supported (as in tokio).
pub struct TcpStream {
    io: AsyncFd<Socket>,
}

impl TcpStream {
    /// Opens a connection to `addr`. If it resolves to several addresses, each is tried in
    /// order and the last error is returned if none connects. A refused connection is an error
    /// of kind `ConnectionRefused`.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_err = None;
        for addr in resolve(&addr).await? {
            match TcpStream::connect_one(&addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("connect: no address to connect to")))
    }

    async fn connect_one(addr: &SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_socket(Socket::new_stream(addr)?, addr).await
    }

    /// Connects an unregistered (non-blocking) socket, for `connect` and
    /// [`TcpSocket::connect`](super::TcpSocket::connect).
    pub(crate) async fn connect_socket(socket: Socket, addr: &SocketAddr) -> io::Result<TcpStream> {
        // Errors are returned as the OS gave them (as tokio does): `raw_os_error()` is
        // `Some(ECONNREFUSED)` and the like for programs that match on the errno.
        let in_progress = matches!(socket.connect(addr)?, Connect::InProgress);
        let stream = TcpStream::from_socket(socket)?;
        if in_progress {
            poll_fn(|cx| stream.poll_connected(cx)).await?;
        }
        Ok(stream)
    }

    /// Completes a non-blocking connect: the socket turns writable (or errors) when the
    /// handshake ends; `SO_ERROR` then holds the outcome.
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_io(cx, Interest::WRITABLE, || {
            let socket = self.io.get_ref();
            if let Some(err) = socket.take_error()? {
                return Err(err);
            }
            // Writable with no error but no peer yet means the readiness was not the
            // handshake's (a stale or assumed one): wait for the real edge.
            match socket.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })
    }

    pub(crate) fn from_socket(socket: Socket) -> io::Result<TcpStream> {
        Ok(TcpStream { io: AsyncFd::new(socket)? })
    }

    /// A stream `accept` returned: assumed readable and writable, so its first read tries the
    /// socket (the client's request is usually there already) instead of waiting a loop turn
    /// for the event epoll would report. tokio 1.54 does the same.
    pub(crate) fn from_accepted(socket: Socket) -> io::Result<TcpStream> {
        let stream = TcpStream::from_socket(socket)?;
        stream.io.assume_ready(Ready::READABLE | Ready::WRITABLE);
        Ok(stream)
    }

    /// Takes a connected std stream (it is switched to non-blocking mode) and registers it.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_socket(Socket::from_owned(OwnedFd::from(stream))?)
    }

    /// Gives the socket back as a std stream (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(std::net::TcpStream::from(self.io.into_inner().into_owned()))
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// `TCP_NODELAY`: send small writes at once instead of waiting to coalesce them (Nagle).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_opt(libc::IPPROTO_TCP, libc::TCP_NODELAY, nodelay as libc::c_int)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.io.get_ref().get_opt(libc::IPPROTO_TCP, libc::TCP_NODELAY)? != 0)
    }

    /// `TCP_QUICKACK` (Linux): acknowledge at once instead of delaying the ACK. The kernel
    /// may clear it again by itself, so it is a hint for the next ACKs, as in tokio.
    pub fn set_quickack(&self, quickack: bool) -> io::Result<()> {
        self.io.get_ref().set_opt(libc::IPPROTO_TCP, libc::TCP_QUICKACK, quickack as libc::c_int)
    }

    /// Whether `TCP_QUICKACK` is set.
    pub fn quickack(&self) -> io::Result<bool> {
        Ok(self.io.get_ref().get_opt(libc::IPPROTO_TCP, libc::TCP_QUICKACK)? != 0)
    }

    /// `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream reset the connection
    /// (RST) instead of closing it gracefully (FIN).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.io.get_ref().set_linger(linger)
    }

    /// `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.io.get_ref().linger()
    }

    /// `SO_LINGER` with a zero timeout: dropping the stream resets the connection (RST)
    /// instead of closing it gracefully (FIN). Tokio's `set_zero_linger`.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.set_linger(Some(Duration::ZERO))
    }

    /// Sets `IP_TTL`, the hops this connection's packets may make.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_u32_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl, "IP_TTL")
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(self.io.get_ref().get_opt(libc::IPPROTO_IP, libc::IP_TTL)? as u32)
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Waits until any direction of `interest` is ready and says what is.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let guard = self.io.ready(interest).await?;
        Ok(guard.ready())
    }

    /// Waits until the stream is readable; then try [`TcpStream::try_read`].
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await.map(drop)
    }

    /// Waits until the stream is writable; then try [`TcpStream::try_write`].
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await.map(drop)
    }

    /// Poll form of [`TcpStream::readable`] (one waker per direction).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_read_ready(cx).map_ok(drop)
    }

    /// Poll form of [`TcpStream::writable`] (one waker per direction).
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

    /// Reads without waiting into the spare capacity of `buf`, appending what arrived (a full
    /// vector grows first, so `Ok(0)` is still EOF). Tokio's `try_read_buf`, with a `Vec<u8>`
    /// for its `BufMut` (see PORTING.md).
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

    /// Writes without waiting: `WouldBlock` if the send buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |socket| socket.send(buf))
    }

    /// Writes from several buffers in one syscall, without waiting.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |socket| socket.send_vectored(bufs))
    }

    /// Runs `op` (which should be non-blocking I/O on this socket) if `interest` is ready,
    /// clearing the readiness if it returns `WouldBlock`.
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

    /// Reads into `buf` without removing the data from the socket's queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv(buf, libc::MSG_PEEK)).await
    }

    /// Poll form of [`TcpStream::peek`] (one waker per direction).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().recv(buf, libc::MSG_PEEK))
    }

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_transfer(cx, Interest::READABLE, buf.len(), |socket| socket.recv(buf, 0))
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_transfer(cx, Interest::WRITABLE, buf.len(), |socket| socket.send(buf))
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_transfer(cx, Interest::WRITABLE, len, |socket| socket.send_vectored(bufs))
    }

    fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        len: usize,
        op: impl FnMut(&Socket) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        crate::transfer::poll_transfer(&self.io, cx, interest, len, op)
    }

    /// Shuts down one or both halves (`shutdown(2)`). Shutting down the write half sends FIN:
    /// the peer reads EOF, and this side can keep reading.
    /// `shutdown(2)`, with `NotConnected` taken as done, as tokio does: the connection is
    /// already shut (by a TCP reset), and whether the kernel says so depends on a race with it.
    pub(crate) fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        match self.io.get_ref().shutdown(how) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            result => result,
        }
    }

    /// Borrowed halves, usable at the same time within one task (for example in a `join`).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Owned halves that can move into two different tasks. Dropping the write half shuts
    /// the write direction down; [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(Arc::new(self))
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
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

    /// Shuts the write half down (FIN); reading stays possible.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_std(Shutdown::Write))
    }
}

impl AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for &TcpStream {
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

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_std(Shutdown::Write))
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

/// [`TcpStream::from_std`], for `?` and `.try_into()` (as tokio).
impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}
