//! TCP socket set-up: the errors of `connect` and `bind` keep their errno (a refused connect
//! is `ConnectionRefused` with `ECONNREFUSED`, a taken address `EADDRINUSE`), not a bare message;
//! `TcpSocket` (tokio's tcp_socket.rs cases, and what each option changes: `SO_REUSEPORT`
//! shares a port, the backlog bounds the accept queue, zero linger resets); std conversions.

mod common;

use std::io;
use std::time::Duration;

use common::{must_complete, watchdog};
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpSocket, TcpStream};

/// A connect to a port nobody listens on fails with the OS error itself: `ECONNREFUSED`, so
/// code that matches `raw_os_error()` (as tokio programs do) keeps working.
#[minirt::test]
async fn connect_to_a_closed_port_keeps_econnrefused() -> io::Result<()> {
    let _watchdog = watchdog("connect_to_a_closed_port_keeps_econnrefused");
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        listener.local_addr()?
    }; // closed: the port refuses connections now
    let err = must_complete("connect", TcpStream::connect(addr)).await.expect_err("refused");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err:?}");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    Ok(())
}

/// A bind to an address in use fails with `EADDRINUSE` as the OS reported it.
#[minirt::test]
async fn bind_to_an_address_in_use_keeps_eaddrinuse() -> io::Result<()> {
    let _watchdog = watchdog("bind_to_an_address_in_use_keeps_eaddrinuse");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let err = TcpListener::bind(listener.local_addr()?).await.expect_err("in use");
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE), "{err:?}");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    Ok(())
}

// ---- TcpSocket: tokio's tcp_socket.rs cases, and the options' effects. ----

#[minirt::test]
async fn basic_usage_v4() -> io::Result<()> {
    let srv = TcpSocket::new_v4()?;
    srv.bind("127.0.0.1:0".parse().expect("addr"))?;
    let srv = srv.listen(128)?;
    let addr = srv.local_addr()?;
    let cli = TcpSocket::new_v4()?;
    let _cli = must_complete("connect", cli.connect(addr)).await?;
    must_complete("accept", srv.accept()).await?;
    Ok(())
}

#[minirt::test]
async fn basic_usage_v6() -> io::Result<()> {
    let srv = TcpSocket::new_v6()?;
    if srv.bind("[::1]:0".parse().expect("addr")).is_err() {
        return Ok(()); // no IPv6 loopback in this sandbox
    }
    let srv = srv.listen(128)?;
    let addr = srv.local_addr()?;
    let cli = TcpSocket::new_v6()?;
    let _cli = must_complete("connect", cli.connect(addr)).await?;
    must_complete("accept", srv.accept()).await?;
    Ok(())
}

#[minirt::test]
async fn bind_before_connect() -> io::Result<()> {
    let any_addr = "127.0.0.1:0".parse().expect("addr");
    let srv = TcpSocket::new_v4()?;
    srv.bind(any_addr)?;
    let srv = srv.listen(128)?;
    let addr = srv.local_addr()?;
    let cli = TcpSocket::new_v4()?;
    cli.bind(any_addr)?;
    let bound = cli.local_addr()?;
    let cli = must_complete("connect", cli.connect(addr)).await?;
    assert_eq!(cli.local_addr()?, bound, "the connection uses the bound address");
    let (_, peer) = must_complete("accept", srv.accept()).await?;
    assert_eq!(peer, bound);
    Ok(())
}

#[minirt::test]
async fn basic_linger() -> io::Result<()> {
    let srv = TcpSocket::new_v4()?;
    srv.bind("127.0.0.1:0".parse().expect("addr"))?;
    assert!(srv.linger()?.is_none());
    srv.set_zero_linger()?;
    assert_eq!(srv.linger()?, Some(Duration::ZERO));
    srv.set_linger(Some(Duration::from_secs(3)))?;
    assert_eq!(srv.linger()?, Some(Duration::from_secs(3)));
    Ok(())
}

/// Set-and-get of each option on a v4 and a v6 socket (tokio's `test!` macro cases).
#[test]
fn options_set_and_get() -> io::Result<()> {
    const SET_BUF_SIZE: u32 = 4096;
    // Linux doubles the buffer size for its bookkeeping and reports the double.
    const GET_BUF_SIZE: u32 = 2 * SET_BUF_SIZE;
    for socket in [TcpSocket::new_v4()?, TcpSocket::new_v6()?] {
        assert!(!socket.keepalive()?);
        socket.set_keepalive(true)?;
        assert!(socket.keepalive()?);
        assert!(!socket.reuseaddr()?);
        socket.set_reuseaddr(true)?;
        assert!(socket.reuseaddr()?);
        assert!(!socket.reuseport()?);
        socket.set_reuseport(true)?;
        assert!(socket.reuseport()?);
        assert_ne!(socket.send_buffer_size()?, GET_BUF_SIZE);
        socket.set_send_buffer_size(SET_BUF_SIZE)?;
        assert_eq!(socket.send_buffer_size()?, GET_BUF_SIZE);
        assert_ne!(socket.recv_buffer_size()?, GET_BUF_SIZE);
        socket.set_recv_buffer_size(SET_BUF_SIZE)?;
        assert_eq!(socket.recv_buffer_size()?, GET_BUF_SIZE);
        assert!(!socket.nodelay()?);
        socket.set_nodelay(true)?;
        assert!(socket.nodelay()?);
        assert!(socket.set_send_buffer_size(u32::MAX).is_err(), "out of range");
        assert!(socket.take_error()?.is_none());
    }
    Ok(())
}

