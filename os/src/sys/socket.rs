//! Sockets: created non-blocking and close-on-exec, `accept4`, `connect`, `recv`/`send` (with
//! `MSG_NOSIGNAL`), socket options, and the conversions between `std::net::SocketAddr` and the
//! kernel's `sockaddr`.
//!
//! `Socket` owns its fd as an `OwnedFd`, so it is closed exactly once, when it drops.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{cvt, cvt_r};

/// How `Socket::connect` ended.
pub(crate) enum Connect {
    /// Connected at once (possible on loopback for Unix sockets; rare for TCP).
    Done,
    /// `EINPROGRESS`: the result arrives as writability, then `SO_ERROR`.
    InProgress,
}

/// A socket fd, always non-blocking and close-on-exec.
#[derive(Debug)]
pub(crate) struct Socket {
    fd: OwnedFd,
}

impl Socket {
    /// A new socket of type `ty` (`SOCK_STREAM` for TCP, `SOCK_DGRAM` for UDP) for `addr`'s
    /// address family. The error stays raw: callers match `raw_os_error()` for EMFILE/ENFILE.
    pub(crate) fn for_addr(addr: &SocketAddr, ty: libc::c_int) -> io::Result<Socket> {
        let domain = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
        Socket::new(domain, ty)
    }

