//! The datagram operations UDP and Unix datagram sockets share, on [`Registered`], and
//! `datagram_api!`, which gives `UdpSocket` and `UnixDatagram` their common public surface
//! (`send`, `recv`, `recv_from` in their async, poll and try forms) as thin wrappers over it.
//!
//! ```text
//!  send / send_to   ─ sendto(MSG_NOSIGNAL); EAGAIN (send buffer, or a Unix peer's queue, full)
//!                     waits for EPOLLOUT
//!  recv / recv_from ─ recvfrom; EAGAIN waits for EPOLLIN: a datagram arrived; the sender's
//!                     kernel address becomes the family's (`Family::addr`)
//! ```
//!
//! Each `async` method waits in a place of its own in the socket's waiter list (any number of
//! tasks at once); the `poll_*` ones keep one waker per direction. What differs (resolving or
//! naming a destination, options, `peek` on UDP) stays in `udp.rs` and `unix/datagram.rs`.

use std::io;
use std::task::{Context, Poll};

use minirt_runtime::io::Interest;

use crate::registered::{Family, Registered};
use crate::sys::{RawAddr, Socket};

impl<F: Family> Registered<F> {
    pub(crate) async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io().async_io(Interest::WRITABLE, |socket| socket.send(buf)).await
    }

    pub(crate) fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io().poll_io(cx, Interest::WRITABLE, || self.socket().send(buf))
    }

    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io().async_io(Interest::READABLE, |socket| socket.recv(buf, 0)).await
    }

    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io().poll_io(cx, Interest::READABLE, || self.socket().recv(buf, 0))
    }

    pub(crate) async fn recv_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io().async_io(Interest::READABLE, |socket| socket.recv_into_spare(buf, 0)).await
    }

    pub(crate) async fn send_to(&self, buf: &[u8], addr: &RawAddr) -> io::Result<usize> {
        self.io().async_io(Interest::WRITABLE, |socket| socket.send_to_raw(buf, addr)).await
    }

    pub(crate) fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        addr: &RawAddr,
    ) -> Poll<io::Result<usize>> {
        self.io().poll_io(cx, Interest::WRITABLE, || self.socket().send_to_raw(buf, addr))
    }

    pub(crate) fn try_send_to(&self, buf: &[u8], addr: &RawAddr) -> io::Result<usize> {
        self.io().try_io(Interest::WRITABLE, |socket| socket.send_to_raw(buf, addr))
    }

    /// `recvfrom` with `flags` (0, or `MSG_PEEK` to leave the datagram queued).
    pub(crate) async fn recv_from(
        &self,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> io::Result<(usize, F::Addr)> {
        let read = |socket: &Socket| sender::<F>(socket.recv_from_raw(buf, flags));
        self.io().async_io(Interest::READABLE, read).await
    }

    pub(crate) fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> Poll<io::Result<(usize, F::Addr)>> {
        self.io().poll_io(cx, Interest::READABLE, || {
            sender::<F>(self.socket().recv_from_raw(buf, flags))
        })
    }

    pub(crate) fn try_recv_from(
        &self,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> io::Result<(usize, F::Addr)> {
        self.io().try_io(Interest::READABLE, |socket| sender::<F>(socket.recv_from_raw(buf, flags)))
    }

    pub(crate) async fn recv_buf_from(&self, buf: &mut Vec<u8>) -> io::Result<(usize, F::Addr)> {
        let read = |socket: &Socket| sender::<F>(socket.recv_from_raw_into_spare(buf, 0));
        self.io().async_io(Interest::READABLE, read).await
    }

    pub(crate) fn try_recv_buf_from(&self, buf: &mut Vec<u8>) -> io::Result<(usize, F::Addr)> {
        self.io().try_io(Interest::READABLE, |socket| {
            sender::<F>(socket.recv_from_raw_into_spare(buf, 0))
        })
    }
}

/// A received length and the sender, named in family `F`.
fn sender<F: Family>(received: io::Result<(usize, RawAddr)>) -> io::Result<(usize, F::Addr)> {
    let (n, addr) = received?;
    Ok((n, F::addr(addr)?))
}

/// The public methods `UdpSocket` and `UnixDatagram` share (with `socket_api!`'s), thin
/// wrappers over their `inner: Registered<F>`:
/// `datagram_api!(UdpSocket, std::net::UdpSocket, SocketAddr)`.
macro_rules! datagram_api {
    ($Type:ident, $Std:ty, $Addr:ty) => {
        $crate::registered::socket_api!($Type, $Std, $Addr);

        impl $Type {
            /// Waits until a datagram can be received (or an error is pending); then try
            /// [`try_recv`](Self::try_recv).
            pub async fn readable(&self) -> std::io::Result<()> {
                self.inner.io().readable().await.map(drop)
            }

            /// Waits until a datagram can be sent (the send buffer, or a Unix peer's queue, has
            /// room, or an error is pending); then try [`try_send`](Self::try_send).
            pub async fn writable(&self) -> std::io::Result<()> {
                self.inner.io().writable().await.map(drop)
            }

            /// Poll form of [`readable`](Self::readable) (one waker per direction).
            pub fn poll_recv_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.inner.io().poll_read_ready(cx).map_ok(drop)
            }

            /// Poll form of [`writable`](Self::writable) (one waker per direction).
            pub fn poll_send_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.inner.io().poll_write_ready(cx).map_ok(drop)
            }

            /// Sends one datagram to the connected peer.
            pub async fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.inner.send(buf).await
            }

            /// Poll form of [`send`](Self::send).
            pub fn poll_send(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_send(cx, buf)
            }

            /// Sends without waiting: `WouldBlock` if the send buffer (for a Unix socket, the
            /// peer's queue) is full.
            pub fn try_send(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.inner.try_send(buf)
            }

            /// Receives one datagram from the connected peer. A datagram longer than `buf` is
            /// truncated (the rest is lost, as with `recv(2)`).
            pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.inner.recv(buf).await
            }

            /// Poll form of [`recv`](Self::recv).
            pub fn poll_recv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_recv(cx, buf)
            }

            /// Receives without waiting: `WouldBlock` if no datagram is queued.
            pub fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.inner.try_recv(buf)
            }

            /// Receives one datagram from the connected peer into the spare capacity of
            /// `buf`, appending it (a full vector grows by 64 bytes first; a longer datagram
            /// is truncated to the spare capacity). Tokio's `recv_buf`, with a `Vec<u8>` for
            /// its `BufMut`.
            pub async fn recv_buf(&self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
                self.inner.recv_buf(buf).await
            }

            /// [`recv_buf`](Self::recv_buf) without waiting: `WouldBlock` if no datagram is
            /// queued.
            pub fn try_recv_buf(&self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
                self.inner.try_recv_buf(buf)
            }

            /// Receives one datagram and the address that sent it (for a Unix socket,
            /// unnamed if the sender was not bound).
            pub async fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, $Addr)> {
                self.inner.recv_from(buf, 0).await
            }

            /// Poll form of [`recv_from`](Self::recv_from).
            pub fn poll_recv_from(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<(usize, $Addr)>> {
                self.inner.poll_recv_from(cx, buf, 0)
            }

            /// Receives a datagram and its sender without waiting.
            pub fn try_recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, $Addr)> {
                self.inner.try_recv_from(buf, 0)
            }

            /// [`recv_from`](Self::recv_from) into the spare capacity of `buf` (see
            /// [`recv_buf`](Self::recv_buf)).
            pub async fn recv_buf_from(
                &self,
                buf: &mut Vec<u8>,
            ) -> std::io::Result<(usize, $Addr)> {
                self.inner.recv_buf_from(buf).await
            }

            /// [`recv_buf_from`](Self::recv_buf_from) without waiting.
            pub fn try_recv_buf_from(&self, buf: &mut Vec<u8>) -> std::io::Result<(usize, $Addr)> {
                self.inner.try_recv_buf_from(buf)
            }
        }
    };
}
pub(crate) use datagram_api;
