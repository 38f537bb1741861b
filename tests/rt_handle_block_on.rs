//! `Handle::block_on` from plain threads, on both flavors, before and after shutdown: ported
//! from tokio's rt_handle_block_on.rs (`tokio` renamed to `minirt`; tokio's runtime-neutral
//! `sync::mpsc` stands in for a channel).

mod common;

use std::time::Duration;

use common::watchdog;
use minirt::runtime::{Builder, Handle, Runtime};
use minirt::task;

fn new_multi_thread(n: usize) -> Runtime {
    Builder::new_multi_thread().worker_threads(n).enable_all().build().expect("runtime")
}

fn new_current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// Runs `f` inside each kind of runtime, before and after shutting it down.
fn test_with_runtimes(f: impl Fn()) {
    for rt in [new_current_thread(), new_multi_thread(1), new_multi_thread(4)] {
        let _enter = rt.enter();
        f();
        rt.shutdown_timeout(Duration::from_secs(1000));
        f();
    }
}

#[test]
fn basic() {
    let _watchdog = watchdog("basic");
    test_with_runtimes(|| {
        let one = Handle::current().block_on(async { 1 });
        assert_eq!(1, one);
    });
}

#[test]
fn bounded_mpsc_channel() {
    let _watchdog = watchdog("bounded_mpsc_channel");
    test_with_runtimes(|| {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        Handle::current().block_on(tx.send(42)).expect("sent");
        let value = Handle::current().block_on(rx.recv()).expect("received");
        assert_eq!(value, 42);
    });
}

#[test]
fn unbounded_mpsc_channel() {
    let _watchdog = watchdog("unbounded_mpsc_channel");
    test_with_runtimes(|| {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = tx.send(42);
        let value = Handle::current().block_on(rx.recv()).expect("received");
        assert_eq!(value, 42);
    })
}

#[test]
fn yield_in_block_in_place() {
    let _watchdog = watchdog("yield_in_block_in_place");
    test_with_runtimes(|| {
        Handle::current().block_on(async {
            task::block_in_place(|| {
                Handle::current().block_on(task::yield_now());
            });
        });
    })
}

/// The tests tokio runs on every flavor (`rt_test!`).
macro_rules! rt_test {
    ($($t:tt)*) => {
        mod current_thread_scheduler {
            use super::*;
            $($t)*
            fn rt() -> Runtime {
                new_current_thread()
            }
        }
        mod threaded_scheduler_4_threads {
            use super::*;
            $($t)*
            fn rt() -> Runtime {
                new_multi_thread(4)
            }
        }
        mod threaded_scheduler_1_thread {
            use super::*;
            $($t)*
            fn rt() -> Runtime {
                new_multi_thread(1)
            }
        }
    };
}

