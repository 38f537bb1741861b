//! TCP through the public `minirt` API: data integrity under concurrency and back-pressure,
//! EOF and half close, refused and reset connections, split halves, and the `try_*` /
//! readiness methods. Everything runs on 127.0.0.1.

use crate::common;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{
    assert_bytes_eq, connected_pair, delay, feed_and_drain, must_complete, pattern,
    raise_nofile_limit, set_sock_opt, settle, watchdog, CountedWriter, WriteProgress,
};
use futures_util::future::join;
use minirt::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
use minirt::net::{TcpListener, TcpStream};
use minirt::task::JoinHandle;

/// Reads everything from `stream` and writes it back until EOF; returns the bytes echoed.
async fn echo<S>(mut stream: S) -> io::Result<usize>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 4096];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Many concurrent connections
// ---------------------------------------------------------------------------------------------

/// 1,000 connections at once, each with its own server task and its own client task; every
/// byte of every echo is checked, and the addresses both sides report must match up.
#[minirt::test]
async fn echo_round_trip_over_a_thousand_concurrent_connections() -> io::Result<()> {
    let _watchdog = watchdog("echo_round_trip_over_a_thousand_concurrent_connections");
    const WANTED: usize = 1000;
    // Two fds per connection in this process, plus headroom for the other tests of this binary
    // that run in parallel.
    let limit = raise_nofile_limit(4500);
    let connections = if limit >= 4500 {
        WANTED
    } else {
        let n = (limit.saturating_sub(500) / 2) as usize;
        eprintln!(
            "RLIMIT_NOFILE hard limit is {limit}, below the 4,500 this test wants: using {n} \
             connections instead of {WANTED}"
        );
        n
    };
    assert!(connections >= 100, "too few fds to test anything (limit {limit})");

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;

    // The acceptor spawns one echo task per connection and reports what it saw.
    let acceptor = minirt::spawn(async move {
        let mut servers = Vec::with_capacity(connections);
        let mut peers = Vec::with_capacity(connections);
        for _ in 0..connections {
            let (stream, peer) = listener.accept().await?;
            assert_eq!(stream.peer_addr()?, peer);
            peers.push(peer);
            servers.push(minirt::spawn(echo(stream)));
        }
        Ok::<_, io::Error>((servers, peers))
    });

    let clients: Vec<JoinHandle<io::Result<(SocketAddr, usize)>>> = (0..connections)
        .map(|i| {
            minirt::spawn(async move {
                let len = 1 + (i * 997) % 8000;
                let message = pattern(i as u64, len);
                let mut stream = TcpStream::connect(addr).await?;
                let local = stream.local_addr()?;
                stream.write_all(&message).await?;
                stream.shutdown().await?;
                let mut echoed = Vec::new();
                let n = stream.read_to_end(&mut echoed).await?;
                assert_eq!(n, len, "connection {i}: echoed length");
                assert_bytes_eq(&echoed, &message, &format!("connection {i}"));
                Ok((local, len))
            })
        })
        .collect();

    let (mut client_addrs, sent, mut peers, echoed) = must_complete("all connections", async {
        let mut client_addrs = Vec::with_capacity(connections);
        let mut sent = 0;
        for client in clients {
            let (local, len) = client.await??;
            client_addrs.push(local);
            sent += len;
        }
        let (servers, peers) = acceptor.await??;
        let mut echoed = 0;
        for server in servers {
            echoed += server.await??;
        }
        Ok::<_, io::Error>((client_addrs, sent, peers, echoed))
    })
    .await?;
    assert_eq!(echoed, sent, "the servers echoed exactly what the clients sent");
    client_addrs.sort();
    peers.sort();
    assert_eq!(client_addrs, peers, "every accepted peer is one of our clients, once");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. Back-pressure: a large transfer against a slow reader
// ---------------------------------------------------------------------------------------------

/// Reads until EOF in small chunks, yielding after each one (a slow reader), checking every
/// chunk against `expected` as it arrives. Returns the byte count.
async fn read_slowly_and_check(
    mut reader: impl AsyncRead + Unpin,
    expected: Arc<Vec<u8>>,
    what: &'static str,
) -> io::Result<usize> {
    let mut buf = vec![0u8; 8 * 1024];
    let mut at = 0;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(at);
        }
        assert!(at + n <= expected.len(), "{what}: more bytes than were sent");
        assert_bytes_eq(&buf[..n], &expected[at..at + n], &format!("{what} at offset {at}"));
        at += n;
        minirt::task::yield_now().await;
    }
}

