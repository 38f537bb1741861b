//! [`UnixListener`]: a listening Unix stream socket whose `accept` is a future.

use std::io;
use std::path::Path;
use std::task::{Context, Poll};

use minirt_runtime::io::Interest;

use super::{raw_addr, raw_from_std, SocketAddr, Unix, UnixStream};
use crate::registered::{socket_api, Registered};
use crate::sys::{RawAddr, Socket};

/// Pending connections the kernel queues before `accept` takes them.
const BACKLOG: i32 = 1024;

/// A Unix stream socket listening for connections. Tokio's `UnixListener`.
pub struct UnixListener {
    inner: Registered<Unix>,
}

socket_api!(listener UnixListener, std::os::unix::net::UnixListener, SocketAddr);

impl UnixListener {
    /// Creates the socket file at `path` (or, if `path` starts with a NUL byte, binds the rest
    /// as an abstract name) and listens. The OS error comes back as is: `EADDRINUSE` if the
    /// file exists (remove a stale one first), `ENOENT` if the directory does not.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::listen_on(raw_addr(path.as_ref())?)
    }

    /// [`UnixListener::bind`] to a std `SocketAddr` (a path, or an abstract name built with
    /// `std::os::linux::net::SocketAddrExt::from_abstract_name`).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn bind_addr(addr: &std::os::unix::net::SocketAddr) -> io::Result<UnixListener> {
        UnixListener::listen_on(raw_from_std(addr)?)
    }

    fn listen_on(addr: RawAddr) -> io::Result<UnixListener> {
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket.bind_raw(&addr)?;
        socket.listen(BACKLOG)?;
        Ok(UnixListener { inner: Registered::listening(socket)? })
    }

    /// Waits for a connection. Any number of tasks may await it on one listener.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let io = self.inner.io();
        let (socket, addr) = io.async_io(Interest::READABLE, |socket| socket.accept_raw()).await?;
        Ok((UnixStream::from_accepted(socket)?, SocketAddr::from_raw(addr)))
    }

    /// Poll form of [`UnixListener::accept`] (one waker: for a single accepting task).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let io = self.inner.io();
        io.poll_io(cx, Interest::READABLE, || io.get_ref().accept_raw()).map(|result| {
            let (socket, addr) = result?;
            Ok((UnixStream::from_accepted(socket)?, SocketAddr::from_raw(addr)))
        })
    }
}
