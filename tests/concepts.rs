//! Every condition that makes a socket readable or writable, shown twice on real sockets over
//! 127.0.0.1: first the kernel's own answer (a level-triggered `epoll_wait` on the raw fd,
//! nothing of minirt involved), then the same event as a minirt user sees it (`readable()`,
//! `writable()`, `accept()`, a read of 0, an `io::Error` with its errno).
//!
//! docs/CONCEPTS.md maps each test here to the concept it shows and to the code in minirt
//! that handles it. A "stays pending" check is a bounded wait (`NOT_READY_WAIT`) that must run
//! out; a "completes" check is bounded by `must_complete`: nothing here can hang, and nothing
//! asserts a speed.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use common::{must_complete, set_sock_opt, timeout, watchdog, Elapsed};
use minirt::io::{AsyncFd, AsyncReadExt, AsyncWriteExt, Interest};
use minirt::net::{TcpListener, TcpSocket, TcpStream};

/// How long a wait that must *not* complete is given before the test moves on. Long enough
/// for loopback (where a packet is delivered within the sending syscall), short enough to keep
/// the file fast.
const NOT_READY_WAIT: Duration = Duration::from_millis(150);

/// A level-triggered (unless asked) epoll instance of our own, to show what the kernel says.
struct RawEpoll(OwnedFd);

impl RawEpoll {
    fn new() -> RawEpoll {
        // SAFETY: epoll_create1 takes no pointers; the result is checked before use.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(fd >= 0, "epoll_create1: {}", io::Error::last_os_error());
        // SAFETY: `fd` is a fresh epoll fd that nothing else owns.
        RawEpoll(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// `epoll_ctl(ADD)` of `fd` for `events`, with `fd` itself as the data word.
    fn add(&self, fd: RawFd, events: libc::c_int) {
        let mut event = libc::epoll_event { events: events as u32, u64: fd as u64 };
        // SAFETY: `event` is a valid epoll_event that outlives the call.
        let ret =
            unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        assert_eq!(ret, 0, "epoll_ctl(ADD): {}", io::Error::last_os_error());
    }

    /// `epoll_wait` for up to `ms` milliseconds: the events of the one fd we watch, or 0 if
    /// none arrived in time.
    fn wait(&self, ms: i32) -> u32 {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
        loop {
            // SAFETY: `events` is a valid, writable array of the length passed.
            let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), 4, ms) };
            if n >= 0 {
                return events[..n as usize].iter().fold(0, |all, e| all | e.events);
            }
            let err = io::Error::last_os_error();
            assert_eq!(err.kind(), io::ErrorKind::Interrupted, "epoll_wait: {err}");
        }
    }
}

fn has(events: u32, bit: libc::c_int) -> bool {
    events & bit as u32 != 0
}

/// A connected pair of blocking std streams over 127.0.0.1: `(client, server)`.
fn std_pair() -> (StdStream, StdStream) {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let client = StdStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    (client, server)
}

