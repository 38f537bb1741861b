//! How late do sleeps wake up? Measures `sleep(d)` for d = 100 µs, 1 ms and 10 ms on minirt and
//! on tokio, each on its current-thread runtime and on its multi-thread runtime (2 workers, the
//! sleeps in a spawned task), one sleep at a time on an otherwise idle runtime, and prints the
//! median, p99 and worst lateness: how long after `d` the sleeping task ran again.
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
    let minirt_mt = minirt::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    let tokio_mt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    println!("sleep lateness over {samples} sequential sleeps each (after 10 warm-up sleeps)");
    println!("{:<10} {:>9} {:>11} {:>11} {:>11}", "runtime", "sleep", "median", "p99", "max");
    for duration in DURATIONS {
        let count = samples.max(1);
        let ours = minirt.block_on(async {
            measure(count, duration, |d| async move { minirt::time::sleep(d).await }).await
        });
        let theirs = tokio.block_on(async {
            measure(count, duration, |d| async move { tokio::time::sleep(d).await }).await
        });
        // On a worker, not in `block_on`: the multi-thread runtimes' timers are driven by
        // whichever worker parks, and that is where a service's tasks sleep.
        let ours_mt = minirt_mt.block_on(async move {
            minirt::spawn(measure(count, duration, |d| async move { minirt::time::sleep(d).await }))
                .await
                .map_err(std::io::Error::other)
        })?;
        let theirs_mt = tokio_mt.block_on(async move {
            tokio::spawn(measure(count, duration, |d| async move { tokio::time::sleep(d).await }))
                .await
                .map_err(std::io::Error::other)
        })?;
        report("minirt", duration, ours);
        report("tokio", duration, theirs);
        report("minirt_mt", duration, ours_mt);
        report("tokio_mt", duration, theirs_mt);
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
        "{runtime:<10} {:>9} {:>11} {:>11} {:>11}",
        format!("{duration:?}"),
        format!("{:.1?}", at(0.5)),
        format!("{:.1?}", at(0.99)),
        format!("{:.1?}", at(1.0)),
    );
}
