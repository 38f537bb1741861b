//! `minirt::sync` beside `tokio::sync`, each on its own runtime, in both flavors, in one run.
//!
//! Each workload is written once: the [`compare!`] macro expands its body with `minirt` and
//! with `tokio` as the crate path (`rt::sync::...`, `rt::spawn`, `rt::task::yield_now`), so
//! `minirt::sync` runs on a minirt runtime and `tokio::sync` on a tokio runtime. Every workload
//! is one criterion group with four functions, as in `benches/runtime.rs`: `minirt` and `tokio`
//! (current-thread), `minirt_mt` and `tokio_mt` (multi-thread, 2 workers). Each runtime is
//! built on first use, outside the timed loop, and dropped at the end of its function (so the
//! idle workers of one do not share the cores with the next); one iteration is a `block_on`
//! of the workload spawned as a task, so in both flavors it runs on a runtime thread (a worker
//! of the multi-thread runtime, not the thread that called `block_on`).
//!
//! | group                   | what one iteration does                                          |
//! |-------------------------|------------------------------------------------------------------|
//! | `mpsc_bounded_1to1`     | 1 task sends 10,000 values through `channel(128)` to another      |
//! | `mpsc_bounded_4to1`     | 4 tasks send 2,500 each through `channel(128)` to one receiver     |
//! | `mpsc_unbounded_1to1`   | the same through `unbounded_channel()`                            |
//! | `mpsc_unbounded_4to1`   | the same, 4 senders                                              |
//! | `oneshot`               | 10,000 × (create, send, await) in one task                       |
//! | `oneshot_cross_task`    | 1,000 × (create, spawn a task that sends, await)                 |
//! | `mutex_contended`       | 50 tasks × 100 locks, each held across a `yield_now`             |
//! | `semaphore_uncontended` | 10,000 × `acquire().await` + drop                                |
//! | `semaphore_contended`   | 50 tasks × 100 acquires of a `Semaphore(5)`, held across a yield |
//! | `notify_ping_pong`      | 10,000 round trips between two tasks over two `Notify`            |
//! | `broadcast_1to8`        | 10,000 values to 8 receiving tasks through `channel(1024)`        |
//!
//! ```text
//! cargo bench --bench sync -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench sync -- mutex              # the groups whose name contains "mutex"
//! cargo bench --bench sync -- '^oneshot/minirt$' # one function (criterion's filter is a regex)
//! ```

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};

const MESSAGES: usize = 10_000;
const SENDERS: usize = 4;
const TASKS: usize = 50;
const ROUNDS: usize = 100;
/// Receivers of `broadcast_1to8`, and its ring and burst sizes.
const BROADCAST_RECEIVERS: usize = 8;
const BROADCAST_CAPACITY: usize = 1024;
const BROADCAST_BURST: usize = 256;
/// Worker threads of the multi-thread flavors.
const MT_WORKERS: usize = 2;

fn minirt_current_thread() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a minirt runtime")
}

fn minirt_multi_thread() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_multi_thread()
        .worker_threads(MT_WORKERS)
        .enable_all()
        .build()
        .expect("build a minirt runtime")
}

fn tokio_current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime")
}

fn tokio_multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(MT_WORKERS)
        .enable_all()
        .build()
        .expect("build a tokio runtime")
}

/// Keeps the whole run to a few minutes: 1 s of warm-up, 3 s of measurement, 20 samples.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

/// Benchmarks `iterate` as function `name` of `group`, on a runtime that `build` makes on first
/// use (so a run filtered to one function builds, and under callgrind counts, only its
/// runtime) and that is dropped when the function is done.
fn bench_on<R>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    build: fn() -> R,
    iterate: impl Fn(&R),
) {
    let mut rt = None;
    group.bench_function(name, |b| {
        let rt = rt.get_or_insert_with(build);
        b.iter(|| iterate(rt))
    });
}

