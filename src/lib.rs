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
//! # How to read this code
//!
//! minirt is written to be read, from the syscall to the woken task. Read the files in this
//! order; each answers one question.
//!
//! | # | file | the question it answers |
//! |---|---|---|
//! | 1 | `runtime/src/sys.rs` | What are the syscalls: `epoll_create1`, `epoll_ctl`, `epoll_wait`, `eventfd`? (the only raw calls of the runtime) |
//! | 2 | `os/src/sys/socket.rs` | What does a non-blocking socket look like: `socket`, `bind`, `listen`, `accept4`, `connect` (`EINPROGRESS`), `send` with `MSG_NOSIGNAL`, `SO_ERROR`? |
//! | 3 | `runtime/src/reactor/` | How does "the kernel says fd 7 is readable" become "this task is woken"? (tokens, the cached readiness word, the waiter slots, edge-triggered epoll) |
//! | 4 | `runtime/src/io/async_fd.rs` | What does an I/O type need from the runtime? ([`io::AsyncFd`]: wait for readiness, try the syscall, clear on `EAGAIN`) |
//! | 5 | `os/src/tcp/` (`listener.rs`, `stream.rs`), then `os/src/registered.rs` and `os/src/stream.rs` | How are `accept`, `connect`, `read` and `write` built on `AsyncFd` alone, and what do TCP and Unix streams share? |
//! | 6 | `runtime/src/task/` (`cell.rs`, `state.rs`, `join.rs`) | What is a task, what is its waker, and what does waking it do? |
//! | 7 | `runtime/src/scheduler/` | When does the loop run tasks, when does it look at epoll, when does it sleep in `epoll_wait`, and how does another thread wake it? |
//! | 8 | `runtime/src/timer/` and `runtime/src/time/sleep.rs` | How does a `sleep` become the timeout of `epoll_wait`? |
//! | 9 | `runtime/src/context.rs` | Which runtime is this thread in, and how does the coop budget keep one busy task from starving the others? |
//! | 10 | `runtime/src/trace.rs` | How do I watch all of this happen? (`MINIRT_TRACE=1`: one line per step on stderr) |
//!
//! Then `docs/CONCEPTS.md` maps each socket and epoll concept (readable and writable
//! conditions, the accept queue, wait queues and epoll's ready list, level vs edge triggering)
//! to the symbol that implements it and to a test in `tests/concepts.rs` that shows it on a real
//! socket, first through raw `epoll_wait`, then through this crate.
//!
//! # What is in this crate
//!
//! The names are tokio's, so a port is mostly a rename. This crate only re-exports the parts:
//!
//! - [`runtime`], [`task`], [`io`], [`spawn`]: from `minirt-runtime` (reactor, scheduler,
//!   tasks, I/O traits, [`io::AsyncFd`]), [`time`] (sleep, timeout, interval) and [`sync`]
//!   (channels and locks);
//! - [`net`]: from `minirt-os` (TCP sockets, built on `AsyncFd` alone);
//! - [`fs`] and the standard streams in [`io`]: from `minirt-os` (files on the blocking pool,
//!   stdin on epoll when it is a pipe);
//! - [`main`] and [`test`]: from `minirt-macros`;
//! - [`select!`], [`join!`], [`try_join!`], [`pin!`] (declarative macros) and [`task_local!`];
//! - with features: `hyper` (hyper 1's `rt` traits) and `tokio_io` (tokio's io
//!   traits); [`porting`] lists what differs from tokio.
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
pub use minirt_runtime::{runtime, spawn, sync, task, task_local, time};

/// `select!`, `join!`, `try_join!`, `pin!` (declarative macros, exported at the crate root).
mod macros;

/// hyper 1 on minirt: `Io`, `Executor`, `Timer` (feature `hyper`).
#[cfg(feature = "hyper")]
pub mod hyper;

/// tokio's io traits for minirt's streams (feature `tokio-io`).
#[cfg(feature = "tokio-io")]
pub mod tokio_io;

/// Porting from tokio: every difference, each with its fix (PORTING.md; its examples are
/// doctests).
#[doc = include_str!("../PORTING.md")]
pub mod porting {}

/// What the macros call at run time; not public API.
#[doc(hidden)]
pub mod __private {
    pub use minirt_runtime::macros_support::{poll_budget_available, thread_rng_n, MaybeDone};
}

/// Async I/O: the traits, readiness over any fd ([`io::AsyncFd`]), and the standard streams
/// ([`io::stdin`], [`io::stdout`], [`io::stderr`], from `minirt-os`).
pub mod io {
    pub use minirt_os::stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
    pub use minirt_runtime::io::*;
}

pub use minirt_os::{fs, process, signal};

/// Sockets: TCP listeners, streams and unconnected sockets; UDP sockets; Unix-domain
/// listeners, streams and datagram sockets.
pub mod net {
    pub use minirt_os::{lookup_host, ToSocketAddrs};
    pub use minirt_os::{tcp, unix};
    pub use minirt_os::{
        TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
    };
}