/// 16 MiB each way through one connection, both directions at once, with readers that start
/// late and read slowly. Socket buffers are pinned small so the kernel cannot absorb the data:
/// each `write_all` must go `Pending` and stay unfinished while nobody reads; then every byte
/// arrives, in order.
#[minirt::test]
async fn sixteen_mib_each_way_with_slow_readers() -> io::Result<()> {
    let _watchdog = watchdog("sixteen_mib_each_way_with_slow_readers");
    const LEN: usize = 16 << 20;
    let (client, server) = connected_pair().await?;
    for stream in [&client, &server] {
        set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_SNDBUF, 64 * 1024);
        set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_RCVBUF, 64 * 1024);
    }
    let up = Arc::new(pattern(0xC11E, LEN));
    let down = Arc::new(pattern(0x5E7E, LEN));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();

    let up_progress = Arc::new(WriteProgress::default());
    let down_progress = Arc::new(WriteProgress::default());
    let writer = |half, data: Arc<Vec<u8>>, progress: Arc<WriteProgress>| {
        minirt::spawn(async move {
            let mut writer = CountedWriter { inner: half, progress };
            writer.write_all(&data).await?;
            // Dropping the owned write half sends FIN: the reader sees EOF after the last byte.
            drop(writer);
            Ok::<_, io::Error>(())
        })
    };
    let up_writer = writer(client_write, up.clone(), up_progress.clone());
    let down_writer = writer(server_write, down.clone(), down_progress.clone());

    // Nobody reads yet. Both writers fill the socket buffers and must then be parked, Pending.
    for round in 0..2 {
        delay(Duration::from_millis(50)).await;
        for (name, progress, handle) in
            [("up", &up_progress, &up_writer), ("down", &down_progress, &down_writer)]
        {
            let written = progress.written.load(Ordering::SeqCst);
            let pendings = progress.pendings.load(Ordering::SeqCst);
            assert!(!handle.is_finished(), "{name}: write_all finished with nobody reading");
            assert!(written < LEN, "{name}: all {LEN} bytes written with nobody reading");
            assert!(pendings > 0, "{name}: the writer never returned Pending (round {round})");
        }
    }

    let up_reader = minirt::spawn(read_slowly_and_check(server_read, up.clone(), "client->server"));
    let down_reader =
        minirt::spawn(read_slowly_and_check(client_read, down.clone(), "server->client"));
    must_complete("client->server writer", up_writer).await??;
    must_complete("server->client writer", down_writer).await??;
    assert_eq!(must_complete("client->server reader", up_reader).await??, LEN);
    assert_eq!(must_complete("server->client reader", down_reader).await??, LEN);
    assert_eq!(up_progress.written.load(Ordering::SeqCst), LEN);
    assert_eq!(down_progress.written.load(Ordering::SeqCst), LEN);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. EOF and half close
// ---------------------------------------------------------------------------------------------

/// After the peer closes, the remaining data is read, then every further read returns 0.
#[minirt::test]
async fn read_returns_zero_repeatedly_after_peer_close() -> io::Result<()> {
    let _watchdog = watchdog("read_returns_zero_repeatedly_after_peer_close");
    let (mut client, mut server) = connected_pair().await?;
    server.write_all(b"last words").await?;
    drop(server);

    let mut got = Vec::new();
    let n = must_complete("read_to_end", client.read_to_end(&mut got)).await?;
    assert_eq!(n, 10);
    assert_eq!(got, b"last words");
    let mut buf = [0u8; 64];
    for attempt in 0..3 {
        let n = must_complete("read after EOF", client.read(&mut buf)).await?;
        assert_eq!(n, 0, "read #{attempt} after EOF");
    }
    assert_eq!(client.read_to_end(&mut got).await?, 0, "read_to_end after EOF reads nothing");
    // EOF is readiness too: waiting for readability returns at once.
    must_complete("readable after EOF", client.readable()).await?;
    assert_eq!(client.try_read(&mut buf)?, 0);
    Ok(())
}

