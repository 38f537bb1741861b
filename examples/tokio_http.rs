//! The HTTP/1.1 server of `examples/http.rs` on tokio's current-thread runtime, line for line,
//! so that a load generator compares the runtimes and nothing else.
//!
//! ```text
//! cargo run --release --example tokio_http -- 127.0.0.1:8081 [--threads N]
//! curl -i http://127.0.0.1:8081/
//! ```
//!
//! Only the imports, the `main` attribute, the default port and the log prefix differ from
//! `examples/http.rs`; the parser, the accept loop and the connection handler are the same code.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::spawn;
use tokio::time::{sleep, timeout, timeout_at, Instant};

#[path = "support/accept.rs"]
mod accept;

#[path = "support/args.rs"]
mod args;
use accept::{is_out_of_resources, ACCEPT_BACKOFF};
use args::Args;

#[path = "support/http_proto.rs"]
pub mod http_proto;
use http_proto::*;

fn main() -> std::io::Result<()> {
    let args = Args::parse("127.0.0.1:8081")?;
    args.tokio_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> std::io::Result<()> {
    let addr = args.addr.clone();
    let listener = TcpListener::bind(&addr).await?;
    println!("tokio_http: listening on {} ({})", listener.local_addr()?, args.flavor());
    run(listener, Timeouts::default()).await
}

/// Accepts connections forever, each served by its own task.
pub async fn run(listener: TcpListener, timeouts: Timeouts) -> std::io::Result<()> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("tokio_http: accept failed: {e}");
                // Out of fds, say: the connection stays queued until one is free. Pause
                // instead of spinning on the error; the open connections are served meanwhile.
                if is_out_of_resources(&e) {
                    sleep(ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        spawn(async move {
            // An I/O error (a reset, say) ends this connection and nothing else.
            let _ = serve(stream, timeouts).await;
        });
    }
}

/// Serves one connection until the client closes it, asks to close it, sends something we
/// refuse, or is too slow (see `Timeouts`).
async fn serve(mut stream: TcpStream, timeouts: Timeouts) -> std::io::Result<()> {
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
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = match timeout_at(deadline, stream.read(&mut buf[filled..])).await {
            Ok(read) => read?,
            Err(_elapsed) if filled == 0 => return Ok(()), // idle too long: just close
            Err(_elapsed) => {
                stream.write_all(REQUEST_TIMEOUT).await?;
                close_gracefully(&mut stream, &mut buf, timeouts.close).await;
                return Ok(());
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
