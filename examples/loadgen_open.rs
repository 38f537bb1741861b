//! An open-loop (constant-rate) load generator for echo, HTTP and RESP servers, and its
//! closed-loop twin for finding a server's saturation rate. Built on neither runtime: one
//! thread, non-blocking std sockets and `ppoll`, so it cannot favour minirt or tokio.
//!
//! ```text
//! cargo build --release --example loadgen_open
//! loadgen_open PROTO ADDR [--rate R | --closed] [--connections C] [--seconds S] [--warmup W]
//!   PROTO  echo (64-byte messages, --bytes N), http (GET / keep-alive), resp (SET k xxx)
//! loadgen_open echo 127.0.0.1:7000 --rate 20000 --connections 50 --seconds 10
//! benches/latency.sh    # every server at 25/50/90 % of its saturation rate
//! ```
//!
//! **Open loop** (`--rate R`): request `k` is *scheduled* at `k / R` seconds after the start, on
//! connection `k mod C`, and sent as soon as that time has come, whether or not the answers to
//! the earlier ones have arrived (they queue on the connection, pipelined, as a real client's
//! would). Its latency is measured from the scheduled time to the arrival of the last byte of
//! its answer, so a server that stalls for 10 ms is charged the 10 ms by every request scheduled
//! during the stall, not only by the one it held up ("coordinated omission": a closed-loop
//! client waits for the answer before it sends the next request, and so never asks during a
//! stall). The generator's own delay, from the scheduled time to the `write`, is reported apart
//! as *send lateness*: when its p99 is not small next to the latency, the machine (not the
//! server) is the limit of the run.
//!
//! **Closed loop** (`--closed`): every connection keeps one request outstanding and sends the
//! next when the answer arrives; the rate is the saturation rate for C connections, and the
//! latency is from the send.
//!
//! The run is bounded: W seconds of warm-up (answered, not recorded), S seconds recorded, then
//! at most 2 s for the answers still outstanding (the rest are reported as lost). Prints a
//! summary and one `RESULT key=value ...` line for scripts. Exits with status 1 if a connection
//! fails or an answer is malformed.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq)]
enum Proto {
    Echo,
    Http,
    Resp,
}

struct Options {
    proto: Proto,
    addr: String,
    /// Requests per second over all connections; `None`: closed loop.
    rate: Option<u64>,
    connections: usize,
    seconds: u64,
    warmup: u64,
    bytes: usize,
}

const USAGE: &str = "usage: loadgen_open echo|http|resp ADDR [--rate R | --closed] \
                     [--connections C] [--seconds S] [--warmup W] [--bytes N]";

