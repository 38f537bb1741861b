//! The command line shared by the server examples (`examples/support/args.rs`): its unit tests
//! run here, since cargo builds examples but does not test them.

#[path = "../examples/support/args.rs"]
#[allow(dead_code)] // `Args::parse` and `flavor` are for the examples' `main`s
mod args;
