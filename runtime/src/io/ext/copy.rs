//! [`copy()`] and [`copy_buf()`], tokio's `io::copy` and `io::copy_buf`, and [`CopyBuffer`], the
//! copy loop they and `copy_bidirectional` share.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// Copies everything `reader` yields into `writer`, then flushes it; returns the byte count.
/// Tokio's `io::copy`.
pub fn copy<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> Copy<'a, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    Copy { reader, writer, buf: CopyBuffer::new(8 * 1024) }
}

/// Future of [`copy`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Copy<'a, R: ?Sized, W: ?Sized> {
    reader: &'a mut R,
    writer: &'a mut W,
    buf: CopyBuffer,
}

impl<R, W> Future for Copy<'_, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        this.buf.poll_copy(cx, Pin::new(&mut *this.reader), Pin::new(&mut *this.writer))
    }
}

/// The state of one copying direction: a buffer, what of it is not written yet, and whether
/// the reader has ended. Shared by [`copy`] and `copy_bidirectional`.
#[derive(Debug)]
pub(crate) struct CopyBuffer {
    buf: Box<[u8]>,
    /// `buf[start..end]` is read but not yet written.
    start: usize,
    end: usize,
    total: u64,
    read_done: bool,
    /// Bytes were written since the last flush.
    need_flush: bool,
}

impl CopyBuffer {
    pub(crate) fn new(size: usize) -> CopyBuffer {
        CopyBuffer {
            buf: vec![0; size].into_boxed_slice(),
            start: 0,
            end: 0,
            total: 0,
            read_done: false,
            need_flush: false,
        }
    }

    /// Copies until the reader ends and everything is written and flushed; returns the total.
    pub(crate) fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            if self.start == self.end && !self.read_done {
                match reader.as_mut().poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(n)) => {
                        self.read_done = n == 0;
                        self.start = 0;
                        self.end = n.min(self.buf.len());
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        // Nothing to read: flush what the writer buffered so far, so a slow
                        // reader never holds written data back (as tokio's copy does).
                        if self.need_flush {
                            ready!(writer.as_mut().poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                }
            }
            while self.start < self.end {
                let chunk = &self.buf[self.start..self.end];
                let n = retry_interrupted!(writer.as_mut().poll_write(cx, chunk))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "copy: the writer accepted no more bytes",
                    )));
                }
                let n = n.min(self.end - self.start);
                self.start += n;
                self.total += n as u64;
                self.need_flush = true;
            }
            if self.read_done {
                retry_interrupted!(writer.as_mut().poll_flush(cx))?;
                return Poll::Ready(Ok(self.total));
            }
        }
    }
}

/// Copies everything the buffered `reader` yields into `writer` straight from the reader's own
/// buffer (no second buffer), then flushes; returns the byte count. Tokio's `io::copy_buf`.
pub fn copy_buf<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> CopyBuf<'a, R, W>
where
    R: futures_io::AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    CopyBuf { reader, writer, total: 0 }
}

/// Future of [`copy_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CopyBuf<'a, R: ?Sized, W: ?Sized> {
    reader: &'a mut R,
    writer: &'a mut W,
    total: u64,
}

impl<R, W> Future for CopyBuf<'_, R, W>
where
    R: futures_io::AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        loop {
            let chunk = retry_interrupted!(Pin::new(&mut *this.reader).poll_fill_buf(cx))?;
            if chunk.is_empty() {
                retry_interrupted!(Pin::new(&mut *this.writer).poll_flush(cx))?;
                return Poll::Ready(Ok(this.total));
            }
            let n = retry_interrupted!(Pin::new(&mut *this.writer).poll_write(cx, chunk))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "copy_buf: the writer accepted no more bytes",
                )));
            }
            let n = n.min(chunk.len());
            Pin::new(&mut *this.reader).consume(n);
            this.total += n as u64;
        }
    }
}
