//! `tokio`, as minirt: tokio 1.54's public API over minirt's reactor, timers and scheduler.
//!
//! A service keeps every line and adds
//!
//! ```toml
//! [patch.crates-io]
//! tokio = { path = "<minirt>/compat/tokio" }
//! ```
//!
//! and every crate in its graph that says `tokio = "1"` (axum, hyper, reqwest, tower,
//! tokio-util, ...) gets this crate instead: one runtime in the process, minirt's.
//!
//! How it is put together:
//!
//! - most modules re-export minirt under tokio's paths (`time`, `sync`, `task`, `net`,
//!   `signal`, `process`), because minirt already has tokio's names and signatures;
//! - [`io`] is tokio's own io traits ([`io::AsyncRead`] with [`io::ReadBuf`], ...) and
//!   utilities, implemented here for minirt's streams on the same objects (see `io::bridge`);
//! - [`runtime::Builder`] wraps minirt's builder to accept every tokio knob;
//! - `#[tokio::main]`/`#[tokio::test]` are the real `tokio-macros`, whose expansion calls
//!   `tokio::runtime::Builder`, i.e. this crate's;
//! - [`fs::File`] is a newtype (tokio's two-step seek needs a field).
//!
//! It reaches minirt only through minirt's public API, and never depends on the real tokio.

#![deny(missing_docs)]

mod util;

pub mod fs;
pub mod io;
pub mod runtime;

pub use minirt::{join, pin, select, task_local, try_join};
pub use task::spawn;
pub use tokio_macros_dep::{main, test};

pub mod net;

/// Timers (tokio's `tokio::time`): minirt's.
pub mod time {
    pub use minirt::time::*;
}

/// Channels and locks (tokio's `tokio::sync`): minirt's.
pub mod sync {
    pub use minirt::sync::*;

    /// The futures of `Notify` (tokio's `tokio::sync::futures`).
    pub mod futures {
        pub use minirt::sync::{Notified, OwnedNotified};
    }
}

pub mod task;

/// Signals (tokio's `tokio::signal`): minirt's.
pub mod signal {
    pub use minirt::signal::*;
}

/// Child processes (tokio's `tokio::process`): minirt's, their pipes implementing tokio's io
/// traits.
pub mod process {
    pub use minirt::process::*;
}

/// What tokio-macros' and the declarative macros' expansions may name.
#[doc(hidden)]
pub mod macros {
    pub use minirt::{join, pin, select, try_join};
}
