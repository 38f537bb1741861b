//! [`copy_bidirectional`]: relays bytes both ways between two streams (a proxy's core loop).
//!
//! Each direction is a `CopyBuffer` (the state machine of [`copy`](super::copy)), and one
//! future polls both. When one direction's reader hits end of stream, its buffered bytes are
//! written and flushed and the writer is shut down (for TCP: a FIN), passing the half-close on;
//! the other direction keeps going. The future ends when both directions have, or at the first
//! error of either.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::ext::CopyBuffer;

/// Where one direction stands.
#[derive(Debug)]
enum Direction {
    Copying(CopyBuffer),
    ShuttingDown(u64),
    Done(u64),
}

impl Direction {
    fn poll<R, W>(
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
            match self {
                Direction::Copying(buf) => {
                    let n = ready!(buf.poll_copy(cx, reader.as_mut(), writer.as_mut()))?;
                    *self = Direction::ShuttingDown(n);
                }
                Direction::ShuttingDown(n) => {
                    ready!(writer.as_mut().poll_close(cx))?;
                    *self = Direction::Done(*n);
                }
                Direction::Done(n) => return Poll::Ready(Ok(*n)),
            }
        }
    }
}

/// Copies `a` to `b` and `b` to `a` at the same time until both reach end of stream, shutting
/// down each write side when its reader ends; returns `(a_to_b, b_to_a)` byte counts. The first
/// error of either direction ends both. Tokio's `io::copy_bidirectional`, 8 KiB buffers.
pub fn copy_bidirectional<'a, A, B>(a: &'a mut A, b: &'a mut B) -> CopyBidirectional<'a, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    copy_bidirectional_with_sizes(a, b, 8 * 1024, 8 * 1024)
}

/// [`copy_bidirectional`] with a buffer of `a_to_b` bytes one way and `b_to_a` bytes the other.
///
/// # Panics
///
/// If either size is zero.
pub fn copy_bidirectional_with_sizes<'a, A, B>(
    a: &'a mut A,
    b: &'a mut B,
    a_to_b: usize,
    b_to_a: usize,
) -> CopyBidirectional<'a, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    assert!(a_to_b > 0 && b_to_a > 0, "copy_bidirectional: buffer sizes must be greater than zero");
    CopyBidirectional {
        a,
        b,
        a_to_b: Direction::Copying(CopyBuffer::new(a_to_b)),
        b_to_a: Direction::Copying(CopyBuffer::new(b_to_a)),
    }
}

/// Future of [`copy_bidirectional`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CopyBidirectional<'a, A: ?Sized, B: ?Sized> {
    a: &'a mut A,
    b: &'a mut B,
    a_to_b: Direction,
    b_to_a: Direction,
}

impl<A, B> Future for CopyBidirectional<'_, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<(u64, u64)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<(u64, u64)>> {
        let this = self.get_mut();
        let a_to_b = this.a_to_b.poll(cx, Pin::new(&mut *this.a), Pin::new(&mut *this.b))?;
        let b_to_a = this.b_to_a.poll(cx, Pin::new(&mut *this.b), Pin::new(&mut *this.a))?;
        let a_to_b = ready!(a_to_b);
        let b_to_a = ready!(b_to_a);
        Poll::Ready(Ok((a_to_b, b_to_a)))
    }
}
