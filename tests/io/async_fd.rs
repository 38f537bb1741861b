//! `AsyncFd` over a non-blocking pipe: readiness after a write from another thread,
//! `clear_ready` after `EAGAIN`, EOF when the write end closes, and back-pressure on the write
//! end until a reader drains the pipe.

use crate::common;

use std::fs::File;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use common::{assert_bytes_eq, must_complete, pattern, settle, watchdog};
use futures_util::future::FutureExt;
use minirt::io::{AsyncFd, Interest, Ready};

/// A pipe, both ends non-blocking and close-on-exec: `(read end, write end)`.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    let ret = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(ret, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Switches `fd` back to blocking mode (for the std thread on the other end of a pipe).
fn set_blocking(fd: &OwnedFd) {
    // SAFETY: F_GETFL/F_SETFL on an fd we own, with flags read from it.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        assert!(flags >= 0, "F_GETFL: {}", io::Error::last_os_error());
        let ret = libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        assert_eq!(ret, 0, "F_SETFL: {}", io::Error::last_os_error());
    }
}

/// `read(2)` on a borrowed fd.
fn read_fd(fd: &impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    let file = File::from(fd.as_fd().try_clone_to_owned()?);
    (&file).read(buf)
}

/// `write(2)` on a borrowed fd.
fn write_fd(fd: &impl AsFd, buf: &[u8]) -> io::Result<usize> {
    let file = File::from(fd.as_fd().try_clone_to_owned()?);
    (&file).write(buf)
}

