//! [`Registered`]: a socket of one address [`Family`] registered with the reactor, the core
//! every socket type of `tcp`, `udp` and `unix` wraps; and `socket_api!`, the public methods
//! they all have, as thin wrappers over it.
//!
//! ```text
//!  TcpStream, UnixStream  ─ stream_api!   ┐
//!  UdpSocket, UnixDatagram ─ datagram_api! ┼─ socket_api! ─ { inner: Registered<F> }
//!  TcpListener, UnixListener ──────────────┘                 AsyncFd<Socket>, F::addr
//!  stream.rs: the byte-stream operations   datagram.rs: the datagram operations
//! ```
//!
//! The public types keep their own names, docs and what only they do (connecting, options,
//! credentials, pairs); what they share is written once here and in `stream.rs` and
//! `datagram.rs`.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest, Ready};

use crate::sys::{RawAddr, Socket};

/// A socket address family: how to name its addresses.
pub(crate) trait Family {
    /// What `local_addr`, `peer_addr` and `recv_from` give.
    type Addr: fmt::Debug;

    /// The family's address for a kernel address of this family.
    fn addr(raw: RawAddr) -> io::Result<Self::Addr>;
}

/// IPv4 and IPv6 (TCP and UDP): addresses are `std::net::SocketAddr`s.
pub(crate) enum Inet {}

impl Family for Inet {
    type Addr = SocketAddr;

    fn addr(raw: RawAddr) -> io::Result<SocketAddr> {
        raw.inet()
    }
}

/// A non-blocking socket of family `F`, registered with the reactor (one `epoll_ctl(ADD)`).
pub(crate) struct Registered<F> {
    io: AsyncFd<Socket>,
    family: PhantomData<fn() -> F>,
}

impl<F: Family> Registered<F> {
    pub(crate) fn new(socket: Socket) -> io::Result<Registered<F>> {
        Ok(Registered { io: AsyncFd::new(socket)?, family: PhantomData })
    }

    /// A listening socket, registered and assumed readable: the first `accept` tries `accept4`
    /// at once, so a connection that is already queued is taken without waiting for the
    /// reactor's first event (a task that yields while it waits for one need not depend on
    /// when the loop next polls epoll). A wrong guess costs one `EAGAIN`.
    pub(crate) fn listening(socket: Socket) -> io::Result<Registered<F>> {
        let listener = Registered::new(socket)?;
        listener.io.assume_ready(Ready::READABLE);
        Ok(listener)
    }

    pub(crate) fn io(&self) -> &AsyncFd<Socket> {
        &self.io
    }

    pub(crate) fn socket(&self) -> &Socket {
        self.io.get_ref()
    }

    pub(crate) fn into_socket(self) -> Socket {
        self.io.into_inner()
    }

    pub(crate) fn local_addr(&self) -> io::Result<F::Addr> {
        F::addr(self.socket().local_raw()?)
    }

    pub(crate) fn peer_addr(&self) -> io::Result<F::Addr> {
        F::addr(self.socket().peer_raw()?)
    }

    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.io.ready(interest).await?.ready())
    }

    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv(buf, 0))
    }

    pub(crate) fn try_recv_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_into_spare(buf, 0))
    }

    pub(crate) fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |socket| socket.send(buf))
    }

    pub(crate) async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv(buf, libc::MSG_PEEK)).await
    }

    pub(crate) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Interest::READABLE, || self.socket().recv(buf, libc::MSG_PEEK))
    }

    /// `Name { local, peer, fd }`, leaving out an address the kernel will not give.
    pub(crate) fn fmt_debug(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        let mut d = f.debug_struct(name);
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.field("fd", &self.io.as_raw_fd()).finish()
    }
}

/// The public methods and trait impls every socket type has, over its
/// `inner: Registered<F>`: `socket_api!(UdpSocket, std::net::UdpSocket, SocketAddr)`. A
/// listener (`socket_api!(listener TcpListener, ...)`) has the part that is not about a peer
/// or readiness: `from_std`, `into_std`, `local_addr`, `take_error` and the trait impls.
macro_rules! socket_api {
    (listener $Type:ident, $Std:ty, $Addr:ty) => {
        $crate::registered::socket_api!(@base $Type, $Std, $Addr, listening);
    };
    (@base $Type:ident, $Std:ty, $Addr:ty, $register:ident) => {
        impl $Type {
            /// Takes a std socket (it is switched to non-blocking mode) and registers it.
            ///
            /// # Panics
            /// Outside a minirt runtime.
            pub fn from_std(socket: $Std) -> std::io::Result<$Type> {
                let socket = $crate::sys::Socket::from_owned(std::os::fd::OwnedFd::from(socket))?;
                Ok($Type { inner: $crate::registered::Registered::$register(socket)? })
            }

            /// Gives the socket back as a std one (still non-blocking).
            pub fn into_std(self) -> std::io::Result<$Std> {
                Ok(<$Std>::from(self.inner.into_socket().into_owned()))
            }

            /// This socket's address (for a listener bound to port 0, with the port the
            /// kernel picked; unnamed for an unbound Unix socket, such as a connecting client).
            pub fn local_addr(&self) -> std::io::Result<$Addr> {
                self.inner.local_addr()
            }

            /// Reads and clears the socket's pending error (`SO_ERROR`).
            pub fn take_error(&self) -> std::io::Result<Option<std::io::Error>> {
                self.inner.socket().take_error()
            }
        }

        impl std::os::fd::AsRawFd for $Type {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.inner.io().as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $Type {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.socket().as_fd()
            }
        }

        impl std::fmt::Debug for $Type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.inner.fmt_debug(f, stringify!($Type))
            }
        }

        /// [`from_std`](Self::from_std), for `?` and `.try_into()` (as tokio).
        impl TryFrom<$Std> for $Type {
            type Error = std::io::Error;

            fn try_from(socket: $Std) -> std::io::Result<$Type> {
                $Type::from_std(socket)
            }
        }
    };
    ($Type:ident, $Std:ty, $Addr:ty) => {
        $crate::registered::socket_api!(@base $Type, $Std, $Addr, new);

        impl $Type {
            /// The other end's address (`ENOTCONN` if not connected).
            pub fn peer_addr(&self) -> std::io::Result<$Addr> {
                self.inner.peer_addr()
            }

            /// Waits until any direction of `interest` is ready and says what is. An error
            /// pending on the socket (a reset, an ICMP error on a connected UDP socket)
            /// satisfies every interest.
            pub async fn ready(
                &self,
                interest: minirt_runtime::io::Interest,
            ) -> std::io::Result<minirt_runtime::io::Ready> {
                self.inner.ready(interest).await
            }

            /// Runs `op` (which should be non-blocking I/O on this socket, say `sendmsg` with
            /// control data) if `interest` is ready, clearing the readiness if it returns
            /// `WouldBlock`.
            pub fn try_io<R>(
                &self,
                interest: minirt_runtime::io::Interest,
                op: impl FnOnce() -> std::io::Result<R>,
            ) -> std::io::Result<R> {
                self.inner.io().try_io(interest, |_| op())
            }

            /// Runs `op` once `interest` is ready, waiting again each time it says
            /// `WouldBlock`.
            pub async fn async_io<R>(
                &self,
                interest: minirt_runtime::io::Interest,
                mut op: impl FnMut() -> std::io::Result<R>,
            ) -> std::io::Result<R> {
                self.inner.io().async_io(interest, |_| op()).await
            }
        }
    };
}
pub(crate) use socket_api;
