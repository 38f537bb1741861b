//! Signals: a handler installed *without* `SA_RESTART` makes every blocking syscall the
//! signal interrupts fail with `EINTR`. A helper thread sends such a signal to the runtime's
//! threads thousands of times a second (the `block_on` thread, and on the multi-thread runtime
//! every worker in turn), while the loops are parked in `epoll_wait` or on a condvar and while
//! sockets connect, accept, read and write: nothing may fail, hang or lose a byte.
//!
//! The handler is process-wide, so this binary holds this one test only.

mod common;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{assert_bytes_eq, connected_pair, delay, must_complete, pattern, watchdog};
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::runtime::Builder;

/// Signals the handler saw.
static DELIVERED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_signal: libc::c_int) {
    DELIVERED.fetch_add(1, Ordering::Relaxed);
}

/// Installs `count_signal` for SIGUSR1 with no `SA_RESTART`.
fn install_handler() {
    // SAFETY: an all-zero sigaction is a valid starting point (empty mask, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // No SA_RESTART: interrupted syscalls fail with EINTR.
    action.sa_flags = 0;
    // SAFETY: `action.sa_mask` is a valid sigset_t to initialise.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is a valid sigaction whose handler only touches an atomic, which is
    // async-signal-safe; the old action is not needed.
    let ret = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(ret, 0, "sigaction: {}", io::Error::last_os_error());
}

fn thread_id() -> libc::pid_t {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as libc::pid_t }
}

/// Sends SIGUSR1 to the threads in `targets`, one after the other, in a loop until dropped.
struct Signaller {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<usize>>,
}

impl Signaller {
    fn start(targets: Arc<Mutex<Vec<libc::pid_t>>>) -> Signaller {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            // SAFETY: getpid cannot fail.
            let pid = unsafe { libc::getpid() };
            thread::spawn(move || {
                let mut sent = 0;
                while !stop.load(Ordering::SeqCst) {
                    let target = {
                        let targets = targets.lock().unwrap_or_else(|p| p.into_inner());
                        targets[sent % targets.len()]
                    };
                    // SAFETY: tgkill with our own pid and a live thread of ours (the targets
                    // outlive the signaller: the test stops it before the runtime drops).
                    let ret = unsafe { libc::tgkill(pid, target, libc::SIGUSR1) };
                    assert_eq!(ret, 0, "tgkill: {}", io::Error::last_os_error());
                    sent += 1;
                    thread::sleep(Duration::from_micros(200));
                }
                sent
            })
        };
        Signaller { stop, thread: Some(thread) }
    }

    fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().map_or(0, |t| t.join().expect("signaller"))
    }
}

impl Drop for Signaller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn signals_without_sa_restart_break_nothing() {
    let _watchdog = watchdog("signals_without_sa_restart_break_nothing");
    install_handler();
    for multi_thread in [false, true] {
        // This thread, then every worker as it starts.
        let targets = Arc::new(Mutex::new(vec![thread_id()]));
        let rt = if multi_thread {
            let workers = targets.clone();
            Builder::new_multi_thread()
                .worker_threads(2)
                .on_thread_start(move || {
                    workers.lock().unwrap_or_else(|p| p.into_inner()).push(thread_id())
                })
                .build()
                .expect("runtime")
        } else {
            Builder::new_current_thread().build().expect("runtime")
        };
        let before = DELIVERED.load(Ordering::Relaxed);
        let signaller = Signaller::start(targets);
        rt.block_on(work_under_signals()).expect("the runtime's work under signals");
        let sent = signaller.stop();
        let delivered = DELIVERED.load(Ordering::Relaxed) - before;
        println!("multi_thread: {multi_thread}: {sent} signals sent, {delivered} delivered");
        assert!(delivered > 0, "no signal reached the runtime's threads ({sent} sent)");
    }
}

async fn work_under_signals() -> io::Result<()> {
    // 1. Parked: nothing to do but wait for a wake from another thread, or for a socket.
    for _ in 0..5 {
        must_complete("a delay while parked", delay(Duration::from_millis(40))).await;
    }
    // A read that waits, parked, for bytes a plain thread sends later.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut server = TcpStream::connect(std_listener.local_addr()?).await?;
    let (mut raw_peer, _) = std_listener.accept()?; // already queued: does not block
    let reader = minirt::spawn(async move {
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).await.map(|_| buf)
    });
    delay(Duration::from_millis(100)).await;
    assert!(!reader.is_finished(), "nothing was sent yet");
    let std_peer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        io::Write::write_all(&mut raw_peer, b"hello")
    });
    let got = must_complete("a read that waits while parked", reader).await.expect("task")?;
    assert_eq!(&got, b"hello");
    std_peer.join().expect("std peer")?;

    // 2. Connect and accept, many times over.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = minirt::spawn(async move {
        let mut streams = Vec::new();
        for _ in 0..200 {
            streams.push(listener.accept().await?.0);
        }
        Ok::<_, io::Error>(streams)
    });
    let mut clients = Vec::new();
    for _ in 0..200 {
        clients.push(must_complete("connect", TcpStream::connect(addr)).await?);
    }
    let accepted = must_complete("accept", acceptor).await.expect("task")?;
    assert_eq!(accepted.len(), 200);
    drop((clients, accepted));

    // 3. 2 MiB echoed through small buffers: the tasks wait for readiness all the time.
    const LEN: usize = 2 << 20;
    let (client, server) = connected_pair().await?;
    for stream in [&client, &server] {
        common::set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_SNDBUF, 32 * 1024);
        common::set_sock_opt(stream, libc::SOL_SOCKET, libc::SO_RCVBUF, 32 * 1024);
    }
    let echo = minirt::spawn(async move {
        let (mut read, mut write) = server.into_split();
        minirt::io::copy(&mut read, &mut write).await
    });
    let data = pattern(0x51, LEN);
    let (mut read, mut write) = client.into_split();
    let to_send = data.clone();
    let sender = minirt::spawn(async move {
        write.write_all(&to_send).await?;
        write.shutdown().await
    });
    let mut got = Vec::with_capacity(LEN);
    must_complete("echo 2 MiB", read.read_to_end(&mut got)).await?;
    assert_bytes_eq(&got, &data, "echoed through signals");
    must_complete("sender", sender).await.expect("task")?;
    assert_eq!(must_complete("echo", echo).await.expect("task")?, LEN as u64);
    Ok(())
}
