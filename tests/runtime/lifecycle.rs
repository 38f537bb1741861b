//! The runtime itself: waking a parked loop from other threads, `Handle` and `enter`, builders,
//! reuse across `block_on` calls, and what happens to tasks and I/O objects when a runtime is
//! dropped.

use crate::common;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{connected_pair, must_complete, settle, watchdog};
use futures_util::future::FutureExt;
use futures_util::stream::StreamExt;
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::runtime::{Builder, Handle, Runtime};
use minirt::task::JoinHandle;

fn new_runtime() -> Runtime {
    Builder::new_current_thread().build().expect("build a runtime")
}

/// The `block_on` future waits on a channel whose sender fires from a std thread 50 ms later,
/// while the loop sleeps in `epoll_wait`: the wake must interrupt it (eventfd). Then the same
/// for a spawned task (the injection queue).
#[test]
fn a_waker_fired_from_another_thread_wakes_the_parked_runtime() {
    let _watchdog = watchdog("a_waker_fired_from_another_thread_wakes_the_parked_runtime");
    let rt = new_runtime();

    let (tx, rx) = futures_channel::oneshot::channel::<&'static str>();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        tx.send("from the block_on waker").expect("receiver alive");
    });
    let got = rt.block_on(must_complete("oneshot in block_on", rx));
    assert_eq!(got, Ok("from the block_on waker"));
    sender.join().expect("sender thread");

    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    let task = rt.spawn(async move { rx.await.expect("sent") * 2 });
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        tx.send(21).expect("receiver alive");
    });
    let got = rt.block_on(must_complete("oneshot in a task", task));
    assert_eq!(got.expect("task"), 42);
    sender.join().expect("sender thread");
}

/// 2,000 round trips between a std thread and a task. Each time the task waits, the loop parks;
/// a lost wake-up anywhere (the parked flag, the eventfd, the injection queue) stalls it.
#[test]
fn ping_pong_with_a_std_thread_loses_no_wake_up() {
    let _watchdog = watchdog("ping_pong_with_a_std_thread_loses_no_wake_up");
    const ROUNDS: u32 = 2_000;
    let rt = new_runtime();
    let (to_task, mut task_rx) = futures_channel::mpsc::unbounded::<u32>();
    let (to_thread, thread_rx) = mpsc::channel::<u32>();
    let task = rt.spawn(async move {
        let mut count = 0;
        while let Some(n) = task_rx.next().await {
            to_thread.send(n + 1).expect("thread alive");
            count += 1;
        }
        count
    });
    let pinger = thread::spawn(move || {
        for i in 0..ROUNDS {
            to_task.unbounded_send(i * 2).expect("task alive");
            let back = thread_rx.recv_timeout(Duration::from_secs(10)).expect("a reply in time");
            assert_eq!(back, i * 2 + 1);
        }
    });
    let count = rt.block_on(must_complete("ping pong", task)).expect("task");
    assert_eq!(count, ROUNDS);
    pinger.join().expect("pinger thread");
}

