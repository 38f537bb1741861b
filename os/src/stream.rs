//! The byte-stream operations TCP and Unix streams share, on [`Registered`], and two macros
//! that give `TcpStream` and `UnixStream` their common public surface as thin wrappers over
//! it: `stream_api!` (the `try_*`, readiness and io-trait methods) and `stream_halves!` (the
//! borrowed and owned halves of a split, and `ReuniteError`).
//!
//! ```text
//!  TcpStream { inner: Registered<Inet> }      UnixStream { inner: Registered<Unix> }
//!        │ stream_api! / stream_halves!
//!        ▼
//!  Registered<F>  ─ try_* (one syscall, readiness cleared on EAGAIN), async waits (any
//!                   number of tasks), poll_* (one waker per direction; the io traits go
//!                   through `transfer::poll_transfer`)
//! ```
//!
//! What differs between the two (connecting, `TCP_NODELAY`, `SO_PEERCRED`, socket pairs) stays
//! in `tcp/` and `unix/`. Both halves of a split share the stream's socket and registration:
//! the reactor keeps one waker per direction for the io traits, so a reader task and a writer
//! task never overwrite each other's.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::task::{Context, Poll};

use minirt_runtime::io::{Interest, Ready};

use crate::registered::{Family, Registered};
use crate::sys::Socket;
use crate::transfer::poll_transfer;

impl<F: Family> Registered<F> {
    /// A stream `accept` returned: assumed readable and writable, so its first read tries the
    /// socket (the client's request is usually there already) instead of waiting a loop turn
    /// for the event epoll would report. tokio 1.54 does the same.
    pub(crate) fn from_accepted(socket: Socket) -> io::Result<Registered<F>> {
        let stream = Registered::new(socket)?;
        stream.io().assume_ready(Ready::READABLE | Ready::WRITABLE);
        Ok(stream)
    }

    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io().try_io(Interest::READABLE, |socket| socket.recv_vectored(bufs))
    }

    #[cfg(feature = "bytes")]
    pub(crate) fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io().try_io(Interest::READABLE, |socket| socket.recv_into_buf_mut(buf, 0))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io().try_io(Interest::WRITABLE, |socket| socket.send_vectored(bufs))
    }

    // The three io-trait operations stay out of line, each with `poll_transfer` inlined into
    // it (its `interest` a constant there): inlined instead into the io traits of a stream and
    // its halves, LLVM keeps `poll_transfer` out of line and a read or write costs about six
    // instructions more (callgrind, benches/tcp.rs and unix.rs).
    //
    // Every read goes through `poll_read_uninit`, the one that takes memory that may be
    // uninitialised (hyper's buffer, tokio's `ReadBuf`): `recv(2)` writes into it as it is.
    #[inline(never)]
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        poll_transfer(self.io(), cx, Interest::READABLE, buf.len(), |socket| {
            socket.recv_uninit(buf, 0)
        })
    }

    #[inline]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and `poll_read_uninit`
        // only lets the kernel write bytes into it, so `buf` stays initialised.
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        self.poll_read_uninit(cx, buf)
    }

    #[inline(never)]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_transfer(self.io(), cx, Interest::WRITABLE, buf.len(), |socket| socket.send(buf))
    }

    #[inline(never)]
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        poll_transfer(self.io(), cx, Interest::WRITABLE, len, |socket| socket.send_vectored(bufs))
    }

    /// `shutdown(2)`, with `NotConnected` taken as done, as tokio does: the connection is
    /// already shut (by a reset or the peer closing), and whether the kernel says so depends on
    /// a race with it.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self.socket().shutdown(how) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            result => result,
        }
    }
}

