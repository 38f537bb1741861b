//! The hooks' clocks: `now_nanos` (the time-stamp counter once calibrated, else `Instant`)
//! and the watchdog's coarse clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Starts the epoch, and the time-stamp counter's calibration.
pub(super) fn start_clock() {
    let nanos = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
    #[cfg(target_arch = "x86_64")]
    tsc::start(nanos);
}

/// The registry's epoch: every time kept here counts nanoseconds from it.
pub(crate) fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since `epoch()`: read twice per poll while the hooks are on, so from the
/// time-stamp counter once it is calibrated (`tsc`), from `Instant` (a `clock_gettime`) until
/// then and on machines whose kernel does not trust the counter.
#[inline]
pub(crate) fn now_nanos() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(nanos) = tsc::now() {
        return nanos;
    }
    instant_nanos()
}

#[cold]
#[inline(never)]
fn instant_nanos() -> u64 {
    let nanos = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
    #[cfg(target_arch = "x86_64")]
    tsc::calibrate(nanos);
    nanos
}

/// The time-stamp counter as a clock: `rdtsc` is a fifth of a `clock_gettime` here (17 ns
/// against 45 on this VM, and one instruction for callgrind against a syscall). Used only
/// where the kernel uses it itself (clocksource `tsc`: it found the counter invariant and in
/// step across CPUs), after a calibration against `Instant` over `WINDOW`; times read before
/// come from `Instant`, and the two agree where they meet (the counter's times count from the
/// calibration's own `Instant` reading).
#[cfg(target_arch = "x86_64")]
mod tsc {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::OnceLock;

    /// How long the first reading and the calibration are apart: the error of the rate is
    /// about a `clock_gettime`'s duration (50 ns) over this, 5 parts per million.
    const WINDOW: u64 = 10_000_000;
    /// Nanoseconds per tick × 2^32; 0 until calibrated.
    static MULT: AtomicU64 = AtomicU64::new(0);
    /// The calibration's reading: `BASE_TICKS` counted at `BASE_NANOS` since the epoch.
    static BASE_TICKS: AtomicU64 = AtomicU64::new(0);
    static BASE_NANOS: AtomicU64 = AtomicU64::new(0);
    /// The first reading (ticks, nanoseconds), taken by `start` if the kernel trusts the
    /// counter.
    static FIRST: OnceLock<(u64, u64)> = OnceLock::new();
    static CALIBRATING: AtomicBool = AtomicBool::new(false);

    fn ticks() -> u64 {
        // SAFETY: `rdtsc` reads a counter every x86-64 processor has; it touches no memory.
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }

    #[inline]
    pub(super) fn now() -> Option<u64> {
        // Acquire: the base was stored before the rate.
        let mult = MULT.load(Ordering::Acquire);
        if mult == 0 {
            return None;
        }
        let since = ticks().saturating_sub(BASE_TICKS.load(Ordering::Relaxed));
        let nanos = (u128::from(since) * u128::from(mult)) >> 32;
        Some(BASE_NANOS.load(Ordering::Relaxed).saturating_add(nanos as u64))
    }

    /// Takes the first reading, if the kernel's clocksource is the counter.
    pub(super) fn start(nanos: u64) {
        FIRST.get_or_init(|| {
            let source = std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .unwrap_or_default();
            // A counter the kernel does not use never gets a rate: `now` stays `None`.
            if source.trim() == "tsc" {
                (ticks(), nanos)
            } else {
                (0, u64::MAX)
            }
        });
    }

    /// Sets the rate once `WINDOW` has passed since the first reading (`nanos`: `Instant`'s
    /// time now).
    pub(super) fn calibrate(nanos: u64) {
        let Some(&(ticks0, nanos0)) = FIRST.get() else { return };
        if nanos0 == u64::MAX || nanos < nanos0.saturating_add(WINDOW) {
            return;
        }
        if CALIBRATING.swap(true, Ordering::Relaxed) {
            return;
        }
        let ticks = ticks();
        let elapsed = ticks.saturating_sub(ticks0);
        if elapsed == 0 {
            return;
        }
        let mult = (u128::from(nanos - nanos0) << 32) / u128::from(elapsed);
        let Ok(mult) = u64::try_from(mult) else { return };
        BASE_TICKS.store(ticks, Ordering::Relaxed);
        BASE_NANOS.store(nanos, Ordering::Relaxed);
        MULT.store(mult.max(1), Ordering::Release);
    }
}

/// The watchdog's clock: `now_nanos()` at its last tick. Spawns and completions read this
/// (a task's age is late by less than a tick) instead of the clock.
pub(super) static COARSE_NANOS: AtomicU64 = AtomicU64::new(0);

pub(super) fn coarse_nanos() -> u64 {
    COARSE_NANOS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    /// Once calibrated, the counter's time stays within a millisecond of `Instant`'s (the rate's
    /// error is parts per million; this checks the conversion and the base).
    #[test]
    fn the_clock_agrees_with_instant() {
        let instant = || u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
        start_clock();
        std::thread::sleep(Duration::from_millis(15));
        let _ = instant_nanos();
        #[cfg(target_arch = "x86_64")]
        {
            let source = "/sys/devices/system/clocksource/clocksource0/current_clocksource";
            if std::fs::read_to_string(source).is_ok_and(|source| source.trim() == "tsc") {
                assert!(tsc::now().is_some(), "the counter is calibrated after 15 ms");
            }
        }
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(10));
            let (before, now, after) = (instant(), now_nanos(), instant());
            assert!(
                now + 1_000_000 >= before && now <= after + 1_000_000,
                "{now} ns is not within 1 ms of [{before}, {after}]"
            );
        }
    }
}