/// `Handle::spawn` from another thread while the runtime is parked: the task runs, sees the
/// runtime as its current one, and its `JoinHandle` (awaited back on the runtime) has its
/// output. Then four threads spawn 250 tasks each, concurrently.
#[test]
fn handle_spawn_from_other_threads_while_parked() {
    let _watchdog = watchdog("handle_spawn_from_other_threads_while_parked");
    let rt = new_runtime();
    let handle = rt.handle().clone();
    let (tx, rx) = futures_channel::oneshot::channel::<bool>();
    let spawner = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        handle.spawn(async move {
            let _ = tx.send(Handle::try_current().is_ok());
            7
        })
    });
    let (in_runtime, output) = rt.block_on(async {
        let in_runtime = must_complete("the remotely spawned task runs", rx).await;
        let join_handle = spawner.join().expect("spawner thread");
        (in_runtime, must_complete("join", join_handle).await)
    });
    assert_eq!(in_runtime, Ok(true), "a task runs inside its runtime");
    assert_eq!(output.expect("task"), 7);

    let ran = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done_rx) = futures_channel::mpsc::unbounded::<usize>();
    let spawners: Vec<_> = (0..4)
        .map(|t| {
            let handle = rt.handle().clone();
            let ran = ran.clone();
            let done_tx = done_tx.clone();
            thread::spawn(move || {
                (0..250)
                    .map(|i| {
                        let ran = ran.clone();
                        let done_tx = done_tx.clone();
                        handle.spawn(async move {
                            ran.fetch_add(1, Ordering::SeqCst);
                            done_tx.unbounded_send(t * 1000 + i).expect("receiver alive");
                            t * 1000 + i
                        })
                    })
                    .collect::<Vec<JoinHandle<usize>>>()
            })
        })
        .collect();
    drop(done_tx);
    let received = rt.block_on(must_complete("1,000 remote spawns", async {
        let mut sum = 0;
        for _ in 0..1000 {
            sum += done_rx.next().await.expect("a message per task");
        }
        sum
    }));
    let mut joined = 0;
    for spawner in spawners {
        for handle in spawner.join().expect("spawner thread") {
            joined += rt.block_on(must_complete("join", handle)).expect("task");
        }
    }
    let expected: usize = (0..4).map(|t| (0..250).map(|i| t * 1000 + i).sum::<usize>()).sum();
    assert_eq!(received, expected);
    assert_eq!(joined, expected);
    assert_eq!(ran.load(Ordering::SeqCst), 1000);
}

/// `Runtime::enter` makes the runtime current outside `block_on`: `spawn`, `Handle::current`
/// and registering sockets work, and stop working when the guard drops.
#[test]
fn enter_makes_the_runtime_current_outside_block_on() {
    let _watchdog = watchdog("enter_makes_the_runtime_current_outside_block_on");
    let rt = new_runtime();
    assert!(Handle::try_current().is_err());
    let (task, listener) = {
        let _guard = rt.enter();
        let handle = Handle::current();
        let task = handle.spawn(async { minirt::spawn(async { 40 }).await.expect("inner") + 2 });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let listener = TcpListener::from_std(std_listener).expect("register under enter");
        (task, listener)
    };
    assert!(Handle::try_current().is_err(), "the guard restores 'no runtime'");
    assert_eq!(rt.block_on(must_complete("task", task)).expect("task"), 42);
    let addr = listener.local_addr().expect("addr");
    let accepted = rt.block_on(async {
        let _client = TcpStream::connect(addr).await?;
        must_complete("accept", listener.accept()).await
    });
    assert!(accepted.is_ok(), "{accepted:?}");
}

/// Tasks spawned before `block_on`, and tasks left waiting by one `block_on`, run in the next.
#[test]
fn a_runtime_keeps_its_tasks_across_block_on_calls() {
    let _watchdog = watchdog("a_runtime_keeps_its_tasks_across_block_on_calls");
    let rt = new_runtime();
    let early = rt.spawn(async { "spawned before block_on" });
    assert_eq!(rt.block_on(early).expect("task"), "spawned before block_on");

    let (tx, rx) = futures_channel::oneshot::channel::<u8>();
    let started = Arc::new(AtomicUsize::new(0));
    let task_started = started.clone();
    let waiting = rt.spawn(async move {
        task_started.fetch_add(1, Ordering::SeqCst);
        rx.await.expect("sent")
    });
    rt.block_on(settle());
    assert_eq!(started.load(Ordering::SeqCst), 1, "the task ran");
    assert!(!waiting.is_finished(), "and now waits on its channel");
    tx.send(3).expect("the task is still alive between block_on calls");
    assert_eq!(rt.block_on(must_complete("task", waiting)).expect("task"), 3);
}

