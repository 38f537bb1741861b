//! [`File`]: a file whose reads, writes and seeks run on the blocking pool, at most one
//! operation in flight, as tokio's `fs::File` — with fewer, larger pool round trips.
//!
//! ```text
//!            Idle(buf) ──poll_read──► Busy(read `want` bytes into buf)   ──► Idle(buf: data)
//!  reads:    later poll_reads copy out of buf; `want` is the caller's length, or more while
//!            reads stay sequential and fill it: it doubles up to READ_AHEAD (256 KiB)
//!            (a single larger read asks for up to max_buf_size, 2 MiB, in one trip)
//!            Idle(buf) ──poll_write─► copy src into buf, Busy(write job) ──► Ok(n) at once
//!  writes:   while the job runs, poll_write appends to the shared `pending` buffer (up to
//!            WRITE_BEHIND, 256 KiB, or one write of up to max_buf_size) and returns Ok(n);
//!            the job writes `pending` when done with its own buffer (the two swap: nothing
//!            is allocated in the steady state) and ends only when `pending` is empty
//! ```
//!
//! So a sequential reader or writer of 64 KiB chunks costs one pool trip per 256 KiB instead
//! of one per 64 KiB (tokio's), and a writer keeps the pool thread busy while it produces the
//! next chunk. Why not 2 MiB: the bytes are copied twice (kernel ↔ buffer ↔ caller), and the
//! second copy is fast only while the buffer is still in the CPU cache: 2 MiB chunks measured
//! slower than 256 KiB (docs/BENCHMARKS-notebook.md, "Files").
//!
//! Ordering: a read, seek, flush or any `&self` method first waits for the write job, which has
//! then written everything `poll_write` accepted. Data read ahead and not yet consumed is given
//! back (the position moves back by its length) before a write, seek, `set_len`, `try_clone` or
//! `into_std`. A failed write is reported by the next write or `flush` (tokio's rule); the data
//! still pending behind it is dropped. Dropping a `File` leaves its write job running: what
//! `poll_write` accepted is written in the background.

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::{poll_fn, Future};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use minirt_runtime::task::{spawn_blocking, JoinHandle};

use super::{asyncify, OpenOptions};

/// The default (and tokio's) largest amount of data one pool round trip moves.
const DEFAULT_MAX_BUF_SIZE: usize = 2 * 1024 * 1024;
/// The most a read asks the kernel for beyond the caller's buffer: kept small enough that the
/// read-ahead is still in the CPU cache when the caller copies it out.
const READ_AHEAD: usize = 256 * 1024;
/// How many bytes `poll_write` queues behind a running write job before it waits.
const WRITE_BEHIND: usize = 256 * 1024;

/// An open file, as tokio's `fs::File`: implements `AsyncRead`, `AsyncWrite` and `AsyncSeek`
/// (so `minirt::io`'s `read`, `write_all`, `seek` work), every syscall on the blocking pool.
///
/// A write returns as soon as its bytes are copied into the file's buffer; call
/// `flush().await` to know they were written (and to see a write error). See the module docs
/// for how reads and writes are batched.
///
/// ```no_run
/// use minirt_runtime::io::AsyncWriteExt; // minirt::io in the facade
/// # async fn f() -> std::io::Result<()> {
/// let mut file = minirt_os::fs::File::create("foo.txt").await?; // minirt::fs::File
/// file.write_all(b"hello, world!").await?;
/// file.flush().await?;
/// # Ok(()) }
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    /// A mutex only for the `&self` methods (`sync_all`, `set_len`, ...); the I/O traits take
    /// `&mut self` and reach it with `get_mut`, without locking.
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    /// A write error not yet reported (a read or seek found it): the next write or flush
    /// returns it.
    last_write_err: Option<io::Error>,
    max_buf_size: usize,
    /// How much the next read asks the kernel for when it is larger than the caller's buffer;
    /// 0 after a seek or write.
    read_ahead: usize,
    /// Where `poll_write` puts bytes while a write job runs.
    queue: Arc<Mutex<WriteQueue>>,
}

enum State {
    Idle(Option<Buf>),
    Busy(JoinHandle<(Operation, Buf)>, Kind),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Seek,
}

enum Operation {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
}

/// The write-behind buffer shared by `poll_write` and the running write job.
struct WriteQueue {
    /// A write job runs and will take `pending` before it ends.
    running: bool,
    pending: Vec<u8>,
    /// A writer waiting for room in `pending`.
    waker: Option<Waker>,
}

