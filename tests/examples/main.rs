//! The server examples as services: each one runs as a process of its own, takes its address
//! from the command line or `ADDR`, says where it listens on its first line, serves a real
//! client (plain std sockets, in this process), and on SIGTERM or SIGINT finishes what is in
//! flight, says so, and exits with status 0.
//!
//! How a test runs an example. Each example's `main` is `run_program(std::env::args().skip(1))`;
//! this file includes the example's source with `#[path]`, and the test starts *this test
//! binary* again as a child process that runs only [`example_child`], which calls the example's
//! `run_program` with the arguments the test chose and exits as std's `main` would (0 on `Ok`,
//! 1 after printing an `Err`). The child is a process of its own, with its own signal
//! dispositions, stdout and exit status, running the example's code from argument parsing to
//! exit. Why not the binary under `target/debug/examples/`: `cargo test --workspace` builds
//! the examples, but `cargo test --test examples` does not, nor does CI's
//! `cargo test --features hyper --test ...` step build `hyper_server` (a `required-features`
//! example), so a test of the binary would find it missing, or worse, stale (an old build of
//! the example under test); the included source is always the one being tested.
//!
//! What a test can rely on: the start-up line (`<name>: listening on <addr> ...`, with the
//! address actually bound, so every test binds port 0 or a fresh socket path) is printed after
//! the example listens for SIGINT and SIGTERM, so a signal sent the moment it is read is
//! handled; Rust's stdout is line-buffered even into a pipe, so the line arrives whole and at
//! once. The child's stdout is read by a thread into a channel, so every wait is bounded
//! ([`common::HANG_LIMIT`]), and a watchdog guards each test. A child is killed and reaped when
//! its [`Example`] drops (a failing test unwinds through it), and asks the kernel for SIGKILL
//! should this test process die first, so no example outlives its test.

#[path = "../common/mod.rs"]
mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{watchdog, HANG_LIMIT};

// The examples under test. `main` (and whatever only it uses) is for the binaries; the support
// modules are loaded by several examples, so several times here.
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../../examples/chat.rs"]
mod chat;
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../../examples/echo.rs"]
mod echo;
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../../examples/http.rs"]
mod http;
#[cfg(feature = "hyper")]
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../../examples/hyper_server.rs"]
mod hyper_server;
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../../examples/proxy.rs"]
mod proxy;
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../../examples/reuseport.rs"]
mod reuseport;
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../../examples/udp_echo.rs"]
mod udp_echo;
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../../examples/unix_echo.rs"]
mod unix_echo;

// The examples' shared support code, tested on its own.
mod example_args;
mod http_parser;

/// Set in the child process: the example's name, then its arguments, one per line.
const CHILD: &str = "MINIRT_EXAMPLES_CHILD";
/// Set in the child process: the pid of the test process that started it.
const PARENT: &str = "MINIRT_EXAMPLES_PARENT";

/// Not a test of its own: the example, run in the child process that [`Example::start`]
/// starts (in this test process, it returns at once).
#[test]
fn example_child() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    die_with_parent();
    let mut words = spec.split('\n');
    let name = words.next().unwrap_or_default();
    let argv = words.map(String::from);
    let result = match name {
        "echo" => echo::run_program(argv),
        "http" => http::run_program(argv),
        "chat" => chat::run_program(argv),
        "proxy" => proxy::run_program(argv),
        "udp_echo" => udp_echo::run_program(argv),
        "unix_echo" => unix_echo::run_program(argv),
        "reuseport" => reuseport::run_program(argv),
        #[cfg(feature = "hyper")]
        "hyper_server" => hyper_server::run_program(argv),
        other => Err(io::Error::other(format!("no example {other:?} here"))),
    };
    // What std does with the `Result` that `main` returns.
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e:?}");
            1
        }
    };
    std::process::exit(code);
}

/// In the child: SIGKILL when the test process dies (say its watchdog aborts it), so that no
/// example is left running.
fn die_with_parent() {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    // The parent may have died before the prctl: then we have been reparented already.
    let parent = std::env::var(PARENT).ok().and_then(|pid| pid.parse::<libc::pid_t>().ok());
    // SAFETY: getppid has no preconditions.
    if parent != Some(unsafe { libc::getppid() }) {
        std::process::exit(3);
    }
}

