//! Unix pipes and FIFOs (tokio's `tokio::net::unix::pipe`), on minirt's `AsyncFd`.
//!
//! A [`Sender`] or [`Receiver`] is one pipe end: a non-blocking fd registered with the reactor
//! for the one direction it moves data in. Reads and writes are the plain `read(2)`/`write(2)`
//! of a `std::fs::File` on that fd, tried when the reactor reports readiness and retried after
//! `EAGAIN` clears it (`AsyncFd::poll_io`). Opening a FIFO by path, or adopting an fd, checks
//! (as tokio does) that it is a pipe opened for the right direction, and sets `O_NONBLOCK`.

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes_dep::BufMut;
use minirt::io::AsyncFd;

use crate::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};

/// A new anonymous pipe: its write end and its read end, both non-blocking and close-on-exec.
pub fn pipe() -> io::Result<(Sender, Receiver)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: a syscall writing two fds into the two-element array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } == -1 {
        return Err(os_error("pipe2"));
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    let (rx, tx) = unsafe {
        use std::os::fd::FromRawFd;
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    Ok((Sender::from_owned_fd_unchecked(tx)?, Receiver::from_owned_fd_unchecked(rx)?))
}

fn os_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Options to open a FIFO by path (tokio's `pipe::OpenOptions`).
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read_write: bool,
    unchecked: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PipeEnd {
    Sender,
    Receiver,
}

impl OpenOptions {
    /// Read-only for a receiver, write-only for a sender, checked to be a FIFO.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Opens the FIFO read-write (Linux): a sender can then open before any reader, and a
    /// receiver never sees end-of-file when the last writer goes.
    pub fn read_write(&mut self, value: bool) -> &mut Self {
        self.read_write = value;
        self
    }

    /// Skips the check that the path is a FIFO.
    pub fn unchecked(&mut self, value: bool) -> &mut Self {
        self.unchecked = value;
        self
    }

    /// Opens the read end of the FIFO at `path`.
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        let file = self.open(path.as_ref(), PipeEnd::Receiver)?;
        Receiver::from_file_unchecked(file)
    }

    /// Opens the write end of the FIFO at `path`; without `read_write`, fails with `ENXIO`
    /// while no reader has it open (the kernel's rule for a non-blocking open).
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        let file = self.open(path.as_ref(), PipeEnd::Sender)?;
        Sender::from_file_unchecked(file)
    }

    fn open(&self, path: &Path, end: PipeEnd) -> io::Result<File> {
        let mut options = std::fs::OpenOptions::new();
        options
            .read(end == PipeEnd::Receiver)
            .write(end == PipeEnd::Sender)
            .custom_flags(libc::O_NONBLOCK);
        if self.read_write {
            options.read(true).write(true);
        }
        let file = options.open(path)?;
        if !self.unchecked && !is_pipe(file.as_fd())? {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a pipe"));
        }
        Ok(file)
    }
}

/// Adopts `fd` as a pipe end after tokio's checks: a pipe, open in a mode that allows
/// `access` (`has_access`), set non-blocking.
fn checked(fd: &OwnedFd, has_access: fn(libc::c_int) -> bool, mode: &str) -> io::Result<()> {
    if !is_pipe(fd.as_fd())? {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a pipe"));
    }
    let flags = file_flags(fd.as_fd())?;
    if !has_access(flags) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, mode.to_string()));
    }
    set_flags(fd.as_fd(), flags | libc::O_NONBLOCK)
}

/// The write end of a pipe (tokio's `pipe::Sender`).
#[derive(Debug)]
pub struct Sender {
    fd: AsyncFd<File>,
}

impl Sender {
    /// Adopts a file that must be a pipe opened for writing; sets it non-blocking.
    pub fn from_file(file: File) -> io::Result<Sender> {
        Sender::from_owned_fd(file.into())
    }

    /// Adopts an fd that must be a pipe opened for writing; sets it non-blocking.
    pub fn from_owned_fd(fd: OwnedFd) -> io::Result<Sender> {
        checked(&fd, has_write_access, "not in O_WRONLY or O_RDWR access mode")?;
        Sender::from_owned_fd_unchecked(fd)
    }

    /// Adopts a file as it is (it should be a non-blocking pipe open for writing).
    pub fn from_file_unchecked(file: File) -> io::Result<Sender> {
        Sender::from_owned_fd_unchecked(file.into())
    }

    /// Adopts an fd as it is (it should be a non-blocking pipe open for writing).
    pub fn from_owned_fd_unchecked(fd: OwnedFd) -> io::Result<Sender> {
        let fd = AsyncFd::with_interest(File::from(fd), Interest::WRITABLE)?;
        Ok(Sender { fd })
    }

    /// Waits until the pipe is ready for `interest`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.fd.ready(interest).await?.ready())
    }

    /// Waits until the pipe can take a write.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Polls for write readiness.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.fd.poll_write_ready(cx).map_ok(drop)
    }

    /// Writes what fits now, or `WouldBlock`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.try_io(Interest::WRITABLE, |f| (&*f).write(buf))
    }

    /// Writes what fits now from several buffers, or `WouldBlock`.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.fd.try_io(Interest::WRITABLE, |f| (&*f).write_vectored(bufs))
    }

    /// Runs `f` if the pipe is marked writable; its `WouldBlock` clears the mark.
    pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.fd.try_io(Interest::WRITABLE, |_| f())
    }

    /// Deregisters the pipe and gives its fd back, set blocking.
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = self.into_nonblocking_fd()?;
        set_blocking(&fd)?;
        Ok(fd)
    }

    /// Deregisters the pipe and gives its fd back, still non-blocking.
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        Ok(self.fd.into_inner().into())
    }
}

