//! The blocking pool: `spawn_blocking` on both flavors (results, panics, abort before start,
//! thread reuse and keep-alive, the thread cap, shutdown with blocking tasks still running),
//! and `block_in_place`. Ported in part from tokio's task_blocking.rs and rt_spawn_blocking.rs.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{must_complete, panic_message, watchdog};
use minirt::runtime::{Builder, Handle, Runtime};
use minirt::task;

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// tokio: task_blocking.rs `basic_blocking`, on both flavors.
#[test]
fn basic_blocking() {
    let _watchdog = watchdog("basic_blocking");
    for rt in [current_thread(), Runtime::new().expect("runtime")] {
        rt.block_on(async {
            for _ in 0..20 {
                let out = task::spawn_blocking(|| {
                    thread::sleep(Duration::from_millis(5));
                    "hello"
                });
                assert_eq!(must_complete("spawn_blocking", out).await.expect("joined"), "hello");
            }
        });
    }
}

#[minirt::test]
async fn the_closure_runs_on_another_thread_inside_the_runtime() {
    let _watchdog = watchdog("the_closure_runs_on_another_thread_inside_the_runtime");
    let here = thread::current().id();
    let (there, handle_works) = task::spawn_blocking(|| {
        // A pool thread is in the runtime: spawning from it works.
        drop(minirt::spawn(async { 7 }));
        (thread::current().id(), Handle::try_current().is_ok())
    })
    .await
    .expect("joined");
    assert_ne!(here, there);
    assert!(handle_works);
}

#[minirt::test]
async fn a_panic_is_reported_through_the_handle() {
    let _watchdog = watchdog("a_panic_is_reported_through_the_handle");
    let err = task::spawn_blocking(|| -> u32 { panic!("boom in the pool") })
        .await
        .expect_err("the closure panicked");
    assert!(err.is_panic());
    let payload = err.into_panic();
    assert_eq!(panic_message(&*payload).as_deref(), Some("boom in the pool"));
    // The pool survives the panic.
    assert_eq!(task::spawn_blocking(|| 5).await.expect("joined"), 5);
}

/// With one pool thread busy, a second task waits in the queue; aborting it there keeps it from
/// ever running, and its handle reports cancellation.
#[test]
fn abort_before_start_never_runs_the_closure() {
    let _watchdog = watchdog("abort_before_start_never_runs_the_closure");
    let rt = Builder::new_current_thread().max_blocking_threads(1).build().expect("runtime");
    rt.block_on(async {
        let (release, wait) = mpsc::channel::<()>();
        let busy = task::spawn_blocking(move || wait.recv_timeout(Duration::from_secs(20)));
        let ran = Arc::new(AtomicUsize::new(0));
        let ran2 = ran.clone();
        let queued = task::spawn_blocking(move || ran2.fetch_add(1, Ordering::SeqCst));
        queued.abort();
        release.send(()).expect("the busy task waits");
        must_complete("busy", busy).await.expect("joined").expect("released");
        let err = must_complete("queued", queued).await.expect_err("aborted");
        assert!(err.is_cancelled());
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    });
}

/// `max_blocking_threads` caps the pool: 8 tasks on 2 threads never run more than 2 at once,
/// and all of them complete.
#[test]
fn the_thread_cap_is_respected() {
    let _watchdog = watchdog("the_thread_cap_is_respected");
    let rt = Builder::new_current_thread().max_blocking_threads(2).build().expect("runtime");
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                task::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(10));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for handle in handles {
            must_complete("capped task", handle).await.expect("joined");
        }
    });
    assert!(peak.load(Ordering::SeqCst) <= 2, "peak {}", peak.load(Ordering::SeqCst));
    assert!(rt.metrics().num_blocking_threads() <= 2);
}

