//! The read/write loop every stream socket shares (TCP and Unix streams).

use std::io;
use std::task::{Context, Poll};

use minirt_runtime::io::{AsyncFd, Interest};

use crate::sys::Socket;

/// One read or write of up to `len` bytes on `io`, waiting for readiness as needed (the poll
/// API: one waker per direction).
///
/// A transfer shorter than asked for means the kernel's buffer ran dry (read) or full
/// (write), so the readiness is cleared right away: the next call waits for the next edge
/// instead of spending a syscall to hear `EAGAIN`. An edge that arrives meanwhile bumps the
/// reactor's tick, and the clear then leaves the readiness alone.
#[inline]
pub(crate) fn poll_transfer(
    io: &AsyncFd<Socket>,
    cx: &mut Context<'_>,
    interest: Interest,
    len: usize,
    mut op: impl FnMut(&Socket) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        let mut guard = match io.poll_ready(cx, interest) {
            Poll::Ready(Ok(guard)) => guard,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        match guard.try_io(|io| op(io.get_ref())) {
            Ok(Ok(n)) => {
                // Not when an error is flagged: a stream hands over queued data before a
                // pending error, and the error must still wake the next call.
                if n > 0 && n < len && !guard.ready().is_error() {
                    guard.clear_ready();
                }
                return Poll::Ready(Ok(n));
            }
            Ok(Err(e)) => return Poll::Ready(Err(e)),
            Err(_would_block) => continue,
        }
    }
}
