//! A UDP echo server: every datagram comes back to its sender.
//!
//! Four tasks share one socket (`Arc<UdpSocket>`): each waits in `recv_from` in a place of its
//! own, the reactor wakes them as datagrams arrive, and each sends its reply with `send_to`.
//! One task would do for an echo; several show the shape of a real UDP service (DNS, metrics,
//! a QUIC endpoint), where handling one datagram may wait on something else.
//!
//! ```text
//! cargo run --release --example udp_echo -- 127.0.0.1:7002
//! # another terminal:
//! nc -u 127.0.0.1 7002
//! ```

use std::io;
use std::sync::Arc;

use minirt::net::UdpSocket;

/// Tasks receiving on the one socket.
const WORKERS: usize = 4;

/// The largest UDP payload over IPv4; a longer datagram cannot exist.
const MAX_DATAGRAM: usize = 65_507;

#[minirt::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7002".to_string());
    let socket = Arc::new(UdpSocket::bind(&addr).await?);
    println!("udp_echo: listening on {} with {WORKERS} tasks", socket.local_addr()?);
    let workers: Vec<_> = (0..WORKERS).map(|_| minirt::spawn(serve(socket.clone()))).collect();
    for worker in workers {
        // A worker only ends on an error it cannot serve past.
        worker.await.map_err(io::Error::other)??;
    }
    Ok(())
}

/// Receives datagrams and sends each back to where it came from.
async fn serve(socket: Arc<UdpSocket>) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
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
