//! Out of file descriptors: `accept` and `connect` return the `EMFILE` error (they neither
//! panic, nor spin, nor wait forever), and the sockets work again once fds are free.
//!
//! Each test lowers `RLIMIT_NOFILE`, which would break any other test running in the same
//! process. So each one runs its body in a child process: the test re-executes this test
//! binary with `CHILD_ENV` naming the test, and the child, seeing the variable, runs the body
//! (alone, `--exact`) while the parent waits and reports the child's output if it fails.

mod common;

use std::future::Future;
use std::io;
use std::process::Command;
use std::time::Duration;

use common::{delay, must_complete, watchdog};
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};

/// Names the test a child process must run.
const CHILD_ENV: &str = "MINIRT_EMFILE_CHILD";

#[allow(dead_code, unused_imports)] // `main` and some constants are for the binary only
#[path = "../examples/http.rs"]
mod http_example;

/// In the parent: runs test `name` in a child process and asserts it passed. In the child:
/// runs `body` on a fresh current-thread runtime.
fn in_child_process<F: Future<Output = io::Result<()>>>(name: &'static str, body: F) {
    if std::env::var_os(CHILD_ENV).is_some_and(|v| v == name) {
        let _watchdog = watchdog(name);
        let rt = minirt::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(body).expect("the test body");
        return;
    }
    drop(body);
    let exe = std::env::current_exe().expect("current_exe");
    let output = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .expect("re-execute the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child process running `{name}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    print!("{stdout}");
}

fn nofile_limit() -> libc::rlimit {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill.
    let ret = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(ret, 0, "getrlimit: {}", io::Error::last_os_error());
    limit
}

fn set_nofile_limit(limit: &libc::rlimit) {
    // SAFETY: `limit` is a valid rlimit; lowering the soft limit, or raising it back up to the
    // unchanged hard limit, needs no privilege.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, limit) };
    assert_eq!(ret, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// Takes every free fd: caps the fd table just above the highest fd open now, then fills every
/// free slot below the cap. Dropping the result frees them and restores the limit.
struct Exhausted {
    fillers: Vec<std::fs::File>,
    original: libc::rlimit,
}

impl Exhausted {
    fn now() -> Exhausted {
        let original = nofile_limit();
        let highest_fd = std::fs::read_dir("/proc/self/fd")
            .expect("read /proc/self/fd")
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<libc::rlim_t>().ok())
            .max()
            .expect("some fds are open");
        set_nofile_limit(&libc::rlimit { rlim_cur: highest_fd + 1, rlim_max: original.rlim_max });
        let mut exhausted = Exhausted { fillers: Vec::new(), original };
        let err = loop {
            match std::fs::File::open("/dev/null") {
                Ok(file) => exhausted.fillers.push(file),
                Err(e) => break e,
            }
            assert!(exhausted.fillers.len() < 10_000, "the fd limit is not enforced");
        };
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        exhausted
    }
}

impl Drop for Exhausted {
    fn drop(&mut self) {
        self.fillers.clear();
        set_nofile_limit(&self.original);
    }
}

#[track_caller]
fn assert_emfile(err: &io::Error, what: &str) {
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{what}: expected EMFILE, got {err:?}");
}

/// CPU time this process has used so far (all threads).
fn process_cpu_time() -> Duration {
    common::cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// How long the runtime idles, parked, with a readable listener whose `accept` failed.
const IDLE: Duration = Duration::from_millis(600);
/// The CPU time that idling may cost. A loop spinning on the readable listener (a
/// level-triggered registration, or an accept retried on `EMFILE`) burns all of `IDLE`; a
/// parked one burns next to nothing. Only an upper bound: a busy machine makes it smaller.
const IDLE_CPU_LIMIT: Duration = Duration::from_millis(150);

/// `accept` with no fd left returns `EMFILE`, each time it is called; while the listener stays
/// readable (connections queued) the runtime, parked, burns no CPU; once fds are free again,
/// every queued connection is accepted.
#[test]
fn accept_out_of_fds_returns_the_error_and_recovers() {
    in_child_process("accept_out_of_fds_returns_the_error_and_recovers", async {
        const CLIENTS: usize = 3;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // Blocking std connects complete in the kernel's accept queue, no accept needed.
        let clients = (0..CLIENTS)
            .map(|_| std::net::TcpStream::connect(addr))
            .collect::<io::Result<Vec<_>>>()?;

        let exhausted = Exhausted::now();
        for attempt in 0..3 {
            let err = must_complete("accept without fds", listener.accept())
                .await
                .expect_err("no fd is available for the accepted connection");
            assert_emfile(&err, &format!("accept, attempt {attempt}"));
        }
        // A task waits in accept as a server would, after its accept failed (the listener is
        // still readable: the failed accept4 took nothing from the queue).
        let acceptor = minirt::spawn(async move {
            let err = listener.accept().await.expect_err("still out of fds");
            assert_emfile(&err, "accept in a task");
            listener
        });
        let listener = must_complete("the acceptor task", acceptor).await.expect("no panic");

        let cpu_before = process_cpu_time();
        delay(IDLE).await;
        let cpu = process_cpu_time() - cpu_before;
        println!("CPU time while idle for {IDLE:?} with a readable listener: {cpu:?}");
        assert!(
            cpu < IDLE_CPU_LIMIT,
            "the runtime burnt {cpu:?} of CPU in {IDLE:?} with nothing to do: a busy loop"
        );

        drop(exhausted);
        let mut accepted = Vec::new();
        for _ in 0..CLIENTS {
            let (_stream, peer) =
                must_complete("accept after fds are back", listener.accept()).await?;
            accepted.push(peer);
        }
        let mut connected =
            clients.iter().map(|c| c.local_addr()).collect::<io::Result<Vec<_>>>()?;
        connected.sort();
        accepted.sort();
        assert_eq!(accepted, connected, "the queued connections were all kept and accepted");
        Ok(())
    });
}

/// `TcpStream::connect` and `TcpListener::bind` with no fd left return `EMFILE` (no panic, no
/// hang), and work again once fds are free; an established connection keeps working meanwhile.
#[test]
fn connect_out_of_fds_returns_the_error_and_recovers() {
    in_child_process("connect_out_of_fds_returns_the_error_and_recovers", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut client = TcpStream::connect(addr).await?;
        let (mut server, _) = listener.accept().await?;

        let exhausted = Exhausted::now();
        for attempt in 0..3 {
            let err = must_complete("connect without fds", TcpStream::connect(addr))
                .await
                .expect_err("no fd for a new socket");
            assert_emfile(&err, &format!("connect, attempt {attempt}"));
        }
        let err = must_complete("bind without fds", TcpListener::bind("127.0.0.1:0"))
            .await
            .expect_err("no fd for a new socket");
        assert_emfile(&err, "bind");

        // What is already open is unaffected.
        client.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        must_complete("read on an open connection", server.read_exact(&mut buf)).await?;
        assert_eq!(&buf, b"ping");

        drop(exhausted);
        let mut again =
            must_complete("connect after fds are back", TcpStream::connect(addr)).await?;
        let (mut accepted, _) = must_complete("accept", listener.accept()).await?;
        again.write_all(b"pong").await?;
        must_complete("read", accepted.read_exact(&mut buf)).await?;
        assert_eq!(&buf, b"pong");
        Ok(())
    });
}

/// The `http` example out of fds: its accept loop backs off (little CPU while the listener
/// stays readable), a connection it already has keeps being served, and the queued one is
/// served once fds are free.
#[test]
fn the_http_example_backs_off_when_out_of_fds_and_keeps_serving() {
    in_child_process("the_http_example_backs_off_when_out_of_fds_and_keeps_serving", async {
        const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        async fn hello(stream: &mut TcpStream) -> io::Result<()> {
            stream.write_all(GET).await?;
            let mut response = Vec::new();
            let mut buf = [0u8; 512];
            while !response.ends_with(b"Hello, World!") {
                let n = must_complete("a response", stream.read(&mut buf)).await?;
                assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&response));
                response.extend_from_slice(&buf[..n]);
            }
            Ok(())
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let timeouts = http_example::http_proto::Timeouts::default();
        let server = minirt::spawn(http_example::run(listener, timeouts));
        let mut served = TcpStream::connect(addr).await?;
        hello(&mut served).await?;

        // Queue a connection and take every fd with no await in between, so the server's
        // accept loop first sees the connection when it cannot accept it.
        let queued = std::net::TcpStream::connect(addr)?;
        queued.set_nonblocking(true)?;
        let mut queued = TcpStream::from_std(queued)?;
        let exhausted = Exhausted::now();

        let cpu_before = process_cpu_time();
        delay(IDLE).await;
        let cpu = process_cpu_time() - cpu_before;
        println!("CPU time of the http example out of fds for {IDLE:?}: {cpu:?}");
        assert!(cpu < IDLE_CPU_LIMIT, "the accept loop burnt {cpu:?} in {IDLE:?}: it spins");
        hello(&mut served).await?; // still serving what it has

        drop(exhausted);
        hello(&mut queued).await?;
        assert!(!server.is_finished(), "the accept loop is still running");
        Ok(())
    });
}
