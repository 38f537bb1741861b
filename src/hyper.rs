//! hyper 1 on minirt (feature `hyper`): the three pieces hyper's `rt` module asks a runtime for.
//!
//! - [`Io`] wraps a minirt stream (`net::TcpStream`, `net::UnixStream`, their read halves:
//!   anything [`AsyncReadUninit`] + `AsyncWrite`) as a `hyper::rt::Read + Write`, so hyper's
//!   connection builders accept it. hyper hands each read a buffer that may be uninitialised;
//!   `Io` has the stream `recv(2)` straight into it (no zeroing first) and marks the bytes read
//!   as filled. (A tokio-io stream, a `tokio_rustls` one say, goes in through
//!   `minirt::tokio_io::Compat` with feature `tokio-io`; any other `futures-io` stream through
//!   [`ZeroFill`](crate::io::ZeroFill), which zeroes the buffer before each read.)
//! - [`Executor`] spawns hyper's background futures (HTTP/2 streams, client connections) with
//!   [`crate::spawn`].
//! - [`Timer`] gives hyper minirt sleeps (header-read timeouts, HTTP/2 keep-alive).
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use minirt::hyper::{Io, Timer};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("hello\n"))))
//! }
//!
//! #[minirt::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = minirt::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         minirt::spawn(async move {
//!             let _ = hyper::server::conn::http1::Builder::new()
//!                 .timer(Timer)
//!                 .serve_connection(Io::new(stream), hyper::service::service_fn(hello))
//!                 .await;
//!         });
//!     }
//! }
//! ```

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::io::{AsyncRead, AsyncReadUninit, AsyncWrite};

/// A minirt stream as hyper's `Read + Write`. Also a `futures-io` stream itself (for code that
/// takes the wrapper back).
#[derive(Debug)]
pub struct Io<T> {
    inner: T,
}

impl<T> Io<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Io { inner }
    }

    /// The wrapped stream.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped stream, back.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncReadUninit + Unpin> hyper::rt::Read for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: the reader only writes initialised bytes into the unfilled part
        // (`AsyncReadUninit`'s contract), so nothing hyper sees as initialised is
        // de-initialised.
        let dst = unsafe { buf.as_mut() };
        let n = ready!(Pin::new(&mut self.get_mut().inner).poll_read_uninit(cx, dst))?;
        // SAFETY: `AsyncReadUninit` promises `n <= dst.len()` and that the reader wrote the
        // first `n` bytes of `dst`, which are the `n` bytes `advance` marks filled.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for Io<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Io<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

/// hyper's executor on minirt: spawns each future with [`crate::spawn`] (so it needs a
/// running minirt runtime, as `spawn` does).
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor;

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        // Detached: hyper watches its own futures.
        drop(crate::spawn(fut));
    }
}

/// hyper's timer on minirt: [`crate::time::sleep`] behind hyper's `Sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer;

pin_project! {
    /// A minirt [`Sleep`](crate::time::Sleep) as hyper's `Sleep` (which hyper boxes: the
    /// sleep lives in that one allocation).
    #[derive(Debug)]
    struct HyperSleep {
        #[pin]
        inner: crate::time::Sleep,
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep { inner: crate::time::sleep(duration) })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep { inner: crate::time::sleep_until(deadline.into()) })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => ours.project().inner.reset(new_deadline.into()),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
