//! `minirt::sync` beside `tokio::sync`: each workload written once (a macro expands it with
//! `minirt` and with `tokio` as the crate path), each on its own runtime's current-thread flavor,
//! in one run. minirt has no multi-thread runtime yet, so there is no multi-thread column.
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
//! cargo bench --bench sync -- mutex            # the groups whose name contains "mutex"
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};

const MESSAGES: usize = 10_000;
const SENDERS: usize = 4;
const TASKS: usize = 50;
const ROUNDS: usize = 100;

fn minirt_rt() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a minirt runtime")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
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

/// Benchmarks `body` (an async block using `$rt::sync`, `$rt::spawn`, `$rt::task`) as group
/// `$name`, once with `$rt = minirt` on a minirt runtime and once with `$rt = tokio` on a tokio
/// runtime.
macro_rules! compare {
    ($c:expr, $name:literal, |$rt:ident| $body:block) => {{
        let mut group = $c.benchmark_group($name);
        configure(&mut group);
        {
            use minirt as $rt;
            let runtime = minirt_rt();
            group.bench_function("minirt", |b| b.iter(|| runtime.block_on(async $body)));
        }
        {
            use tokio as $rt;
            let runtime = tokio_rt();
            group.bench_function("tokio", |b| b.iter(|| runtime.block_on(async $body)));
        }
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
        let mutex = std::sync::Arc::new(rt::sync::Mutex::new(0usize));
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
        let sem = std::sync::Arc::new(rt::sync::Semaphore::new(5));
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
        let ping = std::sync::Arc::new(rt::sync::Notify::new());
        let pong = std::sync::Arc::new(rt::sync::Notify::new());
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
        let (tx, _) = rt::sync::broadcast::channel::<usize>(1024);
        let receivers: Vec<_> = (0..8)
            .map(|_| {
                let mut rx = tx.subscribe();
                rt::spawn(async move {
                    let mut n = 0usize;
                    loop {
                        match rx.recv().await {
                            Ok(v) => n += black_box(v) & 1,
                            Err(rt::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(rt::sync::broadcast::error::RecvError::Closed) => return n,
                        }
                    }
                })
            })
            .collect();
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
            // Bursts of 256 into a ring of 1,024: the receivers keep up, nobody lags.
            if i % 256 == 255 {
                rt::task::yield_now().await;
            }
        }
        drop(tx);
        for rx in receivers {
            black_box(rx.await.unwrap());
        }
    });
}

criterion_group!(benches, mpsc, oneshot, locks, notify_and_broadcast);
criterion_main!(benches);
