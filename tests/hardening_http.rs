//! The `http` example against bad clients: garbage, oversized heads, a slowloris-style trickle,
//! clients that vanish mid-request, clients too slow to finish a request, connections left
//! idle. It answers (400, 431, 408) or closes, and keeps serving the other clients all along.
//!
//! The example's own code runs here, in-process: `examples/http.rs` is included as a module
//! and its `run` accept loop is spawned on the test's runtime. That works on a fresh clone with
//! any `cargo test` invocation (no example binary to build or find first).

#[macro_use]
mod common;

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{must_complete, pattern, settle, watchdog};
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::task::JoinHandle;

#[allow(dead_code, unused_imports)] // `main` and some constants are for the binary only
#[path = "../examples/http.rs"]
mod http_example;
use http_example::http_proto::Timeouts;

const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\n";
const TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\n";
const HELLO: &[u8] = b"Hello, World!";
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// Starts the example server on a free port, with its default time limits.
async fn start_server() -> io::Result<(SocketAddr, JoinHandle<io::Result<()>>)> {
    start_server_with(Timeouts::default()).await
}

async fn start_server_with(
    timeouts: Timeouts,
) -> io::Result<(SocketAddr, JoinHandle<io::Result<()>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((addr, minirt::spawn(http_example::run(listener, timeouts))))
}

/// Sends `request` on a new connection and reads until the server closes it.
async fn exchange(addr: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut response = Vec::new();
    must_complete("read until the server closes", stream.read_to_end(&mut response)).await?;
    Ok(response)
}

/// Sends one request on a kept-alive connection and reads its `200 OK` response.
async fn hello(stream: &mut TcpStream) -> io::Result<()> {
    stream.write_all(GET).await?;
    let mut response = Vec::new();
    let mut buf = [0u8; 512];
    while !response.ends_with(HELLO) {
        let n = must_complete("a good client's response", stream.read(&mut buf)).await?;
        assert!(n > 0, "the server closed a good client: {:?}", String::from_utf8_lossy(&response));
        response.extend_from_slice(&buf[..n]);
    }
    assert!(
        response.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{:?}",
        String::from_utf8_lossy(&response)
    );
    Ok(())
}

#[track_caller]
fn assert_status(response: &[u8], status: &[u8], what: &str) {
    assert!(
        response.starts_with(status),
        "{what}: expected {:?}, got {:?}",
        String::from_utf8_lossy(status),
        String::from_utf8_lossy(&response[..response.len().min(200)])
    );
}

on_both_flavors! {
/// Garbage of many kinds gets `400 Bad Request` and a close; a good client on a kept-alive
/// connection is served before, between and after.
async fn garbage_gets_400_and_a_close() -> io::Result<()> {
    let _watchdog = watchdog("garbage_gets_400_and_a_close");
    let (addr, server) = start_server().await?;
    let mut good = TcpStream::connect(addr).await?;
    hello(&mut good).await?;
    let garbage: &[&[u8]] = &[
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", // a TLS ClientHello
        b"\0\0\0\0\0\0\0\0",
        b"HELLO\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"G\xffT / HTTP/1.1\r\n\r\n",
    ];
    for (i, request) in garbage.iter().enumerate() {
        let response = exchange(addr, request).await?;
        assert_status(&response, BAD_REQUEST, &format!("garbage {i} ({request:?})"));
        hello(&mut good).await?;
    }
    // 64 KiB of noise, more than the server reads before it answers.
    let response = exchange(addr, &pattern(0xBAD, 64 * 1024)).await?;
    assert!(
        response.starts_with(BAD_REQUEST) || response.starts_with(TOO_LARGE),
        "noise: {:?}",
        String::from_utf8_lossy(&response)
    );
    hello(&mut good).await?;
    assert!(!server.is_finished(), "the accept loop is still running");
    Ok(())
}
}