/// `AsyncReadUninit` on a stream and on an owned read half: 1 MiB read straight into a
/// `Vec`'s spare capacity (uninitialised memory), the bytes right and in order, then EOF.
#[minirt::test]
async fn read_into_uninitialised_memory() -> io::Result<()> {
    use minirt::io::AsyncReadUninit;
    use std::pin::Pin;

    /// Reads `from` to EOF through `poll_read_uninit` only, into spare capacity.
    async fn read_uninit_to_end<R: AsyncReadUninit + Unpin>(mut from: R) -> io::Result<Vec<u8>> {
        let mut got = Vec::with_capacity(1000);
        loop {
            if got.len() == got.capacity() {
                got.reserve(7919); // odd sizes, so reads end mid-pattern
            }
            let n = std::future::poll_fn(|cx| {
                Pin::new(&mut from).poll_read_uninit(cx, got.spare_capacity_mut())
            })
            .await?;
            if n == 0 {
                return Ok(got);
            }
            // SAFETY: `AsyncReadUninit` promises the first `n` spare bytes were written.
            unsafe { got.set_len(got.len() + n) };
        }
    }

    let _watchdog = watchdog("read_into_uninitialised_memory");
    let data = pattern(11, 1 << 20);
    for half in [false, true] {
        let (client, mut server) = connected_pair().await?;
        let writer = {
            let data = data.clone();
            minirt::spawn(async move {
                server.write_all(&data).await?;
                server.shutdown().await
            })
        };
        let got = if half {
            must_complete("read half", read_uninit_to_end(client.into_split().0)).await?
        } else {
            must_complete("stream", read_uninit_to_end(client)).await?
        };
        writer.await.unwrap()?;
        assert_bytes_eq(&got, &data, if half { "owned read half" } else { "stream" });
    }
    Ok(())
}

/// The client shuts its write half down; the server reads the request to EOF and still writes
/// a reply, which the client reads in full. Writing after `shutdown` is an error. The reply
/// (4 MiB through small socket buffers) is far bigger than the kernel can hold, so the server's
/// writes after EOF wait for writability many times: the read half's hang-up must not make
/// them spin or fail.
#[minirt::test]
async fn half_close_server_replies_after_client_shutdown() -> io::Result<()> {
    let _watchdog = watchdog("half_close_server_replies_after_client_shutdown");
    const BODY: usize = 4 << 20;
    let (mut client, mut server) = connected_pair().await?;
    for stream in [&client, &server] {
        set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_SNDBUF, 16 * 1024);
        set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_RCVBUF, 16 * 1024);
    }
    let body = Arc::new(pattern(0x4A1F, BODY));

    let server_task = {
        let body = body.clone();
        minirt::spawn(async move {
            let mut request = Vec::new();
            server.read_to_end(&mut request).await?;
            let mut reply = b"reply to: ".to_vec();
            reply.extend_from_slice(&request);
            server.write_all(&reply).await?;
            server.write_all(&body).await?;
            server.shutdown().await?;
            Ok::<_, io::Error>(request)
        })
    };

    client.write_all(b"a request").await?;
    client.shutdown().await?;
    let err = client.write_all(b"more").await.expect_err("write after shutdown must fail");
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "write after shutdown: {err}");

    let mut reply = Vec::new();
    must_complete("read the reply", client.read_to_end(&mut reply)).await?;
    let head = b"reply to: a request";
    assert_eq!(reply.len(), head.len() + BODY, "the whole reply arrived");
    assert_eq!(&reply[..head.len()], head);
    assert_bytes_eq(&reply[head.len()..], &body, "the reply's body");
    let request = must_complete("server", server_task).await??;
    assert_eq!(request, b"a request");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4. and 5. Refused and reset connections
