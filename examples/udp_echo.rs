//! A UDP echo server: every datagram comes back to its sender.
//!
//! Four tasks share one socket (`Arc<UdpSocket>`): each waits in `recv_from` in a place of its
//! own, the reactor wakes them as datagrams arrive, and each sends its reply with `send_to`.
//! One task would do for an echo; several show the shape of a real UDP service (DNS, metrics,
//! a QUIC endpoint), where handling one datagram may wait on something else.
//!
//! ```text
//! cargo run --release --example udp_echo -- [ADDR] [--threads N | --current-thread]
//! # another terminal:
//! nc -u 127.0.0.1 7002
//! ```
//!
//! ADDR comes from the argument, else the `ADDR` environment variable, else `127.0.0.1:7002`
//! (`support/args.rs`). The first line on stdout is
//! `udp_echo: listening on 127.0.0.1:7002 with 4 tasks (current-thread)`, with the address
//! actually bound. On Ctrl-C or SIGTERM the tasks stop receiving (a datagram already received
//! still gets its reply), the program prints `udp_echo: shut down (0 tasks cut)` and exits
//! with status 0.

use std::io;
use std::sync::Arc;

use minirt::net::UdpSocket;
use minirt::task::JoinSet;

#[path = "support/args.rs"]
mod args;
use args::Args;

#[path = "support/shutdown.rs"]
pub mod shutdown;
use shutdown::{StopSignals, Tracker};

/// Tasks receiving on the one socket.
const WORKERS: usize = 4;

/// The largest UDP payload over IPv4; a longer datagram cannot exist.
const MAX_DATAGRAM: usize = 65_507;

fn main() -> io::Result<()> {
    run_program(std::env::args().skip(1))
}

/// The whole program, from its arguments to its end (`tests/examples/` runs it in a child
/// process).
pub fn run_program(argv: impl Iterator<Item = String>) -> io::Result<()> {
    let args = Args::from_argv(argv, "127.0.0.1:7002", 0)?;
    args.minirt_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> io::Result<()> {
    // Listen for the signals before saying we are up: a client that reads the start-up line
    // may signal at once.
    let mut stop = StopSignals::listen()?;
    let socket = Arc::new(UdpSocket::bind(&args.addr).await?);
    println!(
        "udp_echo: listening on {} with {WORKERS} tasks ({})",
        socket.local_addr()?,
        args.flavor()
    );
    let tracker = Tracker::default();
    let mut workers = JoinSet::new();
    for _ in 0..WORKERS {
        let (socket, tracker) = (socket.clone(), tracker.clone());
        let in_flight = tracker.enter();
        workers.spawn(async move {
            let _in_flight = in_flight;
            serve(socket, &tracker).await
        });
    }
    let signal = match stop.run_until(workers.join_next()).await {
        // Before a signal, a worker only ends on an error it cannot serve past.
        Ok(Some(Ok(Err(e)))) => return Err(e),
        Ok(Some(Err(e))) => return Err(io::Error::other(e)),
        Ok(_) => return Err(io::Error::other("a worker stopped")),
        Err(signal) => signal,
    };
    println!("udp_echo: {signal}: stopped receiving");
    let cut = stop.shut_down(&tracker, shutdown::GRACE).await;
    println!("udp_echo: shut down ({cut} tasks cut)");
    Ok(())
}

/// Receives datagrams and sends each back to where it came from, until the server closes.
async fn serve(socket: Arc<UdpSocket>, tracker: &Tracker) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        // Dropping a `recv_from` that has not completed loses nothing: a datagram leaves the
        // kernel's queue only in the `recvfrom` that returns it.
        let received = minirt::select! {
            biased;
            _ = tracker.closing() => return Ok(()),
            received = socket.recv_from(&mut buf) => received,
        };
        let (n, peer) = match received {
            Ok(received) => received,
            // A pending ICMP error from an earlier reply (the peer went away): it concerns
            // that peer only, the socket keeps serving everyone else.
            Err(e) if is_peer_error(&e) => continue,
            Err(e) => return Err(e),
        };
        if let Err(e) = socket.send_to(&buf[..n], peer).await {
            if !is_peer_error(&e) {
                return Err(e);
            }
        }
    }
}

/// Errors that describe one peer, not the socket.
fn is_peer_error(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset)
        || matches!(e.raw_os_error(), Some(libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EMSGSIZE))
}