/// `SO_REUSEPORT` lets two listeners bind one port (one per worker: the thread-per-core
/// design), and both accept connections; without it the second bind is `EADDRINUSE`.
#[minirt::test]
async fn reuseport_lets_two_listeners_share_a_port() -> io::Result<()> {
    let _watchdog = watchdog("reuseport_lets_two_listeners_share_a_port");
    let first = TcpSocket::new_v4()?;
    first.set_reuseport(true)?;
    first.bind("127.0.0.1:0".parse().expect("addr"))?;
    let addr = first.local_addr()?;
    let second = TcpSocket::new_v4()?;
    second.set_reuseport(true)?;
    second.bind(addr)?;
    let without = TcpSocket::new_v4()?;
    let err = without.bind(addr).expect_err("in use without SO_REUSEPORT");
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
    let (first, second) = (first.listen(64)?, second.listen(64)?);
    // The kernel hashes connections over the two; enough of them reach both.
    let mut clients = Vec::new();
    for _ in 0..32 {
        clients.push(TcpStream::connect(addr).await?);
    }
    let mut accepted = [0usize; 2];
    for _ in 0..clients.len() {
        let (a, b) = (first.accept(), second.accept());
        futures_util::pin_mut!(a, b);
        match must_complete("accept", futures_util::future::select(a, b)).await {
            futures_util::future::Either::Left((result, _)) => {
                result?;
                accepted[0] += 1;
            }
            futures_util::future::Either::Right((result, _)) => {
                result?;
                accepted[1] += 1;
            }
        }
    }
    assert_eq!(accepted[0] + accepted[1], 32);
    assert!(accepted[0] > 0 && accepted[1] > 0, "both listeners got connections: {accepted:?}");
    Ok(())
}

/// `listen(backlog)` is honoured: with a backlog of 1 and nobody accepting, the kernel queues
/// only a couple of handshakes; a further connect stays in progress (SYNs dropped).
#[minirt::test]
async fn listen_backlog_limits_the_accept_queue() -> io::Result<()> {
    let _watchdog = watchdog("listen_backlog_limits_the_accept_queue");
    let socket = TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse().expect("addr"))?;
    let listener = socket.listen(1)?;
    let addr = listener.local_addr()?;
    let mut connected = Vec::new();
    let mut stuck = false;
    for _ in 0..8 {
        match common::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
            Ok(stream) => connected.push(stream?),
            Err(_) => {
                stuck = true;
                break;
            }
        }
    }
    assert!(stuck, "a backlog of 1 queued {} connections", connected.len());
    assert!(connected.len() <= 3, "backlog 1 allows ~2 queued: {}", connected.len());
    Ok(())
}

/// `from_std_stream` takes a socket a blocking library created; the options apply to it.
#[minirt::test]
async fn from_std_stream_keeps_the_socket() -> io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    let local = std_stream.local_addr()?;
    let socket = TcpSocket::from_std_stream(std_stream);
    assert_eq!(socket.local_addr()?, local);
    socket.set_nodelay(true)?;
    assert!(socket.nodelay()?);
    Ok(())
}

/// `TcpStream::set_linger(Some(ZERO))`: dropping the stream resets the connection, so the
/// peer's read fails with `ECONNRESET` instead of seeing EOF.
#[minirt::test]
async fn zero_linger_resets_the_connection() -> io::Result<()> {
    let _watchdog = watchdog("zero_linger_resets_the_connection");
    let (client, mut server) = common::connected_pair().await?;
    client.set_linger(Some(Duration::ZERO))?;
    assert_eq!(client.linger()?, Some(Duration::ZERO));
    drop(client);
    let mut buf = [0u8; 8];
    let err = must_complete("read", server.read(&mut buf)).await.expect_err("reset");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNRESET), "{err:?}");
    Ok(())
}

/// `TcpListener` and `TcpStream` go to std and back and keep working.
#[minirt::test]
async fn listener_and_stream_std_round_trip() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let listener = TcpListener::from_std(listener.into_std()?)?;
    let addr = listener.local_addr()?;
    let client = TcpStream::connect(addr).await?;
    let (server, _) = must_complete("accept", listener.accept()).await?;
    let mut client = TcpStream::from_std(client.into_std()?)?;
    let mut server = TcpStream::from_std(server.into_std()?)?;
    client.write_all(b"ping").await?;
    let mut buf = [0u8; 4];
    must_complete("read", server.read_exact(&mut buf)).await?;
    assert_eq!(&buf, b"ping");
    Ok(())
}

/// `bind_device` binds to an interface (root or `CAP_NET_RAW`), and `device` reports it.
#[test]
fn bind_device_then_device() -> io::Result<()> {
    let socket = TcpSocket::new_v4()?;
    assert_eq!(socket.device()?, None);
    match socket.bind_device(Some(b"lo")) {
        Ok(()) => {
            assert_eq!(socket.device()?.as_deref(), Some(&b"lo"[..]));
            socket.bind_device(None)?;
            assert_eq!(socket.device()?, None);
        }
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e:?}"),
    }
    Ok(())
}

/// `TcpSocket::connect` to a closed port keeps `ECONNREFUSED`.
#[minirt::test]
async fn tcp_socket_connect_refused_keeps_errno() -> io::Result<()> {
    let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let err = must_complete("connect", TcpSocket::new_v4()?.connect(addr)).await.expect_err("x");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
    Ok(())
}
