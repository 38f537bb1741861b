//! Memory per idle task, per idle connection and per pending timer, minirt beside tokio.
//!
//! ```text
//! cargo build --release --example mem_idle
//! target/release/examples/mem_idle WHAT RUNTIME FLAVOR [N]
//!   WHAT     tasks (default N 100000) | conns (10000) | timers (1000000)
//!   RUNTIME  minirt | tokio
//!   FLAVOR   ct (current-thread) | mt (multi-thread, 2 workers)
//! benches/memory.sh   # all twelve, each in a fresh process, as a table
//! ```
//!
//! One measurement per process, so that nothing an earlier one freed (and the allocator kept)
//! hides the next one's growth. The program builds the runtime, spawns a driver task, and the
//! driver reads the resident set (`VmRSS` in `/proc/self/status`) and the counting allocator
//! below before and after it creates N idle things:
//!
//! - `tasks`: N spawned tasks, each parked on one shared `Notify` (`notified().await`); the
//!   `JoinHandle`s are dropped, as a server drops a connection task's.
//! - `conns`: an echo server (the loop of `examples/echo.rs`, with a 4 KiB buffer per connection)
//!   and N clients that connect over 127.0.0.1 and send nothing. The clients are a child process
//!   (this same binary, `clients ADDR N`, plain blocking std sockets), so their memory is not in
//!   the server's resident set; the kernel's socket buffers are in neither. Needs
//!   `ulimit -n` above N in both processes (`benches/memory.sh` raises it).
//! - `timers`: N `sleep(1 hour)`s, each boxed and polled once (so it is registered with the
//!   runtime's timers) by the driver task, 64 per poll so that tokio's coop budget, which makes
//!   the 129th poll in a row return `Pending` without registering, never runs out.
//!
//! It prints one line: the resident-set growth per thing, the heap bytes and blocks still live
//! per thing (requested sizes, from the counting allocator: malloc's own headers are in the
//! resident set, not here) and `size_of` of what the program itself allocates per thing (the
//! task's future; the `Sleep`), so that the rest is the runtime's. Then it wakes or closes
//! everything, checks that every task ended, and exits.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;

/// The system allocator, counting the bytes and blocks currently allocated.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// How many blocks of each size (in bytes, up to `SIZES - 1`; larger ones in the last slot) were
/// allocated so far, so that the report can name the blocks allocated once per thing.
const SIZES: usize = 8193;
static BY_SIZE: [AtomicUsize; SIZES] = [const { AtomicUsize::new(0) }; SIZES];

