//! Name resolution off the runtime's threads: [`lookup_host`] and the [`ToSocketAddrs`] that
//! `TcpStream::connect` and `TcpListener::bind` take. Tokio's `net::lookup_host`.
//!
//! ```text
//!  "127.0.0.1:80", SocketAddr, (IpAddr, u16), ...  ──► parsed right here: no I/O, no thread
//!  "example.com:80", ("example.com", 80)            ──► getaddrinfo (std's resolver, which
//!                                                       blocks) on the blocking pool, awaited
//! ```
//!
//! `getaddrinfo` may take seconds (a slow DNS server); run on a worker or on a current-thread
//! runtime's only thread it would stall every task, so a host name always goes through
//! `spawn_blocking`. Literal addresses, by far the common case, never leave the calling task.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use minirt_runtime::task::spawn_blocking;

/// What [`lookup_host`], `TcpStream::connect` and `TcpListener::bind` accept: socket
/// addresses, `(ip, port)` pairs, and `"host:port"` / `(host, port)` to resolve. Sealed, as
/// tokio's `ToSocketAddrs`; implemented for the same types as `std::net::ToSocketAddrs`.
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use super::*;

    /// How a value turns into addresses: at once, or through a blocking lookup.
    pub enum Resolve {
        /// Known without I/O.
        Ready(Vec<SocketAddr>),
        /// A host name (`"host:port"`) for `getaddrinfo`.
        HostPort(String),
        /// A host name and a port given apart.
        Host(String, u16),
    }

    /// The sealed part of [`ToSocketAddrs`].
    pub trait ToSocketAddrsPriv {
        /// Parses what can be parsed; names the host otherwise.
        fn resolve(&self) -> io::Result<Resolve>;

        /// The one address a plain socket address is, without allocating: the path of every
        /// `UdpSocket::send_to`.
        fn as_socket_addr(&self) -> Option<SocketAddr> {
            None
        }
    }
}

use sealed::{Resolve, ToSocketAddrsPriv};

/// Resolves `host` to its socket addresses, as tokio's `net::lookup_host`: a literal address
/// at once, a host name with `getaddrinfo` on the blocking pool.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// for addr in minirt_os::lookup_host("localhost:3000").await? {
///     println!("socket address is {addr}");
/// }
/// # Ok(()) }
/// ```
///
/// # Panics
/// Outside a minirt runtime, when `host` needs a lookup.
pub async fn lookup_host<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(resolve_all(&host).await?.into_iter())
}

/// The first address `addr` resolves to; a socket address without allocating or a lookup.
pub(crate) async fn resolve_first<T: ToSocketAddrs + ?Sized>(addr: &T) -> io::Result<SocketAddr> {
    if let Some(addr) = addr.as_socket_addr() {
        return Ok(addr);
    }
    Ok(resolve(addr).await?[0])
}

/// Tries `attempt` on each address `addr` resolves to, in order, until one works (tokio's rule
/// for `bind` and `connect`): its value, or the last address's error.
pub(crate) async fn try_each<A, T, F>(
    addr: &A,
    mut attempt: impl FnMut(SocketAddr) -> F,
) -> io::Result<T>
where
    A: ToSocketAddrs + ?Sized,
    F: Future<Output = io::Result<T>>,
{
    let mut last_err = None;
    for addr in resolve(addr).await? {
        match attempt(addr).await {
            Ok(done) => return Ok(done),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no address to try")))
}

/// Resolves `addr` (see [`lookup_host`]) into a non-empty list.
pub(crate) async fn resolve<T: ToSocketAddrs + ?Sized>(addr: &T) -> io::Result<Vec<SocketAddr>> {
    let addrs = resolve_all(addr).await?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

async fn resolve_all<T: ToSocketAddrs + ?Sized>(addr: &T) -> io::Result<Vec<SocketAddr>> {
    let lookup = match addr.resolve()? {
        Resolve::Ready(addrs) => return Ok(addrs),
        Resolve::HostPort(host_port) => {
            spawn_blocking(move || std::net::ToSocketAddrs::to_socket_addrs(&host_port))
        }
        Resolve::Host(host, port) => {
            spawn_blocking(move || std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)))
        }
    };
    match lookup.await {
        Ok(found) => Ok(found?.collect()),
        // Cancelled by runtime shutdown, or the resolver panicked.
        Err(e) => Err(io::Error::other(e)),
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrsPriv for &T {
    fn resolve(&self) -> io::Result<Resolve> {
        (**self).resolve()
    }
    fn as_socket_addr(&self) -> Option<SocketAddr> {
        (**self).as_socket_addr()
    }
}

macro_rules! ready_impl {
    ($($ty:ty => |$v:ident| $addrs:expr;)*) => {$(
        impl ToSocketAddrs for $ty {}
        impl ToSocketAddrsPriv for $ty {
            fn resolve(&self) -> io::Result<Resolve> {
                let $v = self;
                Ok(Resolve::Ready($addrs))
            }
        }
    )*};
}

impl ToSocketAddrs for SocketAddr {}
impl ToSocketAddrsPriv for SocketAddr {
    fn resolve(&self) -> io::Result<Resolve> {
        Ok(Resolve::Ready(vec![*self]))
    }
    fn as_socket_addr(&self) -> Option<SocketAddr> {
        Some(*self)
    }
}

ready_impl! {
    SocketAddrV4 => |a| vec![SocketAddr::V4(*a)];
    SocketAddrV6 => |a| vec![SocketAddr::V6(*a)];
    (IpAddr, u16) => |a| vec![SocketAddr::new(a.0, a.1)];
    (Ipv4Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V4(a.0), a.1)];
    (Ipv6Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V6(a.0), a.1)];
    [SocketAddr] => |a| a.to_vec();
    Vec<SocketAddr> => |a| a.clone();
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn resolve(&self) -> io::Result<Resolve> {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Ok(Resolve::Ready(vec![addr])),
            Err(_) => Ok(Resolve::HostPort(self.to_owned())),
        }
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn resolve(&self) -> io::Result<Resolve> {
        self.as_str().resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn resolve(&self) -> io::Result<Resolve> {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Ok(Resolve::Ready(vec![SocketAddr::new(ip, self.1)])),
            Err(_) => Ok(Resolve::Host(self.0.to_owned(), self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn resolve(&self) -> io::Result<Resolve> {
        (self.0.as_str(), self.1).resolve()
    }
}
