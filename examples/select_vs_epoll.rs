//! The cost of one wake-up with `select`, `poll` and `epoll`, among N idle connections and one
//! active one: the claim behind every event loop ("select and poll scan every fd each call,
//! epoll hands back only the ready ones"), measured.
//!
//! ```text
//! cargo run --release --example select_vs_epoll               # table, and target/select_vs_epoll.csv
//! cargo run --release --example select_vs_epoll -- out.csv    # the CSV somewhere else
//! cargo run --release --example plot_select_vs_epoll          # the CSV as an SVG plot
//! ```
//!
//! For each N (10 … 10,000, bounded by `RLIMIT_NOFILE`, which is first raised to its hard
//! limit), the program opens N + 1 TCP connections over 127.0.0.1 (2 fds each). The last one is
//! the active one: each round writes one byte into it, asks the kernel which of the N + 1
//! server-side fds is readable, and reads the byte back. The time of that one call is the cost
//! of one wake-up:
//!
//! - `select`: the fd_set is rebuilt (it is overwritten by every call) and the kernel scans
//!   every bit up to the highest fd; only for fds below `FD_SETSIZE` (1024), so only for small N;
//! - `poll`: the same pollfd array every time, and the kernel still polls each of the N + 1;
//! - `epoll_wait`: the fds were registered once (the red-black tree of interest); the byte's
//!   arrival put the one socket on the ready list (`rdlist`), and that list is all the call
//!   reads.
//!
//! Everything is bounded: a fixed number of rounds per N, on loopback only, done in seconds.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

const SIZES: [usize; 7] = [10, 100, 500, 1_000, 2_000, 5_000, 10_000];

/// Rounds per (N, mechanism); fewer for big N, where one `poll` costs the most.
fn rounds(n: usize) -> usize {
    if n <= 1_000 {
        2_000
    } else {
        400
    }
}

fn main() -> io::Result<()> {
    let csv_path = std::env::args().nth(1).unwrap_or_else(|| "target/select_vs_epoll.csv".into());
    let limit = raise_nofile_limit();
    // 2 fds per connection, and some headroom for the runtime, the listener, stdio.
    let max_n = (limit.saturating_sub(64) / 2).saturating_sub(1) as usize;
    println!("RLIMIT_NOFILE {limit}: N up to {max_n}; FD_SETSIZE {}", libc::FD_SETSIZE);
    println!();
    println!("{:>7} {:>14} {:>14} {:>14}", "N idle", "select ns", "poll ns", "epoll ns");

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut rows = Vec::new();
    // Connections are kept between sizes and only topped up: N grows from one row to the next.
    let mut idle: Vec<(TcpStream, TcpStream)> = Vec::new();
    // Sizes over the fd limit are replaced by the largest N that fits.
    let mut sizes: Vec<usize> = SIZES.iter().map(|&n| n.min(max_n)).collect();
    sizes.dedup();
    for n in sizes {
        while idle.len() < n {
            let client = TcpStream::connect(addr)?;
            let (server, _) = listener.accept()?;
            idle.push((client, server));
        }
        // The active connection is opened last, so its server fd is the highest.
        let mut active_client = TcpStream::connect(addr)?;
        let (active_server, _) = listener.accept()?;
        active_client.set_nodelay(true)?;
        let mut server_fds: Vec<RawFd> = idle.iter().map(|(_, s)| s.as_raw_fd()).collect();
        server_fds.push(active_server.as_raw_fd());
        let rounds = rounds(n);

        let select_ns = if server_fds.iter().all(|&fd| (fd as usize) < libc::FD_SETSIZE) {
            Some(measure(rounds, &mut active_client, &active_server, || select_once(&server_fds)))
        } else {
            None
        };
        let mut pollfds: Vec<libc::pollfd> = server_fds
            .iter()
            .map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 })
            .collect();
        let poll_ns =
            measure(rounds, &mut active_client, &active_server, || poll_once(&mut pollfds));
        let epoll = Epoll::new(&server_fds)?;
        let epoll_ns = measure(rounds, &mut active_client, &active_server, || epoll.wait_one());
        drop(epoll);

        let select_text = select_ns.map_or("-".to_string(), |ns| format!("{ns:.0}"));
        println!("{n:>7} {select_text:>14} {poll_ns:>14.0} {epoll_ns:>14.0}");
        rows.push((n, select_ns, poll_ns, epoll_ns));
    }

    let mut csv = String::from("n_idle,select_ns,poll_ns,epoll_ns\n");
    for (n, select_ns, poll_ns, epoll_ns) in &rows {
        let select_text = select_ns.map_or(String::new(), |ns| format!("{ns:.1}"));
        csv.push_str(&format!("{n},{select_text},{poll_ns:.1},{epoll_ns:.1}\n"));
    }
    if let Some(dir) = std::path::Path::new(&csv_path).parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(&csv_path, csv)?;
    println!();
    println!("wrote {csv_path}");
    Ok(())
}

