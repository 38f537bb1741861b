//! A guided tour of minirt: an echo server and three clients in one process, on one runtime,
//! then a panicking task, and timers.
//!
//! ```text
//! cargo run --release --example tour
//! ```
//!
//! Read it top to bottom: the comments say which part of the runtime does the work at each
//! step, from the socket calls to `epoll_wait` to a woken task. Everything is bounded (the
//! server accepts exactly one connection per client, every client sends a fixed number of
//! bytes), so the program ends by itself and exits 0.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::task::{JoinError, JoinHandle};

const CLIENTS: usize = 3;
/// Each client first sends these messages one at a time, waiting for each echo.
const MESSAGES: [&[u8]; 3] = [b"hello", b"from a minirt task", &[b'x'; 4096]];
/// Then it streams this many bytes: more than the kernel's socket buffers take at once, so
/// writes come up short and wait for EPOLLOUT.
const STREAM_BYTES: usize = 1024 * 1024;

#[minirt::main]
async fn main() -> io::Result<()> {
    watchdog(Duration::from_secs(60));
    let started = Instant::now();
    println!("minirt tour");

    // Step 1. `bind` creates a non-blocking, close-on-exec socket (SOCK_NONBLOCK | SOCK_CLOEXEC),
    // listens, and registers it with the reactor: one `epoll_ctl(ADD)`, edge-triggered, for
    // both directions, with a token (slab index + generation) that names its slot.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("1. server listening on {addr} (one epoll registration, edge-triggered)");

    // Step 2. `spawn` puts a future on the scheduler's run queue as a task. It runs at the
    // next scheduling point: here, when `main` first awaits.
    let server = minirt::spawn(server(listener));

    // Step 3. Three clients, each its own task. `connect` starts a non-blocking connect
    // (EINPROGRESS); the socket turns writable when the handshake is done, the reactor wakes
    // the task, and the result is read from SO_ERROR.
    let clients: Vec<JoinHandle<io::Result<ClientReport>>> =
        (0..CLIENTS).map(|id| minirt::spawn(client(id, addr))).collect();

    // Awaiting a JoinHandle parks `main` until the task completes; its output comes back
    // through the handle.
    for handle in clients {
        let report = joined(handle).await??;
        println!("2. client {}: {} -> {addr}", report.id, report.local);
        println!(
            "     ping-pong: {} messages, {} bytes echoed",
            MESSAGES.len(),
            report.message_bytes
        );
        println!(
            "     streaming: {} bytes written by a second task and read back by this one, then EOF",
            report.streamed_bytes
        );
    }
    let (connections, echoed) = joined(server).await??;
    println!(
        "3. server: {connections} connections accepted, {echoed} bytes echoed, \
         {connections} connection tasks joined"
    );

    // Step 4. A panic inside a task is caught by the runtime (around the task's poll) and
    // handed to whoever awaits its JoinHandle. The runtime and every other task go on.
    // (The default panic hook would print a backtrace note to stderr; this tour swaps in a
    // quieter one for the moment the panic happens.)
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| println!("   (the panic hook ran: a task panicked)")));
    let panicked = joined(minirt::spawn(async { panic!("this task fails on purpose") })).await;
    std::panic::set_hook(default_hook);
    match panicked {
        Err(e) if e.is_panic() => println!("4. a task panicked; its JoinHandle returned: {e}"),
        other => return Err(io::Error::other(format!("expected a panic, got {other:?}"))),
    }

    // Step 5. The runtime is still running: a new task, which yields to the scheduler (back of
    // the run queue) a few times before it returns.
    let answer = joined(minirt::spawn(async {
        for _ in 0..3 {
            minirt::task::yield_now().await;
        }
        42
    }))
    .await?;
    println!("5. the runtime went on: a new task yielded 3 times and returned {answer}");

    // Step 6. Time. `sleep` puts its exact deadline in the runtime's timer heap; with nothing
    // else to do, the loop parks in `epoll_pwait2` with the earliest deadline as its timeout
    // (in nanoseconds), then fires the timer and wakes the task. `timeout` races a future
    // against such a sleep: here a read from a peer that never writes loses, and is dropped.
    let asked = Duration::from_micros(500);
    let slept = Instant::now();
    minirt::time::sleep(asked).await;
    let late = slept.elapsed() - asked;
    let (mut quiet, _silent_peer) = quiet_pair().await?;
    let mut byte = [0u8; 1];
    let read = minirt::time::timeout(Duration::from_millis(20), quiet.read(&mut byte)).await;
    println!(
        "6. time: sleep({asked:?}) woke {late:.1?} after its deadline; a read with a 20 ms \
         timeout on a silent socket gave {:?}",
        read.map_err(|elapsed| elapsed.to_string())
    );

    println!(
        "done: {} tasks joined in {:.1?}, exiting 0",
        JOINED.load(Ordering::Relaxed),
        started.elapsed()
    );
    Ok(())
}

