//! Cancellation and failure inside tasks: aborting a task in the middle of `read`,
//! `write_all`, `accept` or `connect`, a task that panics while it holds a socket, and wakers
//! that outlive their runtime. Afterwards the runtime and its socket registry must be
//! consistent: every fd closed and deregistered, and a new socket that gets the same fd number
//! sees no stale wake-up and works normally.
//!
//! The tests count the entries of `/proc/self/fd` and predict fd numbers, both process-wide,
//! so they run one at a time (`serial`), each on its own runtime.

mod common;

use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use common::{
    connected_pair, must_complete, open_fd_count, pattern, serial, set_sock_opt, settle,
    settle_until, watchdog,
};
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::runtime::Builder;
use minirt::task::JoinHandle;

/// The fd number the next socket will get (the lowest free one).
fn next_fd() -> RawFd {
    let probe = std::fs::File::open("/dev/null").expect("open /dev/null");
    probe.as_raw_fd()
}

/// Awaits an aborted task and checks it was cancelled.
async fn assert_cancelled<T: std::fmt::Debug>(what: &str, handle: JoinHandle<T>) {
    let err = must_complete(what, handle).await.expect_err("the task was aborted");
    assert!(err.is_cancelled(), "{what}: {err:?}");
}

/// Spawns `future` as a task that raises the returned flag when it first runs.
fn spawn_flagging_start<F>(future: F) -> (JoinHandle<F::Output>, Arc<AtomicBool>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let started = Arc::new(AtomicBool::new(false));
    let flag = started.clone();
    let task = minirt::spawn(async move {
        flag.store(true, Ordering::SeqCst);
        future.await
    });
    (task, started)
}

/// Waits until a task of `spawn_flagging_start` has run, and then for the runtime to settle.
async fn until_started(what: &str, started: &AtomicBool) {
    assert!(settle_until(50, || started.load(Ordering::SeqCst)).await, "{what}: task started");
    settle().await;
}

/// Waits until `handle`'s task has started and is blocked (ran, not finished).
async fn until_blocked<T>(what: &str, started: &AtomicBool, handle: &JoinHandle<T>) {
    until_started(what, started).await;
    assert!(!handle.is_finished(), "{what}: the task should be blocked");
}

/// A future that counts its polls.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// The fd `old_fd` was closed by a cancelled (or panicked) task. Opens a connection whose
/// client socket reuses that fd number, and checks it behaves like any new socket: a task
/// reading it is polled once and then left alone (no stale wake-up from the old socket's
/// registration, even while the old peer keeps sending or closes), and reads and writes work.
async fn new_socket_on_the_same_fd_works(
    old_fd: RawFd,
    listener: &TcpListener,
    old_peer: Option<TcpStream>,
) -> io::Result<()> {
    assert_eq!(next_fd(), old_fd, "the cancelled task's fd was closed and is free again");
    let mut client = TcpStream::connect(listener.local_addr()?).await?;
    assert_eq!(client.as_raw_fd(), old_fd, "the new socket reuses the fd number");
    let (mut server, _) = must_complete("accept", listener.accept()).await?;

    let polls = Arc::new(AtomicUsize::new(0));
    let reader = minirt::spawn(CountPolls {
        inner: Box::pin(async move {
            let mut buf = [0u8; 5];
            client.read_exact(&mut buf).await?;
            client.write_all(b"world").await?;
            Ok::<_, io::Error>((buf, client))
        }),
        polls: polls.clone(),
    });
    // Its first poll (on a multi-thread runtime, on a worker, maybe not at once): nothing to
    // read yet, so it waits.
    assert!(settle_until(100, || polls.load(Ordering::SeqCst) >= 1).await, "the reader ran");
    // The old socket's peer misbehaves: sends, then closes. None of it may reach the reader.
    if let Some(mut old_peer) = old_peer {
        let _ = old_peer.write_all(b"stale data").await;
        settle().await;
        drop(old_peer);
    }
    settle().await;
    assert!(!reader.is_finished(), "the reader waits for its own data");
    assert_eq!(polls.load(Ordering::SeqCst), 1, "the reader was woken with nothing to read");

    server.write_all(b"hello").await?;
    let (buf, _client) =
        must_complete("the new socket's reader", reader).await.expect("no panic")?;
    assert_eq!(&buf, b"hello");
    let mut reply = [0u8; 5];
    must_complete("reply", server.read_exact(&mut reply)).await?;
    assert_eq!(&reply, b"world");
    Ok(())
}

/// A listener, and a connection to it: (listener, client side, accepted side).
async fn listener_and_pair() -> io::Result<(TcpListener, TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let peer = TcpStream::connect(listener.local_addr()?).await?;
    let (stream, _) = listener.accept().await?;
    Ok((listener, peer, stream))
}

