//! Scheduler benchmarks: minirt beside tokio, each in its current-thread flavor and in its
//! multi-thread flavor with 2 workers, in one run.
//!
//! Each workload is written once, generic over [`Flavor`] (spawn, yield, block_on), so both
//! runtimes run the same code and only the runtime differs. Every workload is one criterion
//! group with four functions, `minirt` and `tokio` (current-thread), `minirt_mt` and
//! `tokio_mt` (multi-thread, 2 workers); each runtime is built once, outside the timed loop,
//! and every iteration is one `block_on` of the workload.
//!
//! | group              | what one iteration does                      | what it exercises                                  |
//! |--------------------|----------------------------------------------|----------------------------------------------------|
//! | `spawn_many`       | spawn 10,000 empty tasks, await every handle | task allocation, owned-task list, run queue, join  |
//! | `yield_many`       | 100 tasks × 1,000 `yield_now`                | the wake-by-ref → run queue → poll round           |
//! | `ping_pong`        | 10,000 round trips between two tasks         | local wakes through a runtime-neutral channel      |
//! | `chained_spawn`    | each task spawns the next, depth 1,000       | spawn from inside a task, one task queued at a time|
//! | `wake_from_thread` | 100 wakes of a parked task by a std thread   | injection queue, eventfd, waking `epoll_wait`      |
//! | `spawn_blocking`   | 100 `spawn_blocking` round trips, one by one | the blocking pool: queue, condvar, join wake-up    |
//! | `remote_spawn`     | 4 std threads spawn 1,000 tasks each          | spawn from outside: injection queue, worker wakes  |
//!
//! ```text
//! cargo bench --bench runtime
//! cargo bench --bench runtime -- ping_pong      # one group
//! ```

use std::future::Future;
use std::hint::black_box;
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use futures_channel::{mpsc, oneshot};
use futures_util::StreamExt;

/// Tasks spawned by one `spawn_many` iteration.
const SPAWN_MANY_TASKS: usize = 10_000;
/// Tasks, and yields per task, of one `yield_many` iteration.
const YIELD_TASKS: usize = 100;
const YIELDS_PER_TASK: usize = 1_000;
/// Round trips of one `ping_pong` iteration.
const PING_PONG_ROUND_TRIPS: usize = 10_000;
/// Length of the chain of one `chained_spawn` iteration.
const CHAIN_DEPTH: usize = 1_000;
/// Wakes from the helper thread in one `wake_from_thread` iteration.
const THREAD_WAKES: usize = 100;
/// Round trips of one `spawn_blocking` iteration.
const BLOCKING_ROUND_TRIPS: usize = 100;
/// Std threads, and tasks each spawns, of one `remote_spawn` iteration.
const REMOTE_THREADS: usize = 4;
const REMOTE_TASKS_PER_THREAD: usize = 1_000;
/// Worker threads of the multi-thread flavors.
const MT_WORKERS: usize = 2;

/// The handful of runtime operations the workloads use, so each workload is written once.
trait Flavor {
    type Runtime: Sync;
    fn build() -> Self::Runtime;
    fn block_on<F: Future>(rt: &Self::Runtime, future: F) -> F::Output;
    /// Spawns `future` and returns a future of its output (the join handle, unwrapped).
    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    fn yield_now() -> impl Future<Output = ()> + Send;
    /// Runs `f` on the blocking pool; a future of its output.
    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// Spawns from a thread outside the runtime.
    fn spawn_on<F>(
        rt: &Self::Runtime,
        future: F,
    ) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

struct Minirt;

impl Flavor for Minirt {
    type Runtime = minirt::runtime::Runtime;

    fn build() -> Self::Runtime {
        minirt::runtime::Builder::new_current_thread().build().expect("build a minirt runtime")
    }

    fn block_on<F: Future>(rt: &Self::Runtime, future: F) -> F::Output {
        rt.block_on(future)
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = minirt::spawn(future);
        async move { handle.await.expect("a benchmark task failed") }
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        minirt::task::yield_now()
    }

    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let handle = minirt::task::spawn_blocking(f);
        async move { handle.await.expect("a blocking task failed") }
    }

    fn spawn_on<F>(
        rt: &Self::Runtime,
        future: F,
    ) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = rt.spawn(future);
        async move { handle.await.expect("a benchmark task failed") }
    }
}

/// minirt's multi-thread flavor, with [`MT_WORKERS`] workers.
struct MinirtMt;

impl Flavor for MinirtMt {
    type Runtime = minirt::runtime::Runtime;

