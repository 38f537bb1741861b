//! The error of an I/O operation refused because its runtime has shut down: the reactor makes
//! it, `runtime::is_rt_shutdown_err` recognises it. A leaf, so the reactor need not know the
//! runtime.

use std::fmt;
use std::io;

/// Whether `err` is the error of an I/O operation refused because its runtime has shut down
/// (registering a socket with a runtime that shut down, or using one whose runtime did): tokio's
/// `runtime::is_rt_shutdown_err`, to tell that case from the network's errors.
pub fn is_rt_shutdown_err(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<RuntimeShutDown>())
}

/// The error [`is_rt_shutdown_err`] recognises, for minirt's own crates (minirt-os's stdio,
/// whose blocking jobs the pool's shutdown cancels). Not public API.
#[doc(hidden)]
pub fn shutdown_error(what: &'static str) -> io::Error {
    error(what)
}

/// A shutdown error naming `what` the shutdown refused.
pub(crate) fn error(what: &'static str) -> io::Error {
    io::Error::other(RuntimeShutDown(what))
}

/// What an [`io::Error`] of [`is_rt_shutdown_err`] carries: which operation the shutdown
/// refused.
#[derive(Debug)]
struct RuntimeShutDown(&'static str);

impl fmt::Display for RuntimeShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for RuntimeShutDown {}
