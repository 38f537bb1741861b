//! Signals through the public `minirt` API: `ctrl_c`, `signal::unix::signal` for each kind,
//! several listeners and several runtimes, deliveries before the first `recv`, handler
//! chaining, forbidden signals. Ported from tokio's `signal_*.rs` tests (renamed to minirt).
//!
//! Signals are process-wide and the tests of this binary run on parallel threads: each test
//! raises a signal no other test raises, or holds `common::serial_lock` (for SIGUSR1 and SIGINT,
//! which several tests use).

mod common;

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use common::{delay, must_complete, serial_lock, settle, timeout, watchdog};
use minirt::runtime::{Builder, Runtime};
use minirt::signal::unix::{signal, SignalKind};

/// Sends `signum` to this process (any thread not blocking it runs the handler).
fn send_signal(signum: libc::c_int) {
    // SAFETY: kill with our own pid and a valid signal number; a handler is installed for it
    // by the test before it sends.
    let ret = unsafe { libc::kill(libc::getpid(), signum) };
    assert_eq!(ret, 0, "kill({signum}): {}", io::Error::last_os_error());
}

fn rt() -> Runtime {
    Builder::new_current_thread().build().expect("runtime")
}

/// Runs `body` on a fresh runtime while holding the lock of the tests that share SIGUSR1 and
/// SIGINT.
fn serially(name: &'static str, body: impl Future<Output = ()>) {
    let _serial = serial_lock();
    let _watchdog = watchdog(name);
    rt().block_on(body);
}

/// A real-time signal only this test binary's `test` uses: `SIGRTMIN + n`.
fn rt_signal(n: libc::c_int) -> libc::c_int {
    let signum = libc::SIGRTMIN() + n;
    assert!(signum <= libc::SIGRTMAX());
    signum
}

#[test]
fn ctrl_c() {
    serially("ctrl_c", async {
        let ctrl_c = minirt::signal::ctrl_c();
        minirt::spawn(async {
            send_signal(libc::SIGINT);
        });
        must_complete("ctrl_c", ctrl_c).await.expect("ctrl_c");
    });
}

#[test]
fn signal_usr1() {
    serially("signal_usr1", async {
        let mut signal = signal(SignalKind::user_defined1()).expect("failed to create signal");
        send_signal(libc::SIGUSR1);
        assert_eq!(must_complete("recv", signal.recv()).await, Some(()));
    });
}

#[test]
fn twice() {
    serially("twice", async {
        let kind = SignalKind::user_defined1();
        let mut sig = signal(kind).expect("failed to get signal");
        for _ in 0..2 {
            send_signal(libc::SIGUSR1);
            assert!(must_complete("recv", sig.recv()).await.is_some());
        }
    });
}

#[test]
fn drop_then_get_a_signal() {
    serially("drop_then_get_a_signal", async {
        let kind = SignalKind::user_defined1();
        let sig = signal(kind).expect("failed to create first signal");
        drop(sig);
        send_signal(libc::SIGUSR1);
        let mut sig = signal(kind).expect("failed to create second signal");
        // The delivery before this listener existed may or may not be seen; a new one must be.
        send_signal(libc::SIGUSR1);
        assert_eq!(must_complete("recv", sig.recv()).await, Some(()));
    });
}

#[test]
fn dropping_signal_does_not_deregister_any_other_instances() {
    serially("dropping_signal_does_not_deregister_any_other_instances", async {
        let kind = SignalKind::user_defined1();
        // Signals should not starve based on ordering.
        let first_duplicate_signal =
            signal(kind).expect("failed to register first duplicate signal");
        let mut sig = signal(kind).expect("failed to register signal");
        let second_duplicate_signal =
            signal(kind).expect("failed to register second duplicate signal");
        drop(first_duplicate_signal);
        drop(second_duplicate_signal);
        send_signal(libc::SIGUSR1);
        assert_eq!(must_complete("recv", sig.recv()).await, Some(()));
    });
}