/// An idle thread is reused rather than a new one spawned, and exits after the keep-alive.
#[test]
fn idle_threads_are_reused_then_exit_after_keep_alive() {
    let _watchdog = watchdog("idle_threads_are_reused_then_exit_after_keep_alive");
    let rt = Builder::new_current_thread()
        .thread_keep_alive(Duration::from_millis(200))
        .build()
        .expect("runtime");
    let metrics = rt.metrics();
    let ids = rt.block_on(async {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(task::spawn_blocking(|| thread::current().id()).await.expect("joined"));
            // The thread completes the task a moment before it is idle again; a spawn in
            // between rightly starts a second thread.
            while metrics.num_idle_blocking_threads() == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        ids
    });
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one thread served them all: {ids:?}");
    assert_eq!(rt.metrics().num_blocking_threads(), 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while rt.metrics().num_blocking_threads() != 0 {
        assert!(Instant::now() < deadline, "the idle thread never exited");
        thread::sleep(Duration::from_millis(20));
    }
}

/// tokio: rt_spawn_blocking.rs `issue_8056_regression_test`, with std channels: persistent
/// blocking tasks next to churning ones; every spawn must find a thread.
#[test]
fn no_spawn_is_stranded_while_threads_churn() {
    let _watchdog = watchdog("no_spawn_is_stranded_while_threads_churn");
    for _ in 0..100 {
        let rt = current_thread();
        rt.block_on(async {
            let quick = || async { task::spawn_blocking(|| {}).await.expect("joined") };
            quick().await;
            quick().await;
            let make_writer = || {
                (0..2)
                    .map(|_| {
                        let (tx, rx) = mpsc::channel::<()>();
                        (tx, task::spawn_blocking(move || while rx.recv().is_ok() {}))
                    })
                    .collect::<Vec<_>>()
            };
            let first = make_writer();
            drop(make_writer());
            drop(make_writer());
            let second = make_writer();
            for (tx, handle) in first.into_iter().chain(second) {
                tx.send(()).expect("the task listens");
                drop(tx);
                must_complete("writer", handle).await.expect("joined");
            }
        });
    }
}

/// Spawned from plain threads through a `Handle`, and from the runtime itself.
#[test]
fn spawn_blocking_through_handle_and_runtime() {
    let _watchdog = watchdog("spawn_blocking_through_handle_and_runtime");
    let rt = current_thread();
    let handle = rt.handle().clone();
    let from_thread = thread::spawn(move || handle.spawn_blocking(|| 1)).join().expect("thread");
    let from_rt = rt.spawn_blocking(|| 2);
    let sum =
        rt.block_on(async { from_thread.await.expect("joined") + from_rt.await.expect("joined") });
    assert_eq!(sum, 3);
}

/// Dropping the runtime waits for the blocking tasks: the running one, and (as in tokio) the
/// queued one, which the pool's thread runs before it exits. A spawn after shutdown is
/// refused: its handle reports cancellation.
#[test]
fn drop_waits_for_running_and_queued_blocking_tasks() {
    let _watchdog = watchdog("drop_waits_for_running_and_queued_blocking_tasks");
    let rt = Builder::new_current_thread().max_blocking_threads(1).build().expect("runtime");
    let handle = rt.handle().clone();
    let started = Arc::new(Barrier::new(2));
    let finished = Arc::new(AtomicUsize::new(0));
    let (s, f) = (started.clone(), finished.clone());
    let running = rt.spawn_blocking(move || {
        s.wait();
        thread::sleep(Duration::from_millis(50));
        f.fetch_add(1, Ordering::SeqCst);
    });
    let f = finished.clone();
    let queued = rt.spawn_blocking(move || f.fetch_add(10, Ordering::SeqCst));
    started.wait();
    drop(rt);
    assert_eq!(finished.load(Ordering::SeqCst), 11, "both ran before the drop returned");
    assert!(running.is_finished() && queued.is_finished());
    let late = handle.spawn_blocking(|| ());
    let err = handle.block_on(late).expect_err("refused after shutdown");
    assert!(err.is_cancelled());
}

/// A task still queued when `shutdown_timeout` gives up (its only thread is stuck) is
/// cancelled, never run later.
#[test]
fn shutdown_timeout_cancels_what_no_thread_took() {
    let _watchdog = watchdog("shutdown_timeout_cancels_what_no_thread_took");
    let rt = Builder::new_current_thread().max_blocking_threads(1).build().expect("runtime");
    let handle = rt.handle().clone();
    let (release, wait) = mpsc::channel::<()>();
    let started = Arc::new(Barrier::new(2));
    let s = started.clone();
    let _stuck = rt.spawn_blocking(move || {
        s.wait();
        let _ = wait.recv_timeout(Duration::from_secs(20));
    });
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let queued = rt.spawn_blocking(move || r.fetch_add(1, Ordering::SeqCst));
    started.wait();
    rt.shutdown_timeout(Duration::from_millis(50));
    let err = handle.block_on(queued).expect_err("cancelled");
    assert!(err.is_cancelled());
    release.send(()).expect("the stuck task still waits");
    thread::sleep(Duration::from_millis(20));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

/// `shutdown_timeout` returns after its timeout even though a blocking task still runs; the
/// task is detached and finishes on its own.
#[test]
fn shutdown_timeout_detaches_a_stuck_blocking_task() {
    let _watchdog = watchdog("shutdown_timeout_detaches_a_stuck_blocking_task");
    let rt = current_thread();
    let (release, wait) = mpsc::channel::<()>();
    let done = Arc::new(Mutex::new(false));
    let done2 = done.clone();
    let started = Arc::new(Barrier::new(2));
    let s = started.clone();
    let _stuck = rt.spawn_blocking(move || {
        s.wait();
        let _ = wait.recv_timeout(Duration::from_secs(20));
        *done2.lock().unwrap() = true;
    });
    started.wait();
    let begin = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(50));
    assert!(begin.elapsed() < Duration::from_secs(15), "shutdown_timeout did not return");
    assert!(!*done.lock().unwrap(), "the blocking task was not waited for");
    release.send(()).expect("still waiting");
}

/// tokio: task_blocking.rs `can_shutdown_with_zero_timeout_in_runtime` and
/// `can_shutdown_now_in_runtime`: a runtime made and shut down inside a blocking task.
#[test]
fn can_shutdown_a_runtime_inside_a_blocking_task() {
    let _watchdog = watchdog("can_shutdown_a_runtime_inside_a_blocking_task");
    let rt = current_thread();
    rt.block_on(async {
        task::spawn_blocking(|| {
            let inner = current_thread();
            inner.shutdown_timeout(Duration::from_secs(0));
            let inner = current_thread();
            inner.shutdown_background();
        })
        .await
        .expect("joined");
    });
}

/// Thread names and start/stop hooks apply to pool threads.
#[test]
fn pool_threads_get_the_name_and_hooks() {
    let _watchdog = watchdog("pool_threads_get_the_name_and_hooks");
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = Builder::new_current_thread()
        .thread_name("pool-test")
        .on_thread_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .expect("runtime");
    let name = rt.block_on(async {
        task::spawn_blocking(|| thread::current().name().map(str::to_owned)).await.expect("joined")
    });
    assert_eq!(name.as_deref(), Some("pool-test"));
    drop(rt);
    assert_eq!(started.load(Ordering::SeqCst), 1);
    assert_eq!(stopped.load(Ordering::SeqCst), 1);
}

// ---- block_in_place (tokio: task_blocking.rs) ----

#[minirt::test(flavor = "multi_thread")]
async fn block_in_blocking() {
    let _watchdog = watchdog("block_in_blocking");
    for _ in 0..100 {
        let out = minirt::spawn(async {
            task::spawn_blocking(|| {
                task::block_in_place(|| thread::sleep(Duration::from_millis(1)));
                "hello"
            })
            .await
            .expect("joined")
        })
        .await
        .expect("joined");
        assert_eq!(out, "hello");
    }
}

#[minirt::test(flavor = "multi_thread")]
async fn block_in_block() {
    let _watchdog = watchdog("block_in_block");
    for _ in 0..100 {
        let out = minirt::spawn(async {
            task::block_in_place(|| {
                task::block_in_place(|| thread::sleep(Duration::from_millis(1)));
                "hello"
            })
        })
        .await
        .expect("joined");
        assert_eq!(out, "hello");
    }
}

#[minirt::test(flavor = "current_thread")]
#[should_panic(expected = "can call blocking only when running on the multi-threaded runtime")]
async fn no_block_in_current_thread_scheduler() {
    task::block_in_place(|| {});
}

#[test]
fn yes_block_in_threaded_block_on() {
    let rt = Runtime::new().expect("runtime");
    rt.block_on(async {
        task::block_in_place(|| {});
    });
}

#[test]
#[should_panic(expected = "can call blocking only when running on the multi-threaded runtime")]
fn no_block_in_current_thread_block_on() {
    let rt = current_thread();
    rt.block_on(async {
        task::block_in_place(|| {});
    });
}

#[test]
fn outside_any_runtime_block_in_place_just_runs() {
    assert_eq!(task::block_in_place(|| 3), 3);
}

/// tokio's task_id_block_in_place_block_on_spawn: a task inside another runtime's `block_on`
/// in `block_in_place` has its own id, and the outer task has its own back afterwards.
#[test]
fn block_in_place_keeps_the_task_id() {
    let _watchdog = watchdog("block_in_place_keeps_the_task_id");
    let outer = Runtime::new().expect("runtime");
    outer.block_on(async {
        minirt::spawn(async {
            let parent_id = task::id();
            task::block_in_place(move || {
                let rt = current_thread();
                rt.block_on(rt.spawn(async move {
                    assert_ne!(parent_id, task::id());
                }))
                .expect("the inner task");
            });
            assert_eq!(parent_id, task::id());
        })
        .await
        .expect("the outer task");
    });
}

#[test]
fn can_enter_current_thread_rt_from_within_block_in_place() {
    let _watchdog = watchdog("can_enter_current_thread_rt_from_within_block_in_place");
    let outer = Runtime::new().expect("runtime");
    outer.block_on(async {
        task::block_in_place(|| {
            let inner = current_thread();
            inner.block_on(async {})
        })
    });
    outer.block_on(async {
        minirt::spawn(async {
            task::block_in_place(|| {
                let inner = current_thread();
                inner.block_on(async {})
            })
        })
        .await
        .expect("joined")
    });
}

#[test]
fn useful_panic_message_when_dropping_rt_in_rt() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let outer = Runtime::new().expect("runtime");
    let result = catch_unwind(AssertUnwindSafe(|| {
        outer.block_on(async {
            let _ = current_thread();
        });
    }));
    let err = result.expect_err("dropping a runtime inside one panics");
    let message = panic_message(&*err).unwrap_or_default();
    assert!(message.contains("Cannot drop a runtime"), "wrong panic message: {message:?}");
}

