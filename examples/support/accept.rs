//! What the example servers' accept loops do when `accept` fails. Runtime-neutral, so the
//! minirt and tokio versions of each server share it.

use std::time::Duration;

/// How long an accept loop pauses after `accept` failed for want of resources (out of fds,
/// say): the pending connection stays queued, and retrying at once would only spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether an `accept` error means the process or the system is out of something (fds,
/// buffers, memory) that only time can give back.
pub fn is_out_of_resources(err: &std::io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}
