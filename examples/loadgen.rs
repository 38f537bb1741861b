//! A closed-loop load generator for echo servers, built on neither runtime: plain threads and
//! blocking std sockets, so it cannot favour minirt or tokio.
//!
//! Each connection has its own thread that sends a message, reads the whole echo back, records
//! the round-trip time, and repeats until the duration is up. The clock starts once every
//! connection is open, so the rate counts round trips, not connection set-up.
//!
//! ```text
//! cargo run --release --example loadgen -- [ADDR] [CONNECTIONS] [MESSAGE_BYTES] [SECONDS]
//! cargo run --release --example loadgen -- 127.0.0.1:7000 50 64 10
//! ```
//! Prints round trips per second and the p50 / p99 / p99.9 latency.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

struct Options {
    addr: String,
    connections: usize,
    message_bytes: usize,
    duration: Duration,
}

fn parse_options() -> Result<Options, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64, name: &str| -> Result<u64, String> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse().map_err(|_| format!("{name} must be a number, got {s:?}"))
        })
    };
    Ok(Options {
        addr: args.first().cloned().unwrap_or_else(|| "127.0.0.1:7000".to_string()),
        connections: number(1, 50, "CONNECTIONS")?.max(1) as usize,
        message_bytes: number(2, 64, "MESSAGE_BYTES")?.max(1) as usize,
        duration: Duration::from_secs(number(3, 10, "SECONDS")?.max(1)),
    })
}

fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    // A server that stops answering (or stops reading) fails the run instead of hanging it.
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(stream)
}

/// One connection's loop: connects, waits at `start` until every connection is open, then runs
/// for `duration`; returns its round-trip times in nanoseconds.
fn run_connection(
    addr: &str,
    message_bytes: usize,
    start: &Barrier,
    duration: Duration,
) -> std::io::Result<Vec<u64>> {
    let connected = connect(addr);
    // Reached even when the connect failed, so that the other threads and `main` go on.
    start.wait();
    let mut stream = connected?;
    let deadline = Instant::now() + duration;
    let message: Vec<u8> = (0..message_bytes).map(|i| (i % 251) as u8).collect();
    let mut echo = vec![0u8; message_bytes];
    let mut samples = Vec::with_capacity(1 << 16);
    while Instant::now() < deadline {
        let start = Instant::now();
        stream.write_all(&message)?;
        stream.read_exact(&mut echo)?;
        samples.push(start.elapsed().as_nanos() as u64);
        if echo != message {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "echo differs"));
        }
    }
    Ok(samples)
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_nanos(sorted[index])
}

fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!(
                "loadgen: {e}\nusage: loadgen [ADDR] [CONNECTIONS] [MESSAGE_BYTES] [SECONDS]"
            );
            std::process::exit(2);
        }
    };
    let start = Arc::new(Barrier::new(options.connections + 1));
    let workers: Vec<_> = (0..options.connections)
        .map(|_| {
            let addr = options.addr.clone();
            let (bytes, duration) = (options.message_bytes, options.duration);
            let start = start.clone();
            std::thread::spawn(move || run_connection(&addr, bytes, &start, duration))
        })
        .collect();
    start.wait();
    let started = Instant::now();

    let mut samples = Vec::new();
    let mut failures = 0;
    for worker in workers {
        match worker.join() {
            Ok(Ok(mut s)) => samples.append(&mut s),
            Ok(Err(e)) => {
                failures += 1;
                eprintln!("loadgen: connection failed: {e}");
            }
            Err(_) => failures += 1,
        }
    }
    let elapsed = started.elapsed();
    samples.sort_unstable();
    println!(
        "{} connections, {} B messages, {:.1} s: {} round trips, {:.0} round trips/s",
        options.connections,
        options.message_bytes,
        elapsed.as_secs_f64(),
        samples.len(),
        samples.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency p50 {:?}  p99 {:?}  p99.9 {:?}  ({failures} connections failed)",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999)
    );
    if failures > 0 {
        std::process::exit(1);
    }
}
