//! The same echo service written five ways, under the same load, side by side: what each way
//! of waiting for a socket costs in throughput, memory and threads.
//!
//! ```text
//! cargo run --release --example blocking_models                 # 10 and 1,000 connections
//! cargo run --release --example blocking_models -- 10 100 2     # connection counts..., seconds last
//! ```
//!
//! The five servers (each runs in a child process of its own, so that its memory and threads
//! are counted alone):
//!
//! - `thread`: synchronous blocking I/O, one OS thread per connection. A blocked `read` puts
//!   the thread to sleep (state S) on the socket's wait queue; the kernel schedules it again
//!   when bytes arrive.
//! - `fork`: the classic multi-process server: `accept`, then `fork` a child per connection
//!   (the children are reaped by `SIGCHLD` = ignore). The same blocking code, with a whole
//!   process per connection.
//! - `spin`: synchronous non-blocking polling: one thread, non-blocking sockets, and a loop
//!   that tries `accept` and every connection's `read` over and over, `EAGAIN` after
//!   `EAGAIN`. It never sleeps: it burns its core whether or not anything arrives.
//! - `epoll`: I/O multiplexing by hand: one thread, non-blocking sockets, one level-triggered
//!   `epoll_wait` loop; the thread blocks only in `epoll_wait`.
//! - `minirt`: the same loop, written as async tasks (one per connection) on minirt's
//!   current-thread runtime: edge-triggered epoll, wakers, a run queue.
//!
//! The load (the logic of `examples/loadgen.rs`, in this process): C client threads, each
//! sending 64 bytes and reading the echo back, in a closed loop, for a fixed time, over
//! 127.0.0.1. The clock starts once every connection has been served once. Memory is the proportional set size (PSS, from `/proc/PID/smaps_rollup`) summed
//! over the server's processes, so the pages a forked child shares with its parent are counted
//! once; sampled while the load runs. Everything is bounded: a fixed duration, then the server
//! is killed (its forked children die with it: `PR_SET_PDEATHSIG`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const MODELS: [&str; 5] = ["thread", "fork", "spin", "epoll", "minirt"];
const MESSAGE: usize = 64;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return serve(args.get(1).map(String::as_str).unwrap_or("thread"));
    }
    let mut numbers: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let seconds = if numbers.len() >= 2 { numbers.pop().unwrap_or(2) } else { 2 };
    let counts: Vec<usize> = if numbers.is_empty() {
        vec![10, 1_000]
    } else {
        numbers.iter().map(|&n| n as usize).collect()
    };
    raise_nofile_limit();

    println!(
        "{:>7} {:>6} {:>14} {:>10} {:>8} {:>10}",
        "model", "conns", "round trips/s", "PSS MiB", "threads", "processes"
    );
    for &connections in &counts {
        for model in MODELS {
            let mut server = Server::start(model)?;
            let result = load(&server.addr, connections, Duration::from_secs(seconds), server.pid);
            server.stop();
            match result {
                Ok(r) => println!(
                    "{model:>7} {connections:>6} {:>14.0} {:>10.1} {:>8} {:>10}",
                    r.rate,
                    r.pss_kib as f64 / 1024.0,
                    r.threads,
                    r.processes
                ),
                Err(e) => println!("{model:>7} {connections:>6} failed: {e}"),
            }
        }
    }
    Ok(())
}

/// A server child process: `current_exe --serve MODEL`, which prints its address.
struct Server {
    child: Child,
    pid: u32,
    addr: String,
}