fn count_block(size: usize) {
    LIVE_BYTES.fetch_add(size as isize, Ordering::Relaxed);
    LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
    BY_SIZE[size.min(SIZES - 1)].fetch_add(1, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counters are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count_block(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_block(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller's contract is `System`'s.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What the process holds at one moment.
#[derive(Clone)]
struct Sample {
    rss_kib: u64,
    heap_bytes: isize,
    heap_blocks: isize,
    by_size: Vec<usize>,
}

fn sample() -> std::io::Result<Sample> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| std::io::Error::new(e.kind(), format!("reading /proc/self/status: {e}")))?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| std::io::Error::other("no VmRSS line in /proc/self/status"))?;
    Ok(Sample {
        rss_kib,
        heap_bytes: LIVE_BYTES.load(Ordering::Relaxed),
        heap_blocks: LIVE_BLOCKS.load(Ordering::Relaxed),
        by_size: BY_SIZE.iter().map(|count| count.load(Ordering::Relaxed)).collect(),
    })
}

/// What one measurement found, per thing.
struct Report {
    rss_per: f64,
    heap_per: f64,
    blocks_per: f64,
    /// The sizes of the blocks allocated at least once per thing (on average) meanwhile, each
    /// with its allocations per thing: a runtime's own blocks (the task cell, say) show here.
    common_blocks: Vec<(usize, f64)>,
    /// What the program itself allocates per thing, and what it is.
    own: String,
}

impl Report {
    fn new(before: Sample, after: Sample, n: usize, own: String) -> Report {
        let common_blocks = (0..SIZES)
            .map(|size| (size, after.by_size[size] - before.by_size[size]))
            .filter(|&(_, count)| count >= n)
            .map(|(size, count)| (size, count as f64 / n as f64))
            .collect();
        let n = n as f64;
        Report {
            common_blocks,
            rss_per: (after.rss_kib as f64 - before.rss_kib as f64) * 1024.0 / n,
            heap_per: (after.heap_bytes - before.heap_bytes) as f64 / n,
            blocks_per: (after.heap_blocks - before.heap_blocks) as f64 / n,
            own,
        }
    }
}

fn size_of_val_of<T>(_: &T) -> usize {
    std::mem::size_of::<T>()
}

const CONN_BUF: usize = 4096;
const SETTLE: Duration = Duration::from_millis(200);

/// The three measurements for one runtime: `$rt` is the crate (`minirt` or `tokio`), whose
/// paths and method names are the same for everything used here.
macro_rules! measurements {
    ($module:ident, $rt:ident) => {
        mod $module {
            use super::*;
            use std::future::{poll_fn, Future};
            use std::pin::Pin;
            use std::sync::Arc;
            use std::task::Poll;

            use $rt::io::{AsyncReadExt, AsyncWriteExt};

            pub async fn tasks(n: usize) -> std::io::Result<Report> {
                let notify = Arc::new($rt::sync::Notify::new());
                let parked = Arc::new(AtomicUsize::new(0));
                let ended = Arc::new(AtomicUsize::new(0));
                let mut future_size = 0;
                let before = sample()?;
                for _ in 0..n {
                    let (notify, parked, ended) = (notify.clone(), parked.clone(), ended.clone());
                    let task = async move {
                        let notified = notify.notified();
                        parked.fetch_add(1, Ordering::Relaxed);
                        notified.await;
                        ended.fetch_add(1, Ordering::Relaxed);
                    };
                    future_size = size_of_val_of(&task);
                    drop($rt::spawn(task));
                }
                // Every task has been polled once (and so waits in the Notify's list) when it
                // has counted itself.
                while parked.load(Ordering::Relaxed) < n {
                    $rt::time::sleep(Duration::from_millis(5)).await;
                }
                $rt::time::sleep(SETTLE).await;
                let after = sample()?;
                notify.notify_waiters();
                wait_for(&ended, n, "tasks woken by notify_waiters").await?;
                Ok(Report::new(before, after, n, format!("task future {future_size} B")))
            }

            pub async fn conns(n: usize) -> std::io::Result<Report> {
                let listener = $rt::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let accepted = Arc::new(AtomicUsize::new(0));
                let closed = Arc::new(AtomicUsize::new(0));
                let future_size = Arc::new(AtomicUsize::new(0));
                let (acc, cl, size) = (accepted.clone(), closed.clone(), future_size.clone());
                let before = sample()?;
                let server = $rt::spawn(async move {
                    loop {
                        let (mut stream, _) = match listener.accept().await {
                            Ok(conn) => conn,
                            Err(e) => {
                                eprintln!("mem_idle: accept failed: {e}");
                                $rt::time::sleep(Duration::from_millis(100)).await;
                                continue;
                            }
                        };
                        let (acc, cl) = (acc.clone(), cl.clone());
                        let connection = async move {
                            let mut buf = vec![0u8; CONN_BUF];
                            acc.fetch_add(1, Ordering::Relaxed);
                            loop {
                                let n = match stream.read(&mut buf).await {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => n,
                                };
                                if stream.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                            cl.fetch_add(1, Ordering::Relaxed);
                        };
                        size.store(size_of_val_of(&connection), Ordering::Relaxed);
                        $rt::spawn(connection);
                    }
                });
                // The clients start on the blocking pool: the runtime accepts meanwhile.
                let addr = addr.to_string();
                let clients = $rt::task::spawn_blocking(move || Clients::start(&addr, n));
                let mut clients = clients.await.map_err(std::io::Error::other)??;
                wait_for(&accepted, n, "connections accepted").await?;
                $rt::time::sleep(SETTLE).await;
                let after = sample()?;
                $rt::task::spawn_blocking(move || clients.close())
                    .await
                    .map_err(std::io::Error::other)??;
                wait_for(&closed, n, "connections closed").await?;
                server.abort();
                let own = format!(
                    "connection future {} B, buffer {CONN_BUF} B",
                    future_size.load(Ordering::Relaxed)
                );
                Ok(Report::new(before, after, n, own))
            }

            pub async fn timers(n: usize) -> std::io::Result<Report> {
                let mut sleeps: Vec<Pin<Box<$rt::time::Sleep>>> = Vec::with_capacity(n);
                let sleep_size = std::mem::size_of::<$rt::time::Sleep>();
                let before = sample()?;
                while sleeps.len() < n {
                    let chunk = (n - sleeps.len()).min(64);
                    poll_fn(|cx| {
                        for _ in 0..chunk {
                            let mut sleep = Box::pin($rt::time::sleep(Duration::from_secs(3600)));
                            if sleep.as_mut().poll(cx).is_ready() {
                                eprintln!("mem_idle: a one-hour sleep completed at once");
                            }
                            sleeps.push(sleep);
                        }
                        Poll::Ready(())
                    })
                    .await;
                    $rt::task::yield_now().await;
                }
                $rt::time::sleep(SETTLE).await;
                let after = sample()?;
                drop(sleeps);
                // The capacity of `sleeps` was allocated before `before`: only the boxes count.
                Ok(Report::new(before, after, n, format!("Sleep {sleep_size} B")))
            }

            /// Waits (at most 60 s) until `counter` reaches `n`.
            async fn wait_for(counter: &AtomicUsize, n: usize, what: &str) -> std::io::Result<()> {
                for _ in 0..6000 {
                    if counter.load(Ordering::Relaxed) >= n {
                        return Ok(());
                    }
                    $rt::time::sleep(Duration::from_millis(10)).await;
                }
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{what}: {} of {n} after 60 s", counter.load(Ordering::Relaxed)),
                ))
            }
        }
    };
}

