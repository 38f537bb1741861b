//! The kv server's accept loop and connection loop, shared by `main.rs` and `tests/kv.rs`
//! (which includes this file with `#[path]` and runs [`serve`] in-process).
//!
//! ```text
//!  serve ──StopSignals::run_until──▶ join(accept loop, active expiry every 100 ms)
//!    accept ──spawn──▶ connection: read into `buf` ─▶ parse every complete frame
//!                      ─▶ cmd::execute each into `out` ─▶ one write_all(out) ─▶ read again
//!  SIGTERM/SIGINT ─▶ accept loop dropped (listener closed) ─▶ Closer wakes idle connections,
//!                    which exit; a connection mid-frame finishes it ─▶ Tracker waits (grace)
//! ```
//!
//! A malformed frame gets `-ERR Protocol error: ...` and closes its connection only.

#[path = "cmd.rs"]
pub mod cmd;
#[path = "db.rs"]
pub mod db;
#[path = "resp.rs"]
pub mod resp;

#[path = "../support/accept.rs"]
mod accept;
#[allow(dead_code)] // `Tracker::is_closing` is for the http example
#[path = "../support/shutdown.rs"]
pub mod shutdown;

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use minirt::io::{AsyncRead, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};

use cmd::{Args, Client, Flow, Shared};
use shutdown::{StopSignals, Tracker};

/// How often the active expiry runs.
pub const EXPIRY_PERIOD: Duration = Duration::from_millis(100);
/// The read buffer's first size; it doubles while a frame does not fit, up to
/// [`resp::MAX_FRAME`].
const READ_BUF: usize = 16 * 1024;

