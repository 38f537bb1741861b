//! A TCP proxy: every connection accepted on the listen address is relayed to the upstream
//! address with `copy_bidirectional`, which passes a half-close on (a FIN one way does not
//! stop the other way). Connecting upstream is bounded by a timeout.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:7000 &
//! cargo run --release --example proxy -- [ADDR] [UPSTREAM] [--threads N | --current-thread]
//! nc 127.0.0.1 7200
//! ```
//!
//! ADDR comes from the first argument, else the `ADDR` environment variable, else
//! `127.0.0.1:7200`; UPSTREAM from the second argument, else `UPSTREAM`, else `127.0.0.1:7000`
//! (`support/args.rs`). The first line on stdout is
//! `proxy: listening on 127.0.0.1:7200, relaying to 127.0.0.1:7000 (current-thread)`, with the
//! address actually bound. On Ctrl-C or SIGTERM it stops accepting, lets the relayed
//! connections finish (for up to 5 s, `support/shutdown.rs`), prints
//! `proxy: shut down (N connections cut)` and exits with status 0.
//!
//! The tokio version of this program is the same with `tokio` for `minirt`.

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use minirt::io::copy_bidirectional;
use minirt::net::{TcpListener, TcpStream};
use minirt::time::timeout;

#[path = "support/accept.rs"]
mod accept;

#[path = "support/args.rs"]
mod args;
use args::Args;

#[path = "support/shutdown.rs"]
pub mod shutdown;
use shutdown::{StopSignals, Tracker};

/// How long connecting to the upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

fn main() -> io::Result<()> {
    run_program(std::env::args().skip(1))
}

/// The whole program, from its arguments to its end (`tests/examples/` runs it in a child
/// process).
pub fn run_program(argv: impl Iterator<Item = String>) -> io::Result<()> {
    let args = Args::from_argv(argv, "127.0.0.1:7200", 1)?;
    args.minirt_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> io::Result<()> {
    let upstream = match args.operands.first() {
        Some(upstream) => upstream.clone(),
        None => std::env::var("UPSTREAM").unwrap_or_else(|_| "127.0.0.1:7000".to_string()),
    };
    // Listen for the signals before saying we are up: a client that reads the start-up line
    // may signal at once.
    let mut stop = StopSignals::listen()?;
    let listener = TcpListener::bind(&args.addr).await?;
    println!(
        "proxy: listening on {}, relaying to {upstream} ({})",
        listener.local_addr()?,
        args.flavor()
    );
    let tracker = Tracker::default();
    let signal = match stop.run_until(accept_loop(listener, upstream, tracker.clone())).await {
        Ok(never) => match never {},
        Err(signal) => signal,
    };
    // The accept loop, and with it the listener, is gone: new connections are refused. The
    // relayed ones go on until either side closes, or the grace period ends.
    println!("proxy: {signal}: stopped accepting; {} connections open", tracker.active());
    let cut = stop.shut_down(&tracker, shutdown::GRACE).await;
    println!("proxy: shut down ({cut} connections cut)");
    Ok(())
}

/// Accepts connections forever, each relayed by its own task.
async fn accept_loop(listener: TcpListener, upstream: String, tracker: Tracker) -> Infallible {
    loop {
        let (mut client, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("proxy: accept failed: {e}");
                // Out of fds, say: pause instead of spinning; the open relays keep going.
                if accept::is_out_of_resources(&e) {
                    minirt::time::sleep(accept::ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let upstream = upstream.clone();
        let in_flight = tracker.enter();
        minirt::spawn(async move {
            let _in_flight = in_flight;
            let mut server = match timeout(CONNECT_TIMEOUT, TcpStream::connect(&upstream)).await {
                Ok(Ok(server)) => server,
                Ok(Err(e)) => return eprintln!("proxy: {peer}: connect {upstream}: {e}"),
                Err(_) => return eprintln!("proxy: {peer}: connect {upstream}: timed out"),
            };
            match copy_bidirectional(&mut client, &mut server).await {
                Ok((up, down)) => println!("proxy: {peer}: {up} bytes up, {down} bytes down"),
                Err(e) => eprintln!("proxy: {peer}: {e}"),
            }
        });
    }
}
