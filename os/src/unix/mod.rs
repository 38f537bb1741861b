//! Unix-domain sockets: [`UnixListener`] and [`UnixStream`] (a byte stream between processes
//! on one host), [`UnixDatagram`] (messages, boundaries kept), their [`SocketAddr`], and the
//! peer's credentials ([`UCred`]).
//!
//! ```text
//!  UnixListener::bind(path) ─ socket(AF_UNIX, SOCK_STREAM|NONBLOCK|CLOEXEC), bind, listen,
//!                             register (AsyncFd); a path starting with '\0' is an abstract
//!                             name (Linux): no file, gone when the socket closes
//!  accept                   ─ accept4 until EAGAIN, then wait for EPOLLIN
//!  UnixStream::connect      ─ connect: done at once, or EAGAIN when the listener's backlog is
//!                             full (returned as is, as tokio does)
//!  read 0 / EPOLLRDHUP      ─ the peer closed (EOF); a write then fails with EPIPE
//!  peer closing with unread data ─ ECONNRESET pending: EPOLLERR wakes both directions
//!  UnixDatagram::send       ─ blocks (EAGAIN, then EPOLLOUT) while the *receiver's* queue is
//!                             full: unlike UDP, Unix datagrams are never dropped
//! ```
//!
//! Everything is built on `AsyncFd` alone, like `tcp` and `udp`.

mod datagram;
mod listener;
mod split;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::UnixStream;

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::registered::Family;
use crate::sys::{RawAddr, UnixName};

/// The Unix family: addresses are paths, abstract names, or unnamed ([`SocketAddr`]).
pub(crate) enum Unix {}

impl Family for Unix {
    type Addr = SocketAddr;

    fn addr(raw: RawAddr) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from_raw(raw))
    }
}

/// The address of a Unix-domain socket: a path, an abstract name (Linux), or unnamed. Tokio's
/// `tokio::net::unix::SocketAddr`.
#[derive(Clone)]
pub struct SocketAddr {
    raw: RawAddr,
}

impl SocketAddr {
    pub(crate) fn from_raw(raw: RawAddr) -> SocketAddr {
        SocketAddr { raw }
    }

    /// The socket has no name: it was never bound (a connecting client, an `unbound` datagram
    /// socket, a `pair` end).
    pub fn is_unnamed(&self) -> bool {
        matches!(self.raw.unix_name(), UnixName::Unnamed)
    }

    /// The filesystem path the socket is bound to, if it is.
    pub fn as_pathname(&self) -> Option<&Path> {
        match self.raw.unix_name() {
            UnixName::Path(path) => Some(Path::new(OsStr::from_bytes(path))),
            _ => None,
        }
    }

    /// The abstract-namespace name (without its leading NUL), if it is one.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match self.raw.unix_name() {
            UnixName::Abstract(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Debug for SocketAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.raw.unix_name() {
            UnixName::Unnamed => f.write_str("(unnamed)"),
            UnixName::Path(path) => {
                write!(f, "{:?} (pathname)", Path::new(OsStr::from_bytes(path)))
            }
            UnixName::Abstract(name) => {
                write!(f, "\"{}\" (abstract)", name.escape_ascii())
            }
        }
    }
}

/// The credentials of the process at the other end of a Unix socket, when it connected
/// (`SO_PEERCRED`). Tokio's `UCred`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UCred {
    pid: Option<libc::pid_t>,
    uid: libc::uid_t,
    gid: libc::gid_t,
}

impl UCred {
    pub(crate) fn from_raw(cred: libc::ucred) -> UCred {
        UCred { pid: (cred.pid != 0).then_some(cred.pid), uid: cred.uid, gid: cred.gid }
    }

    /// The peer's user id.
    pub fn uid(&self) -> libc::uid_t {
        self.uid
    }

    /// The peer's group id.
    pub fn gid(&self) -> libc::gid_t {
        self.gid
    }

    /// The peer's process id (`None` if the kernel did not say, say across pid namespaces).
    pub fn pid(&self) -> Option<libc::pid_t> {
        self.pid
    }
}

/// The kernel address for `path`; a path whose first byte is NUL names the rest in the
/// abstract namespace (as tokio does).
pub(crate) fn raw_addr(path: &Path) -> io::Result<RawAddr> {
    match path.as_os_str().as_bytes() {
        [0, name @ ..] => RawAddr::unix(name, true),
        bytes => RawAddr::unix(bytes, false),
    }
}

/// The kernel address for a std `SocketAddr` (a path or an abstract name; an unnamed address
/// names nothing to bind or connect to: `InvalidInput`).
pub(crate) fn raw_from_std(addr: &std::os::unix::net::SocketAddr) -> io::Result<RawAddr> {
    use std::os::linux::net::SocketAddrExt;
    if let Some(path) = addr.as_pathname() {
        RawAddr::unix(path.as_os_str().as_bytes(), false)
    } else if let Some(name) = addr.as_abstract_name() {
        RawAddr::unix(name, true)
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, "an unnamed Unix address"))
    }
}
