//! Helpers shared by the integration tests (each test binary uses a part of them).
//!
//! Nothing here may hang: every wait that depends on the runtime working is bounded, either by
//! [`timeout`] (the test fails with a panic) or, as a last resort, by [`watchdog`] (the test
//! binary aborts with a message instead of hanging forever).

#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures_util::future::{select, Either};
use minirt::io::AsyncWrite;
use minirt::net::{TcpListener, TcpStream};

/// Defines the test `$name` twice, in a module of that name: `current_thread` on the
/// current-thread runtime and `multi_thread` on the multi-thread one (2 workers: the
/// tasks run on the workers and are woken from whichever thread polls the reactor).
#[allow(unused_macros)] // each test binary uses a part of common
macro_rules! on_both_flavors {
    ($(#[doc = $doc:literal])* async fn $name:ident() -> $ret:ty $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            use super::*;

            #[minirt::test]
            async fn current_thread() -> $ret $body

            #[minirt::test(flavor = "multi_thread", worker_threads = 2)]
            async fn multi_thread() -> $ret $body
        }
    };
}

/// How long any single test may take before the watchdog kills the test binary.
pub const WATCHDOG_LIMIT: Duration = Duration::from_secs(60);

/// How long an awaited operation that must complete may take before the test fails. Far above
/// what any of them needs: this is a hang detector, never a speed assertion.
pub const HANG_LIMIT: Duration = Duration::from_secs(20);

/// Keeps a watchdog thread alive; dropping it (at the end of the test, or while the test
/// unwinds) stops the watchdog.
#[must_use = "the watchdog stops as soon as this guard is dropped"]
pub struct Watchdog {
    _stop: mpsc::Sender<()>,
}

/// Aborts the whole test binary, with a message naming `test`, if the returned guard is still
/// alive after [`WATCHDOG_LIMIT`]. The last line of defence against a hang (say a runtime that
/// never wakes up), for the parts of a test that [`timeout`] cannot cover.
pub fn watchdog(test: &'static str) -> Watchdog {
    let (stop, stopped) = mpsc::channel::<()>();
    thread::Builder::new()
        .name(format!("watchdog:{test}"))
        .spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(WATCHDOG_LIMIT) {
                eprintln!(
                    "watchdog: test `{test}` still running after {WATCHDOG_LIMIT:?}: it hangs; \
                     aborting the test binary"
                );
                std::process::abort();
            }
        })
        .expect("spawn the watchdog thread");
    Watchdog { _stop: stop }
}

/// `fut` did not complete in time.
#[derive(Debug, PartialEq, Eq)]
pub struct Elapsed;

/// Runs `fut` for at most `limit`. The clock is a std thread that fires a `futures-channel`
/// oneshot, so this works on any runtime and does not rely on the minirt timers under test; it
/// exercises cross-thread wake-ups on the way.
pub async fn timeout<F: Future>(limit: Duration, fut: F) -> Result<F::Output, Elapsed> {
    let (fire, fired) = futures_channel::oneshot::channel::<()>();
    let (cancel, cancelled) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(limit) {
            let _ = fire.send(());
        }
    });
    let fut = pin!(fut);
    let result = match select(fut, fired).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(_) => Err(Elapsed),
    };
    drop(cancel);
    result
}

/// Awaits `fut`, failing the test (with `what` in the message) if it takes longer than
/// [`HANG_LIMIT`].
pub async fn must_complete<F: Future>(what: &str, fut: F) -> F::Output {
    match timeout(HANG_LIMIT, fut).await {
        Ok(output) => output,
        Err(Elapsed) => panic!("{what}: did not complete within {HANG_LIMIT:?} (hang)"),
    }
}

/// Sleeps for `duration` without blocking the runtime: a std thread fires a oneshot. While it
/// waits, a current-thread runtime with nothing else to do parks in `epoll_wait`.
pub async fn delay(duration: Duration) {
    let (tx, rx) = futures_channel::oneshot::channel::<()>();
    thread::spawn(move || {
        thread::sleep(duration);
        let _ = tx.send(());
    });
    rx.await.expect("the delay thread always sends");
}

