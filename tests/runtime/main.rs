//! The runtime itself and what runs on it, minirt's own tests by topic, in one binary.
//!
//! One module per topic; they share one binary because every test binary links
//! the whole workspace (tests/README.md).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod blocking;
mod lifecycle;
mod local_set;
mod macros;
mod soundness;
mod tasks;
mod time;
mod waiters;