/// Read readiness comes from a write made by another thread after the reader started
/// waiting; `EAGAIN` through `guard.try_io` clears the readiness (so `try_io` then says
/// `WouldBlock` without a syscall), and closing the write end gives readiness with
/// `read_closed` and then EOF.
#[minirt::test]
async fn pipe_read_readiness_clear_ready_and_eof() -> io::Result<()> {
    let _watchdog = watchdog("pipe_read_readiness_clear_ready_and_eof");
    let (read_end, write_end) = pipe();
    let reader = AsyncFd::new(read_end)?;
    let mut buf = [0u8; 64];

    // A fresh registration knows nothing until the reactor's first event: with nothing
    // written, `readable()` waits.
    assert!(reader.readable().now_or_never().is_none(), "fresh and empty: readable() waits");
    // Assumed readiness is tried like any other, and the read says EAGAIN. A guard dropped
    // without `clear_ready` keeps that (stale) readiness: the documented contract.
    reader.assume_ready(Ready::READABLE);
    let guard = must_complete("assumed readable", reader.readable()).await?;
    let err = read_fd(guard.get_inner(), &mut buf).expect_err("nothing written yet");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    let mut guard = reader.readable().now_or_never().expect("stale readiness kept")?;
    // `guard.try_io` turns EAGAIN into a cleared readiness and `Err(TryIoError)`.
    assert!(guard.try_io(|fd| read_fd(fd.get_ref(), &mut buf)).is_err(), "nothing written yet");
    let err = reader.try_io(Interest::READABLE, |fd| read_fd(fd, &mut buf)).expect_err("cleared");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert!(reader.readable().now_or_never().is_none(), "cleared readiness: readable() waits");

    // Another thread writes once we are waiting.
    let (go, wait_for_go) = mpsc::channel::<()>();
    let writer = thread::spawn(move || {
        wait_for_go.recv_timeout(Duration::from_secs(10)).expect("go");
        thread::sleep(Duration::from_millis(20));
        write_fd(&write_end, b"ping").expect("write");
        // The write end stays open until told to close it.
        wait_for_go.recv_timeout(Duration::from_secs(10)).expect("close");
        drop(write_end);
    });
    go.send(()).expect("writer alive");
    let n = must_complete("read after the other thread's write", async {
        loop {
            let mut guard = reader.readable().await?;
            assert!(guard.ready().is_readable(), "{:?}", guard.ready());
            match guard.try_io(|fd| read_fd(fd.get_ref(), &mut buf)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    })
    .await?;
    assert_eq!(&buf[..n], b"ping");

    // Drained: EAGAIN again; this time clear the readiness by hand with `clear_ready`.
    let mut guard = must_complete("readable", reader.readable()).await?;
    let err = read_fd(guard.get_inner(), &mut buf).expect_err("drained");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    guard.clear_ready();
    assert!(reader.readable().now_or_never().is_none(), "clear_ready: readable() waits");

    // Closing the write end is readiness too, with `read_closed`, then EOF for good.
    go.send(()).expect("writer alive");
    let guard = must_complete("readable at EOF", reader.readable()).await?;
    assert!(guard.ready().is_read_closed(), "the write end closed: {:?}", guard.ready());
    for _ in 0..3 {
        let n = must_complete(
            "read at EOF",
            reader.async_io(Interest::READABLE, |fd| read_fd(fd, &mut buf)),
        )
        .await?;
        assert_eq!(n, 0, "EOF");
    }
    writer.join().expect("writer thread");
    Ok(())
}

/// The write end fills until `WouldBlock`; `writable()` then waits until a reader on another
/// thread drains the pipe; every byte arrives, in order.
#[minirt::test]
async fn pipe_write_side_back_pressure() -> io::Result<()> {
    let _watchdog = watchdog("pipe_write_side_back_pressure");
    let (read_end, write_end) = pipe();
    let writer = AsyncFd::new(write_end)?;

    // Fill the pipe until the kernel says EAGAIN.
    const CHUNK: usize = 4096;
    let data = pattern(99, 4 << 20);
    let mut written = 0;
    loop {
        let mut guard = must_complete("writable", writer.writable()).await?;
        assert!(guard.ready().is_writable(), "{:?}", guard.ready());
        match guard.try_io(|fd| write_fd(fd.get_ref(), &data[written..written + CHUNK])) {
            Ok(n) => written += n?,
            Err(_would_block) => break,
        }
        assert!(written < data.len(), "the pipe never filled up");
    }
    assert!(written > 0, "the empty pipe took nothing");
    let err = writer.try_io(Interest::WRITABLE, |fd| write_fd(fd, b"x")).expect_err("still full");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert!(writer.writable().now_or_never().is_none(), "a full pipe is not writable");

    // A std thread (blocking) reads everything once told to, checking the bytes.
    set_blocking(&read_end);
    let (go, wait_for_go) = mpsc::channel::<()>();
    let expected = data.clone();
    let reader = thread::spawn(move || {
        wait_for_go.recv_timeout(Duration::from_secs(10)).expect("go");
        let mut got = Vec::new();
        File::from(read_end).read_to_end(&mut got).expect("read_to_end");
        assert_bytes_eq(&got, &expected, "bytes through the pipe");
        got.len()
    });
    go.send(()).expect("reader alive");

    // The rest goes through async_io and poll_io in turns, each waiting for the reader to drain.
    let mut chunks = 0;
    while written < data.len() {
        let end = (written + 64 * 1024).min(data.len());
        let chunk = &data[written..end];
        written += if chunks % 2 == 0 {
            must_complete("async_io", writer.async_io(Interest::WRITABLE, |fd| write_fd(fd, chunk)))
                .await?
        } else {
            must_complete(
                "poll_io",
                poll_fn(|cx| {
                    writer.poll_io(cx, Interest::WRITABLE, || write_fd(writer.get_ref(), chunk))
                }),
            )
            .await?
        };
        chunks += 1;
    }
    let write_end = writer.into_inner();
    // into_inner deregisters but keeps the fd open: a blocking-free write still works on it.
    assert!(write_fd(&write_end, &[]).is_ok());
    drop(write_end);
    let total = reader.join().expect("reader thread");
    assert_eq!(total, data.len());
    Ok(())
}

/// epoll refuses regular files: `AsyncFd::new` reports it as an error (EPERM), no panic.
#[minirt::test]
async fn async_fd_refuses_a_regular_file() {
    let _watchdog = watchdog("async_fd_refuses_a_regular_file");
    let file = File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).expect("open");
    let err = AsyncFd::new(file).expect_err("epoll cannot watch a regular file");
    // The OS error as it is (as in tokio), so code can match the errno.
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
}

/// An fd taken out with `into_inner` can be registered again (with the same or another
/// runtime) and works.
#[minirt::test]
async fn into_inner_then_register_again() -> io::Result<()> {
    let _watchdog = watchdog("into_inner_then_register_again");
    let (read_end, write_end) = pipe();
    let first = AsyncFd::new(read_end)?;
    let read_end = first.into_inner();
    let again = AsyncFd::with_interest(read_end, Interest::READABLE)?;
    write_fd(&write_end, b"again")?;
    let mut buf = [0u8; 8];
    let n = must_complete("read", again.async_io(Interest::READABLE, |fd| read_fd(fd, &mut buf)))
        .await?;
    assert_eq!(&buf[..n], b"again");
    assert_eq!(again.as_raw_fd(), again.get_ref().as_raw_fd());
    Ok(())
}

// ---- Cases ported from tokio's tests/io_async_fd.rs (tokio renamed to minirt). ----

/// A non-blocking Unix stream socket pair (tokio's `socketpair` helper).
fn socketpair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).expect("nonblocking");
    b.set_nonblocking(true).expect("nonblocking");
    (a, b)
}

