//! Unix stream benchmarks: minirt beside tokio, current-thread flavor for both, in one run.
//!
//! The same workloads as `benches/tcp.rs`, over Unix stream socket pairs instead of loopback
//! TCP: an echo task holds one end of each pair, a client the other. No TCP stack, so the
//! runtime's own share of each round trip (two parks in `epoll_wait`, two wakes) weighs more.
//! The code for each runtime is the same, line for line (`on_minirt` and `on_tokio` differ
//! only in their imports); each runtime is built once and its pairs are opened once, outside
//! the timed loop; the clients are dropped (closing the pairs) before their runtime.
//!
//! | group            | what is timed                                        | what it exercises                          |
//! |------------------|------------------------------------------------------|--------------------------------------------|
//! | `unix_echo_rtt`  | one 64-byte round trip on one pair                   | latency: recv/send, epoll_wait, two wakes  |
//! | `unix_echo_bulk` | 100 pairs × 10 round trips of 4 KiB, at once         | throughput: many ready sockets per poll    |
//!
//! ```text
//! cargo bench --bench unix
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

/// Message size of `unix_echo_rtt`.
const RTT_MESSAGE: usize = 64;
/// Pairs, message size and round trips per pair of one `unix_echo_bulk` iteration.
const BULK_CONNECTIONS: usize = 100;
const BULK_MESSAGE: usize = 4 * 1024;
const BULK_ROUND_TRIPS: usize = 10;

/// Echo tasks and clients on minirt. `on_tokio` below is the same code on tokio.
mod on_minirt {
    use minirt::io::{AsyncReadExt, AsyncWriteExt};
    use minirt::net::UnixStream;
    use minirt::runtime::{Builder, Runtime};

    pub fn runtime() -> Runtime {
        Builder::new_current_thread().build().expect("build a minirt runtime")
    }

    /// Opens `n` socket pairs, each with an echo task (of `rt`) on one end; returns the
    /// client ends.
    pub fn connect(rt: &Runtime, n: usize) -> Vec<UnixStream> {
        rt.block_on(async {
            let mut clients = Vec::with_capacity(n);
            for _ in 0..n {
                let (client, server) = UnixStream::pair().expect("socketpair");
                minirt::spawn(echo(server));
                clients.push(client);
            }
            clients
        })
    }

    /// Sends back every byte it reads, until the client closes.
    async fn echo(mut stream: UnixStream) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if stream.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    /// `count` round trips of `message`, one after the other.
    pub async fn round_trips(client: &mut UnixStream, message: &[u8], count: usize) {
        let mut echoed = vec![0u8; message.len()];
        for _ in 0..count {
            client.write_all(message).await.expect("send to the echo server");
            client.read_exact(&mut echoed).await.expect("read the echo");
        }
        assert_eq!(echoed, message, "the echo differs from the message");
    }

    /// Every client does `count` round trips of `size` bytes in a task of its own, all at once.
    pub fn concurrent_round_trips(
        rt: &Runtime,
        clients: &mut Vec<UnixStream>,
        size: usize,
        count: usize,
    ) {
        rt.block_on(async {
            let tasks: Vec<_> = clients
                .drain(..)
                .map(|mut client| {
                    minirt::spawn(async move {
                        round_trips(&mut client, &vec![7u8; size], count).await;
                        client
                    })
                })
                .collect();
            for task in tasks {
                clients.push(task.await.expect("a client task failed"));
            }
        });
    }
}

/// `on_minirt`, line for line, on tokio.
mod on_tokio {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;
    use tokio::runtime::{Builder, Runtime};

    pub fn runtime() -> Runtime {
        Builder::new_current_thread().enable_all().build().expect("build a tokio runtime")
    }

    /// Opens `n` socket pairs, each with an echo task (of `rt`) on one end; returns the
    /// client ends.
    pub fn connect(rt: &Runtime, n: usize) -> Vec<UnixStream> {
        rt.block_on(async {
            let mut clients = Vec::with_capacity(n);
            for _ in 0..n {
                let (client, server) = UnixStream::pair().expect("socketpair");
                tokio::spawn(echo(server));
                clients.push(client);
            }
            clients
        })
    }

    /// Sends back every byte it reads, until the client closes.
    async fn echo(mut stream: UnixStream) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if stream.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    /// `count` round trips of `message`, one after the other.
    pub async fn round_trips(client: &mut UnixStream, message: &[u8], count: usize) {
        let mut echoed = vec![0u8; message.len()];
        for _ in 0..count {
            client.write_all(message).await.expect("send to the echo server");
            client.read_exact(&mut echoed).await.expect("read the echo");
        }
        assert_eq!(echoed, message, "the echo differs from the message");
    }

    /// Every client does `count` round trips of `size` bytes in a task of its own, all at once.
    pub fn concurrent_round_trips(
        rt: &Runtime,
        clients: &mut Vec<UnixStream>,
        size: usize,
        count: usize,
    ) {
        rt.block_on(async {
            let tasks: Vec<_> = clients
                .drain(..)
                .map(|mut client| {
                    tokio::spawn(async move {
                        round_trips(&mut client, &vec![7u8; size], count).await;
                        client
                    })
                })
                .collect();
            for task in tasks {
                clients.push(task.await.expect("a client task failed"));
            }
        });
    }
}

/// 1 s of warm-up and 3 s of measurement per function, in 30 samples.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

/// One pair, 64-byte messages; `iter_custom` times only the round trips, not `block_on`.
fn unix_echo_rtt(c: &mut Criterion) {
    let mut group = c.benchmark_group("unix_echo_rtt");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    let message = [7u8; RTT_MESSAGE];

    {
        let rt = on_minirt::runtime();
        let mut clients = on_minirt::connect(&rt, 1);
        group.bench_function("minirt", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    on_minirt::round_trips(&mut clients[0], &message, iters as usize).await;
                    start.elapsed()
                })
            })
        });
    }
    {
        let rt = on_tokio::runtime();
        let mut clients = on_tokio::connect(&rt, 1);
        group.bench_function("tokio", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    on_tokio::round_trips(&mut clients[0], &message, iters as usize).await;
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

/// 100 pairs, each doing 10 round trips of 4 KiB in its own task, all at once.
fn unix_echo_bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("unix_echo_bulk");
    configure(&mut group);
    group
        .throughput(Throughput::Bytes((BULK_CONNECTIONS * BULK_ROUND_TRIPS * BULK_MESSAGE) as u64));

    {
        let rt = on_minirt::runtime();
        let mut clients = on_minirt::connect(&rt, BULK_CONNECTIONS);
        group.bench_function("minirt", |b| {
            b.iter(|| {
                on_minirt::concurrent_round_trips(&rt, &mut clients, BULK_MESSAGE, BULK_ROUND_TRIPS)
            })
        });
    }
    {
        let rt = on_tokio::runtime();
        let mut clients = on_tokio::connect(&rt, BULK_CONNECTIONS);
        group.bench_function("tokio", |b| {
            b.iter(|| {
                on_tokio::concurrent_round_trips(&rt, &mut clients, BULK_MESSAGE, BULK_ROUND_TRIPS)
            })
        });
    }
    group.finish();
}

criterion_group!(unix, unix_echo_rtt, unix_echo_bulk);
criterion_main!(unix);
