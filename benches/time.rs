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

/// The runtime operations the timer workloads use, so each workload is written once.
trait Flavor {
    const NAME: &'static str;
    type Runtime;
    fn build() -> Self::Runtime;
    fn block_on<F: Future>(rt: &Self::Runtime, future: F) -> F::Output;
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static;
    /// Spawns a task that sleeps for `duration`; the future waits for it.
    fn spawn_sleep(duration: Duration) -> impl Future<Output = ()>;
    fn yield_now() -> impl Future<Output = ()>;
}

struct Minirt;

impl Flavor for Minirt {
    const NAME: &'static str = "minirt";
    type Runtime = minirt::runtime::Runtime;

    fn build() -> Self::Runtime {
        minirt::runtime::Builder::new_current_thread().build().expect("minirt runtime")
    }
    fn block_on<F: Future>(rt: &Self::Runtime, future: F) -> F::Output {
        rt.block_on(future)
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        minirt::time::sleep(duration)
    }
    fn spawn_sleep(duration: Duration) -> impl Future<Output = ()> {
        let task = minirt::spawn(minirt::time::sleep(duration));
        async move { task.await.expect("sleeper") }
    }
    fn yield_now() -> impl Future<Output = ()> {
        minirt::task::yield_now()
    }
}

struct Tokio;

impl Flavor for Tokio {
    const NAME: &'static str = "tokio";
    type Runtime = tokio::runtime::Runtime;

    fn build() -> Self::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
    }
    fn block_on<F: Future>(rt: &Self::Runtime, future: F) -> F::Output {
        rt.block_on(future)
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(duration)
    }
    fn spawn_sleep(duration: Duration) -> impl Future<Output = ()> {
        let task = tokio::spawn(tokio::time::sleep(duration));
        async move { task.await.expect("sleeper") }
    }
    fn yield_now() -> impl Future<Output = ()> {
        tokio::task::yield_now()
    }
}

/// Polls `fut` once and reports whether it is still pending.
async fn poll_once<F: Future>(fut: Pin<&mut F>) -> bool {
    let mut fut = Some(fut);
    poll_fn(|cx| Poll::Ready(fut.take().expect("polled once").poll(cx).is_pending())).await
}

async fn sleep_10k_1ms<R: Flavor>() {
    let tasks: Vec<_> = (0..SLEEPERS).map(|_| R::spawn_sleep(Duration::from_millis(1))).collect();
    for task in tasks {
        task.await;
    }
}

async fn timer_create_drop<R: Flavor>() {
    for _ in 0..TIMERS {
        drop(std::hint::black_box(R::sleep(Duration::from_secs(60))));
    }
}

async fn timer_register_drop<R: Flavor>() {
    for _ in 0..TIMERS / PER_YIELD {
        for _ in 0..PER_YIELD {
            let sleep = pin!(R::sleep(Duration::from_secs(60)));
            assert!(poll_once(sleep).await, "registered");
        }
        R::yield_now().await;
    }
}

/// Runs one workload on both runtimes, as a criterion group with functions `minirt` and
/// `tokio`; each runtime is built once, outside the timed loop.
macro_rules! compare {
    ($c:expr, $workload:ident) => {{
        let mut group = $c.benchmark_group(stringify!($workload));
        group.sample_size(20);
        let rt = Minirt::build();
        group.bench_function(Minirt::NAME, |b| {
            b.iter(|| Minirt::block_on(&rt, $workload::<Minirt>()))
        });
        let rt = Tokio::build();
        group
            .bench_function(Tokio::NAME, |b| b.iter(|| Tokio::block_on(&rt, $workload::<Tokio>())));
        group.finish();
    }};
}

fn benches(c: &mut Criterion) {
    compare!(c, sleep_10k_1ms);
    compare!(c, timer_create_drop);
    compare!(c, timer_register_drop);
}

criterion_group!(time, benches);
criterion_main!(time);
