//! minirt: a small async runtime for Linux, written from scratch on epoll.
//!
//! ```no_run
//! use minirt::io::{AsyncReadExt, AsyncWriteExt};
//! use minirt::net::TcpListener;
//!
//! #[minirt::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:7000").await?;
//!     loop {
//!         let (mut stream, _) = listener.accept().await?;
//!         minirt::spawn(async move {
//!             let mut buf = [0u8; 4096];
//!             loop {
//!                 let n = stream.read(&mut buf).await?;
//!                 if n == 0 {
//!                     return Ok::<_, std::io::Error>(());
//!                 }
//!                 stream.write_all(&buf[..n]).await?;
//!             }
//!         });
//!     }
//! }
//! ```
//!
//! The names are tokio's, so a port is mostly a rename. This crate only re-exports the parts:
//!
//! - [`runtime`], [`task`], [`io`], [`spawn`]: from `minirt-runtime` (reactor, scheduler,
//!   tasks, I/O traits, [`io::AsyncFd`]) and [`time`] (sleep, timeout, interval);
//! - [`net`]: from `minirt-net` (TCP sockets, built on `AsyncFd` alone);
//! - [`fs`] and the standard streams in [`io`]: from `minirt-net` (files on the blocking pool,
//!   stdin on epoll when it is a pipe);
//! - [`main`] and [`test`]: from `minirt-macros`.
//!
//! The path of one read, from the kernel to your task: `net::TcpStream::poll_read` tries
//! `recv`; on `EAGAIN` the reactor clears the socket's cached readiness and keeps the task's
//! waker; the scheduler's loop, idle, parks in `epoll_wait`; the kernel reports `EPOLLIN` for
//! the socket's token; the reactor sets the readiness bit and wakes the waker; the task goes
//! back on the run queue and its next poll's `recv` returns the bytes.

#![deny(missing_docs)]

pub use minirt_macros::{main, test};

/// Compile-fail tests of `#[minirt::main]` / `#[minirt::test]` misuse (doctests only).
#[doc(hidden)]
pub mod macro_errors;
pub use minirt_runtime::{runtime, spawn, task, time};

/// Async I/O: the traits, readiness over any fd ([`io::AsyncFd`]), and the standard streams
/// ([`io::stdin`], [`io::stdout`], [`io::stderr`], from `minirt-net`).
pub mod io {
    pub use minirt_net::stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
    pub use minirt_runtime::io::*;
}

pub use minirt_net::{fs, process, signal};

/// Sockets: TCP listeners and streams.
pub mod net {
    pub use minirt_net::tcp;
    pub use minirt_net::{lookup_host, TcpListener, TcpStream, ToSocketAddrs};
}