/// Median nanoseconds of `wait` (which must find the active fd readable), over `rounds` rounds
/// of: write a byte into the active connection, time `wait`, read the byte back.
fn measure(
    rounds: usize,
    client: &mut TcpStream,
    server: &TcpStream,
    mut wait: impl FnMut() -> usize,
) -> f64 {
    let mut times = Vec::with_capacity(rounds);
    let mut byte = [0u8; 1];
    // The first rounds warm the caches and are not counted.
    for round in 0..rounds + rounds / 10 {
        client.write_all(b"x").expect("write to the active connection");
        let start = Instant::now();
        let ready = wait();
        let elapsed = start.elapsed();
        if round >= rounds / 10 {
            times.push(elapsed);
        }
        assert_eq!(ready, 1, "exactly the active connection is readable");
        (&*server).read_exact(&mut byte).expect("read the byte back");
    }
    // The median: the machine is shared, and a preempted round says nothing about the call.
    times.sort_unstable();
    times[times.len() / 2].as_nanos() as f64
}

/// One `select` call over `fds` (rebuilding the set, as a select loop must), blocking until
/// one is readable. Returns how many are.
fn select_once(fds: &[RawFd]) -> usize {
    // SAFETY: an all-zero fd_set is a valid, empty set.
    let mut set: libc::fd_set = unsafe { std::mem::zeroed() };
    let mut max = 0;
    for &fd in fds {
        // SAFETY: fd < FD_SETSIZE (checked by the caller); `set` is a valid fd_set.
        unsafe { libc::FD_SET(fd, &mut set) };
        max = max.max(fd);
    }
    // SAFETY: `set` is valid for the call; no write or except sets, no timeout (the active
    // fd is already readable).
    let n = unsafe {
        libc::select(
            max + 1,
            &mut set,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert!(n >= 0, "select: {}", io::Error::last_os_error());
    n as usize
}

/// One `poll` call over the whole array, blocking until one is readable.
fn poll_once(fds: &mut [libc::pollfd]) -> usize {
    // SAFETY: `fds` is a valid, writable array of the length passed.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
    assert!(n >= 0, "poll: {}", io::Error::last_os_error());
    n as usize
}

/// An epoll instance with every fd registered once (level-triggered: the byte is read back
/// after each round, so the next write is a new arrival either way).
struct Epoll(OwnedFd);

impl Epoll {
    fn new(fds: &[RawFd]) -> io::Result<Epoll> {
        // SAFETY: no pointers; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh fd that nothing else owns.
        let epoll = Epoll(unsafe { OwnedFd::from_raw_fd(fd) });
        for &fd in fds {
            let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: fd as u64 };
            // SAFETY: `event` is valid for the call.
            let ret = unsafe {
                libc::epoll_ctl(epoll.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event)
            };
            if ret < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(epoll)
    }

    fn wait_one(&self) -> usize {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 16];
        // SAFETY: `events` is a valid, writable array of the length passed.
        let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), 16, -1) };
        assert!(n >= 0, "epoll_wait: {}", io::Error::last_os_error());
        n as usize
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit in force.
fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is valid for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
    // SAFETY: `raised` is a valid rlimit; raising the soft limit to the hard one is allowed.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        limit.rlim_max
    } else {
        limit.rlim_cur
    }
}
