//! minirt's own tests of `minirt::sync`, beyond tokio's ported ones (`tests/sync_*.rs`), in one
//! binary.
//!
//! One module per topic; they share one binary because every test binary links
//! the whole workspace (tests/README.md).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod behaviour;
mod stress;
mod threads;
