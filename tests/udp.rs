//! `net::UdpSocket`: tokio's udp.rs cases (tokio renamed to minirt; `ReadBuf` replaced by a
//! plain slice, minirt's poll API), the readiness conditions of a datagram socket (a datagram
//! arriving makes it readable; an ICMP port unreachable on a connected socket is a pending
//! error that wakes both directions and surfaces as `ConnectionRefused`), socket options,
//! multicast membership, and std conversions.

mod common;

use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::{must_complete, settle, timeout, watchdog};
use futures_util::StreamExt;
use minirt::io::Interest;
use minirt::net::UdpSocket;

const MSG: &[u8] = b"hello";
const MSG_LEN: usize = MSG.len();

#[minirt::test]
async fn send_recv() -> io::Result<()> {
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    sender.connect(receiver.local_addr()?).await?;
    receiver.connect(sender.local_addr()?).await?;
    sender.send(MSG).await?;
    let mut recv_buf = [0u8; 32];
    let len = must_complete("recv", receiver.recv(&mut recv_buf[..])).await?;
    assert_eq!(&recv_buf[..len], MSG);
    Ok(())
}

#[minirt::test]
async fn send_recv_poll() -> io::Result<()> {
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    sender.connect(receiver.local_addr()?).await?;
    receiver.connect(sender.local_addr()?).await?;
    poll_fn(|cx| sender.poll_send(cx, MSG)).await?;
    let mut recv_buf = [0u8; 32];
    let n = must_complete("poll_recv", poll_fn(|cx| receiver.poll_recv(cx, &mut recv_buf))).await?;
    assert_eq!(&recv_buf[..n], MSG);
    Ok(())
}

/// ICMP port unreachable on a connected socket: `recv` returns `ConnectionRefused`
/// (`ECONNREFUSED`, the errno kept) instead of waiting forever.
#[minirt::test]
async fn send_to_recv_closed_returns_err() -> io::Result<()> {
    let _watchdog = watchdog("send_to_recv_closed_returns_err");
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver.local_addr()?;
    drop(receiver);
    sender.connect(receiver_addr).await?;
    sender.send(MSG).await?;
    let mut recv_buf = [0u8; 32];
    let err = must_complete("recv", sender.recv(&mut recv_buf)).await.expect_err("refused");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
    Ok(())
}

#[minirt::test]
async fn send_to_recv_from() -> io::Result<()> {
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver.local_addr()?;
    sender.send_to(MSG, &receiver_addr).await?;
    let mut recv_buf = [0u8; 32];
    let (len, addr) = must_complete("recv_from", receiver.recv_from(&mut recv_buf[..])).await?;
    assert_eq!(&recv_buf[..len], MSG);
    assert_eq!(addr, sender.local_addr()?);
    Ok(())
}

#[minirt::test]
async fn send_to_recv_from_poll() -> io::Result<()> {
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver.local_addr()?;
    poll_fn(|cx| sender.poll_send_to(cx, MSG, receiver_addr)).await?;
    let mut recv_buf = [0u8; 32];
    let (n, addr) =
        must_complete("poll", poll_fn(|cx| receiver.poll_recv_from(cx, &mut recv_buf))).await?;
    assert_eq!(&recv_buf[..n], MSG);
    assert_eq!(addr, sender.local_addr()?);
    Ok(())
}

#[minirt::test]
async fn send_to_peek_from() -> io::Result<()> {
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver.local_addr()?;
    poll_fn(|cx| sender.poll_send_to(cx, MSG, receiver_addr)).await?;
    for _ in 0..2 {
        let mut recv_buf = [0u8; 32];
        let (n, addr) = must_complete("peek_from", receiver.peek_from(&mut recv_buf)).await?;
        assert_eq!(&recv_buf[..n], MSG);
        assert_eq!(addr, sender.local_addr()?);
    }
    let mut recv_buf = [0u8; 32];
    let (n, addr) = receiver.recv_from(&mut recv_buf).await?;
    assert_eq!(&recv_buf[..n], MSG);
    assert_eq!(addr, sender.local_addr()?);
    Ok(())
}