/// The buffer moved to and from the pool: `data[pos..end]` is read-ahead not yet consumed, or
/// (in a write job) `data` is the bytes to write.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Buf {
    fn remaining(&self) -> usize {
        self.end - self.pos
    }

    /// Forgets the read-ahead, returning how far the file position is past the logical one.
    fn discard_read(&mut self) -> i64 {
        let ahead = self.remaining() as i64;
        self.pos = 0;
        self.end = 0;
        ahead
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The code under these locks does not panic (buffer moves and flags), so poisoned data is
    // intact.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Moves the file position back over read-ahead that was not consumed.
fn seek_back(std: &std::fs::File, ahead: i64) -> io::Result<()> {
    if ahead != 0 {
        (&*std).seek(SeekFrom::Current(-ahead))?;
    }
    Ok(())
}

/// The write job: writes `buf`, then whatever `poll_write` queued meanwhile, until the queue is
/// empty or a write fails.
fn write_job(
    std: &std::fs::File,
    queue: &Mutex<WriteQueue>,
    mut buf: Buf,
    seek: i64,
) -> (Operation, Buf) {
    let mut result = seek_back(std, seek);
    loop {
        if result.is_ok() {
            result = (&*std).write_all(&buf.data);
        }
        buf.data.clear();
        let mut q = lock(queue);
        if result.is_err() || q.pending.is_empty() {
            q.running = false;
            q.pending.clear();
            let waker = q.waker.take();
            drop(q);
            drop(waker); // the JoinHandle's completion wakes the writer
            return (Operation::Write(result), buf);
        }
        std::mem::swap(&mut q.pending, &mut buf.data);
        let waker = q.waker.take();
        drop(q);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl File {
    /// Opens `path` read-only. Tokio's `File::open`.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` write-only, creating it or truncating it. Tokio's `File::create`.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().write(true).create(true).truncate(true).open(path).await
    }

    /// Creates `path` read-write, failing with `AlreadyExists` if it exists. Tokio's
    /// `File::create_new`.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).create_new(true).open(path).await
    }

    /// A new [`OpenOptions`]. Tokio's `File::options`.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`. Tokio's `File::from_std`.
    pub fn from_std(std: std::fs::File) -> File {
        File { std: Arc::new(std), inner: Inner::idle() }
    }

    /// Sets the most bytes one pool round trip reads or writes (2 MiB by default, as tokio).
    /// Larger means fewer trips for big sequential transfers, and more memory per file.
    ///
    /// # Panics
    /// If `max_buf_size` is 0.
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        assert!(max_buf_size > 0, "`max_buf_size` must be greater than 0");
        self.inner.get_mut().unwrap_or_else(|p| p.into_inner()).max_buf_size = max_buf_size;
    }

    /// The most bytes one pool round trip reads or writes.
    pub fn max_buf_size(&self) -> usize {
        lock(&self.inner).max_buf_size
    }

    /// Waits for the operation in flight (a write job has then written everything accepted)
    /// and gives back unconsumed read-ahead, returning how far the position is past the logical
    /// one. A write error is kept for the next write or flush, as tokio does.
    async fn complete_inflight(&self) -> i64 {
        poll_fn(|cx| {
            let mut inner = lock(&self.inner);
            ready!(inner.poll_complete(cx));
            let ahead = match &mut inner.state {
                State::Idle(Some(buf)) => buf.discard_read(),
                _ => 0,
            };
            inner.read_ahead = 0;
            Poll::Ready(ahead)
        })
        .await
    }

    /// Runs `f` on the pool after the operation in flight, with the position made logical.
    async fn after_inflight<T: Send + 'static>(
        &self,
        f: impl FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let ahead = self.complete_inflight().await;
        let std = self.std.clone();
        asyncify(move || {
            seek_back(&std, ahead)?;
            f(&std)
        })
        .await
    }

    /// Flushes data and metadata to the device (`fsync`). Tokio's `File::sync_all`.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.after_inflight(|std| std.sync_all()).await
    }

    /// Flushes data (and only the metadata needed to read it back) to the device
    /// (`fdatasync`). Tokio's `File::sync_data`.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.after_inflight(|std| std.sync_data()).await
    }

    /// Truncates or extends the file to `size` bytes; the position is unchanged. Tokio's
    /// `File::set_len`.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.after_inflight(move |std| std.set_len(size)).await
    }

    /// The file's metadata (`fstat`). Tokio's `File::metadata`.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// Changes the file's permissions (`fchmod`). Tokio's `File::set_permissions`.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let std = self.std.clone();
        asyncify(move || std.set_permissions(perm)).await
    }

    /// A new `File` on a duplicate descriptor (sharing the position), after the operation in
    /// flight. Tokio's `File::try_clone`.
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.after_inflight(|std| std.try_clone()).await?;
        Ok(File::from_std(std))
    }

    /// The `std::fs::File`, after the operation in flight (its position is the logical one).
    /// Tokio's `File::into_std`.
    pub async fn into_std(self) -> std::fs::File {
        let ahead = self.complete_inflight().await;
        // lseek on a regular file does no I/O: it is fine on the loop. A failure (a pipe opened
        // as a File, which cannot have read ahead on a seekable basis) leaves the position.
        let _ = seek_back(&self.std, ahead);
        let mut std = self.std;
        loop {
            match Arc::try_unwrap(std) {
                Ok(std) => return std,
                // A `metadata()` or `set_permissions()` future dropped before its pool job
                // finished: that job still holds a reference, for one short syscall. Wait for
                // it rather than `dup` the fd (which can fail, and this returns no Result).
                Err(shared) => {
                    std = shared;
                    minirt_runtime::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        }
    }

    /// The `std::fs::File` if no operation is in flight, else the `File` back. Tokio's
    /// `File::try_into_std`.
    #[allow(clippy::result_large_err)]
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        match &mut inner.state {
            State::Idle(Some(buf)) => {
                let ahead = buf.discard_read();
                let _ = seek_back(&self.std, ahead);
            }
            _ => return Err(self),
        }
        Arc::try_unwrap(self.std).map_err(|std| File { std, inner: Inner::idle() })
    }
}

