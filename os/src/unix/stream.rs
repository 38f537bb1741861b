//! [`UnixStream`]: one Unix stream connection, readable and writable as futures. What it
//! shares with `TcpStream` (the io traits, `try_*`, readiness, the halves) is
//! `crate::stream`'s.

use std::future::poll_fn;
use std::io;
use std::path::Path;

use minirt_runtime::io::{Interest, Ready};

use super::split;
use super::{raw_addr, raw_from_std, SocketAddr, UCred, Unix};
use crate::registered::Registered;
use crate::stream::stream_api;
use crate::sys::{RawAddr, Socket};

/// A Unix stream connection. Tokio's `UnixStream`.
///
/// It implements the `futures-io` [`AsyncRead`](futures_io::AsyncRead) and
/// [`AsyncWrite`](futures_io::AsyncWrite) traits for `UnixStream` and `&UnixStream`. The
/// `async` readiness methods may be awaited by any number of tasks at once; the poll-based
/// ones (the io traits, `poll_*`) keep one waker per direction (one reading task and one
/// writing task, as in tokio).
pub struct UnixStream {
    pub(super) inner: Registered<Unix>,
}

stream_api!(UnixStream, std::os::unix::net::UnixStream, SocketAddr);

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
        let stream = UnixStream { inner: Registered::new(socket)? };
        poll_fn(|cx| {
            stream.inner.io().poll_io(cx, Interest::WRITABLE, || {
                match stream.inner.socket().take_error()? {
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
        let (a, b) =
            (UnixStream { inner: Registered::new(a)? }, UnixStream { inner: Registered::new(b)? });
        // Empty buffers: writable now, readable only once the peer writes (as tokio's pair).
        a.inner.io().assume_ready(Ready::WRITABLE);
        b.inner.io().assume_ready(Ready::WRITABLE);
        Ok((a, b))
    }

    /// A stream `accept` returned (see `Registered::from_accepted`).
    pub(crate) fn from_accepted(socket: Socket) -> io::Result<UnixStream> {
        Ok(UnixStream { inner: Registered::from_accepted(socket)? })
    }

    /// The peer process's credentials when it connected (`SO_PEERCRED`).
    pub fn peer_cred(&self) -> io::Result<UCred> {
        Ok(UCred::from_raw(self.inner.socket().peer_cred()?))
    }
}
