//! hyper 1 on minirt (feature `hyper`): the three pieces hyper's `rt` module asks a runtime for.
//!
//! - [`Io`] wraps any minirt stream (anything `futures-io` `AsyncRead + AsyncWrite`, such as
//!   `net::TcpStream`) as a `hyper::rt::Read + Write`, so hyper's connection builders accept it.
//!   hyper hands reads a buffer that may be uninitialised; `Io` zeroes (once per buffer, through
//!   hyper's own `initialize_unfilled_to`) at most 32 KiB of it, reads into that, and marks the
//!   bytes read as filled.
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

use crate::io::{AsyncRead, AsyncWrite};

/// The most of hyper's read buffer one read offers (and zeroes first, if hyper has not).
const READ_WINDOW: usize = 32 * 1024;

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

impl<T: AsyncRead + Unpin> hyper::rt::Read for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let window = buf.remaining().min(READ_WINDOW);
        let dst = buf.initialize_unfilled_to(window);
        let n = ready!(Pin::new(&mut self.get_mut().inner).poll_read(cx, dst))?;
        let n = n.min(window);
        // SAFETY: `initialize_unfilled_to(window)` initialised the first `window` unfilled
        // bytes, and `n <= window`, so the `n` bytes `advance` marks filled are initialised
        // (and hold what the reader wrote).
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

/// A minirt [`Sleep`](crate::time::Sleep) as hyper's `Sleep`.
#[derive(Debug)]
struct HyperSleep {
    inner: Pin<Box<crate::time::Sleep>>,
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep { inner: Box::pin(crate::time::sleep(duration)) })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep { inner: Box::pin(crate::time::sleep_until(deadline.into())) })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut ours) => ours.inner.as_mut().reset(new_deadline.into()),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