/// The public methods and trait impls `TcpStream` and `UnixStream` share, each a thin wrapper
/// over their `inner: Registered<F>` (with `socket_api!`'s):
/// `stream_api!(TcpStream, std::net::TcpStream, SocketAddr)`
/// in the module that defines the type (its `split` module must hold the halves).
macro_rules! stream_api {
    ($Stream:ident, $Std:ty, $Addr:ty) => {
        impl $Stream {
            /// Waits until the stream is readable (data, EOF, or an error); then try
            /// [`try_read`](Self::try_read).
            pub async fn readable(&self) -> std::io::Result<()> {
                self.inner.io().readable().await.map(drop)
            }

            /// Waits until the send buffer has room (or an error); then try
            /// [`try_write`](Self::try_write).
            pub async fn writable(&self) -> std::io::Result<()> {
                self.inner.io().writable().await.map(drop)
            }

            /// Poll form of [`readable`](Self::readable) (one waker per direction).
            pub fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.inner.io().poll_read_ready(cx).map_ok(drop)
            }

            /// Poll form of [`writable`](Self::writable) (one waker per direction).
            pub fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.inner.io().poll_write_ready(cx).map_ok(drop)
            }

            /// Reads without waiting: `WouldBlock` if no data is ready. `Ok(0)` is EOF.
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.inner.try_recv(buf)
            }

            /// Reads into several buffers in one syscall, without waiting. `Ok(0)` is EOF.
            pub fn try_read_vectored(
                &self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.inner.try_read_vectored(bufs)
            }

            /// Reads without waiting into the spare capacity of `buf`, appending what arrived
            /// (a full vector grows first, so `Ok(0)` is still EOF). Tokio's `try_read_buf`,
            /// with a `Vec<u8>` for its `BufMut` (see PORTING.md).
            #[cfg(not(feature = "bytes"))]
            pub fn try_read_buf(&self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
                self.inner.try_recv_buf(buf)
            }

            /// Reads without waiting into a `bytes::BufMut` (a `Vec<u8>` or a `BytesMut`),
            /// advancing it past what arrived: tokio's `try_read_buf` signature (feature
            /// `bytes`).
            #[cfg(feature = "bytes")]
            pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
                self.inner.try_read_buf(buf)
            }

            /// Writes without waiting: `WouldBlock` if the send buffer is full; `EPIPE` if the
            /// peer closed (never `SIGPIPE`).
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.inner.try_send(buf)
            }

            /// Writes from several buffers in one syscall, without waiting.
            pub fn try_write_vectored(
                &self,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::io::Result<usize> {
                self.inner.try_write_vectored(bufs)
            }

            /// Borrowed halves, usable at the same time within one task (for example in a
            /// `join`).
            pub fn split(&mut self) -> (split::ReadHalf<'_>, split::WriteHalf<'_>) {
                (split::ReadHalf(self), split::WriteHalf(self))
            }

            /// Owned halves that can move into two different tasks. Dropping the write half
            /// shuts the write direction down;
            /// [`OwnedReadHalf::reunite`](split::OwnedReadHalf::reunite) puts them back
            /// together.
            pub fn into_split(self) -> (split::OwnedReadHalf, split::OwnedWriteHalf) {
                split::into_split(std::sync::Arc::new(self))
            }
        }

        $crate::registered::socket_api!($Stream, $Std, $Addr);
        $crate::stream::stream_io_traits!($Stream);
        $crate::stream::stream_io_traits!(&$Stream);
    };
}
pub(crate) use stream_api;

/// `futures-io`'s `AsyncRead` and `AsyncWrite` and minirt's `AsyncReadUninit` for `$ty`,
/// through `$inner`, the [`Registered`] it reads (`self.inner` of a stream, `self.0.inner` of a
/// borrowed half, ...); with feature `tokio-io`, tokio's io traits too, through these (the
/// runtime's adapters; a tokio read goes through `AsyncReadUninit`, with no zeroing).
macro_rules! stream_io_traits {
    ($ty:ty) => {
        $crate::stream::stream_io_traits!(@read $ty, |s| s.inner);
        $crate::stream::stream_io_traits!(@write $ty, |s| s.inner);
    };
    (@read $ty:ty, |$s:ident| $inner:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $inner.poll_read(cx, buf)
            }
        }

        // SAFETY: `poll_read_uninit` reads with `recv(2)`, which only writes into `buf`, and
        // reports the bytes it wrote (at most `buf.len()`).
        unsafe impl minirt_runtime::io::AsyncReadUninit for $ty {
            fn poll_read_uninit(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $inner.poll_read_uninit(cx, buf)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                minirt_runtime::io::tokio_io::poll_read_tokio_uninit(self, cx, buf)
            }
        }
    };
    (@write $ty:ty, |$s:ident| $inner:expr) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $inner.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $inner.poll_write_vectored(cx, bufs)
            }

            /// Nothing to flush: every write goes straight to the kernel.
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            /// Shuts the write half down (FIN): the peer reads EOF; reading stays possible.
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                std::task::Poll::Ready($inner.shutdown(std::net::Shutdown::Write))
            }
        }

        #[cfg(feature = "tokio-io")]
        minirt_runtime::tokio_io_via_futures_io!(@write [] $ty where []);
    };
}
pub(crate) use stream_io_traits;

