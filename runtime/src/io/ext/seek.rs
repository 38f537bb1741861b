//! [`AsyncSeekExt`]: tokio's seeking methods over any `futures-io` [`AsyncSeek`].

use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncSeek;

/// Seeking methods for every [`AsyncSeek`], named as in tokio's `AsyncSeekExt`.
pub trait AsyncSeekExt: AsyncSeek {
    /// Moves the cursor; returns the new position from the start.
    fn seek(&mut self, pos: SeekFrom) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        Seek { seeker: self, pos }
    }

    /// Moves the cursor back to the start.
    fn rewind(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(SeekFrom::Start(0))
    }

    /// The current position from the start.
    fn stream_position(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(SeekFrom::Current(0))
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}

io_future! {
    /// Future of [`AsyncSeekExt::seek`].
    pub struct Seek<'a, S: AsyncSeek> {
        seeker: &'a mut S,
        pos: SeekFrom,
    }
    fn poll(this, cx) -> u64 {
        Pin::new(&mut *this.seeker).poll_seek(cx, this.pos)
    }
}
