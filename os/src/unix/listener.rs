//! [`UnixListener`]: a listening Unix stream socket whose `accept` is a future.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest, Ready};

use super::{raw_addr, raw_from_std, SocketAddr, UnixStream};
use crate::sys::Socket;

/// Pending connections the kernel queues before `accept` takes them.
const BACKLOG: i32 = 1024;

/// A Unix stream socket listening for connections. Tokio's `UnixListener`.
pub struct UnixListener {
    io: AsyncFd<Socket>,
}

impl UnixListener {
    /// Creates the socket file at `path` (or, if `path` starts with a NUL byte, binds the rest
    /// as an abstract name) and listens. The OS error comes back as is: `EADDRINUSE` if the
    /// file exists (remove a stale one first), `ENOENT` if the directory does not.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket.bind_raw(&raw_addr(path.as_ref())?)?;
        socket.listen(BACKLOG)?;
        UnixListener::from_socket(socket)
    }

    /// [`UnixListener::bind`] to a std `SocketAddr` (a path, or an abstract name built with
    /// `std::os::linux::net::SocketAddrExt::from_abstract_name`).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn bind_addr(addr: &std::os::unix::net::SocketAddr) -> io::Result<UnixListener> {
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket.bind_raw(&raw_from_std(addr)?)?;
        socket.listen(BACKLOG)?;
        UnixListener::from_socket(socket)
    }

    /// Takes a std listener (switched to non-blocking mode) and registers it.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_socket(Socket::from_owned(OwnedFd::from(listener))?)
    }

    /// Registers a listening socket, assumed readable (see `TcpListener::from_socket`).
    fn from_socket(socket: Socket) -> io::Result<UnixListener> {
        let io = AsyncFd::new(socket)?;
        io.assume_ready(Ready::READABLE);
        Ok(UnixListener { io })
    }

    /// Gives the socket back as a std listener (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(std::os::unix::net::UnixListener::from(self.io.into_inner().into_owned()))
    }

    /// Waits for a connection. Any number of tasks may await it on one listener.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (socket, addr) =
            self.io.async_io(Interest::READABLE, |socket| socket.accept_raw()).await?;
        Ok((UnixStream::from_accepted(socket)?, SocketAddr::from_raw(addr)))
    }

    /// Poll form of [`UnixListener::accept`] (one waker: for a single accepting task).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().accept_raw()).map(|result| {
            let (socket, addr) = result?;
            Ok((UnixStream::from_accepted(socket)?, SocketAddr::from_raw(addr)))
        })
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from_raw(self.io.get_ref().local_raw()?))
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixListener");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

/// [`UnixListener::from_std`], for `?` and `.try_into()` (as tokio).
impl TryFrom<std::os::unix::net::UnixListener> for UnixListener {
    type Error = io::Error;

    fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(listener)
    }
}
