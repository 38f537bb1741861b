//! TCP: [`TcpListener`] accepts connections, [`TcpStream`] carries one, [`TcpSocket`] sets
//! options before either exists.
//!
//! ```text
//!  TcpListener::bind ─ socket(NONBLOCK|CLOEXEC), SO_REUSEADDR, bind, listen(1024), register
//!  accept            ─ accept4 until EAGAIN; then wait for EPOLLIN (the accept queue filled)
//!  TcpStream::connect─ socket, connect → EINPROGRESS, register, wait for EPOLLOUT,
//!                      read SO_ERROR: 0 = connected, else the error (ECONNREFUSED, ...)
//!  read / write      ─ recv / send(MSG_NOSIGNAL); EAGAIN clears the direction's readiness
//!  read returns 0    ─ EOF: the peer sent FIN (EPOLLRDHUP marked the read half closed)
//!  EPOLLERR/EPOLLHUP ─ wake reader and writer; the next recv/send returns the socket's error
//! ```

mod listener;
mod socket;
mod split;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;