rt_test! {
    #[test]
    fn basic_spawn_blocking() {
        let _watchdog = watchdog("basic_spawn_blocking");
        let rt = rt();
        let _enter = rt.enter();
        let answer = Handle::current()
            .block_on(task::spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(100));
                42
            }))
            .expect("joined");
        assert_eq!(answer, 42);
    }

    /// tokio's `fs_shutdown_before_started`: a file operation after shutdown fails with
    /// "background task failed".
    #[test]
    fn fs_shutdown_before_started() {
        let _watchdog = watchdog("fs_shutdown_before_started");
        let rt = rt();
        let _enter = rt.enter();
        rt.shutdown_timeout(Duration::from_secs(1000));
        let err: std::io::Error = Handle::current()
            .block_on(minirt::fs::read_to_string("Cargo.toml"))
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Other);
        let inner_err = err.get_ref().expect("no inner error");
        assert_eq!(inner_err.to_string(), "background task failed");
    }

    /// tokio's `stdout_shutdown_before_started`, but at the flush: stdout/stderr after shutdown
    /// fail with the runtime-shutdown error. (tokio's write already fails: its pool refuses the
    /// job; minirt's hands the write to the pool and learns of the refusal when it waits.)
    #[test]
    fn stdout_shutdown_before_started() {
        use minirt::io::AsyncWriteExt;
        let _watchdog = watchdog("stdout_shutdown_before_started");
        let rt = rt();
        let _enter = rt.enter();
        rt.shutdown_timeout(Duration::from_secs(1000));
        let err = Handle::current()
            .block_on(async {
                let mut out = minirt::io::stdout();
                out.write_all(b"x").await?;
                out.flush().await
            })
            .unwrap_err();
        assert!(minirt::runtime::is_rt_shutdown_err(&err), "{err}");
        let err = Handle::current()
            .block_on(async {
                let mut out = minirt::io::stderr();
                out.write_all(b"x").await?;
                out.flush().await
            })
            .unwrap_err();
        assert!(minirt::runtime::is_rt_shutdown_err(&err), "{err}");
    }

    #[test]
    fn spawn_blocking_after_shutdown_fails() {
        let _watchdog = watchdog("spawn_blocking_after_shutdown_fails");
        let rt = rt();
        let _enter = rt.enter();
        rt.shutdown_timeout(Duration::from_secs(1000));
        let join_err = Handle::current()
            .block_on(task::spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(100));
                42
            }))
            .expect_err("refused after shutdown");
        assert!(join_err.is_cancelled());
    }

    #[test]
    fn spawn_blocking_started_before_shutdown_continues() {
        let _watchdog = watchdog("spawn_blocking_started_before_shutdown_continues");
        let rt = rt();
        let _enter = rt.enter();
        let handle = task::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(300));
            42
        });
        rt.shutdown_timeout(Duration::from_secs(1000));
        let answer = Handle::current().block_on(handle).expect("joined");
        assert_eq!(answer, 42);
    }

    #[test]
    fn thread_park_ok() {
        let _watchdog = watchdog("thread_park_ok");
        use core::task::Poll;
        let rt = rt();
        let mut exit = false;
        rt.handle().block_on(core::future::poll_fn(move |cx| {
            if exit {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            // Consuming the park token must not result in a hang.
            std::thread::current().unpark();
            std::thread::park();
            exit = true;
            Poll::Pending
        }));
    }

    #[test]
    fn tcp_listener_bind() {
        let _watchdog = watchdog("tcp_listener_bind");
        let rt = rt();
        let _enter = rt.enter();
        Handle::current()
            .block_on(minirt::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
    }

    #[test]
    fn tcp_listener_bind_after_shutdown_fails() {
        let _watchdog = watchdog("tcp_listener_bind_after_shutdown_fails");
        let rt = rt();
        let _enter = rt.enter();
        rt.shutdown_timeout(Duration::from_secs(1000));
        let bound = Handle::current().block_on(minirt::net::TcpListener::bind("127.0.0.1:0"));
        let err = bound.expect_err("the reactor is shut down");
        assert!(minirt::runtime::is_rt_shutdown_err(&err), "{err}");
        assert!(!minirt::runtime::is_rt_shutdown_err(&std::io::Error::other("other")));
    }

    /// tokio's `is_rt_shutdown_err` doc example: a listener whose runtime was dropped fails
    /// its `accept` in another runtime with the shutdown error.
    #[test]
    fn io_of_a_dropped_runtime_fails_with_the_shutdown_error() {
        let _watchdog = watchdog("io_of_a_dropped_runtime_fails_with_the_shutdown_error");
        let rt1 = rt();
        let rt2 = rt();
        let listener = rt1.block_on(minirt::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        drop(rt1);
        rt2.block_on(async {
            let err = listener.accept().await.expect_err("its runtime is gone");
            assert!(minirt::runtime::is_rt_shutdown_err(&err), "{err}");
        });
    }

    #[test]
    #[should_panic(
        expected = "Cannot start a runtime from within a runtime. This happens because a function (like `block_on`) attempted to block the current thread while the thread is being used to drive asynchronous tasks. If you are in an async function, use `.await` on the future instead of blocking on it."
    )]
    fn nesting() {
        fn some_non_async_function() -> i32 {
            Handle::current().block_on(async {});
            1
        }
        let rt = rt();
        rt.block_on(async { some_non_async_function() });
    }

    #[test]
    fn spawn_after_runtime_dropped() {
        let _watchdog = watchdog("spawn_after_runtime_dropped");
        use futures_util::future::FutureExt;
        let rt = rt();
        let handle = rt.block_on(async move { Handle::current() });
        let jh1 = handle.spawn(std::future::pending::<()>());
        drop(rt);
        let jh2 = handle.spawn(std::future::pending::<()>());
        let err1 = jh1.now_or_never().expect("finished").expect_err("cancelled");
        let err2 = jh2.now_or_never().expect("finished").expect_err("cancelled");
        assert!(err1.is_cancelled());
        assert!(err2.is_cancelled());
    }
}

