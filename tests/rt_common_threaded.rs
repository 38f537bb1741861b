//! tokio's rt_common.rs tests that involve threads (the blocking pool, other threads, load,
//! shutdown), ported with `tokio` renamed to `minirt` and run on three runtimes each: the
//! current-thread one and the multi-thread one with 1 and 4 workers, as tokio's `rt_test!`.

mod common;

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use futures_channel::oneshot;
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::runtime::{Builder, Runtime};
use minirt::task;

/// A minimal executor that sets no minirt context (tokio's tests use `futures::executor`).
fn plain_block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread, AtomicBool);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.1.store(true, Ordering::SeqCst);
            self.0.unpark();
        }
    }
    let state = Arc::new(Unpark(thread::current(), AtomicBool::new(false)));
    let waker = Waker::from(state.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        while !state.1.swap(false, Ordering::SeqCst) {
            thread::park();
        }
    }
}

/// Yields once without `yield_now` (tokio's `yield_once`).
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

macro_rules! rt_test {
    ($($t:tt)*) => {
        mod current_thread_scheduler {
            use super::*;
            $($t)*
            fn rt() -> Arc<Runtime> {
                Arc::new(Builder::new_current_thread().enable_all().build().expect("rt"))
            }
        }
        mod threaded_scheduler_4_threads {
            use super::*;
            $($t)*
            fn rt() -> Arc<Runtime> {
                Arc::new(Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("rt"))
            }
        }
        mod threaded_scheduler_1_thread {
            use super::*;
            $($t)*
            fn rt() -> Arc<Runtime> {
                Arc::new(Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt"))
            }
        }
    };
}

rt_test! {
    #[test]
    fn spawn_from_blocking() {
        let _watchdog = watchdog("spawn_from_blocking");
        let rt = rt();
        let out = rt.block_on(async move {
            let inner = task::spawn_blocking(|| minirt::spawn(async move { "hello" }))
                .await
                .expect("joined");
            inner.await.expect("joined")
        });
        assert_eq!(out, "hello")
    }

    #[test]
    fn spawn_blocking_from_blocking() {
        let _watchdog = watchdog("spawn_blocking_from_blocking");
        let rt = rt();
        let out = rt.block_on(async move {
            let inner = task::spawn_blocking(|| task::spawn_blocking(|| "hello"))
                .await
                .expect("joined");
            inner.await.expect("joined")
        });
        assert_eq!(out, "hello")
    }

    #[test]
    fn sleep_from_blocking() {
        let _watchdog = watchdog("sleep_from_blocking");
        let rt = rt();
        rt.block_on(async move {
            task::spawn_blocking(|| {
                let now = Instant::now();
                let dur = Duration::from_millis(1);
                plain_block_on(async { minirt::time::sleep(dur).await });
                assert!(now.elapsed() >= dur);
            })
            .await
            .expect("joined");
        });
    }

    #[test]
    fn socket_from_blocking() {
        let _watchdog = watchdog("socket_from_blocking");
        let rt = rt();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            let peer = task::spawn_blocking(move || {
                plain_block_on(async { TcpStream::connect(addr).await.expect("connect") });
            });
            let _ = listener.accept().await.expect("accept");
            peer.await.expect("joined");
        });
    }

    #[test]
    fn always_active_parker() {
        let _watchdog = watchdog("always_active_parker");
        let rt = rt();
        let rt2 = rt.clone();
        let (tx1, rx1) = oneshot::channel::<()>();
        let (tx2, rx2) = oneshot::channel::<()>();
        let jh1 = thread::spawn(move || {
            rt.block_on(async move {
                rx2.await.expect("sent");
                minirt::time::sleep(Duration::from_millis(5)).await;
                tx1.send(()).expect("receiver alive");
            });
        });
        let jh2 = thread::spawn(move || {
            rt2.block_on(async move {
                tx2.send(()).expect("receiver alive");
                minirt::time::sleep(Duration::from_millis(5)).await;
                rx1.await.expect("sent");
                minirt::time::sleep(Duration::from_millis(5)).await;
            });
        });
        jh1.join().expect("thread 1");
        jh2.join().expect("thread 2");
    }

    #[test]
    fn io_driver_called_when_under_load() {
        let _watchdog = watchdog("io_driver_called_when_under_load");
        let rt = rt();
        for _ in 0..100 {
            rt.spawn(async {
                loop {
                    std::future::poll_fn::<(), _>(|cx| {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    })
                    .await;
                }
            });
        }
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            let srv = minirt::spawn(async move {
                let (mut stream, _) = listener.accept().await.expect("accept");
                stream.write_all(b"hello world").await.expect("write");
            });
            let cli = minirt::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let mut dst = vec![0; 11];
                stream.read_exact(&mut dst).await.expect("read");
                assert_eq!(dst, b"hello world");
            });
            srv.await.expect("server");
            cli.await.expect("client");
        });
    }

    #[test]
    fn eagerly_drops_futures_on_shutdown() {
        let _watchdog = watchdog("eagerly_drops_futures_on_shutdown");
        struct Never {
            drop_tx: std::sync::mpsc::Sender<()>,
        }
        impl Future for Never {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
                Poll::Pending
            }
        }
        impl Drop for Never {
            fn drop(&mut self) {
                let _ = self.drop_tx.send(());
            }
        }
        let rt = rt();
        let (drop_tx, drop_rx) = std::sync::mpsc::channel();
        let (run_tx, run_rx) = oneshot::channel();
        rt.block_on(async move {
            minirt::spawn(async move {
                run_tx.send(()).expect("receiver alive");
                Never { drop_tx }.await
            });
            run_rx.await.expect("ran");
        });
        drop(rt);
        drop_rx.recv_timeout(Duration::from_secs(20)).expect("dropped at shutdown");
    }

    #[test]
    fn shutdown_timeout_0() {
        let _watchdog = watchdog("shutdown_timeout_0");
        let runtime = rt();
        runtime.block_on(async move {
            task::spawn_blocking(move || thread::sleep(Duration::from_secs(3)));
        });
        let now = Instant::now();
        Arc::try_unwrap(runtime).expect("one owner").shutdown_timeout(Duration::from_nanos(0));
        assert!(now.elapsed().as_secs() < 1);
    }

    #[test]
    fn shutdown_wakeup_time() {
        let _watchdog = watchdog("shutdown_wakeup_time");
        let runtime = rt();
        runtime.block_on(async move {
            minirt::time::sleep(Duration::from_millis(100)).await;
        });
        Arc::try_unwrap(runtime).expect("one owner").shutdown_timeout(Duration::from_secs(10_000));
    }

    #[test]
    fn shutdown_concurrent_spawn() {
        let _watchdog = watchdog("shutdown_concurrent_spawn");
        const NUM_TASKS: usize = 10_000;
        for _ in 0..5 {
            let (tx, rx) = std::sync::mpsc::channel();
            let rt = rt();
            let mut txs = vec![];
            for _ in 0..NUM_TASKS {
                let (tx, rx) = oneshot::channel::<()>();
                txs.push(tx);
                rt.spawn(async move {
                    let _ = rx.await;
                });
            }
            rt.block_on(async { task::yield_now().await });
            let th = thread::spawn(move || {
                tx.send(()).expect("the test waits");
                for tx in txs.drain(..) {
                    let _ = tx.send(());
                }
            });
            rx.recv().expect("started");
            drop(rt);
            th.join().expect("thread");
        }
    }

    #[test]
    fn complete_task_under_load() {
        let _watchdog = watchdog("complete_task_under_load");
        let rt = rt();
        rt.block_on(async {
            let (tx1, rx1) = oneshot::channel::<()>();
            let (tx2, rx2) = oneshot::channel::<()>();
            minirt::spawn(async {
                loop {
                    yield_once().await;
                }
            });
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                tx1.send(()).expect("receiver alive");
            });
            minirt::spawn(async move {
                rx1.await.expect("sent");
                tx2.send(()).expect("receiver alive");
            });
            rx2.await.expect("sent");
        });
    }

    #[test]
    fn panic_in_task() {
        let _watchdog = watchdog("panic_in_task");
        let rt = rt();
        let err = rt
            .block_on(async { minirt::spawn(async { panic!("boom") }).await })
            .expect_err("the task panicked");
        assert!(err.is_panic());
        // The runtime survives the panic.
        assert_eq!(rt.block_on(async { minirt::spawn(async { 1 }).await.expect("joined") }), 1);
    }

    #[test]
    fn client_server_block_on() -> io::Result<()> {
        let _watchdog = watchdog("client_server_block_on");
        let rt = rt();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = minirt::spawn(async move {
                let (mut socket, _) = listener.accept().await?;
                socket.write_all(b"hello").await
            });
            let mut client = TcpStream::connect(addr).await?;
            let mut buf = vec![];
            client.read_to_end(&mut buf).await?;
            assert_eq!(buf, b"hello");
            server.await?
        })
    }
}
