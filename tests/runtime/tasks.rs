//! Tasks: spawn and join at scale, abort, panics, `yield_now`, `is_finished`, detaching, and
//! misuse (`spawn` outside a runtime, `block_on` inside one).

use crate::common;

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{connected_pair, must_complete, panic_message, settle, settle_until, watchdog};
use minirt::io::AsyncReadExt;
use minirt::runtime::{Builder, Handle, Runtime};
use minirt::task::{JoinError, JoinHandle};

/// 100,000 tasks, half of which wait once before answering; the sum of their outputs proves
/// each ran exactly once and returned through its own handle.
#[minirt::test]
async fn spawn_and_join_a_hundred_thousand_tasks() {
    let _watchdog = watchdog("spawn_and_join_a_hundred_thousand_tasks");
    const N: u64 = 100_000;
    let polls = Arc::new(AtomicUsize::new(0));
    let handles: Vec<JoinHandle<u64>> = (0..N)
        .map(|i| {
            let polls = polls.clone();
            minirt::spawn(async move {
                polls.fetch_add(1, Ordering::Relaxed);
                if i % 2 == 0 {
                    minirt::task::yield_now().await;
                }
                i * 3
            })
        })
        .collect();
    let sum = must_complete("join all", async {
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.expect("no task fails");
        }
        sum
    })
    .await;
    assert_eq!(sum, 3 * N * (N - 1) / 2);
    assert_eq!(polls.load(Ordering::Relaxed), N as usize, "each task started exactly once");
}

/// Aborting a task blocked in a socket read cancels it, and dropping its future closes the
/// socket: the peer reads EOF.
#[minirt::test]
async fn abort_a_task_blocked_on_a_read_closes_its_socket() -> io::Result<()> {
    let _watchdog = watchdog("abort_a_task_blocked_on_a_read_closes_its_socket");
    let (mut client, mut server) = connected_pair().await?;
    let started = Arc::new(AtomicBool::new(false));
    let reader = {
        let started = started.clone();
        minirt::spawn(async move {
            started.store(true, Ordering::SeqCst);
            let mut buf = [0u8; 16];
            let n = server.read(&mut buf).await;
            panic!("the read should never complete, it returned {n:?}");
        })
    };
    assert!(settle_until(10, || started.load(Ordering::SeqCst)).await, "reader started");
    settle().await;
    assert!(!reader.is_finished(), "the reader waits for data that never comes");

    reader.abort();
    let id = reader.id();
    let err: JoinError = must_complete("aborted task", reader).await.expect_err("aborted");
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!err.is_panic());
    assert_eq!(err.to_string(), format!("task {id} was cancelled"));

    let mut buf = [0u8; 16];
    let n = must_complete("peer read", client.read(&mut buf)).await?;
    assert_eq!(n, 0, "the aborted task's socket was closed: the peer sees EOF");
    Ok(())
}

/// `abort()` on a task that already finished changes nothing: its output is still there.
#[minirt::test]
async fn abort_after_completion_keeps_the_output() {
    let _watchdog = watchdog("abort_after_completion_keeps_the_output");
    let handle = minirt::spawn(async { String::from("done") });
    assert!(settle_until(10, || handle.is_finished()).await, "the task finishes");
    handle.abort();
    handle.abort();
    assert_eq!(must_complete("join", handle).await.expect("not cancelled"), "done");
}

/// A task aborted before it ever ran is cancelled without being polled.
#[minirt::test]
async fn abort_before_first_poll_never_runs_the_task() {
    let _watchdog = watchdog("abort_before_first_poll_never_runs_the_task");
    let ran = Arc::new(AtomicBool::new(false));
    let handle = {
        let ran = ran.clone();
        minirt::spawn(async move { ran.store(true, Ordering::SeqCst) })
    };
    handle.abort();
    let err = must_complete("join", handle).await.expect_err("aborted");
    assert!(err.is_cancelled());
    settle().await;
    assert!(!ran.load(Ordering::SeqCst), "an aborted task must not run");
}