/// An example running in a child process; killed and reaped on drop if it has not exited.
struct Example {
    name: &'static str,
    child: Child,
    /// The child's stdout, line by line (a thread reads the pipe).
    lines: mpsc::Receiver<String>,
    /// Every line read so far, for the failure messages.
    seen: Vec<String>,
    /// What the child wrote on stderr so far (a thread collects it), for the failure messages.
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The thread that collects stderr, joined once the child has exited.
    stderr_thread: Option<thread::JoinHandle<()>>,
}

impl Example {
    /// Starts example `name` with `args`, and with `env` (`ADDR` and `UPSTREAM` are unset
    /// unless `env` sets them).
    fn start(name: &'static str, args: &[&str], env: &[(&str, &str)]) -> Example {
        let mut spec = name.to_string();
        for arg in args {
            spec.push('\n');
            spec.push_str(arg);
        }
        let exe = std::env::current_exe().expect("current_exe");
        let mut command = Command::new(exe);
        command
            .args(["--exact", "example_child", "--nocapture", "--test-threads=1", "-q"])
            .env(CHILD, spec)
            .env(PARENT, std::process::id().to_string())
            .env_remove("ADDR")
            .env_remove("UPSTREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn the example's process");
        let stdout = child.stdout.take().expect("the child's stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut child_stderr = child.stderr.take().expect("the child's stderr");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let collected = stderr.clone();
        let stderr_thread = thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = child_stderr.read(&mut buf) {
                collected.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&buf[..n]);
            }
        });
        let stderr_thread = Some(stderr_thread);
        Example { name, child, lines, seen: Vec::new(), stderr, stderr_thread }
    }

    /// What the example wrote on stderr so far.
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|p| p.into_inner())).into()
    }

    /// The next line on the example's stdout; `None` once it is closed (the example exited).
    fn next_line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(HANG_LIMIT) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "{}: nothing on stdout for {HANG_LIMIT:?} (hang); it printed {:#?}, and on \
                 stderr:\n{}",
                self.name,
                self.seen,
                self.stderr()
            ),
        }
    }

    /// Reads stdout up to a line that starts with `prefix`, and returns the rest of that line.
    fn wait_for_line(&mut self, prefix: &str) -> String {
        loop {
            match self.next_line() {
                Some(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_string();
                    }
                }
                None => panic!(
                    "{}: stdout closed before a line starting with {prefix:?}; it printed {:#?} \
                     (exit status {:?}), and on stderr:\n{}",
                    self.name,
                    self.seen,
                    self.child.try_wait(),
                    self.stderr()
                ),
            }
        }
    }

    /// The address named by the start-up line, `<name>: listening on <addr>...`.
    fn listening_on(&mut self) -> String {
        let rest = self.wait_for_line(&format!("{}: listening on ", self.name));
        let addr = rest.split([' ', ',']).next().unwrap_or_default();
        assert!(!addr.is_empty(), "{}: no address in the start-up line", self.name);
        addr.to_string()
    }

    /// Sends `signum` to the example.
    fn signal(&self, signum: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill with the pid of our child, which has not been reaped (it cannot have
        // been: only `wait_exit` and `drop` reap it), so the pid is still its own.
        let ret = unsafe { libc::kill(pid, signum) };
        assert_eq!(ret, 0, "kill({pid}, {signum}): {}", io::Error::last_os_error());
    }

    /// Reads stdout to its end and waits for the example to exit (both bounded); returns the
    /// exit status and everything the example printed.
    fn wait_exit(&mut self) -> (ExitStatus, String) {
        while self.next_line().is_some() {}
        let deadline = Instant::now() + HANG_LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{}: closed stdout but did not exit; it printed {:#?}",
                self.name,
                self.seen
            );
            thread::sleep(Duration::from_millis(5));
        };
        // The child has exited, so its stderr is closed: the thread ends.
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
        (status, self.seen.join("\n"))
    }

    /// Waits for the example to exit, and checks that it exited with status 0 after a line
    /// starting with `last_words`.
    fn expect_clean_exit(&mut self, last_words: &str) {
        let (status, stdout) = self.wait_exit();
        assert_eq!(
            status.code(),
            Some(0),
            "{}: exit status {status:?}; stdout:\n{stdout}\nstderr:\n{}",
            self.name,
            self.stderr()
        );
        assert!(
            self.seen.iter().any(|line| line.starts_with(last_words)),
            "{}: no line starting with {last_words:?} on stdout:\n{stdout}",
            self.name
        );
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A blocking TCP client whose reads and writes give up after [`HANG_LIMIT`].
fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(HANG_LIMIT)).expect("read timeout");
    stream.set_write_timeout(Some(HANG_LIMIT)).expect("write timeout");
    stream
}