/// Several deliveries before a `recv` coalesce into one, and a later `recv` waits for the next.
#[test]
fn deliveries_coalesce_and_recv_then_waits() {
    serially("deliveries_coalesce_and_recv_then_waits", async {
        let mut sig = signal(SignalKind::user_defined1()).expect("signal");
        // `raise` (not `kill`): the signal goes to this thread, whose handler has run when
        // `raise` returns. A process-wide `kill` may be handled by another thread a little
        // later, after the first `recv` below, and would count as a second delivery.
        for _ in 0..5 {
            // SAFETY: raising a signal whose handler minirt installed just above.
            assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        }
        assert_eq!(must_complete("recv", sig.recv()).await, Some(()));
        settle().await;
        let mut recv = pin!(sig.recv());
        let polled = poll_fn(|cx| Poll::Ready(recv.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "five deliveries before one recv are one delivery");
    });
}

#[minirt::test]
async fn notify_both() {
    let kind = SignalKind::user_defined2();
    let mut signal1 = signal(kind).expect("failed to create signal1");
    let mut signal2 = signal(kind).expect("failed to create signal2");
    send_signal(libc::SIGUSR2);
    assert_eq!(must_complete("signal1", signal1.recv()).await, Some(()));
    assert_eq!(must_complete("signal2", signal2.recv()).await, Some(()));
}

/// Every listener of a kind, each waiting in its own task, is woken by one delivery raised
/// from another thread while the runtime is parked in `epoll_wait`.
#[minirt::test]
async fn every_waiting_listener_is_woken() {
    let signum = rt_signal(1);
    let woken = std::sync::Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut sig = signal(SignalKind::from_raw(signum)).expect("signal");
        let woken = woken.clone();
        tasks.push(minirt::spawn(async move {
            assert_eq!(sig.recv().await, Some(()));
            woken.fetch_add(1, Ordering::SeqCst);
        }));
    }
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 0, "nothing delivered yet");
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        send_signal(signum);
    });
    for task in tasks {
        must_complete("listener task", task).await.expect("listener task");
    }
    assert_eq!(woken.load(Ordering::SeqCst), 8);
}

/// A delivery between creating the `Signal` and its first `recv` is not lost, even with the
/// runtime busy elsewhere meanwhile.
#[minirt::test]
async fn raise_before_first_recv_is_not_lost() {
    let signum = rt_signal(2);
    let mut sig = signal(SignalKind::from_raw(signum)).expect("signal");
    send_signal(signum);
    settle().await;
    delay(Duration::from_millis(10)).await;
    assert_eq!(must_complete("recv", sig.recv()).await, Some(()));
}

/// `recv` is cancel-safe: a future dropped while pending loses nothing.
#[minirt::test]
async fn dropped_recv_future_loses_nothing() {
    let signum = rt_signal(3);
    let mut sig = signal(SignalKind::from_raw(signum)).expect("signal");
    {
        let mut recv = pin!(sig.recv());
        let polled = poll_fn(|cx| Poll::Ready(recv.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
    }
    send_signal(signum);
    assert_eq!(must_complete("recv", sig.recv()).await, Some(()));
}

#[test]
fn multi_loop() {
    let _watchdog = watchdog("multi_loop");
    let (sender, receiver) = mpsc::channel();
    // Several times, to shake out races.
    for _ in 0..10 {
        // Several event loops, each in its own thread.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let sender = sender.clone();
                thread::spawn(move || {
                    let rt = rt();
                    rt.block_on(async {
                        let mut signal = signal(SignalKind::hangup()).expect("signal");
                        sender.send(()).expect("send");
                        timeout(common::HANG_LIMIT, signal.recv()).await
                    })
                })
            })
            .collect();
        // Wait for them to declare they're ready.
        for _ in &threads {
            receiver.recv().expect("ready");
        }
        send_signal(libc::SIGHUP);
        for t in threads {
            assert_eq!(t.join().expect("thread"), Ok(Some(())), "every runtime is woken");
        }
    }
}

#[test]
fn dropping_loops_does_not_cause_starvation() {
    let _watchdog = watchdog("dropping_loops_does_not_cause_starvation");
    let signum = rt_signal(4);
    let kind = SignalKind::from_raw(signum);
    let first_rt = rt();
    let mut first_signal =
        first_rt.block_on(async { signal(kind).expect("failed to register first signal") });
    let second_rt = rt();
    let mut second_signal =
        second_rt.block_on(async { signal(kind).expect("failed to register second signal") });

    send_signal(signum);
    let first = first_rt.block_on(timeout(common::HANG_LIMIT, first_signal.recv()));
    assert_eq!(first, Ok(Some(())), "failed to await first signal");
    drop(first_rt);
    drop(first_signal);

    send_signal(signum);
    let second = second_rt.block_on(timeout(common::HANG_LIMIT, second_signal.recv()));
    assert_eq!(second, Ok(Some(())));
}

