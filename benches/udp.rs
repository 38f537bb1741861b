//! UDP benchmarks: minirt beside tokio, current-thread flavor for both, in one run.
//!
//! An echo task and a client share one runtime, over 127.0.0.1. The code for each runtime is
//! the same, line for line (`on_minirt` and `on_tokio` differ only in their imports); sockets
//! are bound once, outside the timed loop.
//!
//! | group           | what is timed                                        | what it exercises                         |
//! |-----------------|------------------------------------------------------|-------------------------------------------|
//! | `udp_echo_rtt`  | one 64-byte datagram there and back                  | latency: sendto/recvfrom, two parks       |
//! | `udp_burst`     | 32 datagrams of 512 bytes sent at once, 32 echoed    | throughput: queued datagrams per wake-up  |
//!
//! A lost datagram would stall an iteration, but loopback does not drop while the receive
//! queues have room, and a burst (32 × 512 bytes) is far below the default `rmem_default`.
//!
//! ```text
//! cargo bench --bench udp
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

const RTT_MESSAGE: usize = 64;
const BURST: usize = 32;
const BURST_MESSAGE: usize = 512;

/// Echo task and client on minirt. `on_tokio` below is the same code on tokio.
mod on_minirt {
    use minirt::net::UdpSocket;
    use minirt::runtime::{Builder, Runtime};

    pub fn runtime() -> Runtime {
        Builder::new_current_thread().build().expect("build a minirt runtime")
    }

    /// Starts an echo task on 127.0.0.1 and returns a client socket connected to it.
    pub fn connect(rt: &Runtime) -> UdpSocket {
        rt.block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind the echo socket");
            let addr = server.local_addr().expect("server address");
            minirt::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok((n, peer)) = server.recv_from(&mut buf).await {
                    if server.send_to(&buf[..n], peer).await.is_err() {
                        return;
                    }
                }
            });
            let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind the client");
            client.connect(addr).await.expect("connect the client");
            client
        })
    }

    /// `count` round trips of `message`; each waits for its echo.
    pub async fn round_trips(client: &UdpSocket, message: &[u8], count: usize) {
        let mut echoed = vec![0u8; message.len()];
        for _ in 0..count {
            client.send(message).await.expect("send to the echo task");
            let n = client.recv(&mut echoed).await.expect("receive the echo");
            assert_eq!(&echoed[..n], message, "the echo differs from the message");
        }
    }

    /// `count` bursts: `burst` datagrams sent at once, then their `burst` echoes received.
    pub async fn bursts(client: &UdpSocket, message: &[u8], burst: usize, count: usize) {
        let mut echoed = vec![0u8; message.len()];
        for _ in 0..count {
            for _ in 0..burst {
                client.send(message).await.expect("send to the echo task");
            }
            for _ in 0..burst {
                let n = client.recv(&mut echoed).await.expect("receive an echo");
                assert_eq!(n, message.len(), "a truncated echo");
            }
        }
    }
}

/// `on_minirt`, line for line, on tokio.
mod on_tokio {
    use tokio::net::UdpSocket;
    use tokio::runtime::{Builder, Runtime};

    pub fn runtime() -> Runtime {
        Builder::new_current_thread().enable_all().build().expect("build a tokio runtime")
    }

    /// Starts an echo task on 127.0.0.1 and returns a client socket connected to it.
    pub fn connect(rt: &Runtime) -> UdpSocket {
        rt.block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind the echo socket");
            let addr = server.local_addr().expect("server address");
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok((n, peer)) = server.recv_from(&mut buf).await {
                    if server.send_to(&buf[..n], peer).await.is_err() {
                        return;
                    }
                }
            });
            let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind the client");
            client.connect(addr).await.expect("connect the client");
            client
        })
    }

    /// `count` round trips of `message`; each waits for its echo.
    pub async fn round_trips(client: &UdpSocket, message: &[u8], count: usize) {
        let mut echoed = vec![0u8; message.len()];
        for _ in 0..count {
            client.send(message).await.expect("send to the echo task");
            let n = client.recv(&mut echoed).await.expect("receive the echo");
            assert_eq!(&echoed[..n], message, "the echo differs from the message");
        }
    }

    /// `count` bursts: `burst` datagrams sent at once, then their `burst` echoes received.
    pub async fn bursts(client: &UdpSocket, message: &[u8], burst: usize, count: usize) {
        let mut echoed = vec![0u8; message.len()];
        for _ in 0..count {
            for _ in 0..burst {
                client.send(message).await.expect("send to the echo task");
            }
            for _ in 0..burst {
                let n = client.recv(&mut echoed).await.expect("receive an echo");
                assert_eq!(n, message.len(), "a truncated echo");
            }
        }
    }
}

/// 1 s of warm-up and 3 s of measurement per function, in 30 samples.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

fn udp_echo_rtt(c: &mut Criterion) {
    let mut group = c.benchmark_group("udp_echo_rtt");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    let message = [7u8; RTT_MESSAGE];
    {
        let rt = on_minirt::runtime();
        let client = on_minirt::connect(&rt);
        group.bench_function("minirt", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    on_minirt::round_trips(&client, &message, iters as usize).await;
                    start.elapsed()
                })
            })
        });
    }
    {
        let rt = on_tokio::runtime();
        let client = on_tokio::connect(&rt);
        group.bench_function("tokio", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    on_tokio::round_trips(&client, &message, iters as usize).await;
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

fn udp_burst(c: &mut Criterion) {
    let mut group = c.benchmark_group("udp_burst");
    configure(&mut group);
    group.throughput(Throughput::Elements(BURST as u64));
    let message = [7u8; BURST_MESSAGE];
    {
        let rt = on_minirt::runtime();
        let client = on_minirt::connect(&rt);
        group.bench_function("minirt", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    on_minirt::bursts(&client, &message, BURST, iters as usize).await;
                    start.elapsed()
                })
            })
        });
    }
    {
        let rt = on_tokio::runtime();
        let client = on_tokio::connect(&rt);
        group.bench_function("tokio", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    on_tokio::bursts(&client, &message, BURST, iters as usize).await;
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(udp, udp_echo_rtt, udp_burst);
criterion_main!(udp);