/// An address on 127.0.0.1 where nothing listens (a port that was just bound and closed).
fn closed_port() -> SocketAddr {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// `getsockopt(SOL_SOCKET, SO_ERROR)`: the pending error, which the call also clears.
fn so_error(fd: &impl AsRawFd) -> i32 {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid and writable, and `len` is `value`'s size.
    let ret = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(ret, 0, "getsockopt(SO_ERROR): {}", io::Error::last_os_error());
    value
}

/// A non-blocking TCP socket whose `connect` to `addr` has been started: `(socket, errno of
/// connect)`, which is `EINPROGRESS` when the handshake goes on in the background.
fn start_nonblocking_connect(addr: SocketAddr) -> (OwnedFd, i32) {
    // SAFETY: socket takes no pointers; the result is checked before use.
    let fd = unsafe {
        libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0)
    };
    assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
    // SAFETY: `fd` is a fresh socket that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let SocketAddr::V4(v4) = addr else { panic!("an IPv4 address") };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() },
        sin_zero: [0; 8],
    };
    // SAFETY: `sin` is a valid sockaddr_in and its size is passed along.
    let ret = unsafe {
        libc::connect(
            socket.as_raw_fd(),
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    let errno = if ret == 0 { 0 } else { io::Error::last_os_error().raw_os_error().unwrap_or(0) };
    (socket, errno)
}

/// An accepted stream starts assumed readable and writable (its first syscall tells the
/// truth: `TcpStream::from_accepted`), so a test that wants to see `readable()` wait first
/// lets a read say `EAGAIN`, which clears the cached readiness, as any real reader does.
fn read_until_wouldblock(stream: &TcpStream) {
    let mut buf = [0; 64];
    loop {
        match stream.try_read(&mut buf) {
            Ok(n) => assert!(n > 0, "unexpected end of stream"),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => panic!("try_read: {e}"),
        }
    }
}

/// `SO_LINGER` on with a timeout of 0: `close` then sends `RST` instead of `FIN`.
fn linger_zero(fd: &impl AsRawFd) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: `linger` is a valid struct linger that outlives the call; its size is passed.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(ret, 0, "setsockopt(SO_LINGER): {}", io::Error::last_os_error());
}

/// `send(MSG_NOSIGNAL)`, as minirt writes: a closed peer gives `EPIPE`, never a `SIGPIPE`.
fn send_nosignal(fd: &impl AsRawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length.
    let n =
        unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Readable, condition 1: bytes in the receive buffer at or above the low-water mark.
/// With `SO_RCVLOWAT` = 100, 50 bytes do not make the socket readable; 50 more do.
#[minirt::test]
async fn readable_when_the_receive_buffer_reaches_so_rcvlowat() -> io::Result<()> {
    let _watchdog = watchdog("readable_when_the_receive_buffer_reaches_so_rcvlowat");

    // The kernel: epoll reports EPOLLIN only once 100 bytes are queued.
    let (mut client, server) = std_pair();
    set_sock_opt(&server, libc::SOL_SOCKET, libc::SO_RCVLOWAT, 100);
    let epoll = RawEpoll::new();
    epoll.add(server.as_raw_fd(), libc::EPOLLIN);
    client.write_all(&[1; 50])?;
    assert_eq!(epoll.wait(NOT_READY_WAIT.as_millis() as i32), 0, "50 < SO_RCVLOWAT: not readable");
    client.write_all(&[2; 50])?;
    assert!(has(epoll.wait(5_000), libc::EPOLLIN), "100 bytes: readable");

    // minirt: `readable()` waits for the same event.
    let (mut client, server) = std_pair();
    set_sock_opt(&server, libc::SOL_SOCKET, libc::SO_RCVLOWAT, 100);
    let server = TcpStream::from_std(server)?;
    read_until_wouldblock(&server);
    client.write_all(&[1; 50])?;
    assert_eq!(timeout(NOT_READY_WAIT, server.readable()).await.err(), Some(Elapsed), "50 bytes");
    client.write_all(&[2; 50])?;
    must_complete("readable() at SO_RCVLOWAT", server.readable()).await?;
    let mut buf = [0; 200];
    assert_eq!(server.try_read(&mut buf)?, 100);
    Ok(())
}

/// Readable, condition 2: a listening socket is readable while its accept queue holds a
/// connection that finished the three-way handshake (no `accept` needed for that: the kernel
/// completes the handshake by itself).
#[minirt::test]
async fn a_listener_is_readable_when_a_connection_is_queued() -> io::Result<()> {
    let _watchdog = watchdog("a_listener_is_readable_when_a_connection_is_queued");

    let listener = StdListener::bind("127.0.0.1:0")?;
    let epoll = RawEpoll::new();
    epoll.add(listener.as_raw_fd(), libc::EPOLLIN);
    assert_eq!(epoll.wait(0), 0, "empty accept queue: not readable");
    let _client = StdStream::connect(listener.local_addr()?)?; // returns once established
    assert!(has(epoll.wait(5_000), libc::EPOLLIN), "a queued connection: readable");

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    assert_eq!(timeout(NOT_READY_WAIT, listener.accept()).await.err(), Some(Elapsed));
    // Two connections queue up before minirt looks: `accept` drains the queue one by one.
    let _a = StdStream::connect(addr)?;
    let _b = StdStream::connect(addr)?;
    must_complete("first accept", listener.accept()).await?;
    must_complete("second accept", listener.accept()).await?;
    Ok(())
}

/// The accept queue (the backlog) full: the kernel stops completing handshakes, and a new
/// `connect` stays pending (its SYN, or the final ACK, is dropped and retried) until `accept`
/// makes room. On Linux `listen(fd, n)` lets n + 1 connections wait.
#[minirt::test]
async fn a_full_accept_queue_leaves_new_connects_pending() -> io::Result<()> {
    let _watchdog = watchdog("a_full_accept_queue_leaves_new_connects_pending");
    let socket = TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse().map_err(io::Error::other)?)?;
    let listener = socket.listen(0)?; // room for 0 + 1 queued connections
    let addr = listener.local_addr()?;

    let first = must_complete("first connect", TcpStream::connect(addr)).await?;
    // The queue is now full. The next handshake does not complete while nobody accepts.
    let mut second = Box::pin(TcpStream::connect(addr));
    assert_eq!(
        timeout(NOT_READY_WAIT, second.as_mut()).await.err(),
        Some(Elapsed),
        "a connect to a listener with a full accept queue completed"
    );
    // Accepting the first makes room; the kernel retransmits and the second completes (the
    // SYN retry timer starts at 1 s, so this can take a second or so).
    let (_accepted, _) = must_complete("accept", listener.accept()).await?;
    let _second = must_complete("second connect after an accept", second).await?;
    drop(first);
    Ok(())
}

