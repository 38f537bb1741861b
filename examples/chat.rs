//! A broadcast chat server: every line a client sends goes to every other client, prefixed
//! with the sender's address. `select!` drives each connection: a line from the client, a line
//! from the others, or the server closing.
//!
//! ```text
//! cargo run --release --example chat -- [ADDR] [--threads N | --current-thread]
//! nc 127.0.0.1 7100        # in two or more terminals
//! ```
//!
//! ADDR comes from the argument, else the `ADDR` environment variable, else `127.0.0.1:7100`
//! (`support/args.rs`). The first line on stdout is
//! `chat: listening on 127.0.0.1:7100 (current-thread); Ctrl-C stops it`, with the address
//! actually bound. On Ctrl-C or SIGTERM it stops accepting, and every client gets the lines
//! the room sent before the signal, then `chat: the server is shutting down, bye`, then EOF;
//! once every client is gone (at most 5 s, `support/shutdown.rs`) it prints
//! `chat: shut down (N clients cut)` and exits with status 0.
//!
//! The tokio version of this program is the same text with `minirt` renamed to `tokio`
//! (`tokio::sync::broadcast`, `tokio::signal`, `tokio::select!`, `AsyncBufReadExt`).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use minirt::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use minirt::net::tcp::OwnedWriteHalf;
use minirt::net::{TcpListener, TcpStream};
use minirt::sync::broadcast::{self, error::RecvError, error::TryRecvError};

#[path = "support/accept.rs"]
mod accept;

#[path = "support/args.rs"]
mod args;
use args::Args;

#[path = "support/shutdown.rs"]
pub mod shutdown;
use shutdown::{StopSignals, Tracker};

/// A line for everyone, and who sent it (so the sender does not get its own line back).
type Message = (SocketAddr, Arc<str>);

/// The last line every client gets when the server stops.
pub const GOODBYE: &str = "chat: the server is shutting down, bye\n";

/// How long a client that was told goodbye may take to close its side, after which its
/// connection is dropped anyway.
const CLOSE_LIMIT: Duration = Duration::from_secs(1);

fn main() -> io::Result<()> {
    run_program(std::env::args().skip(1))
}

/// The whole program, from its arguments to its end (`tests/examples/` runs it in a child
/// process).
pub fn run_program(argv: impl Iterator<Item = String>) -> io::Result<()> {
    let args = Args::from_argv(argv, "127.0.0.1:7100", 0)?;
    args.minirt_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> io::Result<()> {
    // Listen for the signals before saying we are up: a client that reads the start-up line
    // may signal at once.
    let mut stop = StopSignals::listen()?;
    let listener = TcpListener::bind(&args.addr).await?;
    println!("chat: listening on {} ({}); Ctrl-C stops it", listener.local_addr()?, args.flavor());
    let (room, _) = broadcast::channel::<Message>(256);
    let tracker = Tracker::default();
    let signal = match stop.run_until(accept_loop(listener, room, tracker.clone())).await {
        Ok(never) => match never {},
        Err(signal) => signal,
    };
    // The listener is gone; `shut_down` tells every client (`Tracker::closing`) and waits.
    println!("chat: {signal}: stopped accepting; saying goodbye to {} clients", tracker.active());
    let cut = stop.shut_down(&tracker, shutdown::GRACE).await;
    println!("chat: shut down ({cut} clients cut)");
    Ok(())
}

/// Accepts clients forever, each served by its own task.
async fn accept_loop(
    listener: TcpListener,
    room: broadcast::Sender<Message>,
    tracker: Tracker,
) -> Infallible {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("chat: accept failed: {e}");
                // Out of fds, say: pause instead of spinning; the clients keep chatting.
                if accept::is_out_of_resources(&e) {
                    minirt::time::sleep(accept::ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        // Subscribed here rather than in the task, so that the client hears every line sent
        // from its accept on, even if its task first runs after others have spoken.
        let inbox = room.subscribe();
        let in_flight = tracker.enter();
        let room = room.clone();
        let tracker = tracker.clone();
        minirt::spawn(async move {
            let _in_flight = in_flight;
            if let Err(e) = client(stream, peer, room, inbox, &tracker).await {
                eprintln!("chat: {peer}: {e}");
            }
        });
    }
}

/// Why a client's loop ended.
enum Ended {
    /// The client closed (or its connection failed).
    Client(io::Result<()>),
    /// The server is shutting down.
    Server,
}

async fn client(
    stream: TcpStream,
    addr: SocketAddr,
    room: broadcast::Sender<Message>,
    mut inbox: broadcast::Receiver<Message>,
    tracker: &Tracker,
) -> io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    // Announced before the welcome: a client that has read its welcome knows that clients
    // arriving after it will not hear of it joining.
    let _ = room.send((addr, Arc::from(format!("[{addr}] joined\n"))));
    wr.write_all(b"welcome to the chat\n").await?;
    let ended = loop {
        minirt::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    let _ = room.send((addr, Arc::from(format!("[{addr}] {line}\n"))));
                }
                Ok(None) => break Ended::Client(Ok(())),
                Err(e) => break Ended::Client(Err(e)),
            },
            message = inbox.recv() => match message {
                Ok((from, _)) if from == addr => {}
                Ok((_, line)) => {
                    if let Err(e) = wr.write_all(line.as_bytes()).await {
                        break Ended::Client(Err(e));
                    }
                }
                // A slow reader missed some lines: tell it, and go on with the newest.
                Err(RecvError::Lagged(n)) => {
                    let note = format!("({n} messages skipped)\n");
                    if let Err(e) = wr.write_all(note.as_bytes()).await {
                        break Ended::Client(Err(e));
                    }
                }
                Err(RecvError::Closed) => break Ended::Client(Ok(())),
            },
            _ = tracker.closing() => break Ended::Server,
        }
    };
    let _ = room.send((addr, Arc::from(format!("[{addr}] left\n"))));
    match ended {
        Ended::Client(result) => result,
        Ended::Server => {
            say_goodbye(&mut inbox, &mut wr, addr).await?;
            // Wait (briefly) for the client to close its side: closing a socket with unread
            // input makes the kernel send a reset, which can destroy the goodbye in flight.
            let _ = minirt::time::timeout(CLOSE_LIMIT, async {
                while let Ok(Some(_)) = lines.next_line().await {}
            })
            .await;
            Ok(())
        }
    }
}

/// Sends the lines the room sent before the shutdown, then [`GOODBYE`], then EOF.
async fn say_goodbye(
    inbox: &mut broadcast::Receiver<Message>,
    wr: &mut OwnedWriteHalf,
    addr: SocketAddr,
) -> io::Result<()> {
    loop {
        match inbox.try_recv() {
            Ok((from, _)) if from == addr => {}
            Ok((_, line)) => wr.write_all(line.as_bytes()).await?,
            Err(TryRecvError::Lagged(_)) => {}
            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
        }
    }
    wr.write_all(GOODBYE.as_bytes()).await?;
    wr.shutdown().await
}
