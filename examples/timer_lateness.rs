//! How late do sleeps wake up? Measures `sleep(d)` for d = 100 µs, 1 ms and 10 ms on minirt and
//! on tokio (both current-thread), one sleep at a time on an otherwise idle runtime, and prints
//! the median, p99 and worst lateness: how long after `d` the sleeping task ran again.
//!
//! ```text
//! cargo run --release --example timer_lateness -- [SAMPLES]
//! ```
//!
//! Lateness is never negative: neither runtime wakes a sleep early. tokio keeps timers on a
//! 1 ms wheel and rounds deadlines up to it; minirt keeps exact deadlines and waits with a
//! nanosecond `epoll_pwait2` timeout, so what is left is the kernel's timer slack (50 µs by
//! default) and the time to schedule the thread.

use std::time::{Duration, Instant};

const DURATIONS: [Duration; 3] =
    [Duration::from_micros(100), Duration::from_millis(1), Duration::from_millis(10)];

fn main() -> std::io::Result<()> {
    let samples: usize = match std::env::args().nth(1) {
        None => 300,
        Some(arg) => arg.parse().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "SAMPLES must be a number")
        })?,
    };
    let minirt = minirt::runtime::Builder::new_current_thread().enable_all().build()?;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    println!("sleep lateness over {samples} sequential sleeps each (after 10 warm-up sleeps)");
    println!("{:<8} {:>9} {:>11} {:>11} {:>11}", "runtime", "sleep", "median", "p99", "max");
    for duration in DURATIONS {
        let count = samples.max(1);
        let ours = minirt.block_on(async {
            measure(count, duration, |d| async move { minirt::time::sleep(d).await }).await
        });
        let theirs = tokio.block_on(async {
            measure(count, duration, |d| async move { tokio::time::sleep(d).await }).await
        });
        report("minirt", duration, ours);
        report("tokio", duration, theirs);
    }
    Ok(())
}

/// Sleeps `count` times for `duration`; returns each sleep's lateness, sorted.
async fn measure<F, Fut>(count: usize, duration: Duration, sleep: F) -> Vec<Duration>
where
    F: Fn(Duration) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..10 {
        sleep(duration).await;
    }
    let mut lateness = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        sleep(duration).await;
        let took = start.elapsed();
        assert!(took >= duration, "a sleep of {duration:?} woke early, after {took:?}");
        lateness.push(took - duration);
    }
    lateness.sort();
    lateness
}

fn report(runtime: &str, duration: Duration, sorted: Vec<Duration>) {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    println!(
        "{runtime:<8} {:>9} {:>11} {:>11} {:>11}",
        format!("{duration:?}"),
        format!("{:.1?}", at(0.5)),
        format!("{:.1?}", at(0.99)),
        format!("{:.1?}", at(1.0)),
    );
}
