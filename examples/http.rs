//! A small HTTP/1.1 server: every request gets `200 OK` and `Hello, World!`.
//!
//! ```text
//! cargo run --release --example http -- [ADDR] [--threads N | --current-thread]
//! curl -i http://127.0.0.1:8080/
//! ```
//!
//! ADDR comes from the argument, else the `ADDR` environment variable, else `127.0.0.1:8080`;
//! the runtime is current-thread unless `--threads N` (`support/args.rs`). The first line on
//! stdout is `http: listening on 127.0.0.1:8080 (current-thread)`, with the address actually
//! bound.
//!
//! It keeps connections alive (HTTP/1.1 by default, HTTP/1.0 when asked with
//! `Connection: keep-alive`), answers pipelined requests in order with one write per read,
//! skips request bodies given by `Content-Length`, and closes after `Connection: close`. Input it
//! cannot serve gets an error status and a close: `400` for anything that is not an HTTP/1.x
//! request, `431` for a head over 8 KiB, `413` for a body over 64 KiB, `501` for
//! `Transfer-Encoding` (chunked bodies are not supported), `408` for a request that does not
//! arrive whole within 10 s of its first byte (a slowloris trickle). A connection idle for 60 s
//! is closed. When `accept` fails for want of fds, the loop pauses 100 ms and tries again,
//! serving the open connections meanwhile.
//!
//! On Ctrl-C or SIGTERM it stops accepting, finishes the requests in flight (a kept-alive
//! connection closes after its current response instead of waiting for another, unless the
//! next request has begun to arrive: that one is in flight too), waits up to
//! 5 s for the connections to close, prints `http: shut down (N connections cut)` and exits with
//! status 0 (see `support/shutdown.rs`).
//!
//! `examples/tokio_http.rs` is this same program on tokio, line for line, for load comparisons.

use std::time::Duration;

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::spawn;
use minirt::time::{sleep, timeout, timeout_at, Instant};

#[path = "support/accept.rs"]
mod accept;

#[path = "support/args.rs"]
pub mod args;
use accept::{is_out_of_resources, ACCEPT_BACKOFF};
use args::Args;

#[path = "support/shutdown.rs"]
pub mod shutdown;
use shutdown::{StopSignals, Tracker};

#[path = "support/http_proto.rs"]
pub mod http_proto;
use http_proto::*;

fn main() -> std::io::Result<()> {
    run_program(std::env::args().skip(1))
}

