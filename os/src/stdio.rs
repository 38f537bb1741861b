//! The standard streams as async I/O: tokio's `io::stdin`, `io::stdout`, `io::stderr`.
//!
//! ```text
//!  stdin(), first read ── fstat(0) ──► a pipe (FIFO): reopen it as /proc/self/fd/0 with
//!                                      O_NONBLOCK, register that with epoll (AsyncFd): reads
//!                                      are read(2) on readiness, no thread involved
//!                                 ──► a socket: a dup of fd 0 in epoll, read with
//!                                      recv(MSG_DONTWAIT)
//!                                 ──► anything else (a terminal, a file, /dev/null) or a
//!                                      refusal: a read on the blocking pool per chunk
//!  stdout()/stderr() ── a write copies into a buffer and returns; a pool thread writes it to
//!                       std's handle (shared with println!), flush waits for that
//! ```
//!
//! Why not just set `O_NONBLOCK` on fd 0? The flag lives on the *open file description*, which
//! fd 0 shares with the parent shell and its other children: a non-blocking stdin breaks them
//! (`cat` gets `EAGAIN`). So the flag is never set on an inherited fd. A pipe can be reopened
//! through `/proc/self/fd/0`, which makes a new description of the same pipe, ours alone to
//! make non-blocking; a socket needs no flag (`MSG_DONTWAIT` is per call). A terminal could be
//! reopened too, but job control (`SIGTTIN`, `EIO` for a background read) makes that a
//! different contract; it, regular files (which epoll refuses) and `/dev/null` use the pool,
//! as tokio does for every stdin. A read on the pool cannot be cancelled: a runtime dropped
//! while a terminal read is pending waits for a line (use `shutdown_background`), which is why
//! the epoll path is preferred whenever it applies.
//!
//! Output uses the pool always: a pipe reader may stall, and a write to a terminal or file
//! blocks; std's locked handle keeps our bytes and `println!`'s from interleaving mid-write.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use minirt_runtime::io::{AsyncFd, Interest};
use minirt_runtime::task::{spawn_blocking, JoinHandle};

use crate::sys;

/// The most bytes one pool round trip reads or writes (tokio's limit too).
const MAX_BUF: usize = 2 * 1024 * 1024;

/// The process's standard input, as tokio's `io::Stdin`: made by [`stdin`].
///
/// Reads come straight from epoll when fd 0 is a pipe or socket, else from the blocking pool
/// (see the module docs). Wrap it in a `BufReader` to read lines.
pub struct Stdin {
    state: StdinState,
}

enum StdinState {
    /// Not read yet: the kind of fd 0 is looked at on the first read, inside the runtime.
    Unset,
    /// A pipe reopened non-blocking, or a socket's dup, registered with epoll.
    Epoll(AsyncFd<OwnedFd>, FdKind),
    Blocking(Blocking<io::Stdin>),
}

#[derive(Clone, Copy)]
enum FdKind {
    Fifo,
    Socket,
}

/// The process's standard input. Tokio's `io::stdin`.
///
/// For lines, wrap it in a `BufReader` (`minirt::io::BufReader`, or `futures::io::BufReader`)
/// and call `lines()`, as `examples/lines.rs` does. Plain reads:
///
/// ```no_run
/// use minirt_runtime::io::AsyncReadExt; // minirt::io in the facade
/// # async fn f() -> std::io::Result<()> {
/// let mut stdin = minirt_os::stdio::stdin(); // minirt::io::stdin()
/// let mut buf = [0u8; 4096];
/// let n = stdin.read(&mut buf).await?; // 0 at end of input
/// # let _ = n; Ok(()) }
/// ```
pub fn stdin() -> Stdin {
    Stdin { state: StdinState::Unset }
}