/// Benchmarks `body` (an async block using `$rt::sync`, `$rt::spawn`, `$rt::task`) as group
/// `$name`: with `$rt = minirt` on minirt's current-thread and multi-thread runtimes, and with
/// `$rt = tokio` on tokio's. The body runs as a spawned task; `block_on` awaits it.
macro_rules! compare {
    ($c:expr, $name:literal, |$rt:ident| $body:block) => {{
        let mut group = $c.benchmark_group($name);
        configure(&mut group);
        let minirt_iterate = {
            use minirt as $rt;
            |runtime: &minirt::runtime::Runtime| {
                runtime.block_on(async {
                    $rt::spawn(async move $body).await.expect("the workload task failed")
                })
            }
        };
        let tokio_iterate = {
            use tokio as $rt;
            |runtime: &tokio::runtime::Runtime| {
                runtime.block_on(async {
                    $rt::spawn(async move $body).await.expect("the workload task failed")
                })
            }
        };
        bench_on(&mut group, "minirt", minirt_current_thread, &minirt_iterate);
        bench_on(&mut group, "tokio", tokio_current_thread, &tokio_iterate);
        bench_on(&mut group, "minirt_mt", minirt_multi_thread, &minirt_iterate);
        bench_on(&mut group, "tokio_mt", tokio_multi_thread, &tokio_iterate);
        group.finish();
    }};
}

