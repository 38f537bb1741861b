//! [`AsyncBufReadExt`]: tokio's line- and delimiter-oriented methods over any
//! [`AsyncBufRead`] (a [`BufReader`](super::BufReader), a `&[u8]`, ...), and the [`Lines`] and
//! [`Split`] readers.
//!
//! All of them run one loop, [`read_until_internal`]: ask the reader for its buffer, look for
//! the delimiter, move what comes before it (and it) into the caller's `Vec`, `consume` that
//! much, and repeat until the delimiter or end of stream. The bytes moved so far live in a
//! buffer that survives a `Pending` (and, for `Lines`/`Split`, an error or a cancelled call), so
//! nothing read is lost.

use std::future::Future;
use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_io::AsyncBufRead;
use pin_project_lite::pin_project;

use super::ext::{io_future, retry_interrupted};

/// Line- and delimiter-oriented methods for every [`AsyncBufRead`], named as in tokio's
/// `AsyncBufReadExt`.
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Reads until `byte` (included) or end of stream, appending to `buf`; returns the number of
    /// bytes appended (0 at end of stream). Cancelling keeps what was read in `buf`.
    fn read_until<'a>(&'a mut self, byte: u8, buf: &'a mut Vec<u8>) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntil { reader: self, byte, buf, read: 0 }
    }

    /// Reads until `\n` (included) or end of stream, appending to `buf`; returns the number of
    /// bytes appended (0 at end of stream). Not UTF-8: `InvalidData` and `buf` unchanged. An I/O
    /// error keeps the valid part of what was read in `buf`.
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        ReadLine { reader: self, output: buf, bytes: Vec::new(), read: 0 }
    }

    /// The lines of this reader, without their `\n` or `\r\n`; see [`Lines::next_line`].
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines { reader: self, buf: Vec::new(), read: 0 }
    }

    /// The segments of this reader between `byte`s, without the delimiter; see
    /// [`Split::next_segment`].
    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Sized,
    {
        Split { reader: self, delim: byte, buf: Vec::new(), read: 0 }
    }

    /// The reader's buffered bytes, filling the buffer first if it is empty (an empty slice is
    /// end of stream). Call [`consume`](AsyncBufReadExt::consume) for what you used.
    fn fill_buf(&mut self) -> FillBuf<'_, Self>
    where
        Self: Unpin,
    {
        FillBuf { reader: Some(self) }
    }

    /// Marks `amt` bytes of the buffer returned by `fill_buf` as used.
    fn consume(&mut self, amt: usize)
    where
        Self: Unpin,
    {
        Pin::new(self).consume(amt)
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Moves bytes from `reader` into `buf` up to and including `delim`, or to end of stream.
/// Returns the bytes moved by this call and its earlier `Pending`/error polls (`*read`, then
/// reset).
pub(crate) fn read_until_internal<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    delim: u8,
    buf: &mut Vec<u8>,
    read: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        let (found, used) = {
            let available = retry_interrupted!(reader.as_mut().poll_fill_buf(cx))?;
            match find_byte(delim, available) {
                Some(i) => {
                    buf.extend_from_slice(&available[..=i]);
                    (true, i + 1)
                }
                None => {
                    buf.extend_from_slice(available);
                    (false, available.len())
                }
            }
        };
        reader.as_mut().consume(used);
        *read += used;
        if found || used == 0 {
            return Poll::Ready(Ok(mem::replace(read, 0)));
        }
    }
}

/// The index of the first `needle` in `haystack`: a word at a time (SWAR), so a line reader
/// scans 8 bytes per step instead of one (tokio uses the `memchr` crate for this).
fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let chunks = haystack.chunks_exact(8);
    let tail = chunks.remainder();
    for (i, chunk) in chunks.enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word) ^ pattern;
        // Non-zero exactly when some byte of `x` is zero, i.e. some byte equals `needle`.
        if x.wrapping_sub(LO) & !x & HI != 0 {
            return chunk.iter().position(|&b| b == needle).map(|p| i * 8 + p);
        }
    }
    let base = haystack.len() - tail.len();
    tail.iter().position(|&b| b == needle).map(|p| base + p)
}

io_future! {
    /// Future of [`AsyncBufReadExt::read_until`].
    pub struct ReadUntil<'a, R: AsyncBufRead> {
        reader: &'a mut R,
        byte: u8,
        buf: &'a mut Vec<u8>,
        read: usize,
    }
    fn poll(this, cx) -> usize {
        read_until_internal(Pin::new(&mut *this.reader), cx, this.byte, this.buf, &mut this.read)
    }

    /// Future of [`AsyncBufReadExt::read_line`].
    pub struct ReadLine<'a, R: AsyncBufRead> {
        reader: &'a mut R,
        output: &'a mut String,
        bytes: Vec<u8>,
        read: usize,
    }
    fn poll(this, cx) -> usize {
        let io_result = ready!(read_until_internal(
            Pin::new(&mut *this.reader),
            cx,
            b'\n',
            &mut this.bytes,
            &mut this.read
        ));
        // Validate the output as a whole (as tokio does), so a `Utf8Error` counts from the
        // start of the caller's string; on failure the caller's string is put back as it was.
        let mut all = mem::take(this.output).into_bytes();
        let original_len = all.len();
        let appended = this.bytes.len();
        all.append(&mut this.bytes);
        let (text, utf8_error) = match String::from_utf8(all) {
            Ok(text) => (text, None),
            Err(e) => {
                let error = e.utf8_error();
                let mut bytes = e.into_bytes();
                bytes.truncate(original_len);
                (String::from_utf8(bytes).unwrap_or_default(), Some(error))
            }
        };
        *this.output = text;
        Poll::Ready(match (io_result, utf8_error) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(error)) => Err(io::Error::new(io::ErrorKind::InvalidData, error)),
            (Ok(_), None) => Ok(appended),
        })
    }
}