/// Reads `amount` bytes from a non-blocking socket, spinning on `WouldBlock`.
fn drain_exact(mut fd: &UnixStream, mut amount: usize) {
    let mut buf = [0u8; 512];
    while amount > 0 {
        match fd.read(&mut buf[..]) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::yield_now(),
            Ok(0) => panic!("unexpected EOF"),
            Err(e) => panic!("unexpected error: {e:?}"),
            Ok(n) => amount -= n.min(amount),
        }
    }
}

/// `fut` is still pending after a short while (tokio's `select!` against a 10 ms sleep).
async fn stays_pending<F: Future>(fut: F) -> std::pin::Pin<Box<F>> {
    let mut fut = Box::pin(fut);
    let pending = common::timeout(Duration::from_millis(10), fut.as_mut()).await.is_err();
    assert!(pending, "expected the future to stay pending");
    fut
}

/// Runs `fut` to completion on this thread without any runtime (tokio's tests use
/// `futures::executor::block_on`), parking until woken; bounded by `HANG_LIMIT`.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let deadline = std::time::Instant::now() + common::HANG_LIMIT;
    loop {
        if let Poll::Ready(output) = fut.as_mut().poll(&mut cx) {
            return output;
        }
        let left = deadline.checked_duration_since(std::time::Instant::now());
        thread::park_timeout(left.expect("block_on: hang"));
    }
}

fn noop_context() -> Context<'static> {
    // A static waker that owns no allocation (a `OnceLock<Waker>` over an `Arc` showed up in
    // valgrind as a leak).
    Context::from_waker(futures_util::task::noop_waker_ref())
}

#[minirt::test]
async fn initially_writable() -> io::Result<()> {
    let (a, b) = socketpair();
    let afd_a = AsyncFd::new(a)?;
    let afd_b = AsyncFd::new(b)?;
    afd_a.writable().await?.clear_ready();
    afd_b.writable().await?.clear_ready();
    drop(stays_pending(afd_a.readable()).await);
    drop(stays_pending(afd_b.readable()).await);
    Ok(())
}

#[minirt::test]
async fn reset_readable() -> io::Result<()> {
    let _watchdog = watchdog("reset_readable");
    let (a, mut b) = socketpair();
    let afd_a = AsyncFd::new(a)?;
    let readable = stays_pending(afd_a.readable()).await;
    b.write_all(b"0")?;
    let mut guard = must_complete("readable", readable).await?;
    guard.try_io(|_| afd_a.get_ref().read(&mut [0])).expect("no WouldBlock")?;
    // `a` is not readable, but the reactor still thinks it is (no EAGAIN seen yet).
    afd_a.readable().await?.retain_ready();
    // Explicitly clear the ready state.
    guard.clear_ready();
    let readable = stays_pending(afd_a.readable()).await;
    b.write_all(b"0")?;
    // We can observe the new readable event.
    must_complete("new readable event", readable).await?.clear_ready();
    Ok(())
}

#[minirt::test]
async fn reset_writable() -> io::Result<()> {
    let _watchdog = watchdog("reset_writable");
    let (a, b) = socketpair();
    let afd_a = AsyncFd::new(a)?;
    let mut guard = afd_a.writable().await?;
    // Write until WouldBlock; this also clears the ready state.
    let mut bytes = 0;
    while let Ok(Ok(n)) = guard.try_io(|_| afd_a.get_ref().write(&[0; 512][..])) {
        bytes += n;
    }
    let writable = stays_pending(afd_a.writable()).await;
    // Read from the other side; we become writable.
    drain_exact(&b, bytes);
    must_complete("writable after drain", writable).await?;
    Ok(())
}

