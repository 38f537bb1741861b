//! [`TcpListener`]: a listening socket whose `accept` is a future.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest};

use super::{resolve, TcpStream};
use crate::lookup::ToSocketAddrs;
use crate::sys::{self, Socket};

/// Pending connections the kernel queues before `accept` takes them. Linux caps it at
/// `net.core.somaxconn` (4096 on recent kernels).
const BACKLOG: i32 = 1024;

/// A TCP socket listening for connections. Tokio's `TcpListener`.
pub struct TcpListener {
    io: AsyncFd<Socket>,
}

impl TcpListener {
    /// Binds to `addr` (tried in order if it resolves to several; the last error is returned
    /// if none works) and starts listening, with `SO_REUSEADDR` so a restarted server can bind
    /// while old connections sit in `TIME_WAIT`.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last_err = None;
        for addr in resolve(&addr).await? {
            match TcpListener::bind_one(&addr) {
                Ok(listener) => return Ok(listener),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("bind: no address to bind to")))
    }

    fn bind_one(addr: &SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::new_stream(addr)?;
        socket
            .set_opt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
            .map_err(|e| sys::context(e, format_args!("setsockopt(SO_REUSEADDR) for {addr}")))?;
        socket.bind(addr).map_err(|e| sys::context(e, format_args!("bind {addr}")))?;
        socket.listen(BACKLOG).map_err(|e| sys::context(e, format_args!("listen on {addr}")))?;
        Ok(TcpListener { io: AsyncFd::new(socket)? })
    }

    /// Takes a std listener (it is switched to non-blocking mode) and registers it.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let socket = Socket::from_owned(OwnedFd::from(listener))?;
        Ok(TcpListener { io: AsyncFd::new(socket)? })
    }

    /// Gives the socket back as a std listener (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(std::net::TcpListener::from(self.io.into_inner().into_owned()))
    }

    /// Waits for a connection. Errors from `accept4` are returned as they are: `EMFILE` /
    /// `ENFILE` (out of fds) come back as an error each call, never as a busy loop, and the
    /// listener keeps working once fds are free again.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll form of [`TcpListener::accept`].
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().accept()).map(|result| {
            let (socket, addr) = result?;
            Ok((TcpStream::from_socket(socket)?, addr))
        })
    }

    /// The address this listener is bound to (with the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `IP_TTL` for the accepted connections' packets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = libc::c_int::try_from(ttl)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ttl out of range"))?;
        self.io.get_ref().set_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl)
    }

    pub fn ttl(&self) -> io::Result<u32> {
        Ok(self.io.get_ref().get_opt(libc::IPPROTO_IP, libc::IP_TTL)? as u32)
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}