/// At most this many requests in one run, so that a typo in `--rate` cannot fill the memory.
const MAX_REQUESTS: u64 = 50_000_000;
/// How long the answers still outstanding at the end are waited for.
const DRAIN: Duration = Duration::from_secs(2);

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let proto = match args.next().as_deref() {
        Some("echo") => Proto::Echo,
        Some("http") => Proto::Http,
        Some("resp") => Proto::Resp,
        other => return Err(format!("PROTO is echo, http or resp, not {other:?}")),
    };
    let addr = args.next().ok_or("ADDR is missing")?;
    let mut options =
        Options { proto, addr, rate: None, connections: 50, seconds: 10, warmup: 1, bytes: 64 };
    let mut closed = false;
    while let Some(flag) = args.next() {
        if flag == "--closed" {
            closed = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u64 =
            value.parse().map_err(|_| format!("{flag} needs a number, got {value:?}"))?;
        match flag.as_str() {
            "--rate" => options.rate = Some(number.max(1)),
            "--connections" => options.connections = number.max(1) as usize,
            "--seconds" => options.seconds = number.max(1),
            "--warmup" => options.warmup = number,
            "--bytes" => options.bytes = number.max(1) as usize,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    match (options.rate, closed) {
        (Some(_), true) => return Err("--rate and --closed exclude each other".into()),
        (None, false) => return Err("say --rate R (open loop) or --closed".into()),
        (Some(rate), false)
            if rate.saturating_mul(options.seconds + options.warmup) > MAX_REQUESTS =>
        {
            return Err(format!("more than {MAX_REQUESTS} requests in one run"))
        }
        _ => {}
    }
    Ok(options)
}

/// The request a connection sends, again and again.
fn request(options: &Options, connection: usize) -> Vec<u8> {
    match options.proto {
        Proto::Echo => (0..options.bytes).map(|i| (i % 251) as u8).collect(),
        Proto::Http => b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
        // redis-benchmark's SET: a 16-byte key (one per connection) and a 3-byte value.
        Proto::Resp => {
            format!("*3\r\n$3\r\nSET\r\n$16\r\nkey:{connection:012}\r\n$3\r\nxxx\r\n").into_bytes()
        }
    }
}

/// The length of the first complete answer in `buf`, and whether it is a success; `Ok(None)`
/// while it is incomplete.
fn parse_answer(proto: Proto, request: &[u8], buf: &[u8]) -> Result<Option<(usize, bool)>, String> {
    match proto {
        Proto::Echo => {
            Ok((buf.len() >= request.len())
                .then(|| (request.len(), buf[..request.len()] == *request)))
        }
        Proto::Http => {
            let Some(head_end) = find(buf, b"\r\n\r\n") else {
                return if buf.len() > 8192 {
                    Err("an HTTP head over 8 KiB".into())
                } else {
                    Ok(None)
                };
            };
            let head = std::str::from_utf8(&buf[..head_end])
                .map_err(|_| "an HTTP head that is not UTF-8".to_string())?;
            let ok = head.starts_with("HTTP/1.1 200 ") || head.starts_with("HTTP/1.0 200 ");
            let mut length = 0;
            for line in head.split("\r\n").skip(1) {
                if let Some((name, value)) = line.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("content-length") {
                        length = value
                            .trim()
                            .parse()
                            .map_err(|_| format!("a Content-Length of {value:?}"))?;
                    }
                }
            }
            let total = head_end + 4 + length;
            Ok((buf.len() >= total).then_some((total, ok)))
        }
        Proto::Resp => {
            let Some(line_end) = find(buf, b"\r\n") else { return Ok(None) };
            match buf[0] {
                b'+' | b':' => Ok(Some((line_end + 2, true))),
                b'-' => Ok(Some((line_end + 2, false))),
                b'$' => {
                    let length: i64 = std::str::from_utf8(&buf[1..line_end])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or("a malformed RESP bulk length")?;
                    let total = line_end + 2 + if length < 0 { 0 } else { length as usize + 2 };
                    Ok((buf.len() >= total).then_some((total, true)))
                }
                other => Err(format!("a RESP answer starting with {:?}", other as char)),
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One connection: what is still to be written, what has arrived but is not yet a whole
/// answer, and when each request waiting for its answer was scheduled.
struct Conn {
    stream: TcpStream,
    request: Vec<u8>,
    out: Vec<u8>,
    written: usize,
    input: Vec<u8>,
    waiting: VecDeque<u64>,
}

impl Conn {
    fn open(addr: &str, request: Vec<u8>) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("connecting to {addr}: {e}")))?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        Ok(Conn {
            stream,
            request,
            out: Vec::new(),
            written: 0,
            input: Vec::new(),
            waiting: VecDeque::new(),
        })
    }

    /// Queues one request scheduled at `scheduled` (ns on the run's clock) and writes what it can.
    fn send(&mut self, scheduled: u64) -> io::Result<()> {
        self.out.extend_from_slice(&self.request);
        self.waiting.push_back(scheduled);
        self.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("write: {e}"))),
            }
        }
        self.out.clear();
        self.written = 0;
        Ok(())
    }

    /// Reads what has arrived; returns the scheduled times of the answers completed, each with
    /// whether it was a success.
    fn receive(&mut self, proto: Proto, scratch: &mut [u8]) -> io::Result<Vec<(u64, bool)>> {
        loop {
            match self.stream.read(scratch) {
                Ok(0) => {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed"))
                }
                Ok(n) => self.input.extend_from_slice(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("read: {e}"))),
            }
        }
        let mut done = Vec::new();
        let mut start = 0;
        while start < self.input.len() {
            let answer = parse_answer(proto, &self.request, &self.input[start..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let Some((length, ok)) = answer else { break };
            let scheduled = self.waiting.pop_front().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "an answer to no request")
            })?;
            done.push((scheduled, ok));
            start += length;
        }
        self.input.drain(..start);
        Ok(done)
    }
}

/// Waits until one of `fds` is ready or `timeout` has passed.
fn wait(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<()> {
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `fds` is a live, exclusively borrowed array of `fds.len()` pollfds, `timeout`
    // outlives the call, and a null signal mask leaves the mask alone.
    let n = unsafe {
        libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, &timeout, std::ptr::null())
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(io::Error::new(e.kind(), format!("ppoll: {e}")));
        }
    }
    Ok(())
}

/// What a run recorded.
#[derive(Default)]
struct Record {
    /// Latency of each answer to a request scheduled after the warm-up, in ns.
    latency: Vec<u64>,
    /// Scheduled time to `write`, for the same requests, in ns.
    lateness: Vec<u64>,
    sent: u64,
    errors: u64,
    /// Answers that arrived within the recorded seconds (whenever they were scheduled): the
    /// rate the server delivered.
    in_window: u64,
}

