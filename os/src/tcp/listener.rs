//! [`TcpListener`]: a listening socket whose `accept` is a future.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest, Ready};

use super::{resolve, TcpStream};
use crate::lookup::ToSocketAddrs;
use crate::sys::{socket_options, Socket};

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
        let io = AsyncFd::new(socket)?;
        // Assumed readable: the first `accept` tries `accept4` at once, so a connection that
        // is already queued is taken without waiting for the reactor's first event (a task
        // that yields while it waits for one need not depend on when the loop next polls
        // epoll). A wrong guess costs one `EAGAIN`.
        io.assume_ready(Ready::READABLE);
        Ok(TcpListener { io })
    }

    /// Takes a std listener (it is switched to non-blocking mode) and registers it.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_socket(Socket::from_owned(OwnedFd::from(listener))?)
    }

    /// Gives the socket back as a std listener (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(std::net::TcpListener::from(self.io.into_inner().into_owned()))
    }

    /// Waits for a connection. Errors from `accept4` are returned as they are: `EMFILE` /
    /// `ENFILE` (out of fds) come back as an error each call, never as a busy loop, and the
    /// listener keeps working once fds are free again.
    ///
    /// Any number of tasks may await `accept` on one listener (an `Arc<TcpListener>`): each
    /// waits in its own place, and every one is woken when connections arrive.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (socket, addr) = self.io.async_io(Interest::READABLE, |socket| socket.accept()).await?;
        Ok((TcpStream::from_accepted(socket)?, addr))
    }

    /// Poll form of [`TcpListener::accept`]. As every `poll_*` method, it keeps one waker per
    /// listener: if several tasks poll it, only the last is woken (use `accept` to share).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().accept()).map(|result| {
            let (socket, addr) = result?;
            Ok((TcpStream::from_accepted(socket)?, addr))
        })
    }

    /// The address this listener is bound to (with the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    socket_options! { |self| self.io.get_ref();
        /// Sets `IP_TTL` for the accepted connections' packets.
        set_ttl,
        /// `IP_TTL`.
        ttl: u32 = IPPROTO_IP, IP_TTL;
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

/// [`TcpListener::from_std`], for `?` and `.try_into()` (as tokio).
impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }
}