/// Asserts that nobody accepts connections on `addr` any more.
#[track_caller]
fn assert_refused(addr: &str) {
    match TcpStream::connect(addr) {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
        other => panic!("connect {addr} after the stop signal: {other:?}, expected a refusal"),
    }
}

/// Writes `message` and reads it back.
#[track_caller]
fn round_trip(stream: &mut impl ReadWrite, message: &[u8]) {
    stream.write_all(message).expect("write");
    let mut echoed = vec![0u8; message.len()];
    stream.read_exact(&mut echoed).expect("read the echo");
    assert_eq!(echoed, message);
}

/// Reads until EOF; asserts EOF comes (within the read timeout) and returns what came first.
#[track_caller]
fn read_to_eof(stream: &mut impl Read) -> Vec<u8> {
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).expect("read until the server closes");
    rest
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// One HTTP/1.1 response: its head (status line and headers) and its body (as long as its
/// `Content-Length` says; a `1xx` response has none).
fn read_response(stream: &mut impl Read) -> (String, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!(
                "reading a response head: {other:?} after {:?}",
                String::from_utf8_lossy(&head)
            ),
        }
    }
    let head = String::from_utf8(head).expect("an ASCII head");
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.trim().parse::<usize>().expect("a Content-Length"));
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("read the body");
    (head, body)
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// Asserts that the `http` example's answer comes on `stream`.
#[track_caller]
fn expect_hello(stream: &mut TcpStream) {
    let (head, body) = read_response(stream);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"Hello, World!");
}

/// echo: a round trip; then, on SIGTERM, new connections are refused while the open one is
/// still echoed, and once it closes the program exits 0 with nothing cut.
#[test]
fn echo_serves_the_open_connection_after_sigterm() {
    let _watchdog = watchdog("echo_serves_the_open_connection_after_sigterm");
    let mut server = Example::start("echo", &["127.0.0.1:0"], &[]);
    let addr = server.listening_on();
    let mut conn = connect(&addr);
    // Echoed: so accepted, and in flight when the signal comes.
    round_trip(&mut conn, b"hello");
    server.signal(libc::SIGTERM);
    let open = server.wait_for_line("echo: SIGTERM: stopped accepting; ");
    assert_eq!(open, "1 connections open");
    assert_refused(&addr);
    round_trip(&mut conn, b"still served after the signal");
    drop(conn);
    server.expect_clean_exit("echo: shut down (0 connections cut)");
}

/// http on the multi-thread runtime, its address from `ADDR`: a request whose body is still
/// arriving when SIGTERM comes is answered once the rest arrives; then the server closes the
/// connection and exits 0.
#[test]
fn http_finishes_a_request_in_flight_after_sigterm() {
    let _watchdog = watchdog("http_finishes_a_request_in_flight_after_sigterm");
    let mut server = Example::start("http", &["--threads", "2"], &[("ADDR", "127.0.0.1:0")]);
    let addr = server.listening_on();
    let mut conn = connect(&addr);
    conn.write_all(GET).expect("write");
    expect_hello(&mut conn);
    // Half a request: its head and 5 of its 10 body bytes.
    conn.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
        .expect("write");
    server.signal(libc::SIGTERM);
    server.wait_for_line("http: SIGTERM: stopped accepting");
    assert_refused(&addr);
    conn.write_all(b"world").expect("write the rest of the body");
    expect_hello(&mut conn);
    assert_eq!(read_to_eof(&mut conn), b"", "closed after the request in flight");
    // (The server waits for our FIN before it lets the connection go.)
    drop(conn);
    server.expect_clean_exit("http: shut down (0 connections cut)");
}

