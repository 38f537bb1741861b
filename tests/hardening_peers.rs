//! Bad peers: one that stops reading, one that resets the connection in the middle of a write
//! or a read. The runtime must wait without spinning or buffering, report the reset as an
//! error (never a panic), and close every socket it was given.
//!
//! The tests count the entries of `/proc/self/fd`, which is process-wide, so they run one at a
//! time (`serial`), each on its own runtime.

mod common;

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{
    assert_bytes_eq, assert_peer_gone, connected_pair, must_complete, open_fd_count, pattern,
    serial, set_sock_opt, settle, settle_until, CountedWriter, WriteProgress,
};
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::TcpStream;
use minirt::time::timeout;

/// Small kernel buffers, so that a few hundred KiB fill them.
fn small_buffers(stream: &TcpStream) {
    set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_SNDBUF, 16 * 1024);
    set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_RCVBUF, 16 * 1024);
}

/// Spawns a task that writes `data` to `stream` with `write_all`, counting; returns the stream
/// (or the error) when done.
fn spawn_writer(
    stream: TcpStream,
    data: Arc<Vec<u8>>,
    progress: Arc<WriteProgress>,
) -> minirt::task::JoinHandle<io::Result<TcpStream>> {
    minirt::spawn(async move {
        let mut writer = CountedWriter { inner: stream, progress };
        writer.write_all(&data).await?;
        Ok(writer.inner)
    })
}

/// Lets the runtime run until the writer's byte count stops moving, and returns it.
async fn until_stalled(progress: &WriteProgress) -> usize {
    // First the writer must have started (on a multi-thread runtime it runs on a worker,
    // after a wait for its socket's first event): no movement before that is no stall.
    settle_until(1, || progress.written.load(Ordering::SeqCst) > 0).await;
    // Stalled means no byte moved for 100 ms, not for one round of the scheduler: acks still
    // in flight on loopback (a delayed ack is up to 40 ms) free send-buffer space, and the
    // kernel then reports the socket writable again, rightly. One round used to be taken for a
    // stall, and the test failed when such a late wake-up polled the writer afterwards.
    let mut last = usize::MAX;
    let mut unchanged = 0;
    for _ in 0..400 {
        settle().await;
        minirt::time::sleep(Duration::from_millis(20)).await;
        let now = progress.written.load(Ordering::SeqCst);
        unchanged = if now == last { unchanged + 1 } else { 0 };
        if unchanged == 5 {
            return now;
        }
        last = now;
    }
    panic!("the writer never stalled: {last} bytes written");
}

/// A peer that stops reading: `write_all` fills the kernel buffers, then stays `Pending`
/// without being polled again (no busy loop) and without taking more bytes (nothing is
/// buffered in user space); when the peer reads again, the writer resumes and every byte
/// arrives intact.
#[test]
fn a_writer_waits_for_a_peer_that_stops_reading_and_resumes() {
    serial("a_writer_waits_for_a_peer_that_stops_reading_and_resumes", || async {
        const LEN: usize = 8 << 20;
        /// Far above what the small buffers (and loopback's in-flight bytes) can hold.
        const BOUND: usize = 2 << 20;
        let (client, mut server) = connected_pair().await?;
        small_buffers(&client);
        small_buffers(&server);
        let data = Arc::new(pattern(0x5707, LEN));
        let progress = Arc::new(WriteProgress::default());
        let writer = spawn_writer(client, data.clone(), progress.clone());

        let stalled_at = until_stalled(&progress).await;
        assert!(stalled_at > 0, "nothing was written");
        assert!(stalled_at < BOUND, "{stalled_at} bytes taken with nobody reading: unbounded");
        assert!(!writer.is_finished(), "write_all finished with nobody reading");
        // Parked: more rounds of the scheduler poll the writer no more and move no byte.
        let polls = progress.polls.load(Ordering::SeqCst);
        for _ in 0..20 {
            settle().await;
        }
        assert_eq!(progress.polls.load(Ordering::SeqCst), polls, "the stalled writer was polled");
        assert_eq!(progress.written.load(Ordering::SeqCst), stalled_at);
        println!("writer stalled after {stalled_at} bytes, {polls} polls");

        // The peer reads again, slowly: every byte arrives, in order.
        let mut got = vec![0u8; LEN];
        let mut at = 0;
        let mut chunk = [0u8; 4096];
        while at < LEN {
            let n = must_complete("read", server.read(&mut chunk)).await?;
            assert!(n > 0, "EOF after {at} bytes");
            got[at..at + n].copy_from_slice(&chunk[..n]);
            at += n;
            if at % (256 * 1024) < n {
                settle().await;
            }
        }
        assert_bytes_eq(&got, &data, "the bytes written to a stalled peer");
        let client = must_complete("writer", writer).await.expect("no panic")?;
        assert_eq!(progress.written.load(Ordering::SeqCst), LEN);
        drop(client);
        let mut rest = [0u8; 1];
        assert_eq!(must_complete("EOF", server.read(&mut rest)).await?, 0);
        Ok(())
    });
}

