//! Toolkit benchmarks: minirt beside tokio, current-thread flavor for both, in one run.
//!
//! The code for each runtime is the same, line for line (`on_minirt` and `on_tokio` differ only
//! in their imports); channels are futures-channel's on both, so only the runtime, its
//! `select!` and its buffered reader differ. Each runtime (and its TCP connection) is built
//! once, outside the timed loop.
//!
//! | group              | what one iteration does                                   | what it exercises                            |
//! |--------------------|-----------------------------------------------------------|----------------------------------------------|
//! | `select_loop`      | 10,000 `select!`s: a ready channel vs. a never-ready one  | the macro: polling order, disabling, output  |
//! | `bufreader_lines`  | read 10,000 lines of 48 bytes over TCP with `lines()`     | `BufReader` + `next_line` + the reactor      |
//! | `join_set`         | spawn 10,000 tasks into a `JoinSet`, join them all        | spawn, the set's ready list, JoinHandle      |
//!
//! ```text
//! cargo bench --bench toolkit -- --warm-up-time 1 --measurement-time 3
//! ```

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

/// `select!`s per `select_loop` iteration.
const SELECTS: usize = 10_000;
/// Lines per `bufreader_lines` iteration, and their length (with the newline).
const LINES: usize = 10_000;
const LINE_LEN: usize = 48;
/// Tasks per `join_set` iteration.
const JOINED: usize = 10_000;

/// The workloads on minirt. `on_tokio` below is the same code on tokio.
mod on_minirt {
    use futures_channel::mpsc;
    use futures_util::StreamExt;
    use minirt::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
    use minirt::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    use minirt::net::{TcpListener, TcpStream};
    use minirt::runtime::{Builder, Runtime};
    use minirt::select;
    use minirt::task::{yield_now, JoinSet};

    pub fn runtime() -> Runtime {
        Builder::new_current_thread().build().expect("build a runtime")
    }

    /// Spawns `n` tasks into a `JoinSet` (half of them yield once) and joins every one.
    pub async fn join_set(n: usize) -> u64 {
        let mut set = JoinSet::new();
        for i in 0..n as u64 {
            set.spawn(async move {
                if i % 2 == 0 {
                    yield_now().await;
                }
                i
            });
        }
        let mut sum = 0;
        while let Some(result) = set.join_next().await {
            sum += result.expect("no task fails");
        }
        sum
    }

    /// `n` selects between a channel that always has a value and one that never does.
    pub async fn select_loop(n: usize) -> u64 {
        let (tx, mut ready) = mpsc::unbounded::<u64>();
        let (_idle_tx, mut idle) = mpsc::unbounded::<u64>();
        for i in 0..n as u64 {
            tx.unbounded_send(i).expect("queue a value");
        }
        let mut sum = 0;
        for _ in 0..n {
            select! {
                Some(v) = ready.next() => sum += v,
                Some(v) = idle.next() => sum += v * 2,
            }
        }
        sum
    }

    /// The client's line reader and its write half, connected to a server task that writes
    /// `lines` copies of `line` for each byte it reads.
    pub fn lines_pair(
        rt: &Runtime,
        lines: usize,
        line: &'static [u8],
    ) -> (Lines<BufReader<OwnedReadHalf>>, OwnedWriteHalf) {
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("listener address");
            minirt::spawn(async move {
                let (mut stream, _) = listener.accept().await.expect("accept");
                let block: Vec<u8> = line.repeat(lines);
                let mut go = [0u8; 1];
                while stream.read_exact(&mut go).await.is_ok() {
                    if stream.write_all(&block).await.is_err() {
                        break;
                    }
                }
            });
            let client = TcpStream::connect(addr).await.expect("connect");
            let (rd, wr) = client.into_split();
            (BufReader::new(rd).lines(), wr)
        })
    }

    /// Asks for one batch and reads its `lines` lines; returns the bytes read.
    pub async fn read_lines(
        reader: &mut Lines<BufReader<OwnedReadHalf>>,
        control: &mut OwnedWriteHalf,
        lines: usize,
    ) -> usize {
        control.write_all(b"g").await.expect("ask for lines");
        let mut bytes = 0;
        for _ in 0..lines {
            bytes += reader.next_line().await.expect("read a line").expect("a line").len();
        }
        bytes
    }
}

/// The workloads on tokio: `on_minirt`, line for line.
mod on_tokio {
    use futures_channel::mpsc;
    use futures_util::StreamExt;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::runtime::{Builder, Runtime};
    use tokio::select;
    use tokio::task::{yield_now, JoinSet};

    pub fn runtime() -> Runtime {
        Builder::new_current_thread().enable_all().build().expect("build a runtime")
    }