// ---------------------------------------------------------------------------------------------

#[minirt::test]
async fn connect_to_a_closed_port_is_refused() {
    let _watchdog = watchdog("connect_to_a_closed_port_is_refused");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local_addr").port()
    };
    let result = must_complete("connect", TcpStream::connect(("127.0.0.1", port))).await;
    let err = result.expect_err("nothing listens on the port any more");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

/// The peer closes with `SO_LINGER` = 0, which sends RST and no FIN: our read must fail with
/// `ConnectionReset` (not `Ok(0)`), whether the RST arrives before the read or while the read
/// waits.
#[minirt::test]
async fn read_after_peer_reset_is_connection_reset() -> io::Result<()> {
    let _watchdog = watchdog("read_after_peer_reset_is_connection_reset");
    let mut buf = [0u8; 64];

    // The RST is already there when we read.
    let (mut client, server) = connected_pair().await?;
    server.set_linger(Some(Duration::ZERO))?;
    assert_eq!(server.linger()?, Some(Duration::ZERO));
    drop(server);
    let err = must_complete("read", client.read(&mut buf)).await.expect_err("reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");

    // The read is already waiting when the RST arrives: EPOLLERR/EPOLLHUP must wake it.
    let (mut client, server) = connected_pair().await?;
    let started = Arc::new(AtomicUsize::new(0));
    let reader = {
        let started = started.clone();
        minirt::spawn(async move {
            started.store(1, Ordering::SeqCst);
            let mut buf = [0u8; 64];
            client.read(&mut buf).await
        })
    };
    settle().await;
    assert_eq!(started.load(Ordering::SeqCst), 1, "the reader task ran");
    assert!(!reader.is_finished(), "nothing was sent: the read must be waiting");
    server.set_linger(Some(Duration::ZERO))?;
    drop(server);
    let err = must_complete("waiting read", reader).await?.expect_err("reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");

    // Closing a socket with unread data also resets the connection (RFC 2525).
    let (mut client, mut server) = connected_pair().await?;
    client.write_all(b"never read").await?;
    // Make sure the data reached the server's receive queue before it closes.
    let mut peeked = [0u8; 10];
    assert_eq!(must_complete("peek", server.peek(&mut peeked)).await?, 10);
    assert_eq!(&peeked, b"never read");
    let mut one = [0u8; 1];
    server.read_exact(&mut one).await?;
    drop(server);
    let err = must_complete("read", client.read(&mut buf)).await.expect_err("reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 7. Split halves
// ---------------------------------------------------------------------------------------------

/// `into_split` halves in two different tasks at once, against an echo server, with buffers
/// small enough that the reader and the writer are both waiting at the same time (a waker of
/// one direction overwriting the other's would deadlock). Then `reunite`.
#[minirt::test]
async fn into_split_halves_in_two_tasks() -> io::Result<()> {
    let _watchdog = watchdog("into_split_halves_in_two_tasks");
    const LEN: usize = 2 << 20;
    let (client, server) = connected_pair().await?;
    for stream in [&client, &server] {
        set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_SNDBUF, 32 * 1024);
        set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_RCVBUF, 32 * 1024);
    }
    let server_task = minirt::spawn(echo(server));
    let data = Arc::new(pattern(7, LEN));

    let (mut read_half, mut write_half) = client.into_split();
    assert_eq!(read_half.peer_addr()?, write_half.peer_addr()?);
    assert_eq!(read_half.local_addr()?, write_half.local_addr()?);
    let expected = data.clone();
    let reader = minirt::spawn(async move {
        let mut got = Vec::with_capacity(LEN);
        let mut buf = vec![0u8; 16 * 1024];
        while got.len() < LEN {
            let n = read_half.read(&mut buf).await?;
            assert_ne!(n, 0, "EOF before all the echo came back");
            got.extend_from_slice(&buf[..n]);
        }
        assert_bytes_eq(&got, &expected, "echo through into_split halves");
        Ok::<_, io::Error>(read_half)
    });
    let writer = minirt::spawn(async move {
        for chunk in data.chunks(100_000) {
            write_half.write_all(chunk).await?;
        }
        Ok::<_, io::Error>(write_half)
    });
    let write_half = must_complete("writer", writer).await??;
    let read_half = must_complete("reader", reader).await??;

    // Reunited, the stream still works, and the server is still echoing.
    let mut stream = read_half.reunite(write_half).expect("halves of the same stream");
    stream.write_all(b"after reunite").await?;
    let mut buf = [0u8; 13];
    must_complete("read after reunite", stream.read_exact(&mut buf)).await?;
    assert_eq!(&buf, b"after reunite");

    // Dropping the write half of a split sends FIN: the echo server sees EOF and finishes.
    let (mut read_half, write_half) = stream.into_split();
    drop(write_half);
    assert_eq!(must_complete("server", server_task).await??, LEN + 13);
    let mut rest = Vec::new();
    assert_eq!(must_complete("EOF", read_half.read_to_end(&mut rest)).await?, 0);
    Ok(())
}

