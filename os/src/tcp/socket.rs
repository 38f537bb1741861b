//! [`TcpSocket`]: a TCP socket not yet connected or listening, for setting options first.
//!
//! ```text
//!  TcpSocket::new_v4 ─ socket(AF_INET, SOCK_STREAM|NONBLOCK|CLOEXEC), not registered yet
//!  set_reuseport, set_send_buffer_size, bind, bind_device, ... ─ setsockopt / bind on it
//!  listen(backlog)   ─ listen, register: a TcpListener
//!  connect(addr)     ─ connect → EINPROGRESS, register, wait for EPOLLOUT, SO_ERROR
//! ```
//!
//! Options that only matter before `listen` or `connect` (`SO_REUSEPORT` for one listener per
//! worker thread, the backlog, buffer sizes that shape the TCP window) can only be set here.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{TcpListener, TcpStream};
use crate::sys::{socket_options, Socket};

/// A TCP socket that has not been connected nor turned into a listener. Tokio's `TcpSocket`.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use minirt_os::TcpSocket;
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseport(true)?; // one listener per worker thread, the kernel balances
/// socket.bind("0.0.0.0:8080".parse().unwrap())?;
/// let listener = socket.listen(4096)?;
/// # let _ = listener; Ok(()) }
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket.
    pub fn new_v4() -> io::Result<TcpSocket> {
        Ok(TcpSocket { inner: Socket::new(libc::AF_INET, libc::SOCK_STREAM)? })
    }

    /// A new IPv6 TCP socket.
    pub fn new_v6() -> io::Result<TcpSocket> {
        Ok(TcpSocket { inner: Socket::new(libc::AF_INET6, libc::SOCK_STREAM)? })
    }

    socket_options! { |self| &self.inner;
        /// `SO_KEEPALIVE`: probe an idle connection so that a dead peer is noticed.
        set_keepalive,
        /// Whether `SO_KEEPALIVE` is set.
        keepalive: bool = SOL_SOCKET, SO_KEEPALIVE;

        /// `SO_REUSEADDR`: bind even while old connections on the port sit in `TIME_WAIT`.
        set_reuseaddr,
        /// Whether `SO_REUSEADDR` is set.
        reuseaddr: bool = SOL_SOCKET, SO_REUSEADDR;

        /// `SO_REUSEPORT`: several sockets (of the same user) may bind the same address and
        /// port; the kernel spreads incoming connections over their listeners.
        set_reuseport,
        /// Whether `SO_REUSEPORT` is set.
        reuseport: bool = SOL_SOCKET, SO_REUSEPORT;

        /// `SO_SNDBUF`. Linux doubles the value (for its own bookkeeping) and reports the
        /// double.
        set_send_buffer_size,
        /// `SO_SNDBUF` as the kernel reports it.
        send_buffer_size: u32 = SOL_SOCKET, SO_SNDBUF;

        /// `SO_RCVBUF` (doubled by Linux, as `SO_SNDBUF`). Set before `connect`/`listen` for
        /// it to shape the TCP window.
        set_recv_buffer_size,
        /// `SO_RCVBUF` as the kernel reports it.
        recv_buffer_size: u32 = SOL_SOCKET, SO_RCVBUF;

        /// Sets `IP_TOS`, the type-of-service byte of this socket's IPv4 packets.
        set_tos_v4,
        /// `IP_TOS` (IPv4).
        tos_v4: u32 = IPPROTO_IP, IP_TOS;

        /// Sets `IPV6_TCLASS`, the traffic class of this socket's IPv6 packets.
        set_tclass_v6,
        /// `IPV6_TCLASS` (IPv6).
        tclass_v6: u32 = IPPROTO_IPV6, IPV6_TCLASS;

        /// `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle).
        set_nodelay,
        /// Whether `TCP_NODELAY` is set.
        nodelay: bool = IPPROTO_TCP, TCP_NODELAY;
    }

    /// `SO_LINGER`: `Some(d)` makes close wait up to `d` for unsent data; `Some(ZERO)` makes
    /// it reset the connection (RST); `None` is the default graceful close in the background.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// `set_linger(Some(Duration::ZERO))`: close with RST.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.inner.set_linger(Some(Duration::ZERO))
    }

    /// `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// The device bound with [`TcpSocket::bind_device`], if any.
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        self.inner.device()
    }

    /// `SO_BINDTODEVICE`: only use `interface` (`None` unbinds). Needs `CAP_NET_RAW`.
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        self.inner.bind_device(interface)
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Binds to `addr` (the OS error as is: `EADDRINUSE`, `EACCES`, ...).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr)
    }

    /// Connects to `addr` and returns the stream.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        self.inner.set_nonblocking()?;
        TcpStream::connect_socket(self.inner, &addr).await
    }

    /// Starts listening with a queue of `backlog` pending connections (Linux caps it at
    /// `net.core.somaxconn`) and returns the listener.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.set_nonblocking()?;
        self.inner.listen(backlog)?;
        TcpListener::from_socket(self.inner)
    }

    /// Wraps a std stream (typically one a blocking library connected) to set options on it;
    /// it is switched to non-blocking mode by `connect`/`listen`.
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        TcpSocket { inner: Socket::from_owned_as_is(OwnedFd::from(stream)) }
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_owned().into_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// # Safety
    /// `fd` must be an open TCP socket that nothing else owns.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        // SAFETY: the caller hands over ownership of an open socket fd.
        TcpSocket { inner: Socket::from_owned_as_is(unsafe { OwnedFd::from_raw_fd(fd) }) }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket").field("fd", &self.as_raw_fd()).finish()
    }
}
