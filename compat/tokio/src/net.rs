//! Sockets (tokio's `tokio::net`): minirt's, with tokio's io traits implemented for them.
//!
//! `UdpSocket` and `UnixDatagram` are thin newtypes: tokio's `poll_recv*`/`poll_peek*` fill a `ReadBuf`
//! and its `recv_buf*` take any `BufMut`, where minirt's take `&mut [u8]` and `&mut Vec<u8>`
//! (tokio-util's `UdpFramed` calls `poll_recv_from` with a `ReadBuf`). Every other method is
//! minirt's, reached through `Deref`.

use std::io;
use std::net::SocketAddr;
use std::ops::Deref;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{ready, Context, Poll};

use bytes_dep::BufMut;

use crate::io::ReadBuf;

pub use minirt::net::{lookup_host, tcp, ToSocketAddrs};
pub use minirt::net::{TcpListener, TcpSocket, TcpStream, UnixListener, UnixStream};

mod unix_socket;
pub use unix_socket::UnixSocket;

/// Unix domain sockets' parts and pipes (tokio's `tokio::net::unix`): minirt's, and
/// [`unix::pipe`].
pub mod unix {
    pub use minirt::net::unix::*;

    pub mod pipe;
}

/// tokio's async socket methods that code may name as paths (`UnixDatagram::send(&socket,
/// buf)`, as tokio's own tests do): a path finds only a type's inherent methods, not those
/// reached through `Deref`, so the newtypes forward these to minirt's. `$Addr` is the peer
/// address type, `$Target` what `send_to` takes.
macro_rules! path_methods {
    ($Addr:ty, $Target:ty) => {
        /// Waits until any direction of `interest` is ready and says what is.
        pub async fn ready(&self, interest: crate::io::Interest) -> io::Result<crate::io::Ready> {
            self.0.ready(interest).await
        }

        /// Waits until a datagram can be received.
        pub async fn readable(&self) -> io::Result<()> {
            self.0.readable().await
        }

        /// Waits until a datagram can be sent.
        pub async fn writable(&self) -> io::Result<()> {
            self.0.writable().await
        }

        /// Sends `buf` to the connected peer.
        pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
            self.0.send(buf).await
        }

        /// Receives a datagram from the connected peer.
        pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.recv(buf).await
        }

        /// Sends `buf` to `target`.
        pub async fn send_to(&self, buf: &[u8], target: $Target) -> io::Result<usize> {
            self.0.send_to(buf, target).await
        }

        /// Receives a datagram and its sender.
        pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, $Addr)> {
            self.0.recv_from(buf).await
        }
    };
}

/// A UDP socket (tokio's `UdpSocket`): minirt's, with tokio's `ReadBuf`/`BufMut` receive
/// methods.
#[derive(Debug)]
pub struct UdpSocket(minirt::net::UdpSocket);

impl Deref for UdpSocket {
    type Target = minirt::net::UdpSocket;

    fn deref(&self) -> &minirt::net::UdpSocket {
        &self.0
    }
}

/// Receives once into a `BufMut`'s next chunk through `recv` on a `&mut [u8]` (the chunk is
/// zeroed first: `BufMut` does not say what of it is initialised).
fn recv_into<B: BufMut, T>(
    buf: &mut B,
    recv: impl FnOnce(&mut [u8]) -> io::Result<(usize, T)>,
) -> io::Result<(usize, T)> {
    let chunk = buf.chunk_mut();
    let len = chunk.len();
    // SAFETY: `UninitSlice` is a `[MaybeUninit<u8>]`; the ReadBuf only ever writes to it.
    let dst = unsafe { &mut *(chunk as *mut _ as *mut [std::mem::MaybeUninit<u8>]) };
    let mut rb = ReadBuf::uninit(dst);
    let (n, extra) = recv(rb.initialize_unfilled_to(len))?;
    // SAFETY: `recv` wrote `n` bytes of the chunk (and it was initialised before).
    unsafe { buf.advance_mut(n.min(len)) };
    Ok((n, extra))
}

impl UdpSocket {
    path_methods!(SocketAddr, impl ToSocketAddrs);