/// fd 0 registered with epoll when it is a pipe or socket; `None` for the pool.
fn epoll_stdin() -> Option<(AsyncFd<OwnedFd>, FdKind)> {
    let (fd, kind) = match sys::stdio::file_type(0).ok()? {
        libc::S_IFIFO => {
            // A new open file description of the same pipe: O_NONBLOCK on it is ours alone.
            let file = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open("/proc/self/fd/0")
                .ok()?;
            (OwnedFd::from(file), FdKind::Fifo)
        }
        libc::S_IFSOCK => (sys::stdio::dup_cloexec(0).ok()?, FdKind::Socket),
        _ => return None,
    };
    AsyncFd::with_interest(fd, Interest::READABLE).ok().map(|fd| (fd, kind))
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if let StdinState::Unset = me.state {
            me.state = match epoll_stdin() {
                Some((fd, kind)) => StdinState::Epoll(fd, kind),
                None => StdinState::Blocking(Blocking::new(io::stdin())),
            };
        }
        match &mut me.state {
            StdinState::Epoll(fd, FdKind::Fifo) => {
                fd.poll_io(cx, Interest::READABLE, || sys::process::read(fd.get_ref().as_fd(), buf))
            }
            StdinState::Epoll(fd, FdKind::Socket) => {
                fd.poll_io(cx, Interest::READABLE, || sys::stdio::recv_dontwait(fd.get_ref(), buf))
            }
            StdinState::Blocking(blocking) => blocking.poll_read(cx, buf),
            StdinState::Unset => unreachable!("set above"),
        }
    }
}

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.state {
            StdinState::Unset => "unset",
            StdinState::Epoll(..) => "epoll",
            StdinState::Blocking(_) => "blocking pool",
        };
        f.debug_struct("Stdin").field("via", &how).finish()
    }
}

/// The process's standard output, as tokio's `io::Stdout`: made by [`stdout`]. A write returns
/// once its bytes are copied; `flush().await` waits until they reached fd 1.
pub struct Stdout(Blocking<io::Stdout>);

/// The process's standard error, as tokio's `io::Stderr`: made by [`stderr`].
pub struct Stderr(Blocking<io::Stderr>);

/// The process's standard output. Tokio's `io::stdout`.
pub fn stdout() -> Stdout {
    Stdout(Blocking::new(io::stdout()))
}

/// The process's standard error. Tokio's `io::stderr`.
pub fn stderr() -> Stderr {
    Stderr(Blocking::new(io::stderr()))
}

macro_rules! write_impl {
    ($ty:ident) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().0.poll_write(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().0.poll_flush(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().0.poll_flush(cx)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.0.fd
            }
        }
    };
}

write_impl!(Stdout);
write_impl!(Stderr);

impl AsRawFd for Stdin {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        0
    }
}

/// A blocking std stream driven from the pool, one operation at a time (tokio's `Blocking`):
/// `Idle` holds the stream and its buffer, `Busy` a job that owns them.
struct Blocking<T> {
    state: BState<T>,
    /// Written to since the last flush.
    need_flush: bool,
    fd: std::os::fd::RawFd,
}

enum BState<T> {
    Idle(Option<Parts<T>>),
    Busy(JoinHandle<(BOp, Parts<T>)>),
}

struct Parts<T> {
    inner: T,
    buf: Vec<u8>,
    pos: usize,
}

enum BOp {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Flush(io::Result<()>),
}

impl<T: AsRawFd> Blocking<T> {
    fn new(inner: T) -> Blocking<T> {
        let fd = inner.as_raw_fd();
        Blocking {
            state: BState::Idle(Some(Parts { inner, buf: Vec::new(), pos: 0 })),
            need_flush: false,
            fd,
        }
    }
}

