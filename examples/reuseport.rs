//! Thread per core: one current-thread runtime per core, each with its own listener on the same
//! port (`SO_REUSEPORT`), serving the `http` example's server. The kernel spreads incoming
//! connections over the listeners, so no task, socket or lock is ever shared between threads —
//! the design of monoio and glommio, built from minirt's public API (`TcpSocket`).
//!
//! ```text
//! cargo run --release --example reuseport -- 127.0.0.1:8090 [threads]
//! wrk -t1 -c50 -d5s http://127.0.0.1:8090/
//! ```
//!
//! Each thread stops on Ctrl-C or SIGTERM like `http` does (stop accepting, finish the requests
//! in flight, exit 0). Compare it with `http` on the multi-thread runtime and with tokio under
//! `benches/load.sh` (the `reuseport` rows).

use std::net::SocketAddr;
use std::thread;

use minirt::net::TcpSocket;

#[path = "http.rs"]
#[allow(dead_code)] // its `main`: this program has its own
mod http;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8090".to_string())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let threads = match args.next() {
        Some(n) => {
            n.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?
        }
        None => thread::available_parallelism().map_or(1, usize::from),
    };
    // Bound before any thread starts, so a bad address fails here, once.
    let listeners: Vec<std::net::TcpListener> =
        (0..threads).map(|_| reuseport_listener(addr)).collect::<std::io::Result<_>>()?;
    println!("reuseport: listening on {addr} with {threads} threads");
    let workers: Vec<_> = listeners
        .into_iter()
        .enumerate()
        .map(|(i, listener)| {
            thread::Builder::new().name(format!("reuseport-{i}")).spawn(move || {
                let rt = minirt::runtime::Builder::new_current_thread().build()?;
                rt.block_on(async move {
                    let listener = minirt::net::TcpListener::from_std(listener)?;
                    let timeouts = http::http_proto::Timeouts::default();
                    http::serve_until_signal(listener, timeouts, http::shutdown::GRACE).await
                })
            })
        })
        .collect::<std::io::Result<_>>()?;
    let mut cut = 0;
    for worker in workers {
        match worker.join() {
            Ok(result) => cut += result?,
            Err(_) => return Err(std::io::Error::other("a server thread panicked")),
        }
    }
    println!("reuseport: shut down ({cut} connections cut)");
    Ok(())
}

/// A listener with `SO_REUSEPORT` on `addr`, handed over as a std listener (a runtime is made
/// per thread, and each converts its own).
fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let rt = minirt::runtime::Builder::new_current_thread().build()?;
    let _enter = rt.enter();
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)?.into_std()
}