measurements!(on_minirt, minirt);
measurements!(on_tokio, tokio);

/// The child process that holds the idle client connections.
struct Clients {
    child: std::process::Child,
}

impl Clients {
    /// Starts `clients ADDR N` and waits until it says that all N are connected.
    fn start(addr: &str, n: usize) -> std::io::Result<Clients> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(["clients", addr, &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("starting the clients: {e}")))?;
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        if line.trim() != "connected" {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other(format!("clients: {line:?}")));
        }
        Ok(Clients { child })
    }

    /// Closes the child's stdin, on which it exits and its connections close.
    fn close(&mut self) -> std::io::Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            return Err(std::io::Error::other(format!("clients exited with {status}")));
        }
        Ok(())
    }
}

/// `clients ADDR N`: N idle connections to ADDR until stdin closes.
fn run_clients(addr: &str, n: usize) -> std::io::Result<()> {
    let mut streams = Vec::with_capacity(n);
    for i in 0..n {
        let stream = std::net::TcpStream::connect(addr).map_err(|e| {
            std::io::Error::new(e.kind(), format!("connection {i} of {n} to {addr}: {e}"))
        })?;
        streams.push(stream);
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "connected")?;
    stdout.flush()?;
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest)?;
    drop(streams);
    Ok(())
}

#[derive(Clone, Copy)]
enum What {
    Tasks,
    Conns,
    Timers,
}

const USAGE: &str = "usage: mem_idle tasks|conns|timers minirt|tokio ct|mt [N]";

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    if args.first().map(String::as_str) == Some("clients") {
        let (addr, n) = match (args.get(1), args.get(2).and_then(|n| n.parse().ok())) {
            (Some(addr), Some(n)) => (addr, n),
            _ => return Err(invalid("usage: mem_idle clients ADDR N".into())),
        };
        return run_clients(addr, n);
    }
    let (what, runtime, flavor) = match (args.first(), args.get(1), args.get(2)) {
        (Some(w), Some(r), Some(f)) => (w.as_str(), r.as_str(), f.as_str()),
        _ => return Err(invalid(USAGE.into())),
    };
    let (kind, default_n) = match what {
        "tasks" => (What::Tasks, 100_000),
        "conns" => (What::Conns, 10_000),
        "timers" => (What::Timers, 1_000_000),
        _ => return Err(invalid(USAGE.into())),
    };
    let n = match args.get(3) {
        Some(n) => n.parse().map_err(|_| invalid(format!("N must be a number, got {n:?}")))?,
        None => default_n,
    };
    let multi = match flavor {
        "ct" => false,
        "mt" => true,
        _ => return Err(invalid(USAGE.into())),
    };
    let report = match runtime {
        "minirt" => {
            let mut builder = if multi {
                let mut b = minirt::runtime::Builder::new_multi_thread();
                b.worker_threads(2);
                b
            } else {
                minirt::runtime::Builder::new_current_thread()
            };
            let rt = builder.enable_all().build()?;
            rt.block_on(async move {
                let driver = minirt::spawn(async move {
                    match kind {
                        What::Tasks => on_minirt::tasks(n).await,
                        What::Conns => on_minirt::conns(n).await,
                        What::Timers => on_minirt::timers(n).await,
                    }
                });
                driver.await.map_err(std::io::Error::other)?
            })?
        }
        "tokio" => {
            let mut builder = if multi {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(2);
                b
            } else {
                tokio::runtime::Builder::new_current_thread()
            };
            let rt = builder.enable_all().build()?;
            rt.block_on(async move {
                let driver = tokio::spawn(async move {
                    match kind {
                        What::Tasks => on_tokio::tasks(n).await,
                        What::Conns => on_tokio::conns(n).await,
                        What::Timers => on_tokio::timers(n).await,
                    }
                });
                driver.await.map_err(std::io::Error::other)?
            })?
        }
        _ => return Err(invalid(USAGE.into())),
    };
    let blocks: Vec<String> = report
        .common_blocks
        .iter()
        .map(|(size, per)| {
            let size =
                if *size == SIZES - 1 { format!(">{}", SIZES - 2) } else { size.to_string() };
            format!("{size} B x{per:.2}")
        })
        .collect();
    println!(
        "{what:<6} {runtime:<6} {flavor} n={n}: RSS {:.0} B each; heap {:.0} B in {:.2} blocks each \
         (allocated per thing: {}); {}",
        report.rss_per,
        report.heap_per,
        report.blocks_per,
        blocks.join(", "),
        report.own
    );
    Ok(())
}
