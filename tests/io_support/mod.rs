//! A scripted reader/writer for the io_* tests (tokio-test's `io::Builder`, reduced): each
//! step is a chunk to read, a chunk expected to be written, an error, or one `Pending` (woken at
//! once). Running out of steps reads as end of stream; an unexpected write panics.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use minirt::io::{AsyncRead, AsyncWrite};

#[derive(Debug)]
enum Step {
    Read(Vec<u8>),
    ReadError(io::ErrorKind, String),
    Write(Vec<u8>),
    WriteError(io::ErrorKind, String),
    Pending,
}

/// Builds a [`Mock`].
#[derive(Debug, Default)]
pub struct Builder {
    steps: VecDeque<Step>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    pub fn read(&mut self, data: &[u8]) -> &mut Self {
        self.steps.push_back(Step::Read(data.to_vec()));
        self
    }

    pub fn read_error(&mut self, kind: io::ErrorKind, msg: &str) -> &mut Self {
        self.steps.push_back(Step::ReadError(kind, msg.to_string()));
        self
    }

    pub fn write(&mut self, data: &[u8]) -> &mut Self {
        self.steps.push_back(Step::Write(data.to_vec()));
        self
    }

    pub fn write_error(&mut self, kind: io::ErrorKind, msg: &str) -> &mut Self {
        self.steps.push_back(Step::WriteError(kind, msg.to_string()));
        self
    }

    /// The next operation returns `Pending` once (and wakes its task at once).
    pub fn pending(&mut self) -> &mut Self {
        self.steps.push_back(Step::Pending);
        self
    }

    pub fn build(&mut self) -> Mock {
        Mock { steps: std::mem::take(&mut self.steps) }
    }
}

/// The scripted stream.
#[derive(Debug)]
pub struct Mock {
    steps: VecDeque<Step>,
}

impl Mock {
    /// Whether every step was used.
    pub fn is_done(&self) -> bool {
        self.steps.is_empty()
    }
}

impl AsyncRead for Mock {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.steps.pop_front() {
            None => Poll::Ready(Ok(0)),
            Some(Step::Read(mut data)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                if n < data.len() {
                    self.steps.push_front(Step::Read(data.split_off(n)));
                }
                Poll::Ready(Ok(n))
            }
            Some(Step::ReadError(kind, msg)) => Poll::Ready(Err(io::Error::new(kind, msg))),
            Some(Step::Pending) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(step) => panic!("read while the script expects {step:?}"),
        }
    }
}

impl AsyncWrite for Mock {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.steps.pop_front() {
            Some(Step::Write(mut expected)) => {
                let n = expected.len().min(buf.len());
                assert_eq!(&buf[..n], &expected[..n], "unexpected bytes written");
                if n < expected.len() {
                    self.steps.push_front(Step::Write(expected.split_off(n)));
                }
                Poll::Ready(Ok(n))
            }
            Some(Step::WriteError(kind, msg)) => Poll::Ready(Err(io::Error::new(kind, msg))),
            Some(Step::Pending) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            None if buf.is_empty() => Poll::Ready(Ok(0)),
            other => panic!("write of {buf:?} while the script expects {other:?}"),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