/// Halves of two different streams cannot be reunited; they come back intact and usable.
#[minirt::test]
async fn reunite_rejects_halves_of_different_streams() -> io::Result<()> {
    let _watchdog = watchdog("reunite_rejects_halves_of_different_streams");
    let (a, mut a_peer) = connected_pair().await?;
    let (b, mut b_peer) = connected_pair().await?;
    let (a_read, a_write) = a.into_split();
    let (b_read, b_write) = b.into_split();
    let minirt::net::tcp::ReuniteError(mut a_read, mut b_write) =
        a_read.reunite(b_write).expect_err("different streams");
    b_write.write_all(b"to b").await?;
    let mut buf = [0u8; 4];
    must_complete("b_peer read", b_peer.read_exact(&mut buf)).await?;
    assert_eq!(&buf, b"to b");
    a_peer.write_all(b"to a").await?;
    must_complete("a_read read", a_read.read_exact(&mut buf)).await?;
    assert_eq!(&buf, b"to a");
    let a = a_read.reunite(a_write).expect("same stream");
    let b = b_write.reunite(b_read).expect("same stream");
    assert_ne!(a.local_addr()?, b.local_addr()?);
    Ok(())
}

/// `split()` within one task: writing 1 MiB and reading its echo concurrently in one `join`,
/// and the same through `&TcpStream`, which is `AsyncRead + AsyncWrite` too.
#[minirt::test]
async fn split_and_shared_reference_within_one_task() -> io::Result<()> {
    let _watchdog = watchdog("split_and_shared_reference_within_one_task");
    const LEN: usize = 1 << 20;
    let (mut client, server) = connected_pair().await?;
    for stream in [&client, &server] {
        set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_SNDBUF, 32 * 1024);
        set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_RCVBUF, 32 * 1024);
    }
    let server_task = minirt::spawn(echo(server));
    let data = pattern(11, LEN);

    {
        let (mut reader, mut writer) = client.split();
        let mut got = vec![0u8; LEN];
        let (written, read) =
            must_complete("split", join(writer.write_all(&data), reader.read_exact(&mut got)))
                .await;
        written?;
        read?;
        assert_bytes_eq(&got, &data, "echo through split()");
    }

    let shared = &client;
    let (mut reader, mut writer) = (shared, shared);
    let mut got = vec![0u8; LEN];
    let (written, read) =
        must_complete("&TcpStream", join(writer.write_all(&data), reader.read_exact(&mut got)))
            .await;
    written?;
    read?;
    assert_bytes_eq(&got, &data, "echo through &TcpStream");

    client.shutdown().await?;
    assert_eq!(must_complete("server", server_task).await??, 2 * LEN);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Readiness, try_*, peek, options, from_std
// ---------------------------------------------------------------------------------------------