/// The builders tokio users reach for all build a working runtime.
#[test]
fn builders_build_working_runtimes() {
    let _watchdog = watchdog("builders_build_working_runtimes");
    let runtimes = [
        Runtime::new().expect("Runtime::new"),
        Builder::new_current_thread().enable_all().build().expect("current_thread"),
        Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .enable_time()
            .build()
            .expect("mt"),
    ];
    for rt in &runtimes {
        let out = rt.block_on(async {
            let (mut client, mut server) = connected_pair().await?;
            client.write_all(b"ok").await?;
            let mut buf = [0u8; 2];
            must_complete("read", server.read_exact(&mut buf)).await?;
            let task = minirt::spawn(async move { buf });
            Ok::<_, io::Error>(task.await?)
        });
        assert_eq!(&out.expect("round trip"), b"ok");
    }
    let zero = std::panic::catch_unwind(|| {
        Builder::new_multi_thread().worker_threads(0);
    });
    assert!(zero.is_err(), "worker_threads(0) is refused");
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_macro_accepts_the_multi_thread_flavor() -> io::Result<()> {
    let _watchdog = watchdog("the_test_macro_accepts_the_multi_thread_flavor");
    let (mut client, mut server) = connected_pair().await?;
    let echo = minirt::spawn(async move {
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).await?;
        server.write_all(&buf).await?;
        Ok::<_, io::Error>(())
    });
    client.write_all(b"hello").await?;
    let mut buf = [0u8; 5];
    must_complete("echo", client.read_exact(&mut buf)).await?;
    assert_eq!(&buf, b"hello");
    must_complete("echo task", echo).await??;
    Ok(())
}

/// Dropping a runtime drops every task's future (their channels see the receiver gone), their
/// handles report cancellation, a task spawned while the futures are being dropped is refused
/// (cancelled, never run), and a `Handle` that outlives the runtime spawns only cancelled tasks.
#[test]
fn dropping_a_runtime_cancels_its_tasks() {
    let _watchdog = watchdog("dropping_a_runtime_cancels_its_tasks");
    struct SpawnOnDrop(Arc<Mutex<Option<JoinHandle<()>>>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(minirt::spawn(async {}));
        }
    }

    let rt = new_runtime();
    let started = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..10 {
        let (tx, rx) = futures_channel::oneshot::channel::<()>();
        senders.push(tx);
        let started = started.clone();
        handles.push(rt.spawn(async move {
            started.fetch_add(1, Ordering::SeqCst);
            rx.await.is_ok()
        }));
    }
    // One spawning from its destructor.
    let spawned_in_drop = Arc::new(Mutex::new(None));
    let guard = SpawnOnDrop(spawned_in_drop.clone());
    handles.push(rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
        true
    }));
    rt.block_on(settle());
    assert_eq!(started.load(Ordering::SeqCst), 10, "the tasks ran and now wait");
    // And one never polled at all.
    handles.push(rt.spawn(async { true }));
    let handle = rt.handle().clone();
    drop(rt);

    for tx in &senders {
        assert!(tx.is_canceled(), "the task's future (holding the receiver) was dropped");
    }
    let late = handle.spawn(async { 1 });
    let rt2 = new_runtime();
    for handle in handles {
        let err = rt2.block_on(must_complete("join", handle)).expect_err("cancelled");
        assert!(err.is_cancelled(), "{err:?}");
    }
    let err = rt2.block_on(must_complete("late", late)).expect_err("spawned after shutdown");
    assert!(err.is_cancelled(), "{err:?}");
    let in_drop = spawned_in_drop.lock().unwrap().take().expect("the destructor ran");
    let err = rt2.block_on(must_complete("spawned in drop", in_drop)).expect_err("refused");
    assert!(err.is_cancelled(), "{err:?}");
}