/// A panicking task reports the panic, with its message, through its handle, and the runtime
/// keeps running the other tasks, including ones that were waiting when it panicked.
#[minirt::test]
async fn a_panicking_task_is_reported_and_the_runtime_keeps_going() {
    let _watchdog = watchdog("a_panicking_task_is_reported_and_the_runtime_keeps_going");
    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    let waiter = minirt::spawn(async move { rx.await.expect("sent") + 1 });

    let boom = minirt::spawn(async {
        minirt::task::yield_now().await;
        if true {
            panic!("boom {}", 7);
        }
        5u32
    });
    let id = boom.id();
    let err = must_complete("panicking task", boom).await.expect_err("it panicked");
    assert!(err.is_panic(), "{err:?}");
    assert!(!err.is_cancelled());
    assert_eq!(err.to_string(), format!("task {id} panicked with message \"boom 7\""));
    let io_err = io::Error::from(err);
    assert!(io_err.to_string().contains("boom 7"), "{io_err}");

    let boom = minirt::spawn(async { panic!("{}", String::from("owned message")) });
    let err = must_complete("panicking task", boom).await.expect_err("it panicked");
    let payload = err.into_panic();
    assert_eq!(panic_message(&*payload).as_deref(), Some("owned message"));

    // The runtime still runs tasks: the old waiter and new ones.
    tx.send(41).expect("waiter alive");
    assert_eq!(must_complete("waiter", waiter).await.expect("ok"), 42);
    let fresh = minirt::spawn(async { 6 * 7 });
    assert_eq!(must_complete("fresh task", fresh).await.expect("ok"), 42);
}

/// `try_into_panic` gives the payload of a panic and gives a cancellation back as the error.
#[minirt::test]
async fn try_into_panic_distinguishes_cancelled_from_panicked() {
    let _watchdog = watchdog("try_into_panic_distinguishes_cancelled_from_panicked");
    let (_tx, rx) = futures_channel::oneshot::channel::<()>();
    let pending = minirt::spawn(async move {
        let _ = rx.await;
    });
    settle().await;
    pending.abort();
    let err = must_complete("aborted", pending).await.expect_err("aborted");
    let err = err.try_into_panic().expect_err("a cancellation has no panic payload");
    assert!(err.is_cancelled());

    let panicked = minirt::spawn(async { panic!("payload") });
    let err = must_complete("panicked", panicked).await.expect_err("panicked");
    let payload = err.try_into_panic().expect("a panic payload");
    assert_eq!(panic_message(&*payload).as_deref(), Some("payload"));
}

/// A future that panics while it is dropped (here on abort) must not take the runtime down:
/// the handle still resolves to an error and other tasks keep running.
#[minirt::test]
async fn a_panic_while_dropping_an_aborted_future_is_contained() {
    let _watchdog = watchdog("a_panic_while_dropping_an_aborted_future_is_contained");
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("panic in drop");
        }
    }
    let (_tx, rx) = futures_channel::oneshot::channel::<()>();
    let handle = minirt::spawn(async move {
        let _guard = PanicOnDrop;
        let _ = rx.await;
    });
    settle().await;
    assert!(!handle.is_finished());
    handle.abort();
    let err = must_complete("aborted", handle).await.expect_err("aborted");
    assert!(err.is_cancelled() || err.is_panic(), "{err:?}");
    let after = minirt::spawn(async { 11 });
    assert_eq!(must_complete("next task", after).await.expect("runs"), 11);
}

/// `yield_now` sends a task to the back of the run queue: two tasks that yield after every
/// step alternate strictly.
#[minirt::test]
async fn yield_now_interleaves_two_tasks() {
    let _watchdog = watchdog("yield_now_interleaves_two_tasks");
    let log = Arc::new(Mutex::new(Vec::new()));
    let worker = |name: char| {
        let log = log.clone();
        minirt::spawn(async move {
            for i in 0..5 {
                log.lock().unwrap().push(format!("{name}{i}"));
                minirt::task::yield_now().await;
            }
        })
    };
    let a = worker('a');
    let b = worker('b');
    must_complete("a", a).await.expect("a");
    must_complete("b", b).await.expect("b");
    let log = log.lock().unwrap().join(" ");
    assert_eq!(log, "a0 b0 a1 b1 a2 b2 a3 b3 a4 b4");
}

