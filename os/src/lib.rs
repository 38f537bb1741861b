//! minirt-os: sockets, files, processes, signals and stdio for minirt.
//!
//! Every type here is built only on the runtime's public readiness API,
//! [`minirt_runtime::io::AsyncFd`]: a socket is created non-blocking (`sys`), wrapped in an
//! `AsyncFd` (one `epoll_ctl(ADD)` for its whole life), and each operation is the pattern
//! "try the syscall; on `EAGAIN` wait for the next readiness edge and try again". Anyone can
//! build a new I/O type the same way.
//!
//! - [`tcp`]: [`TcpListener`], [`TcpStream`], [`TcpSocket`] (options before `listen` or
//!   `connect`);
//! - `udp`: [`UdpSocket`];
//! - [`unix`]: [`UnixListener`], [`UnixStream`], [`UnixDatagram`], and their
//!   [`unix::SocketAddr`];
//! - `sys` (private): the raw syscalls, one file per resource (`socket` with the `sockaddr`
//!   conversions, `process`, `signal` with `sigaction` and the self-pipe, `stdio`), each
//!   through one `cvt`/`cvt_r`: the only raw syscalls of the crate; the other `unsafe` code is
//!   the `FromRawFd` impls. `registered` (private): the core every socket type wraps
//!   (`Registered<F>`, one `AsyncFd<Socket>` of address family `F`) with the methods they all
//!   have; `stream` adds what TCP and Unix streams share (the io traits over `transfer`'s
//!   read/write loop, `try_*`, the split halves), `datagram` what UDP and Unix datagram
//!   sockets share (`send`, `recv`, `recv_from`);
//! - [`signal`] and [`process`] follow the same rule: a signal reaches a task through a
//!   self-pipe registered as an `AsyncFd`, a child's exit through a pidfd registered as an
//!   `AsyncFd`, and its stdio pipes are `AsyncFd`s too;
//! - [`fs`] and [`stdio`] are the exception epoll forces: a regular file is always "ready"
//!   (epoll refuses it), so file work runs on the runtime's blocking pool (`spawn_blocking`), in
//!   as few round trips as possible; stdin uses an `AsyncFd` when it is a pipe or socket.
//!
//! The `async` methods (`accept`, `recv_from`, `readable`, ...) wait through
//! `AsyncFd::async_io`/`ready`, so any number of tasks may await one socket; the `poll_*`
//! methods and the io traits wait through `AsyncFd::poll_*`, one waker per direction.

#![deny(missing_docs)]

mod datagram;
mod lookup;
mod sys;

pub mod fs;
pub mod process;
mod registered;
pub mod signal;
pub mod stdio;
mod stream;
pub mod tcp;
mod transfer;
mod udp;
pub mod unix;

pub use lookup::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