impl Server {
    fn start(model: &str) -> io::Result<Server> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--serve", model])
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let pid = child.id();
        Ok(Server { child, pid, addr: line.trim().to_string() })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Measured {
    rate: f64,
    pss_kib: u64,
    threads: u64,
    processes: u64,
}

/// Runs `connections` closed-loop clients for `duration` against `addr`, sampling the
/// server's memory and threads half-way through.
fn load(addr: &str, connections: usize, duration: Duration, server: u32) -> io::Result<Measured> {
    let start = Arc::new(Barrier::new(connections + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (addr, start, stop, count) =
            (addr.to_string(), start.clone(), stop.clone(), count.clone());
        clients.push(thread::Builder::new().stack_size(64 * 1024).spawn(
            move || -> io::Result<()> {
                let message = [7u8; MESSAGE];
                let mut echo = [0u8; MESSAGE];
                // Connected and served once before the clock starts: a slow accept (a fork
                // per connection) is set-up, not throughput.
                let first = (|| {
                    let mut stream = TcpStream::connect(&addr)?;
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
                    stream.write_all(&message)?;
                    stream.read_exact(&mut echo)?;
                    Ok::<_, io::Error>(stream)
                })();
                start.wait(); // reached even on error, so nobody waits forever
                let mut stream = first?;
                while !stop.load(Ordering::Relaxed) {
                    stream.write_all(&message)?;
                    stream.read_exact(&mut echo)?;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            },
        )?);
    }
    start.wait();
    let began = Instant::now();
    count.store(0, Ordering::Relaxed);
    thread::sleep(duration / 2);
    let (pss_kib, threads, processes) = sample(server);
    thread::sleep(duration.saturating_sub(began.elapsed()));
    let done = count.load(Ordering::Relaxed);
    let elapsed = began.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut first_error = None;
    for client in clients {
        if let Ok(Err(e)) = client.join() {
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(Measured { rate: done as f64 / elapsed.as_secs_f64(), pss_kib, threads, processes })
}

/// PSS (KiB) and threads summed over `pid` and its children, and how many processes.
fn sample(pid: u32) -> (u64, u64, u64) {
    let mut pids = vec![pid];
    // Children of every thread of `pid` (a fork server's children are its main thread's).
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let path = task.path().join("children");
            if let Ok(children) = std::fs::read_to_string(path) {
                pids.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            }
        }
    }
    let (mut pss, mut threads) = (0, 0);
    for &p in &pids {
        pss += field(&format!("/proc/{p}/smaps_rollup"), "Pss:");
        threads += field(&format!("/proc/{p}/status"), "Threads:");
    }
    (pss, threads, pids.len() as u64)
}

/// The first number after `name` in the file at `path`, or 0.
fn field(path: &str, name: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

// ---- the five servers --------------------------------------------------------------------

fn serve(model: &str) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?);
    io::stdout().flush()?;
    match model {
        "thread" => serve_threads(listener),
        "fork" => serve_fork(listener),
        "spin" => serve_spin(listener),
        "epoll" => serve_epoll(listener),
        _ => serve_minirt(listener),
    }
}

/// Blocking echo of one connection until EOF or an error.
fn echo_blocking(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn serve_threads(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept()?;
        thread::Builder::new().stack_size(64 * 1024).spawn(move || echo_blocking(stream))?;
    }
}

fn serve_fork(listener: TcpListener) -> io::Result<()> {
    // SAFETY: setting SIGCHLD's disposition to "ignore" is always valid; it makes the kernel
    // reap the children, so none is left a zombie.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    loop {
        let (stream, _) = listener.accept()?;
        // SAFETY: this process has a single thread (the main one), so the child starts with a
        // consistent copy of everything; it only does blocking socket I/O and `_exit`s.
        match unsafe { libc::fork() } {
            -1 => {
                let e = io::Error::last_os_error();
                eprintln!("fork: {e}");
                return Err(e);
            }
            0 => {
                // SAFETY: prctl with an integer argument; the child dies with the server.
                unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
                drop(listener);
                echo_blocking(stream);
                // SAFETY: ends the child without running the parent's atexit handlers.
                unsafe { libc::_exit(0) }
            }
            _ => drop(stream), // the child has its own copy of the fd
        }
    }
}

fn serve_spin(listener: TcpListener) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut conns: Vec<TcpStream> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Ok((stream, _)) = listener.accept() {
            stream.set_nonblocking(true)?;
            stream.set_nodelay(true)?;
            conns.push(stream);
        }
        conns.retain_mut(|stream| match stream.read(&mut buf) {
            Ok(0) => false,
            // A 64-byte echo fits the send buffer; a real server would keep what did not.
            Ok(n) => write_all_spinning(stream, &buf[..n]).is_ok(),
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        });
    }
}

/// `write_all` on a non-blocking socket by retrying on `EAGAIN` (the polling style again).
fn write_all_spinning(stream: &mut TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match stream.write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::yield_now(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn serve_epoll(listener: TcpListener) -> io::Result<()> {
    use std::collections::HashMap;
    listener.set_nonblocking(true)?;
    // SAFETY: no pointers; checked below.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        return Err(io::Error::last_os_error());
    }
    let ctl = |op: libc::c_int, fd: RawFd, events: libc::c_int| {
        let mut event = libc::epoll_event { events: events as u32, u64: fd as u64 };
        // SAFETY: `event` is valid for the call.
        unsafe { libc::epoll_ctl(epfd, op, fd, &mut event) };
    };
    ctl(libc::EPOLL_CTL_ADD, listener.as_raw_fd(), libc::EPOLLIN);
    // Per connection: the stream, and bytes read but not yet written back.
    let mut conns: HashMap<RawFd, (TcpStream, Vec<u8>)> = HashMap::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `events` is a valid, writable array of the length passed.
        let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            continue; // EINTR
        }
        for event in &events[..n as usize] {
            let fd = event.u64 as RawFd;
            if fd == listener.as_raw_fd() {
                while let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true)?;
                    stream.set_nodelay(true)?;
                    ctl(libc::EPOLL_CTL_ADD, stream.as_raw_fd(), libc::EPOLLIN);
                    conns.insert(stream.as_raw_fd(), (stream, Vec::new()));
                }
                continue;
            }
            let Some((stream, pending)) = conns.get_mut(&fd) else { continue };
            let mut closed = false;
            if pending.is_empty() {
                match stream.read(&mut buf) {
                    Ok(0) => closed = true,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => closed = true,
                }
            }
            while !closed && !pending.is_empty() {
                match stream.write(pending) {
                    Ok(n) => drop(pending.drain(..n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => closed = true,
                }
            }
            if closed {
                conns.remove(&fd); // closing the fd removes it from the epoll set
            } else {
                // Wait for room to write while bytes are pending, else for more to read.
                let want = if pending.is_empty() { libc::EPOLLIN } else { libc::EPOLLOUT };
                if want != libc::EPOLLIN || event.events & libc::EPOLLOUT as u32 != 0 {
                    ctl(libc::EPOLL_CTL_MOD, fd, want);
                }
            }
        }
    }
}

fn serve_minirt(listener: TcpListener) -> io::Result<()> {
    use minirt::io::{AsyncReadExt, AsyncWriteExt};
    let rt = minirt::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = minirt::net::TcpListener::from_std(listener)?;
        loop {
            let (mut stream, _) = listener.accept().await?;
            minirt::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut buf = [0u8; 4096];
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, io::Error>(());
                    }
                    stream.write_all(&buf[..n]).await?;
                }
            });
        }
    })
}

fn raise_nofile_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is valid for getrlimit to fill, and then a valid rlimit to set.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