/// Aborting a task blocked in `read`: cancelled, its socket closed (the peer reads EOF) and
/// deregistered, and a new socket on the same fd works.
#[test]
fn abort_in_the_middle_of_read() {
    serial("abort_in_the_middle_of_read", || async {
        let (listener, mut peer, mut stream) = listener_and_pair().await?;
        let fd = stream.as_raw_fd();
        let (task, started) = spawn_flagging_start(async move {
            let mut buf = [0u8; 64];
            // Part of a message arrives, then the rest never does.
            stream.read_exact(&mut buf).await
        });
        peer.write_all(b"part").await?;
        until_blocked("read", &started, &task).await;
        task.abort();
        assert_cancelled("read", task).await;
        let mut buf = [0u8; 8];
        assert_eq!(must_complete("EOF", peer.read(&mut buf)).await?, 0, "the peer sees EOF");
        new_socket_on_the_same_fd_works(fd, &listener, Some(peer)).await
    });
}

/// Aborting a task blocked in `write_all` (the peer does not read): same checks.
#[test]
fn abort_in_the_middle_of_write_all() {
    serial("abort_in_the_middle_of_write_all", || async {
        let (listener, mut peer, mut stream) = listener_and_pair().await?;
        set_sock_opt(&stream, libc::SOL_SOCKET, libc::SO_SNDBUF, 16 * 1024);
        set_sock_opt(&peer, libc::SOL_SOCKET, libc::SO_RCVBUF, 16 * 1024);
        let fd = stream.as_raw_fd();
        let (task, started) =
            spawn_flagging_start(async move { stream.write_all(&pattern(3, 8 << 20)).await });
        until_blocked("write_all", &started, &task).await;
        task.abort();
        assert_cancelled("write_all", task).await;
        // The peer reads what was sent, then EOF; reading frees buffer space, which would be
        // a writability event for the old socket if it were still registered.
        let mut sink = Vec::new();
        must_complete("read to EOF", peer.read_to_end(&mut sink)).await?;
        assert!(!sink.is_empty() && sink.len() < 8 << 20, "{} bytes", sink.len());
        assert_eq!(sink, pattern(3, 8 << 20)[..sink.len()], "the bytes sent before the abort");
        new_socket_on_the_same_fd_works(fd, &listener, Some(peer)).await
    });
}

/// Aborting a task blocked in `accept`: the listener is closed (connecting to it is refused)
/// and its fd is reused by a working socket; a connection queued after the abort goes nowhere.
#[test]
fn abort_in_the_middle_of_accept() {
    serial("abort_in_the_middle_of_accept", || async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let doomed = TcpListener::bind("127.0.0.1:0").await?;
        let doomed_addr = doomed.local_addr()?;
        let fd = doomed.as_raw_fd();
        let (task, started) = spawn_flagging_start(async move { doomed.accept().await.map(drop) });
        until_blocked("accept", &started, &task).await;
        task.abort();
        assert_cancelled("accept", task).await;
        let err = must_complete("connect to the closed listener", TcpStream::connect(doomed_addr))
            .await
            .expect_err("the aborted task's listener is closed");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        new_socket_on_the_same_fd_works(fd, &listener, None).await
    });
}

/// Aborting a task blocked in `connect`. A listener with a full accept queue (backlog 0, one
/// connection queued) drops new SYNs, so a connect to it stays in progress until aborted.
#[test]
fn abort_in_the_middle_of_connect() {
    serial("abort_in_the_middle_of_connect", || async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let full = std::net::TcpListener::bind("127.0.0.1:0")?;
        // SAFETY: listen on a valid listening socket only changes its backlog.
        let ret = unsafe { libc::listen(full.as_raw_fd(), 0) };
        assert_eq!(ret, 0, "listen: {}", io::Error::last_os_error());
        let full_addr = full.local_addr()?;
        let _queued = std::net::TcpStream::connect(full_addr)?;

        let mut blocked = None;
        let mut connected = Vec::new();
        for _ in 0..8 {
            let fd = next_fd();
            let (task, started) = spawn_flagging_start(TcpStream::connect(full_addr));
            until_started("connect", &started).await;
            if task.is_finished() {
                // The kernel found room after all: keep the connection and try again.
                connected.push(task.await.expect("no panic")?);
            } else {
                blocked = Some((fd, task));
                break;
            }
        }
        let (fd, task) = blocked.expect("a connect to a full listener stays in progress");
        task.abort();
        assert_cancelled("connect", task).await;
        drop(connected);
        assert_eq!(next_fd(), fd, "the connecting socket was closed");
        new_socket_on_the_same_fd_works(fd, &listener, None).await
    });
}

