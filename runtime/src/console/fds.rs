//! What kind of thing a registered fd is, and its addresses, looked up from the console's
//! thread: `/proc/self/fd/N` names pipes, sockets and anonymous inodes (signalfd, pidfd,
//! eventfd); a socket's domain, type, listening flag and addresses come from `getsockopt`,
//! `getsockname` and `getpeername`. The fd may be closed (or reused) between the reactor's
//! snapshot and these calls: then the answer describes whatever holds the number now, or
//! says the fd is gone, which is all a live view can promise.

use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// The fd's kind, its own address and its peer's (for sockets that have them).
pub(super) struct FdInfo {
    pub(super) kind: String,
    pub(super) local: Option<String>,
    pub(super) peer: Option<String>,
}

pub(super) fn describe(fd: RawFd) -> FdInfo {
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|path| path.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "(closed)".to_owned());
    let kind = if target.starts_with("socket:") {
        return socket(fd);
    } else if target.starts_with("pipe:") {
        "pipe".to_owned()
    } else if let Some(rest) = target.strip_prefix("anon_inode:") {
        rest.trim_matches(|c| c == '[' || c == ']').to_owned()
    } else {
        target
    };
    FdInfo { kind, local: None, peer: None }
}

fn sockopt(fd: RawFd, option: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes of the sizes given; an fd that is not a
    // socket (or is closed) makes the call fail, which is handled.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(value)
}

fn socket(fd: RawFd) -> FdInfo {
    let domain = sockopt(fd, libc::SO_DOMAIN);
    let ty = sockopt(fd, libc::SO_TYPE);
    let listening = sockopt(fd, libc::SO_ACCEPTCONN) == Some(1);
    let family = match domain {
        Some(libc::AF_INET) | Some(libc::AF_INET6) => match ty {
            Some(libc::SOCK_STREAM) => "TCP",
            Some(libc::SOCK_DGRAM) => "UDP",
            _ => "IP",
        },
        Some(libc::AF_UNIX) => match ty {
            Some(libc::SOCK_DGRAM) => "Unix datagram",
            _ => "Unix",
        },
        _ => "socket",
    };
    let role = match (ty, listening) {
        (Some(libc::SOCK_DGRAM), _) => "",
        (_, true) => " listener",
        (Some(libc::SOCK_STREAM), false) | (Some(libc::SOCK_SEQPACKET), false) => " stream",
        _ => "",
    };
    FdInfo {
        kind: format!("{family}{role}"),
        local: address(fd, libc::getsockname),
        peer: address(fd, libc::getpeername),
    }
}

type AddrFn =
    unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

fn address(fd: RawFd, get: AddrFn) -> Option<String> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` is writable for `len` bytes (a `sockaddr_storage` fits every family);
    // `get` is `getsockname` or `getpeername`, which fail on a non-socket or unconnected fd.
    let rc = unsafe { get(fd, storage.as_mut_ptr().cast(), &mut len) };
    if rc != 0 {
        return None;
    }
    // SAFETY: zero-initialised, then written by the kernel: every byte is initialised.
    let storage = unsafe { storage.assume_init() };
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a `sockaddr_in`, which it can hold.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((&storage as *const libc::sockaddr_storage).cast()) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddrV4::new(ip, u16::from_be(sin.sin_port)).to_string())
        }
        libc::AF_INET6 => {
            // SAFETY: as above, a `sockaddr_in6`.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((&storage as *const libc::sockaddr_storage).cast()) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddrV6::new(ip, u16::from_be(sin6.sin6_port), 0, 0).to_string())
        }
        libc::AF_UNIX => {
            // SAFETY: as above, a `sockaddr_un`.
            let sun: libc::sockaddr_un =
                unsafe { std::ptr::read((&storage as *const libc::sockaddr_storage).cast()) };
            let offset = size_of::<libc::sa_family_t>();
            let path_len = (len as usize).saturating_sub(offset).min(sun.sun_path.len());
            let path: Vec<u8> = sun.sun_path[..path_len].iter().map(|&c| c as u8).collect();
            Some(match path.split_first() {
                None => "(unnamed)".to_owned(),
                Some((0, abstract_name)) => format!("@{}", String::from_utf8_lossy(abstract_name)),
                Some(_) => {
                    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                    String::from_utf8_lossy(&path[..end]).into_owned()
                }
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn sockets_and_pipes_are_told_apart() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let stream =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let info = describe(listener.as_raw_fd());
        assert_eq!(info.kind, "TCP listener");
        assert_eq!(info.local, Some(listener.local_addr().expect("addr").to_string()));
        assert_eq!(info.peer, None);
        let info = describe(stream.as_raw_fd());
        assert_eq!(info.kind, "TCP stream");
        assert_eq!(info.peer, Some(listener.local_addr().expect("addr").to_string()));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        assert_eq!(describe(udp.as_raw_fd()).kind, "UDP");
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("pair");
        assert_eq!(describe(a.as_raw_fd()).kind, "Unix stream");
    }
}
