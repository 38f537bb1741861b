//! `AsyncFd` over a non-blocking pipe: readiness after a write from another thread,
//! `clear_ready` after `EAGAIN`, EOF when the write end closes, and back-pressure on the write
//! end until a reader drains the pipe.

mod common;

use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{assert_bytes_eq, must_complete, pattern, watchdog};
use futures_util::future::FutureExt;
use minirt::io::{AsyncFd, Interest};

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

    // A fresh registration is optimistically readable, but the read says EAGAIN. A guard
    // dropped without `clear_ready` keeps that (stale) readiness: the documented contract.
    let guard = must_complete("initial readable", reader.readable()).await?;
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
    // The error carries context ("epoll_ctl(EPOLL_CTL_ADD): ...") and keeps EPERM's kind.
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
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