    /// A new socket of any domain and type (`SOCK_NONBLOCK | SOCK_CLOEXEC` added).
    pub(crate) fn new(domain: libc::c_int, ty: libc::c_int) -> io::Result<Socket> {
        let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: socket takes no pointers; a non-negative return is a new fd that we own.
        let fd = cvt(unsafe { libc::socket(domain, ty, 0) })?;
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        Ok(Socket { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// `setsockopt` with a plain-data value (`ip_mreq`, `ipv6_mreq`, a device name's bytes,
    /// ...), passed by pointer with its exact size.
    pub(crate) fn set_opt_value<T: ?Sized>(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        value: &T,
    ) -> io::Result<()> {
        // SAFETY: `value` is live for the call and `size_of_val(value)` bytes long; the kernel
        // only reads it.
        cvt(unsafe {
            libc::setsockopt(
                self.raw(),
                level,
                name,
                (value as *const T).cast(),
                mem::size_of_val(value) as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// `SO_BINDTODEVICE`: `None` or an empty name unbinds.
    pub(crate) fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        self.set_opt_value(libc::SOL_SOCKET, libc::SO_BINDTODEVICE, interface.unwrap_or(&[]))
    }

    /// The device bound with `SO_BINDTODEVICE`, if any.
    pub(crate) fn device(&self) -> io::Result<Option<Vec<u8>>> {
        // The kernel writes the name and its NUL into the zeroed buffer (none when unbound).
        let buf =
            self.get_opt_value(libc::SOL_SOCKET, libc::SO_BINDTODEVICE, [0u8; libc::IFNAMSIZ])?;
        let name = buf.split(|&b| b == 0).next().unwrap_or(&[]);
        Ok((!name.is_empty()).then(|| name.to_vec()))
    }

    /// Takes an fd as it is (blocking or not); see [`Socket::set_nonblocking`].
    pub(crate) fn from_owned_as_is(fd: OwnedFd) -> Socket {
        Socket { fd }
    }

    /// Switches the fd to non-blocking mode (`O_NONBLOCK`), as everything registered with the
    /// reactor must be.
    pub(crate) fn set_nonblocking(&self) -> io::Result<()> {
        let raw = self.fd.as_raw_fd();
        // SAFETY: fcntl on an fd we own, with integer arguments only.
        let flags = cvt(unsafe { libc::fcntl(raw, libc::F_GETFL) })?;
        if flags & libc::O_NONBLOCK == 0 {
            // SAFETY: as above.
            cvt(unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
        }
        Ok(())
    }

    /// Takes an fd from a std socket, switching it to non-blocking mode.
    pub(crate) fn from_owned(fd: OwnedFd) -> io::Result<Socket> {
        let socket = Socket { fd };
        socket.set_nonblocking()?;
        Ok(socket)
    }

    pub(crate) fn into_owned(self) -> OwnedFd {
        self.fd
    }

    pub(crate) fn listen(&self, backlog: i32) -> io::Result<()> {
        // SAFETY: listen takes no pointers.
        cvt(unsafe { libc::listen(self.raw(), backlog) }).map(drop)
    }

    /// `recv(2)` into memory that may be uninitialised (the kernel only writes it): on
    /// `Ok(n)`, the first `n` bytes of `buf` hold what arrived.
    pub(crate) fn recv_uninit(
        &self,
        buf: &mut [std::mem::MaybeUninit<u8>],
        flags: libc::c_int,
    ) -> io::Result<usize> {
        cvt_r(|| {
            // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, and only writes.
            unsafe { libc::recv(self.raw(), buf.as_mut_ptr().cast(), buf.len(), flags) }
        })
        .map(|n| n as usize)
    }

    pub(crate) fn recv(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
        cvt_r(|| {
            // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
            unsafe { libc::recv(self.raw(), buf.as_mut_ptr().cast(), buf.len(), flags) }
        })
        .map(|n| n as usize)
    }

    /// Receives into the spare capacity of `buf` and appends what arrived: the `Vec` form of
    /// tokio's `BufMut` reads. A full vector first grows by 64 bytes, as `BufMut` for `Vec`
    /// does, so `Ok(0)` still means end of stream (or an empty datagram).
    pub(crate) fn recv_into_spare(
        &self,
        buf: &mut Vec<u8>,
        flags: libc::c_int,
    ) -> io::Result<usize> {
        self.recv_spare(buf, flags, None)
    }

    /// [`Socket::recv_into_spare`] that also says who sent the datagram (any family).
    pub(crate) fn recv_from_raw_into_spare(
        &self,
        buf: &mut Vec<u8>,
        flags: libc::c_int,
    ) -> io::Result<(usize, RawAddr)> {
        let mut addr = RawAddr::empty();
        let n = self.recv_spare(buf, flags, Some(&mut addr))?;
        Ok((n, addr))
    }

    fn recv_spare(
        &self,
        buf: &mut Vec<u8>,
        flags: libc::c_int,
        mut from: Option<&mut RawAddr>,
    ) -> io::Result<usize> {
        if buf.len() == buf.capacity() {
            buf.reserve(64);
        }
        let spare = buf.spare_capacity_mut();
        let n = cvt_r(|| {
            let (addr, len) = match from.as_deref_mut() {
                Some(addr) => {
                    addr.len = RawAddr::CAPACITY;
                    (addr.as_mut_ptr(), &mut addr.len as *mut libc::socklen_t)
                }
                None => (std::ptr::null_mut(), std::ptr::null_mut()),
            };
            // SAFETY: the kernel writes at most `spare.len()` bytes into the spare capacity
            // (uninitialised memory it only writes), and, with an address, at most `addr.len`
            // bytes of it into the address storage.
            unsafe {
                libc::recvfrom(self.raw(), spare.as_mut_ptr().cast(), spare.len(), flags, addr, len)
            }
        })? as usize;
        // SAFETY: recvfrom initialised the first `n` bytes of the spare capacity (and reports
        // at most the `spare.len()` it was given, even for a longer, truncated datagram).
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// Receives into the next chunk of a `bytes::BufMut` and advances it past what arrived
    /// (feature `bytes`: tokio's `try_read_buf` signature). A `Vec` grows when full, as in
    /// [`Socket::recv_into_spare`], so `Ok(0)` is still end of stream.
    #[cfg(feature = "bytes")]
    pub(crate) fn recv_into_buf_mut<B: bytes::BufMut + ?Sized>(
        &self,
        buf: &mut B,
        flags: libc::c_int,
    ) -> io::Result<usize> {
        if !buf.has_remaining_mut() {
            return Ok(0);
        }
        let chunk = buf.chunk_mut();
        let (ptr, len) = (chunk.as_mut_ptr(), chunk.len());
        let n = cvt_r(|| {
            // SAFETY: the kernel writes at most `len` bytes into the chunk, memory the
            // `BufMut` lends for writing (possibly uninitialised: it is only written).
            unsafe { libc::recv(self.raw(), ptr.cast(), len, flags) }
        })? as usize;
        // SAFETY: recv initialised the first `n <= len` bytes of the chunk.
        unsafe { buf.advance_mut(n) };
        Ok(n)
    }

    /// Scatters what arrives over `bufs`, in one `recvmsg`.
    pub(crate) fn recv_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        // SAFETY: an all-zero msghdr is valid (no name, no control data).
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        // IoSliceMut is guaranteed ABI-compatible with iovec on Unix.
        msg.msg_iov = bufs.as_mut_ptr().cast::<libc::iovec>();
        msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
        cvt_r(|| {
            // SAFETY: `msg` points at `bufs`, which outlive the call; the kernel writes at most
            // each slice's length into it.
            unsafe { libc::recvmsg(self.raw(), &mut msg, 0) }
        })
        .map(|n| n as usize)
    }

    /// Sends with `MSG_NOSIGNAL`: a peer that closed gives `EPIPE`, never `SIGPIPE`.
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        cvt_r(|| {
            // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`.
            unsafe { libc::send(self.raw(), buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) }
        })
        .map(|n| n as usize)
    }

    /// Gathers `bufs` into one `sendmsg` (with `MSG_NOSIGNAL`).
    pub(crate) fn send_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        // SAFETY: an all-zero msghdr is valid (no name, no control data).
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        // IoSlice is guaranteed ABI-compatible with iovec on Unix.
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
        cvt_r(|| {
            // SAFETY: `msg` points at `bufs`, which outlive the call; the kernel only reads.
            unsafe { libc::sendmsg(self.raw(), &msg, libc::MSG_NOSIGNAL) }
        })
        .map(|n| n as usize)
    }

    pub(crate) fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        let how = match how {
            std::net::Shutdown::Read => libc::SHUT_RD,
            std::net::Shutdown::Write => libc::SHUT_WR,
            std::net::Shutdown::Both => libc::SHUT_RDWR,
        };
        // SAFETY: shutdown takes no pointers.
        cvt(unsafe { libc::shutdown(self.raw(), how) }).map(drop)
    }

    /// Binds to an inet address.
    pub(crate) fn bind(&self, addr: &SocketAddr) -> io::Result<()> {
        self.bind_raw(&RawAddr::from_inet(addr))
    }

    /// Binds to an address of any family.
    pub(crate) fn bind_raw(&self, addr: &RawAddr) -> io::Result<()> {
        // SAFETY: `addr` holds a valid sockaddr of `addr.len` bytes for the call.
        cvt(unsafe { libc::bind(self.raw(), addr.as_ptr(), addr.len) }).map(drop)
    }

    /// Starts a non-blocking connect to an inet address.
    pub(crate) fn connect(&self, addr: &SocketAddr) -> io::Result<Connect> {
        self.connect_raw(&RawAddr::from_inet(addr))
    }

    /// Starts a non-blocking connect to an address of any family.
    pub(crate) fn connect_raw(&self, addr: &RawAddr) -> io::Result<Connect> {
        // SAFETY: `addr` holds a valid sockaddr of `addr.len` bytes for the call.
        match cvt(unsafe { libc::connect(self.raw(), addr.as_ptr(), addr.len) }) {
            Ok(_) => Ok(Connect::Done),
            // EINTR does not abort a connect: it goes on asynchronously, like EINPROGRESS.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EINTR)) => {
                Ok(Connect::InProgress)
            }
            Err(e) => Err(e),
        }
    }

    /// Accepts one connection; the new socket is non-blocking and close-on-exec too.
    pub(crate) fn accept(&self) -> io::Result<(Socket, SocketAddr)> {
        let (socket, addr) = self.accept_raw()?;
        Ok((socket, addr.inet()?))
    }

    /// [`Socket::accept`] for any family.
    pub(crate) fn accept_raw(&self) -> io::Result<(Socket, RawAddr)> {
        let mut addr = RawAddr::empty();
        let fd = cvt_r(|| {
            addr.len = RawAddr::CAPACITY;
            // SAFETY: `addr.storage` has room for any address and `addr.len` says how much.
            unsafe {
                libc::accept4(
                    self.raw(),
                    addr.as_mut_ptr(),
                    &mut addr.len,
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            }
        })?;
        // SAFETY: accept4 returned a new fd that we own.
        Ok((Socket { fd: unsafe { OwnedFd::from_raw_fd(fd) } }, addr))
    }

    /// Sends one datagram to an address of any family (with `MSG_NOSIGNAL`).
    pub(crate) fn send_to_raw(&self, buf: &[u8], addr: &RawAddr) -> io::Result<usize> {
        cvt_r(|| {
            // SAFETY: the kernel reads at most `buf.len()` bytes from `buf` and `addr.len`
            // bytes of the address, both live for the call.
            unsafe {
                libc::sendto(
                    self.raw(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_NOSIGNAL,
                    addr.as_ptr(),
                    addr.len,
                )
            }
        })
        .map(|n| n as usize)
    }

    /// Receives one datagram and the address (any family) it came from.
    pub(crate) fn recv_from_raw(
        &self,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> io::Result<(usize, RawAddr)> {
        let mut addr = RawAddr::empty();
        let n = cvt_r(|| {
            addr.len = RawAddr::CAPACITY;
            // SAFETY: the kernel writes at most `buf.len()` bytes into `buf` and at most
            // `addr.len` bytes of address into `addr.storage`.
            unsafe {
                libc::recvfrom(
                    self.raw(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags,
                    addr.as_mut_ptr(),
                    &mut addr.len,
                )
            }
        })?;
        Ok((n as usize, addr))
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.local_raw()?.inet()
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.peer_raw()?.inet()
    }

    /// `getsockname`, any family.
    pub(crate) fn local_raw(&self) -> io::Result<RawAddr> {
        self.addr_of(libc::getsockname)
    }

    /// `getpeername`, any family.
    pub(crate) fn peer_raw(&self) -> io::Result<RawAddr> {
        self.addr_of(libc::getpeername)
    }

    fn addr_of(
        &self,
        call: unsafe extern "C" fn(
            libc::c_int,
            *mut libc::sockaddr,
            *mut libc::socklen_t,
        ) -> libc::c_int,
    ) -> io::Result<RawAddr> {
        let mut addr = RawAddr::empty();
        // SAFETY: `addr.storage` has room for any address and `addr.len` says how much.
        cvt(unsafe { call(self.raw(), addr.as_mut_ptr(), &mut addr.len) })?;
        Ok(addr)
    }

    /// A connected pair of sockets (`socketpair`), both non-blocking and close-on-exec.
    pub(crate) fn pair(domain: libc::c_int, ty: libc::c_int) -> io::Result<(Socket, Socket)> {
        let mut fds = [0; 2];
        let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: `fds` has room for the two fds socketpair writes.
        cvt(unsafe { libc::socketpair(domain, ty, 0, fds.as_mut_ptr()) })?;
        // SAFETY: socketpair succeeded: both fds are new and owned by nobody else.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok((Socket { fd: a }, Socket { fd: b }))
    }

    /// `SO_PEERCRED`: the process, user and group of the peer when it connected.
    pub(crate) fn peer_cred(&self) -> io::Result<libc::ucred> {
        let cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
        self.get_opt_value(libc::SOL_SOCKET, libc::SO_PEERCRED, cred)
    }

    /// `setsockopt` of an integer option (a flag, a size, a TTL...).
    pub(crate) fn set_opt(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        value: libc::c_int,
    ) -> io::Result<()> {
        self.set_opt_value(level, name, &value)
    }

    /// `getsockopt` of an integer option.
    pub(crate) fn get_opt(&self, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
        self.get_opt_value(level, name, 0)
    }

    /// `getsockopt` of a plain C value (`c_int`, `linger`, `ucred`, a byte array: any bytes the
    /// kernel writes are a valid one), starting from `value`, which the kernel overwrites.
    fn get_opt_value<T: Copy>(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        mut value: T,
    ) -> io::Result<T> {
        let mut len = mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into the live `T`, a C type for which
        // any bytes are a valid value (the callers above).
        cvt(unsafe {
            libc::getsockopt(self.raw(), level, name, (&mut value as *mut T).cast(), &mut len)
        })?;
        Ok(value)
    }

    /// `setsockopt` of a `u32` value (a TTL, a buffer size, ...), which the kernel takes as a
    /// `c_int`: `InvalidInput` naming `option` if it does not fit, instead of a wrapped value.
    pub(crate) fn set_u32_opt(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        value: u32,
        option: &str,
    ) -> io::Result<()> {
        let value = libc::c_int::try_from(value).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{option} value {value} out of range"),
            )
        })?;
        self.set_opt(level, name, value)
    }

    /// `SO_LINGER`: `Some(0)` makes close send RST instead of FIN.
    pub(crate) fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let value = libc::linger {
            l_onoff: linger.is_some() as libc::c_int,
            l_linger: linger.map_or(0, |d| d.as_secs().min(libc::c_int::MAX as u64) as libc::c_int),
        };
        self.set_opt_value(libc::SOL_SOCKET, libc::SO_LINGER, &value)
    }

    pub(crate) fn linger(&self) -> io::Result<Option<Duration>> {
        let value = libc::linger { l_onoff: 0, l_linger: 0 };
        let value = self.get_opt_value(libc::SOL_SOCKET, libc::SO_LINGER, value)?;
        Ok((value.l_onoff != 0).then(|| Duration::from_secs(value.l_linger as u64)))
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        let code = self.get_opt(libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((code != 0).then(|| io::Error::from_raw_os_error(code)))
    }

    fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The Rust type of an integer socket option: `bool` for a flag (0 or 1), `u32` for a count, a
/// size or a TTL (checked to fit the kernel's `c_int` when set).
pub(crate) trait IntOption: Sized {
    fn get(socket: &Socket, level: libc::c_int, name: libc::c_int) -> io::Result<Self>;
    fn set(
        socket: &Socket,
        level: libc::c_int,
        name: libc::c_int,
        value: Self,
        option: &str,
    ) -> io::Result<()>;
}

impl IntOption for bool {
    fn get(socket: &Socket, level: libc::c_int, name: libc::c_int) -> io::Result<bool> {
        Ok(socket.get_opt(level, name)? != 0)
    }

    fn set(
        socket: &Socket,
        level: libc::c_int,
        name: libc::c_int,
        on: bool,
        _: &str,
    ) -> io::Result<()> {
        socket.set_opt(level, name, on as libc::c_int)
    }
}

impl IntOption for u32 {
    fn get(socket: &Socket, level: libc::c_int, name: libc::c_int) -> io::Result<u32> {
        Ok(socket.get_opt(level, name)? as u32)
    }

    fn set(
        socket: &Socket,
        level: libc::c_int,
        name: libc::c_int,
        value: u32,
        option: &str,
    ) -> io::Result<()> {
        socket.set_u32_opt(level, name, value, option)
    }
}

/// Declares the public setter and getter of integer socket options on a type whose [`Socket`]
/// is `$socket` (an expression of `$self`), one pair per line:
/// `set_nodelay, nodelay: bool = IPPROTO_TCP, TCP_NODELAY;`, each name with its doc comment.
macro_rules! socket_options {
    (|$self:ident| $socket:expr; $(
        $(#[$set_doc:meta])* $set:ident,
        $(#[$get_doc:meta])* $get:ident: $ty:ty = $level:ident, $name:ident;
    )*) => {$(
        $(#[$set_doc])*
        pub fn $set(&$self, value: $ty) -> std::io::Result<()> {
            let name = stringify!($name);
            <$ty as $crate::sys::IntOption>::set($socket, libc::$level, libc::$name, value, name)
        }

        $(#[$get_doc])*
        pub fn $get(&$self) -> std::io::Result<$ty> {
            <$ty as $crate::sys::IntOption>::get($socket, libc::$level, libc::$name)
        }
    )*};
}
pub(crate) use socket_options;

/// A socket address as the kernel takes and gives it: storage for any family, and the
/// length in use.
#[derive(Clone, Copy)]
pub(crate) struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

/// What a Unix-domain address names.
pub(crate) enum UnixName<'a> {
    /// No name (an unbound socket, or a `socketpair` end).
    Unnamed,
    /// A filesystem path (without the trailing NUL).
    Path(&'a [u8]),
    /// A Linux abstract-namespace name (without the leading NUL).
    Abstract(&'a [u8]),
}

/// Offset of `sun_path` in `sockaddr_un` (after the 2-byte family).
const SUN_PATH_OFFSET: usize = mem::size_of::<libc::sa_family_t>();

impl RawAddr {
    const CAPACITY: libc::socklen_t = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;

    /// Zeroed storage, its whole size offered to the kernel.
    fn empty() -> RawAddr {
        // SAFETY: all-zero is a valid sockaddr_storage.
        RawAddr { storage: unsafe { mem::zeroed() }, len: Self::CAPACITY }
    }

    pub(crate) fn from_inet(addr: &SocketAddr) -> RawAddr {
        let (storage, len) = socket_addr_to_raw(addr);
        RawAddr { storage, len }
    }

    pub(crate) fn inet(&self) -> io::Result<SocketAddr> {
        raw_to_socket_addr(&self.storage, self.len)
    }

    /// A Unix-domain address: a path (NUL-terminated here), or with `abstract_name` a Linux
    /// abstract name (a leading NUL, no terminator). `InvalidInput` if it does not fit in
    /// `sun_path` (108 bytes) or a path holds a NUL.
    pub(crate) fn unix(name: &[u8], abstract_name: bool) -> io::Result<RawAddr> {
        let mut addr = RawAddr::empty();
        // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_un.
        let un = unsafe {
            &mut *(&mut addr.storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_un>()
        };
        un.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let (start, used) = if abstract_name { (1, 1 + name.len()) } else { (0, name.len() + 1) };
        if used > un.sun_path.len() || (!abstract_name && name.contains(&0)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Unix socket path must be shorter than 108 bytes and hold no NUL byte",
            ));
        }
        for (slot, &byte) in un.sun_path[start..].iter_mut().zip(name) {
            *slot = byte as libc::c_char;
        }
        addr.len = (SUN_PATH_OFFSET + used) as libc::socklen_t;
        Ok(addr)
    }

    /// What this Unix-domain address names (`Unnamed` for any other family).
    pub(crate) fn unix_name(&self) -> UnixName<'_> {
        let len = (self.len as usize).min(mem::size_of::<libc::sockaddr_un>());
        if self.storage.ss_family as libc::c_int != libc::AF_UNIX || len <= SUN_PATH_OFFSET {
            return UnixName::Unnamed;
        }
        // SAFETY: the family says sockaddr_un, which fits in the storage.
        let un = unsafe {
            &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_un>()
        };
        // SAFETY: c_char and u8 have the same size and alignment; the slice stays in `un`.
        let path: &[u8] = unsafe {
            std::slice::from_raw_parts(un.sun_path.as_ptr().cast(), len - SUN_PATH_OFFSET)
        };
        match path.split_first() {
            Some((0, name)) => UnixName::Abstract(name),
            _ => UnixName::Path(path.split(|&b| b == 0).next().unwrap_or(path)),
        }
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut self.storage as *mut libc::sockaddr_storage).cast()
    }
}

fn socket_addr_to_raw(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let raw = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(v4.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr type.
            unsafe {
                (&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>().write(raw)
            };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let raw = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: v6.ip().octets() },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr type.
            unsafe {
                (&mut storage as *mut libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in6>()
                    .write(raw)
            };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn raw_to_socket_addr(
    storage: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> io::Result<SocketAddr> {
    let len = len as usize;
    match storage.ss_family as libc::c_int {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says sockaddr_in and the kernel wrote at least that many bytes.
            let raw =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(raw.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(raw.sin_port))))
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says sockaddr_in6 and the kernel wrote at least that many bytes.
            let raw = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(raw.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(raw.sin6_port),
                raw.sin6_flowinfo,
                raw.sin6_scope_id,
            )))
        }
        family => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unexpected socket address family {family} ({len} bytes)"),
        )),
    }
}
