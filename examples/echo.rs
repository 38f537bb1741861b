//! An echo server: every byte a client sends comes back.
//!
//! ```text
//! cargo run --release --example echo -- [ADDR] [--threads N | --current-thread]
//! ```
//!
//! ADDR comes from the argument, else the `ADDR` environment variable, else `127.0.0.1:7000`;
//! the runtime is current-thread unless `--threads N` (`support/args.rs`). The first line on
//! stdout is `echo: listening on 127.0.0.1:7000 (current-thread)`, with the address actually
//! bound (port 0 picks a free one). On Ctrl-C or SIGTERM it stops accepting, lets the open
//! connections finish (for up to 5 s; see `support/shutdown.rs`), prints
//! `echo: shut down (N connections cut)` and exits with status 0.

use std::time::Duration;

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::TcpListener;

#[path = "support/accept.rs"]
mod accept;

#[path = "support/args.rs"]
mod args;
use args::Args;

#[path = "support/shutdown.rs"]
pub mod shutdown;
use shutdown::{StopSignals, Tracker};

fn main() -> std::io::Result<()> {
    run_program(std::env::args().skip(1))
}

/// The whole program, from its arguments to its end (`tests/examples/` runs it in a child
/// process).
pub fn run_program(argv: impl Iterator<Item = String>) -> std::io::Result<()> {
    let args = Args::from_argv(argv, "127.0.0.1:7000", 0)?;
    args.minirt_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> std::io::Result<()> {
    // Listen for the signals before saying we are up: a client that reads the start-up line
    // may signal at once.
    let stop = StopSignals::listen()?;
    let listener = TcpListener::bind(&args.addr).await?;
    println!("echo: listening on {} ({})", listener.local_addr()?, args.flavor());
    let cut = serve_with(listener, stop, shutdown::GRACE).await;
    println!("echo: shut down ({cut} connections cut)");
    Ok(())
}

/// Serves until SIGINT or SIGTERM, then waits up to `grace` for the open connections; returns
/// how many were still open. (`tests/signal.rs` runs it in-process and sends the signal.)
pub async fn serve(listener: TcpListener, grace: Duration) -> std::io::Result<usize> {
    Ok(serve_with(listener, StopSignals::listen()?, grace).await)
}

/// [`serve`], stopped by signals listened for already.
async fn serve_with(listener: TcpListener, mut stop: StopSignals, grace: Duration) -> usize {
    let tracker = Tracker::default();
    let signal = match stop.run_until(accept_loop(listener, tracker.clone())).await {
        Ok(never) => match never {},
        Err(signal) => signal,
    };
    // The accept loop, and with it the listener, is gone: new connections are refused.
    println!("echo: {signal}: stopped accepting; {} connections open", tracker.active());
    stop.shut_down(&tracker, grace).await
}

/// Accepts connections forever, each echoed by its own task.
async fn accept_loop(listener: TcpListener, tracker: Tracker) -> std::convert::Infallible {
    loop {
        let (mut stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("echo: accept failed: {e}");
                // Out of fds (or buffers, or memory): the connection stays queued until one is
                // free. Pause instead of spinning on the error; open connections keep working.
                if accept::is_out_of_resources(&e) {
                    minirt::time::sleep(accept::ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let in_flight = tracker.enter();
        minirt::spawn(async move {
            let _in_flight = in_flight;
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
        });
    }
}