impl Inner {
    /// A fresh file's state: idle, nothing read ahead nor queued.
    fn idle() -> Mutex<Inner> {
        Mutex::new(Inner {
            state: State::Idle(Some(Buf::default())),
            last_write_err: None,
            max_buf_size: DEFAULT_MAX_BUF_SIZE,
            read_ahead: 0,
            queue: Arc::new(Mutex::new(WriteQueue {
                running: false,
                pending: Vec::new(),
                waker: None,
            })),
        })
    }

    /// Waits for the operation in flight, if any, to finish: `Idle` afterwards. A write error
    /// is kept in `last_write_err`.
    fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let State::Busy(handle, _) = &mut self.state {
            let result = ready!(Pin::new(handle).poll(cx));
            let op = self.finish(result);
            if let Operation::Write(Err(err)) = op {
                self.last_write_err = Some(err);
            }
        }
        Poll::Ready(())
    }

    /// Back to `Idle` with the buffer a job returned; hands back what the job did.
    fn finish(
        &mut self,
        result: Result<(Operation, Buf), minirt_runtime::task::JoinError>,
    ) -> Operation {
        match result {
            Ok((op, buf)) => {
                self.state = State::Idle(Some(buf));
                op
            }
            Err(err) => {
                // The job never ran (the blocking pool is shut down) or panicked: its
                // operation fails with the cause, so a read or seek returns the error
                // instead of starting the job again and again.
                let kind = match &self.state {
                    State::Busy(_, kind) => *kind,
                    State::Idle(_) => Kind::Write,
                };
                self.state = State::Idle(Some(Buf::default()));
                let err = super::background_task_failed(err);
                match kind {
                    Kind::Read => Operation::Read(Err(err)),
                    Kind::Seek => Operation::Seek(Err(err)),
                    Kind::Write => Operation::Write(Err(err)),
                }
            }
        }
    }

    /// Takes the idle buffer, to hand it to a job.
    fn take_buf(&mut self) -> Buf {
        match &mut self.state {
            State::Idle(buf) => buf.take().unwrap_or_default(),
            State::Busy(..) => Buf::default(),
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("std", &self.std).finish_non_exhaustive()
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        loop {
            match &mut inner.state {
                State::Idle(Some(buf)) if buf.remaining() > 0 => {
                    let n = buf.remaining().min(dst.len());
                    dst[..n].copy_from_slice(&buf.data[buf.pos..buf.pos + n]);
                    buf.pos += n;
                    return Poll::Ready(Ok(n));
                }
                State::Idle(_) => {
                    if dst.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let want = dst.len().max(inner.read_ahead).min(inner.max_buf_size).max(1);
                    let mut buf = inner.take_buf();
                    if buf.data.len() < want {
                        buf.data.resize(want, 0);
                    }
                    let std = me.std.clone();
                    let handle = spawn_blocking(move || {
                        let result = loop {
                            match (&*std).read(&mut buf.data[..want]) {
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                                other => break other,
                            }
                        };
                        // The bytes are marked unread here, not by the poll that asked: if
                        // that read was cancelled, whoever completes the job (a write, seek,
                        // `set_len`) still sees them and gives them back.
                        buf.pos = 0;
                        buf.end = *result.as_ref().unwrap_or(&0);
                        (Operation::Read(result), buf)
                    });
                    inner.state = State::Busy(handle, Kind::Read);
                    inner.read_ahead = want;
                }
                State::Busy(handle, kind) => {
                    let kind = *kind;
                    let result = ready!(Pin::new(handle).poll(cx));
                    match inner.finish(result) {
                        Operation::Read(Ok(n)) => {
                            // A full read of a sequential reader: read twice as much next time.
                            if kind == Kind::Read && n == inner.read_ahead {
                                inner.read_ahead = (n * 2).min(READ_AHEAD.min(inner.max_buf_size));
                            } else {
                                inner.read_ahead = 0;
                            }
                            if n == 0 {
                                return Poll::Ready(Ok(0));
                            }
                        }
                        Operation::Read(Err(err)) => {
                            inner.read_ahead = 0;
                            return Poll::Ready(Err(err));
                        }
                        Operation::Write(Err(err)) => inner.last_write_err = Some(err),
                        Operation::Write(Ok(())) | Operation::Seek(_) => {}
                    }
                }
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        loop {
            match &mut inner.state {
                State::Busy(handle, kind) => {
                    if *kind == Kind::Write {
                        // Write-behind: queue the bytes for the running job.
                        let waker = cx.waker().clone();
                        let mut q = lock(&inner.queue);
                        // Queued bytes stop at WRITE_BEHIND (a single larger write may still
                        // fill up to max_buf_size): the job then writes from a buffer that is
                        // still in the CPU cache, where 2 MiB would have been evicted.
                        let limit = WRITE_BEHIND.min(inner.max_buf_size);
                        if q.running && q.pending.len() < limit {
                            let n = (inner.max_buf_size - q.pending.len()).min(src.len());
                            q.pending.extend_from_slice(&src[..n]);
                            return Poll::Ready(Ok(n));
                        }
                        if q.running {
                            let old = q.waker.replace(waker);
                            drop(q);
                            drop(old);
                        }
                    }
                    let result = ready!(Pin::new(handle).poll(cx));
                    if let Operation::Write(Err(err)) = inner.finish(result) {
                        return Poll::Ready(Err(err));
                    }
                }
                State::Idle(_) => {
                    if let Some(err) = inner.last_write_err.take() {
                        return Poll::Ready(Err(err));
                    }
                    if src.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let mut buf = inner.take_buf();
                    let seek = buf.discard_read();
                    inner.read_ahead = 0;
                    let n = src.len().min(inner.max_buf_size);
                    buf.data.clear();
                    buf.data.extend_from_slice(&src[..n]);
                    lock(&inner.queue).running = true;
                    let std = me.std.clone();
                    let queue = inner.queue.clone();
                    let handle = spawn_blocking(move || write_job(&std, &queue, buf, seek));
                    inner.state = State::Busy(handle, Kind::Write);
                    return Poll::Ready(Ok(n));
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = self.get_mut().inner.get_mut().unwrap_or_else(|p| p.into_inner());
        if let State::Busy(handle, _) = &mut inner.state {
            let result = ready!(Pin::new(handle).poll(cx));
            if let Operation::Write(Err(err)) = inner.finish(result) {
                return Poll::Ready(Err(err));
            }
        }
        match inner.last_write_err.take() {
            Some(err) => Poll::Ready(Err(err)),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        loop {
            match &mut inner.state {
                State::Busy(handle, _) => {
                    let result = ready!(Pin::new(handle).poll(cx));
                    match inner.finish(result) {
                        Operation::Seek(result) => return Poll::Ready(result),
                        Operation::Write(Err(err)) => inner.last_write_err = Some(err),
                        _ => {}
                    }
                }
                State::Idle(_) => {
                    let mut buf = inner.take_buf();
                    let ahead = buf.discard_read();
                    inner.read_ahead = 0;
                    let pos = match pos {
                        SeekFrom::Current(off) => SeekFrom::Current(off - ahead),
                        other => other,
                    };
                    let std = me.std.clone();
                    let handle = spawn_blocking(move || (Operation::Seek((&*std).seek(pos)), buf));
                    inner.state = State::Busy(handle, Kind::Seek);
                }
            }
        }
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}

impl std::os::fd::FromRawFd for File {
    unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> File {
        // SAFETY: the caller hands over ownership of an open file descriptor, as
        // `std::fs::File::from_raw_fd` requires.
        File::from_std(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}