    /// Binds a socket to `addr`.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        minirt::net::UdpSocket::bind(addr).await.map(UdpSocket)
    }

    /// Wraps a standard socket (which must be non-blocking, as with tokio).
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        minirt::net::UdpSocket::from_std(socket).map(UdpSocket)
    }

    /// The standard socket.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.0.into_std()
    }

    /// Connects the socket to `addr` (minirt's `connect`).
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.0.connect(addr).await
    }

    /// Peeks at the next datagram and its sender.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.0.peek_from(buf).await
    }

    /// Peeks at the next datagram from the connected peer.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.peek(buf).await
    }

    /// The sender of the next datagram.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        self.0.peek_sender().await
    }

    /// Receives a datagram from the connected peer into `buf`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let dst = buf.initialize_unfilled();
        let n = ready!(self.0.poll_recv(cx, dst))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Receives a datagram into `buf`, returning its sender.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let dst = buf.initialize_unfilled();
        let (n, addr) = ready!(self.0.poll_recv_from(cx, dst))?;
        buf.advance(n);
        Poll::Ready(Ok(addr))
    }

    /// Peeks at the next datagram from the connected peer.
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let dst = buf.initialize_unfilled();
        let n = ready!(self.0.poll_peek(cx, dst))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Peeks at the next datagram, returning its sender.
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let dst = buf.initialize_unfilled();
        let (n, addr) = ready!(self.0.poll_peek_from(cx, dst))?;
        buf.advance(n);
        Poll::Ready(Ok(addr))
    }

    /// Receives a datagram from the connected peer into a `BufMut`.
    pub async fn recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            // A `WouldBlock` clears the cached readiness, so the next poll_recv_ready
            // registers the waker (or finds a new datagram).
            loop {
                ready!(self.0.poll_recv_ready(cx))?;
                match recv_into(buf, |dst| self.0.try_recv(dst).map(|n| (n, ()))) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    res => return Poll::Ready(res.map(|(n, ())| n)),
                }
            }
        })
        .await
    }

    /// Receives a datagram into a `BufMut`, returning its sender.
    pub async fn recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| loop {
            ready!(self.0.poll_recv_ready(cx))?;
            match recv_into(buf, |dst| self.0.try_recv_from(dst)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                res => return Poll::Ready(res),
            }
        })
        .await
    }

    /// Receives a datagram from the connected peer into a `BufMut`, without waiting.
    pub fn try_recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        recv_into(buf, |dst| self.0.try_recv(dst).map(|n| (n, ()))).map(|(n, ())| n)
    }

    /// Receives a datagram into a `BufMut` without waiting, returning its sender.
    pub fn try_recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        recv_into(buf, |dst| self.0.try_recv_from(dst))
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    fn try_from(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// A Unix datagram socket (tokio's `UnixDatagram`): minirt's, with tokio's `ReadBuf`/`BufMut`
/// receive methods. Every other method is minirt's, reached through `Deref`.
#[derive(Debug)]
pub struct UnixDatagram(minirt::net::UnixDatagram);

impl Deref for UnixDatagram {
    type Target = minirt::net::UnixDatagram;

    fn deref(&self) -> &minirt::net::UnixDatagram {
        &self.0
    }
}

impl UnixDatagram {
    path_methods!(unix::SocketAddr, impl AsRef<std::path::Path>);

    /// Binds a socket to `path`.
    pub fn bind(path: impl AsRef<std::path::Path>) -> io::Result<UnixDatagram> {
        minirt::net::UnixDatagram::bind(path).map(UnixDatagram)
    }

    /// A socket bound to nothing.
    pub fn unbound() -> io::Result<UnixDatagram> {
        minirt::net::UnixDatagram::unbound().map(UnixDatagram)
    }

    /// Two sockets connected to each other.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = minirt::net::UnixDatagram::pair()?;
        Ok((UnixDatagram(a), UnixDatagram(b)))
    }

    /// Wraps a standard socket (which must be non-blocking, as with tokio).
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        minirt::net::UnixDatagram::from_std(socket).map(UnixDatagram)
    }

    /// The standard socket.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.0.into_std()
    }

    /// Receives a datagram from the connected peer into `buf`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let dst = buf.initialize_unfilled();
        let n = ready!(self.0.poll_recv(cx, dst))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Receives a datagram into `buf`, returning its sender.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<unix::SocketAddr>> {
        let dst = buf.initialize_unfilled();
        let (n, addr) = ready!(self.0.poll_recv_from(cx, dst))?;
        buf.advance(n);
        Poll::Ready(Ok(addr))
    }

    /// Receives a datagram from the connected peer into a `BufMut`.
    pub async fn recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        std::future::poll_fn(|cx| loop {
            ready!(self.0.poll_recv_ready(cx))?;
            match recv_into(buf, |dst| self.0.try_recv(dst).map(|n| (n, ()))) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                res => return Poll::Ready(res.map(|(n, ())| n)),
            }
        })
        .await
    }

    /// Receives a datagram into a `BufMut`, returning its sender.
    pub async fn recv_buf_from<B: BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, unix::SocketAddr)> {
        std::future::poll_fn(|cx| loop {
            ready!(self.0.poll_recv_ready(cx))?;
            match recv_into(buf, |dst| self.0.try_recv_from(dst)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                res => return Poll::Ready(res),
            }
        })
        .await
    }

    /// Receives a datagram from the connected peer into a `BufMut`, without waiting.
    pub fn try_recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        recv_into(buf, |dst| self.0.try_recv(dst).map(|n| (n, ()))).map(|(n, ())| n)
    }

    /// Receives a datagram into a `BufMut` without waiting, returning its sender.
    pub fn try_recv_buf_from<B: BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, unix::SocketAddr)> {
        recv_into(buf, |dst| self.0.try_recv_from(dst))
    }
}

impl TryFrom<std::os::unix::net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    fn try_from(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(socket)
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
