//! Thread per core: one current-thread runtime per core, each with its own listener on the same
//! port (`SO_REUSEPORT`), serving the `http` example's server. The kernel spreads incoming
//! connections over the listeners, so no task, socket or lock is ever shared between threads —
//! the design of monoio and glommio, built from minirt's public API (`TcpSocket`).
//!
//! ```text
//! cargo run --release --example reuseport -- [ADDR] [THREADS | --threads THREADS]
//! wrk -t1 -c50 -d5s http://127.0.0.1:8090/
//! ```
//!
//! ADDR comes from the argument, else the `ADDR` environment variable, else `127.0.0.1:8090`;
//! THREADS defaults to the number of cores. With port 0 the first listener picks a free port
//! and the others join it. The first line on stdout is
//! `reuseport: listening on 127.0.0.1:8090 with 2 threads`, printed once every thread listens
//! for the stop signals. Each thread stops on Ctrl-C or SIGTERM like `http` does (stop
//! accepting, finish the requests in flight, up to 5 s); then it prints
//! `reuseport: shut down (N connections cut)` and exits 0. Compare it with `http` on the
//! multi-thread runtime and with tokio under `benches/load.sh` (the `reuseport` rows).

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;

use minirt::net::TcpSocket;

#[path = "http.rs"]
#[allow(dead_code)] // its `main`: this program has its own
mod http;
use http::args::Args;
use http::shutdown::StopSignals;

fn main() -> io::Result<()> {
    run_program(std::env::args().skip(1))
}

/// The whole program, from its arguments to its end (`tests/examples/` runs it in a child
/// process).
pub fn run_program(argv: impl Iterator<Item = String>) -> io::Result<()> {
    let args = Args::from_argv(argv, "127.0.0.1:8090", 1)?;
    let addr: SocketAddr =
        args.addr.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // `reuseport ADDR N` (the form `benches/load.sh` uses) or `--threads N`; else one per core.
    let threads = match (args.operands.first(), args.threads) {
        (Some(n), _) => match n.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("threads: {n}"))),
        },
        (None, Some(n)) => n,
        (None, None) => thread::available_parallelism().map_or(1, usize::from),
    };
    // Bound before any thread starts, so a bad address fails here, once. The first listener
    // fixes the port (a free one for port 0); the others join it.
    let first = reuseport_listener(addr)?;
    let bound = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..threads {
        listeners.push(reuseport_listener(bound)?);
    }
    // Each thread says when it listens for the stop signals; only then is the server "up".
    let (ready, readies) = mpsc::channel::<()>();
    let workers: Vec<_> = listeners
        .into_iter()
        .enumerate()
        .map(|(i, listener)| {
            let ready = ready.clone();
            thread::Builder::new().name(format!("reuseport-{i}")).spawn(move || {
                let rt = minirt::runtime::Builder::new_current_thread().build()?;
                rt.block_on(async move {
                    let listener = minirt::net::TcpListener::from_std(listener)?;
                    let stop = StopSignals::listen()?;
                    // Sent, then dropped: once every thread has sent or failed, `main`'s
                    // `recv` returns.
                    let _ = ready.send(());
                    drop(ready);
                    let timeouts = http::http_proto::Timeouts::default();
                    http::serve_until(listener, timeouts, http::shutdown::GRACE, stop).await
                })
            })
        })
        .collect::<io::Result<_>>()?;
    drop(ready);
    for _ in 0..threads {
        if readies.recv().is_err() {
            // A thread ended before it listened: its error says why (the others are still
            // running; returning from `main` ends them).
            for worker in workers {
                if worker.is_finished() {
                    if let Ok(Err(e)) = worker.join() {
                        return Err(e);
                    }
                }
            }
            return Err(io::Error::other("a server thread failed to start"));
        }
    }
    println!("reuseport: listening on {bound} with {threads} threads");
    let mut cut = 0;
    for worker in workers {
        match worker.join() {
            Ok(result) => cut += result?,
            Err(_) => return Err(io::Error::other("a server thread panicked")),
        }
    }
    println!("reuseport: shut down ({cut} connections cut)");
    Ok(())
}

/// A listener with `SO_REUSEPORT` on `addr`, handed over as a std listener (a runtime is made
/// per thread, and each converts its own).
fn reuseport_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let rt = minirt::runtime::Builder::new_current_thread().build()?;
    let _enter = rt.enter();
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)?.into_std()
}