impl<T: Send + 'static> Blocking<T> {
    /// Waits for the job in flight and takes back the stream and buffer.
    fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<BOp>> {
        let BState::Busy(handle) = &mut self.state else {
            return Poll::Ready(Err(io::Error::other("minirt: no stdio job in flight")));
        };
        match ready!(Pin::new(handle).poll(cx)) {
            Ok((op, parts)) => {
                self.state = BState::Idle(Some(parts));
                Poll::Ready(Ok(op))
            }
            // stdio never aborts its jobs: a cancelled one is the pool's shutdown, which tokio
            // reports as `is_rt_shutdown_err`.
            Err(err) if err.is_cancelled() => Poll::Ready(Err(
                minirt_runtime::runtime::shutdown_error("stdio: the minirt runtime has shut down"),
            )),
            Err(err) => Poll::Ready(Err(crate::fs::background_task_failed(err))),
        }
    }

    /// Takes the stream and buffer out of `Idle`, to hand them to a job.
    fn idle_parts(&mut self) -> io::Result<Parts<T>> {
        let parts = match &mut self.state {
            BState::Idle(parts) => parts.take(),
            BState::Busy(_) => None,
        };
        parts.ok_or_else(|| io::Error::other("minirt: stdio job lost"))
    }

    fn spawn(&mut self, parts: Parts<T>, job: impl FnOnce(&mut Parts<T>) -> BOp + Send + 'static) {
        self.state = BState::Busy(spawn_blocking(move || {
            let mut parts = parts;
            let op = job(&mut parts);
            (op, parts)
        }));
    }
}

impl<T: Read + Send + 'static> Blocking<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match &mut self.state {
                BState::Idle(Some(parts)) if parts.pos < parts.buf.len() => {
                    let n = (parts.buf.len() - parts.pos).min(dst.len());
                    dst[..n].copy_from_slice(&parts.buf[parts.pos..parts.pos + n]);
                    parts.pos += n;
                    return Poll::Ready(Ok(n));
                }
                BState::Idle(_) => {
                    if dst.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let mut parts = self.idle_parts()?;
                    let want = dst.len().min(MAX_BUF);
                    parts.buf.resize(want, 0);
                    parts.pos = 0;
                    self.spawn(parts, move |parts| {
                        let result = loop {
                            match parts.inner.read(&mut parts.buf[..want]) {
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                                other => break other,
                            }
                        };
                        parts.buf.truncate(*result.as_ref().unwrap_or(&0));
                        BOp::Read(result)
                    });
                }
                BState::Busy(_) => match ready!(self.poll_job(cx))? {
                    BOp::Read(Ok(0)) => return Poll::Ready(Ok(0)),
                    BOp::Read(Err(err)) => return Poll::Ready(Err(err)),
                    BOp::Read(Ok(_)) | BOp::Write(_) | BOp::Flush(_) => {}
                },
            }
        }
    }
}

impl<T: Write + Send + 'static> Blocking<T> {
    fn poll_write(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            match &mut self.state {
                BState::Idle(_) => {
                    let mut parts = self.idle_parts()?;
                    let n = src.len().min(MAX_BUF);
                    parts.buf.clear();
                    parts.pos = 0;
                    parts.buf.extend_from_slice(&src[..n]);
                    self.need_flush = true;
                    self.spawn(parts, |parts| {
                        let result = parts.inner.write_all(&parts.buf);
                        parts.buf.clear();
                        BOp::Write(result)
                    });
                    // A pool that is shut down cancels the job as it is spawned: this write
                    // fails now (`is_rt_shutdown_err`), as tokio's does, not the next flush.
                    if matches!(&self.state, BState::Busy(job) if job.is_finished()) {
                        match self.poll_job(cx) {
                            Poll::Ready(Err(err)) | Poll::Ready(Ok(BOp::Write(Err(err)))) => {
                                return Poll::Ready(Err(err));
                            }
                            _ => {}
                        }
                    }
                    return Poll::Ready(Ok(n));
                }
                BState::Busy(_) => {
                    if let BOp::Write(Err(err)) = ready!(self.poll_job(cx))? {
                        return Poll::Ready(Err(err));
                    }
                }
            }
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match &mut self.state {
                BState::Idle(_) if !self.need_flush => return Poll::Ready(Ok(())),
                BState::Idle(_) => {
                    let parts = self.idle_parts()?;
                    self.need_flush = false;
                    self.spawn(parts, |parts| BOp::Flush(parts.inner.flush()));
                }
                BState::Busy(_) => match ready!(self.poll_job(cx))? {
                    BOp::Write(Err(err)) | BOp::Flush(Err(err)) => return Poll::Ready(Err(err)),
                    BOp::Flush(Ok(())) => return Poll::Ready(Ok(())),
                    BOp::Read(_) | BOp::Write(Ok(())) => {}
                },
            }
        }
    }
}