on_both_flavors! {
/// A head over 8 KiB, in one line or in many headers, gets `431` and a close; a head just
/// under the limit is served.
async fn oversized_heads_get_431_and_a_close() -> io::Result<()> {
    let _watchdog = watchdog("oversized_heads_get_431_and_a_close");
    let (addr, server) = start_server().await?;
    let mut good = TcpStream::connect(addr).await?;

    let mut one_line = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    one_line.extend(std::iter::repeat(b'a').take(9000));
    one_line.extend_from_slice(b"\r\n\r\n");
    assert_status(&exchange(addr, &one_line).await?, TOO_LARGE, "one long header");
    hello(&mut good).await?;

    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..400 {
        many.extend_from_slice(format!("X-Header-{i}: 0123456789\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_status(&exchange(addr, &many).await?, TOO_LARGE, "many headers");
    hello(&mut good).await?;

    // Never ending: no blank line at all, and much more than the limit.
    let mut endless = b"GET / HTTP/1.1\r\n".to_vec();
    while endless.len() < 200 * 1024 {
        endless.extend_from_slice(b"X-More: more\r\n");
    }
    assert_status(&exchange(addr, &endless).await?, TOO_LARGE, "an endless head");

    let mut just_under = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
    just_under.extend(std::iter::repeat(b'b').take(8 * 1024 - just_under.len() - 4));
    just_under.extend_from_slice(b"\r\n\r\n");
    assert_eq!(just_under.len(), 8 * 1024);
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&just_under).await?;
    let mut response = vec![0u8; 512];
    let n = must_complete("a head of exactly 8 KiB", stream.read(&mut response)).await?;
    assert_status(&response[..n], b"HTTP/1.1 200 OK\r\n", "a head of exactly 8 KiB");
    hello(&mut good).await?;
    assert!(!server.is_finished(), "the accept loop is still running");
    Ok(())
}
}

on_both_flavors! {
/// Slowloris: 50 clients trickle their heads a byte at a time. The server keeps serving a good
/// client between every step; a trickler that completes its head is answered; the others,
/// once past 8 KiB, get `431` and a close.
async fn a_slowloris_trickle_does_not_stop_other_clients() -> io::Result<()> {
    let _watchdog = watchdog("a_slowloris_trickle_does_not_stop_other_clients");
    const TRICKLERS: usize = 50;
    // The 408 limit far off: this test is about the size limit, and a slow run (valgrind, a
    // loaded machine) must not reach the time limit first.
    let timeouts = Timeouts { request: Duration::from_secs(600), ..Timeouts::default() };
    let (addr, server) = start_server_with(timeouts).await?;
    let mut good = TcpStream::connect(addr).await?;
    let mut tricklers = Vec::new();
    for _ in 0..TRICKLERS {
        tricklers.push(TcpStream::connect(addr).await?);
    }

    // The request line and a header, a byte at a time from every trickler in turn.
    let start = b"GET / HTTP/1.1\r\nHost: slow\r\n";
    for (i, byte) in start.iter().enumerate() {
        for trickler in &mut tricklers {
            trickler.write_all(std::slice::from_ref(byte)).await?;
        }
        settle().await;
        if i % 4 == 0 {
            hello(&mut good).await?;
        }
    }

    // One trickler finishes its head, slowly, and is served.
    let mut finisher = tricklers.pop().expect("a trickler");
    for byte in b"\r\n" {
        finisher.write_all(std::slice::from_ref(byte)).await?;
        settle().await;
    }
    let mut response = vec![0u8; 512];
    let n = must_complete("the finished trickle's response", finisher.read(&mut response)).await?;
    assert_status(&response[..n], b"HTTP/1.1 200 OK\r\n", "a trickled request");

    // The rest go on with headers, 100 bytes at a time, past the 8 KiB limit.
    let line = format!("X-Slow: {}\r\n", "s".repeat(90));
    for step in 0..90 {
        for trickler in &mut tricklers {
            trickler.write_all(line.as_bytes()).await?;
        }
        if step % 10 == 0 {
            hello(&mut good).await?;
        }
    }
    for (i, trickler) in tricklers.iter_mut().enumerate() {
        let mut response = Vec::new();
        must_complete("the trickler's 431", trickler.read_to_end(&mut response)).await?;
        assert_status(&response, TOO_LARGE, &format!("trickler {i}"));
    }
    hello(&mut good).await?;
    assert!(!server.is_finished(), "the accept loop is still running");
    Ok(())
}
}

on_both_flavors! {
/// Clients that reset or half-close in the middle of a request end their own connection and
/// nothing else.
async fn clients_that_vanish_mid_request_harm_nobody() -> io::Result<()> {
    let _watchdog = watchdog("clients_that_vanish_mid_request_harm_nobody");
    let (addr, server) = start_server().await?;
    let mut good = TcpStream::connect(addr).await?;
    for round in 0..20 {
        // Reset in the middle of a head.
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: gone").await?;
        stream.set_linger(Some(Duration::ZERO))?;
        drop(stream);
        // Reset in the middle of a body, with responses queued for it.
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(GET).await?;
        stream.write_all(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial").await?;
        stream.set_linger(Some(Duration::ZERO))?;
        drop(stream);
        // Half-close in the middle of a head: the server closes without a word.
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(b"GET / HTTP/1.1\r\nHo").await?;
        stream.shutdown().await?;
        let mut response = Vec::new();
        must_complete("the server closes", stream.read_to_end(&mut response)).await?;
        assert!(response.is_empty(), "round {round}: {:?}", String::from_utf8_lossy(&response));
        hello(&mut good).await?;
    }
    // A complete request followed by a half-close is still answered.
    let response = {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(GET).await?;
        stream.shutdown().await?;
        let mut response = Vec::new();
        must_complete("answer then close", stream.read_to_end(&mut response)).await?;
        response
    };
    assert_status(&response, b"HTTP/1.1 200 OK\r\n", "request then half-close");
    assert!(response.ends_with(HELLO));
    hello(&mut good).await?;
    assert!(!server.is_finished(), "the accept loop is still running");
    Ok(())
}
}

const SHORT_LIMITS: Timeouts = Timeouts {
    request: Duration::from_millis(300),
    idle: Duration::from_millis(300),
    close: Duration::from_millis(300),
};

on_both_flavors! {
/// Slowloris with a clock: clients that keep trickling a byte every 20 ms, never finishing
/// their head, get `408 Request Timeout` and a close once the request limit passes (not
/// before), while a good client is served all along.
async fn a_request_trickled_past_its_time_limit_gets_408_and_a_close() -> io::Result<()> {
    let _watchdog = watchdog("a_request_trickled_past_its_time_limit_gets_408_and_a_close");
    let (addr, server) = start_server_with(SHORT_LIMITS).await?;
    let mut good = TcpStream::connect(addr).await?;
    let mut tricklers = Vec::new();
    for _ in 0..20 {
        tricklers.push(TcpStream::connect(addr).await?);
    }
    let started = Instant::now();
    for trickler in &mut tricklers {
        trickler.write_all(b"GET / HTTP/1.1\r\n").await?;
    }
    // Trickle until every trickler has been cut off (a write to a closed one may fail).
    let mut closed = vec![false; tricklers.len()];
    let mut responses = vec![Vec::new(); tricklers.len()];
    let mut round = 0;
    while closed.iter().any(|c| !c) {
        round += 1;
        assert!(round < 1_000, "tricklers still open after {:?}", started.elapsed());
        minirt::time::sleep(Duration::from_millis(20)).await;
        for (i, trickler) in tricklers.iter_mut().enumerate() {
            if closed[i] {
                continue;
            }
            let mut buf = [0u8; 256];
            match trickler.try_read(&mut buf) {
                Ok(0) => {
                    closed[i] = true;
                    assert!(started.elapsed() >= SHORT_LIMITS.request, "cut off early");
                }
                Ok(n) => responses[i].extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let _ = trickler.write_all(b"X").await;
                }
                Err(e) => panic!("trickler {i}: {e}"),
            }
        }
        if round % 5 == 0 {
            hello(&mut good).await?;
        }
    }
    for (i, response) in responses.iter().enumerate() {
        assert_status(response, b"HTTP/1.1 408 Request Timeout\r\n", &format!("trickler {i}"));
    }
    hello(&mut good).await?;
    assert!(!server.is_finished(), "the accept loop is still running");
    Ok(())
}
}

on_both_flavors! {
/// A connection that sends nothing is closed after the idle limit (without a response); one
/// that sends a request now and then, each within the limit, stays open far longer.
async fn an_idle_connection_is_closed_and_a_busy_one_is_not() -> io::Result<()> {
    let _watchdog = watchdog("an_idle_connection_is_closed_and_a_busy_one_is_not");
    let (addr, _server) = start_server_with(SHORT_LIMITS).await?;
    let mut idle = TcpStream::connect(addr).await?;
    let opened = Instant::now();
    let mut busy = TcpStream::connect(addr).await?;
    // The busy client asks every 100 ms, for three idle limits in all.
    while opened.elapsed() < 3 * SHORT_LIMITS.idle {
        hello(&mut busy).await?;
        minirt::time::sleep(Duration::from_millis(100)).await;
    }
    hello(&mut busy).await?;
    let mut response = Vec::new();
    must_complete("the idle connection closes", idle.read_to_end(&mut response)).await?;
    assert!(response.is_empty(), "{:?}", String::from_utf8_lossy(&response));
    assert!(opened.elapsed() >= SHORT_LIMITS.idle);
    Ok(())
}
}
