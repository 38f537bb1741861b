//! Trivial readers and writers, tokio's: [`empty`] (a reader at its end, a writer that drops
//! everything), [`sink`] (a writer that drops everything) and [`repeat`] (a reader that yields
//! one byte forever). Each spends the task's coop budget, so a loop over them still yields.

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use crate::polling::poll_budget;

/// A reader that is always at its end and a writer that accepts and drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty {
    _private: (),
}

/// An [`Empty`].
pub fn empty() -> Empty {
    Empty { _private: () }
}

/// A writer that accepts and drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sink {
    _private: (),
}

/// A [`Sink`].
pub fn sink() -> Sink {
    Sink { _private: () }
}

/// A reader that yields the same byte forever.
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    byte: u8,
}

/// A [`Repeat`] of `byte`.
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ready!(poll_budget(cx));
        Poll::Ready(Ok(0))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        ready!(poll_budget(cx));
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _: usize) {}
}

impl AsyncSeek for Empty {
    fn poll_seek(self: Pin<&mut Self>, _: &mut Context<'_>, _: SeekFrom) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(0))
    }
}

/// Both `Empty` and `Sink` write by dropping.
macro_rules! drop_writes {
    ($ty:ty) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                ready!(poll_budget(cx));
                Poll::Ready(Ok(buf.len()))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                ready!(poll_budget(cx));
                Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                ready!(poll_budget(cx));
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                ready!(poll_budget(cx));
                Poll::Ready(Ok(()))
            }
        }
    };
}

drop_writes!(Empty);
drop_writes!(Sink);

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ready!(poll_budget(cx));
        buf.fill(self.byte);
        Poll::Ready(Ok(buf.len()))
    }
}
