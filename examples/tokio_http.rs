//! The HTTP/1.1 server of `examples/http.rs` on tokio's current-thread runtime, line for line,
//! so that a load generator compares the runtimes and nothing else.
//!
//! ```text
//! cargo run --release --example tokio_http -- 127.0.0.1:8081
//! curl -i http://127.0.0.1:8081/
//! ```
//!
//! Only the imports, the `main` attribute, `tokio::spawn`, the default port and the log prefix
//! differ from
//! `examples/http.rs`; the parser and the connection handler are the same code.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/http_proto.rs"]
mod http_proto;
use http_proto::*;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8081".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("tokio_http: listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("tokio_http: accept failed: {e}");
                continue;
            }
        };
        tokio::spawn(async move {
            // An I/O error (a reset, say) ends this connection and nothing else.
            let _ = serve(stream).await;
        });
    }
}

/// Serves one connection until the client closes it, asks to close it, or sends something we
/// refuse.
async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    // Responses are a few dozen bytes written once per read: send them without Nagle's delay.
    stream.set_nodelay(true)?;
    // `buf[..filled]` holds bytes read but not yet answered: at most one partial request
    // between two reads. `out` collects the responses to one read, sent in one write.
    let mut buf = vec![0u8; READ_BUF];
    let mut filled = 0;
    let mut out = Vec::with_capacity(READ_BUF);
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(()); // the client closed (maybe in the middle of a request: nothing to say)
        }
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
            close_gracefully(&mut stream, &mut buf).await;
            return Ok(());
        }
        // Keep the unanswered tail (the start of the next request) at the front.
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

/// Ends a connection after its last response: sends FIN, then reads and drops what the client
/// still sends (up to `MAX_DRAIN`) until it closes too. Closing a socket that has unread bytes
/// makes the kernel send a reset, which can destroy the response before the client reads it.
async fn close_gracefully(stream: &mut TcpStream, buf: &mut [u8]) {
    let _ = stream.shutdown().await;
    let mut drained = 0;
    while drained < MAX_DRAIN {
        match stream.read(buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}