/// Timers need a thread that drives them: on a multi-thread runtime the workers do, so
/// `Handle::block_on` may sleep (on a current-thread runtime nobody would, as in tokio).
mod threaded_only {
    use super::*;

    #[test]
    fn sleep() {
        let _watchdog = watchdog("sleep");
        for n in [1, 4] {
            let rt = new_multi_thread(n);
            let _enter = rt.enter();
            let start = std::time::Instant::now();
            Handle::current().block_on(minirt::time::sleep(Duration::from_millis(100)));
            assert!(start.elapsed() >= Duration::from_millis(100));
        }
    }

    #[test]
    #[should_panic(expected = "context was found, but it is being shutdown")]
    fn sleep_before_shutdown_panics() {
        let _watchdog = watchdog("sleep_before_shutdown_panics");
        let rt = new_multi_thread(2);
        let _enter = rt.enter();
        let f = minirt::time::sleep(Duration::from_millis(100));
        rt.shutdown_timeout(Duration::from_secs(1000));
        Handle::current().block_on(f);
    }

    #[test]
    #[should_panic(expected = "context was found, but it is being shutdown")]
    fn sleep_after_shutdown_panics() {
        let _watchdog = watchdog("sleep_after_shutdown_panics");
        let rt = new_multi_thread(2);
        let _enter = rt.enter();
        rt.shutdown_timeout(Duration::from_secs(1000));
        Handle::current().block_on(minirt::time::sleep(Duration::from_millis(100)));
    }

    /// A sleep registered while the runtime ran, polled again after it shut down: it would
    /// never fire, so it panics instead of hanging (tokio's time driver does the same).
    #[test]
    #[should_panic(expected = "context was found, but it is being shutdown")]
    fn a_registered_sleep_polled_after_shutdown_panics() {
        let _watchdog = watchdog("a_registered_sleep_polled_after_shutdown_panics");
        let rt = new_multi_thread(2);
        let _enter = rt.enter();
        let mut sleep = Box::pin(minirt::time::sleep(Duration::from_secs(100)));
        Handle::current().block_on(async {
            let registered = std::future::poll_fn(|cx| {
                assert!(std::future::Future::poll(sleep.as_mut(), cx).is_pending());
                std::task::Poll::Ready(())
            });
            registered.await
        });
        rt.shutdown_timeout(Duration::from_secs(1000));
        Handle::current().block_on(sleep);
    }

    #[test]
    fn io_from_a_plain_thread() {
        let _watchdog = watchdog("io_from_a_plain_thread");
        use minirt::io::{AsyncReadExt, AsyncWriteExt};
        let rt = new_multi_thread(2);
        let handle = rt.handle().clone();
        let out = std::thread::spawn(move || {
            handle.block_on(async {
                let listener = minirt::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let server = minirt::spawn(async move {
                    let (mut s, _) = listener.accept().await?;
                    s.write_all(b"hi").await
                });
                let mut client = minirt::net::TcpStream::connect(addr).await?;
                let mut buf = Vec::new();
                client.read_to_end(&mut buf).await?;
                server.await??;
                Ok::<_, std::io::Error>(buf)
            })
        })
        .join()
        .expect("thread");
        assert_eq!(out.expect("io"), b"hi");
    }
}

/// `Runtime::block_on` from several threads at once on a current-thread runtime: one drives
/// the loop, the others wait, and take the loop over when it returns (tokio's behaviour).
#[test]
fn current_thread_block_on_from_many_threads() {
    let _watchdog = watchdog("current_thread_block_on_from_many_threads");
    let rt = std::sync::Arc::new(new_current_thread());
    let threads: Vec<_> = (0..4u64)
        .map(|i| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                rt.block_on(async move {
                    // Each needs the loop at some point: a spawned task and a timer.
                    let task = minirt::spawn(async move { i * 2 });
                    minirt::time::sleep(Duration::from_millis(20 * (i + 1))).await;
                    task.await.expect("joined")
                })
            })
        })
        .collect();
    let outs: Vec<u64> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
    assert_eq!(outs, vec![0, 2, 4, 6]);
}