fn run(options: &Options) -> io::Result<(Record, u64)> {
    // The kernel delays a sleeping thread's wake-up by its timer slack (50 µs by default): that
    // would be the generator's lateness, charged to the server. Ask for 1 ns.
    // SAFETY: PR_SET_TIMERSLACK takes a number and touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    let mut conns = (0..options.connections)
        .map(|i| Conn::open(&options.addr, request(options, i)))
        .collect::<io::Result<Vec<_>>>()?;
    let mut fds: Vec<libc::pollfd> = conns
        .iter()
        .map(|c| libc::pollfd { fd: c.stream.as_raw_fd(), events: libc::POLLIN, revents: 0 })
        .collect();
    let mut scratch = vec![0u8; 64 * 1024];
    let mut record = Record::default();

    let clock = Instant::now();
    let now = || clock.elapsed().as_nanos() as u64;
    let warm_end = options.warmup * 1_000_000_000;
    let send_end = warm_end + options.seconds * 1_000_000_000;
    let drain_end = send_end + DRAIN.as_nanos() as u64;
    // Open loop: the next request's index and the number in the run.
    let total = options.rate.map_or(0, |rate| rate * (options.warmup + options.seconds));
    let scheduled_at =
        |k: u64| options.rate.map_or(0, |rate| (k as u128 * 1_000_000_000 / rate as u128) as u64);
    let mut next = 0u64;
    if options.rate.is_none() {
        for conn in &mut conns {
            conn.send(0)?;
        }
    }
    let outstanding = |conns: &[Conn]| conns.iter().map(|c| c.waiting.len()).sum::<usize>();
    loop {
        let t = now();
        if options.rate.is_some() {
            while next < total && scheduled_at(next) <= t {
                let scheduled = scheduled_at(next);
                conns[(next % options.connections as u64) as usize].send(scheduled)?;
                if scheduled >= warm_end {
                    record.lateness.push(now() - scheduled);
                    record.sent += 1;
                }
                next += 1;
            }
            if next == total && outstanding(&conns) == 0 {
                break;
            }
        } else if t >= send_end {
            break;
        }
        if t >= drain_end {
            break;
        }
        let timeout = match options.rate {
            Some(_) if next < total => scheduled_at(next).saturating_sub(t),
            _ => drain_end.min(send_end.max(t + 1_000_000)) - t,
        };
        for (fd, conn) in fds.iter_mut().zip(&conns) {
            fd.events = libc::POLLIN | if conn.out.is_empty() { 0 } else { libc::POLLOUT };
            fd.revents = 0;
        }
        wait(&mut fds, Duration::from_nanos(timeout))?;
        for (fd, conn) in fds.iter().zip(conns.iter_mut()) {
            if fd.revents == 0 {
                continue;
            }
            if fd.revents & libc::POLLOUT != 0 {
                conn.flush()?;
            }
            if fd.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) == 0 {
                continue;
            }
            let answered = now();
            for (scheduled, ok) in conn.receive(options.proto, &mut scratch)? {
                record.errors += u64::from(!ok);
                record.in_window += u64::from((warm_end..send_end).contains(&answered));
                let counted = if options.rate.is_some() {
                    scheduled >= warm_end
                } else {
                    scheduled >= warm_end && answered <= send_end
                };
                if counted {
                    record.latency.push(answered - scheduled);
                }
                if options.rate.is_none() && answered < send_end {
                    let sent = now();
                    conn.send(sent)?;
                    record.sent += u64::from(sent >= warm_end);
                }
            }
        }
    }
    let lost = if options.rate.is_some() { outstanding(&conns) as u64 } else { 0 };
    Ok((record, lost))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("loadgen_open: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let (mut record, lost) = match run(&options) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("loadgen_open: {e}");
            std::process::exit(1);
        }
    };
    record.latency.sort_unstable();
    record.lateness.sort_unstable();
    let proto = match options.proto {
        Proto::Echo => "echo",
        Proto::Http => "http",
        Proto::Resp => "resp",
    };
    let answered = record.latency.len();
    let achieved = record.in_window as f64 / options.seconds as f64;
    let (l, s) = (&record.latency, &record.lateness);
    match options.rate {
        Some(rate) => println!(
            "{proto} {} open loop {rate}/s over {} connections, {} s (+{} s warm-up): \
             {} sent, {answered} answered, {lost} lost, {} errors; {achieved:.0} answers/s",
            options.addr,
            options.connections,
            options.seconds,
            options.warmup,
            record.sent,
            record.errors
        ),
        None => println!(
            "{proto} {} closed loop over {} connections, {} s (+{} s warm-up): \
             {answered} answered ({achieved:.0}/s), {} errors",
            options.addr, options.connections, options.seconds, options.warmup, record.errors
        ),
    }
    println!(
        "latency (µs) p50 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1};  send lateness p99 {:.1}  max {:.1}",
        percentile(l, 0.5),
        percentile(l, 0.99),
        percentile(l, 0.999),
        percentile(l, 1.0),
        percentile(s, 0.99),
        percentile(s, 1.0)
    );
    println!(
        "RESULT proto={proto} mode={} rate={} achieved={achieved:.0} answered={answered} lost={lost} \
         errors={} p50_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} late_p99_us={:.1} late_max_us={:.1}",
        if options.rate.is_some() { "open" } else { "closed" },
        options.rate.unwrap_or(0),
        record.errors,
        percentile(l, 0.5),
        percentile(l, 0.99),
        percentile(l, 0.999),
        percentile(l, 1.0),
        percentile(s, 0.99),
        percentile(s, 1.0)
    );
    if record.errors > 0 {
        std::process::exit(1);
    }
}
