//! Edge paths of a runtime's life that used to hang it or kill a worker: `block_in_place` while
//! another runtime is entered, a runtime dropped inside `block_in_place` by one of its own
//! tasks, shutdown deadlines while a poll blocks for seconds, a runtime dropped inside another
//! runtime's task. Each scenario runs on a thread of its own and must finish within a bound:
//! a hang fails the test instead of hanging the suite.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use minirt::runtime::{Builder, Runtime};

/// Runs `f` on a thread of its own; fails if it does not return within `limit`, or panics.
fn within<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let runner = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            runner.join().expect("the scenario's thread");
            value
        }
        // The sender is gone without a value: the scenario panicked.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let payload = runner.join().expect_err("no value, so it panicked");
            std::panic::resume_unwind(payload);
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: did not finish within {limit:?} (hang)")
        }
    }
}

fn multi(workers: usize) -> Runtime {
    Builder::new_multi_thread().worker_threads(workers).enable_all().build().expect("runtime")
}

fn current() -> Runtime {
    Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// After the scenario, the runtime still runs tasks on every worker, fires timers and does I/O.
fn assert_still_runs(rt: &Runtime, workers: usize) {
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..workers * 4 {
            tasks.push(minirt::spawn(async {
                minirt::time::sleep(Duration::from_millis(1)).await;
                let (a, mut b) = minirt::net::UnixStream::pair().expect("pair");
                use minirt::io::{AsyncReadExt, AsyncWriteExt};
                let mut a = a;
                a.write_all(b"ok").await.expect("write");
                let mut buf = [0u8; 2];
                b.read_exact(&mut buf).await.expect("read");
                buf
            }));
        }
        for task in tasks {
            assert_eq!(&task.await.expect("task"), b"ok");
        }
    });
}

