//! Unix-domain sockets: tokio's uds_stream.rs, uds_datagram.rs, uds_cred.rs, uds_split.rs and
//! uds_socket.rs cases (tokio renamed to minirt, `tempfile` replaced by a small temp dir), and
//! the readiness conditions of a Unix socket: a peer closing gives EOF then `EPIPE`; a peer
//! closing with unread data leaves `ECONNRESET` pending, which wakes both directions; a full
//! send buffer (stream) or a full receiver queue (datagram) makes `writable()` wait.

use crate::common;

use std::future::poll_fn;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use common::{must_complete, settle, watchdog};
use futures_util::future::try_join;
use minirt::io::{AsyncReadExt, AsyncWriteExt, Interest};
use minirt::net::{UnixDatagram, UnixListener, UnixStream};

/// A fresh directory under the system temp dir, removed (with its sockets) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("minirt-uds-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn create_pair() -> io::Result<(UnixStream, UnixStream, TempDir)> {
    let dir = TempDir::new();
    let path = dir.path().join("bind.sock");
    let listener = UnixListener::bind(&path)?;
    let ((server, _), client) = try_join(listener.accept(), UnixStream::connect(&path)).await?;
    Ok((client, server, dir))
}

/// Reads until `WouldBlock` (or EOF, which never blocks).
fn read_until_pending(stream: &UnixStream) {
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        match stream.try_read(&mut buf) {
            Ok(0) => break,
            Ok(_) => (),
            Err(err) => {
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
                break;
            }
        }
    }
}

fn write_until_pending(stream: &UnixStream) -> usize {
    let buf = vec![0u8; 1024 * 1024];
    let mut written = 0;
    loop {
        match stream.try_write(&buf) {
            Ok(n) => written += n,
            Err(err) => {
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
                return written;
            }
        }
    }
}

// ---- uds_stream.rs ----

#[minirt::test]
async fn accept_read_write() -> io::Result<()> {
    let _watchdog = watchdog("accept_read_write");
    let dir = TempDir::new();
    let sock_path = dir.path().join("connect.sock");
    let listener = UnixListener::bind(&sock_path)?;
    let ((mut server, _), mut client) =
        try_join(listener.accept(), UnixStream::connect(&sock_path)).await?;
    client.write_all(b"hello").await?;
    drop(client);
    let mut buf = vec![];
    must_complete("read_to_end", server.read_to_end(&mut buf)).await?;
    assert_eq!(&buf, b"hello");
    assert_eq!(server.read(&mut buf).await?, 0);
    Ok(())
}

#[minirt::test]
async fn accept_read_write_socketaddr() -> io::Result<()> {
    let _watchdog = watchdog("accept_read_write_socketaddr");
    let dir = TempDir::new();
    let sock_path = dir.path().join("connect.sock");
    let addr = std::os::unix::net::SocketAddr::from_pathname(&sock_path)?;
    let listener = UnixListener::bind_addr(&addr)?;
    let ((mut server, _), mut client) =
        try_join(listener.accept(), UnixStream::connect_addr(&addr)).await?;
    client.write_all(b"hello").await?;
    drop(client);
    let mut buf = vec![];
    must_complete("read_to_end", server.read_to_end(&mut buf)).await?;
    assert_eq!(&buf, b"hello");
    Ok(())
}

#[minirt::test]
async fn shutdown() -> io::Result<()> {
    let (mut client, mut server, _dir) = create_pair().await?;
    AsyncWriteExt::shutdown(&mut client).await?;
    let mut buf = [0u8; 1];
    assert_eq!(must_complete("read", server.read(&mut buf)).await?, 0, "EOF");
    Ok(())
}

