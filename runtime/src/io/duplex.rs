//! [`duplex`]: an in-memory, bidirectional byte pipe with a capacity — two
//! [`DuplexStream`]s, each reading what the other writes. Handy in tests in place of a socket.
//!
//! Each direction is one [`Pipe`]: a bounded `VecDeque<u8>` behind a `Mutex`, the waker of a
//! reader waiting for bytes and of a writer waiting for room. A write copies in as much as fits
//! and takes the reader's waker; a read copies out and takes the writer's waker; either wakes
//! what it took only after unlocking. Dropping (or shutting down) a stream closes its writing
//! direction, so the peer reads EOF after the buffered bytes; dropping it also closes its
//! reading direction, so the peer's writes fail with `BrokenPipe`.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

use crate::loom::lock;
use crate::polling::poll_budget;

/// One direction of a duplex pair.
#[derive(Debug)]
struct Pipe {
    buf: VecDeque<u8>,
    max: usize,
    /// The writer shut down or was dropped: EOF once `buf` is drained.
    write_closed: bool,
    /// The reader was dropped: writes fail.
    read_closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

/// A pipe shared by the writer of one stream and the reader of the other.
type Shared = Arc<Mutex<Pipe>>;

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// One end of an in-memory pipe made by [`duplex`]: implements [`AsyncRead`] and
/// [`AsyncWrite`], like a connected socket.
#[derive(Debug)]
pub struct DuplexStream {
    read: Shared,
    write: Shared,
}

/// Two connected [`DuplexStream`]s; each direction buffers at most `max_buf_size` bytes, so a
/// writer waits (`Pending`) once the reader is that far behind.
///
/// # Panics
///
/// If `max_buf_size` is zero: no byte could ever pass (at the caller's location, as tokio).
#[track_caller]
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    assert!(max_buf_size > 0, "duplex: the capacity must be greater than zero");
    let new_pipe = || {
        Arc::new(Mutex::new(Pipe {
            buf: VecDeque::new(),
            max: max_buf_size,
            write_closed: false,
            read_closed: false,
            read_waker: None,
            write_waker: None,
        }))
    };
    let one = new_pipe();
    let two = new_pipe();
    (DuplexStream { read: one.clone(), write: two.clone() }, DuplexStream { read: two, write: one })
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(poll_budget(cx));
        let (result, to_wake) = {
            let mut pipe = lock(&self.read);
            if pipe.buf.is_empty() {
                if pipe.write_closed {
                    (Poll::Ready(Ok(0)), None)
                } else {
                    let old = pipe.read_waker.replace(cx.waker().clone());
                    drop(pipe);
                    drop(old);
                    return Poll::Pending;
                }
            } else {
                let n = pipe.buf.len().min(buf.len());
                for (dst, src) in buf.iter_mut().zip(pipe.buf.drain(..n)) {
                    *dst = src;
                }
                (Poll::Ready(Ok(n)), pipe.write_waker.take())
            }
        };
        wake(to_wake);
        result
    }
}

impl DuplexStream {
    /// Copies as much of `bufs` as fits into the writing pipe.
    fn write_bufs(&self, cx: &mut Context<'_>, bufs: &[&[u8]]) -> Poll<io::Result<usize>> {
        let (written, to_wake) = {
            let mut pipe = lock(&self.write);
            if pipe.read_closed || pipe.write_closed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "duplex: the other end is closed",
                )));
            }
            let total: usize = bufs.iter().map(|b| b.len()).sum();
            if total == 0 {
                return Poll::Ready(Ok(0));
            }
            let room = pipe.max - pipe.buf.len();
            if room == 0 {
                let old = pipe.write_waker.replace(cx.waker().clone());
                drop(pipe);
                drop(old);
                return Poll::Pending;
            }
            let mut written = 0;
            for b in bufs {
                let n = b.len().min(room - written);
                pipe.buf.extend(&b[..n]);
                written += n;
                if written == room {
                    break;
                }
            }
            (written, pipe.read_waker.take())
        };
        wake(to_wake);
        Poll::Ready(Ok(written))
    }

    /// Closes the writing direction: the peer reads EOF after what is buffered.
    fn close_write(&self) {
        let to_wake = {
            let mut pipe = lock(&self.write);
            pipe.write_closed = true;
            pipe.read_waker.take()
        };
        wake(to_wake);
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(poll_budget(cx));
        self.write_bufs(cx, &[buf])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(poll_budget(cx));
        let slices: Vec<&[u8]> = bufs.iter().map(|b| &**b).collect();
        self.write_bufs(cx, &slices)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close_write();
        Poll::Ready(Ok(()))
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        self.close_write();
        let to_wake = {
            let mut pipe = lock(&self.read);
            pipe.read_closed = true;
            pipe.write_waker.take()
        };
        wake(to_wake);
    }
}