/// A task that panics while it owns a socket: the panic is reported through its handle, the
/// socket is closed (the peer reads EOF) and deregistered (its fd is reused by a working
/// socket), and the runtime goes on.
#[test]
fn a_task_that_panics_while_holding_a_socket_closes_it() {
    serial("a_task_that_panics_while_holding_a_socket_closes_it", || async {
        let (listener, mut peer, mut stream) = listener_and_pair().await?;
        let fd = stream.as_raw_fd();
        let fds_with_it = open_fd_count();
        let task = minirt::spawn(async move {
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await.expect("read");
            panic!("bad request: {:?}", buf);
        });
        peer.write_all(b"boom").await?;
        let err = must_complete("the panicking task", task).await.expect_err("it panicked");
        assert!(err.is_panic(), "{err:?}");
        assert!(err.to_string().contains("bad request"), "{err}");
        let mut buf = [0u8; 8];
        assert_eq!(must_complete("EOF", peer.read(&mut buf)).await?, 0, "the peer sees EOF");
        assert_eq!(open_fd_count(), fds_with_it - 1, "the panicked task's socket was closed");
        new_socket_on_the_same_fd_works(fd, &listener, Some(peer)).await
    });
}

/// A future that hands its waker to `wakers` on its first poll and then waits forever.
fn park_and_send_waker(wakers: mpsc::Sender<Waker>) -> impl Future<Output = ()> {
    let mut sent = false;
    poll_fn(move |cx| {
        if !sent {
            sent = true;
            wakers.send(cx.waker().clone()).expect("the waker thread is alive");
        }
        Poll::Pending
    })
}

/// Wakers of tasks (blocked on nothing, or on a socket) and of the `block_on` future, kept by
/// another thread and woken after the runtime was dropped, and while it is being dropped:
/// nothing happens, nothing crashes, and once the last waker is gone every fd of the runtime
/// is closed.
#[test]
fn wakers_that_outlive_their_runtime_do_nothing() {
    let _serial = common::serial_lock();
    let _watchdog = watchdog("wakers_that_outlive_their_runtime_do_nothing");
    let before = open_fd_count();

    for (round, multi_thread) in [(0, false), (1, false), (0, true), (1, true)] {
        let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
        let rt = if multi_thread {
            Builder::new_multi_thread().worker_threads(2).build().expect("runtime")
        } else {
            Builder::new_current_thread().build().expect("runtime")
        };
        let (handles, peer) = rt.block_on(async {
            let mut handles = Vec::new();
            for _ in 0..4 {
                handles.push(minirt::spawn(park_and_send_waker(waker_tx.clone())));
            }
            // A task blocked on a socket read: its waker sits in the reactor too.
            let (client, mut server) = connected_pair().await.expect("pair");
            let tx = waker_tx.clone();
            handles.push(minirt::spawn(async move {
                poll_fn(|cx| {
                    let _ = tx.send(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
                let mut buf = [0u8; 1];
                let _ = server.read(&mut buf).await;
            }));
            // The block_on future's own waker.
            poll_fn(|cx| {
                waker_tx.send(cx.waker().clone()).expect("send");
                Poll::Ready(())
            })
            .await;
            settle().await;
            (handles, client)
        });
        // On the multi-thread runtime the tasks run on the workers, maybe still now.
        let wakers: Vec<Waker> = (0..6)
            .map(|_| waker_rx.recv_timeout(Duration::from_secs(10)))
            .collect::<Result<_, _>>()
            .expect("every future hands over its waker");

        let stop = Arc::new(AtomicBool::new(false));
        let woken = Arc::new(AtomicUsize::new(0));
        let waker_thread = {
            let (stop, woken) = (stop.clone(), woken.clone());
            thread::spawn(move || {
                // Round 0 wakes while the runtime is being dropped, round 1 only after.
                while round == 0 && !stop.load(Ordering::SeqCst) {
                    wakers.iter().for_each(Waker::wake_by_ref);
                    woken.fetch_add(1, Ordering::SeqCst);
                    thread::yield_now();
                }
                (wakers, woken)
            })
        };
        while round == 0 && woken.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        drop(rt);
        drop(peer);
        stop.store(true, Ordering::SeqCst);
        let (wakers, _) = waker_thread.join().expect("the waker thread did not panic");
        // After the drop, from another thread: by reference, then by value.
        let late = thread::spawn(move || {
            for waker in &wakers {
                waker.wake_by_ref();
            }
            wakers.into_iter().for_each(Waker::wake);
        });
        late.join().expect("waking after the runtime is gone does not panic");

        // The handles of the dropped tasks report cancellation (polled on a fresh runtime).
        let rt2 = Builder::new_current_thread().build().expect("runtime");
        rt2.block_on(async {
            for handle in handles {
                let err = must_complete("handle", handle).await.expect_err("dropped");
                assert!(err.is_cancelled(), "round {round} ({multi_thread}): {err:?}");
            }
        });
        drop(rt2);
        assert_eq!(open_fd_count(), before, "round {round} ({multi_thread}): fds leaked");
    }
}
