//! [`UdpSocket`]: datagrams, as futures.
//!
//! ```text
//!  UdpSocket::bind  ─ socket(AF_INET[6], SOCK_DGRAM|NONBLOCK|CLOEXEC), bind, register (AsyncFd)
//!  send / send_to   ─ sendto(MSG_NOSIGNAL); EAGAIN (send buffer full) waits for EPOLLOUT
//!  recv / recv_from ─ recvfrom; EAGAIN waits for EPOLLIN: a datagram arrived
//!  connect          ─ only records the peer (no handshake): send/recv then use it, and
//!                     datagrams from anyone else are filtered out by the kernel
//!  ICMP unreachable ─ on a connected socket the kernel sets SO_ERROR and reports EPOLLERR:
//!                     both directions wake, the next recv/send returns ECONNREFUSED
//! ```
//!
//! Every `async` method waits in a place of its own in the socket's waiter list, so any number
//! of tasks may send and receive on one `Arc<UdpSocket>` at once; the `poll_*` methods keep one
//! waker per direction (tokio's rule), for one task per direction.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest, Ready};

use crate::lookup::{resolve, resolve_first, ToSocketAddrs};
use crate::sys::Socket;

/// A UDP socket. Tokio's `UdpSocket`.
///
/// Unlike tokio, the `poll_recv*`/`poll_peek*` methods take a plain `&mut [u8]` and return the
/// number of bytes (minirt has no `ReadBuf`).
pub struct UdpSocket {
    io: AsyncFd<Socket>,
}