/// Drops `stream` with `SO_LINGER` 0: the kernel sends RST instead of FIN.
fn reset(stream: TcpStream) -> io::Result<()> {
    stream.set_linger(Some(Duration::ZERO))?;
    drop(stream);
    Ok(())
}

/// The peer resets the connection while `write_all` waits for buffer space: the write fails
/// with `ConnectionReset`/`BrokenPipe` (no panic, no hang), later writes fail too, and the
/// socket is closed when dropped.
#[test]
fn a_peer_reset_in_the_middle_of_a_write_is_an_error() {
    serial("a_peer_reset_in_the_middle_of_a_write_is_an_error", || async {
        let (client, server) = connected_pair().await?;
        small_buffers(&client);
        small_buffers(&server);
        let progress = Arc::new(WriteProgress::default());
        let writer = spawn_writer(client, Arc::new(pattern(1, 8 << 20)), progress.clone());
        until_stalled(&progress).await;
        assert!(!writer.is_finished(), "the writer waits for buffer space");

        reset(server)?;
        let err = must_complete("write_all to a reset peer", writer)
            .await
            .expect("the writer does not panic")
            .expect_err("the peer reset the connection");
        assert_peer_gone(&err, "write_all");

        // The same on a stream the test holds: writes fail from then on, reads too.
        let (mut client, server) = connected_pair().await?;
        small_buffers(&client);
        client.write_all(b"hello").await?;
        reset(server)?;
        let mut failed = None;
        for _ in 0..100 {
            match must_complete("write", client.write(&[7u8; 64 * 1024])).await {
                Ok(_) => settle().await,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let err = failed.expect("writes to a reset peer fail");
        assert_peer_gone(&err, "write");
        let err = client.write_all(b"again").await.expect_err("still reset");
        assert_peer_gone(&err, "write after the reset");
        let mut buf = [0u8; 16];
        match must_complete("read after the reset", client.read(&mut buf)).await {
            Ok(0) => {} // the error was reported (and cleared) by the write: EOF now
            Ok(n) => panic!("read {n} bytes from a reset connection"),
            Err(e) => assert_peer_gone(&e, "read after the reset"),
        }
        Ok(())
    });
}

/// The peer sends data and then resets while a task is reading it: the reader gets bytes that
/// arrived (checked against what was sent) and then `ConnectionReset`, never a panic or a
/// clean EOF; reading the same socket again does not hang.
#[test]
fn a_peer_reset_in_the_middle_of_a_read_is_an_error() {
    serial("a_peer_reset_in_the_middle_of_a_read_is_an_error", || async {
        const LEN: usize = 1 << 20;
        let data = Arc::new(pattern(2, LEN));
        let (mut client, server) = connected_pair().await?;
        small_buffers(&client);
        let got = Arc::new(AtomicUsize::new(0));
        let reader = {
            let (data, got) = (data.clone(), got.clone());
            minirt::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut at = 0;
                loop {
                    match client.read(&mut buf).await {
                        Ok(0) => return (Ok(at), client),
                        Ok(n) => {
                            assert_bytes_eq(&buf[..n], &data[at..at + n], "received");
                            at += n;
                            got.store(at, Ordering::SeqCst);
                        }
                        Err(e) => return (Err(e), client),
                    }
                }
            })
        };
        // The peer sends part of the data (the reader takes it as it comes), then resets
        // while the reader waits for the rest.
        let mut server = server;
        must_complete("write", server.write_all(&data[..256 * 1024])).await?;
        assert!(
            settle_until(100, || got.load(Ordering::SeqCst) > 0).await,
            "the reader received some bytes"
        );
        reset(server)?;
        let (result, mut client) = must_complete("reader", reader).await.expect("no panic");
        let err = result.expect_err("a reset is not an EOF");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        let mut buf = [0u8; 16];
        match must_complete("read again", client.read(&mut buf)).await {
            Ok(0) => {}
            Ok(n) => panic!("read {n} bytes after the reset"),
            Err(e) => assert_peer_gone(&e, "read again"),
        }
        Ok(())
    });
}

