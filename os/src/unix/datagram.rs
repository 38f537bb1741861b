//! [`UnixDatagram`]: Unix-domain messages, as futures.

use std::io;
use std::net::Shutdown;
use std::path::Path;
use std::task::{Context, Poll};

use minirt_runtime::io::Ready;

use super::{raw_addr, SocketAddr, Unix};
use crate::datagram::datagram_api;
use crate::registered::Registered;
use crate::sys::Socket;

/// A Unix datagram socket. Tokio's `UnixDatagram`.
///
/// Message boundaries are kept, and, unlike UDP, nothing is dropped: a send waits while the
/// receiver's queue is full. The `async` methods may be awaited by any number of tasks at
/// once; the `poll_*` methods keep one waker per direction. The `poll_recv*` methods take a
/// plain `&mut [u8]` (minirt has no `ReadBuf`).
pub struct UnixDatagram {
    inner: Registered<Unix>,
}

datagram_api!(UnixDatagram, std::os::unix::net::UnixDatagram, SocketAddr);

impl UnixDatagram {
    /// A socket bound to `path` (a leading NUL byte names an abstract address).
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_DGRAM)?;
        socket.bind_raw(&raw_addr(path.as_ref())?)?;
        UnixDatagram::new(socket)
    }

    /// A socket bound to nothing: it can send (to a path, or after `connect`), but nobody can
    /// address a reply to it.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::new(Socket::new(libc::AF_UNIX, libc::SOCK_DGRAM)?)
    }

    /// A connected pair of unnamed sockets.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(libc::AF_UNIX, libc::SOCK_DGRAM)?;
        let (a, b) = (UnixDatagram::new(a)?, UnixDatagram::new(b)?);
        // Empty buffers: writable now, readable only once the peer sends (as tokio's pair).
        a.inner.io().assume_ready(Ready::WRITABLE);
        b.inner.io().assume_ready(Ready::WRITABLE);
        Ok((a, b))
    }

    fn new(socket: Socket) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { inner: Registered::new(socket)? })
    }

    /// Sets the default destination of `send` and the only source `recv` accepts.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        // A datagram connect completes at once.
        self.inner.socket().connect_raw(&raw_addr(path.as_ref())?).map(drop)
    }

    /// `shutdown(2)`: stop sending and/or receiving.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.socket().shutdown(how)
    }

    /// Sends one message to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = raw_addr(path.as_ref())?;
        self.inner.send_to(buf, &addr).await
    }

    /// Poll form of [`UnixDatagram::send_to`].
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        path: impl AsRef<Path>,
    ) -> Poll<io::Result<usize>> {
        let addr = raw_addr(path.as_ref())?;
        self.inner.poll_send_to(cx, buf, &addr)
    }

    /// Sends to `path` without waiting.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = raw_addr(path.as_ref())?;
        self.inner.try_send_to(buf, &addr)
    }
}
