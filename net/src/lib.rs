//! minirt-net: sockets for minirt.
//!
//! Every type here is built only on the runtime's public readiness API,
//! [`minirt_runtime::io::AsyncFd`]: a socket is created non-blocking (`sys`), wrapped in an
//! `AsyncFd` (one `epoll_ctl(ADD)` for its whole life), and each operation is the pattern
//! "try the syscall; on `EAGAIN` wait for the next readiness edge and try again". Anyone can
//! build a new I/O type the same way.

mod sys;
pub mod tcp;
mod transfer;
mod udp;
pub mod unix;

pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