#[derive(Debug)]
struct ArcFd<T>(Arc<T>);

impl<T: AsRawFd> AsRawFd for ArcFd<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

#[minirt::test]
async fn drop_closes() -> io::Result<()> {
    let (a, mut b) = socketpair();
    let afd_a = AsyncFd::new(a)?;
    assert_eq!(b.read(&mut [0]).expect_err("empty").kind(), io::ErrorKind::WouldBlock);
    drop(afd_a);
    assert_eq!(b.read(&mut [0])?, 0, "dropping the AsyncFd closed the fd: EOF");

    // into_inner does not close the fd.
    let (a, mut b) = socketpair();
    let afd_a = AsyncFd::new(a)?;
    let _a: UnixStream = afd_a.into_inner();
    assert_eq!(b.read(&mut [0]).expect_err("open").kind(), io::ErrorKind::WouldBlock);

    // Closing is the inner object's business.
    let (a, mut b) = socketpair();
    let arc_fd = Arc::new(a);
    let afd_a = AsyncFd::new(ArcFd(arc_fd.clone()))?;
    drop(afd_a);
    assert_eq!(b.read(&mut [0]).expect_err("open").kind(), io::ErrorKind::WouldBlock);
    drop(arc_fd);
    Ok(())
}

#[minirt::test]
async fn guard_try_io() -> io::Result<()> {
    let _watchdog = watchdog("guard_try_io");
    let (a, mut b) = socketpair();
    b.write_all(b"0")?;
    let afd_a = AsyncFd::new(a)?;
    let mut guard = afd_a.readable().await?;
    afd_a.get_ref().read_exact(&mut [0])?;
    // Does not clear the readable state...
    let _ = guard.try_io(|_| Ok(()));
    // ...still readable.
    let _ = afd_a.readable().await?;
    // Clears the readable state.
    let _ = guard.try_io(|_| io::Result::<()>::Err(io::ErrorKind::WouldBlock.into()));
    let readable = stays_pending(afd_a.readable()).await;
    b.write_all(b"0")?;
    must_complete("re-awoken", readable).await?;
    Ok(())
}

#[minirt::test]
async fn try_io_readable() -> io::Result<()> {
    let (a, mut b) = socketpair();
    let mut afd_a = AsyncFd::new(a)?;
    {
        let mut called = false;
        let _ = afd_a.try_io_mut(Interest::READABLE, |_| {
            called = true;
            Ok(())
        });
        assert!(!called, "not readable: the closure is not called");
    }
    // Make `a` readable and let the runtime see the event.
    b.write_all(&[0])?;
    settle().await;
    {
        let mut called = false;
        let _ = afd_a.try_io(Interest::READABLE, |_| {
            called = true;
            Ok(())
        });
        assert!(called, "readable: the closure is called");
    }
    {
        let mut called = false;
        let _ = afd_a.try_io(Interest::READABLE, |_| {
            called = true;
            io::Result::<()>::Err(io::ErrorKind::WouldBlock.into())
        });
        assert!(called, "still readable: the closure is called");
    }
    {
        let mut called = false;
        let _ = afd_a.try_io(Interest::READABLE, |_| {
            called = true;
            Ok(())
        });
        assert!(!called, "WouldBlock cleared the readable state");
    }
    Ok(())
}

#[minirt::test]
async fn try_io_writable() -> io::Result<()> {
    let (a, _b) = socketpair();
    let afd_a = AsyncFd::new(a)?;
    settle().await;
    let mut called = false;
    let _ = afd_a.try_io(Interest::WRITABLE, |_| {
        called = true;
        Ok(())
    });
    assert!(called, "writable: the closure is called");
    let mut called = false;
    let _ = afd_a.try_io(Interest::WRITABLE, |_| {
        called = true;
        io::Result::<()>::Err(io::ErrorKind::WouldBlock.into())
    });
    assert!(called, "still marked writable");
    let mut called = false;
    let _ = afd_a.try_io(Interest::WRITABLE, |_| {
        called = true;
        Ok(())
    });
    assert!(!called, "WouldBlock cleared the writable state");
    Ok(())
}