/// The echo server: accepts CLIENTS connections, one task each, then joins those tasks.
/// Returns (connections, bytes echoed).
async fn server(listener: TcpListener) -> io::Result<(usize, u64)> {
    let mut connections = Vec::new();
    for _ in 0..CLIENTS {
        // `accept` tries `accept4`; on EAGAIN the reactor clears the listener's cached
        // readiness and keeps this task's waker, and the task returns Pending. When a client
        // connects, `epoll_wait` reports EPOLLIN for the listener's token, the reactor sets
        // the readiness bit and wakes the waker: the task goes back on the run queue and its
        // next poll's `accept4` returns the new socket (registered like the listener).
        let (stream, _peer) = listener.accept().await?;
        connections.push(minirt::spawn(echo(stream)));
    }
    let mut echoed = 0;
    for connection in connections {
        echoed += joined(connection).await??;
    }
    Ok((CLIENTS, echoed))
}

/// Echoes one connection until the client shuts its write half down; returns the bytes echoed.
async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut echoed = 0;
    loop {
        // A read the kernel cannot serve yet (EAGAIN) makes this task wait for EPOLLIN; a read
        // of 0 bytes is the client's FIN: end of stream.
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            // Dropping the stream deregisters it from epoll, then closes the fd: the client
            // reads EOF.
            return Ok(echoed);
        }
        // A write the kernel's send buffer cannot take waits for EPOLLOUT the same way.
        stream.write_all(&buf[..n]).await?;
        echoed += n as u64;
    }
}

struct ClientReport {
    id: usize,
    local: SocketAddr,
    message_bytes: usize,
    streamed_bytes: usize,
}

/// One client: request/response messages, then a streamed transfer over split halves.
async fn client(id: usize, addr: SocketAddr) -> io::Result<ClientReport> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let local = stream.local_addr()?;

    // Ping-pong: write a message, wait for exactly as many bytes back.
    let mut message_bytes = 0;
    for message in MESSAGES {
        stream.write_all(message).await?;
        let mut echo = vec![0u8; message.len()];
        stream.read_exact(&mut echo).await?;
        check(&echo, message, "message echo")?;
        message_bytes += message.len();
    }

    // Streaming: one task writes while this one reads. Both halves share one socket and one
    // registration; the reactor keeps one waker per direction, so the writer waiting for
    // EPOLLOUT and the reader waiting for EPOLLIN never overwrite each other's waker.
    let (mut reader, mut writer) = stream.into_split();
    let writing = minirt::spawn(async move {
        let data: Vec<u8> = (0..STREAM_BYTES).map(|i| (i % 251) as u8).collect();
        writer.write_all(&data).await?;
        // FIN: the server reads 0, stops echoing and closes, and our reader sees EOF.
        writer.shutdown().await?;
        Ok::<_, io::Error>(data)
    });
    let mut echoed = Vec::with_capacity(STREAM_BYTES);
    reader.read_to_end(&mut echoed).await?;
    let sent = joined(writing).await??;
    check(&echoed, &sent, "streamed echo")?;

    Ok(ClientReport { id, local, message_bytes, streamed_bytes: echoed.len() })
}

/// How many `JoinHandle`s the tour has awaited.
static JOINED: AtomicUsize = AtomicUsize::new(0);

/// Awaits a task's `JoinHandle` and counts it.
async fn joined<T>(handle: JoinHandle<T>) -> Result<T, JoinError> {
    let output = handle.await;
    JOINED.fetch_add(1, Ordering::Relaxed);
    output
}

fn check(got: &[u8], expected: &[u8], what: &str) -> io::Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{what}: got {} bytes, expected {} (or the bytes differ)",
            got.len(),
            expected.len()
        )))
    }
}

/// The tour finishes in milliseconds. If a bug ever made it wait forever, this thread ends the
/// process with an error instead of leaving a CI job hanging.
/// A connected pair of sockets whose peer never writes.
async fn quiet_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let stream = TcpStream::connect(listener.local_addr()?).await?;
    let (peer, _) = listener.accept().await?;
    Ok((stream, peer))
}

fn watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("tour: still running after {limit:?}; something is stuck");
        std::process::exit(1);
    });
}