    fn build() -> Self::Runtime {
        minirt::runtime::Builder::new_multi_thread()
            .worker_threads(MT_WORKERS)
            .build()
            .expect("build a minirt runtime")
    }

    fn block_on<F: Future>(rt: &Self::Runtime, future: F) -> F::Output {
        rt.block_on(future)
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Minirt::spawn(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        minirt::task::yield_now()
    }

    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Minirt::spawn_blocking(f)
    }

    fn spawn_on<F>(
        rt: &Self::Runtime,
        future: F,
    ) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Minirt::spawn_on(rt, future)
    }
}

struct Tokio;

impl Flavor for Tokio {
    type Runtime = tokio::runtime::Runtime;

    fn build() -> Self::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build a tokio runtime")
    }

    fn block_on<F: Future>(rt: &Self::Runtime, future: F) -> F::Output {
        rt.block_on(future)
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = tokio::spawn(future);
        async move { handle.await.expect("a benchmark task failed") }
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let handle = tokio::task::spawn_blocking(f);
        async move { handle.await.expect("a blocking task failed") }
    }

    fn spawn_on<F>(
        rt: &Self::Runtime,
        future: F,
    ) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = rt.spawn(future);
        async move { handle.await.expect("a benchmark task failed") }
    }
}

/// tokio's multi-thread flavor, with [`MT_WORKERS`] workers.
struct TokioMt;

impl Flavor for TokioMt {
    type Runtime = tokio::runtime::Runtime;

    fn build() -> Self::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(MT_WORKERS)
            .enable_all()
            .build()
            .expect("build a tokio runtime")
    }

    fn block_on<F: Future>(rt: &Self::Runtime, future: F) -> F::Output {
        rt.block_on(future)
    }

    fn spawn<F>(future: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Tokio::spawn(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Tokio::spawn_blocking(f)
    }

    fn spawn_on<F>(
        rt: &Self::Runtime,
        future: F,
    ) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Tokio::spawn_on(rt, future)
    }
}

/// One benchmark workload: what a single `block_on` of an iteration runs.
trait Workload {
    const NAME: &'static str;
    fn run<R: Flavor>(&self) -> impl Future<Output = ()>;
    /// One iteration; by default one `block_on` of [`Workload::run`].
    fn iterate<R: Flavor>(&self, rt: &R::Runtime) {
        R::block_on(rt, self.run::<R>());
    }
}

/// Runs `workload` on both runtimes, as the group `W::NAME` with functions `minirt` and `tokio`.
fn compare<W: Workload>(c: &mut Criterion, workload: W) {
    let mut group = c.benchmark_group(W::NAME);
    configure(&mut group);
    bench_on::<Minirt, W>(&mut group, "minirt", &workload);
    bench_on::<Tokio, W>(&mut group, "tokio", &workload);
    bench_on::<MinirtMt, W>(&mut group, "minirt_mt", &workload);
    bench_on::<TokioMt, W>(&mut group, "tokio_mt", &workload);
    group.finish();
}

fn bench_on<R: Flavor, W: Workload>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    workload: &W,
) {
    // Built on first use, so a run filtered to one function builds (and, under callgrind,
    // counts) only its runtime; then kept for every sample.
    let mut rt = None;
    group.bench_function(name, |b| {
        let rt = rt.get_or_insert_with(R::build);
        b.iter(|| workload.iterate::<R>(rt))
    });
}

/// Keeps the whole `cargo bench` to a few minutes: each function gets 1 s of warm-up and 3 s
/// of measurement, in 30 samples.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

struct SpawnMany;

impl Workload for SpawnMany {
    const NAME: &'static str = "spawn_many";

    async fn run<R: Flavor>(&self) {
        let handles: Vec<_> =
            (0..SPAWN_MANY_TASKS).map(|i| R::spawn(async move { black_box(i) })).collect();
        for handle in handles {
            black_box(handle.await);
        }
    }
}

struct YieldMany;

impl Workload for YieldMany {
    const NAME: &'static str = "yield_many";