/// `yield_now` in the `block_on` future must let spawned tasks run, as in tokio; today the
/// scheduler polls the woken `block_on` future again before running a single task, forever.
#[test]
fn yield_now_in_block_on_lets_spawned_tasks_run() {
    let _watchdog = watchdog("yield_now_in_block_on_lets_spawned_tasks_run");
    let rt = Builder::new_current_thread().build().expect("runtime");
    let flag = Arc::new(AtomicBool::new(false));
    let yields = rt.block_on(async {
        let task_flag = flag.clone();
        let _task = minirt::spawn(async move { task_flag.store(true, Ordering::SeqCst) });
        for i in 0..10_000 {
            if flag.load(Ordering::SeqCst) {
                return Some(i);
            }
            minirt::task::yield_now().await;
        }
        None
    });
    assert!(yields.is_some(), "the spawned task never ran while block_on yielded 10,000 times");
}

/// A task that yielded is held back until the loop's next look at the reactor; if `block_on`
/// returns before that, the task is handed back with the runtime's queue, not lost, and the
/// next `block_on` runs it on.
#[test]
fn a_task_yielding_when_block_on_returns_runs_at_the_next_block_on() {
    let _watchdog = watchdog("a_task_yielding_when_block_on_returns_runs_at_the_next_block_on");
    let rt = Builder::new_current_thread().build().expect("runtime");
    let rounds = Arc::new(AtomicUsize::new(0));
    let task_rounds = rounds.clone();
    let handle = rt.spawn(async move {
        for _ in 0..100 {
            task_rounds.fetch_add(1, Ordering::SeqCst);
            minirt::task::yield_now().await;
        }
    });
    // Lets the task run and yield; `block_on` returns while it waits to go again.
    rt.block_on(minirt::task::yield_now());
    let ran = rounds.load(Ordering::SeqCst);
    assert!(ran < 100, "the task finished inside the first block_on ({ran} rounds)");
    rt.block_on(async { must_complete("the yielding task", handle).await.expect("ok") });
    assert_eq!(rounds.load(Ordering::SeqCst), 100);
}

/// `is_finished` is false while the task waits and true once it returned, before the handle
/// is awaited.
#[minirt::test]
async fn is_finished_tracks_completion() {
    let _watchdog = watchdog("is_finished_tracks_completion");
    let (tx, rx) = futures_channel::oneshot::channel::<u8>();
    let handle = minirt::spawn(async move { rx.await.expect("sent") });
    settle().await;
    assert!(!handle.is_finished(), "waiting on a channel");
    assert!(format!("{handle:?}").contains("is_finished: false"));
    tx.send(9).expect("receiver alive");
    assert!(settle_until(10, || handle.is_finished()).await, "finished after the send");
    assert_eq!(must_complete("join", handle).await.expect("ok"), 9);
}

/// Dropping a `JoinHandle` detaches the task: it keeps running to completion.
#[minirt::test]
async fn dropping_the_join_handle_detaches() {
    let _watchdog = watchdog("dropping_the_join_handle_detaches");
    let (go_tx, go_rx) = futures_channel::oneshot::channel::<()>();
    let (done_tx, done_rx) = futures_channel::oneshot::channel::<&'static str>();
    drop(minirt::spawn(async move {
        go_rx.await.expect("go");
        done_tx.send("still ran").expect("receiver alive");
    }));
    settle().await;
    go_tx.send(()).expect("the detached task is alive");
    assert_eq!(must_complete("detached task", done_rx).await, Ok("still ran"));
}