#[minirt::test]
async fn send_to_try_peek_from() -> io::Result<()> {
    let _watchdog = watchdog("send_to_try_peek_from");
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver.local_addr()?;
    poll_fn(|cx| sender.poll_send_to(cx, MSG, receiver_addr)).await?;
    let mut recv_buf = [0u8; 32];
    loop {
        match receiver.try_peek_from(&mut recv_buf) {
            Ok((n, addr)) => {
                assert_eq!(&recv_buf[..n], MSG);
                assert_eq!(addr, sender.local_addr()?);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => receiver.readable().await?,
            Err(e) => return Err(e),
        }
    }
    let (n, addr) = receiver.peek_from(&mut recv_buf).await?;
    assert_eq!((&recv_buf[..n], addr), (MSG, sender.local_addr()?));
    let (n, addr) = receiver.recv_from(&mut recv_buf).await?;
    assert_eq!((&recv_buf[..n], addr), (MSG, sender.local_addr()?));
    Ok(())
}

#[minirt::test]
async fn send_to_peek_from_poll() -> io::Result<()> {
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver.local_addr()?;
    poll_fn(|cx| sender.poll_send_to(cx, MSG, receiver_addr)).await?;
    let mut recv_buf = [0u8; 32];
    let (n, addr) =
        must_complete("peek", poll_fn(|cx| receiver.poll_peek_from(cx, &mut recv_buf))).await?;
    assert_eq!((&recv_buf[..n], addr), (MSG, sender.local_addr()?));
    let n = poll_fn(|cx| receiver.poll_peek(cx, &mut recv_buf)).await?;
    assert_eq!(&recv_buf[..n], MSG);
    let (n, _) = poll_fn(|cx| receiver.poll_recv_from(cx, &mut recv_buf)).await?;
    assert_eq!(&recv_buf[..n], MSG);
    assert!(receiver.try_peek(&mut recv_buf).is_err(), "the one datagram was consumed");
    Ok(())
}

#[minirt::test]
async fn peek_sender() -> io::Result<()> {
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let msg = b"Hello, world!";
    sender.send_to(msg, receiver.local_addr()?).await?;
    let peeked_sender = must_complete("peek_sender", receiver.peek_sender()).await?;
    assert_eq!(peeked_sender, sender.local_addr()?);
    // The datagram is still queued.
    let mut recv_buf = [0u8; 32];
    let (read, received_sender) = receiver.recv_from(&mut recv_buf).await?;
    assert_eq!(&recv_buf[..read], msg);
    assert_eq!(received_sender, peeked_sender);
    Ok(())
}

#[minirt::test]
async fn poll_peek_sender() -> io::Result<()> {
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver.local_addr()?;
    let msg = b"Hello, world!";
    poll_fn(|cx| sender.poll_send_to(cx, msg, receiver_addr)).await?;
    let peeked =
        must_complete("poll_peek_sender", poll_fn(|cx| receiver.poll_peek_sender(cx))).await?;
    assert_eq!(peeked, sender.local_addr()?);
    let mut recv_buf = [0u8; 32];
    let (n, from) = poll_fn(|cx| receiver.poll_recv_from(cx, &mut recv_buf)).await?;
    assert_eq!((&recv_buf[..n], from), (&msg[..], peeked));
    Ok(())
}

#[minirt::test]
async fn try_peek_sender() -> io::Result<()> {
    let _watchdog = watchdog("try_peek_sender");
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    let msg = b"Hello, world!";
    sender.send_to(msg, receiver.local_addr()?).await?;
    let peeked_sender = loop {
        match receiver.try_peek_sender() {
            Ok(peeked) => break peeked,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => receiver.readable().await?,
            Err(e) => return Err(e),
        }
    };
    assert_eq!(peeked_sender, sender.local_addr()?);
    let mut recv_buf = [0u8; 32];
    let (read, from) = receiver.try_recv_from(&mut recv_buf).expect("peeked: data is queued");
    assert_eq!((&recv_buf[..read], from), (&msg[..], peeked_sender));
    Ok(())
}

#[minirt::test]
async fn split() -> io::Result<()> {
    let s = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let r = s.clone();
    let addr = s.local_addr()?;
    minirt::spawn(async move { s.send_to(MSG, &addr).await });
    let mut recv_buf = [0u8; 32];
    let (len, _) = must_complete("recv_from", r.recv_from(&mut recv_buf[..])).await?;
    assert_eq!(&recv_buf[..len], MSG);
    Ok(())
}

/// An echo service from two tasks sharing one socket through a channel (tokio's
/// `split_chan`, async and poll forms).
#[minirt::test]
async fn split_chan() -> io::Result<()> {
    for poll_api in [false, true] {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = socket.local_addr()?;
        let s = Arc::new(socket);
        let r = s.clone();
        let (tx, mut rx) = futures_channel::mpsc::channel::<(Vec<u8>, SocketAddr)>(1_000);
        let echo = minirt::spawn(async move {
            while let Some((bytes, addr)) = rx.next().await {
                if poll_api {
                    poll_fn(|cx| s.poll_send_to(cx, &bytes, addr)).await?;
                } else {
                    s.send_to(&bytes, &addr).await?;
                }
            }
            Ok::<_, io::Error>(())
        });
        let reader = minirt::spawn(async move {
            let mut buf = [0u8; 32];
            let mut tx = tx;
            let (len, addr) = if poll_api {
                poll_fn(|cx| r.poll_recv_from(cx, &mut buf)).await?
            } else {
                r.recv_from(&mut buf).await?
            };
            tx.try_send((buf[..len].to_vec(), addr)).map_err(io::Error::other)
        });
        let sender = UdpSocket::bind("127.0.0.1:0").await?;
        sender.send_to(MSG, addr).await?;
        let mut recv_buf = [0u8; 32];
        let (len, _) = must_complete("echo", sender.recv_from(&mut recv_buf)).await?;
        assert_eq!(&recv_buf[..len], MSG);
        must_complete("reader", reader).await.expect("no panic")?;
        must_complete("echo ends", echo).await.expect("no panic")?;
    }
    Ok(())
}

#[minirt::test]
async fn try_send_spawn() -> io::Result<()> {
    const MSG2: &[u8] = b"world!";
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let receiver = UdpSocket::bind("127.0.0.1:0").await?;
    receiver.connect(sender.local_addr()?).await?;
    sender.writable().await?;
    assert_eq!(sender.try_send_to(MSG, receiver.local_addr()?)?, MSG_LEN);
    let mut buf = [0u8; 32];
    let mut received = must_complete("recv", receiver.recv(&mut buf[..])).await?;
    sender.connect(receiver.local_addr()?).await?;
    assert_eq!(sender.try_send(MSG2)?, MSG2.len());
    received += must_complete("recv", receiver.recv(&mut buf[..])).await?;
    // `try_send` works from a thread outside the runtime.
    std::thread::scope(|scope| {
        scope.spawn(|| assert_eq!(sender.try_send(MSG).expect("try_send"), MSG_LEN));
    });
    received += must_complete("recv", receiver.recv(&mut buf[..])).await?;
    assert_eq!(received, MSG_LEN * 2 + MSG2.len());
    Ok(())
}

#[minirt::test]
async fn try_send_recv() -> io::Result<()> {
    let _watchdog = watchdog("try_send_recv");
    let server = UdpSocket::bind("127.0.0.1:0").await?;
    let client = UdpSocket::bind("127.0.0.1:0").await?;
    client.connect(server.local_addr()?).await?;
    server.connect(client.local_addr()?).await?;
    for _ in 0..5 {
        loop {
            client.writable().await?;
            match client.try_send(b"hello world") {
                Ok(n) => {
                    assert_eq!(n, 11);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        loop {
            server.readable().await?;
            let mut buf = [0; 512];
            match server.try_recv(&mut buf) {
                Ok(n) => {
                    assert_eq!(&buf[..n], b"hello world");
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[minirt::test]
async fn try_send_to_recv_from_and_poll_ready() -> io::Result<()> {
    let _watchdog = watchdog("try_send_to_recv_from_and_poll_ready");
    let server = UdpSocket::bind("127.0.0.1:0").await?;
    let saddr = server.local_addr()?;
    let client = UdpSocket::bind("127.0.0.1:0").await?;
    let caddr = client.local_addr()?;
    for round in 0..10 {
        let poll_api = round % 2 == 1;
        loop {
            if poll_api {
                poll_fn(|cx| client.poll_send_ready(cx)).await?;
            } else {
                client.writable().await?;
            }
            match client.try_send_to(b"hello world", saddr) {
                Ok(n) => {
                    assert_eq!(n, 11);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        loop {
            if poll_api {
                poll_fn(|cx| server.poll_recv_ready(cx)).await?;
            } else {
                server.readable().await?;
            }
            let mut buf = [0; 512];
            match server.try_recv_from(&mut buf) {
                Ok((n, addr)) => {
                    assert_eq!((&buf[..n], addr), (&b"hello world"[..], caddr));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// A datagram arriving is what makes a UDP socket readable: `readable()` waits while the
/// queue is empty and returns once a datagram lands.
#[minirt::test]
async fn a_datagram_arriving_makes_the_socket_readable() -> io::Result<()> {
    let _watchdog = watchdog("a_datagram_arriving_makes_the_socket_readable");
    let receiver = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    // A fresh socket is not readable until the reactor reports it: no syscall, WouldBlock.
    let err = receiver.try_recv(&mut [0u8; 8]).expect_err("empty");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    let waiting = minirt::spawn({
        let receiver = receiver.clone();
        async move { receiver.ready(Interest::READABLE).await }
    });
    settle().await;
    assert!(!waiting.is_finished(), "no datagram yet: readable() waits");
    sender.send_to(MSG, receiver.local_addr()?).await?;
    let ready = must_complete("readable", waiting).await.expect("no panic")?;
    assert!(ready.is_readable() && !ready.is_error(), "{ready:?}");
    let mut buf = [0u8; 8];
    assert_eq!(receiver.try_recv(&mut buf)?, MSG_LEN);
    Ok(())
}

/// An ICMP port unreachable for a connected socket is a pending error: a reader and a writer
/// both wake with `is_error()`, the next operation returns `ECONNREFUSED`, and that clears it.
#[minirt::test]
async fn a_pending_icmp_error_wakes_both_directions() -> io::Result<()> {
    let _watchdog = watchdog("a_pending_icmp_error_wakes_both_directions");
    let closed = UdpSocket::bind("127.0.0.1:0").await?;
    let closed_addr = closed.local_addr()?;
    drop(closed);
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    socket.connect(closed_addr).await?;
    assert!(socket.try_recv(&mut [0u8; 8]).is_err(), "nothing queued");
    let reader = minirt::spawn({
        let socket = socket.clone();
        async move { socket.ready(Interest::READABLE).await }
    });
    settle().await;
    assert!(!reader.is_finished());
    socket.send(MSG).await?;
    let ready = must_complete("reader wakes", reader).await.expect("no panic")?;
    assert!(ready.is_error(), "{ready:?}");
    let ready = must_complete("writer", socket.ready(Interest::WRITABLE)).await?;
    assert!(ready.is_error(), "the error satisfies the write interest too: {ready:?}");
    let err = socket.send(MSG).await.expect_err("the pending error is returned");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
    // Taken: the socket is usable again (this send gets its own ICMP later).
    socket.send(MSG).await?;
    Ok(())
}

/// Many tasks send and receive on one `Arc<UdpSocket>`: 16 receivers wait at once, 16
/// senders send at once, every datagram arrives at exactly one receiver.
#[minirt::test]
async fn many_tasks_send_and_receive_on_one_socket() -> io::Result<()> {
    let _watchdog = watchdog("many_tasks_send_and_receive_on_one_socket");
    const TASKS: usize = 16;
    let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let client = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let server_addr = server.local_addr()?;
    let mut receivers = Vec::new();
    for _ in 0..TASKS {
        let server = server.clone();
        receivers.push(minirt::spawn(async move {
            let mut buf = [0u8; 8];
            let (n, _) = server.recv_from(&mut buf).await?;
            assert_eq!(n, 1);
            Ok::<_, io::Error>(buf[0] as usize)
        }));
    }
    settle().await;
    let mut senders = Vec::new();
    for i in 0..TASKS {
        let client = client.clone();
        senders.push(minirt::spawn(async move { client.send_to(&[i as u8], server_addr).await }));
    }
    for sender in senders {
        must_complete("send", sender).await.expect("no panic")?;
    }
    let mut seen = Vec::new();
    for receiver in receivers {
        seen.push(must_complete("recv", receiver).await.expect("no panic")?);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..TASKS).collect::<Vec<_>>());
    Ok(())
}

#[minirt::test]
async fn socket_options_v4_and_v6() -> io::Result<()> {
    let v4 = UdpSocket::bind("127.0.0.1:0").await?;
    v4.set_broadcast(true)?;
    assert!(v4.broadcast()?);
    v4.set_ttl(7)?;
    assert_eq!(v4.ttl()?, 7);
    v4.set_multicast_loop_v4(false)?;
    assert!(!v4.multicast_loop_v4()?);
    v4.set_multicast_ttl_v4(3)?;
    assert_eq!(v4.multicast_ttl_v4()?, 3);
    assert!(v4.set_ttl(u32::MAX).is_err(), "out of range is an error, not a wrap");
    assert!(v4.take_error()?.is_none());
    assert_eq!(v4.device()?, None);
    if let Ok(v6) = UdpSocket::bind("[::1]:0").await {
        v6.set_multicast_loop_v6(false)?;
        assert!(!v6.multicast_loop_v6()?);
        assert!(v6.local_addr()?.is_ipv6());
    }
    Ok(())
}

/// Joining then leaving a multicast group works, and leaving twice is the kernel's error.
/// Containers without a multicast-capable interface refuse the join itself (`ENODEV`,
/// `EADDRNOTAVAIL`): that is accepted as long as the errno comes through.
#[minirt::test]
async fn multicast_join_and_leave() -> io::Result<()> {
    let v4 = UdpSocket::bind("0.0.0.0:0").await?;
    let group = Ipv4Addr::new(239, 255, 0, 77);
    match v4.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
        Ok(()) => {
            v4.leave_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
            let err = v4.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).expect_err("not a member");
            assert!(err.raw_os_error().is_some(), "{err:?}");
        }
        Err(e) => {
            assert!(matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EADDRNOTAVAIL)), "{e:?}")
        }
    }
    if let Ok(v6) = UdpSocket::bind("[::]:0").await {
        let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x77);
        match v6.join_multicast_v6(&group, 0) {
            Ok(()) => v6.leave_multicast_v6(&group, 0)?,
            Err(e) => assert!(
                matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EADDRNOTAVAIL | libc::EINVAL)),
                "{e:?}"
            ),
        }
    }
    Ok(())
}

#[minirt::test]
async fn from_std_and_into_std() -> io::Result<()> {
    let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let addr = std_socket.local_addr()?;
    let socket = UdpSocket::from_std(std_socket)?;
    assert_eq!(socket.local_addr()?, addr);
    let peer = UdpSocket::bind("127.0.0.1:0").await?;
    peer.send_to(MSG, addr).await?;
    let mut buf = [0u8; 8];
    let (n, _) = must_complete("recv", socket.recv_from(&mut buf)).await?;
    assert_eq!(&buf[..n], MSG);
    let back = socket.into_std()?;
    assert_eq!(back.local_addr()?, addr);
    // Still non-blocking: an empty queue is WouldBlock, not a hang.
    let err = back.recv_from(&mut buf).expect_err("empty");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    // And it registers again.
    let again = UdpSocket::try_from(back)?;
    peer.send_to(MSG, addr).await?;
    assert!(timeout(Duration::from_secs(20), again.recv(&mut buf)).await.is_ok());
    Ok(())
}

/// tokio's `recv_buf`/`recv_buf_from` and their `try_` forms (into a `Vec<u8>`),
/// `TryFrom<std::net::UdpSocket>`, and the `IP_TOS` option.
#[minirt::test]
async fn vec_receives_try_from_and_tos() -> io::Result<()> {
    let _watchdog = watchdog("vec_receives_try_from_and_tos");
    let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    std_socket.set_nonblocking(true)?;
    let a: UdpSocket = std_socket.try_into()?;
    let b = UdpSocket::bind("127.0.0.1:0").await?;
    b.connect(a.local_addr()?).await?;

    let mut buf = Vec::with_capacity(64);
    let err = a.try_recv_buf(&mut buf).expect_err("nothing queued");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    b.send(b"one").await?;
    let (n, from) = a.recv_buf_from(&mut buf).await?;
    assert_eq!((n, from, &buf[..]), (3, b.local_addr()?, &b"one"[..]));
    b.send(b"two").await?;
    a.readable().await?;
    let (n, _) = a.try_recv_buf_from(&mut buf)?;
    assert_eq!((n, &buf[..]), (3, &b"onetwo"[..]), "appended after what was there");

    a.connect(b.local_addr()?).await?;
    a.send(b"back").await?;
    let mut full = Vec::new(); // no capacity at all: grows before receiving
    assert_eq!(b.recv_buf(&mut full).await?, 4);
    assert_eq!(full, b"back");

    a.set_tos_v4(0x10)?;
    assert_eq!(a.tos_v4()?, 0x10);
    Ok(())
}
