//! Many tasks waiting on one resource in the same direction (many readers of one socket, many
//! writers): every waiter is woken, a cancelled waiter frees its place, and the reactor never
//! runs a waker's code (clone, wake, drop) while it holds one of its locks (a waker that
//! touches the same registration would deadlock).

use crate::common;

use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::Duration;

use common::{must_complete, settle, watchdog};
use minirt::io::{AsyncFd, AsyncReadExt, AsyncWriteExt, Interest};
use minirt::net::{TcpListener, TcpStream, UdpSocket};

/// A pipe, both ends non-blocking and close-on-exec: `(read end, write end)`.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    let ret = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(ret, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn read_fd(fd: &impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    let file = std::fs::File::from(fd.as_fd().try_clone_to_owned()?);
    (&file).read(buf)
}

fn write_fd(fd: &impl AsFd, buf: &[u8]) -> io::Result<usize> {
    let file = std::fs::File::from(fd.as_fd().try_clone_to_owned()?);
    (&file).write(buf)
}

/// Reads the pipe until `EAGAIN`, so its cached readiness is cleared and waiters wait.
fn drain(fd: &AsyncFd<OwnedFd>) {
    let mut buf = [0u8; 256];
    loop {
        match fd.try_io(Interest::READABLE, |fd| read_fd(fd, &mut buf)) {
            Ok(n) if n > 0 => continue,
            _ => return,
        }
    }
}

/// A tiny xorshift64 PRNG (no rand crate): the order in which waiters are cancelled.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

on_both_flavors! {
/// 50 tasks await `accept()` on one `Arc<TcpListener>`; 50 clients connect; every acceptor
/// gets a connection. With one waker per direction, 49 of them were never woken.
async fn fifty_acceptors_on_one_listener_are_all_served() -> io::Result<()> {
    let _watchdog = watchdog("fifty_acceptors_on_one_listener_are_all_served");
    const TASKS: usize = 50;
    let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await?);
    let addr = listener.local_addr()?;
    let served = Arc::new(AtomicUsize::new(0));
    let mut acceptors = Vec::new();
    for _ in 0..TASKS {
        let listener = listener.clone();
        let served = served.clone();
        acceptors.push(minirt::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            served.fetch_add(1, Ordering::SeqCst);
            stream.write_all(b"x").await?;
            Ok::<_, io::Error>(())
        }));
    }
    // Every acceptor is parked in accept() before the first client connects.
    settle().await;
    let mut clients = Vec::new();
    for _ in 0..TASKS {
        clients.push(TcpStream::connect(addr).await?);
        // Give the acceptors a turn between connections, so each one wait+wake cycle runs
        // with the others still parked (the case that lost wake-ups).
        settle().await;
    }
    for acceptor in acceptors {
        must_complete("every acceptor is served", acceptor).await.expect("no panic")?;
    }
    assert_eq!(served.load(Ordering::SeqCst), TASKS);
    drop(clients);
    Ok(())
}
}

on_both_flavors! {
/// 20 tasks await `readable()` on one fd; one write wakes every one of them.
async fn twenty_tasks_readable_on_one_fd_all_wake() -> io::Result<()> {
    let _watchdog = watchdog("twenty_tasks_readable_on_one_fd_all_wake");
    let (read_end, write_end) = pipe();
    let reader = Arc::new(AsyncFd::new(read_end)?);
    drain(&reader);
    let woken = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (reader, woken) = (reader.clone(), woken.clone());
        tasks.push(minirt::spawn(async move {
            let guard = reader.readable().await?;
            assert!(guard.ready().is_readable());
            woken.fetch_add(1, Ordering::SeqCst);
            Ok::<_, io::Error>(())
        }));
    }
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 0, "nothing to read yet: all wait");
    write_fd(&write_end, b"!")?;
    for task in tasks {
        must_complete("every readable() waiter wakes", task).await.expect("no panic")?;
    }
    assert_eq!(woken.load(Ordering::SeqCst), 20);
    Ok(())
}
}

