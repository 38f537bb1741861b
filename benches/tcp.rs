//! TCP benchmarks: minirt beside tokio, current-thread flavor for both, in one run.
//!
//! An echo server and its clients run as tasks of the same runtime, over 127.0.0.1, so every
//! byte crosses the loopback twice and every round trip goes through the runtime's reactor
//! twice (the server's read, the client's read). The code for each runtime is the same, line
//! for line (`on_minirt` and `on_tokio` differ only in their imports); each runtime is built
//! once and its connections are opened once, outside the timed loop; the clients are dropped
//! (closing the connections) before their runtime.
//!
//! | group           | what is timed                                         | what it exercises                          |
//! |-----------------|-------------------------------------------------------|--------------------------------------------|
//! | `tcp_echo_rtt`  | one 64-byte round trip on one connection              | latency: recv/send, epoll_wait, two wakes  |
//! | `tcp_echo_bulk` | 100 connections × 10 round trips of 4 KiB, at once    | throughput: many ready sockets per poll    |
//!
//! ```text
//! cargo bench --bench tcp
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

/// Message size of `tcp_echo_rtt`.
const RTT_MESSAGE: usize = 64;
/// Connections, message size and round trips per connection of one `tcp_echo_bulk` iteration.
const BULK_CONNECTIONS: usize = 100;
const BULK_MESSAGE: usize = 4 * 1024;
const BULK_ROUND_TRIPS: usize = 10;

/// Echo server and clients on minirt. `on_tokio` below is the same code on tokio.
mod on_minirt {
    use minirt::io::{AsyncReadExt, AsyncWriteExt};
    use minirt::net::{TcpListener, TcpStream};
    use minirt::runtime::{Builder, Runtime};

    pub fn runtime() -> Runtime {
        Builder::new_current_thread().build().expect("build a minirt runtime")
    }

    /// Starts an echo server on 127.0.0.1 (a task of `rt`) and opens `n` connections to it.
    pub fn connect(rt: &Runtime, n: usize) -> Vec<TcpStream> {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("listener address");
            minirt::spawn(async move {
                for _ in 0..n {
                    let (stream, _) = listener.accept().await.expect("accept a client");
                    minirt::spawn(echo(stream));
                }
            });
            let mut clients = Vec::with_capacity(n);
            for _ in 0..n {
                let client = TcpStream::connect(addr).await.expect("connect to the echo server");
                client.set_nodelay(true).expect("TCP_NODELAY on the client");
                clients.push(client);
            }
            clients
        })
    }

    /// Sends back every byte it reads, until the client closes.
    async fn echo(mut stream: TcpStream) {
        stream.set_nodelay(true).expect("TCP_NODELAY on the server side");
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
    pub async fn round_trips(client: &mut TcpStream, message: &[u8], count: usize) {
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
        clients: &mut Vec<TcpStream>,
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
    use tokio::net::{TcpListener, TcpStream};
    use tokio::runtime::{Builder, Runtime};

    pub fn runtime() -> Runtime {
        Builder::new_current_thread().enable_all().build().expect("build a tokio runtime")
    }

    /// Starts an echo server on 127.0.0.1 (a task of `rt`) and opens `n` connections to it.
    pub fn connect(rt: &Runtime, n: usize) -> Vec<TcpStream> {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("listener address");
            tokio::spawn(async move {
                for _ in 0..n {
                    let (stream, _) = listener.accept().await.expect("accept a client");
                    tokio::spawn(echo(stream));
                }
            });
            let mut clients = Vec::with_capacity(n);
            for _ in 0..n {
                let client = TcpStream::connect(addr).await.expect("connect to the echo server");
                client.set_nodelay(true).expect("TCP_NODELAY on the client");
                clients.push(client);
            }
            clients
        })
    }

    /// Sends back every byte it reads, until the client closes.
    async fn echo(mut stream: TcpStream) {
        stream.set_nodelay(true).expect("TCP_NODELAY on the server side");
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
    pub async fn round_trips(client: &mut TcpStream, message: &[u8], count: usize) {
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
        clients: &mut Vec<TcpStream>,
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

/// One connection, 64-byte messages; `iter_custom` times only the round trips, not `block_on`.
fn tcp_echo_rtt(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_echo_rtt");
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

/// 100 connections, each doing 10 round trips of 4 KiB in its own task, all at once.
fn tcp_echo_bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_echo_bulk");
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

criterion_group!(tcp, tcp_echo_rtt, tcp_echo_bulk);
criterion_main!(tcp);