/// Tasks spawned by tasks, awaited by tasks: a small tree of joins.
#[minirt::test]
async fn tasks_spawn_and_await_tasks() {
    let _watchdog = watchdog("tasks_spawn_and_await_tasks");
    fn fib(n: u32) -> JoinHandle<u64> {
        minirt::spawn(async move {
            if n < 2 {
                return u64::from(n);
            }
            let (a, b) = (fib(n - 1), fib(n - 2));
            a.await.expect("fib") + b.await.expect("fib")
        })
    }
    assert_eq!(must_complete("fib", fib(15)).await.expect("fib"), 610);
}

/// `minirt::spawn` outside any runtime panics, with a message that says a runtime is needed;
/// `Handle::try_current` says so without panicking.
#[test]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    assert!(Handle::try_current().is_err());
    let err = Handle::try_current().expect_err("no runtime");
    assert!(err.to_string().contains("runtime"), "{err}");

    let payload = panic::catch_unwind(|| {
        let _handle = minirt::spawn(async { 1 });
    })
    .expect_err("spawn outside a runtime must panic");
    let message = panic_message(&*payload).expect("a string message");
    assert!(message.contains("no minirt runtime"), "unclear message: {message}");

    let payload =
        panic::catch_unwind(Handle::current).expect_err("Handle::current outside a runtime");
    let message = panic_message(&*payload).expect("a string message");
    assert!(message.contains("runtime"), "unclear message: {message}");
}

/// `block_on` from inside a task panics (nested runtimes would deadlock); the panic is caught
/// by the task machinery and reported through the `JoinHandle`, and the runtime goes on.
#[minirt::test]
async fn block_on_inside_a_task_panics() {
    let _watchdog = watchdog("block_on_inside_a_task_panics");
    let handle = minirt::spawn(async {
        let inner = Runtime::new().expect("a second runtime");
        inner.block_on(async { 1 })
    });
    let err = must_complete("task", handle).await.expect_err("block_on in a task panics");
    assert!(err.is_panic(), "{err:?}");
    let message = panic_message(&*err.into_panic()).expect("a string message");
    assert!(message.contains("within a runtime"), "unclear message: {message}");

    // Caught inside the task itself, the task carries on and can still use the runtime.
    let handle = minirt::spawn(async {
        let inner = Builder::new_current_thread().build().expect("a second runtime");
        let caught = panic::catch_unwind(AssertUnwindSafe(|| inner.block_on(async { 1 })));
        let message = panic_message(&*caught.expect_err("panics")).expect("a string message");
        // A runtime cannot be dropped inside a task either (as in tokio): hand it to a thread.
        std::thread::spawn(move || drop(inner)).join().expect("dropped");
        let after = minirt::spawn(async { 2 }).await.expect("the runtime still works");
        (message, after)
    });
    let (message, after) = must_complete("task", handle).await.expect("no panic escaped");
    assert!(message.contains("within a runtime"), "unclear message: {message}");
    assert_eq!(after, 2);
}

/// `block_on` inside `block_on` panics too, and the outer one keeps working afterwards.
#[test]
fn block_on_inside_block_on_panics() {
    let _watchdog = watchdog("block_on_inside_block_on_panics");
    let outer = Builder::new_current_thread().build().expect("runtime");
    let inner = Builder::new_current_thread().build().expect("runtime");
    let result = outer.block_on(async {
        let caught = panic::catch_unwind(AssertUnwindSafe(|| inner.block_on(async { 1 })));
        let payload = caught.expect_err("nested block_on panics");
        let message = panic_message(&*payload).expect("a string message");
        let task = minirt::spawn(async { 3 }).await.expect("task");
        (message, task)
    });
    assert!(result.0.contains("within a runtime"), "unclear message: {}", result.0);
    assert_eq!(result.1, 3);
    // Both runtimes are usable afterwards.
    assert_eq!(inner.block_on(async { 4 }), 4);
    assert_eq!(outer.block_on(async { 5 }), 5);
}