on_both_flavors! {
/// Waiters on a listener and on a pipe are cancelled (aborted) in a random order, some before
/// and some after an event woke them; the survivors are all served, and the resources keep
/// working for new waiters afterwards.
async fn waiters_cancelled_in_random_order_leave_the_resource_working() -> io::Result<()> {
    let _watchdog = watchdog("waiters_cancelled_in_random_order_leave_the_resource_working");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..4 {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await?);
        let addr = listener.local_addr()?;
        let (read_end, write_end) = pipe();
        let reader = Arc::new(AsyncFd::new(read_end)?);
        drain(&reader);

        let mut acceptors = Vec::new();
        let mut readers = Vec::new();
        for _ in 0..24 {
            let listener = listener.clone();
            acceptors.push(Some(minirt::spawn(async move {
                let (stream, _) = listener.accept().await?;
                Ok::<_, io::Error>(stream)
            })));
            let reader = reader.clone();
            readers.push(Some(minirt::spawn(async move {
                reader.readable().await.map(|guard| guard.ready())
            })));
        }
        settle().await;
        let mut order: Vec<usize> = (0..24).collect();
        rng.shuffle(&mut order);
        let mut reader_order = order.clone();
        rng.shuffle(&mut reader_order);
        // Cancel two thirds, in random order, a few at a time.
        for n in 0..16 {
            acceptors[order[n]].take().expect("not cancelled yet").abort();
            readers[reader_order[n]].take().expect("not cancelled yet").abort();
            if n % 3 == round % 3 {
                settle().await;
            }
        }
        settle().await;
        // The 8 surviving acceptors are each served; every surviving reader wakes.
        let survivors: Vec<_> = acceptors.into_iter().flatten().collect();
        assert_eq!(survivors.len(), 8);
        let mut clients = Vec::new();
        for _ in 0..survivors.len() {
            clients.push(TcpStream::connect(addr).await?);
        }
        for task in survivors {
            must_complete("surviving acceptor", task).await.expect("no panic")?;
        }
        write_fd(&write_end, b"x")?;
        for task in readers.into_iter().flatten() {
            let ready = must_complete("surviving reader", task).await.expect("no panic")?;
            assert!(ready.is_readable());
        }
        // Both still work for a new waiter.
        let late = minirt::spawn({
            let listener = listener.clone();
            async move { listener.accept().await.map(drop) }
        });
        settle().await;
        let mut client = TcpStream::connect(addr).await?;
        must_complete("accept after the cancellations", late).await.expect("no panic")?;
        let mut buf = [0u8; 1];
        assert_eq!(client.read(&mut buf).await?, 0, "accepted then dropped: EOF");
        drain(&reader);
        let late_reader = minirt::spawn({
            let reader = reader.clone();
            async move { reader.readable().await.map(|guard| guard.ready()) }
        });
        settle().await;
        write_fd(&write_end, b"y")?;
        must_complete("readable after the cancellations", late_reader).await.expect("no panic")?;
    }
    Ok(())
}
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

/// A waker whose drop re-enters the reactor: it polls readiness of the fd it was stored for
/// (the registration's waiter lock), starts and cancels a waiting future on it, and drops a
/// second registered fd (the reactor's registration lock). If the reactor dropped a waker while
/// holding either lock, this deadlocks.
struct ReentrantWaker {
    fd: Arc<AsyncFd<OwnedFd>>,
    other: std::sync::Mutex<Option<AsyncFd<OwnedFd>>>,
    dropped: Arc<AtomicUsize>,
}

impl Wake for ReentrantWaker {
    fn wake(self: Arc<Self>) {}
}