#[minirt::test]
async fn multiple_waiters() -> io::Result<()> {
    let _watchdog = watchdog("multiple_waiters");
    let (a, mut b) = socketpair();
    let afd_a = Arc::new(AsyncFd::new(a)?);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let afd_a = afd_a.clone();
        tasks.push(minirt::spawn(async move {
            let guard = afd_a.readable().await;
            minirt::task::yield_now().await;
            guard.map(|mut guard| guard.clear_ready())
        }));
    }
    settle().await;
    assert!(tasks.iter().all(|task| !task.is_finished()), "all ten wait");
    b.write_all(b"0")?;
    for task in tasks {
        must_complete("every waiter wakes", task).await.expect("no panic")?;
    }
    Ok(())
}

/// The poll API keeps one waker per direction: the last poller is woken, the earlier one is
/// not, and waking the read side leaves the write side's waker registered.
#[minirt::test]
async fn poll_fns() -> io::Result<()> {
    let _watchdog = watchdog("poll_fns");
    let (a, b) = socketpair();
    let afd_a = Arc::new(AsyncFd::new(a)?);
    let afd_b = Arc::new(AsyncFd::new(b)?);
    // Fill up the write side of A.
    let mut bytes = 0;
    let mut guard = afd_a.writable().await?;
    while let Ok(Ok(n)) = guard.try_io(|fd| fd.get_ref().write(&[0; 512])) {
        bytes += n;
    }

    let early = Arc::new(AtomicUsize::new(0));
    let early_waker = Waker::from(Arc::new(CountWake(early.clone())));
    assert!(afd_a.poll_read_ready(&mut Context::from_waker(&early_waker)).is_pending());

    let afd = afd_a.clone();
    let read_fut = minirt::spawn(async move {
        poll_fn(|cx| afd.poll_read_ready(cx)).await.map(|guard| guard.ready())
    });
    let afd = afd_a.clone();
    let write_fut = minirt::spawn(async move {
        poll_fn(|cx| afd.poll_write_ready(cx)).await.map(|guard| guard.ready())
    });
    settle().await;
    let readable = stays_pending(afd_a.readable()).await;

    // Make A readable: `readable` and `read_fut` both complete.
    afd_b.get_ref().write_all(b"0")?;
    must_complete("readable", readable).await?;
    must_complete("read_fut", read_fut).await.expect("no panic")?;
    assert_eq!(early.load(Ordering::SeqCst), 0, "poll_read_ready keeps only the last waker");
    settle().await;
    assert!(!write_fut.is_finished(), "the write side is not woken");

    // Make it writable: the write side's waker was still registered.
    drain_exact(afd_b.get_ref(), bytes);
    let ready = must_complete("write_fut", write_fut).await.expect("no panic")?;
    assert!(ready.is_writable());
    Ok(())
}

struct CountWake(Arc<AtomicUsize>);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Unix sockets readable-cleared and write-filled, for the shutdown cases.
fn not_ready_pair(rt: &minirt::runtime::Runtime) -> (AsyncFd<UnixStream>, UnixStream) {
    let (a, b) = socketpair();
    let afd_a = rt.block_on(async { AsyncFd::new(a) }).expect("register");
    let _ = afd_a.try_io(Interest::READABLE, |fd| (&*fd).read(&mut [0]));
    let _ = afd_a.try_io(Interest::WRITABLE, |fd| -> io::Result<()> {
        loop {
            let _ = (&*fd).write(&[0; 512])?;
        }
    });
    (afd_a, b)
}

fn runtime() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_current_thread().build().expect("runtime")
}

#[test]
fn driver_shutdown_wakes_currently_pending() {
    let rt = runtime();
    let (afd_a, _b) = not_ready_pair(&rt);
    let mut readable = Box::pin(afd_a.readable());
    assert!(readable.as_mut().poll(&mut noop_context()).is_pending());
    drop(rt);
    // The future was created before the runtime dropped...
    assert!(block_on(readable).is_err());
    // ... and after.
    assert!(block_on(afd_a.readable()).is_err());
}

#[test]
fn driver_shutdown_wakes_currently_pending_polls() {
    let rt = runtime();
    let (afd_a, _b) = not_ready_pair(&rt);
    assert!(afd_a.poll_read_ready(&mut noop_context()).is_pending());
    assert!(afd_a.poll_write_ready(&mut noop_context()).is_pending());
    drop(rt);
    assert!(block_on(poll_fn(|cx| afd_a.poll_read_ready(cx))).is_err());
    assert!(block_on(poll_fn(|cx| afd_a.poll_write_ready(cx))).is_err());
}