/// A `Signal` whose runtime is gone reports `None` instead of hanging.
#[test]
fn recv_after_its_runtime_dropped_is_none() {
    let _watchdog = watchdog("recv_after_its_runtime_dropped_is_none");
    let first_rt = rt();
    let mut sig =
        first_rt.block_on(async { signal(SignalKind::from_raw(rt_signal(5))).expect("signal") });
    drop(first_rt);
    let second_rt = rt();
    let got = second_rt.block_on(timeout(common::HANG_LIMIT, sig.recv()));
    assert_eq!(got, Ok(None));
}

#[test]
#[should_panic]
fn no_runtime_panics_creating_signals() {
    let _ = signal(SignalKind::window_change());
}

#[minirt::test]
async fn forbidden_signals_are_refused() {
    for signum in
        [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE]
    {
        let err = signal(SignalKind::from_raw(signum)).expect_err("a forbidden signal");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}: {err}");
    }
    for signum in [-1, 0, libc::SIGRTMAX() + 1] {
        let err = signal(SignalKind::from_raw(signum)).expect_err("an invalid signal");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}: {err}");
    }
}

#[minirt::test]
async fn kinds_have_their_numbers() {
    let kinds = [
        (SignalKind::alarm(), libc::SIGALRM),
        (SignalKind::child(), libc::SIGCHLD),
        (SignalKind::hangup(), libc::SIGHUP),
        (SignalKind::interrupt(), libc::SIGINT),
        (SignalKind::io(), libc::SIGIO),
        (SignalKind::pipe(), libc::SIGPIPE),
        (SignalKind::quit(), libc::SIGQUIT),
        (SignalKind::terminate(), libc::SIGTERM),
        (SignalKind::user_defined1(), libc::SIGUSR1),
        (SignalKind::user_defined2(), libc::SIGUSR2),
        (SignalKind::window_change(), libc::SIGWINCH),
    ];
    for (kind, signum) in kinds {
        assert_eq!(kind.as_raw_value(), signum);
        assert_eq!(SignalKind::from_raw(signum), kind);
    }
}

#[minirt::test]
async fn signal_realtime() {
    // SIGRTMIN+10 ..= SIGRTMIN+20: the lower ones belong to the other tests of this binary.
    let range = rt_signal(10)..=rt_signal(20);
    let mut signals: Vec<_> = range
        .clone()
        .map(|signum| (signum, signal(SignalKind::from_raw(signum)).expect("signal")))
        .collect();
    for signum in range {
        send_signal(signum);
    }
    for (signum, sig) in &mut signals {
        assert_eq!(must_complete("recv", sig.recv()).await, Some(()), "signal {signum}");
    }
}

static CHAINED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn counting_handler(_: libc::c_int) {
    CHAINED.fetch_add(1, Ordering::SeqCst);
}

/// A handler the program installed before minirt's keeps running.
#[minirt::test]
async fn previous_handler_is_chained() {
    let signum = rt_signal(6);
    // SAFETY: all-zero is a valid sigaction; the handler only touches an atomic.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = counting_handler as extern "C" fn(_) as usize;
    // SAFETY: `action` is initialised; no old action is requested.
    let ret = unsafe { libc::sigaction(signum, &action, std::ptr::null_mut()) };
    assert_eq!(ret, 0, "sigaction: {}", io::Error::last_os_error());

    let mut sig = signal(SignalKind::from_raw(signum)).expect("signal");
    send_signal(signum);
    assert_eq!(must_complete("recv", sig.recv()).await, Some(()));
    assert_eq!(CHAINED.load(Ordering::SeqCst), 1, "the earlier handler ran too");
}

/// Listeners on a multi-thread runtime, raised from a plain thread.
#[test]
fn multi_thread_runtime_listeners() {
    let _watchdog = watchdog("multi_thread_runtime_listeners");
    let signum = rt_signal(7);
    let rt = Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let got = rt.block_on(async move {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let mut sig = signal(SignalKind::from_raw(signum)).expect("signal");
                minirt::spawn(async move { sig.recv().await })
            })
            .collect();
        thread::spawn(move || send_signal(signum));
        let mut got = Vec::new();
        for task in tasks {
            got.push(must_complete("listener", task).await.expect("task"));
        }
        got
    });
    assert_eq!(got, vec![Some(()); 4]);
}

