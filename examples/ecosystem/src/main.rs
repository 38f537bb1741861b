//! The service's binary: binds, starts the upstream (unless one is given), prints
//! `listening on http://ADDR` on stdout, and serves until SIGTERM or ctrl-c; then drains the
//! requests in flight and exits 0.
//!
//! Usage: `ecosystem-service [--addr HOST:PORT] [--upstream URL] [--timeout-ms N]`
//! (`--addr` defaults to 127.0.0.1:3000; `--upstream` to `$UPSTREAM_URL`, else an upstream this
//! process starts on a free local port; `--timeout-ms` to 2000).

use std::io::{self, Write};
use std::time::Duration;

use ecosystem_service::{run, shutdown_signal, spawn_upstream, Config};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

struct Args {
    addr: String,
    upstream: Option<String>,
    timeout: Duration,
}

fn parse_args() -> io::Result<Args> {
    let bad = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let mut args = Args {
        addr: "127.0.0.1:3000".into(),
        upstream: std::env::var("UPSTREAM_URL").ok(),
        timeout: Duration::from_millis(2000),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| bad(format!("{flag} needs a value")));
        match flag.as_str() {
            "--addr" => args.addr = value()?,
            "--upstream" => args.upstream = Some(value()?),
            "--timeout-ms" => {
                let v = value()?;
                let ms = v.parse().map_err(|e| bad(format!("--timeout-ms {v}: {e}")))?;
                args.timeout = Duration::from_millis(ms);
            }
            other => {
                return Err(bad(format!(
                    "unknown argument {other}; usage: ecosystem-service [--addr HOST:PORT] \
                     [--upstream URL] [--timeout-ms N]"
                )))
            }
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> io::Result<()> {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .init();
    let args = parse_args()?;
    // Before the address is announced: a SIGTERM sent as soon as it is read must drain, not kill.
    let shutdown = shutdown_signal()?;

    let stop_upstream = CancellationToken::new();
    let (upstream, upstream_task) = match args.upstream {
        Some(url) => (url.trim_end_matches('/').to_string(), None),
        None => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "upstream started");
            let stopped = stop_upstream.clone().cancelled_owned();
            (format!("http://{addr}"), Some(spawn_upstream(listener, stopped)))
        }
    };

    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("bind {}: {e}", args.addr)))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, %upstream, "listening");
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")?;
    stdout.flush()?;
    drop(stdout);

    run(listener, Config { upstream, request_timeout: args.timeout }, shutdown).await?;

    stop_upstream.cancel();
    if let Some(task) = upstream_task {
        task.await.map_err(io::Error::other)??;
    }
    tracing::info!("shutdown complete");
    Ok(())
}
