//! An echo server: every byte a client sends comes back.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:7000 [--threads N]
//! ```
//!
//! On Ctrl-C or SIGTERM it stops accepting, lets the open connections finish (for up to 5 s;
//! see `support/shutdown.rs`), and exits with status 0.

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
    let args = Args::parse("127.0.0.1:7000")?;
    let mut builder = match args.threads {
        None => minirt::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = minirt::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    builder.enable_all().build()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> std::io::Result<()> {
    let addr = args.addr.clone();
    let listener = TcpListener::bind(&addr).await?;
    println!("echo: listening on {} ({})", listener.local_addr()?, args.flavor());
    let cut = serve(listener, shutdown::GRACE).await?;
    println!("echo: shut down ({cut} connections cut)");
    Ok(())
}

/// Serves until SIGINT or SIGTERM, then waits up to `grace` for the open connections; returns
/// how many were still open. (`tests/signal.rs` runs it in-process and sends the signal.)
pub async fn serve(listener: TcpListener, grace: Duration) -> std::io::Result<usize> {
    let mut stop = StopSignals::listen()?;
    let tracker = Tracker::default();
    let signal = match stop.run_until(accept_loop(listener, tracker.clone())).await {
        Ok(never) => match never {},
        Err(signal) => signal,
    };
    // The accept loop, and with it the listener, is gone: new connections are refused.
    println!("echo: {signal}: stopped accepting; {} connections open", tracker.active());
    Ok(tracker.shut_down(grace).await)
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