/// A reader that yields one byte per read, every other poll `Pending` (a peer trickling its
/// data), and records the largest buffer it was offered.
struct Trickle {
    left: usize,
    ready: bool,
    largest_offer: usize,
}

impl minirt::io::AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.largest_offer = self.largest_offer.max(buf.len());
        self.ready = !self.ready;
        if !self.ready {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.left == 0 || buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.left -= 1;
        buf[0] = b'x';
        Poll::Ready(Ok(1))
    }
}

/// `read_to_end` into a buffer with a large spare capacity, from a peer that sends one byte at
/// a time: each read is offered (and so zeroes first) a bounded window of the buffer, not all
/// of its spare capacity, so the trickle costs time in proportion to the bytes, not to bytes
/// times capacity. (It offered the whole capacity, 16 MiB zeroed per byte, before.)
#[test]
fn read_to_end_from_a_trickling_peer_costs_no_more_than_its_bytes() {
    serial("read_to_end_from_a_trickling_peer_costs_no_more_than_its_bytes", || async {
        let mut trickle = Trickle { left: 100, ready: false, largest_offer: 0 };
        let mut buf = Vec::with_capacity(16 << 20);
        let n = must_complete("read_to_end", trickle.read_to_end(&mut buf)).await?;
        assert_eq!(n, 100);
        assert!(buf.iter().all(|&b| b == b'x'));
        assert!(
            trickle.largest_offer <= 64 * 1024,
            "read_to_end offered {} bytes to one read (the whole spare capacity)",
            trickle.largest_offer
        );
        Ok(())
    });
}

/// A `timeout` around a write to a peer that stopped reading fires (not before its limit) and
/// cancels the write cleanly: the stream keeps working, and what the peer reads is a prefix of
/// the abandoned write followed by everything written after, byte for byte.
#[test]
fn a_timeout_around_a_stalled_write_cancels_it_cleanly() {
    serial("a_timeout_around_a_stalled_write_cancels_it_cleanly", || async {
        const LEN: usize = 8 << 20;
        let limit = Duration::from_millis(100);
        let (mut client, mut server) = connected_pair().await?;
        small_buffers(&client);
        small_buffers(&server);
        let data = pattern(0x7133, LEN);
        let fds = open_fd_count();

        let started = std::time::Instant::now();
        let result = timeout(limit, client.write_all(&data)).await;
        assert!(result.is_err(), "write_all of {LEN} bytes finished with nobody reading");
        assert!(started.elapsed() >= limit, "timed out early: {:?}", started.elapsed());

        // The stream is still usable: write a marker after the abandoned bytes.
        let marker = b"after the timeout";
        let writer = minirt::spawn(async move {
            client.write_all(marker).await?;
            client.shutdown().await?;
            Ok::<_, io::Error>(client)
        });
        let mut got = Vec::new();
        must_complete("read everything", server.read_to_end(&mut got)).await?;
        let client = must_complete("writer", writer).await.expect("no panic")?;
        assert!(got.ends_with(marker), "the marker is missing");
        let abandoned = got.len() - marker.len();
        assert!(abandoned > 0 && abandoned < LEN, "{abandoned} bytes of the write went out");
        assert_bytes_eq(&got[..abandoned], &data[..abandoned], "the abandoned write's prefix");
        println!("the timed-out write had sent {abandoned} of {LEN} bytes");
        drop((client, server));
        assert_eq!(open_fd_count(), fds - 2, "the pair's fds are closed");
        Ok(())
    });
}
