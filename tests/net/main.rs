//! minirt's own tests of `minirt::net` and `minirt::process`, in one binary.
//!
//! One module per topic; they share one binary because every test binary links
//! the whole workspace (tests/README.md).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod lookup;
mod process;
mod tcp;
mod unix;
