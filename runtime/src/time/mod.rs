//! Time: [`sleep()`], [`timeout()`] and [`interval()`], driven by the runtime's own loop, measured
//! on the runtime's clock ([`Instant`]), which a test can [`pause`], [`advance`] and
//! [`resume`]. Tokio's `time` module, with the same names.
//!
//! Files: `instant.rs` (the [`Instant`] newtype), `paused.rs` (the paused-time API and
//! `Instant::now`), `sleep.rs`, `timeout.rs`, `interval.rs`. Under them, the runtime's timer
//! heap and clock are the scheduler's (`crate::timer`: `timer/mod.rs`, `timer/clock.rs`, which
//! explains how `Instant::now`, the loop's park and auto-advance fit together).
//!
//! # How a sleep is woken
//!
//! ```text
//!  Sleep::poll ── deadline passed? ──► Ready (no timer at all)
//!       │ no
//!       ▼
//!  Timers::insert(deadline, waker)             the runtime's heap of deadlines (timer/)
//!       │
//!  scheduler loop, idle:  timeout = earliest deadline − now      (now: the runtime's clock)
//!                         epoll_pwait2(timeout in ns)      sleeps in the kernel, no CPU
//!                         (paused clock: epoll_wait(0), then jump the clock to the deadline)
//!  after every epoll_wait: Timers::fire_due(now) ──► wake the due timers' tasks
//!       │
//!  Sleep::poll ── its timer fired ──► remove it, Ready
//! ```
//!
//! Dropping a `Sleep` (or the `Timeout` / `Interval` around one) removes its timer, so
//! cancelled timers cost nothing afterwards.
//!
//! # Why a heap, not a timer wheel
//!
//! tokio keeps timers in a hierarchical wheel with 1 ms slots: O(1) insert and cancel, at the
//! price of rounding every deadline to a slot, which is why `sleep(100µs)` takes over a
//! millisecond there. minirt promises wake-ups close to the exact deadline, so it keeps exact
//! deadlines, and the loop needs only the earliest one for its `epoll_pwait2` timeout: a
//! binary min-heap gives that in O(1), with O(log n) insert and cancel (each heap node
//! remembers nothing but its deadline and slot, each slot its node's position). The common
//! cases are cheaper still: sleeps of one length registered in order are appended without
//! moving (sift-up stops at once), and a sleep dropped right after it was registered is the
//! last node. A small service has thousands of timers, not millions, where a heap's log n is
//! a handful of comparisons in one contiguous array.
//!
//! # Precision
//!
//! The loop waits with `epoll_pwait2`, whose timeout is in nanoseconds (Linux 5.11+); on older
//! kernels (`ENOSYS`) it falls back to `epoll_wait`, rounding the timeout *up* to whole
//! milliseconds. Either way a timer never fires before its deadline: it fires only once the
//! clock, read after the kernel returns, has passed it. What remains is the kernel's timer
//! slack (50 µs by default for a normal thread) and the time to schedule the thread.
//!
//! Timers belong to the runtime that was current when they were created; creating one
//! outside a runtime panics. Once the runtime is dropped its timers never fire.

//!
//! # Paused time
//!
//! [`pause`] (or `Builder::start_paused(true)`, `#[minirt::test(start_paused = true)]`)
//! freezes a current-thread runtime's clock: [`Instant::now`] stands still, [`advance`] moves
//! it, and when the runtime has nothing to run but timers it jumps straight to the earliest
//! one. `timer/clock.rs` explains the flow, and why this API is always compiled in (the `test-util`
//! feature, tokio's gate for it, is accepted and enables nothing).

mod instant;
mod interval;
mod paused;
mod sleep;
mod timeout;

pub mod error;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use paused::{advance, pause, resume};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Duration;
pub use timeout::{timeout, timeout_at, Timeout};
