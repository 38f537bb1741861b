//! [`TcpStream`]: one TCP connection, readable and writable as futures. What it shares with
//! `UnixStream` (the io traits, `try_*`, readiness, the halves) is `crate::stream`'s.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

use minirt_runtime::io::Interest;

use super::split;
use crate::lookup::{resolve, ToSocketAddrs};
use crate::registered::{Inet, Registered};
use crate::stream::stream_api;
use crate::sys::{socket_options, Connect, Socket};

/// A TCP connection. Tokio's `TcpStream`.
///
/// It implements the `futures-io` [`AsyncRead`](futures_io::AsyncRead) and
/// [`AsyncWrite`](futures_io::AsyncWrite) traits (use `minirt::io::{AsyncReadExt,
/// AsyncWriteExt}` for `read`, `write_all`, ...), for `TcpStream` and for `&TcpStream`: reading
/// and writing need only a shared reference, so one task can read while another writes (see
/// also [`TcpStream::into_split`]). The `async` methods (`readable`, `writable`, `ready`,
/// `peek`) may be awaited by any number of tasks at once; the poll-based ones (the io traits,
/// `poll_*`) keep one waker per direction, so two tasks *reading* the same stream through
/// `AsyncRead` at once is not supported (as in tokio).
pub struct TcpStream {
    pub(super) inner: Registered<Inet>,
}

stream_api!(TcpStream, std::net::TcpStream, SocketAddr);

impl TcpStream {
    /// Opens a connection to `addr`. If it resolves to several addresses, each is tried in
    /// order and the last error is returned if none connects. A refused connection is an error
    /// of kind `ConnectionRefused`.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        // The loop of `lookup::try_each`, written out: a connection's setup is a hot path, and
        // the generic helper's future costs it about 60 instructions (callgrind).
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
        TcpStream::connect_socket(Socket::for_addr(addr, libc::SOCK_STREAM)?, addr).await
    }

    /// Connects an unregistered (non-blocking) socket, for `connect` and
    /// [`TcpSocket::connect`](super::TcpSocket::connect).
    pub(crate) async fn connect_socket(socket: Socket, addr: &SocketAddr) -> io::Result<TcpStream> {
        // Errors are returned as the OS gave them (as tokio does): `raw_os_error()` is
        // `Some(ECONNREFUSED)` and the like for programs that match on the errno.
        let in_progress = matches!(socket.connect(addr)?, Connect::InProgress);
        let stream = TcpStream { inner: Registered::new(socket)? };
        if in_progress {
            poll_fn(|cx| stream.poll_connected(cx)).await?;
        }
        Ok(stream)
    }

    /// Completes a non-blocking connect: the socket turns writable (or errors) when the
    /// handshake ends; `SO_ERROR` then holds the outcome.
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.io().poll_io(cx, Interest::WRITABLE, || {
            let socket = self.inner.socket();
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

    /// A stream `accept` returned (see `Registered::from_accepted`).
    pub(crate) fn from_accepted(socket: Socket) -> io::Result<TcpStream> {
        Ok(TcpStream { inner: Registered::from_accepted(socket)? })
    }

    socket_options! { |self| self.inner.socket();
        /// `TCP_NODELAY`: send small writes at once instead of waiting to coalesce them
        /// (Nagle).
        set_nodelay,
        /// Whether `TCP_NODELAY` is set.
        nodelay: bool = IPPROTO_TCP, TCP_NODELAY;

        /// `TCP_QUICKACK` (Linux): acknowledge at once instead of delaying the ACK. The kernel
        /// may clear it again by itself, so it is a hint for the next ACKs, as in tokio.
        set_quickack,
        /// Whether `TCP_QUICKACK` is set.
        quickack: bool = IPPROTO_TCP, TCP_QUICKACK;

        /// Sets `IP_TTL`, the hops this connection's packets may make.
        set_ttl,
        /// `IP_TTL`.
        ttl: u32 = IPPROTO_IP, IP_TTL;
    }

    /// `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream reset the connection
    /// (RST) instead of closing it gracefully (FIN).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.socket().set_linger(linger)
    }

    /// `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.socket().linger()
    }

    /// `SO_LINGER` with a zero timeout: dropping the stream resets the connection (RST)
    /// instead of closing it gracefully (FIN). Tokio's `set_zero_linger`.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.set_linger(Some(Duration::ZERO))
    }

    /// Reads into `buf` without removing the data from the socket's queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf).await
    }

    /// Poll form of [`TcpStream::peek`] (one waker per direction).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_peek(cx, buf)
    }
}
