//! `kv --chaos`: tasks that panic and tasks that are aborted at random, beside the server, for
//! the soak run (benches/soak.sh). A service's own tasks fail in these two ways; the runtime
//! must survive both for hours without losing a worker, a socket or a byte of memory.
//!
//! ```text
//!  every 1–4 ms: spawn a client task that connects to this very server and runs SET/GET
//!                round trips (checking each reply), then, at random:
//!                  panics after k round trips            ─▶ its JoinHandle says is_panic()
//!                  is aborted from outside after d µs    ─▶ is_cancelled(), or Ok if it was done
//!                  finishes                              ─▶ Ok
//!                and 8 tasks with no I/O that sleep < 2 ms, then panic, are aborted, or finish
//!  every 10 s:   one line with the counts (stderr)
//! ```
//!
//! A reply that does not match (the client then ends with an error), or a JoinError of the
//! wrong kind, counts as `wrong`; `kv --chaos` exits with status 3 if `wrong` is above 0.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::TcpStream;
use minirt::task::JoinHandle;

/// The panic message of the chaos tasks: the panic hook keeps these off stderr.
const PANIC_MESSAGE: &str = "kv chaos: a task panics on purpose";

/// What the chaos loop counts; shared with the reporter.
#[derive(Default)]
pub struct Counts {
    spawned: AtomicU64,
    panicked: AtomicU64,
    aborted: AtomicU64,
    finished: AtomicU64,
    round_trips: AtomicU64,
    io_errors: AtomicU64,
    wrong: AtomicU64,
}

impl Counts {
    /// One line: the counts so far.
    pub fn line(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "kv chaos: spawned {} panicked {} aborted {} finished {} round_trips {} io_errors {} \
             wrong {}",
            get(&self.spawned),
            get(&self.panicked),
            get(&self.aborted),
            get(&self.finished),
            get(&self.round_trips),
            get(&self.io_errors),
            get(&self.wrong),
        )
    }

    /// Replies or join results that were not what they must be.
    pub fn wrong(&self) -> u64 {
        self.wrong.load(Ordering::Relaxed)
    }
}

/// xorshift64*: enough randomness to vary the schedule, no dependency.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64);
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6D_CDD2) % n.max(1)
    }
}

/// Keeps the intended panics off stderr (there are thousands); any other panic still prints.
pub fn quiet_intended_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        let intended = message == Some(PANIC_MESSAGE);
        if !intended {
            default(info);
        }
    }));
}

/// What a chaos task was told to do.
#[derive(Clone, Copy)]
enum Fate {
    Panic { after: u64 },
    Abort { after: Duration },
    Finish,
}

/// Runs the chaos loop against the server at `addr` for `duration` (`None`: until the task is
/// dropped), reporting to stderr every 10 s; then waits for the tasks it started, so that none
/// of their sockets is left open, and reports once more.
pub async fn run(addr: SocketAddr, counts: Arc<Counts>, duration: Option<Duration>) {
    let start = Instant::now();
    let mut rng = Rng::new();
    let mut last_report = Instant::now();
    let mut live: Vec<(Fate, JoinHandle<io::Result<()>>, Instant)> = Vec::new();
    while duration.map_or(true, |d| start.elapsed() < d) {
        minirt::time::sleep(Duration::from_millis(1 + rng.below(4))).await;
        let fate = match rng.below(3) {
            0 => Fate::Panic { after: rng.below(20) },
            1 => Fate::Abort { after: Duration::from_micros(rng.below(5_000)) },
            _ => Fate::Finish,
        };
        let key = format!("chaos:{}", rng.below(1_000));
        let task_counts = counts.clone();
        let rounds = 1 + rng.below(30);
        let handle = minirt::spawn(client(addr, key, rounds, fate, task_counts));
        counts.spawned.fetch_add(1, Ordering::Relaxed);
        live.push((fate, handle, Instant::now()));
        // And a storm of tasks with no I/O, the same three fates: many spawns, panics and
        // aborts a second on the workers that serve the connections.
        for _ in 0..STORM {
            let delay = Duration::from_micros(rng.below(2_000));
            let fate = match rng.below(3) {
                0 => Fate::Panic { after: 0 },
                // Aborted after `delay`, long before its sleep ends.
                1 => Fate::Abort { after: delay },
                _ => Fate::Finish,
            };
            live.push((fate, minirt::spawn(storm(fate, delay)), Instant::now()));
            counts.spawned.fetch_add(1, Ordering::Relaxed);
        }

        // Abort the ones whose time has come, and collect every finished one.
        let mut i = 0;
        while i < live.len() {
            let (fate, handle, started) = &live[i];
            if let Fate::Abort { after } = fate {
                if started.elapsed() >= *after {
                    handle.abort();
                }
            }
            if handle.is_finished() {
                let (fate, handle, _) = live.swap_remove(i);
                check(fate, handle.await, &counts);
            } else {
                i += 1;
            }
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!("{} live {}", counts.line(), live.len());
        }
    }
    for (fate, handle, _) in live {
        if matches!(fate, Fate::Abort { .. }) {
            handle.abort();
        }
        check(fate, handle.await, &counts);
    }
    eprintln!("{} (done)", counts.line());
}

