//! TCP: [`TcpListener`] accepts connections, [`TcpStream`] carries one, [`TcpSocket`] sets
//! options before either exists.
//!
//! ```text
//!  TcpListener::bind ─ socket(NONBLOCK|CLOEXEC), SO_REUSEADDR, bind, listen(1024), register
//!  accept            ─ accept4 until EAGAIN; then wait for EPOLLIN (the accept queue filled)
//!  TcpStream::connect─ socket, connect → EINPROGRESS, register, wait for EPOLLOUT,
//!                      read SO_ERROR: 0 = connected, else the error (ECONNREFUSED, ...)
//!  read / write      ─ recv / send(MSG_NOSIGNAL); EAGAIN clears the direction's readiness
//!  read returns 0    ─ EOF: the peer sent FIN (EPOLLRDHUP marked the read half closed)
//!  EPOLLERR/EPOLLHUP ─ wake reader and writer; the next recv/send returns the socket's error
//! ```

mod listener;
mod socket;
mod split;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `addr` to a list of socket addresses, or an error naming what was given.
///
/// Uses `std`'s resolver: literal addresses resolve without I/O; a host name is looked up with
/// a blocking `getaddrinfo` on the calling thread.
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}