/// Readable, condition 3: the peer's FIN. The socket turns readable (and `EPOLLRDHUP`), and
/// a read returns 0: end of stream.
#[minirt::test]
async fn the_peers_fin_makes_a_socket_readable_and_a_read_returns_0() -> io::Result<()> {
    let _watchdog = watchdog("the_peers_fin_makes_a_socket_readable_and_a_read_returns_0");

    let (client, mut server) = std_pair();
    let epoll = RawEpoll::new();
    epoll.add(server.as_raw_fd(), libc::EPOLLIN | libc::EPOLLRDHUP);
    assert_eq!(epoll.wait(0), 0);
    client.shutdown(Shutdown::Write)?; // sends FIN
    let events = epoll.wait(5_000);
    assert!(has(events, libc::EPOLLIN) && has(events, libc::EPOLLRDHUP), "{events:#x}");
    assert_eq!(server.read(&mut [0; 16])?, 0, "a read after FIN returns 0");

    let (client, server) = std_pair();
    let mut server = TcpStream::from_std(server)?;
    read_until_wouldblock(&server);
    assert_eq!(timeout(NOT_READY_WAIT, server.readable()).await.err(), Some(Elapsed));
    client.shutdown(Shutdown::Write)?;
    let ready = must_complete("ready after FIN", server.ready(Interest::READABLE)).await?;
    assert!(ready.is_readable() && ready.is_read_closed(), "{ready:?}");
    assert_eq!(must_complete("read after FIN", server.read(&mut [0; 16])).await?, 0);
    Ok(())
}

