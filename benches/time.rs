//! Timers, minirt beside tokio (both current-thread runtimes) in the same run.
//!
//! - `sleep_10k_1ms`: spawn 10,000 tasks that each sleep 1 ms, and join them: timer insertion,
//!   the loop's timeout, firing a burst of due timers and waking their tasks.
//! - `timer_create_drop`: create and drop 1,000,000 sleeps that are never polled: what a
//!   `timeout` whose future is ready at once costs.
//! - `timer_register_drop`: create 1,000,000 sleeps, poll each once so it registers its timer,
//!   and drop it: the insert + cancel path (a `timeout` around an operation that then
//!   completes).
//!
//! ```text
//! cargo bench --bench time
//! ```
//! The lateness of single sleeps is in `examples/timer_lateness.rs`.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

const SLEEPERS: usize = 10_000;
const TIMERS: usize = 1_000_000;
/// Timers registered between two yields: each poll spends the task's cooperative budget
/// (128 in both runtimes), and a sleep polled without budget does not register.
const PER_YIELD: usize = 64;

fn minirt_rt() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_current_thread().enable_all().build().expect("minirt runtime")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

/// Polls `fut` once and reports whether it is still pending.
async fn poll_once<F: Future>(fut: Pin<&mut F>) -> bool {
    let mut fut = Some(fut);
    poll_fn(|cx| Poll::Ready(fut.take().expect("polled once").poll(cx).is_pending())).await
}

fn sleep_10k_1ms(c: &mut Criterion) {
    let mut group = c.benchmark_group("sleep_10k_1ms");
    group.sample_size(20);
    let rt = minirt_rt();
    group.bench_function("minirt", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..SLEEPERS)
                    .map(|_| minirt::spawn(minirt::time::sleep(Duration::from_millis(1))))
                    .collect();
                for task in tasks {
                    task.await.expect("sleeper");
                }
            })
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..SLEEPERS)
                    .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_millis(1))))
                    .collect();
                for task in tasks {
                    task.await.expect("sleeper");
                }
            })
        })
    });
    group.finish();
}

fn timer_create_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_create_drop");
    group.sample_size(20);
    let rt = minirt_rt();
    group.bench_function("minirt", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..TIMERS {
                    drop(std::hint::black_box(minirt::time::sleep(Duration::from_secs(60))));
                }
            })
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..TIMERS {
                    drop(std::hint::black_box(tokio::time::sleep(Duration::from_secs(60))));
                }
            })
        })
    });
    group.finish();
}

fn timer_register_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_register_drop");
    group.sample_size(20);
    let rt = minirt_rt();
    group.bench_function("minirt", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..TIMERS / PER_YIELD {
                    for _ in 0..PER_YIELD {
                        let sleep = pin!(minirt::time::sleep(Duration::from_secs(60)));
                        assert!(poll_once(sleep).await, "registered");
                    }
                    minirt::task::yield_now().await;
                }
            })
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..TIMERS / PER_YIELD {
                    for _ in 0..PER_YIELD {
                        let sleep = pin!(tokio::time::sleep(Duration::from_secs(60)));
                        assert!(poll_once(sleep).await, "registered");
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, sleep_10k_1ms, timer_create_drop, timer_register_drop);
criterion_main!(benches);
