//! A Unix socket not yet listening, connected or used for datagrams (tokio's `UnixSocket`).
//!
//! The socket is created non-blocking and close-on-exec; `bind` names it; `listen`,
//! `connect` and `datagram` then hand its fd to minirt's `UnixListener`, `UnixStream` or
//! (this crate's) `UnixDatagram`, which register it with the reactor. A non-blocking
//! `connect` that did not finish at once (`EINPROGRESS`, `EAGAIN` when the listener's backlog
//! is full) is completed by waiting until the stream is writable and reading `SO_ERROR`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{UnixDatagram, UnixListener, UnixStream};

/// An unbound or bound Unix socket, before it listens, connects or becomes a datagram socket.
#[derive(Debug)]
pub struct UnixSocket {
    fd: OwnedFd,
    ty: libc::c_int,
}

fn os_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// `path` as a `sockaddr_un`; a first byte NUL names the abstract namespace (Linux), as
/// tokio's (socket2's) does.
fn sockaddr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: `sockaddr_un` is plain integers and bytes: all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    // A path needs room for its terminating NUL; an abstract name does not.
    let room = addr.sun_path.len() - usize::from(bytes.first() != Some(&0));
    if bytes.len() > room {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path must be shorter than SUN_LEN",
        ));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let base = std::mem::size_of::<libc::sa_family_t>();
    let len = base + bytes.len() + usize::from(bytes.first() != Some(&0) && !bytes.is_empty());
    Ok((addr, len as libc::socklen_t))
}

impl UnixSocket {
    /// A new datagram socket.
    pub fn new_datagram() -> io::Result<UnixSocket> {
        UnixSocket::new(libc::SOCK_DGRAM)
    }

    /// A new stream socket.
    pub fn new_stream() -> io::Result<UnixSocket> {
        UnixSocket::new(libc::SOCK_STREAM)
    }

    fn new(ty: libc::c_int) -> io::Result<UnixSocket> {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: a syscall with no pointer arguments.
        let fd = unsafe { libc::socket(libc::AF_UNIX, ty | flags, 0) };
        if fd < 0 {
            return Err(os_error("socket(AF_UNIX)"));
        }
        // SAFETY: socket returned a new fd that nothing else owns.
        Ok(UnixSocket { fd: unsafe { OwnedFd::from_raw_fd(fd) }, ty })
    }

    /// Binds the socket to `path`.
    pub fn bind(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let (addr, len) = sockaddr(path.as_ref())?;
        // SAFETY: a syscall reading `len` bytes of the `sockaddr_un` we own.
        let r = unsafe {
            libc::bind(self.fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len)
        };
        if r < 0 {
            return Err(os_error("bind(AF_UNIX)"));
        }
        Ok(())
    }

    /// Starts listening (a stream socket only).
    pub fn listen(self, backlog: u32) -> io::Result<UnixListener> {
        if self.ty == libc::SOCK_DGRAM {
            return Err(io::Error::other("listen cannot be called on a datagram socket"));
        }
        let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
        // SAFETY: a syscall with no pointer arguments, on the fd we own.
        if unsafe { libc::listen(self.fd.as_raw_fd(), backlog) } < 0 {
            return Err(os_error("listen(AF_UNIX)"));
        }
        UnixListener::from_std(std::os::unix::net::UnixListener::from(self.fd))
    }

    /// Connects to the listener at `path` (a stream socket only).
    pub async fn connect(self, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        if self.ty == libc::SOCK_DGRAM {
            return Err(io::Error::other("connect cannot be called on a datagram socket"));
        }
        let (addr, len) = sockaddr(path.as_ref())?;
        // SAFETY: a syscall reading `len` bytes of the `sockaddr_un` we own.
        let r = unsafe {
            libc::connect(self.fd.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len)
        };
        let pending = if r < 0 {
            let e = os_error("connect(AF_UNIX)");
            match e.raw_os_error() {
                Some(libc::EINPROGRESS) | Some(libc::EAGAIN) => true,
                _ => return Err(e),
            }
        } else {
            false
        };
        let stream = UnixStream::from_std(std::os::unix::net::UnixStream::from(self.fd))?;
        if pending {
            stream.writable().await?;
            if let Some(e) = stream.take_error()? {
                return Err(e);
            }
        }
        Ok(stream)
    }

    /// Turns the socket into a datagram socket (a datagram socket only).
    pub fn datagram(self) -> io::Result<UnixDatagram> {
        if self.ty == libc::SOCK_STREAM {
            return Err(io::Error::other("datagram cannot be called on a stream socket"));
        }
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::from(self.fd))
    }
}

impl AsRawFd for UnixSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for UnixSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl IntoRawFd for UnixSocket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for UnixSocket {
    /// # Safety
    /// `fd` must be an open Unix socket that the caller hands over.
    unsafe fn from_raw_fd(fd: RawFd) -> UnixSocket {
        // SAFETY: the caller hands over an open fd (FromRawFd's contract).
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut ty: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a syscall writing at most `len` bytes into the int we own.
        let r = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                &mut ty as *mut libc::c_int as *mut libc::c_void,
                &mut len,
            )
        };
        if r < 0 {
            ty = libc::SOCK_STREAM;
        }
        UnixSocket { fd, ty }
    }
}