/// Readable and writable, condition 4: a pending error. A reset connection (`RST`, here from a
/// peer that closes with `SO_LINGER` 0) sets the socket's error: epoll reports
/// `EPOLLERR | EPOLLHUP` with both `EPOLLIN` and `EPOLLOUT`, so a reader and a writer both
/// wake, and the next operation returns the error (`ECONNRESET`).
#[minirt::test]
async fn a_pending_error_wakes_both_directions() -> io::Result<()> {
    let _watchdog = watchdog("a_pending_error_wakes_both_directions");

    let (client, server) = std_pair();
    linger_zero(&client);
    let epoll = RawEpoll::new();
    epoll.add(server.as_raw_fd(), libc::EPOLLIN); // EPOLLERR/EPOLLHUP are always reported
    assert_eq!(epoll.wait(0), 0);
    drop(client); // close with linger 0: RST instead of FIN
    let events = epoll.wait(5_000);
    assert!(has(events, libc::EPOLLERR) && has(events, libc::EPOLLHUP), "{events:#x}");
    assert_eq!(so_error(&server), libc::ECONNRESET, "SO_ERROR holds the pending error");

    let (client, server) = std_pair();
    linger_zero(&client);
    let server = TcpStream::from_std(server)?;
    // A writer would be ready anyway (the send buffer is empty): the reader must wake.
    read_until_wouldblock(&server);
    let reader = server.readable();
    let mut reader = Box::pin(reader);
    assert_eq!(timeout(NOT_READY_WAIT, reader.as_mut()).await.err(), Some(Elapsed));
    drop(client);
    must_complete("readable after RST", reader).await?;
    let ready = must_complete(
        "ready(both) after RST",
        server.ready(Interest::READABLE | Interest::WRITABLE),
    )
    .await?;
    assert!(ready.is_readable() && ready.is_writable(), "both directions: {ready:?}");
    let err = server.try_read(&mut [0; 16]).expect_err("a read after RST fails");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNRESET), "{err}");
    Ok(())
}

/// Writable, condition 1: free space in the send buffer. A full send buffer (the peer does
/// not read) is not writable; once the peer drains, it is again.
///
/// The low-water mark here is the kernel's own: Linux fixes `SO_SNDLOWAT` (setting it fails
/// with `ENOPROTOOPT`) and calls a TCP socket writable when its free send space is at least
/// half of what it holds queued (`sk_stream_is_writeable`).
#[minirt::test]
async fn writable_when_the_send_buffer_has_room_again() -> io::Result<()> {
    let _watchdog = watchdog("writable_when_the_send_buffer_has_room_again");

    let (client, server) = std_pair();
    // SAFETY: a valid c_int, its size passed along.
    let ret = unsafe {
        let one: libc::c_int = 1;
        libc::setsockopt(
            client.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDLOWAT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(ret, -1, "Linux does not let SO_SNDLOWAT be set");
    assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::ENOPROTOOPT));

    client.set_nonblocking(true)?;
    server.set_nonblocking(true)?;
    let epoll = RawEpoll::new();
    epoll.add(client.as_raw_fd(), libc::EPOLLOUT);
    // Fill until the socket stays unwritable: on loopback, ACKs still in flight can free some
    // space just after the first EAGAIN.
    let mut written = fill(&client);
    for _ in 0..100 {
        if epoll.wait(20) == 0 {
            break;
        }
        written += fill(&client);
    }
    assert_eq!(epoll.wait(NOT_READY_WAIT.as_millis() as i32), 0, "full send buffer: not writable");
    let mut drained = 0;
    let mut events = 0;
    for _ in 0..200 {
        drained += drain(&server);
        events = epoll.wait(10);
        if has(events, libc::EPOLLOUT) {
            break;
        }
    }
    assert!(has(events, libc::EPOLLOUT), "drained {drained} of {written}: still not writable");

    // minirt: `writable()` waits while the buffer is full and wakes when a reader drains it.
    let (client, server) = std_pair();
    let client = TcpStream::from_std(client)?;
    let mut written = fill_minirt(&client);
    for _ in 0..100 {
        if timeout(Duration::from_millis(20), client.writable()).await.is_err() {
            break;
        }
        written += fill_minirt(&client);
    }
    assert_eq!(timeout(NOT_READY_WAIT, client.writable()).await.err(), Some(Elapsed), "full");
    let reader = std::thread::spawn(move || {
        let mut server = server;
        let mut buf = vec![0; written];
        server.read_exact(&mut buf).map(|()| buf.len())
    });
    must_complete("writable() after the peer drained", client.writable()).await?;
    assert_eq!(reader.join().expect("the reader thread")?, written);
    Ok(())
}