/// Lets every task that is ready run until it waits. Awaits a helper task that yields 64
/// times: meanwhile the scheduler runs everything queued ahead of it, drains its injection
/// queue (tasks spawned or woken from outside the loop) and polls the reactor, several times
/// over. Works from the `block_on` future too, where `yield_now` does not (see
/// `tasks::yield_now_in_block_on_lets_spawned_tasks_run`). No clock involved.
pub async fn settle() {
    let helper = minirt::spawn(async {
        for _ in 0..64 {
            minirt::task::yield_now().await;
        }
    });
    helper.await.expect("the settle helper task completes");
}

/// Lets tasks run (see [`settle`]) until `cond` holds, for at least `min_rounds` rounds and
/// then until [`HANG_LIMIT`] has passed. Returns whether it held.
///
/// The rounds alone are no bound on a multi-thread runtime: on a loaded machine the worker
/// holding the awaited task can be off the CPU for many rounds of the one running `settle`'s
/// helper, so what only has to happen *eventually* gets the hang limit (CI flaked on a
/// 100-round bound with two busy loops beside it).
pub async fn settle_until(min_rounds: usize, mut cond: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    let mut rounds = 0;
    while rounds < min_rounds || start.elapsed() < HANG_LIMIT {
        if cond() {
            return true;
        }
        settle().await;
        rounds += 1;
    }
    cond()
}

/// `len` pseudo-random bytes from `seed` (xorshift64). Every offset gets a different-looking
/// byte, so a lost, duplicated or reordered chunk is detected; two seeds give two unrelated
/// streams, so crossed directions are detected too.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = vec![0u8; len];
    for chunk in out.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    out
}

/// Asserts `got == expected` and, if not, says where they first differ instead of printing
/// megabytes.
#[track_caller]
pub fn assert_bytes_eq(got: &[u8], expected: &[u8], what: &str) {
    if got == expected {
        return;
    }
    let first_diff = got.iter().zip(expected).position(|(a, b)| a != b);
    match first_diff {
        Some(i) => panic!(
            "{what}: bytes differ first at offset {i} (got {:#04x}, expected {:#04x}); \
             lengths {} and {}",
            got[i],
            expected[i],
            got.len(),
            expected.len()
        ),
        None => panic!(
            "{what}: one is a prefix of the other; got {} bytes, expected {}",
            got.len(),
            expected.len()
        ),
    }
}

/// A connected pair `(client, server)` over 127.0.0.1, checking the addresses both sides see.
pub async fn connected_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let client = TcpStream::connect(addr).await?;
    let (server, peer) = listener.accept().await?;
    assert_eq!(peer, client.local_addr()?, "accept's address is the client's");
    assert_eq!(server.peer_addr()?, client.local_addr()?);
    assert_eq!(client.peer_addr()?, addr);
    assert_eq!(server.local_addr()?, addr);
    Ok((client, server))
}

/// Sets an `int` socket option with `setsockopt`.
pub fn set_sock_opt(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) {
    // SAFETY: `value` is a valid c_int that outlives the call, and its size is passed along.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(ret, 0, "setsockopt({level}, {name}): {}", io::Error::last_os_error());
}

/// Raises the soft `RLIMIT_NOFILE` to at least `want` if the hard limit allows, and returns the
/// soft limit now in force.
pub fn raise_nofile_limit(want: libc::rlim_t) -> libc::rlim_t {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill.
    let ret = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(ret, 0, "getrlimit: {}", io::Error::last_os_error());
    if limit.rlim_cur >= want {
        return limit.rlim_cur;
    }
    let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
    // SAFETY: `raised` is a valid rlimit; raising the soft limit up to the hard limit needs no
    // privilege.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
    if ret != 0 {
        eprintln!("setrlimit(RLIMIT_NOFILE): {}", io::Error::last_os_error());
        return limit.rlim_cur;
    }
    limit.rlim_max
}

