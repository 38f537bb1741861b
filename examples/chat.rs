//! A broadcast chat server: every line a client sends goes to every other client, prefixed
//! with the sender's address; Ctrl-C stops the server. `select!` drives each connection (a line
//! from the client, a line from the others, or shutdown) and the accept loop.
//!
//! ```text
//! cargo run --release --example chat -- 127.0.0.1:7100
//! nc 127.0.0.1 7100        # in two or more terminals
//! ```
//!
//! Ported from the tokio version by renaming `tokio` to `minirt`, with two stand-ins until the
//! parts exist in minirt (each marked `STAND-IN` below): `futures-channel`'s unbounded mpsc in a
//! `Mutex<Vec<_>>` for `tokio::sync::broadcast`, and a small signalfd `ctrl_c` for
//! `tokio::signal::ctrl_c`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures_util::StreamExt;
use minirt::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use minirt::net::{TcpListener, TcpStream};

/// STAND-IN for `tokio::sync::broadcast`: one unbounded queue per client.
#[derive(Clone, Default)]
struct Room {
    members: Arc<Mutex<HashMap<SocketAddr, UnboundedSender<Arc<str>>>>>,
}

impl Room {
    fn join(&self, addr: SocketAddr) -> UnboundedReceiver<Arc<str>> {
        let (tx, rx) = unbounded();
        self.lock().insert(addr, tx);
        rx
    }

    fn leave(&self, addr: SocketAddr) {
        let gone = self.lock().remove(&addr);
        drop(gone); // dropped after the lock is released
    }

    /// Sends `line` to everyone but `from`.
    fn broadcast(&self, from: SocketAddr, line: &str) {
        let line: Arc<str> = Arc::from(format!("[{from}] {line}\n"));
        let members: Vec<UnboundedSender<Arc<str>>> = self
            .lock()
            .iter()
            .filter(|(addr, _)| **addr != from)
            .map(|(_, tx)| tx.clone())
            .collect();
        for tx in members {
            let _ = tx.unbounded_send(line.clone());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, UnboundedSender<Arc<str>>>> {
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn client(stream: TcpStream, addr: SocketAddr, room: Room) -> std::io::Result<()> {
    let mut inbox = room.join(addr);
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    wr.write_all(b"welcome to the chat\n").await?;
    room.broadcast(addr, "joined");
    let result = loop {
        minirt::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => room.broadcast(addr, &line),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            },
            Some(msg) = inbox.next() => {
                if let Err(e) = wr.write_all(msg.as_bytes()).await {
                    break Err(e);
                }
            }
        }
    };
    room.leave(addr);
    room.broadcast(addr, "left");
    result
}

#[minirt::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let shutdown = ctrl_c()?;
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7100".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("chat on {}; Ctrl-C stops it", listener.local_addr()?);
    let room = Room::default();
    minirt::pin!(shutdown);
    loop {
        minirt::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        eprintln!("accept: {e}");
                        continue;
                    }
                };
                let room = room.clone();
                minirt::spawn(async move {
                    if let Err(e) = client(stream, peer, room).await {
                        eprintln!("{peer}: {e}");
                    }
                });
            }
            _ = &mut shutdown => {
                println!("\nshutting down");
                return Ok(());
            }
        }
    }
}

/// STAND-IN for `minirt::signal::ctrl_c()` (not built yet): SIGINT delivered through a
/// signalfd. SIGINT is blocked first, so it must run before any other thread starts (the
/// current-thread runtime has none).
fn ctrl_c() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: `set` is a plain sigset_t that sigemptyset initialises before use, and
    // pthread_sigmask/signalfd only read it; the fd signalfd returns is new and owned here.
    let fd = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        OwnedFd::from_raw_fd(fd)
    };
    let fd = minirt::io::AsyncFd::new(std::fs::File::from(fd))?;
    Ok(async move {
        // One `signalfd_siginfo` (128 bytes) per signal; `async_io` waits again on EAGAIN.
        let read_one = |file: &std::fs::File| std::io::Read::read(&mut &*file, &mut [0u8; 128]);
        if let Err(e) = fd.async_io(minirt::io::Interest::READABLE, read_one).await {
            eprintln!("signalfd: {e}");
        }
    })
}