    async fn run<R: Flavor>(&self) {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                R::spawn(async {
                    for _ in 0..YIELDS_PER_TASK {
                        R::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await;
        }
    }
}

struct PingPong;

impl Workload for PingPong {
    const NAME: &'static str = "ping_pong";

    async fn run<R: Flavor>(&self) {
        let (to_pong, mut pong_inbox) = mpsc::unbounded::<usize>();
        let (to_ping, mut ping_inbox) = mpsc::unbounded::<usize>();
        let pong = R::spawn(async move {
            // Ends when `ping` drops its sender.
            while let Some(n) = pong_inbox.next().await {
                to_ping.unbounded_send(n).expect("ping is waiting for its pong");
            }
        });
        let ping = R::spawn(async move {
            for i in 0..PING_PONG_ROUND_TRIPS {
                to_pong.unbounded_send(i).expect("pong is waiting for a ping");
                let n = ping_inbox.next().await.expect("pong answers every ping");
                assert_eq!(n, i);
            }
        });
        ping.await;
        pong.await;
    }
}

struct ChainedSpawn;

/// Spawns a task that spawns a task ... `left` deep; the last one fires `done`.
fn chain<R: Flavor>(left: usize, done: oneshot::Sender<()>) {
    if left == 0 {
        let _ = done.send(());
    } else {
        // Dropping the join future detaches the task.
        drop(R::spawn(async move { chain::<R>(left - 1, done) }));
    }
}

impl Workload for ChainedSpawn {
    const NAME: &'static str = "chained_spawn";

    async fn run<R: Flavor>(&self) {
        let (done, finished) = oneshot::channel();
        chain::<R>(CHAIN_DEPTH, done);
        finished.await.expect("the chain reaches its end");
    }
}

/// A std thread that answers, from outside the runtime, every oneshot sender it is handed.
///
/// It sleeps in `thread::park` (a futex wait, no spinning) until the task hands it a sender and
/// unparks it, so each answer takes it a few microseconds: by then the runtime, with nothing
/// else to do, is parked (in `epoll_wait` for both runtimes), and the answer must wake it
/// through its cross-thread path. The helper's own cost is the same for both runtimes.
struct WakeFromThread {
    requests: std_mpsc::Sender<oneshot::Sender<()>>,
    helper: thread::Thread,
}

impl WakeFromThread {
    fn start() -> WakeFromThread {
        let (requests, incoming) = std_mpsc::channel::<oneshot::Sender<()>>();
        let helper = thread::Builder::new()
            .name("waker".into())
            .spawn(move || loop {
                match incoming.try_recv() {
                    Ok(reply) => {
                        let _ = reply.send(());
                    }
                    Err(std_mpsc::TryRecvError::Empty) => thread::park(),
                    // The benchmark is over.
                    Err(std_mpsc::TryRecvError::Disconnected) => return,
                }
            })
            .expect("spawn the waker thread");
        WakeFromThread { requests, helper: helper.thread().clone() }
    }
}

impl Workload for WakeFromThread {
    const NAME: &'static str = "wake_from_thread";

    /// A task hands the helper a oneshot sender and waits on the receiver, 100 times.
    async fn run<R: Flavor>(&self) {
        let requests = self.requests.clone();
        let helper = self.helper.clone();
        R::spawn(async move {
            for _ in 0..THREAD_WAKES {
                let (reply, woken) = oneshot::channel();
                requests.send(reply).expect("the waker thread is running");
                helper.unpark();
                woken.await.expect("the waker thread answers");
            }
        })
        .await;
    }
}

struct SpawnBlocking;

impl Workload for SpawnBlocking {
    const NAME: &'static str = "spawn_blocking";

    /// 100 closures run on the blocking pool one after the other, each awaited.
    async fn run<R: Flavor>(&self) {
        for i in 0..BLOCKING_ROUND_TRIPS {
            black_box(R::spawn_blocking(move || black_box(i)).await);
        }
    }
}

struct RemoteSpawn;

impl Workload for RemoteSpawn {
    const NAME: &'static str = "remote_spawn";

    async fn run<R: Flavor>(&self) {
        unreachable!("remote_spawn overrides iterate")
    }

    /// 4 std threads each spawn 1,000 tasks through the runtime; the handles are awaited.
    fn iterate<R: Flavor>(&self, rt: &R::Runtime) {
        let handles = thread::scope(|scope| {
            let spawners: Vec<_> = (0..REMOTE_THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        (0..REMOTE_TASKS_PER_THREAD)
                            .map(|i| R::spawn_on(rt, async move { black_box(i) }))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            spawners.into_iter().flat_map(|s| s.join().expect("spawner thread")).collect::<Vec<_>>()
        });
        R::block_on(rt, async {
            for handle in handles {
                black_box(handle.await);
            }
        });
    }
}

fn benches(c: &mut Criterion) {
    compare(c, SpawnMany);
    compare(c, YieldMany);
    compare(c, PingPong);
    compare(c, ChainedSpawn);
    compare(c, WakeFromThread::start());
    compare(c, SpawnBlocking);
    compare(c, RemoteSpawn);
}

criterion_group!(runtime, benches);
criterion_main!(runtime);