impl Drop for ReentrantWaker {
    fn drop(&mut self) {
        let noop = Waker::from(Arc::new(NoopWaker));
        let mut cx = Context::from_waker(&noop);
        let _ = self.fd.poll_read_ready(&mut cx);
        let _ = pin!(self.fd.readable()).poll(&mut cx);
        drop(self.other.lock().map(|mut other| other.take()));
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker dropped by the reactor (replaced by another task's waker, or removed with its
/// cancelled future) runs its drop after the reactor released its locks.
#[test]
fn a_waker_whose_drop_reenters_the_reactor_does_not_deadlock() {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let runtime = minirt::runtime::Builder::new_current_thread().build().expect("runtime");
        let result = runtime.block_on(async {
            let (read_end, _write_end) = pipe();
            let fd = Arc::new(AsyncFd::new(read_end)?);
            drain(&fd);
            let dropped = Arc::new(AtomicUsize::new(0));
            let reentrant = || -> io::Result<Waker> {
                let (other, _) = pipe();
                Ok(Waker::from(Arc::new(ReentrantWaker {
                    fd: fd.clone(),
                    other: std::sync::Mutex::new(Some(AsyncFd::new(other)?)),
                    dropped: dropped.clone(),
                })))
            };
            let plain = Waker::from(Arc::new(NoopWaker));

            // 1. The poll API's slot: a second poller's waker replaces the stored one.
            let waker = reentrant()?;
            assert!(fd.poll_read_ready(&mut Context::from_waker(&waker)).is_pending());
            drop(waker); // the reactor holds the last reference now
            assert!(fd.poll_read_ready(&mut Context::from_waker(&plain)).is_pending());
            assert_eq!(dropped.load(Ordering::SeqCst), 1, "replaced waker dropped");

            // 2. A future's own entry: a re-poll with another waker replaces it...
            let waker = reentrant()?;
            let mut readable = Box::pin(fd.readable());
            assert!(readable.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
            drop(waker);
            assert!(readable.as_mut().poll(&mut Context::from_waker(&plain)).is_pending());
            assert_eq!(dropped.load(Ordering::SeqCst), 2, "replaced entry waker dropped");
            // ... and cancelling the future removes its entry and drops its waker.
            let waker = reentrant()?;
            assert!(readable.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
            drop(waker);
            drop(readable);
            assert_eq!(dropped.load(Ordering::SeqCst), 3, "cancelled waiter's waker dropped");
            Ok::<_, io::Error>(())
        });
        let _ = done.send(result);
    });
    match finished.recv_timeout(Duration::from_secs(20)) {
        Ok(result) => result.expect("no I/O error"),
        Err(_) => panic!("a waker dropped under a reactor lock deadlocked the runtime thread"),
    }
}

on_both_flavors! {
/// 20 tasks await `recv_from` on one `Arc<UdpSocket>`; 20 datagrams arrive; each task gets
/// one. With one waker per direction, only the last task to wait was ever woken.
async fn twenty_tasks_receiving_on_one_udp_socket_are_all_served() -> io::Result<()> {
    let _watchdog = watchdog("twenty_tasks_receiving_on_one_udp_socket_are_all_served");
    const TASKS: usize = 20;
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let addr = socket.local_addr()?;
    let mut receivers = Vec::new();
    for _ in 0..TASKS {
        let socket = socket.clone();
        receivers.push(minirt::spawn(async move {
            let mut buf = [0u8; 4];
            let (n, _) = socket.recv_from(&mut buf).await?;
            assert_eq!(n, 1);
            Ok::<_, io::Error>(buf[0])
        }));
    }
    settle().await;
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    for i in 0..TASKS {
        sender.send_to(&[i as u8], addr).await?;
        settle().await;
    }
    let mut got = Vec::new();
    for receiver in receivers {
        got.push(must_complete("every receiver is served", receiver).await.expect("no panic")?);
    }
    got.sort_unstable();
    assert_eq!(got, (0..TASKS as u8).collect::<Vec<_>>());
    Ok(())
}
}

on_both_flavors! {
/// A thousand tasks wait in `recv_from` on one UDP socket; 900 are aborted in random order
/// (some while others are being woken); the 100 left each get one of 100 datagrams, and the
/// socket serves a new receiver afterwards.
async fn a_thousand_receivers_most_cancelled_at_random() -> io::Result<()> {
    let _watchdog = watchdog("a_thousand_receivers_most_cancelled_at_random");
    const TASKS: usize = 1000;
    const KEPT: usize = 100;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let addr = socket.local_addr()?;
    let mut tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let socket = socket.clone();
            Some(minirt::spawn(async move {
                let mut buf = [0u8; 4];
                socket.recv_from(&mut buf).await.map(|(n, _)| n)
            }))
        })
        .collect();
    settle().await;
    let mut order: Vec<usize> = (0..TASKS).collect();
    rng.shuffle(&mut order);
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    for (n, &i) in order[..TASKS - KEPT].iter().enumerate() {
        tasks[i].take().expect("aborted once").abort();
        if n % 97 == 0 {
            settle().await;
        }
    }
    settle().await;
    for _ in 0..KEPT {
        sender.send_to(b"d", addr).await?;
    }
    for task in tasks.into_iter().flatten() {
        assert_eq!(must_complete("a kept receiver", task).await.expect("no panic")?, 1);
    }
    let late = minirt::spawn({
        let socket = socket.clone();
        async move { socket.recv_from(&mut [0u8; 4]).await.map(|(n, _)| n) }
    });
    settle().await;
    sender.send_to(b"e", addr).await?;
    assert_eq!(must_complete("a late receiver", late).await.expect("no panic")?, 1);
    Ok(())
}
}