fn mpsc(c: &mut Criterion) {
    compare!(c, "mpsc_bounded_1to1", |rt| {
        let (tx, mut rx) = rt::sync::mpsc::channel::<usize>(128);
        let producer = rt::spawn(async move {
            for i in 0..MESSAGES {
                tx.send(i).await.unwrap();
            }
        });
        let mut n = 0;
        while let Some(v) = rx.recv().await {
            n += black_box(v) & 1;
        }
        producer.await.unwrap();
        black_box(n);
    });
    compare!(c, "mpsc_bounded_4to1", |rt| {
        let (tx, mut rx) = rt::sync::mpsc::channel::<usize>(128);
        let producers: Vec<_> = (0..SENDERS)
            .map(|_| {
                let tx = tx.clone();
                rt::spawn(async move {
                    for i in 0..MESSAGES / SENDERS {
                        tx.send(i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut n = 0;
        while let Some(v) = rx.recv().await {
            n += black_box(v) & 1;
        }
        for producer in producers {
            producer.await.unwrap();
        }
        black_box(n);
    });
    compare!(c, "mpsc_unbounded_1to1", |rt| {
        let (tx, mut rx) = rt::sync::mpsc::unbounded_channel::<usize>();
        let producer = rt::spawn(async move {
            for i in 0..MESSAGES {
                tx.send(i).unwrap();
                if i % 128 == 0 {
                    rt::task::yield_now().await;
                }
            }
        });
        let mut n = 0;
        while let Some(v) = rx.recv().await {
            n += black_box(v) & 1;
        }
        producer.await.unwrap();
        black_box(n);
    });
    compare!(c, "mpsc_unbounded_4to1", |rt| {
        let (tx, mut rx) = rt::sync::mpsc::unbounded_channel::<usize>();
        let producers: Vec<_> = (0..SENDERS)
            .map(|_| {
                let tx = tx.clone();
                rt::spawn(async move {
                    for i in 0..MESSAGES / SENDERS {
                        tx.send(i).unwrap();
                        if i % 128 == 0 {
                            rt::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut n = 0;
        while let Some(v) = rx.recv().await {
            n += black_box(v) & 1;
        }
        for producer in producers {
            producer.await.unwrap();
        }
        black_box(n);
    });
}

fn oneshot(c: &mut Criterion) {
    compare!(c, "oneshot", |rt| {
        for i in 0..MESSAGES {
            let (tx, rx) = rt::sync::oneshot::channel::<usize>();
            tx.send(i).unwrap();
            black_box(rx.await.unwrap());
        }
    });
    compare!(c, "oneshot_cross_task", |rt| {
        for i in 0..MESSAGES / 10 {
            let (tx, rx) = rt::sync::oneshot::channel::<usize>();
            rt::spawn(async move { tx.send(i).unwrap() });
            black_box(rx.await.unwrap());
        }
    });
}

fn locks(c: &mut Criterion) {
    compare!(c, "mutex_contended", |rt| {
        let mutex = Arc::new(rt::sync::Mutex::new(0usize));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let mutex = mutex.clone();
                rt::spawn(async move {
                    for _ in 0..ROUNDS {
                        let mut guard = mutex.lock().await;
                        *guard += 1;
                        rt::task::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*mutex.lock().await, TASKS * ROUNDS);
    });
    compare!(c, "semaphore_uncontended", |rt| {
        let sem = rt::sync::Semaphore::new(1);
        for _ in 0..MESSAGES {
            drop(black_box(sem.acquire().await.unwrap()));
        }
    });
    compare!(c, "semaphore_contended", |rt| {
        let sem = Arc::new(rt::sync::Semaphore::new(5));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let sem = sem.clone();
                rt::spawn(async move {
                    for _ in 0..ROUNDS {
                        let _permit = sem.acquire().await.unwrap();
                        rt::task::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

fn notify_and_broadcast(c: &mut Criterion) {
    compare!(c, "notify_ping_pong", |rt| {
        let ping = Arc::new(rt::sync::Notify::new());
        let pong = Arc::new(rt::sync::Notify::new());
        let ponger = {
            let (ping, pong) = (ping.clone(), pong.clone());
            rt::spawn(async move {
                for _ in 0..MESSAGES {
                    ping.notified().await;
                    pong.notify_one();
                }
            })
        };
        for _ in 0..MESSAGES {
            ping.notify_one();
            pong.notified().await;
        }
        ponger.await.unwrap();
    });
    compare!(c, "broadcast_1to8", |rt| {
        let (tx, _) = rt::sync::broadcast::channel::<usize>(BROADCAST_CAPACITY);
        // How many values each receiver has taken, published once per burst (a plain store,
        // not a read-modify-write, so it weighs nothing beside the channel's own work).
        let progress: Arc<Vec<AtomicUsize>> =
            Arc::new((0..BROADCAST_RECEIVERS).map(|_| AtomicUsize::new(0)).collect());
        let receivers: Vec<_> = (0..BROADCAST_RECEIVERS)
            .map(|r| {
                let mut rx = tx.subscribe();
                let progress = progress.clone();
                rt::spawn(async move {
                    let mut n = 0usize;
                    loop {
                        match rx.recv().await {
                            Ok(v) => {
                                n += 1;
                                black_box(v);
                                if n % BROADCAST_BURST == 0 {
                                    progress[r].store(n, Relaxed);
                                }
                            }
                            Err(rt::sync::broadcast::error::RecvError::Lagged(_)) => {
                                panic!("the sender waits: no lag")
                            }
                            Err(rt::sync::broadcast::error::RecvError::Closed) => return n,
                        }
                    }
                })
            })
            .collect();
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
            let sent = i + 1;
            if sent % BROADCAST_BURST == 0 {
                // After each burst of 256, yield; and before the next burst, wait until every
                // receiver is within 1,024 - 256 values of the tail, so nobody lags (on the
                // multi-thread flavor the sender could otherwise outrun the receivers) and
                // every iteration moves all 80,000 values.
                rt::task::yield_now().await;
                let behind =
                    |p: &AtomicUsize| p.load(Relaxed) + BROADCAST_CAPACITY - BROADCAST_BURST < sent;
                while progress.iter().any(behind) {
                    rt::task::yield_now().await;
                }
            }
        }
        drop(tx);
        for rx in receivers {
            assert_eq!(rx.await.unwrap(), MESSAGES);
        }
    });
}

criterion_group!(benches, mpsc, oneshot, locks, notify_and_broadcast);
criterion_main!(benches);