/// Writes until `EAGAIN`; returns how much the kernel took (bounded: a few MB on loopback).
fn fill(stream: &StdStream) -> usize {
    let mut written = 0;
    for _ in 0..100_000 {
        match send_nosignal(stream, &[7; 65536]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return written,
            Err(e) => panic!("send: {e}"),
        }
    }
    panic!("the send buffer never filled");
}

/// Reads until `EAGAIN`; returns how much it read.
fn drain(mut stream: &StdStream) -> usize {
    let mut read = 0;
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return read,
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return read,
            Err(e) => panic!("recv: {e}"),
        }
    }
}

fn fill_minirt(stream: &TcpStream) -> usize {
    let mut written = 0;
    for _ in 0..100_000 {
        match stream.try_write(&[7; 65536]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return written,
            Err(e) => panic!("try_write: {e}"),
        }
    }
    panic!("the send buffer never filled");
}

/// Writable, condition 2: the write half closed. After our own `shutdown(SHUT_WR)` the socket
/// stays writable (a writer must not wait forever) and a write fails with `EPIPE`; sent with
/// `MSG_NOSIGNAL`, as minirt always does, so it is an error and not a `SIGPIPE`
/// (tests/sigpipe.rs shows that with the signal's default action restored).
#[minirt::test]
async fn a_closed_write_half_is_writable_and_a_write_gives_epipe() -> io::Result<()> {
    let _watchdog = watchdog("a_closed_write_half_is_writable_and_a_write_gives_epipe");

    let (client, _server) = std_pair();
    client.shutdown(Shutdown::Write)?;
    let epoll = RawEpoll::new();
    epoll.add(client.as_raw_fd(), libc::EPOLLOUT);
    assert!(has(epoll.wait(5_000), libc::EPOLLOUT), "a closed write half is writable");
    let err = send_nosignal(&client, b"x").expect_err("write after shutdown");
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");

    let (client, _server) = std_pair();
    let mut client = TcpStream::from_std(client)?;
    must_complete("shutdown", client.shutdown()).await?;
    must_complete("writable() after shutdown", client.writable()).await?;
    let err = client.try_write(b"x").expect_err("write after shutdown");
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");
    Ok(())
}