/// Tasks with no I/O spawned beside each client task.
const STORM: u64 = 8;

/// A storm task: sleeps `delay` and then does what `fate` says (an `Abort` one sleeps for a
/// minute: its abort comes first).
async fn storm(fate: Fate, delay: Duration) -> io::Result<()> {
    match fate {
        Fate::Panic { .. } => {
            minirt::time::sleep(delay).await;
            panic!("{PANIC_MESSAGE}");
        }
        Fate::Abort { .. } => minirt::time::sleep(Duration::from_secs(60)).await,
        Fate::Finish => minirt::time::sleep(delay).await,
    }
    Ok(())
}

/// Counts a finished task by how it ended, and whether that is how it had to end.
fn check(fate: Fate, result: Result<io::Result<()>, minirt::task::JoinError>, counts: &Counts) {
    let ok = match (&fate, result) {
        (Fate::Panic { .. }, Err(e)) if e.is_panic() => {
            counts.panicked.fetch_add(1, Ordering::Relaxed);
            true
        }
        (Fate::Abort { .. }, Err(e)) if e.is_cancelled() => {
            counts.aborted.fetch_add(1, Ordering::Relaxed);
            true
        }
        // An aborted task may have finished first; a panicking one may have ended its round
        // trips before its panic point.
        (Fate::Abort { .. } | Fate::Finish | Fate::Panic { .. }, Ok(Ok(()))) => {
            counts.finished.fetch_add(1, Ordering::Relaxed);
            true
        }
        (_, Ok(Err(e))) if e.kind() == io::ErrorKind::InvalidData => {
            eprintln!("kv chaos: a wrong reply: {e}");
            false
        }
        // The server's shutdown closes the connections of tasks still running; counted apart.
        (_, Ok(Err(e))) => {
            if counts.io_errors.fetch_add(1, Ordering::Relaxed) < 10 {
                eprintln!("kv chaos: a client's I/O failed: {e}");
            }
            true
        }
        (_, Err(e)) => {
            eprintln!("kv chaos: a task ended as it should not: {e}");
            false
        }
    };
    if !ok {
        counts.wrong.fetch_add(1, Ordering::Relaxed);
    }
}

/// One client: `rounds` SET/GET round trips on `key`, each reply checked.
async fn client(
    addr: SocketAddr,
    key: String,
    rounds: u64,
    fate: Fate,
    counts: Arc<Counts>,
) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut reply = Vec::with_capacity(64);
    for round in 0..rounds {
        if let Fate::Panic { after } = fate {
            if round == after {
                panic!("{PANIC_MESSAGE}");
            }
        }
        let value = format!("v{round}");
        let request = format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n",
            key.len(),
            value.len(),
            key.len()
        );
        stream.write_all(request.as_bytes()).await?;
        // Another chaos task may SET the same key in between: the GET's reply is any bulk
        // string, but it must be one.
        reply.clear();
        read_line(&mut stream, &mut reply).await?;
        if reply != b"+OK\r\n" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("SET replied {:?}", String::from_utf8_lossy(&reply)),
            ));
        }
        reply.clear();
        read_line(&mut stream, &mut reply).await?;
        let Some(len) = reply.strip_prefix(b"$").and_then(|r| r.strip_suffix(b"\r\n")) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("GET replied {:?}", String::from_utf8_lossy(&reply)),
            ));
        };
        let len: usize =
            std::str::from_utf8(len).ok().and_then(|l| l.parse().ok()).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "GET's length is not a number")
            })?;
        let mut value = vec![0u8; len + 2];
        stream.read_exact(&mut value).await?;
        counts.round_trips.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Reads up to and including "\r\n", byte by byte (the replies are short).
async fn read_line(stream: &mut TcpStream, line: &mut Vec<u8>) -> io::Result<()> {
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        line.push(byte[0]);
    }
    Ok(())
}