/// Sockets that outlive their runtime: every operation fails at once with an error instead of
/// waiting for a loop that no longer runs, whether polled with no runtime at all or from a new
/// one. A task that was waiting on a read when the runtime dropped is cancelled.
#[test]
fn io_objects_that_outlive_their_runtime_fail_instead_of_hanging() {
    let _watchdog = watchdog("io_objects_that_outlive_their_runtime_fail_instead_of_hanging");
    let rt = new_runtime();
    let (listener, mut client, mut server, waiting) = rt
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let (client, server) = connected_pair().await?;
            let (reader_client, _reader_server) = connected_pair().await?;
            let waiting = minirt::spawn(async move {
                let _keep = _reader_server;
                let mut buf = [0u8; 8];
                (&reader_client).read(&mut buf).await
            });
            settle().await;
            assert!(!waiting.is_finished());
            (&server).write_all(b"unread").await?;
            Ok::<_, io::Error>((listener, client, server, waiting))
        })
        .expect("setup");
    drop(rt);

    // Polled once with no runtime at all: an immediate error, never Pending.
    let mut buf = [0u8; 8];
    let read = client.read(&mut buf).now_or_never().expect("an answer at once, not Pending");
    let err = read.expect_err("the runtime is gone");
    assert!(err.to_string().contains("shut down"), "{err}");
    let write = server.write(b"x").now_or_never().expect("an answer at once");
    assert!(write.is_err(), "{write:?}");
    let readable = client.readable().now_or_never().expect("an answer at once");
    assert!(readable.is_err(), "{readable:?}");
    assert!(client.try_read(&mut buf).is_err());
    let accept = listener.accept().now_or_never().expect("an answer at once");
    assert!(accept.is_err(), "{accept:?}");

    // From a new runtime: still errors, not hangs; the old task was cancelled; and the new
    // runtime's own sockets work.
    let rt2 = new_runtime();
    rt2.block_on(async {
        let err = must_complete("read", client.read(&mut buf)).await.expect_err("gone");
        assert!(err.to_string().contains("shut down"), "{err}");
        let err = must_complete("write_all", server.write_all(b"x")).await.expect_err("gone");
        assert!(err.to_string().contains("shut down"), "{err}");
        let err = must_complete("accept", listener.accept()).await.expect_err("gone");
        assert!(err.to_string().contains("shut down"), "{err}");
        let join = must_complete("cancelled task", waiting).await.expect_err("cancelled");
        assert!(join.is_cancelled(), "{join:?}");

        let (mut fresh_client, mut fresh_server) = connected_pair().await.expect("pair");
        fresh_client.write_all(b"fresh").await.expect("write");
        let mut five = [0u8; 5];
        must_complete("read", fresh_server.read_exact(&mut five)).await.expect("read");
        assert_eq!(&five, b"fresh");
    });
}

/// A waker that fires from a thread-local destructor while its thread exits, after minirt's own
/// thread-local on that thread is already gone, must still wake the task (through the injection
/// queue); otherwise the task is marked woken but never queued, and hangs.
#[test]
fn a_wake_during_thread_exit_still_reaches_the_runtime() {
    use std::cell::RefCell;
    use std::task::{Poll, Waker};

    struct WakeOnDrop(RefCell<Option<Waker>>);
    impl Drop for WakeOnDrop {
        fn drop(&mut self) {
            if let Some(waker) = self.0.borrow_mut().take() {
                waker.wake();
            }
        }
    }
    thread_local! {
        static WAKE_ON_EXIT: WakeOnDrop = const { WakeOnDrop(RefCell::new(None)) };
    }

    let _watchdog = watchdog("a_wake_during_thread_exit_still_reaches_the_runtime");
    let rt = new_runtime();
    let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
    let woken = Arc::new(AtomicUsize::new(0));
    let task_woken = woken.clone();
    let task = rt.spawn(std::future::poll_fn(move |cx| {
        if task_woken.load(Ordering::SeqCst) > 0 {
            return Poll::Ready("woken");
        }
        waker_tx.send(cx.waker().clone()).expect("test thread alive");
        Poll::Pending
    }));
    rt.block_on(settle());
    let waker = waker_rx.recv_timeout(Duration::from_secs(20)).expect("the task ran once");

    let exiting = thread::spawn(move || {
        // Thread-local destructors run in reverse order of first use: this one was touched
        // first, so it runs after minirt's context (touched by `try_current`) is destroyed.
        WAKE_ON_EXIT.with(|slot| *slot.0.borrow_mut() = Some(waker));
        assert!(Handle::try_current().is_err());
        woken.fetch_add(1, Ordering::SeqCst);
    });
    exiting.join().expect("exiting thread");
    let got = rt.block_on(must_complete("the task woken during thread exit", task));
    assert_eq!(got.expect("task"), "woken");
}