impl AsyncWrite for Sender {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let f = self.fd.get_ref();
        self.fd.poll_io(cx, Interest::WRITABLE, || (&*f).write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let f = self.fd.get_ref();
        self.fd.poll_io(cx, Interest::WRITABLE, || (&*f).write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsRawFd for Sender {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Sender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

/// The read end of a pipe (tokio's `pipe::Receiver`).
#[derive(Debug)]
pub struct Receiver {
    fd: AsyncFd<File>,
}

impl Receiver {
    /// Adopts a file that must be a pipe opened for reading; sets it non-blocking.
    pub fn from_file(file: File) -> io::Result<Receiver> {
        Receiver::from_owned_fd(file.into())
    }

    /// Adopts an fd that must be a pipe opened for reading; sets it non-blocking.
    pub fn from_owned_fd(fd: OwnedFd) -> io::Result<Receiver> {
        checked(&fd, has_read_access, "not in O_RDONLY or O_RDWR access mode")?;
        Receiver::from_owned_fd_unchecked(fd)
    }

    /// Adopts a file as it is (it should be a non-blocking pipe open for reading).
    pub fn from_file_unchecked(file: File) -> io::Result<Receiver> {
        Receiver::from_owned_fd_unchecked(file.into())
    }

    /// Adopts an fd as it is (it should be a non-blocking pipe open for reading).
    pub fn from_owned_fd_unchecked(fd: OwnedFd) -> io::Result<Receiver> {
        let fd = AsyncFd::with_interest(File::from(fd), Interest::READABLE)?;
        Ok(Receiver { fd })
    }

    /// Waits until the pipe is ready for `interest`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.fd.ready(interest).await?.ready())
    }

    /// Waits until the pipe has data (or its writers are gone).
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Polls for read readiness.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.fd.poll_read_ready(cx).map_ok(drop)
    }

    /// Reads what is there now, or `WouldBlock`; `Ok(0)` once every writer is gone.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.try_io(Interest::READABLE, |f| (&*f).read(buf))
    }

    /// Reads what is there now into several buffers, or `WouldBlock`.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.fd.try_io(Interest::READABLE, |f| (&*f).read_vectored(bufs))
    }

    /// Reads what is there now into `buf`'s spare capacity, or `WouldBlock`.
    pub fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.fd.try_io(Interest::READABLE, |f| {
            let chunk = buf.chunk_mut();
            let len = chunk.len();
            // SAFETY: `UninitSlice` is a `[MaybeUninit<u8>]`; the ReadBuf only writes to it.
            let dst = unsafe { &mut *(chunk as *mut _ as *mut [std::mem::MaybeUninit<u8>]) };
            let mut rb = ReadBuf::uninit(dst);
            let n = (&*f).read(rb.initialize_unfilled_to(len))?;
            // SAFETY: `read` filled `n` bytes of the chunk (all of it initialised above).
            unsafe { buf.advance_mut(n.min(len)) };
            Ok(n)
        })
    }

    /// Runs `f` if the pipe is marked readable; its `WouldBlock` clears the mark.
    pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.fd.try_io(Interest::READABLE, |_| f())
    }

    /// Deregisters the pipe and gives its fd back, set blocking.
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = self.into_nonblocking_fd()?;
        set_blocking(&fd)?;
        Ok(fd)
    }

    /// Deregisters the pipe and gives its fd back, still non-blocking.
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        Ok(self.fd.into_inner().into())
    }
}

impl AsyncRead for Receiver {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let f = self.fd.get_ref();
        let n = std::task::ready!(self
            .fd
            .poll_io(cx, Interest::READABLE, || (&*f).read(buf.initialize_unfilled())))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsRawFd for Receiver {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Receiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

fn is_pipe(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let file_type = File::from(fd.try_clone_to_owned()?).metadata()?.file_type();
    Ok(std::os::unix::fs::FileTypeExt::is_fifo(&file_type))
}

fn file_flags(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: a syscall reading the flags of an open fd.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(os_error("fcntl(F_GETFL) on a pipe"));
    }
    Ok(flags)
}

fn set_flags(fd: BorrowedFd<'_>, flags: libc::c_int) -> io::Result<()> {
    if file_flags(fd)? == flags {
        return Ok(());
    }
    // SAFETY: a syscall setting the status flags of an open fd.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) } < 0 {
        return Err(os_error("fcntl(F_SETFL) on a pipe"));
    }
    Ok(())
}

fn has_read_access(flags: libc::c_int) -> bool {
    let mode = flags & libc::O_ACCMODE;
    mode == libc::O_RDONLY || mode == libc::O_RDWR
}

fn has_write_access(flags: libc::c_int) -> bool {
    let mode = flags & libc::O_ACCMODE;
    mode == libc::O_WRONLY || mode == libc::O_RDWR
}

fn set_blocking(fd: &OwnedFd) -> io::Result<()> {
    let flags = file_flags(fd.as_fd())?;
    set_flags(fd.as_fd(), flags & !libc::O_NONBLOCK)
}
