//! 10,000 concurrent connections, each doing a few round trips: all complete and nothing is
//! lost; prints the runtime's memory per idle connection.
//!
//! Both ends of 10,000 connections in one process would need 20,000 fds, at or above the hard
//! limit of many machines, so the clients run in a child process (this test binary
//! re-executed with `CHILD_ENV` set), itself on a minirt runtime. The server, in the test
//! process, counts its resident memory before and while every connection sits idle. The test
//! raises the soft fd limit and is skipped, with a note, if the hard limit is too low. It
//! raises a process-wide limit and measures process-wide memory, so this binary holds this one
//! test only.

mod common;

use std::io::{self, BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{raise_nofile_limit, timeout, watchdog};
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::runtime::Builder;

const CONNECTIONS: usize = 10_000;
const ROUND_TRIPS: usize = 3;
const MESSAGE: usize = 64;
/// Connects in flight at once: the listener's backlog (1024) must not overflow, or dropped
/// SYNs would cost a second each.
const CONNECT_WAVE: usize = 500;
const CHILD_ENV: &str = "MINIRT_SCALE_CLIENTS";
/// Generous: a hang detector for the whole run on a slow, busy machine (it takes a few seconds).
const LIMIT: Duration = Duration::from_secs(50);

/// The message connection `index` sends in round trip `round`.
fn message(index: usize, round: usize) -> [u8; MESSAGE] {
    let mut msg = [0u8; MESSAGE];
    msg[..8].copy_from_slice(&(index as u64).to_le_bytes());
    msg[8..16].copy_from_slice(&(round as u64).to_le_bytes());
    for (i, b) in msg[16..].iter_mut().enumerate() {
        *b = (index.wrapping_mul(31) ^ round.wrapping_mul(7) ^ i) as u8;
    }
    msg
}

/// Resident memory of this process, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize =
        statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("statm's rss field");
    // SAFETY: sysconf takes no pointers.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    pages * page
}

/// The child process: opens every connection, does the round trips on all of them at once,
/// checks every echo, says `READY` on stdout, and closes everything when stdin closes.
fn run_clients(addr: &str) {
    let have = raise_nofile_limit(CONNECTIONS as libc::rlim_t + 100);
    assert!(have >= CONNECTIONS as libc::rlim_t + 100, "fd limit {have} in the client process");
    let rt = Builder::new_current_thread().build().expect("runtime");
    rt.block_on(async {
        let mut streams = Vec::with_capacity(CONNECTIONS);
        for wave in (0..CONNECTIONS).collect::<Vec<_>>().chunks(CONNECT_WAVE) {
            let connects: Vec<_> =
                wave.iter().map(|_| minirt::spawn(TcpStream::connect(addr.to_string()))).collect();
            for connect in connects {
                streams.push(connect.await.expect("connect task").expect("connect"));
            }
        }
        let clients: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(index, mut stream)| {
                minirt::spawn(async move {
                    let mut echo = [0u8; MESSAGE];
                    for round in 0..ROUND_TRIPS {
                        let msg = message(index, round);
                        stream.write_all(&msg).await?;
                        stream.read_exact(&mut echo).await?;
                        assert_eq!(echo, msg, "connection {index}, round trip {round}");
                    }
                    Ok::<_, io::Error>(stream)
                })
            })
            .collect();
        let mut streams = Vec::with_capacity(CONNECTIONS);
        for client in clients {
            streams.push(client.await.expect("client task").expect("round trips"));
        }
        println!("READY {}", streams.len());
        io::stdout().flush().expect("flush");
        // Wait (on a plain thread, so the runtime stays free) for the parent to close stdin.
        let (tx, rx) = futures_channel::oneshot::channel::<()>();
        thread::spawn(move || {
            let _ = io::stdin().lines().count();
            let _ = tx.send(());
        });
        let _ = rx.await;
        drop(streams);
    });
}