/// `shutdown_timeout` from a task on one of the runtime's own workers (the task held the last
/// `Arc<Runtime>`): the worker cannot hand its core back while it waits for the cores, so the
/// shutdown takes that core itself and returns; the calling task is cancelled after its poll.
/// (Hung before: the shutdown waited forever for the calling worker's core.)
#[test]
fn shutdown_timeout_from_a_task_on_its_own_worker_returns() {
    let _watchdog = watchdog("shutdown_timeout_from_a_task_on_its_own_worker_returns");
    for workers in [1, 2] {
        let rt = Arc::new(
            Builder::new_multi_thread().worker_threads(workers).build().expect("build a runtime"),
        );
        let (done, finished) = mpsc::channel();
        let mine = rt.clone();
        rt.spawn(async move {
            let mut rt = mine;
            // The test thread drops its handle right after spawning this task.
            let rt = loop {
                match Arc::try_unwrap(rt) {
                    Ok(rt) => break rt,
                    Err(again) => rt = again,
                }
                minirt::task::yield_now().await;
            };
            rt.shutdown_timeout(Duration::MAX);
            done.send(()).expect("the test waits");
        });
        drop(rt);
        finished
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("shutdown_timeout on its own worker ({workers}) hung"));
    }
}

/// The last handle to a runtime dropped in one of its own `spawn_blocking` closures: the drop
/// waits for the blocking threads, except the one it runs on. (Hung before: it waited for its
/// own thread to exit.)
#[test]
fn a_runtime_dropped_on_its_own_blocking_thread_shuts_down() {
    let _watchdog = watchdog("a_runtime_dropped_on_its_own_blocking_thread_shuts_down");
    let flavors = [Builder::new_current_thread(), Builder::new_multi_thread()];
    for mut builder in flavors {
        let rt = builder.build().expect("build a runtime");
        let (give, take) = mpsc::channel::<Runtime>();
        let (done, finished) = mpsc::channel();
        let idle = rt.spawn(async { std::future::pending::<()>().await });
        rt.spawn_blocking(move || {
            let rt = take.recv().expect("the runtime is handed over");
            drop(rt);
            done.send(()).expect("the test waits");
        });
        give.send(rt).expect("the closure waits");
        finished.recv_timeout(Duration::from_secs(10)).expect("the drop returned");
        drop(idle);
    }
}

/// tokio's `Builder::name` / `Handle::name`, on both flavors, and from inside the runtime.
#[test]
fn a_runtime_name_is_given_back_by_its_handle() {
    let unnamed = Builder::new_current_thread().build().expect("runtime");
    assert!(unnamed.handle().name().is_none());
    for mut builder in [Builder::new_current_thread(), Builder::new_multi_thread()] {
        let rt = builder.name("test-runtime").build().expect("runtime");
        assert_eq!(rt.handle().name(), Some("test-runtime"));
        let inside = rt.block_on(async {
            minirt::spawn(async { Handle::current().name().map(str::to_owned) }).await
        });
        assert_eq!(inside.expect("the task").as_deref(), Some("test-runtime"));
    }
}

#[test]
#[should_panic(expected = "runtime name shouldn't be empty")]
fn an_empty_runtime_name_panics() {
    let _ = Builder::new_multi_thread().name(" ").build();
}

/// As tokio's: the runtime, its handle and the task handles can be used inside
/// `catch_unwind` (tokio's time_panic tests capture `&Runtime` there).
#[test]
fn handles_are_unwind_safe() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<minirt::runtime::Runtime>();
    unwind_safe::<minirt::runtime::Handle>();
    unwind_safe::<minirt::task::JoinHandle<()>>();
    unwind_safe::<minirt::task::AbortHandle>();
}