#[test]
fn driver_shutdown_then_clear_readiness() {
    let rt = runtime();
    let (a, _b) = socketpair();
    let afd_a = rt.block_on(async { AsyncFd::new(a) }).expect("register");
    let mut write_ready = rt.block_on(afd_a.writable()).expect("writable");
    drop(rt);
    write_ready.clear_ready();
}

#[test]
fn driver_shutdown_wakes_pending_race() {
    let rt = runtime();
    let (afd_a, _b) = not_ready_pair(&rt);
    let shutdown = thread::spawn(move || drop(rt));
    // May or may not be an error, but is woken.
    let _ = block_on(afd_a.readable());
    shutdown.join().expect("shutdown thread");
    // Retrying is always an error.
    assert!(block_on(afd_a.readable()).is_err());
}

#[minirt::test]
async fn priority_event_on_oob_data() -> io::Result<()> {
    let _watchdog = watchdog("priority_event_on_oob_data");
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    client.set_nonblocking(true)?;
    let client = AsyncFd::with_interest(client, Interest::PRIORITY)?;
    let (stream, _) = listener.accept()?;
    // Out-of-band data raises EPOLLPRI.
    // SAFETY: sends from a live buffer of the given length on a socket we own.
    let sent =
        unsafe { libc::send(stream.as_raw_fd(), b"hello".as_ptr().cast(), 5, libc::MSG_OOB) };
    assert_eq!(sent, 5, "send(MSG_OOB): {}", io::Error::last_os_error());
    let guard = must_complete("priority", client.ready(Interest::PRIORITY)).await?;
    assert!(guard.ready().is_priority(), "{:?}", guard.ready());
    Ok(())
}

#[minirt::test]
async fn clear_ready_matching_clears_ready() -> io::Result<()> {
    let (a, mut b) = socketpair();
    let afd_a = AsyncFd::new(a)?;
    b.write_all(b"0")?;
    let mut guard = afd_a.ready(Interest::READABLE | Interest::WRITABLE).await?;
    assert_eq!(guard.ready(), Ready::READABLE | Ready::WRITABLE);
    guard.clear_ready_matching(Ready::READABLE);
    assert_eq!(guard.ready(), Ready::WRITABLE);
    guard.clear_ready_matching(Ready::WRITABLE);
    assert_eq!(guard.ready(), Ready::EMPTY);
    Ok(())
}

#[minirt::test]
async fn clear_ready_matching_clears_ready_mut() -> io::Result<()> {
    let (a, mut b) = socketpair();
    let mut afd_a = AsyncFd::new(a)?;
    b.write_all(b"0")?;
    let mut guard = afd_a.ready_mut(Interest::READABLE | Interest::WRITABLE).await?;
    assert_eq!(guard.ready(), Ready::READABLE | Ready::WRITABLE);
    guard.clear_ready_matching(Ready::READABLE);
    assert_eq!(guard.ready(), Ready::WRITABLE);
    guard.clear_ready_matching(Ready::WRITABLE);
    assert_eq!(guard.ready(), Ready::EMPTY);
    // The write bit really was cleared in the fd's readiness (the guard's borrow ended).
    assert!(afd_a.try_io(Interest::WRITABLE, |_| Ok(())).is_err());
    Ok(())
}

/// A send timestamp lands in the socket's error queue: `EPOLLERR`, seen as `Ready::ERROR` by a
/// wait for `Interest::ERROR`, which waits until then.
#[minirt::test]
async fn await_error_readiness_timestamping() -> io::Result<()> {
    let _watchdog = watchdog("await_error_readiness_timestamping");
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    socket.set_nonblocking(true)?;
    let options = libc::SOF_TIMESTAMPING_SOFTWARE | libc::SOF_TIMESTAMPING_TX_SOFTWARE;
    // SAFETY: passes a live c_int-sized option value and its size.
    let ret = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPING,
            (&options as *const u32).cast(),
            std::mem::size_of_val(&options) as libc::socklen_t,
        )
    };
    assert_eq!(ret, 0, "SO_TIMESTAMPING: {}", io::Error::last_os_error());
    socket.connect(socket.local_addr()?)?;
    let fd = AsyncFd::new(socket)?;
    drop(stays_pending(fd.ready(Interest::ERROR)).await);
    fd.get_ref().send(b"hello there")?;
    let guard = must_complete("error readiness", fd.ready(Interest::ERROR)).await?;
    assert_eq!(guard.ready(), Ready::ERROR);
    Ok(())
}