/// Writable, condition 2 again, from the other side: the peer closed. Our first write is
/// accepted (the kernel cannot know yet), the peer answers it with `RST`, and from then on a
/// write fails with `EPIPE` (a reset in `CLOSE_WAIT` sets exactly that error) and epoll
/// reports `EPOLLOUT | EPOLLERR | EPOLLHUP`.
#[minirt::test]
async fn writing_after_the_peer_closed_gives_epipe() -> io::Result<()> {
    let _watchdog = watchdog("writing_after_the_peer_closed_gives_epipe");

    let (client, server) = std_pair();
    drop(server);
    let epoll = RawEpoll::new();
    epoll.add(client.as_raw_fd(), libc::EPOLLOUT | libc::EPOLLRDHUP);
    let events = epoll.wait(5_000);
    assert!(has(events, libc::EPOLLOUT) && has(events, libc::EPOLLRDHUP), "FIN: {events:#x}");
    assert_eq!(send_nosignal(&client, b"first")?, 5, "the first write is accepted");
    let mut events = 0;
    for _ in 0..100 {
        events = epoll.wait(50);
        if has(events, libc::EPOLLERR) {
            break;
        }
    }
    assert!(has(events, libc::EPOLLERR) && has(events, libc::EPOLLHUP), "RST: {events:#x}");
    let err = send_nosignal(&client, b"second").expect_err("write after RST");
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");

    let (client, server) = std_pair();
    drop(server);
    let mut client = TcpStream::from_std(client)?;
    let mut last = None;
    for _ in 0..100 {
        match must_complete("write", client.write(b"data")).await {
            Ok(_) => common::delay(Duration::from_millis(10)).await,
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let err = last.expect("a write to a closed peer fails within 100 tries");
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");
    // The error is sticky in the sense that the socket stays writable: no writer waits.
    must_complete("writable() after EPIPE", client.writable()).await?;
    Ok(())
}

/// Writable, condition 3: a non-blocking `connect` finishing. `connect` returns
/// `EINPROGRESS`; the socket turns writable when the handshake ends, and `SO_ERROR` says how
/// it ended: 0 (connected) or the error (`ECONNREFUSED` from a closed port, with `EPOLLERR`).
#[minirt::test]
async fn a_nonblocking_connect_completes_when_writable() -> io::Result<()> {
    let _watchdog = watchdog("a_nonblocking_connect_completes_when_writable");

    let listener = StdListener::bind("127.0.0.1:0")?;
    let (socket, errno) = start_nonblocking_connect(listener.local_addr()?);
    assert!(errno == libc::EINPROGRESS || errno == 0, "connect: errno {errno}");
    let epoll = RawEpoll::new();
    epoll.add(socket.as_raw_fd(), libc::EPOLLOUT);
    let events = epoll.wait(5_000);
    assert!(has(events, libc::EPOLLOUT) && !has(events, libc::EPOLLERR), "{events:#x}");
    assert_eq!(so_error(&socket), 0, "SO_ERROR 0: connected");

    let (socket, errno) = start_nonblocking_connect(closed_port());
    assert!(errno == libc::EINPROGRESS || errno == libc::ECONNREFUSED, "connect: errno {errno}");
    if errno == libc::EINPROGRESS {
        let epoll = RawEpoll::new();
        epoll.add(socket.as_raw_fd(), libc::EPOLLOUT);
        let events = epoll.wait(5_000);
        assert!(has(events, libc::EPOLLOUT) && has(events, libc::EPOLLERR), "{events:#x}");
        assert_eq!(so_error(&socket), libc::ECONNREFUSED, "SO_ERROR holds the failure");
    }

    // minirt: `connect` is exactly that, awaited: start, wait for writable, read SO_ERROR.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let stream = must_complete("connect", TcpStream::connect(listener.local_addr()?)).await?;
    assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    let err = must_complete("connect to a closed port", TcpStream::connect(closed_port()))
        .await
        .expect_err("nothing listens there");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");

    // The same through `AsyncFd` on our own socket: both directions wake on the error.
    let (socket, errno) = start_nonblocking_connect(closed_port());
    if errno != libc::EINPROGRESS {
        return Ok(()); // refused at once: there is no pending error left to wait for
    }
    let fd = AsyncFd::new(socket)?;
    let guard = must_complete(
        "ready after a refused connect",
        fd.ready(Interest::READABLE | Interest::WRITABLE),
    )
    .await?;
    let ready = guard.ready();
    assert!(ready.is_writable(), "a finished connect is writable: {ready:?}");
    assert_eq!(so_error(fd.get_ref()), libc::ECONNREFUSED);
    Ok(())
}

/// Level- vs edge-triggered, on the same unread bytes: level-triggered epoll reports them on
/// every wait; edge-triggered (minirt's `EPOLLET`) only once per arrival, which is why minirt
/// caches readiness and clears it only on `EAGAIN`.
#[minirt::test]
async fn level_triggered_repeats_edge_triggered_reports_once() -> io::Result<()> {
    let _watchdog = watchdog("level_triggered_repeats_edge_triggered_reports_once");
    let (mut client, server) = std_pair();
    let level = RawEpoll::new();
    level.add(server.as_raw_fd(), libc::EPOLLIN);
    let edge = RawEpoll::new();
    edge.add(server.as_raw_fd(), libc::EPOLLIN | libc::EPOLLET);
    client.write_all(b"hello")?;
    assert!(has(level.wait(5_000), libc::EPOLLIN));
    assert!(has(level.wait(0), libc::EPOLLIN), "level-triggered: reported again");
    assert!(has(edge.wait(5_000), libc::EPOLLIN));
    assert_eq!(edge.wait(0), 0, "edge-triggered: not again until new bytes arrive");
    client.write_all(b"!")?;
    assert!(has(edge.wait(5_000), libc::EPOLLIN), "a new arrival is a new edge");

    // minirt: the bytes stay readable for as long as they are unread, though epoll said so
    // once: `readable()` answers from the cached readiness, twice.
    let (mut client, server) = std_pair();
    let server = TcpStream::from_std(server)?;
    client.write_all(b"hello")?;
    must_complete("readable", server.readable()).await?;
    must_complete("readable again, from the cache", server.readable()).await?;
    let mut buf = [0; 16];
    assert_eq!(server.try_read(&mut buf)?, 5);
    // Drained: the next try_read says EAGAIN and clears the cache; readable() waits again.
    assert_eq!(server.try_read(&mut buf).map_err(|e| e.kind()), Err(io::ErrorKind::WouldBlock));
    assert_eq!(timeout(NOT_READY_WAIT, server.readable()).await.err(), Some(Elapsed));
    Ok(())
}

/// `MINIRT_TRACE=1` prints the data path. The variable is read once per process, so the test
/// runs itself again as a child process (this same test binary, this one test) with the
/// variable set, and checks the child's stderr for one line of each kind.
#[test]
fn minirt_trace_prints_each_step_of_the_data_path() {
    let _watchdog = watchdog("minirt_trace_prints_each_step_of_the_data_path");
    if std::env::var_os("MINIRT_TRACE_CHILD").is_some() {
        return traced_child();
    }
    let run_child = |trace: &str| {
        let exe = std::env::current_exe().expect("the test binary's path");
        let output = std::process::Command::new(exe)
            .args(["--exact", "minirt_trace_prints_each_step_of_the_data_path", "--nocapture"])
            .env("MINIRT_TRACE", trace)
            .env("MINIRT_TRACE_CHILD", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run the traced child");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "the child (MINIRT_TRACE={trace}) failed:\n{stderr}");
        stderr
    };
    let quiet = run_child("0");
    assert!(!quiet.contains("minirt-trace"), "MINIRT_TRACE=0 traced:\n{quiet}");
    let stderr = run_child("1");
    for expected in [
        "epoll_wait (timeout",
        "-> fd ",
        "EPOLLIN",
        "woke reader",
        "polled -> Pending",
        "polled -> Ready",
        "woken: onto the run queue",
        "timer fired",
        "eventfd write",
    ] {
        assert!(stderr.contains(expected), "no `{expected}` in the trace:\n{stderr}");
    }
}

/// What the traced child does: a read that waits for the peer, a sleep, and a wake from
/// another thread.
fn traced_child() {
    let rt = minirt::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(async {
        let (mut client, server) = must_complete("pair", common::connected_pair()).await?;
        let reader = minirt::spawn(async move {
            let mut server = server;
            let mut buf = [0; 8];
            server.read(&mut buf).await
        });
        common::settle().await; // the reader waits in `read`: its waker is stored
        client.write_all(b"ping").await?;
        assert_eq!(must_complete("read", reader).await.map_err(io::Error::other)??, 4);
        minirt::time::sleep(Duration::from_millis(1)).await;
        common::delay(Duration::from_millis(5)).await; // woken from a std thread: the eventfd
        Ok::<_, io::Error>(())
    })
    .expect("the traced run");
}