#[allow(dead_code)] // `main` is for the binary only
#[path = "../examples/echo.rs"]
mod echo_example;

/// The echo example's graceful shutdown, in-process: on SIGTERM it refuses new connections,
/// keeps echoing on the open one, and returns (0 connections cut) once that one closes.
#[test]
fn echo_example_shuts_down_gracefully() {
    use minirt::io::{AsyncReadExt, AsyncWriteExt};
    use minirt::net::{TcpListener, TcpStream};

    serially("echo_example_shuts_down_gracefully", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = minirt::spawn(echo_example::serve(listener, common::HANG_LIMIT));
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let mut buf = [0u8; 5];
        client.write_all(b"hello").await.expect("write");
        must_complete("echo", client.read_exact(&mut buf)).await.expect("read");
        assert_eq!(&buf, b"hello");

        send_signal(libc::SIGTERM);
        let mut refused = false;
        for _ in 0..200 {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    refused = true;
                    break;
                }
                _ => delay(Duration::from_millis(5)).await,
            }
        }
        assert!(refused, "the listener closes on SIGTERM");

        client.write_all(b"again").await.expect("write after the signal");
        must_complete("echo", client.read_exact(&mut buf)).await.expect("read");
        assert_eq!(&buf, b"again", "the open connection is still served");
        settle().await;
        assert!(!server.is_finished(), "the server waits for the open connection");

        drop(client);
        let cut = must_complete("server", server).await.expect("task").expect("serve");
        assert_eq!(cut, 0, "every connection finished");
    });
}

/// The wait for open connections is bounded: one that never closes is cut after the grace
/// period, and the server still returns `Ok`.
#[test]
fn echo_example_shutdown_is_bounded() {
    use minirt::io::{AsyncReadExt, AsyncWriteExt};
    use minirt::net::{TcpListener, TcpStream};

    serially("echo_example_shutdown_is_bounded", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = minirt::spawn(echo_example::serve(listener, Duration::from_millis(100)));
        let mut idle = TcpStream::connect(addr).await.expect("connect");
        // One echo: the server has accepted it before the signal.
        let mut byte = [0u8; 1];
        idle.write_all(b"x").await.expect("write");
        must_complete("echo", idle.read_exact(&mut byte)).await.expect("read");
        send_signal(libc::SIGINT);
        let cut = must_complete("server", server).await.expect("task").expect("serve");
        assert_eq!(cut, 1, "the idle connection was cut");
    });
}

// `main` and some constants are for the binary only; `support/accept.rs` and
// `support/shutdown.rs` are loaded by both examples, so twice here.
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../examples/http.rs"]
mod http_example;

/// The http example's graceful shutdown: a kept-alive connection gets the answer to the request
/// it sends after the signal, and is then closed by the server; the server returns with nothing
/// cut.
#[test]
fn http_example_closes_kept_alive_connections_after_their_request() {
    use minirt::io::{AsyncReadExt, AsyncWriteExt};
    use minirt::net::{TcpListener, TcpStream};

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    serially("http_example_closes_kept_alive_connections_after_their_request", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let timeouts = http_example::http_proto::Timeouts::default();
        let server =
            minirt::spawn(http_example::serve_until_signal(listener, timeouts, common::HANG_LIMIT));
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let mut buf = vec![0u8; 4096];
        client.write_all(GET).await.expect("write");
        let n = must_complete("first response", client.read(&mut buf)).await.expect("read");
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200 OK"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );

        send_signal(libc::SIGTERM);
        // Wait until the server has seen the signal (its listener refuses connections).
        let mut refused = false;
        for _ in 0..200 {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    refused = true;
                    break;
                }
                _ => delay(Duration::from_millis(5)).await,
            }
        }
        assert!(refused, "the listener closes on SIGTERM");

        client.write_all(GET).await.expect("write after the signal");
        let mut rest = Vec::new();
        must_complete("response, then close", client.read_to_end(&mut rest))
            .await
            .expect("read to EOF");
        assert!(rest.starts_with(b"HTTP/1.1 200 OK"), "{:?}", String::from_utf8_lossy(&rest));
        drop(client);
        let cut = must_complete("server", server).await.expect("task").expect("serve");
        assert_eq!(cut, 0, "every connection finished");
    });
}
