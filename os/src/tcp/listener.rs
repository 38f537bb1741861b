//! [`TcpListener`]: a listening socket whose `accept` is a future.

use std::future::ready;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use minirt_runtime::io::Interest;

use super::TcpStream;
use crate::lookup::{try_each, ToSocketAddrs};
use crate::registered::{socket_api, Inet, Registered};
use crate::sys::{socket_options, Socket};

/// Pending connections the kernel queues before `accept` takes them. Linux caps it at
/// `net.core.somaxconn` (4096 on recent kernels).
const BACKLOG: i32 = 1024;

/// A TCP socket listening for connections. Tokio's `TcpListener`.
pub struct TcpListener {
    inner: Registered<Inet>,
}

socket_api!(listener TcpListener, std::net::TcpListener, SocketAddr);

impl TcpListener {
    /// Binds to `addr` (tried in order if it resolves to several; the last error is returned
    /// if none works) and starts listening, with `SO_REUSEADDR` so a restarted server can bind
    /// while old connections sit in `TIME_WAIT`.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        try_each(&addr, |addr| ready(TcpListener::bind_one(&addr))).await
    }

    fn bind_one(addr: &SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::for_addr(addr, libc::SOCK_STREAM)?;
        // Errors are returned as the OS gave them (as tokio does), so `raw_os_error()` is
        // `Some(EADDRINUSE)` and the like for programs that match on the errno.
        socket.set_opt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        socket.bind(addr)?;
        socket.listen(BACKLOG)?;
        TcpListener::from_socket(socket)
    }

    /// Registers a listening (non-blocking) socket, for
    /// [`TcpSocket::listen`](super::TcpSocket::listen).
    pub(crate) fn from_socket(socket: Socket) -> io::Result<TcpListener> {
        Ok(TcpListener { inner: Registered::listening(socket)? })
    }

    /// Waits for a connection. Errors from `accept4` are returned as they are: `EMFILE` /
    /// `ENFILE` (out of fds) come back as an error each call, never as a busy loop, and the
    /// listener keeps working once fds are free again.
    ///
    /// Any number of tasks may await `accept` on one listener (an `Arc<TcpListener>`): each
    /// waits in its own place, and every one is woken when connections arrive.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let io = self.inner.io();
        let (socket, addr) = io.async_io(Interest::READABLE, |socket| socket.accept()).await?;
        Ok((TcpStream::from_accepted(socket)?, addr))
    }

    /// Poll form of [`TcpListener::accept`]. As every `poll_*` method, it keeps one waker per
    /// listener: if several tasks poll it, only the last is woken (use `accept` to share).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let io = self.inner.io();
        io.poll_io(cx, Interest::READABLE, || io.get_ref().accept()).map(|result| {
            let (socket, addr) = result?;
            Ok((TcpStream::from_accepted(socket)?, addr))
        })
    }

    socket_options! { |self| self.inner.socket();
        /// Sets `IP_TTL` for the accepted connections' packets.
        set_ttl,
        /// `IP_TTL`.
        ttl: u32 = IPPROTO_IP, IP_TTL;
    }
}