/// With `IP_RECVERR`, an ICMP port unreachable for an unconnected send is queued as an error:
/// `Interest::ERROR` sees it.
#[minirt::test]
async fn await_error_readiness_invalid_address() -> io::Result<()> {
    let _watchdog = watchdog("await_error_readiness_invalid_address");
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    socket.set_nonblocking(true)?;
    common::set_sock_opt(&socket, libc::SOL_IP, libc::IP_RECVERR, 1);
    let fd = AsyncFd::new(socket)?;
    // A port below 1024 nobody listens on (ephemeral ports are above it).
    fd.get_ref().send_to(b"Hello, Socket!", "127.0.0.1:512")?;
    let guard = must_complete("error readiness", fd.ready(Interest::ERROR)).await?;
    assert_eq!(guard.ready(), Ready::ERROR);
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
struct InvalidSource;

impl AsRawFd for InvalidSource {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        -1
    }
}

#[minirt::test]
async fn try_new() {
    let original = Arc::new(InvalidSource);
    let error = AsyncFd::try_new(original.clone()).expect_err("fd -1");
    let (returned, cause) = error.into_parts();
    assert!(Arc::ptr_eq(&original, &returned));
    assert_eq!(cause.raw_os_error(), Some(libc::EBADF), "{cause}");
}

#[minirt::test]
async fn try_with_interest() {
    let original = Arc::new(InvalidSource);
    let error = AsyncFd::try_with_interest(original.clone(), Interest::READABLE).expect_err("-1");
    let cause = io::Error::from(error);
    assert!(cause.to_string().contains("Bad file descriptor"), "{cause}");
    let error = AsyncFd::try_with_interest(original.clone(), Interest::READABLE).expect_err("-1");
    let (returned, _cause) = error.into_parts();
    assert!(Arc::ptr_eq(&original, &returned));
}

#[minirt::test]
async fn drop_after_closing_raw_fd_with_live_duplicate() -> io::Result<()> {
    let (original, mut peer) = socketpair();
    let duplicate = original.try_clone()?;
    let registered = AsyncFd::with_interest(original.as_raw_fd(), Interest::READABLE)?;
    // Closing the original while `duplicate` stays open keeps the open file description in
    // epoll, while EPOLL_CTL_DEL fails with EBADF when `registered` drops.
    drop(original);
    drop(registered);
    settle().await;
    peer.write_all(b"x")?;
    settle().await;
    drop(duplicate);
    Ok(())
}

/// `with_interest` is honoured: an fd registered for `READABLE` only is never reported
/// writable, and one registered for
/// `WRITABLE` only is not woken by incoming data.
#[minirt::test]
async fn with_interest_registers_only_that_interest() -> io::Result<()> {
    let _watchdog = watchdog("with_interest_registers_only_that_interest");
    let (a, mut b) = socketpair();
    let afd_a = AsyncFd::with_interest(a, Interest::WRITABLE)?;
    b.write_all(b"data")?;
    drop(stays_pending(afd_a.readable()).await);
    let (c, mut d) = socketpair();
    let afd_c = AsyncFd::with_interest(c, Interest::READABLE)?;
    d.write_all(b"x")?;
    let guard = must_complete("readable", afd_c.readable()).await?;
    assert!(guard.ready().is_readable());
    Ok(())
}

#[test]
fn interest_add_remove_and_ready_bits() {
    let rw = Interest::READABLE.add(Interest::WRITABLE);
    assert!(rw.is_readable() && rw.is_writable() && !rw.is_priority() && !rw.is_error());
    assert_eq!(rw.remove(Interest::WRITABLE), Some(Interest::READABLE));
    assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
    let all = rw | Interest::PRIORITY | Interest::ERROR;
    assert!(all.is_priority() && all.is_error());
    assert_eq!(format!("{all:?}"), "READABLE | WRITABLE | PRIORITY | ERROR");
    let ready = Ready::READ_CLOSED | Ready::WRITE_CLOSED | Ready::ERROR | Ready::PRIORITY;
    assert!(ready.is_read_closed() && ready.is_write_closed());
    assert!(ready.is_error() && ready.is_priority() && !ready.is_readable());
    assert!(Ready::EMPTY.is_empty());
}