/// Serves until SIGINT or SIGTERM, then waits up to `grace` for connections in the middle of a
/// command; returns how many were cut.
pub async fn serve(listener: TcpListener, grace: Duration) -> io::Result<usize> {
    let mut stop = StopSignals::listen()?;
    let tracker = Tracker::default();
    let shared = Arc::new(Shared::default());
    let closer = Arc::new(Closer::default());
    let work = async {
        minirt::join!(
            accept_loop(listener, shared.clone(), tracker.clone(), closer.clone()),
            expiry_loop(shared.clone())
        )
    };
    let signal = match stop.run_until(work).await {
        Ok((never, _)) => match never {},
        Err(signal) => signal,
    };
    println!("kv: {signal}: stopped accepting; {} connections open", tracker.active());
    closer.close();
    Ok(stop.shut_down(&tracker, grace).await)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tracker: Tracker,
    closer: Arc<Closer>,
) -> std::convert::Infallible {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("kv: accept failed: {e}");
                if accept::is_out_of_resources(&e) {
                    minirt::time::sleep(accept::ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        // Replies are written whole, once per batch: no Nagle delay wanted.
        let _ = stream.set_nodelay(true);
        let in_flight = tracker.enter();
        let shared = shared.clone();
        let closer = closer.clone();
        minirt::spawn(async move {
            let _in_flight = in_flight;
            shared.clients.fetch_add(1, Ordering::Relaxed);
            let _ = connection(stream, &shared, &closer).await;
            shared.clients.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// Active expiry: drops the keys whose deadline passed, whether or not anyone reads them.
async fn expiry_loop(shared: Arc<Shared>) -> std::convert::Infallible {
    let mut tick = minirt::time::interval(EXPIRY_PERIOD);
    loop {
        tick.tick().await;
        shared.db.purge_expired(Instant::now());
    }
}

/// What ended a read.
enum Read {
    Bytes(usize),
    Eof,
    Closing,
}

/// Serves one connection until EOF, QUIT, a protocol error, an I/O error, or shutdown while
/// idle.
async fn connection(mut stream: TcpStream, shared: &Shared, closer: &Closer) -> io::Result<()> {
    let waiter = closer.register();
    let mut client = Client::default();
    let mut buf = vec![0u8; READ_BUF];
    let (mut start, mut end) = (0, 0);
    let mut ranges = Vec::with_capacity(8);
    let mut out = Vec::with_capacity(READ_BUF);
    loop {
        // Every complete frame in the buffer, replies gathered into one write.
        let mut quit = false;
        while start < end {
            match resp::parse_command(&buf[start..end], &mut ranges) {
                Ok(Some(n)) => {
                    if !ranges.is_empty() {
                        let args = Args { buf: &buf[start..end], ranges: &ranges };
                        quit = cmd::execute(shared, &mut client, &args, &mut out) == Flow::Quit;
                    }
                    start += n;
                    if quit {
                        break;
                    }
                }
                Ok(None) => break,
                Err(resp::ProtocolError(what)) => {
                    let msg = format!("ERR Protocol error: {what}");
                    resp::error(&mut out, msg.as_bytes());
                    stream.write_all(&out).await?;
                    return Ok(());
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
            if out.capacity() > 4 * READ_BUF {
                // One huge reply (KEYS *, MGET of big values) does not pin its memory.
                out = Vec::with_capacity(READ_BUF);
            }
        }
        if quit {
            return Ok(());
        }
        // Room for the next read: drop what was parsed, grow only for a frame that needs it.
        if start == end {
            (start, end) = (0, 0);
            if buf.len() > READ_BUF {
                buf = vec![0u8; READ_BUF];
            }
        } else if end == buf.len() {
            if start > 0 {
                buf.copy_within(start..end, 0);
                (start, end) = (0, end - start);
            } else if buf.len() >= resp::MAX_FRAME {
                let mut reply = Vec::new();
                resp::error(&mut reply, b"ERR Protocol error: frame too large");
                stream.write_all(&reply).await?;
                return Ok(());
            } else {
                buf.resize((buf.len() * 2).min(resp::MAX_FRAME), 0);
            }
        }
        let idle = start == end;
        match read(&mut stream, &mut buf[end..], idle.then_some(&waiter)).await? {
            Read::Bytes(n) => end += n,
            Read::Eof | Read::Closing => return Ok(()),
        }
    }
}

/// Reads into `buf`; with `waiter` (the connection is between commands) a shutdown ends the
/// wait too.
async fn read(
    stream: &mut TcpStream,
    buf: &mut [u8],
    waiter: Option<&Waiter<'_>>,
) -> io::Result<Read> {
    poll_fn(|cx| {
        // Between commands, a shutdown wins over more input: a client that keeps sending
        // does not hold the server open.
        if waiter.is_some_and(Waiter::is_closed) {
            return Poll::Ready(Ok(Read::Closing));
        }
        if let Poll::Ready(n) = Pin::new(&mut *stream).poll_read(cx, buf)? {
            return Poll::Ready(Ok(if n == 0 { Read::Eof } else { Read::Bytes(n) }));
        }
        match waiter {
            Some(waiter) if waiter.poll_closed(cx.waker()) => Poll::Ready(Ok(Read::Closing)),
            _ => Poll::Pending,
        }
    })
    .await
}

/// Tells idle connections that the server is shutting down. Each connection has its own
/// waker slot (an uncontended lock per wait); the shared map is locked only when a connection
/// opens or closes, and once at shutdown.
#[derive(Default)]
pub struct Closer {
    closed: AtomicBool,
    next_id: AtomicU64,
    slots: Mutex<HashMap<u64, Arc<Mutex<Option<Waker>>>>>,
}

/// A connection's registration with the [`Closer`]; unregisters on drop.
pub struct Waiter<'a> {
    closer: &'a Closer,
    id: u64,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Closer {
    fn register(&self) -> Waiter<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Mutex::new(None));
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).insert(id, slot.clone());
        Waiter { closer: self, id, slot }
    }

    /// Marks the server closing and wakes every registered connection.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // Collect under the locks, wake after them.
        let slots: Vec<_> =
            self.slots.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        let wakers: Vec<Waker> = slots
            .iter()
            .filter_map(|slot| slot.lock().unwrap_or_else(|p| p.into_inner()).take())
            .collect();
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Waiter<'_> {
    /// Whether the server is closing.
    fn is_closed(&self) -> bool {
        self.closer.closed.load(Ordering::SeqCst)
    }

    /// Whether the server is closing; if not, `waker` is woken when it starts to.
    fn poll_closed(&self, waker: &Waker) -> bool {
        {
            let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some(old) if old.will_wake(waker) => {}
                _ => {
                    let old = slot.replace(waker.clone());
                    drop(slot);
                    drop(old);
                }
            }
        }
        // Checked after storing the waker: a `close` after this check finds and wakes it.
        self.closer.closed.load(Ordering::SeqCst)
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let slot = self.closer.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
        drop(slot);
    }
}
