//! Splitting a [`TcpStream`] into a read half and a write half: the halves `crate::stream`
//! gives every stream, and `peek` on the read halves.

use std::io;
use std::task::{Context, Poll};

use super::TcpStream;
use crate::stream::stream_halves;

stream_halves!(TcpStream, std::net::SocketAddr);

impl ReadHalf<'_> {
    /// Reads without consuming (see [`TcpStream::peek`]).
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.peek(buf).await
    }

    /// Poll form of [`ReadHalf::peek`] (see [`TcpStream::poll_peek`]).
    pub fn poll_peek(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }
}

impl OwnedReadHalf {
    /// Reads without consuming (see [`TcpStream::peek`]).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf).await
    }

    /// Poll form of [`OwnedReadHalf::peek`] (see [`TcpStream::poll_peek`]).
    pub fn poll_peek(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_peek(cx, buf)
    }
}
