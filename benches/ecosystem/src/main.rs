//! One axum app and one reqwest client loop, built twice by benches/ecosystem.sh: on minirt
//! (minirt/Cargo.toml, with the `[patch.crates-io]` line) and on real tokio (tokio/Cargo.toml,
//! without it). Nothing here names either runtime.
//!
//!   eco-bench serve ADDR current|multi [WORKERS]   GET /text (13 bytes), GET /json (a small object)
//!   eco-bench client URL N current|multi [WORKERS] N keep-alive GETs, one at a time
//!
//! `client` prints `N requests in S s: R requests/s, C us CPU/request` (CPU of the whole
//! process: user + system time from getrusage, via /proc/self/stat).

use std::io;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

#[derive(Serialize)]
struct Status {
    service: &'static str,
    healthy: bool,
    version: u32,
    regions: [&'static str; 3],
}

fn app() -> Router {
    Router::new().route("/text", get(|| async { "Hello, World!" })).route(
        "/json",
        get(|| async {
            Json(Status {
                service: "eco-bench",
                healthy: true,
                version: 7,
                regions: ["eu-west", "us-east", "ap-south"],
            })
        }),
    )
}

fn runtime(flavor: &str, workers: Option<usize>) -> io::Result<tokio::runtime::Runtime> {
    let mut builder = match flavor {
        "current" => tokio::runtime::Builder::new_current_thread(),
        "multi" => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = workers {
                b.worker_threads(n);
            }
            b
        }
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("flavor is current or multi, not {other}"),
            ))
        }
    };
    builder.enable_all().build()
}

/// user + system CPU time of this process so far, from /proc/self/stat (clock ticks of 10 ms).
fn cpu_time() -> io::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other("parse /proc/self/stat"))
    };
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: eco-bench serve ADDR current|multi [WORKERS] | \
             eco-bench client URL N current|multi [WORKERS]",
        )
    };
    let workers = |i: usize| args.get(i).and_then(|w| w.parse().ok());
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            let addr = args.get(2).ok_or_else(usage)?.clone();
            let rt = runtime(args.get(3).ok_or_else(usage)?, workers(4))?;
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(&addr).await?;
                eprintln!("serving on {}", listener.local_addr()?);
                axum::serve(listener, app()).await
            })
        }
        Some("client") => {
            let url = args.get(2).ok_or_else(usage)?.clone();
            let n: u32 = args.get(3).and_then(|n| n.parse().ok()).ok_or_else(usage)?;
            let rt = runtime(args.get(4).ok_or_else(usage)?, workers(5))?;
            rt.block_on(async {
                let client = reqwest::Client::new();
                let get = |url: String| {
                    let client = client.clone();
                    async move {
                        let resp = client.get(url).send().await.map_err(io::Error::other)?;
                        resp.bytes().await.map_err(io::Error::other)
                    }
                };
                get(url.clone()).await?; // Connects: the loop below only reuses the connection.
                let cpu0 = cpu_time()?;
                let t0 = Instant::now();
                for _ in 0..n {
                    get(url.clone()).await?;
                }
                let secs = t0.elapsed().as_secs_f64();
                let cpu = (cpu_time()? - cpu0).as_secs_f64();
                println!(
                    "{n} requests in {secs:.3} s: {:.0} requests/s, {:.1} us CPU/request",
                    f64::from(n) / secs,
                    cpu * 1e6 / f64::from(n)
                );
                Ok(())
            })
        }
        _ => Err(usage()),
    }
}