/// chat: two clients see each other's lines; on Ctrl-C (SIGINT) both get the goodbye line,
/// then EOF, and the program exits 0.
#[test]
fn chat_says_goodbye_to_every_client_on_sigint() {
    let _watchdog = watchdog("chat_says_goodbye_to_every_client_on_sigint");
    let mut server = Example::start("chat", &["127.0.0.1:0"], &[]);
    let addr = server.listening_on();
    let a = connect(&addr);
    let mut a_lines = BufReader::new(a.try_clone().expect("clone"));
    let mut line = String::new();
    let mut next_line = |reader: &mut BufReader<TcpStream>| {
        line.clear();
        reader.read_line(&mut line).expect("read a line");
        line.clone()
    };
    assert_eq!(next_line(&mut a_lines), "welcome to the chat\n");
    let b = connect(&addr);
    let mut b_lines = BufReader::new(b.try_clone().expect("clone"));
    assert_eq!(next_line(&mut b_lines), "welcome to the chat\n");
    let (a_addr, b_addr) = (a.local_addr().expect("addr"), b.local_addr().expect("addr"));
    // Both are in the room once `a` hears `b` join.
    assert_eq!(next_line(&mut a_lines), format!("[{b_addr}] joined\n"));
    (&a).write_all(b"hello from a\n").expect("write");
    assert_eq!(next_line(&mut b_lines), format!("[{a_addr}] hello from a\n"));
    (&b).write_all(b"and from b\n").expect("write");
    assert_eq!(next_line(&mut a_lines), format!("[{b_addr}] and from b\n"));

    server.signal(libc::SIGINT);
    for (who, reader) in [("a", &mut a_lines), ("b", &mut b_lines)] {
        let rest = String::from_utf8(read_to_eof(reader)).expect("utf-8");
        assert!(rest.ends_with(chat::GOODBYE), "{who} got {rest:?}, not the goodbye last");
    }
    drop((a, b, a_lines, b_lines));
    server.wait_for_line("chat: SIGINT: stopped accepting");
    assert_refused(&addr);
    server.expect_clean_exit("chat: shut down (0 clients cut)");
}

/// A one-connection echo server on a std thread: the upstream of the proxy tests.
fn upstream_echo() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
    let addr = listener.local_addr().expect("addr").to_string();
    thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else { return };
        let _ = conn.set_read_timeout(Some(HANG_LIMIT));
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if conn.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
    addr
}

/// proxy: a round trip through it to an echo server; on SIGTERM new connections are refused,
/// the relayed one goes on, a half-close passes through both ways, and the program exits 0.
#[test]
fn proxy_finishes_the_relayed_connection_after_sigterm() {
    let _watchdog = watchdog("proxy_finishes_the_relayed_connection_after_sigterm");
    let upstream = upstream_echo();
    let mut server = Example::start("proxy", &["127.0.0.1:0", &upstream], &[]);
    let addr = server.listening_on();
    let mut conn = connect(&addr);
    round_trip(&mut conn, b"hello");
    server.signal(libc::SIGTERM);
    let open = server.wait_for_line("proxy: SIGTERM: stopped accepting; ");
    assert_eq!(open, "1 connections open");
    assert_refused(&addr);
    round_trip(&mut conn, b" again");
    // Our FIN goes upstream, whose close comes back: the relay is over.
    conn.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(read_to_eof(&mut conn), b"");
    server.wait_for_line(&format!(
        "proxy: {}: 11 bytes up, 11 bytes down",
        conn.local_addr().unwrap()
    ));
    server.expect_clean_exit("proxy: shut down (0 connections cut)");
}

/// udp_echo, its address from `ADDR`: datagrams come back; on SIGTERM it stops receiving and
/// exits 0.
#[test]
fn udp_echo_answers_then_stops_on_sigterm() {
    let _watchdog = watchdog("udp_echo_answers_then_stops_on_sigterm");
    let mut server = Example::start("udp_echo", &[], &[("ADDR", "127.0.0.1:0")]);
    let addr = server.listening_on();
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(HANG_LIMIT)).expect("timeout");
    socket.connect(&addr).expect("connect");
    let mut buf = [0u8; 64];
    for i in 0..8 {
        let datagram = format!("datagram {i}");
        socket.send(datagram.as_bytes()).expect("send");
        let n = socket.recv(&mut buf).expect("the echo");
        assert_eq!(&buf[..n], datagram.as_bytes());
    }
    server.signal(libc::SIGTERM);
    server.wait_for_line("udp_echo: SIGTERM: stopped receiving");
    server.expect_clean_exit("udp_echo: shut down (0 tasks cut)");
}