/// The whole program, from its arguments to its end (`tests/examples/` runs it in a child
/// process).
pub fn run_program(argv: impl Iterator<Item = String>) -> std::io::Result<()> {
    let args = Args::from_argv(argv, "127.0.0.1:8080", 0)?;
    args.minirt_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> std::io::Result<()> {
    // Listen for the signals before saying we are up: a client that reads the start-up line
    // may signal at once.
    let stop = StopSignals::listen()?;
    let listener = TcpListener::bind(&args.addr).await?;
    println!("http: listening on {} ({})", listener.local_addr()?, args.flavor());
    let cut = serve_until(listener, Timeouts::default(), shutdown::GRACE, stop).await?;
    println!("http: shut down ({cut} connections cut)");
    Ok(())
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight and waits up to
/// `grace` for the connections to close; returns how many were still open. (`tests/signal.rs`
/// runs it in-process and sends the signal.)
pub async fn serve_until_signal(
    listener: TcpListener,
    timeouts: Timeouts,
    grace: Duration,
) -> std::io::Result<usize> {
    serve_until(listener, timeouts, grace, StopSignals::listen()?).await
}

/// [`serve_until_signal`], stopped by signals listened for already (`reuseport` listens in
/// every thread before it prints its start-up line).
pub async fn serve_until(
    listener: TcpListener,
    timeouts: Timeouts,
    grace: Duration,
    mut stop: StopSignals,
) -> std::io::Result<usize> {
    let tracker = Tracker::default();
    let served = stop.run_until(run_tracked(listener, timeouts, tracker.clone())).await;
    // On a signal the accept loop, and with it the listener, is gone: new connections are
    // refused.
    let signal = match served {
        Ok(result) => return result.map(|()| 0),
        Err(signal) => signal,
    };
    println!("http: {signal}: stopped accepting; {} connections open", tracker.active());
    Ok(stop.shut_down(&tracker, grace).await)
}

/// Accepts connections forever, each served by its own task. (`tests/hardening_http.rs` runs
/// this server in-process and feeds it bad clients.)
pub async fn run(listener: TcpListener, timeouts: Timeouts) -> std::io::Result<()> {
    run_tracked(listener, timeouts, Tracker::default()).await
}

/// [`run`], counting the connections in `tracker` (for a graceful shutdown).
pub async fn run_tracked(
    listener: TcpListener,
    timeouts: Timeouts,
    tracker: Tracker,
) -> std::io::Result<()> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("http: accept failed: {e}");
                // Out of fds, say: the connection stays queued until one is free. Pause
                // instead of spinning on the error; the open connections are served meanwhile.
                if is_out_of_resources(&e) {
                    sleep(ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let in_flight = tracker.enter();
        let tracker = tracker.clone();
        spawn(async move {
            let _in_flight = in_flight;
            // An I/O error (a reset, say) ends this connection and nothing else.
            let _ = serve(stream, timeouts, &tracker).await;
        });
    }
}

/// Serves one connection until the client closes it, asks to close it, sends something we
/// refuse, or is too slow (see `Timeouts`).
async fn serve(
    mut stream: TcpStream,
    timeouts: Timeouts,
    tracker: &Tracker,
) -> std::io::Result<()> {
    // Responses are a few dozen bytes written once per read: send them without Nagle's delay.
    stream.set_nodelay(true)?;
    // `buf[..filled]` holds bytes read but not yet answered: at most one partial request
    // between two reads. `out` collects the responses to one read, sent in one write.
    let mut buf = vec![0u8; READ_BUF];
    let mut filled = 0;
    let mut out = Vec::with_capacity(READ_BUF);
    // When the current wait ends: the idle limit while no request has begun, the request
    // limit from a request's first byte.
    let mut deadline = Instant::now() + timeouts.idle;
    // Bytes already read into `buf[..pending]` by the shutdown check below, to parse before
    // reading again.
    let mut pending = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = if pending > 0 {
            std::mem::take(&mut pending)
        } else {
            match timeout_at(deadline, stream.read(&mut buf[filled..])).await {
                Ok(read) => read?,
                Err(_elapsed) if filled == 0 => return Ok(()), // idle too long: just close
                Err(_elapsed) => {
                    stream.write_all(REQUEST_TIMEOUT).await?;
                    close_gracefully(&mut stream, &mut buf, timeouts.close).await;
                    return Ok(());
                }
            }
        };
        if n == 0 {
            return Ok(()); // the client closed (maybe in the middle of a request: nothing to say)
        }
        let request_began = filled == 0;
        filled += n;

        // Answer every complete request in the buffer, in order (pipelining).
        let mut start = 0;
        let mut keep_open = true;
        while keep_open && start < filled {
            match parse(&buf[start..filled]) {
                Parsed::Request { len, keep_alive, http10 } => {
                    out.extend_from_slice(match (keep_alive, http10) {
                        (false, _) => OK_CLOSE,
                        (true, true) => OK_KEEP_ALIVE,
                        (true, false) => OK,
                    });
                    start += len;
                    keep_open = keep_alive;
                }
                Parsed::Partial => break,
                Parsed::Reject(response) => {
                    out.extend_from_slice(response);
                    keep_open = false;
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if !keep_open {
            close_gracefully(&mut stream, &mut buf, timeouts.close).await;
            return Ok(());
        }
        // Keep the unanswered tail (the start of the next request) at the front.
        buf.copy_within(start..filled, 0);
        filled -= start;
        // Shutting down: once every request that has arrived is answered, close instead of
        // waiting for the next one. One that is already here (its bytes may have come while
        // the last answer was written) is in flight too: serve it first.
        if filled == 0 && tracker.is_closing() {
            match stream.try_read(&mut buf) {
                Ok(0) => return Ok(()), // the client closed
                Ok(n) => {
                    pending = n;
                    deadline = Instant::now() + timeouts.request;
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    close_gracefully(&mut stream, &mut buf, timeouts.close).await;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        // A new wait begins when the buffer empties (idle) or a new request starts in it; a
        // request still arriving keeps the deadline it had.
        if filled == 0 {
            deadline = Instant::now() + timeouts.idle;
        } else if request_began || start > 0 {
            deadline = Instant::now() + timeouts.request;
        }
    }
}

/// Ends a connection after its last response: sends FIN, then reads and drops what the client
/// still sends (up to `MAX_DRAIN`, for up to `limit`) until it closes too. Closing a socket
/// that has unread bytes makes the kernel send a reset, which can destroy the response before
/// the client reads it.
async fn close_gracefully(stream: &mut TcpStream, buf: &mut [u8], limit: Duration) {
    let _ = stream.shutdown().await;
    let drain = async {
        let mut drained = 0;
        while drained < MAX_DRAIN {
            match stream.read(buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = timeout(limit, drain).await;
}
