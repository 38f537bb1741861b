//! The multi-thread scheduler's view of the crate's loom shim (`crate::loom_shim`): loom's
//! atomics, locks and cells in a `cfg(loom)` build, std's otherwise. Kept as a module of its
//! own so `idle.rs`, `inject.rs` and `queue.rs` import from `super::loom_shim` as before.

pub(crate) use crate::loom_shim::*;