impl UdpSocket {
    /// Binds to `addr` (tried in order if it resolves to several; the last error is returned
    /// if none works). Port 0 picks a free port; [`UdpSocket::local_addr`] says which.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last_err = None;
        for addr in resolve(&addr).await? {
            match UdpSocket::bind_one(&addr) {
                Ok(socket) => return Ok(socket),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("bind: no address to bind to")))
    }

    fn bind_one(addr: &SocketAddr) -> io::Result<UdpSocket> {
        let socket = Socket::new_dgram(addr)?;
        socket.bind(addr)?;
        UdpSocket::from_socket(socket)
    }

    fn from_socket(socket: Socket) -> io::Result<UdpSocket> {
        Ok(UdpSocket { io: AsyncFd::new(socket)? })
    }

    /// Takes a std socket (it is switched to non-blocking mode) and registers it.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_socket(Socket::from_owned(OwnedFd::from(socket))?)
    }

    /// Gives the socket back as a std socket (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(std::net::UdpSocket::from(self.io.into_inner().into_owned()))
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address this socket is connected to (`ENOTCONN` if it is not).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets the default destination of `send` and the only source `recv` accepts. Each
    /// resolved address is tried in order; the last error is returned if none works.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let mut last_err = None;
        for addr in resolve(&addr).await? {
            // A datagram connect completes at once (no handshake).
            match self.io.get_ref().connect(&addr) {
                Ok(_) => return Ok(()),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("connect: no address to connect to")))
    }

    /// Waits until any part of `interest` is ready and says what is. An error pending on the
    /// socket (an ICMP error on a connected socket) satisfies every interest.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.io.ready(interest).await?.ready())
    }

    /// Waits until a datagram can be received (or an error is pending); then try
    /// [`UdpSocket::try_recv`].
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await.map(drop)
    }

    /// Waits until the send buffer has room (or an error is pending); then try
    /// [`UdpSocket::try_send`].
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await.map(drop)
    }

    /// Poll form of [`UdpSocket::readable`] (one waker per direction).
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_read_ready(cx).map_ok(drop)
    }

    /// Poll form of [`UdpSocket::writable`] (one waker per direction).
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_write_ready(cx).map_ok(drop)
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.async_io(Interest::WRITABLE, |socket| socket.send(buf)).await
    }

    /// Poll form of [`UdpSocket::send`].
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Interest::WRITABLE, || self.io.get_ref().send(buf))
    }

    /// Sends without waiting: `WouldBlock` if the send buffer is full.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |socket| socket.send(buf))
    }

    /// Receives one datagram from the connected peer. A datagram longer than `buf` is
    /// truncated (the rest is lost, as with `recv(2)`).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv(buf, 0)).await
    }

    /// Poll form of [`UdpSocket::recv`].
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().recv(buf, 0))
    }

    /// Receives without waiting: `WouldBlock` if no datagram is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv(buf, 0))
    }

    /// Receives one datagram from the connected peer into the spare capacity of `buf`,
    /// appending it (a full vector grows by 64 bytes first; a longer datagram is truncated to
    /// the spare capacity). Tokio's `recv_buf`, with a `Vec<u8>` for its `BufMut`.
    pub async fn recv_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv_into_spare(buf, 0)).await
    }

    /// [`UdpSocket::recv_buf`] without waiting: `WouldBlock` if no datagram is queued.
    pub fn try_recv_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_into_spare(buf, 0))
    }

    /// Sends one datagram to `target` (the first address it resolves to).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        // The first address: a `SocketAddr` in place, with no allocation (this is on every
        // datagram's path); a host name on the blocking pool, as for `bind` and `connect`.
        let target = resolve_first(&target).await?;
        self.io.async_io(Interest::WRITABLE, |socket| socket.send_to(buf, &target)).await
    }

    /// Poll form of [`UdpSocket::send_to`].
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Interest::WRITABLE, || self.io.get_ref().send_to(buf, &target))
    }

    /// Sends to `target` without waiting.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Interest::WRITABLE, |socket| socket.send_to(buf, &target))
    }

    /// Receives one datagram and the address that sent it.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv_from(buf, 0)).await
    }

    /// Poll form of [`UdpSocket::recv_from`].
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().recv_from(buf, 0))
    }

    /// Receives a datagram and its sender without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_from(buf, 0))
    }

    /// [`UdpSocket::recv_from`] into the spare capacity of `buf` (see
    /// [`UdpSocket::recv_buf`]).
    pub async fn recv_buf_from(&self, buf: &mut Vec<u8>) -> io::Result<(usize, SocketAddr)> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv_from_into_spare(buf, 0)).await
    }

    /// [`UdpSocket::recv_buf_from`] without waiting.
    pub fn try_recv_buf_from(&self, buf: &mut Vec<u8>) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_from_into_spare(buf, 0))
    }

    /// Reads the next datagram without removing it from the queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv(buf, libc::MSG_PEEK)).await
    }

    /// Poll form of [`UdpSocket::peek`].
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().recv(buf, libc::MSG_PEEK))
    }

    /// Peeks without waiting.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv(buf, libc::MSG_PEEK))
    }

    /// Reads the next datagram and its sender without removing it from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.async_io(Interest::READABLE, |socket| socket.recv_from(buf, libc::MSG_PEEK)).await
    }

    /// Poll form of [`UdpSocket::peek_from`].
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Interest::READABLE, || self.io.get_ref().recv_from(buf, libc::MSG_PEEK))
    }

    /// Peeks a datagram and its sender without waiting.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Interest::READABLE, |socket| socket.recv_from(buf, libc::MSG_PEEK))
    }

    /// The sender of the next datagram, which stays queued.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        self.io.async_io(Interest::READABLE, peek_sender).await
    }

    /// Poll form of [`UdpSocket::peek_sender`].
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        self.io.poll_io(cx, Interest::READABLE, || peek_sender(self.io.get_ref()))
    }

    /// The sender of the next datagram, without waiting.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        self.io.try_io(Interest::READABLE, peek_sender)
    }

    /// Runs `op` (non-blocking I/O on this socket, say `sendmsg` with control data) if
    /// `interest` is ready, clearing the readiness if it returns `WouldBlock`.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.try_io(interest, |_| op())
    }

    /// Runs `op` once `interest` is ready, waiting again each time it says `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.async_io(interest, |_| op()).await
    }

    /// `SO_BROADCAST`: whether datagrams may go to a broadcast address.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.get_bool(libc::SOL_SOCKET, libc::SO_BROADCAST)
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_opt(libc::SOL_SOCKET, libc::SO_BROADCAST, on as libc::c_int)
    }

    /// `IP_MULTICAST_LOOP`: whether this host's own multicast datagrams loop back to it.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.get_bool(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP)
    }

    /// Sets `IP_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_opt(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, on as libc::c_int)
    }

    /// `IP_MULTICAST_TTL`: hops an IPv4 multicast datagram may make.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        Ok(self.io.get_ref().get_opt(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)? as u32)
    }

    /// Sets `IP_MULTICAST_TTL`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_u32_opt(
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_TTL,
            ttl,
            "IP_MULTICAST_TTL",
        )
    }

    /// `IPV6_MULTICAST_LOOP`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.get_bool(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP)
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_opt(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, on as libc::c_int)
    }

    /// `IP_TTL`: hops a unicast datagram may make.
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(self.io.get_ref().get_opt(libc::IPPROTO_IP, libc::IP_TTL)? as u32)
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_u32_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl, "IP_TTL")
    }

    /// `IP_TOS`: the type-of-service byte of this socket's IPv4 packets.
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.io.get_ref().tos_v4()
    }

    /// Sets `IP_TOS` (IPv4).
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.io.get_ref().set_tos_v4(tos)
    }

    /// `IPV6_TCLASS`: the traffic class of this socket's IPv6 packets.
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.io.get_ref().tclass_v6()
    }

    /// Sets `IPV6_TCLASS` (IPv6).
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.io.get_ref().set_tclass_v6(tclass)
    }

    /// The device bound with [`UdpSocket::bind_device`], if any.
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        self.io.get_ref().device()
    }

    /// `SO_BINDTODEVICE`: only send and receive through `interface` (`None` unbinds). Needs
    /// `CAP_NET_RAW` on most kernels.
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        self.io.get_ref().bind_device(interface)
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address `interface`
    /// (`Ipv4Addr::UNSPECIFIED`: the kernel picks one).
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let mreq = ip_mreq(multiaddr, interface);
        self.io.get_ref().set_opt_value(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)
    }

    /// Leaves an IPv4 multicast group joined with [`UdpSocket::join_multicast_v4`].
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let mreq = ip_mreq(multiaddr, interface);
        self.io.get_ref().set_opt_value(libc::IPPROTO_IP, libc::IP_DROP_MEMBERSHIP, &mreq)
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index `interface` (0: any).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let mreq = ipv6_mreq(multiaddr, interface);
        self.io.get_ref().set_opt_value(libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq)
    }

    /// Leaves an IPv6 multicast group joined with [`UdpSocket::join_multicast_v6`].
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let mreq = ipv6_mreq(multiaddr, interface);
        self.io.get_ref().set_opt_value(libc::IPPROTO_IPV6, libc::IPV6_DROP_MEMBERSHIP, &mreq)
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    fn get_bool(&self, level: libc::c_int, name: libc::c_int) -> io::Result<bool> {
        Ok(self.io.get_ref().get_opt(level, name)? != 0)
    }
}

/// `recvfrom(MSG_PEEK)` into an empty buffer: the sender's address, the datagram stays queued.
fn peek_sender(socket: &Socket) -> io::Result<SocketAddr> {
    socket.recv_from(&mut [], libc::MSG_PEEK).map(|(_, addr)| addr)
}

fn ip_mreq(multiaddr: Ipv4Addr, interface: Ipv4Addr) -> libc::ip_mreq {
    libc::ip_mreq {
        imr_multiaddr: libc::in_addr { s_addr: u32::from_ne_bytes(multiaddr.octets()) },
        imr_interface: libc::in_addr { s_addr: u32::from_ne_bytes(interface.octets()) },
    }
}

fn ipv6_mreq(multiaddr: &Ipv6Addr, interface: u32) -> libc::ipv6_mreq {
    libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr { s6_addr: multiaddr.octets() },
        ipv6mr_interface: interface,
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    /// [`UdpSocket::from_std`].
    fn try_from(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}