/// The halves of a `$Stream` (borrowed and owned) and `ReuniteError`, in its `split` module:
/// `stream_halves!(TcpStream, SocketAddr)`.
macro_rules! stream_halves {
    ($Stream:ident, $Addr:ty) => {
        #[doc = concat!("The read half of [`", stringify!($Stream), "::split`].")]
        #[derive(Debug)]
        pub struct ReadHalf<'a>(pub(super) &'a $Stream);

        #[doc = concat!("The write half of [`", stringify!($Stream), "::split`].")]
        #[derive(Debug)]
        pub struct WriteHalf<'a>(pub(super) &'a $Stream);

        #[doc = concat!(
            "The read half of [`", stringify!($Stream), "::into_split`]; can move to another task."
        )]
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: std::sync::Arc<$Stream>,
        }

        #[doc = concat!(
            "The write half of [`", stringify!($Stream), "::into_split`]; can move to another task."
        )]
        /// Dropping it shuts the write direction down (the peer reads EOF), unless
        /// [`OwnedWriteHalf::forget`] was called.
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: std::sync::Arc<$Stream>,
            shutdown_on_drop: bool,
        }

        pub(super) fn into_split(
            stream: std::sync::Arc<$Stream>,
        ) -> (OwnedReadHalf, OwnedWriteHalf) {
            (
                OwnedReadHalf { inner: stream.clone() },
                OwnedWriteHalf { inner: stream, shutdown_on_drop: true },
            )
        }

        /// [`OwnedReadHalf::reunite`] was given halves of two different streams.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        impl OwnedReadHalf {
            /// Puts the halves back together into the original stream.
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$Stream, ReuniteError> {
                reunite(self, other)
            }

            /// The other end's address.
            pub fn peer_addr(&self) -> std::io::Result<$Addr> {
                self.inner.peer_addr()
            }

            /// This end's address.
            pub fn local_addr(&self) -> std::io::Result<$Addr> {
                self.inner.local_addr()
            }

            /// Waits until the stream is readable.
            pub async fn readable(&self) -> std::io::Result<()> {
                self.inner.readable().await
            }

            #[doc = concat!("Reads without waiting (see [`", stringify!($Stream), "::try_read`]).")]
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.inner.try_read(buf)
            }
        }

        impl OwnedWriteHalf {
            /// Puts the halves back together into the original stream.
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$Stream, ReuniteError> {
                reunite(other, self)
            }

            /// Drops the half without shutting the write direction down.
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }

            /// The other end's address.
            pub fn peer_addr(&self) -> std::io::Result<$Addr> {
                self.inner.peer_addr()
            }

            /// This end's address.
            pub fn local_addr(&self) -> std::io::Result<$Addr> {
                self.inner.local_addr()
            }

            /// Waits until the stream is writable.
            pub async fn writable(&self) -> std::io::Result<()> {
                self.inner.writable().await
            }

            #[doc = concat!(
                "Writes without waiting (see [`", stringify!($Stream), "::try_write`])."
            )]
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.inner.try_write(buf)
            }
        }

        fn reunite(
            read: OwnedReadHalf,
            mut write: OwnedWriteHalf,
        ) -> Result<$Stream, ReuniteError> {
            if !std::sync::Arc::ptr_eq(&read.inner, &write.inner) {
                return Err(ReuniteError(read, write));
            }
            write.shutdown_on_drop = false;
            let inner = write.inner.clone();
            drop(write);
            drop(read);
            Ok(std::sync::Arc::into_inner(inner)
                .expect("both halves were dropped, so this is the last reference"))
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // The connection may already be gone (reset, closed); nothing to report
                    // from a drop.
                    let _ = self.inner.inner.shutdown(std::net::Shutdown::Write);
                }
            }
        }

        $crate::stream::stream_io_traits!(@read ReadHalf<'_>, |s| s.0.inner);
        $crate::stream::stream_io_traits!(@read OwnedReadHalf, |s| s.inner.inner);
        $crate::stream::stream_io_traits!(@write WriteHalf<'_>, |s| s.0.inner);
        $crate::stream::stream_io_traits!(@write OwnedWriteHalf, |s| s.inner.inner);
    };
}
pub(crate) use stream_halves;