#[minirt::test]
async fn try_read_try_write_readiness_and_peek() -> io::Result<()> {
    let _watchdog = watchdog("try_read_try_write_readiness_and_peek");
    let (client, server) = connected_pair().await?;
    let mut buf = [0u8; 32];

    // Nothing sent yet: try_read would block (a connected stream is not readable until the
    // reactor reports it), and keeps saying so.
    for _ in 0..2 {
        let err = client.try_read(&mut buf).expect_err("no data yet");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    let ready = must_complete("writable", server.ready(Interest::WRITABLE)).await?;
    assert!(ready.is_writable(), "{ready:?}");
    assert_eq!(server.try_write(b"hello")?, 5);

    // `readable` resolves once the bytes are there; `peek` leaves them in place.
    must_complete("readable", client.readable()).await?;
    let n = must_complete("peek", client.peek(&mut buf)).await?;
    assert_eq!(&buf[..n], &b"hello"[..n]);
    let mut got = Vec::new();
    while got.len() < 5 {
        client.readable().await?;
        match client.try_read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    assert_eq!(got, b"hello");
    let err = client.try_read(&mut buf).expect_err("drained");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    // Both interests at once: writable is ready on an idle connection.
    let ready =
        must_complete("ready", client.ready(Interest::READABLE.add(Interest::WRITABLE))).await?;
    assert!(ready.is_writable(), "{ready:?}");
    assert!(client.take_error()?.is_none());

    // Socket options round-trip.
    client.set_nodelay(true)?;
    assert!(client.nodelay()?);
    client.set_nodelay(false)?;
    assert!(!client.nodelay()?);
    assert_eq!(client.linger()?, None);
    client.set_linger(Some(Duration::from_secs(3)))?;
    assert_eq!(client.linger()?, Some(Duration::from_secs(3)));
    client.set_ttl(42)?;
    assert_eq!(client.ttl()?, 42);
    Ok(())
}

/// A std listener and a std stream, connected with blocking calls and then handed to minirt,
/// work like native ones (they are switched to non-blocking mode).
#[minirt::test]
async fn from_std_listener_and_stream() -> io::Result<()> {
    let _watchdog = watchdog("from_std_listener_and_stream");
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = std_listener.local_addr()?;
    let listener = TcpListener::from_std(std_listener)?;
    assert_eq!(listener.local_addr()?, addr);
    // A blocking std connect completes through the kernel's accept queue alone.
    let std_client = std::net::TcpStream::connect(addr)?;
    let mut client = TcpStream::from_std(std_client)?;
    let (mut server, peer) = must_complete("accept", listener.accept()).await?;
    assert_eq!(peer, client.local_addr()?);

    // Nothing to read yet: a non-blocking socket says so instead of blocking the runtime.
    let mut buf = [0u8; 8];
    let err = server.try_read(&mut buf).expect_err("no data");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    client.write_all(b"from std").await?;
    must_complete("read", server.read_exact(&mut buf)).await?;
    assert_eq!(&buf, b"from std");
    server.write_all(b"back").await?;
    let mut back = [0u8; 4];
    must_complete("read", client.read_exact(&mut back)).await?;
    assert_eq!(&back, b"back");
    Ok(())
}

/// `minirt::io::copy` moves a whole stream and reports the byte count.
#[minirt::test]
async fn io_copy_between_sockets() -> io::Result<()> {
    let _watchdog = watchdog("io_copy_between_sockets");
    const LEN: usize = 3 << 20;
    let data = pattern(3, LEN);
    let (mut source, mut sink, feeder, drain) = feed_and_drain(data.clone()).await?;
    let copied = must_complete("copy", minirt::io::copy(&mut source, &mut sink)).await?;
    assert_eq!(copied, LEN as u64);
    sink.shutdown().await?;
    must_complete("feeder", feeder).await??;
    let got = must_complete("drain", drain).await??;
    assert_bytes_eq(&got, &data, "copied stream");
    Ok(())
}

/// Many connections queued at once are all accepted (accept drains the queue until `EAGAIN`),
/// including ones that arrive while the acceptor is parked.
#[minirt::test]
async fn accept_drains_a_burst_of_connections() -> io::Result<()> {
    let _watchdog = watchdog("accept_drains_a_burst_of_connections");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // Blocking std connects from another thread: they complete in the kernel, no accept needed.
    let connector = std::thread::spawn(move || {
        (0..64)
            .map(|_| std::net::TcpStream::connect(addr).map(|s| s.local_addr().unwrap()))
            .collect::<io::Result<Vec<_>>>()
    });
    let mut accepted = Vec::new();
    while accepted.len() < 64 {
        let (_stream, peer) = must_complete("accept", listener.accept()).await?;
        accepted.push(peer);
    }
    let mut connected = connector.join().expect("connector thread")?;
    connected.sort();
    accepted.sort();
    assert_eq!(connected, accepted);
    Ok(())
}

/// Connects a client that sent one byte, and returns the server side, whose `peek` is then
/// always ready and never pending.
async fn always_readable_stream() -> io::Result<(TcpStream, TcpStream)> {
    let (client, server) = connected_pair().await?;
    (&client).write_all(b"x").await?;
    let mut one = [0u8; 1];
    assert_eq!(must_complete("first peek", server.peek(&mut one)).await?, 1);
    Ok((client, server))
}

/// Peeks at `server` until `ticks` reaches 100 or a million peeks went by; true if it did.
async fn peek_until_ticks(server: &TcpStream, ticks: &AtomicUsize) -> io::Result<bool> {
    let mut one = [0u8; 1];
    for _ in 0..1_000_000 {
        assert_eq!(server.peek(&mut one).await?, 1);
        if ticks.load(Ordering::SeqCst) >= 100 {
            return Ok(true);
        }
    }
    Ok(false)
}

fn spawn_ticker(ticks: Arc<AtomicUsize>) -> JoinHandle<()> {
    minirt::spawn(async move {
        for _ in 0..100 {
            ticks.fetch_add(1, Ordering::SeqCst);
            minirt::task::yield_now().await;
        }
    })
}

/// A task whose socket is always ready must still let other tasks run (the cooperative
/// budget), or the ticker task would never get a turn.
#[minirt::test]
async fn a_busy_reader_task_does_not_starve_other_tasks() -> io::Result<()> {
    let _watchdog = watchdog("a_busy_reader_task_does_not_starve_other_tasks");
    let (_client, server) = always_readable_stream().await?;
    let ticks = Arc::new(AtomicUsize::new(0));
    let busy = {
        let ticks = ticks.clone();
        minirt::spawn(async move { peek_until_ticks(&server, &ticks).await })
    };
    let ticker = spawn_ticker(ticks.clone());
    let saw_ticks = must_complete("busy task", busy).await??;
    assert!(saw_ticks, "the ticker never ran while another task peeked in a loop");
    must_complete("ticker", ticker).await?;
    assert_eq!(ticks.load(Ordering::SeqCst), 100);
    Ok(())
}

/// The same with the busy loop in the `block_on` future itself. The budget makes the future
/// yield (it wakes itself and returns `Pending`), but the scheduler then polls it again
/// without running any task: `RunningLoop::run` leaves its task batch as soon as the `block_on`
/// waker has fired.
#[minirt::test]
async fn a_busy_block_on_future_does_not_starve_tasks() -> io::Result<()> {
    let _watchdog = watchdog("a_busy_block_on_future_does_not_starve_tasks");
    let (_client, server) = always_readable_stream().await?;
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticker = spawn_ticker(ticks.clone());
    let saw_ticks = peek_until_ticks(&server, &ticks).await?;
    assert!(saw_ticks, "the ticker never ran while the block_on future peeked in a loop");
    must_complete("ticker", ticker).await?;
    Ok(())
}

/// tokio's `try_read_vectored`, `try_read_buf` (into a `Vec<u8>`), `set_zero_linger`,
/// `TryFrom<std::net::TcpStream>` and the borrowed read half's `peek`.
#[minirt::test]
async fn vectored_and_vec_reads_zero_linger_try_from_and_half_peek() -> io::Result<()> {
    let _watchdog = watchdog("vectored_and_vec_reads_zero_linger_try_from_and_half_peek");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let std_client = std::net::TcpStream::connect(listener.local_addr()?)?;
    std_client.set_nonblocking(true)?;
    let mut client: TcpStream = std_client.try_into()?;
    let (mut server, _) = listener.accept().await?;

    // Nothing sent yet: both reads would block.
    let mut vec = Vec::new();
    let err = server.try_read_buf(&mut vec).expect_err("nothing to read");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    client.write_all(b"hello world").await?;
    server.readable().await?;
    let (mut head, mut tail) = ([0u8; 5], [0u8; 3]);
    let n = {
        let mut bufs = [io::IoSliceMut::new(&mut head), io::IoSliceMut::new(&mut tail)];
        server.try_read_vectored(&mut bufs)?
    };
    assert_eq!(n, 8);
    assert_eq!((&head, &tail), (b"hello", b" wo"));

    // The rest lands after what the vector already holds; a full vector grows first.
    let mut vec = b"<".to_vec();
    vec.shrink_to_fit();
    assert_eq!(vec.len(), vec.capacity());
    assert_eq!(server.try_read_buf(&mut vec)?, 3);
    assert_eq!(vec, b"<rld");

    // The borrowed read half peeks without consuming.
    client.write_all(b"peek").await?;
    let (mut read_half, _write_half) = server.split();
    let mut buf = [0u8; 4];
    assert_eq!(read_half.peek(&mut buf).await?, 4);
    assert_eq!(&buf, b"peek");
    assert_eq!(read_half.read(&mut buf).await?, 4, "peek left the bytes in place");

    // Zero linger: dropping the stream resets the connection.
    server.set_zero_linger()?;
    assert_eq!(server.linger()?, Some(Duration::ZERO));
    drop(server);
    let err = must_complete("the reset", client.read(&mut buf)).await.expect_err("RST");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    // Shutting down a reset connection is not an error (tokio maps `NotConnected` to Ok).
    client.shutdown().await?;
    Ok(())
}

/// `TryFrom<std::net::TcpListener>`.
#[minirt::test]
async fn a_std_listener_converts_with_try_from() -> io::Result<()> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let listener = TcpListener::try_from(std_listener)?;
    let (client, accepted) = join(TcpStream::connect(addr), listener.accept()).await;
    assert_eq!(accepted?.0.peer_addr()?, client?.local_addr()?);
    Ok(())
}

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(futures_util::task::noop_waker_ref());
    std::pin::Pin::new(fut).poll(&mut cx)
}