    /// Spawns `n` tasks into a `JoinSet` (half of them yield once) and joins every one.
    pub async fn join_set(n: usize) -> u64 {
        let mut set = JoinSet::new();
        for i in 0..n as u64 {
            set.spawn(async move {
                if i % 2 == 0 {
                    yield_now().await;
                }
                i
            });
        }
        let mut sum = 0;
        while let Some(result) = set.join_next().await {
            sum += result.expect("no task fails");
        }
        sum
    }

    /// `n` selects between a channel that always has a value and one that never does.
    pub async fn select_loop(n: usize) -> u64 {
        let (tx, mut ready) = mpsc::unbounded::<u64>();
        let (_idle_tx, mut idle) = mpsc::unbounded::<u64>();
        for i in 0..n as u64 {
            tx.unbounded_send(i).expect("queue a value");
        }
        let mut sum = 0;
        for _ in 0..n {
            select! {
                Some(v) = ready.next() => sum += v,
                Some(v) = idle.next() => sum += v * 2,
            }
        }
        sum
    }

    /// The client's line reader and its write half, connected to a server task that writes
    /// `lines` copies of `line` for each byte it reads.
    pub fn lines_pair(
        rt: &Runtime,
        lines: usize,
        line: &'static [u8],
    ) -> (Lines<BufReader<OwnedReadHalf>>, OwnedWriteHalf) {
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("listener address");
            tokio::spawn(async move {
                let (mut stream, _) = listener.accept().await.expect("accept");
                let block: Vec<u8> = line.repeat(lines);
                let mut go = [0u8; 1];
                while stream.read_exact(&mut go).await.is_ok() {
                    if stream.write_all(&block).await.is_err() {
                        break;
                    }
                }
            });
            let client = TcpStream::connect(addr).await.expect("connect");
            let (rd, wr) = client.into_split();
            (BufReader::new(rd).lines(), wr)
        })
    }

    /// Asks for one batch and reads its `lines` lines; returns the bytes read.
    pub async fn read_lines(
        reader: &mut Lines<BufReader<OwnedReadHalf>>,
        control: &mut OwnedWriteHalf,
        lines: usize,
    ) -> usize {
        control.write_all(b"g").await.expect("ask for lines");
        let mut bytes = 0;
        for _ in 0..lines {
            bytes += reader.next_line().await.expect("read a line").expect("a line").len();
        }
        bytes
    }
}

/// One line of `bufreader_lines`: `LINE_LEN` bytes with the newline.
static LINE: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK\n";

/// 1 s of warm-up and 3 s of measurement per function, in 30 samples.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

fn select_loop(c: &mut Criterion) {
    let mut group = c.benchmark_group("select_loop");
    configure(&mut group);
    group.throughput(Throughput::Elements(SELECTS as u64));
    let rt = on_minirt::runtime();
    group.bench_function("minirt", |b| b.iter(|| rt.block_on(on_minirt::select_loop(SELECTS))));
    let rt = on_tokio::runtime();
    group.bench_function("tokio", |b| b.iter(|| rt.block_on(on_tokio::select_loop(SELECTS))));
    group.finish();
}

fn join_set(c: &mut Criterion) {
    let mut group = c.benchmark_group("join_set");
    configure(&mut group);
    group.throughput(Throughput::Elements(JOINED as u64));
    let rt = on_minirt::runtime();
    group.bench_function("minirt", |b| b.iter(|| rt.block_on(on_minirt::join_set(JOINED))));
    let rt = on_tokio::runtime();
    group.bench_function("tokio", |b| b.iter(|| rt.block_on(on_tokio::join_set(JOINED))));
    group.finish();
}

fn bufreader_lines(c: &mut Criterion) {
    assert_eq!(LINE.len(), LINE_LEN);
    let mut group = c.benchmark_group("bufreader_lines");
    configure(&mut group);
    group.throughput(Throughput::Bytes((LINES * LINE_LEN) as u64));
    {
        let rt = on_minirt::runtime();
        let (mut lines, mut control) = on_minirt::lines_pair(&rt, LINES, LINE);
        group.bench_function("minirt", |b| {
            b.iter(|| rt.block_on(on_minirt::read_lines(&mut lines, &mut control, LINES)))
        });
        drop((lines, control));
    }
    {
        let rt = on_tokio::runtime();
        let (mut lines, mut control) = on_tokio::lines_pair(&rt, LINES, LINE);
        group.bench_function("tokio", |b| {
            b.iter(|| rt.block_on(on_tokio::read_lines(&mut lines, &mut control, LINES)))
        });
        drop((lines, control));
    }
    group.finish();
}

criterion_group!(toolkit, select_loop, join_set, bufreader_lines);
criterion_main!(toolkit);