/// tokio's `try_read_write`: readiness follows the data; a full send buffer makes
/// `writable()` wait until the peer drains it; the peer closing shows as `read_closed`.
#[minirt::test]
async fn try_read_write() -> io::Result<()> {
    let _watchdog = watchdog("try_read_write");
    let msg = b"hello world";
    let (client, server, _dir) = create_pair().await?;
    let mut written = msg.to_vec();
    // An accepted socket starts out assumed readable; a read that finds nothing clears it.
    assert_eq!(server.try_read(&mut [0; 1]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    let server = Arc::new(server);
    let readable = minirt::spawn({
        let server = server.clone();
        async move { server.readable().await }
    });
    settle().await;
    assert!(!readable.is_finished(), "nothing written yet");
    client.writable().await?;
    assert_eq!(client.try_write(msg)?, msg.len());
    must_complete("readable after a write", readable).await.expect("no panic")?;

    for vectored in [false, true] {
        // Fill the write buffer.
        let bufs: Vec<_> = msg.chunks(3).map(io::IoSlice::new).collect();
        loop {
            must_complete("still writable", client.writable()).await?;
            let result =
                if vectored { client.try_write_vectored(&bufs) } else { client.try_write(msg) };
            match result {
                Ok(n) => written.extend(&msg[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        // The buffer is full: writable() waits...
        let client_ref = &client;
        let mut writable = Box::pin(client_ref.writable());
        assert!(common::timeout(std::time::Duration::from_millis(20), writable.as_mut())
            .await
            .is_err());
        // ... until the server drains it.
        let mut read = vec![0; written.len()];
        let mut i = 0;
        while i < read.len() {
            server.readable().await?;
            match server.try_read(&mut read[i..]) {
                Ok(n) => i += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        assert_eq!(read, written);
        must_complete("writable after the drain", writable).await?;
        written.clear();
    }
    drop(client);
    loop {
        let ready = must_complete("read closed", server.ready(Interest::READABLE)).await?;
        if ready.is_read_closed() {
            break;
        }
        read_until_pending(&server);
        settle().await; // let the reactor see the hang-up
    }
    Ok(())
}

#[minirt::test]
async fn poll_read_ready() -> io::Result<()> {
    let _watchdog = watchdog("poll_read_ready");
    let (mut client, mut server, _dir) = create_pair().await?;
    // An accepted socket is assumed readable until a read finds nothing.
    poll_fn(|cx| server.poll_read_ready(cx)).await?;
    read_until_pending(&server);
    poll_fn(|cx| {
        assert!(server.poll_read_ready(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    client.write_all(b"ping").await?;
    must_complete("readable", poll_fn(|cx| server.poll_read_ready(cx))).await?;
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).await?;
    read_until_pending(&server);
    // Detect the client disconnect.
    drop(client);
    must_complete("readable on close", poll_fn(|cx| server.poll_read_ready(cx))).await?;
    Ok(())
}

#[minirt::test]
async fn poll_write_ready() -> io::Result<()> {
    let _watchdog = watchdog("poll_write_ready");
    let (client, server, _dir) = create_pair().await?;
    poll_fn(|cx| client.poll_write_ready(cx)).await?;
    write_until_pending(&client);
    poll_fn(|cx| {
        assert!(client.poll_write_ready(cx).is_pending(), "no space: not writable");
        Poll::Ready(())
    })
    .await;
    // Detect the server disconnect.
    drop(server);
    must_complete("writable on close", poll_fn(|cx| client.poll_write_ready(cx))).await?;
    Ok(())
}

#[minirt::test]
async fn abstract_socket_name() -> io::Result<()> {
    let name = format!("\0minirt-abstract-{}", std::process::id());
    let listener = UnixListener::bind(&name)?;
    assert!(listener.local_addr()?.as_pathname().is_none());
    let ((stream, _), client) = try_join(listener.accept(), UnixStream::connect(&name)).await?;
    let expected = &name.as_bytes()[1..];
    assert_eq!(stream.local_addr()?.as_abstract_name(), Some(expected));
    assert_eq!(client.peer_addr()?.as_abstract_name(), Some(expected));
    let local_addr = stream.into_std()?.local_addr()?;
    assert_eq!(local_addr.as_abstract_name(), Some(expected), "leading NUL removed");
    // No file was created, and the name is free again once the listener closes.
    drop(listener);
    drop(client);
    UnixListener::bind(&name)?;
    Ok(())
}

#[minirt::test]
async fn pair_starts_writable() -> io::Result<()> {
    let (a, mut b) = UnixStream::pair()?;
    must_complete("writable", a.writable()).await?;
    assert_eq!(a.try_write(b"hi")?, 2);
    b.write_all(b"yo").await?;
    a.readable().await?;
    let mut buf = [0u8; 8];
    assert_eq!(a.try_read(&mut buf)?, 2);
    assert_eq!(&buf[..2], b"yo");
    Ok(())
}

#[minirt::test]
async fn addresses_of_both_ends() -> io::Result<()> {
    let dir = TempDir::new();
    let path = dir.path().join("addr.sock");
    let listener = UnixListener::bind(&path)?;
    assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    let ((server, from), client) = try_join(listener.accept(), UnixStream::connect(&path)).await?;
    assert!(from.is_unnamed(), "a client that never bound is unnamed: {from:?}");
    assert!(client.local_addr()?.is_unnamed());
    assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    assert_eq!(server.local_addr()?.as_pathname(), Some(path.as_path()));
    let long = dir.path().join("x".repeat(200));
    let err = UnixListener::bind(&long).expect_err("too long for sun_path");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = must_complete("connect", UnixStream::connect(dir.path().join("none.sock")))
        .await
        .expect_err("no such socket");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    // Binding over an existing socket file is the OS's EADDRINUSE, as is.
    let err = UnixListener::bind(&path).expect_err("exists");
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
    Ok(())
}

// ---- readiness conditions ----

/// A peer that closes gives EOF to the reader and `EPIPE` to a writer (never `SIGPIPE`).
#[minirt::test]
async fn peer_close_gives_eof_then_epipe() -> io::Result<()> {
    let _watchdog = watchdog("peer_close_gives_eof_then_epipe");
    let (mut a, b) = UnixStream::pair()?;
    drop(b);
    settle().await; // the reactor sees the hang-up event
    let mut buf = [0u8; 8];
    assert_eq!(must_complete("read", a.read(&mut buf)).await?, 0, "EOF");
    let ready = a.ready(Interest::READABLE).await?;
    assert!(ready.is_read_closed(), "{ready:?}");
    let err = a.write_all(b"into the void").await.expect_err("peer gone");
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err:?}");
    Ok(())
}

/// A peer closing with data it never read leaves `ECONNRESET` pending: a writer parked on a
/// full buffer and a reader both wake, and the error comes out of the next operation.
#[minirt::test]
async fn pending_error_wakes_both_directions() -> io::Result<()> {
    let _watchdog = watchdog("pending_error_wakes_both_directions");
    let (a, b) = UnixStream::pair()?;
    let a = Arc::new(a);
    write_until_pending(&a);
    read_until_pending(&a);
    let writer = minirt::spawn({
        let a = a.clone();
        async move { a.ready(Interest::WRITABLE).await }
    });
    let reader = minirt::spawn({
        let a = a.clone();
        async move { a.ready(Interest::READABLE).await }
    });
    settle().await;
    assert!(!writer.is_finished() && !reader.is_finished(), "both wait");
    drop(b); // with our data unread in its queue
    let w = must_complete("writer wakes", writer).await.expect("no panic")?;
    let r = must_complete("reader wakes", reader).await.expect("no panic")?;
    assert!(w.is_error() && r.is_error(), "writer {w:?}, reader {r:?}");
    assert!(w.is_write_closed() && r.is_read_closed());
    let err = a.try_write(b"x").expect_err("reset");
    assert!(matches!(err.raw_os_error(), Some(libc::ECONNRESET | libc::EPIPE)), "{err:?}");
    Ok(())
}

/// Many tasks accept on one `Arc<UnixListener>`; each is served.
#[minirt::test]
async fn many_acceptors_on_one_listener() -> io::Result<()> {
    let _watchdog = watchdog("many_acceptors_on_one_listener");
    let dir = TempDir::new();
    let path = dir.path().join("many.sock");
    let listener = Arc::new(UnixListener::bind(&path)?);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let listener = listener.clone();
            minirt::spawn(async move { listener.accept().await.map(drop) })
        })
        .collect();
    settle().await;
    let mut clients = Vec::new();
    for _ in 0..10 {
        clients.push(UnixStream::connect(&path).await?);
    }
    for task in tasks {
        must_complete("accept", task).await.expect("no panic")?;
    }
    Ok(())
}

// ---- uds_cred.rs ----

fn assert_peer_cred(a: &UnixStream, b: &UnixStream) -> io::Result<()> {
    let (cred_a, cred_b) = (a.peer_cred()?, b.peer_cred()?);
    assert_eq!(cred_a, cred_b);
    // SAFETY: geteuid/getegid take no arguments and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    assert_eq!((cred_a.uid(), cred_a.gid()), (uid, gid));
    assert_eq!(cred_a.pid(), Some(std::process::id() as libc::pid_t));
    Ok(())
}

#[minirt::test]
async fn peer_cred_socket_pair() -> io::Result<()> {
    let (a, b) = UnixStream::pair()?;
    assert_peer_cred(&a, &b)
}

#[minirt::test]
async fn peer_cred_listener() -> io::Result<()> {
    let (client, server, _dir) = create_pair().await?;
    assert_peer_cred(&server, &client)
}

// ---- uds_split.rs ----

/// Both borrowed halves of each end in use at once: each side writes its message, shuts its
/// write half down, and reads the other's to EOF.
#[minirt::test]
async fn split() -> io::Result<()> {
    let _watchdog = watchdog("split");
    let (mut a, mut b) = UnixStream::pair()?;
    let (mut a_read, mut a_write) = a.split();
    let (mut b_read, mut b_write) = b.split();
    let (a_got, b_got) = must_complete(
        "exchange",
        try_join(
            send_recv_all(&mut a_read, &mut a_write, b"A"),
            send_recv_all(&mut b_read, &mut b_write, b"B"),
        ),
    )
    .await?;
    assert_eq!(a_got, b"B");
    assert_eq!(b_got, b"A");
    Ok(())
}

async fn send_recv_all(
    read: &mut (impl minirt::io::AsyncRead + Unpin),
    write: &mut (impl minirt::io::AsyncWrite + Unpin),
    input: &[u8],
) -> io::Result<Vec<u8>> {
    write.write_all(input).await?;
    AsyncWriteExt::shutdown(write).await?;
    let mut output = Vec::new();
    read.read_to_end(&mut output).await?;
    Ok(output)
}

#[minirt::test]
async fn into_split_and_reunite() -> io::Result<()> {
    let _watchdog = watchdog("into_split_and_reunite");
    let (a, mut b) = UnixStream::pair()?;
    let (mut read, mut write) = a.into_split();
    let writer = minirt::spawn(async move {
        write.write_all(b"from a task").await?;
        Ok::<_, io::Error>(write)
    });
    let mut buf = [0u8; 11];
    b.read_exact(&mut buf).await?;
    assert_eq!(&buf, b"from a task");
    let write = must_complete("writer", writer).await.expect("no panic")?;
    b.write_all(b"back").await?;
    let mut back = [0u8; 4];
    read.read_exact(&mut back).await?;
    let (c, _d) = UnixStream::pair()?;
    let (_, other_write) = c.into_split();
    let err = read.reunite(other_write).expect_err("halves of different streams");
    let (read, _) = (err.0, err.1);
    let whole = read.reunite(write).expect("same stream");
    whole.writable().await?;
    Ok(())
}

#[minirt::test]
async fn stream_std_round_trip() -> io::Result<()> {
    let dir = TempDir::new();
    let path = dir.path().join("std.sock");
    let listener = UnixListener::from_std(std::os::unix::net::UnixListener::bind(&path)?)?;
    let client = UnixStream::from_std(std::os::unix::net::UnixStream::connect(&path)?)?;
    let (server, _) = must_complete("accept", listener.accept()).await?;
    let mut server = UnixStream::from_std(server.into_std()?)?;
    let mut client = UnixStream::from_std(client.into_std()?)?;
    client.write_all(b"ok").await?;
    let mut buf = [0u8; 2];
    must_complete("read", server.read_exact(&mut buf)).await?;
    let std_listener = listener.into_std()?;
    assert_eq!(std_listener.accept().expect_err("non-blocking").kind(), io::ErrorKind::WouldBlock);
    Ok(())
}

// ---- uds_datagram.rs / uds_socket.rs ----

async fn echo_server(socket: UnixDatagram) -> io::Result<()> {
    let mut recv_buf = vec![0u8; 1024];
    loop {
        let (len, peer_addr) = socket.recv_from(&mut recv_buf[..]).await?;
        if let Some(path) = peer_addr.as_pathname() {
            socket.send_to(&recv_buf[..len], path).await?;
        }
    }
}

#[minirt::test]
async fn datagram_echo_and_echo_from() -> io::Result<()> {
    let _watchdog = watchdog("datagram_echo_and_echo_from");
    let dir = TempDir::new();
    let server_path = dir.path().join("server.sock");
    let client_path = dir.path().join("client.sock");
    let server_socket = UnixDatagram::bind(&server_path)?;
    minirt::spawn(echo_server(server_socket));
    let socket = UnixDatagram::bind(&client_path)?;
    socket.connect(&server_path)?;
    socket.send(b"ECHO").await?;
    let mut recv_buf = [0u8; 16];
    let len = must_complete("recv", socket.recv(&mut recv_buf[..])).await?;
    assert_eq!(&recv_buf[..len], b"ECHO");
    socket.send(b"ECHO2").await?;
    let (len, addr) = must_complete("recv_from", socket.recv_from(&mut recv_buf[..])).await?;
    assert_eq!(&recv_buf[..len], b"ECHO2");
    assert_eq!(addr.as_pathname(), Some(server_path.as_path()));
    assert_eq!(socket.peer_addr()?.as_pathname(), Some(server_path.as_path()));
    assert_eq!(socket.local_addr()?.as_pathname(), Some(client_path.as_path()));
    Ok(())
}

/// A datagram pair fills up (the sender's buffer, or `net.unix.max_dgram_qlen`); then
/// `try_send` says `WouldBlock` and `writable()` waits until the receiver drains the queue (a
/// full queue blocks the sender: Unix datagrams are never dropped).
#[minirt::test]
async fn try_send_recv_never_block_and_full_queue_waits() -> io::Result<()> {
    let _watchdog = watchdog("try_send_recv_never_block_and_full_queue_waits");
    let payload = b"PAYLOAD";
    let mut recv_buf = [0u8; 16];
    let (dgram1, dgram2) = UnixDatagram::pair()?;
    let mut count = 0;
    loop {
        dgram1.writable().await?;
        match dgram1.try_send(payload) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => break,
            Err(e) => return Err(e),
            Ok(len) => assert_eq!(len, payload.len()),
        }
        count += 1;
    }
    let dgram1 = Arc::new(dgram1);
    let waiter = minirt::spawn({
        let dgram1 = dgram1.clone();
        async move { dgram1.writable().await }
    });
    settle().await;
    assert!(!waiter.is_finished(), "full: writable() waits");
    // The kernel reports the sender writable again once most of its buffer is free (a pair's
    // datagrams are charged to the sender until received): drain them all.
    while count > 0 {
        dgram2.readable().await?;
        let len = dgram2.try_recv(&mut recv_buf[..])?;
        assert_eq!(&recv_buf[..len], payload);
        count -= 1;
    }
    must_complete("writable once drained", waiter).await.expect("no panic")?;
    let err = dgram2.try_recv(&mut recv_buf[..]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    Ok(())
}

#[minirt::test]
async fn datagram_split_and_poll_forms() -> io::Result<()> {
    let _watchdog = watchdog("datagram_split_and_poll_forms");
    let dir = TempDir::new();
    let path = dir.path().join("split.sock");
    let s = Arc::new(UnixDatagram::bind(&path)?);
    let r = s.clone();
    let msg = b"hello";
    let target = path.clone();
    minirt::spawn(async move { s.send_to(msg, &target).await });
    let mut recv_buf = [0u8; 32];
    let (len, _) = must_complete("recv_from", r.recv_from(&mut recv_buf[..])).await?;
    assert_eq!(&recv_buf[..len], msg);

    // poll_send_to / poll_recv_from, then poll_send / poll_recv on a connected pair.
    poll_fn(|cx| r.poll_send_to(cx, msg, &path)).await?;
    let (n, from) =
        must_complete("poll_recv_from", poll_fn(|cx| r.poll_recv_from(cx, &mut recv_buf))).await?;
    assert_eq!((&recv_buf[..n], from.as_pathname()), (&msg[..], Some(path.as_path())));
    let (a, b) = UnixDatagram::pair()?;
    poll_fn(|cx| a.poll_send(cx, msg)).await?;
    let n = must_complete("poll_recv", poll_fn(|cx| b.poll_recv(cx, &mut recv_buf))).await?;
    assert_eq!(&recv_buf[..n], msg);
    for _ in 0..3 {
        must_complete("send ready", poll_fn(|cx| a.poll_send_ready(cx))).await?;
        a.try_send(msg)?;
        must_complete("recv ready", poll_fn(|cx| b.poll_recv_ready(cx))).await?;
        assert_eq!(b.try_recv(&mut recv_buf)?, msg.len());
    }
    Ok(())
}

/// `unbound` sockets send to a path; the receiver sees an unnamed sender. `try_send_to` /
/// `try_recv_from` work the same way.
#[minirt::test]
async fn unbound_sender_and_try_send_to() -> io::Result<()> {
    let dir = TempDir::new();
    let path = dir.path().join("server.sock");
    let server = UnixDatagram::bind(&path)?;
    let client = UnixDatagram::unbound()?;
    assert!(client.local_addr()?.is_unnamed());
    for _ in 0..5 {
        client.writable().await?;
        assert_eq!(client.try_send_to(b"hello world", &path)?, 11);
        loop {
            server.readable().await?;
            let mut buf = [0u8; 64];
            match server.try_recv_from(&mut buf) {
                Ok((n, from)) => {
                    assert_eq!(&buf[..n], b"hello world");
                    assert!(from.is_unnamed(), "{from:?}");
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
    let err = client.send_to(b"x", dir.path().join("nobody.sock")).await.expect_err("no socket");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    Ok(())
}

#[minirt::test]
async fn datagram_abstract_and_std_round_trip() -> io::Result<()> {
    let name = format!("\0minirt-dgram-{}", std::process::id());
    let server = UnixDatagram::bind(&name)?;
    let client = UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)?;
    client.connect(&name)?;
    client.send(b"abstract").await?;
    let mut buf = [0u8; 16];
    let n = must_complete("recv", server.recv(&mut buf)).await?;
    assert_eq!(&buf[..n], b"abstract");
    assert_eq!(server.local_addr()?.as_abstract_name(), Some(&name.as_bytes()[1..]));
    let std_server = server.into_std()?;
    assert_eq!(
        std_server.recv(&mut buf).expect_err("non-blocking").kind(),
        io::ErrorKind::WouldBlock
    );
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name.as_bytes()[1..])?;
    assert!(UnixListener::bind_addr(&addr).is_ok(), "stream and datagram names are separate");
    Ok(())
}

/// A datagram receiver whose peer closed: `recv` waits (no EOF for datagrams) but a send to
/// it fails with `ECONNREFUSED`.
#[minirt::test]
async fn datagram_peer_closed() -> io::Result<()> {
    let (a, b) = UnixDatagram::pair()?;
    drop(b);
    let err = a.send(b"x").await.expect_err("peer gone");
    assert!(matches!(err.raw_os_error(), Some(libc::ECONNREFUSED | libc::EPIPE)), "{err:?}");
    a.shutdown(std::net::Shutdown::Both)?;
    Ok(())
}

/// tokio's `try_read_vectored`/`try_read_buf` on a `UnixStream`, `recv_buf`/`recv_buf_from`
/// on a `UnixDatagram`, and `TryFrom` from the std types.
#[minirt::test]
async fn vec_and_vectored_reads_and_try_from() -> io::Result<()> {
    let _watchdog = watchdog("vec_and_vectored_reads_and_try_from");
    let (std_a, std_b) = std::os::unix::net::UnixStream::pair()?;
    std_a.set_nonblocking(true)?;
    std_b.set_nonblocking(true)?;
    let (mut a, b) = (UnixStream::try_from(std_a)?, UnixStream::try_from(std_b)?);
    a.write_all(b"abcdef").await?;
    b.readable().await?;
    let (mut x, mut y) = ([0u8; 2], [0u8; 2]);
    let n = b.try_read_vectored(&mut [io::IoSliceMut::new(&mut x), io::IoSliceMut::new(&mut y)])?;
    assert_eq!((n, &x, &y), (4, b"ab", b"cd"));
    let mut rest = Vec::new();
    assert_eq!(b.try_read_buf(&mut rest)?, 2);
    assert_eq!(rest, b"ef");

    let (std_c, std_d) = std::os::unix::net::UnixDatagram::pair()?;
    std_c.set_nonblocking(true)?;
    std_d.set_nonblocking(true)?;
    let (c, d) = (UnixDatagram::try_from(std_c)?, UnixDatagram::try_from(std_d)?);
    c.send(b"dgram").await?;
    let mut buf = Vec::new();
    assert_eq!(d.recv_buf(&mut buf).await?, 5);
    c.send(b"!").await?;
    let (n, from) = d.recv_buf_from(&mut buf).await?;
    assert_eq!((n, &buf[..]), (1, &b"dgram!"[..]));
    assert!(from.is_unnamed());
    Ok(())
}

/// tokio's `uds_stream::pair_starts_writable`: a fresh pair is writable before the reactor has
/// run (empty buffers), and not readable until the peer writes.
#[minirt::test]
async fn a_fresh_pair_starts_writable_not_readable() -> io::Result<()> {
    use minirt::io::AsyncWriteExt;
    use std::future::Future;
    let noop = futures_util::task::noop_waker_ref();
    let mut cx = std::task::Context::from_waker(noop);

    let (a, mut b) = UnixStream::pair()?;
    let mut writable = Box::pin(a.writable());
    assert!(matches!(writable.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(a.try_write(b"hi")?, 2);
    let mut write = Box::pin(b.write_all(b"yo"));
    assert!(matches!(write.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    drop(write);

    let (c, _d) = UnixStream::pair()?;
    let mut readable = Box::pin(c.readable());
    assert!(readable.as_mut().poll(&mut cx).is_pending());
    assert_eq!(c.try_read(&mut [0u8; 1]).unwrap_err().kind(), io::ErrorKind::WouldBlock);

    // The peer's bytes still arrive through the normal event path.
    must_complete("readable", a.readable()).await?;
    assert_eq!(a.try_read(&mut [0u8; 8])?, 2);
    Ok(())
}

/// tokio's `uds_stream::epollhup`: a connect still waiting for the reactor when the listener
/// closes without accepting fails (refused or reset), rather than giving a dead stream.
#[minirt::test]
async fn a_listener_closed_before_accepting_fails_the_pending_connect() -> io::Result<()> {
    use std::future::Future;
    let dir = TempDir::new();
    let sock_path = dir.path().join("connect.sock");
    let listener = UnixListener::bind(&sock_path)?;
    let mut connect = Box::pin(UnixStream::connect(&sock_path));
    poll_fn(|cx| {
        assert!(connect.as_mut().poll(cx).is_pending(), "the first poll waits for the reactor");
        Poll::Ready(())
    })
    .await;
    drop(listener);
    let err = must_complete("connect", connect).await.expect_err("the listener is gone");
    assert!(
        matches!(err.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset),
        "{err:?}"
    );
    Ok(())
}
