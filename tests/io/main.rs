//! minirt's own tests of `minirt::io`: `AsyncFd` and the io toolkit, in one binary.
//!
//! One module per topic; they share one binary because every test binary links
//! the whole workspace (tests/README.md).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;
#[path = "../io_support/mod.rs"]
mod io_support;

mod async_fd;
mod io_util;