/// tokio's `tcp_stream::read_closed`: a connected (not accepted) stream knows nothing about
/// its readiness until the reactor says so, so `ready(READABLE)` waits for the peer's bytes,
/// and then reports a readable, not a read-closed, stream.
#[minirt::test]
async fn a_connected_stream_is_not_readable_until_the_peer_writes() -> io::Result<()> {
    let (client, mut server) = connected_pair().await?;
    let mut ready = Box::pin(client.ready(Interest::READABLE));
    assert!(poll_once(&mut ready).is_pending(), "nothing was sent yet");
    server.write_all(b"ping").await?;
    let event = must_complete("readable after the write", ready).await?;
    assert!(event.is_readable() && !event.is_read_closed(), "{event:?}");
    Ok(())
}

/// An accepted stream is assumed readable and writable: its first read tries the socket at
/// once (the request that made the client connect is usually there already).
#[minirt::test]
async fn an_accepted_stream_reads_at_once() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let mut client = TcpStream::connect(listener.local_addr()?).await?;
    client.write_all(b"GET").await?;
    let (server, _) = listener.accept().await?;
    let mut ready = Box::pin(server.ready(Interest::READABLE | Interest::WRITABLE));
    match poll_once(&mut ready) {
        std::task::Poll::Ready(event) => assert!(event?.is_readable()),
        std::task::Poll::Pending => panic!("an accepted stream starts ready"),
    }
    drop(ready);
    let mut buf = [0u8; 3];
    let mut server = server;
    must_complete("read", server.read_exact(&mut buf)).await?;
    assert_eq!(&buf, b"GET");
    Ok(())
}