/// Serialises the tests of one binary that use [`serial`].
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds off the other `serial` tests of this binary while the guard lives, for a test that
/// counts fds but builds its runtimes itself.
pub fn serial_lock() -> std::sync::MutexGuard<'static, ()> {
    // A test that panicked while holding it leaves nothing inconsistent behind.
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the future `body` makes on a fresh current-thread runtime, then on a fresh
/// multi-thread runtime (2 workers: its tasks run on the workers, the body on this thread),
/// alone among this binary's `serial` tests (they count the entries of `/proc/self/fd`, which
/// is process-wide), and checks that every fd each run opened was closed by the time its
/// runtime is dropped.
pub fn serial<F, Fut>(name: &'static str, body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let _serial = serial_lock();
    let _watchdog = watchdog(name);
    for flavor in ["current_thread", "multi_thread"] {
        let mut builder = match flavor {
            "current_thread" => minirt::runtime::Builder::new_current_thread(),
            _ => minirt::runtime::Builder::new_multi_thread(),
        };
        builder.worker_threads(2);
        let before = open_fd_count();
        let rt = builder.build().expect("runtime");
        rt.block_on(body()).unwrap_or_else(|e| panic!("{name} ({flavor}): {e}"));
        drop(rt);
        assert_eq!(open_fd_count(), before, "{name} ({flavor}): fds leaked: {}", open_fds());
    }
}

/// CPU time used so far by what `clock` measures: `libc::CLOCK_PROCESS_CPUTIME_ID` (the whole
/// process) or `libc::CLOCK_THREAD_CPUTIME_ID` (the calling thread).
pub fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    let ret = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(ret, 0, "clock_gettime({clock}): {}", io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The number of open file descriptors of this process.
pub fn open_fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("read /proc/self/fd").count()
}

/// What each open fd of this process is (`/proc/self/fd/N` -> `socket:[...]`, `anon_inode:
/// [eventpoll]`, ...), for the message of a failed fd count.
pub fn open_fds() -> String {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            Some(format!("{} -> {}", entry.file_name().to_string_lossy(), target.display()))
        })
        .collect();
    fds.sort();
    fds.join(", ")
}

/// The panic message carried by a panic payload, if it is a string.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Two connected socket pairs for testing a copy between sockets: a task writes `data` into
/// the returned `source` then shuts its write half down, and another task reads everything that
/// arrives at the far end of `sink` until EOF. Returns `(source, sink, feeder, drain)`.
pub async fn feed_and_drain(
    data: Vec<u8>,
) -> io::Result<(
    TcpStream,
    TcpStream,
    minirt::task::JoinHandle<io::Result<()>>,
    minirt::task::JoinHandle<io::Result<Vec<u8>>>,
)> {
    use minirt::io::{AsyncReadExt, AsyncWriteExt};
    let (mut source_writer, source) = connected_pair().await?;
    let (sink, mut sink_reader) = connected_pair().await?;
    let feeder = minirt::spawn(async move {
        source_writer.write_all(&data).await?;
        source_writer.shutdown().await
    });
    let drain = minirt::spawn(async move {
        let mut got = Vec::new();
        sink_reader.read_to_end(&mut got).await?;
        Ok(got)
    });
    Ok((source, sink, feeder, drain))
}

/// What a [`CountedWriter`] has seen.
#[derive(Default)]
pub struct WriteProgress {
    /// Bytes the inner writer took.
    pub written: AtomicUsize,
    /// Times `poll_write` was called.
    pub polls: AtomicUsize,
    /// Times `poll_write` returned `Pending`.
    pub pendings: AtomicUsize,
}

/// An `AsyncWrite` that counts, into a shared [`WriteProgress`], what its inner writer does.
pub struct CountedWriter<W> {
    pub inner: W,
    pub progress: Arc<WriteProgress>,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for CountedWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.progress.polls.fetch_add(1, Ordering::SeqCst);
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        match &polled {
            Poll::Ready(Ok(n)) => {
                self.progress.written.fetch_add(*n, Ordering::SeqCst);
            }
            Poll::Ready(Err(_)) => {}
            Poll::Pending => {
                self.progress.pendings.fetch_add(1, Ordering::SeqCst);
            }
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Asserts `err` is what an operation on a connection the peer reset (or closed) returns.
#[track_caller]
pub fn assert_peer_gone(err: &io::Error, what: &str) {
    assert!(
        matches!(err.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe),
        "{what}: expected ConnectionReset or BrokenPipe, got {:?}: {err}",
        err.kind()
    );
}