/// A socket path of this test's own in the temp directory.
fn socket_path(test: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("minirt-examples-{}-{test}.sock", std::process::id()))
}

/// unix_echo on a path where an earlier run left its socket file: it takes the path over,
/// echoes, serves the open connection after SIGTERM, and removes its socket file on exit.
#[test]
fn unix_echo_serves_then_removes_its_socket_on_sigterm() {
    let _watchdog = watchdog("unix_echo_serves_then_removes_its_socket_on_sigterm");
    let path = socket_path("unix_echo");
    let _ = std::fs::remove_file(&path);
    // A stale socket file: bound, then closed, so nobody listens on it.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind a stale socket"));
    let path_str = path.to_str().expect("a UTF-8 path");
    let mut server = Example::start("unix_echo", &[path_str], &[]);
    assert_eq!(server.listening_on(), path_str);
    let mut conn = UnixStream::connect(&path).expect("connect");
    conn.set_read_timeout(Some(HANG_LIMIT)).expect("timeout");
    round_trip(&mut conn, b"hello");
    server.signal(libc::SIGTERM);
    let open = server.wait_for_line("unix_echo: SIGTERM: stopped accepting; ");
    assert_eq!(open, "1 connections open");
    assert!(UnixStream::connect(&path).is_err(), "nobody accepts any more");
    round_trip(&mut conn, b"still served after the signal");
    drop(conn);
    server.expect_clean_exit("unix_echo: shut down (0 connections cut)");
    assert!(!path.exists(), "the socket file is removed on exit");
}

/// reuseport, in the form `benches/load.sh` runs it (`ADDR THREADS`): several connections
/// served; on Ctrl-C every thread stops accepting, a request in flight is still answered, and
/// the program exits 0.
#[test]
fn reuseport_serves_on_every_thread_and_drains_on_sigint() {
    let _watchdog = watchdog("reuseport_serves_on_every_thread_and_drains_on_sigint");
    let mut server = Example::start("reuseport", &["127.0.0.1:0", "2"], &[]);
    let addr = server.listening_on();
    for _ in 0..8 {
        let mut conn = connect(&addr);
        conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
        expect_hello(&mut conn);
        assert_eq!(read_to_eof(&mut conn), b"");
    }
    let mut conn = connect(&addr);
    conn.write_all(GET).expect("write");
    expect_hello(&mut conn);
    conn.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab").expect("write");
    server.signal(libc::SIGINT);
    // One line per thread.
    server.wait_for_line("http: SIGINT: stopped accepting");
    server.wait_for_line("http: SIGINT: stopped accepting");
    assert_refused(&addr);
    conn.write_all(b"cd").expect("write the rest");
    expect_hello(&mut conn);
    assert_eq!(read_to_eof(&mut conn), b"");
    drop(conn);
    server.expect_clean_exit("reuseport: shut down (0 connections cut)");
}

/// An example's name, arguments, environment, and the signal that stops it.
type Case<'a> = (&'static str, &'a [&'a str], &'a [(&'a str, &'a str)], libc::c_int);