/// The text of a panic's payload ("" if it is neither a `String` nor a `&str`).
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Drops `inner` inside a task of `rt`: that panics (tokio's rule), and the task's
/// `JoinError` says so.
fn drop_inside_a_task(rt: &Runtime, inner: Runtime) -> minirt::task::JoinError {
    rt.block_on(async move { minirt::spawn(async move { drop(inner) }).await })
        .expect_err("dropping a runtime in a task panics")
}

// ---- block_in_place while another runtime is entered -------------------------------------

fn block_in_place_with_other_entered(workers: usize, other: fn() -> Runtime) {
    let rt = multi(workers);
    let other = Arc::new(other());
    let ran = Arc::new(AtomicUsize::new(0));
    let (other2, ran2) = (other.clone(), ran.clone());
    rt.block_on(async move {
        minirt::spawn(async move {
            let _entered = other2.enter();
            minirt::task::block_in_place(|| {
                ran2.fetch_add(1, Ordering::SeqCst);
            });
            // Still this runtime's task: spawning here reaches the entered one, as in tokio.
        })
        .await
        .expect("the task that called block_in_place");
    });
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert_still_runs(&rt, workers);
    drop(rt);
    drop(other);
}

#[test]
fn block_in_place_with_a_multi_thread_runtime_entered() {
    for workers in [1, 4] {
        for round in 0..100 {
            within(
                &format!("{workers} workers, round {round}"),
                Duration::from_secs(20),
                move || block_in_place_with_other_entered(workers, || multi(2)),
            );
        }
    }
}

#[test]
fn block_in_place_with_a_current_thread_runtime_entered() {
    for workers in [1, 4] {
        for round in 0..100 {
            within(
                &format!("{workers} workers, round {round}"),
                Duration::from_secs(20),
                move || block_in_place_with_other_entered(workers, current),
            );
        }
    }
}

// ---- a runtime dropped inside block_in_place, by one of its own tasks ---------------------

#[test]
fn dropping_a_runtime_inside_block_in_place_in_its_own_task() {
    for workers in [1, 4] {
        for round in 0..100 {
            within(
                &format!("{workers} workers, round {round}"),
                Duration::from_secs(20),
                move || {
                    let rt = multi(workers);
                    let (tx, rx) = mpsc::channel::<Runtime>();
                    let (done_tx, done_rx) = mpsc::channel();
                    rt.spawn(async move {
                        let rt = rx.recv().expect("the runtime");
                        minirt::task::block_in_place(move || drop(rt));
                        let _ = done_tx.send(());
                    });
                    tx.send(rt).expect("the task waits for it");
                    // The drop returned inside block_in_place; the task's poll then ended.
                    done_rx.recv_timeout(Duration::from_secs(10)).expect("the drop returned");
                },
            );
        }
    }
}

#[test]
fn shutdown_timeout_inside_block_in_place_in_its_own_task() {
    within("shutdown_timeout in block_in_place", Duration::from_secs(20), || {
        let rt = multi(2);
        let (tx, rx) = mpsc::channel::<Runtime>();
        let (done_tx, done_rx) = mpsc::channel();
        rt.spawn(async move {
            let rt = rx.recv().expect("the runtime");
            let start = Instant::now();
            minirt::task::block_in_place(move || rt.shutdown_timeout(Duration::from_secs(30)));
            let _ = done_tx.send(start.elapsed());
        });
        tx.send(rt).expect("the task waits for it");
        let took = done_rx.recv_timeout(Duration::from_secs(15)).expect("shutdown returned");
        assert!(took < Duration::from_secs(15), "took {took:?}: it waited for its own thread");
    });
}

// ---- shutdown deadlines while a poll blocks ------------------------------------------------

/// A multi-thread runtime whose one task blocks its worker for `blocked` inside a poll.
fn runtime_with_a_blocked_poll(workers: usize, blocked: Duration) -> Runtime {
    let rt = multi(workers);
    let (started_tx, started_rx) = mpsc::channel();
    rt.spawn(async move {
        let _ = started_tx.send(());
        thread::sleep(blocked);
    });
    started_rx.recv_timeout(Duration::from_secs(10)).expect("the blocking task started");
    rt
}

const BLOCKED: Duration = Duration::from_secs(3);

#[test]
fn shutdown_timeout_keeps_its_deadline_while_a_poll_blocks() {
    for workers in [1, 4] {
        within("shutdown_timeout", Duration::from_secs(20), move || {
            let rt = runtime_with_a_blocked_poll(workers, BLOCKED);
            let start = Instant::now();
            rt.shutdown_timeout(Duration::from_millis(100));
            let took = start.elapsed();
            // Generous against a loaded machine, but far below the blocked poll.
            assert!(
                took < BLOCKED / 2,
                "{workers} workers: shutdown_timeout(100 ms) took {took:?}"
            );
        });
    }
}

#[test]
fn shutdown_background_returns_while_a_poll_blocks() {
    for workers in [1, 4] {
        within("shutdown_background", Duration::from_secs(20), move || {
            let rt = runtime_with_a_blocked_poll(workers, BLOCKED);
            let start = Instant::now();
            rt.shutdown_background();
            let took = start.elapsed();
            assert!(took < BLOCKED / 2, "{workers} workers: shutdown_background took {took:?}");
        });
    }
}

/// The tasks queued behind the blocked poll are cancelled by the shutdown (their futures
/// dropped exactly once), not left to run after it.
#[test]
fn shutdown_background_cancels_the_tasks_queued_behind_a_blocked_poll() {
    within("shutdown_background with queued tasks", Duration::from_secs(20), || {
        struct CountDrop(Arc<AtomicUsize>);
        impl Drop for CountDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let rt = runtime_with_a_blocked_poll(1, BLOCKED);
        let dropped = Arc::new(AtomicUsize::new(0));
        let polled = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..10 {
            let guard = CountDrop(dropped.clone());
            let polled = polled.clone();
            handles.push(rt.spawn(async move {
                let _guard = guard;
                polled.fetch_add(1, Ordering::SeqCst);
            }));
        }
        rt.shutdown_background();
        assert_eq!(dropped.load(Ordering::SeqCst), 10, "every queued future dropped by shutdown");
        // After the blocked poll ends, nothing of the runtime runs them.
        thread::sleep(BLOCKED + Duration::from_millis(500));
        assert_eq!(polled.load(Ordering::SeqCst), 0, "no task ran after shutdown");
        assert_eq!(dropped.load(Ordering::SeqCst), 10, "dropped exactly once");
        let check = current();
        check.block_on(async {
            for handle in handles {
                assert!(handle.await.expect_err("cancelled").is_cancelled());
            }
        });
    });
}

// ---- a runtime dropped inside another runtime's task ---------------------------------------

#[test]
fn dropping_a_runtime_inside_a_task_panics_and_the_worker_goes_on() {
    for (name, outer) in
        [("current-thread", current as fn() -> Runtime), ("multi-thread", || multi(1))]
    {
        for inner in [current as fn() -> Runtime, || multi(2)] {
            within(name, Duration::from_secs(20), move || {
                let rt = outer();
                let err = drop_inside_a_task(&rt, inner());
                assert!(err.is_panic());
                let message = panic_text(&*err.into_panic());
                assert!(
                    message.contains(
                        "Cannot drop a runtime in a context where blocking is not allowed"
                    ),
                    "{name}: {message}"
                );
                assert_still_runs(&rt, 1);
            });
        }
    }
}

/// The same with the dropped runtime busy (a poll blocked for seconds on one of its workers):
/// the panic's unwinding must not wait for that poll, blocking the other runtime's worker.
#[test]
fn dropping_a_busy_runtime_inside_a_task_does_not_wait_while_unwinding() {
    for (name, outer) in
        [("current-thread", current as fn() -> Runtime), ("multi-thread", || multi(1))]
    {
        within(name, Duration::from_secs(20), move || {
            let rt = outer();
            // Longer than the others: the measured span includes a panic (and, with
            // RUST_BACKTRACE set, its backtrace), slow on a loaded machine.
            let blocked = Duration::from_secs(10);
            let inner = runtime_with_a_blocked_poll(1, blocked);
            let start = Instant::now();
            let err = drop_inside_a_task(&rt, inner);
            let took = start.elapsed();
            assert!(err.is_panic());
            assert!(took < blocked / 2, "{name}: the panicking drop took {took:?}");
            assert_still_runs(&rt, 1);
        });
    }
}

// ---- a handle used after its runtime shut down ---------------------------------------------

/// tokio panics ("... it is being shutdown") when a sleep registers with a runtime that shut
/// down; waiting for a timer nobody fires would hang the caller for ever.
#[test]
fn handle_block_on_a_sleep_after_shutdown_panics() {
    for (name, build) in
        [("current-thread", current as fn() -> Runtime), ("multi-thread", || multi(2))]
    {
        within(name, Duration::from_secs(20), move || {
            let rt = build();
            let handle = rt.handle().clone();
            drop(rt);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handle.block_on(async { minirt::time::sleep(Duration::from_millis(10)).await })
            }));
            let payload = result.expect_err(&format!("{name}: the sleep panics"));
            let message = panic_text(&*payload);
            assert!(message.contains("being shutdown"), "{name}: {message}");
        });
    }
}