pin_project! {
    /// The lines of a buffered reader: [`next_line`](Lines::next_line) until `None`. Also a
    /// `Stream` of `io::Result<String>`.
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Lines<R> {
        #[pin]
        reader: R,
        buf: Vec<u8>,
        read: usize,
    }
}

impl<R: AsyncBufRead> Lines<R> {
    /// The next line, without its `\n` or `\r\n`; `None` at end of stream.
    ///
    /// Cancel safe: a partial line (or one cut short by an I/O error) stays buffered for the
    /// next call. A line that is not UTF-8 is an `InvalidData` error (wrapping the
    /// `FromUtf8Error`) and is skipped.
    pub async fn next_line(&mut self) -> io::Result<Option<String>>
    where
        R: Unpin,
    {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_line(cx)).await
    }

    /// Polls for the next line; see [`next_line`](Lines::next_line).
    pub fn poll_next_line(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<String>>> {
        let this = self.project();
        let n = ready!(read_until_internal(this.reader, cx, b'\n', this.buf, this.read))?;
        if n == 0 && this.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        // Copy the line out (one exact-size allocation) and keep the buffer's capacity for the
        // next line.
        let mut end = this.buf.len();
        if end > 0 && this.buf[end - 1] == b'\n' {
            end -= 1;
            if end > 0 && this.buf[end - 1] == b'\r' {
                end -= 1;
            }
        }
        let line = this.buf[..end].to_vec();
        this.buf.clear();
        match String::from_utf8(line) {
            Ok(line) => Poll::Ready(Ok(Some(line))),
            Err(e) => Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e))),
        }
    }
}

impl<R> Lines<R> {
    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader; a partial line buffered here is lost.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> Stream for Lines<R> {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_line(cx).map(Result::transpose)
    }
}

pin_project! {
    /// The segments of a buffered reader between delimiter bytes:
    /// [`next_segment`](Split::next_segment) until `None`.
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Split<R> {
        #[pin]
        reader: R,
        delim: u8,
        buf: Vec<u8>,
        read: usize,
    }
}

impl<R: AsyncBufRead> Split<R> {
    /// The next segment, without the delimiter; `None` at end of stream. Cancel safe.
    pub async fn next_segment(&mut self) -> io::Result<Option<Vec<u8>>>
    where
        R: Unpin,
    {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_segment(cx)).await
    }

    /// Polls for the next segment; see [`next_segment`](Split::next_segment).
    pub fn poll_next_segment(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Vec<u8>>>> {
        let this = self.project();
        let n = ready!(read_until_internal(this.reader, cx, *this.delim, this.buf, this.read))?;
        if n == 0 && this.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut segment = mem::take(this.buf);
        if segment.last() == Some(this.delim) {
            segment.pop();
        }
        Poll::Ready(Ok(Some(segment)))
    }
}

impl<R: AsyncBufRead> Stream for Split<R> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_segment(cx).map(Result::transpose)
    }
}

io_future! {
    /// Future of [`AsyncBufReadExt::fill_buf`].
    pub struct FillBuf<'a, R: AsyncBufRead> {
        reader: Option<&'a mut R>,
    }
    fn poll(this, cx) -> &'a [u8] {
        let Some(reader) = this.reader.as_mut() else {
            return Poll::Ready(Err(io::Error::other("FillBuf polled after completion")));
        };
        // First poll through a short borrow; once the buffer is filled, hand it out with the
        // full lifetime by asking again: a filled buffer is returned without any I/O, so the
        // second call is immediate. (tokio extends the first borrow with `unsafe` instead.)
        retry_interrupted!(Pin::new(&mut **reader).poll_fill_buf(cx))?;
        match this.reader.take() {
            Some(reader) => Pin::new(reader).poll_fill_buf(cx),
            None => Poll::Ready(Err(io::Error::other("FillBuf polled after completion"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::find_byte;

    #[test]
    fn find_byte_matches_a_plain_scan() {
        let hay: Vec<u8> = (0..200u32).map(|i| (i * 7 % 251) as u8).collect();
        for start in 0..20 {
            for len in 0..(hay.len() - start) {
                let h = &hay[start..start + len];
                for needle in [0u8, 7, 10, 128, 250, 255] {
                    assert_eq!(find_byte(needle, h), h.iter().position(|&b| b == needle));
                }
            }
        }
        assert_eq!(find_byte(b'\n', b"abcdefgh\nxyz"), Some(8));
        assert_eq!(find_byte(0x80, &[0x7f, 0x00, 0x81, 0x80]), Some(3));
    }
}