/// Every server example, signalled the moment its start-up line is read, exits 0 (before
/// the fix, SIGTERM could come before the example listened for it and kill it). Arguments and
/// `ADDR` vary over the examples.
#[test]
fn every_example_stops_at_once_after_its_start_up_line() {
    let _watchdog = watchdog("every_example_stops_at_once_after_its_start_up_line");
    let abstract_name = format!("@minirt-examples-{}", std::process::id());
    let cases: &[Case] = &[
        ("echo", &["127.0.0.1:0", "--threads", "2"], &[], libc::SIGTERM),
        ("echo", &[], &[("ADDR", "127.0.0.1:0")], libc::SIGINT),
        ("http", &["127.0.0.1:0", "--current-thread"], &[], libc::SIGINT),
        ("chat", &[], &[("ADDR", "127.0.0.1:0")], libc::SIGTERM),
        ("proxy", &[], &[("ADDR", "127.0.0.1:0"), ("UPSTREAM", "127.0.0.1:1")], libc::SIGTERM),
        ("udp_echo", &["127.0.0.1:0", "--threads", "2"], &[], libc::SIGINT),
        ("unix_echo", &[abstract_name.as_str()], &[], libc::SIGTERM),
        ("reuseport", &["127.0.0.1:0", "--threads", "3"], &[], libc::SIGTERM),
    ];
    for &(name, args, env, signum) in cases {
        let mut server = Example::start(name, args, env);
        server.listening_on();
        server.signal(signum);
        server.expect_clean_exit(&format!("{name}: shut down (0 "));
    }
}

/// A bad command line is an error: status 1, and no server.
#[test]
fn a_bad_command_line_exits_1() {
    let _watchdog = watchdog("a_bad_command_line_exits_1");
    let cases: [(&str, &[&str]); 4] = [
        ("echo", &["--bogus"]),
        ("http", &["127.0.0.1:0", "extra"]),
        ("proxy", &["127.0.0.1:0", "127.0.0.1:1", "extra"]),
        ("reuseport", &["127.0.0.1:0", "zero"]),
    ];
    for (name, args) in cases {
        let mut example = Example::start(name, args, &[]);
        let (status, stdout) = example.wait_exit();
        assert_eq!(status.code(), Some(1), "{name} {args:?}: {status:?}; stdout:\n{stdout}");
        assert!(example.stderr().contains("Error: "), "{name} {args:?}: {}", example.stderr());
        assert!(!stdout.contains("listening on"), "{name} {args:?} started: {stdout}");
    }
}

/// hyper_server: a request is answered; a request whose body is still to come when SIGTERM
/// arrives (hyper has asked for it with `100 Continue`) is answered once the body arrives;
/// then hyper closes the connection and the program exits 0.
#[cfg(feature = "hyper")]
#[test]
fn hyper_server_finishes_a_request_in_flight_after_sigterm() {
    let _watchdog = watchdog("hyper_server_finishes_a_request_in_flight_after_sigterm");
    let mut server = Example::start("hyper_server", &["127.0.0.1:0"], &[]);
    let addr = server.listening_on();
    let mut conn = connect(&addr);
    conn.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    let (head, body) = read_response(&mut conn);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"hello from minirt over HTTP/1.1: /hello (0 bytes)\n");
    conn.write_all(
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .expect("write");
    // hyper says `100 Continue` once the service reads the body: the request is in flight.
    let (head, _) = read_response(&mut conn);
    assert!(head.starts_with("HTTP/1.1 100 Continue\r\n"), "{head}");
    server.signal(libc::SIGTERM);
    let open = server.wait_for_line("hyper_server: SIGTERM: stopped accepting; ");
    assert_eq!(open, "1 connections open");
    assert_refused(&addr);
    conn.write_all(b"abcde").expect("write the body");
    let (head, body) = read_response(&mut conn);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"hello from minirt over HTTP/1.1: /upload (5 bytes)\n");
    assert_eq!(read_to_eof(&mut conn), b"", "closed after the request in flight");
    drop(conn);
    server.expect_clean_exit("hyper_server: shut down (0 connections cut)");
}

/// hyper_server, its address from `ADDR`, with an idle kept-alive connection: on SIGINT hyper
/// closes it at once, nothing is cut, and the program exits 0.
#[cfg(feature = "hyper")]
#[test]
fn hyper_server_closes_idle_connections_on_sigint() {
    let _watchdog = watchdog("hyper_server_closes_idle_connections_on_sigint");
    let mut server = Example::start("hyper_server", &[], &[("ADDR", "127.0.0.1:0")]);
    let addr = server.listening_on();
    let mut idle = connect(&addr);
    idle.write_all(b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    let (head, _) = read_response(&mut idle);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    server.signal(libc::SIGINT);
    server.wait_for_line("hyper_server: SIGINT: stopped accepting");
    assert_eq!(read_to_eof(&mut idle), b"", "the idle connection is closed");
    server.expect_clean_exit("hyper_server: shut down (0 connections cut)");
}