/// A thread in `Handle::block_on`, waiting on a sleep when the runtime shuts down, is woken
/// and panics as tokio's does, instead of waiting for a timer that nobody will fire.
#[test]
fn handle_block_on_waiting_on_a_sleep_when_the_runtime_shuts_down_panics() {
    for (name, build) in
        [("current-thread", current as fn() -> Runtime), ("multi-thread", || multi(2))]
    {
        within(name, Duration::from_secs(20), move || {
            let rt = build();
            let handle = rt.handle().clone();
            let (registered_tx, registered_rx) = mpsc::channel();
            let waiter = thread::spawn(move || {
                handle.block_on(async move {
                    let sleep = minirt::time::sleep(Duration::from_secs(60));
                    minirt::pin!(sleep);
                    // Registered with the timers before the runtime shuts down.
                    assert!(futures_util::poll!(sleep.as_mut()).is_pending());
                    let _ = registered_tx.send(());
                    sleep.await
                })
            });
            registered_rx.recv_timeout(Duration::from_secs(10)).expect("the sleep registered");
            drop(rt);
            let payload = waiter.join().expect_err(&format!("{name}: the sleep panics"));
            let message = panic_text(&*payload);
            assert!(message.contains("being shutdown"), "{name}: {message}");
        });
    }
}
