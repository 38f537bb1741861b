//! A broadcast chat server: every line a client sends goes to every other client, prefixed
//! with the sender's address; Ctrl-C stops the server. `select!` drives each connection (a line
//! from the client, a line from the others) and the accept loop (a connection, or Ctrl-C).
//!
//! ```text
//! cargo run --release --example chat -- 127.0.0.1:7100
//! nc 127.0.0.1 7100        # in two or more terminals
//! ```
//!
//! The tokio version of this program is the same text with `minirt` renamed to `tokio`
//! (`tokio::sync::broadcast`, `tokio::signal::ctrl_c`, `tokio::select!`, `AsyncBufReadExt`).

use std::net::SocketAddr;
use std::sync::Arc;

use minirt::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use minirt::net::{TcpListener, TcpStream};
use minirt::sync::broadcast::{self, error::RecvError};

/// A line for everyone, and who sent it (so the sender does not get its own line back).
type Message = (SocketAddr, Arc<str>);

async fn client(
    stream: TcpStream,
    addr: SocketAddr,
    room: broadcast::Sender<Message>,
) -> std::io::Result<()> {
    let mut inbox = room.subscribe();
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    wr.write_all(b"welcome to the chat\n").await?;
    let _ = room.send((addr, Arc::from(format!("[{addr}] joined\n"))));
    let result = loop {
        minirt::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    let _ = room.send((addr, Arc::from(format!("[{addr}] {line}\n"))));
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            },
            message = inbox.recv() => match message {
                Ok((from, _)) if from == addr => {}
                Ok((_, line)) => {
                    if let Err(e) = wr.write_all(line.as_bytes()).await {
                        break Err(e);
                    }
                }
                // A slow reader missed some lines: tell it, and go on with the newest.
                Err(RecvError::Lagged(n)) => {
                    let note = format!("({n} messages skipped)\n");
                    if let Err(e) = wr.write_all(note.as_bytes()).await {
                        break Err(e);
                    }
                }
                Err(RecvError::Closed) => break Ok(()),
            }
        }
    };
    let _ = room.send((addr, Arc::from(format!("[{addr}] left\n"))));
    result
}

#[minirt::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7100".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("chat on {}; Ctrl-C stops it", listener.local_addr()?);
    let (room, _) = broadcast::channel::<Message>(256);
    let shutdown = minirt::signal::ctrl_c();
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