#[test]
fn can_shutdown_with_zero_timeout_in_runtime() {
    let outer = Runtime::new().expect("runtime");
    outer.block_on(async {
        current_thread().shutdown_timeout(Duration::from_nanos(0));
    });
}

#[test]
fn can_shutdown_now_in_runtime() {
    let outer = Runtime::new().expect("runtime");
    outer.block_on(async {
        current_thread().shutdown_background();
    });
}

/// The cooperative budget does not apply inside `block_in_place`: 300 finished join handles
/// polled in one go are all ready (outside it, the budget of 128 would make some pend).
#[test]
fn coop_disabled_in_block_in_place() {
    let _watchdog = watchdog("coop_disabled_in_block_in_place");
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    let rt = Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let handles: Vec<_> = (0..300).map(|i| rt.spawn(async move { i })).collect();
    rt.block_on(async {
        while !handles.iter().all(|h| h.is_finished()) {
            task::yield_now().await;
        }
    });
    let sum = rt.block_on(async move {
        minirt::spawn(async move {
            task::block_in_place(move || {
                let mut cx = Context::from_waker(Waker::noop());
                let mut sum = 0;
                for mut handle in handles {
                    match Pin::new(&mut handle).poll(&mut cx) {
                        Poll::Ready(out) => sum += out.expect("joined"),
                        Poll::Pending => panic!("the budget applied inside block_in_place"),
                    }
                }
                sum
            })
        })
        .await
        .expect("joined")
    });
    assert_eq!(sum, (0..300).sum::<i32>());
}
