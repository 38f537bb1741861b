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

use std::future::ready;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};

use minirt_runtime::io::Interest;

use crate::datagram::datagram_api;
use crate::lookup::{resolve_first, try_each, ToSocketAddrs};
use crate::registered::{Inet, Registered};
use crate::sys::{socket_options, RawAddr, Socket};

/// A UDP socket. Tokio's `UdpSocket`.
///
/// Unlike tokio, the `poll_recv*`/`poll_peek*` methods take a plain `&mut [u8]` and return the
/// number of bytes (minirt has no `ReadBuf`).
pub struct UdpSocket {
    inner: Registered<Inet>,
}

datagram_api!(UdpSocket, std::net::UdpSocket, SocketAddr);

impl UdpSocket {
    /// Binds to `addr` (tried in order if it resolves to several; the last error is returned
    /// if none works). Port 0 picks a free port; [`UdpSocket::local_addr`] says which.
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        try_each(&addr, |addr| ready(UdpSocket::bind_one(&addr))).await
    }

    fn bind_one(addr: &SocketAddr) -> io::Result<UdpSocket> {
        let socket = Socket::for_addr(addr, libc::SOCK_DGRAM)?;
        socket.bind(addr)?;
        Ok(UdpSocket { inner: Registered::new(socket)? })
    }

    /// Sets the default destination of `send` and the only source `recv` accepts. Each
    /// resolved address is tried in order; the last error is returned if none works.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        // A datagram connect completes at once (no handshake).
        try_each(&addr, |addr| ready(self.inner.socket().connect(&addr).map(drop))).await
    }

    /// Sends one datagram to `target` (the first address it resolves to).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        // The first address: a `SocketAddr` in place, with no allocation (this is on every
        // datagram's path); a host name on the blocking pool, as for `bind` and `connect`.
        let target = resolve_first(&target).await?;
        self.inner.send_to(buf, &RawAddr::from_inet(&target)).await
    }

    /// Poll form of [`UdpSocket::send_to`].
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_send_to(cx, buf, &RawAddr::from_inet(&target))
    }

    /// Sends to `target` without waiting.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.inner.try_send_to(buf, &RawAddr::from_inet(&target))
    }

    /// Reads the next datagram without removing it from the queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf).await
    }

    /// Poll form of [`UdpSocket::peek`].
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_peek(cx, buf)
    }

    /// Peeks without waiting.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io().try_io(Interest::READABLE, |socket| socket.recv(buf, libc::MSG_PEEK))
    }

    /// Reads the next datagram and its sender without removing it from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buf, libc::MSG_PEEK).await
    }

    /// Poll form of [`UdpSocket::peek_from`].
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.inner.poll_recv_from(cx, buf, libc::MSG_PEEK)
    }

    /// Peeks a datagram and its sender without waiting.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.try_recv_from(buf, libc::MSG_PEEK)
    }

    /// The sender of the next datagram, which stays queued.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.recv_from(&mut [], libc::MSG_PEEK).await?.1)
    }

    /// Poll form of [`UdpSocket::peek_sender`].
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        self.inner.poll_recv_from(cx, &mut [], libc::MSG_PEEK).map_ok(|(_, addr)| addr)
    }

    /// The sender of the next datagram, without waiting.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.try_recv_from(&mut [], libc::MSG_PEEK)?.1)
    }

    socket_options! { |self| self.inner.socket();
        /// Sets `SO_BROADCAST`: whether datagrams may go to a broadcast address.
        set_broadcast,
        /// `SO_BROADCAST`.
        broadcast: bool = SOL_SOCKET, SO_BROADCAST;

        /// Sets `IP_MULTICAST_LOOP`: whether this host's own multicast datagrams loop back to
        /// it.
        set_multicast_loop_v4,
        /// `IP_MULTICAST_LOOP`.
        multicast_loop_v4: bool = IPPROTO_IP, IP_MULTICAST_LOOP;

        /// Sets `IP_MULTICAST_TTL`: hops an IPv4 multicast datagram may make.
        set_multicast_ttl_v4,
        /// `IP_MULTICAST_TTL`.
        multicast_ttl_v4: u32 = IPPROTO_IP, IP_MULTICAST_TTL;

        /// Sets `IPV6_MULTICAST_LOOP`.
        set_multicast_loop_v6,
        /// `IPV6_MULTICAST_LOOP`.
        multicast_loop_v6: bool = IPPROTO_IPV6, IPV6_MULTICAST_LOOP;

        /// Sets `IP_TTL`: hops a unicast datagram may make.
        set_ttl,
        /// `IP_TTL`.
        ttl: u32 = IPPROTO_IP, IP_TTL;

        /// Sets `IP_TOS`, the type-of-service byte of this socket's IPv4 packets.
        set_tos_v4,
        /// `IP_TOS` (IPv4).
        tos_v4: u32 = IPPROTO_IP, IP_TOS;

        /// Sets `IPV6_TCLASS`, the traffic class of this socket's IPv6 packets.
        set_tclass_v6,
        /// `IPV6_TCLASS` (IPv6).
        tclass_v6: u32 = IPPROTO_IPV6, IPV6_TCLASS;
    }

    /// The device bound with [`UdpSocket::bind_device`], if any.
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        self.inner.socket().device()
    }

    /// `SO_BINDTODEVICE`: only send and receive through `interface` (`None` unbinds). Needs
    /// `CAP_NET_RAW` on most kernels.
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        self.inner.socket().bind_device(interface)
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address `interface`
    /// (`Ipv4Addr::UNSPECIFIED`: the kernel picks one).
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let mreq = ip_mreq(multiaddr, interface);
        self.inner.socket().set_opt_value(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)
    }

    /// Leaves an IPv4 multicast group joined with [`UdpSocket::join_multicast_v4`].
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let mreq = ip_mreq(multiaddr, interface);
        self.inner.socket().set_opt_value(libc::IPPROTO_IP, libc::IP_DROP_MEMBERSHIP, &mreq)
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index `interface` (0: any).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let mreq = ipv6_mreq(multiaddr, interface);
        self.inner.socket().set_opt_value(libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq)
    }

    /// Leaves an IPv6 multicast group joined with [`UdpSocket::join_multicast_v6`].
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let mreq = ipv6_mreq(multiaddr, interface);
        self.inner.socket().set_opt_value(libc::IPPROTO_IPV6, libc::IPV6_DROP_MEMBERSHIP, &mreq)
    }
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