#[test]
fn ten_thousand_concurrent_connections() {
    if let Ok(addr) = std::env::var(CHILD_ENV) {
        run_clients(&addr);
        return;
    }
    let _watchdog = watchdog("ten_thousand_concurrent_connections");
    let want = CONNECTIONS as libc::rlim_t + 100;
    let have = raise_nofile_limit(want);
    if have < want {
        println!(
            "SKIPPED ten_thousand_concurrent_connections: the fd limit is {have}, it needs \
             {want} (raise the hard limit, `ulimit -Hn`)"
        );
        return;
    }

    // The server on each flavor; the clients, in a child process, on a current-thread runtime.
    for multi_thread in [false, true] {
        let rt = if multi_thread {
            Builder::new_multi_thread().worker_threads(2).build().expect("runtime")
        } else {
            Builder::new_current_thread().build().expect("runtime")
        };
        rt.block_on(serve_ten_thousand(multi_thread)).expect("the server");
    }
}

async fn serve_ten_thousand(multi_thread: bool) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let echoed = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    // The baseline: the runtime, the listener, nothing connected.
    let rss_before = rss();

    let server = {
        let (echoed, accepted) = (echoed.clone(), accepted.clone());
        minirt::spawn(async move {
            let mut handlers = Vec::with_capacity(CONNECTIONS);
            for _ in 0..CONNECTIONS {
                let (mut stream, _) = listener.accept().await?;
                accepted.fetch_add(1, Ordering::SeqCst);
                let echoed = echoed.clone();
                handlers.push(minirt::spawn(async move {
                    let mut buf = [0u8; MESSAGE];
                    loop {
                        let n = stream.read(&mut buf).await?;
                        if n == 0 {
                            return Ok::<_, io::Error>(());
                        }
                        stream.write_all(&buf[..n]).await?;
                        echoed.fetch_add(n, Ordering::SeqCst);
                    }
                }));
            }
            Ok::<_, io::Error>(handlers)
        })
    };

    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["ten_thousand_concurrent_connections", "--exact", "--nocapture"])
        .env(CHILD_ENV, addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (ready_tx, ready_rx) = futures_channel::oneshot::channel::<String>();
    let reader = thread::spawn(move || {
        let mut ready_tx = Some(ready_tx);
        let mut all = String::new();
        for line in io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("READY") {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(line.clone());
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });

    let ready = timeout(LIMIT, ready_rx).await;
    let ready = match ready {
        Ok(Ok(line)) => line,
        other => {
            let _ = child.kill();
            let status = child.wait();
            let out = reader.join().unwrap_or_default();
            panic!("the clients did not get ready ({other:?}, {status:?}):\n{out}");
        }
    };
    assert_eq!(ready, format!("READY {CONNECTIONS}"));
    // Every connection has done its round trips and is idle, its server task in `read`.
    assert_eq!(accepted.load(Ordering::SeqCst), CONNECTIONS);
    common::settle().await;
    let rss_idle = rss();
    let per_connection = rss_idle.saturating_sub(rss_before) / CONNECTIONS;
    println!(
        "multi_thread: {multi_thread}: memory per idle connection: {per_connection} bytes \
         (RSS {} KiB before, {} KiB with {CONNECTIONS} idle connections; server side: \
         task, buffer, registration)",
        rss_before / 1024,
        rss_idle / 1024
    );

    drop(child.stdin.take()); // the clients close every connection
    let (exit_tx, exit_rx) = futures_channel::oneshot::channel();
    let waiter = thread::spawn(move || {
        let _ = exit_tx.send(child.wait());
    });
    let status = timeout(LIMIT, exit_rx).await.expect("the clients exit").expect("status")?;
    waiter.join().expect("waiter");
    let out = reader.join().expect("reader");
    assert!(status.success(), "the client process failed ({status}):\n{out}");

    let handlers = timeout(LIMIT, server).await.expect("server").expect("no panic")?;
    for handler in handlers {
        timeout(LIMIT, handler).await.expect("handler").expect("no panic")?;
    }
    assert_eq!(echoed.load(Ordering::SeqCst), CONNECTIONS * ROUND_TRIPS * MESSAGE);
    Ok(())
}
