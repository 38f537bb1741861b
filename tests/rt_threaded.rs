//! The multi-thread scheduler: tokio's rt_threaded.rs (and the threaded half of rt_common.rs)
//! ported to minirt, plus stress tests of the work-stealing paths: a million tasks across
//! workers, ping-pong between tasks on different workers, spawns from many std threads, and
//! dropping the runtime under load. `block_in_place` is here too.
//!
//! Channels come from `futures-channel` (runtime-neutral), as minirt's own `sync` is not used
//! here.

mod common;

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::{must_complete, watchdog};
use futures_channel::oneshot;
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::runtime::{self, Builder, Runtime};
use minirt::task;

fn rt() -> Runtime {
    Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("runtime")
}

fn rt2() -> Runtime {
    Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

#[test]
fn single_thread() {
    let _ = Builder::new_multi_thread().enable_all().worker_threads(1).build().expect("runtime");
}

#[test]
fn many_oneshot_futures() {
    let _watchdog = watchdog("many_oneshot_futures");
    const NUM: usize = 1_000;
    for _ in 0..5 {
        let (tx, rx) = mpsc::channel();
        let rt = rt();
        let cnt = Arc::new(AtomicUsize::new(0));
        for _ in 0..NUM {
            let cnt = cnt.clone();
            let tx = tx.clone();
            rt.spawn(async move {
                let num = cnt.fetch_add(1, Relaxed) + 1;
                if num == NUM {
                    tx.send(()).expect("the test waits");
                }
            });
        }
        rx.recv_timeout(Duration::from_secs(20)).expect("all ran");
        drop(rt);
    }
}

#[test]
fn spawn_two() {
    let _watchdog = watchdog("spawn_two");
    let rt = rt();
    let out = rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        minirt::spawn(async move {
            minirt::spawn(async move {
                tx.send("ZOMG").expect("receiver alive");
            });
        });
        must_complete("rx", rx).await.expect("sent")
    });
    assert_eq!(out, "ZOMG");
}

#[test]
fn many_multishot_futures() {
    let _watchdog = watchdog("many_multishot_futures");
    const CHAIN: usize = 200;
    const CYCLES: usize = 5;
    const TRACKS: usize = 50;
    use tokio::sync::mpsc as fmpsc;

    for _ in 0..10 {
        let rt = rt();
        let mut start_txs = Vec::with_capacity(TRACKS);
        let mut final_rxs = Vec::with_capacity(TRACKS);
        for _ in 0..TRACKS {
            let (start_tx, mut chain_rx) = fmpsc::channel::<&str>(10);
            for _ in 0..CHAIN {
                let (next_tx, next_rx) = fmpsc::channel(10);
                rt.spawn(async move {
                    while let Some(v) = chain_rx.recv().await {
                        next_tx.send(v).await.expect("next alive");
                    }
                });
                chain_rx = next_rx;
            }
            let (final_tx, final_rx) = fmpsc::channel(10);
            let cycle_tx = start_tx.clone();
            let mut rem = CYCLES;
            rt.spawn(async move {
                for _ in 0..CYCLES {
                    let msg = chain_rx.recv().await.expect("message");
                    rem -= 1;
                    if rem == 0 {
                        final_tx.send(msg).await.expect("final alive");
                    } else {
                        cycle_tx.send(msg).await.expect("start alive");
                    }
                }
            });
            start_txs.push(start_tx);
            final_rxs.push(final_rx);
        }
        rt.block_on(must_complete("tracks", async move {
            for start_tx in start_txs {
                start_tx.send("ping").await.expect("start alive");
            }
            for mut final_rx in final_rxs {
                final_rx.recv().await.expect("final message");
            }
        }));
    }
}

#[test]
fn lifo_slot_budget() {
    let _watchdog = watchdog("lifo_slot_budget");
    async fn my_fn() {
        spawn_another();
    }
    fn spawn_another() {
        minirt::spawn(my_fn());
    }
    let rt = Builder::new_multi_thread().enable_all().worker_threads(1).build().expect("rt");
    let (send, recv) = oneshot::channel();
    rt.spawn(async move {
        minirt::spawn(my_fn());
        let _ = send.send(());
    });
    let _ = rt.block_on(must_complete("recv", recv));
}

#[test]
fn spawn_shutdown() {
    let _watchdog = watchdog("spawn_shutdown");
    let rt = rt();
    let (tx, rx) = mpsc::channel();
    rt.block_on(async {
        minirt::spawn(client_server(tx.clone()));
    });
    rt.spawn(client_server(tx));
    rx.recv_timeout(Duration::from_secs(20)).expect("first");
    rx.recv_timeout(Duration::from_secs(20)).expect("second");
    drop(rt);
    assert!(rx.try_recv().is_err());
}

async fn client_server(tx: mpsc::Sender<()>) {
    let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr().expect("addr");
    minirt::spawn(async move {
        let (mut socket, _) = server.accept().await.expect("accept");
        socket.write_all(b"hello").await.expect("write");
    });
    let mut client = TcpStream::connect(addr).await.expect("connect");
    let mut buf = vec![];
    client.read_to_end(&mut buf).await.expect("read");
    assert_eq!(buf, b"hello");
    tx.send(()).expect("the test waits");
}

struct Never(Arc<AtomicUsize>);

impl Future for Never {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Never {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

#[test]
fn drop_threadpool_drops_futures() {
    let _watchdog = watchdog("drop_threadpool_drops_futures");
    for _ in 0..300 {
        let num_inc = Arc::new(AtomicUsize::new(0));
        let num_dec = Arc::new(AtomicUsize::new(0));
        let num_drop = Arc::new(AtomicUsize::new(0));
        let a = num_inc.clone();
        let b = num_dec.clone();
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                a.fetch_add(1, Relaxed);
            })
            .on_thread_stop(move || {
                b.fetch_add(1, Relaxed);
            })
            .build()
            .expect("rt");
        rt.spawn(Never(num_drop.clone()));
        drop(rt);
        let a = num_inc.load(Relaxed);
        assert!(a >= 1);
        assert_eq!(a, num_dec.load(Relaxed), "every thread stopped");
        assert_eq!(num_drop.load(Relaxed), 1, "the future was dropped");
    }
}

#[test]
fn start_stop_callbacks_called() {
    let _watchdog = watchdog("start_stop_callbacks_called");
    let after_start = Arc::new(AtomicUsize::new(0));
    let before_stop = Arc::new(AtomicUsize::new(0));
    let (a, b) = (after_start.clone(), before_stop.clone());
    let rt = Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || {
            a.fetch_add(1, Ordering::Relaxed);
        })
        .on_thread_stop(move || {
            b.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .expect("rt");
    let (tx, rx) = oneshot::channel();
    rt.spawn(async move {
        tx.send(()).expect("receiver alive");
    });
    rt.block_on(must_complete("rx", rx)).expect("sent");
    drop(rt);
    assert!(after_start.load(Ordering::Relaxed) > 0);
    assert!(before_stop.load(Ordering::Relaxed) > 0);
}

/// tokio's `blocking`: four tasks in `block_in_place` on a four-worker runtime; the handoff
/// keeps the other tasks running.
#[test]
fn blocking() {
    let _watchdog = watchdog("blocking");
    const NUM: usize = 1_000;
    for _ in 0..10 {
        let (tx, rx) = mpsc::channel();
        let rt = rt();
        let cnt = Arc::new(AtomicUsize::new(0));
        let block = Arc::new(Barrier::new(5));
        for _ in 0..4 {
            let block = block.clone();
            rt.spawn(async move {
                task::block_in_place(move || {
                    block.wait();
                    block.wait();
                })
            });
        }
        block.wait();
        for _ in 0..NUM {
            let cnt = cnt.clone();
            let tx = tx.clone();
            rt.spawn(async move {
                let num = cnt.fetch_add(1, Relaxed) + 1;
                if num == NUM {
                    tx.send(()).expect("the test waits");
                }
            });
        }
        rx.recv_timeout(Duration::from_secs(20)).expect("every task ran during block_in_place");
        block.wait();
    }
}

#[test]
fn multi_threadpool() {
    let _watchdog = watchdog("multi_threadpool");
    let rt1 = rt();
    let rt2 = rt();
    let (tx, rx) = oneshot::channel();
    let (done_tx, done_rx) = mpsc::channel();
    rt2.spawn(async move {
        rx.await.expect("sent");
        done_tx.send(()).expect("the test waits");
    });
    rt1.spawn(async move {
        tx.send(()).expect("receiver alive");
    });
    done_rx.recv_timeout(Duration::from_secs(20)).expect("done");
}

#[test]
fn yield_after_block_in_place() {
    let _watchdog = watchdog("yield_after_block_in_place");
    let rt = Builder::new_multi_thread().worker_threads(1).build().expect("rt");
    rt.block_on(async {
        minirt::spawn(async move {
            task::block_in_place(|| {
                let rt = Builder::new_current_thread().build().expect("inner rt");
                rt.block_on(async {});
            });
            task::yield_now().await;
        })
        .await
        .expect("joined")
    });
}

/// The threads of this process whose name (`/proc/self/task/*/comm`) is `name`.
fn threads_named(name: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// `block_in_place` hands the worker's core to a blocking-pool thread, and the thread that gave
/// it away goes back to the pool (or takes the core back): 300 calls start a handful of
/// threads, not 300, and the runtime's threads stay few. Before, each call started a new
/// worker thread (300 `on_thread_start` calls).
#[test]
fn block_in_place_reuses_pool_threads() {
    let _watchdog = watchdog("block_in_place_reuses_pool_threads");
    const CALLS: usize = 300;
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bip-reuse")
        .on_thread_start(move || {
            counter.fetch_add(1, Relaxed);
        })
        .build()
        .expect("rt");
    let most_alive = rt.block_on(async {
        minirt::spawn(async {
            let mut most_alive = 0;
            for i in 0..CALLS {
                // Some calls block long enough for the pool thread to take the core over,
                // some return before it can (the core is taken back).
                let pause = if i % 3 == 0 { Duration::from_millis(1) } else { Duration::ZERO };
                task::block_in_place(|| thread::sleep(pause));
                most_alive = most_alive.max(threads_named("bip-reuse"));
                task::yield_now().await;
            }
            most_alive
        })
        .await
        .expect("joined")
    });
    let started = started.load(Relaxed);
    assert!(started <= 12, "{started} threads started for {CALLS} block_in_place calls");
    assert!(most_alive <= 12, "{most_alive} runtime threads alive at once");
    // The process as a whole (other tests run beside this one): nowhere near one thread per
    // call either.
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let threads: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads: line");
    assert!(threads < CALLS, "{threads} threads in the process");
}

/// The core handed off by `block_in_place` gets a pool thread even when every thread
/// `max_blocking_threads` allows is busy, and a thread running a handed-off core does not take
/// `spawn_blocking`'s place (tokio counts its workers apart from that limit too).
#[test]
fn block_in_place_is_not_held_up_by_max_blocking_threads() {
    let _watchdog = watchdog("block_in_place_is_not_held_up_by_max_blocking_threads");
    let rt = Builder::new_multi_thread()
        .enable_all()
        .worker_threads(1)
        .max_blocking_threads(1)
        .thread_keep_alive(Duration::from_millis(1))
        .build()
        .expect("rt");
    let (release_tx, release_rx) = mpsc::channel::<()>();
    rt.block_on(async move {
        // The pool's only thread, busy until the end.
        let busy = task::spawn_blocking(move || release_rx.recv_timeout(Duration::from_secs(20)));
        // Another task on this worker must run while the task below blocks in place.
        let (ran_tx, ran_rx) = mpsc::channel::<()>();
        minirt::spawn(async move {
            minirt::spawn(async move {
                ran_tx.send(()).expect("the blocked task waits");
            });
            task::block_in_place(|| {
                ran_rx.recv_timeout(Duration::from_secs(20)).expect("the other task ran");
                // Long enough for the pool thread to take the core over for good.
                thread::sleep(Duration::from_millis(20));
            });
        })
        .await
        .expect("joined");
        release_tx.send(()).expect("the busy closure waits");
        busy.await.expect("joined").expect("released");
        // Its thread, idle now, exits (1 ms keep-alive). The worker runs on a pool thread:
        // spawn_blocking must still get a thread of its own.
        minirt::time::sleep(Duration::from_millis(50)).await;
        let n = must_complete("spawn_blocking", task::spawn_blocking(|| 5)).await;
        assert_eq!(n.expect("joined"), 5);
    });
}

#[test]
fn max_blocking_threads() {
    let _rt = Builder::new_multi_thread().max_blocking_threads(1).build().expect("rt");
}

#[test]
#[should_panic]
fn max_blocking_threads_set_to_zero() {
    let _rt = Builder::new_multi_thread().max_blocking_threads(0).build().expect("rt");
}

#[test]
fn global_queue_interval_set_to_one() {
    let _watchdog = watchdog("global_queue_interval_set_to_one");
    let rt = Builder::new_multi_thread().global_queue_interval(1).build().expect("rt");
    let cnt = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let cnt = cnt.clone();
                minirt::spawn(async move { cnt.fetch_add(1, Ordering::Relaxed) })
            })
            .collect();
        for handle in handles {
            must_complete("task", handle).await.expect("joined");
        }
    });
    assert_eq!(cnt.load(Relaxed), 10);
}

/// One link of tokio's `test_tuning` chain: while `flag` is set, counts itself and spawns the
/// next link (on this worker: its LIFO slot); `stall` makes each poll take a while.
fn tuning_chain(flag: Arc<AtomicBool>, counter: Arc<AtomicUsize>, stall: bool) {
    if flag.load(Relaxed) {
        if stall {
            thread::sleep(Duration::from_micros(5));
        }
        counter.fetch_add(1, Relaxed);
        minirt::spawn(async move { tuning_chain(flag, counter, stall) });
    }
}

/// Hammers the injection queue from this thread while a chain of tasks keeps the worker busy;
/// each injected task records how many links ran since the previous one (the effective global
/// queue interval). Returns once `good` accepts three values in a row, or the last value seen
/// after `HANG_LIMIT`.
fn observe_interval(
    rt: &Runtime,
    stall: bool,
    start: usize,
    good: impl Fn(usize) -> bool,
) -> Result<(), usize> {
    let flag = Arc::new(AtomicBool::new(true));
    let counter = Arc::new(AtomicUsize::new(start));
    let interval = Arc::new(AtomicUsize::new(start));
    {
        let (flag, counter) = (flag.clone(), counter.clone());
        rt.spawn(async move { tuning_chain(flag, counter, stall) });
    }
    let deadline = Instant::now() + common::HANG_LIMIT;
    let mut n = 0;
    let result = loop {
        let curr = interval.load(Relaxed);
        n = if good(curr) { n + 1 } else { 0 };
        // A few good rounds in a row: one could be jitter.
        if n == 3 {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err(curr);
        }
        if Arc::strong_count(&interval) < 5_000 {
            let (counter, interval) = (counter.clone(), interval.clone());
            rt.spawn(async move {
                let prev = counter.swap(0, Relaxed);
                interval.store(prev, Relaxed);
            });
        }
        thread::yield_now();
    };
    flag.store(false, Relaxed);
    // Wait for the injected tasks to drain before the next round.
    let w = Arc::downgrade(&interval);
    drop(interval);
    let deadline = Instant::now() + common::HANG_LIMIT;
    while w.strong_count() > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_micros(500));
    }
    result
}

/// tokio's `test_tuning`: the self-tuned global queue interval drops when polls are slow (a
/// 5 µs stall each: at most 8 links between two looks at the injection queue), and comes back
/// up when they are fast (between 33 and 1,000).
#[test]
fn test_tuning() {
    let _watchdog = watchdog("test_tuning");
    let rt = Builder::new_multi_thread().worker_threads(1).build().expect("rt");
    observe_interval(&rt, true, 61, |curr| curr <= 8)
        .unwrap_or_else(|last| panic!("slow polls: the interval stayed at {last}"));
    // Set high: it should never really be this high.
    observe_interval(&rt, false, 10_000, |curr| curr <= 1_000 && curr > 32)
        .unwrap_or_else(|last| panic!("fast polls: the interval ended at {last}"));
}

/// A worker that never runs dry still polls its timers (maintenance): a chain of tasks
/// spawning each other, with tasks injected from outside all along, on the only worker. (The
/// chain's ticks and the injected tasks' once made a cycle of exactly `event_interval` ticks
/// that a `tick % event_interval` check never hit.)
#[test]
fn a_busy_worker_still_fires_timers() {
    let _watchdog = watchdog("a_busy_worker_still_fires_timers");
    let rt = Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    let flag = Arc::new(AtomicBool::new(true));
    {
        let flag = flag.clone();
        rt.spawn(async move { tuning_chain(flag, Arc::new(AtomicUsize::new(0)), false) });
    }
    let slept = rt.spawn(async { minirt::time::sleep(Duration::from_millis(5)).await });
    // Injected tasks always waiting (as in `test_tuning`): the worker takes one at every look.
    let outstanding = Arc::new(());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !slept.is_finished() && Instant::now() < deadline {
        if Arc::strong_count(&outstanding) < 5_000 {
            let token = outstanding.clone();
            drop(rt.spawn(async move { drop(token) }));
        }
        thread::yield_now();
    }
    flag.store(false, Relaxed);
    assert!(slept.is_finished(), "the timer never fired on the busy worker");
}

/// `Builder::global_queue_interval` fixes the interval: slow polls do not make it drop.
#[test]
fn a_set_global_queue_interval_is_not_tuned() {
    let _watchdog = watchdog("a_set_global_queue_interval_is_not_tuned");
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .global_queue_interval(40)
        .build()
        .expect("rt");
    // Three rounds in a row with more than 30 links between two looks (the LIFO slot's polls
    // count as ticks, so a little under 40 may show).
    observe_interval(&rt, true, 0, |curr| curr > 30)
        .unwrap_or_else(|last| panic!("the set interval changed: {last}"));
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_on_shutdown() {
    let _watchdog = watchdog("hang_on_shutdown");
    let (sync_tx, sync_rx) = mpsc::channel::<()>();
    minirt::spawn(async move {
        task::block_in_place(|| sync_rx.recv().ok());
    });
    minirt::spawn(async {
        minirt::time::sleep(Duration::from_millis(200)).await;
        drop(sync_tx);
    });
    minirt::time::sleep(Duration::from_millis(100)).await;
}

/// tokio-rs/tokio#3869: a future's drop during shutdown wakes another task of the runtime.
#[test]
fn wake_during_shutdown() {
    let _watchdog = watchdog("wake_during_shutdown");
    struct Shared {
        waker: Option<Waker>,
    }
    struct MyFuture {
        shared: Arc<Mutex<Shared>>,
        put_waker: bool,
    }
    impl Future for MyFuture {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let me = Pin::into_inner(self);
            let mut lock = me.shared.lock().expect("lock");
            if me.put_waker {
                lock.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        }
    }
    impl Drop for MyFuture {
        fn drop(&mut self) {
            let mut lock = self.shared.lock().expect("lock");
            if !self.put_waker {
                if let Some(waker) = lock.waker.take() {
                    drop(lock);
                    waker.wake();
                }
            }
        }
    }
    let rt = Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    let shared = Arc::new(Mutex::new(Shared { waker: None }));
    rt.spawn(MyFuture { shared: shared.clone(), put_waker: true });
    rt.spawn(MyFuture { shared, put_waker: false });
    rt.block_on(async { minirt::time::sleep(Duration::from_millis(20)).await });
}

#[should_panic(expected = "can call blocking only when running on the multi-threaded runtime")]
#[minirt::test]
async fn test_block_in_place1() {
    task::block_in_place(|| {});
}

#[minirt::test(flavor = "multi_thread")]
async fn test_block_in_place2() {
    task::block_in_place(|| {});
}

#[should_panic(expected = "can call blocking only when running on the multi-threaded runtime")]
#[minirt::main(flavor = "current_thread")]
#[test]
async fn test_block_in_place3() {
    task::block_in_place(|| {});
}

#[minirt::main]
#[test]
async fn test_block_in_place4() {
    task::block_in_place(|| {});
}

/// tokio-rs/tokio#5239.
#[test]
fn test_nested_block_in_place_with_block_on_between() {
    let _watchdog = watchdog("test_nested_block_in_place_with_block_on_between");
    let rt =
        Builder::new_multi_thread().worker_threads(1).max_blocking_threads(1).build().expect("rt");
    for _ in 0..100 {
        let h = rt.handle().clone();
        rt.block_on(async move {
            minirt::spawn(async move {
                task::block_in_place(|| {
                    h.block_on(async {
                        task::block_in_place(|| {});
                    });
                })
            })
            .await
            .expect("joined")
        });
    }
}

#[test]
fn yield_now_in_block_in_place() {
    let _watchdog = watchdog("yield_now_in_block_in_place");
    let rt = Builder::new_multi_thread().worker_threads(1).build().expect("rt");
    rt.block_on(async {
        minirt::spawn(async {
            task::block_in_place(|| {
                runtime::Handle::current().block_on(task::yield_now());
            })
        })
        .await
        .expect("joined")
    })
}

#[test]
fn mutex_in_block_in_place() {
    let _watchdog = watchdog("mutex_in_block_in_place");
    const BUDGET: usize = 128;
    let rt = Builder::new_multi_thread().worker_threads(1).build().expect("rt");
    rt.block_on(async {
        let lock = tokio::sync::Mutex::new(0);
        minirt::spawn(async move {
            task::block_in_place(|| {
                runtime::Handle::current().block_on(async move {
                    for i in 0..(BUDGET + 1) {
                        let mut guard = lock.lock().await;
                        *guard = i;
                    }
                });
            })
        })
        .await
        .expect("joined");
    })
}

/// Hundreds of thousands of tasks across four workers, each spawned from a task, with a
/// shared counter: none lost, none run twice.
#[test]
fn a_million_tasks_across_workers() {
    let _watchdog = watchdog("a_million_tasks_across_workers");
    const SPAWNERS: usize = 100;
    const PER: usize = if cfg!(debug_assertions) { 2_000 } else { 10_000 };
    let rt = rt();
    let count = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
    rt.block_on(async {
        let spawners: Vec<_> = (0..SPAWNERS)
            .map(|_| {
                let (count, threads) = (count.clone(), threads.clone());
                minirt::spawn(async move {
                    let handles: Vec<_> = (0..PER)
                        .map(|i| {
                            let (count, threads) = (count.clone(), threads.clone());
                            minirt::spawn(async move {
                                if i % 997 == 0 {
                                    threads.lock().expect("lock").insert(thread::current().id());
                                }
                                count.fetch_add(1, Relaxed);
                            })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.expect("joined");
                    }
                })
            })
            .collect();
        for spawner in spawners {
            must_complete("spawner", spawner).await.expect("joined");
        }
    });
    assert_eq!(count.load(Relaxed), SPAWNERS * PER);
    assert_eq!(alive_tasks_once_settled(&rt.metrics()), 0);
    assert!(threads.lock().expect("lock").len() > 1, "the tasks spread over workers");
}

/// Two tasks that wake each other 10,000 times through channels, while other tasks keep the
/// workers busy: no wake-up is lost across workers.
#[test]
fn ping_pong_between_workers() {
    let _watchdog = watchdog("ping_pong_between_workers");
    use tokio::sync::mpsc as fmpsc;
    let rt = rt2();
    rt.block_on(must_complete("ping pong", async {
        let (to_pong, mut pong_rx) = fmpsc::unbounded_channel::<u32>();
        let (to_ping, mut ping_rx) = fmpsc::unbounded_channel::<u32>();
        let pong = minirt::spawn(async move {
            while let Some(n) = pong_rx.recv().await {
                if to_ping.send(n + 1).is_err() {
                    break;
                }
            }
        });
        let busy: Vec<_> = (0..4)
            .map(|_| {
                minirt::spawn(async {
                    for _ in 0..2_000 {
                        task::yield_now().await;
                    }
                })
            })
            .collect();
        let mut n = 0;
        for _ in 0..10_000 {
            to_pong.send(n).expect("pong alive");
            n = ping_rx.recv().await.expect("ping");
        }
        assert_eq!(n, 10_000);
        drop(to_pong);
        pong.await.expect("joined");
        for b in busy {
            b.await.expect("joined");
        }
    }));
}

/// Spawns from many std threads at once through a `Handle`: every task runs.
#[test]
fn spawn_from_many_std_threads() {
    let _watchdog = watchdog("spawn_from_many_std_threads");
    let rt = rt2();
    let count = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let handle = rt.handle().clone();
            let count = count.clone();
            thread::spawn(move || {
                (0..2_000)
                    .map(|_| {
                        let count = count.clone();
                        handle.spawn(async move {
                            count.fetch_add(1, Relaxed);
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let handles: Vec<_> = threads.into_iter().flat_map(|t| t.join().expect("thread")).collect();
    rt.block_on(must_complete("all spawned tasks", async {
        for handle in handles {
            handle.await.expect("joined");
        }
    }));
    assert_eq!(count.load(Relaxed), 16_000);
}

/// Dropping the runtime while its workers are busy (tasks that yield forever, tasks waiting on
/// sockets and timers) returns, and drops every future.
#[test]
fn drop_the_runtime_under_load() {
    let _watchdog = watchdog("drop_the_runtime_under_load");
    for _ in 0..20 {
        let rt = rt2();
        let dropped = Arc::new(AtomicUsize::new(0));
        let spawned = 200;
        for i in 0..spawned {
            let guard = Never(dropped.clone());
            rt.spawn(async move {
                let _guard = guard;
                match i % 3 {
                    0 => loop {
                        task::yield_now().await;
                    },
                    1 => minirt::time::sleep(Duration::from_secs(60)).await,
                    _ => {
                        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                        let _ = listener.accept().await;
                    }
                }
            });
        }
        thread::sleep(Duration::from_millis(5));
        drop(rt);
        assert_eq!(dropped.load(Relaxed), spawned, "every future dropped");
    }
}

/// A task that wakes itself forever does not starve another task on a one-worker runtime.
#[test]
fn a_self_waking_task_cannot_starve_others() {
    let _watchdog = watchdog("a_self_waking_task_cannot_starve_others");
    let rt = Builder::new_multi_thread().worker_threads(1).build().expect("rt");
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    rt.spawn(poll_fn(move |cx| {
        if s.load(Relaxed) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }));
    let out = rt.block_on(must_complete("other task", rt.spawn(async { 5 })));
    stop.store(true, Relaxed);
    assert_eq!(out.expect("joined"), 5);
}

/// A task that yields runs after the tasks queued before it, but is not starved by two tasks
/// that keep waking each other on the same worker (through its LIFO slot and its ring, which
/// never run dry): the worker's maintenance moves the yielded task to the ring.
#[test]
fn a_yielding_task_is_not_starved_by_a_ping_pong_pair() {
    let _watchdog = watchdog("a_yielding_task_is_not_starved_by_a_ping_pong_pair");
    let rt = Builder::new_multi_thread().worker_threads(1).build().expect("rt");
    let stop = Arc::new(AtomicBool::new(false));
    let (to_pong, mut pong_inbox) = futures_channel::mpsc::unbounded::<()>();
    let (to_ping, mut ping_inbox) = futures_channel::mpsc::unbounded::<()>();
    let s = stop.clone();
    let pong = rt.spawn(async move {
        use futures_util::StreamExt;
        while pong_inbox.next().await.is_some() {
            if to_ping.unbounded_send(()).is_err() {
                break;
            }
        }
    });
    let ping = rt.spawn(async move {
        use futures_util::StreamExt;
        while !s.load(Relaxed) {
            to_pong.unbounded_send(()).expect("pong runs");
            ping_inbox.next().await.expect("pong answers");
        }
    });
    let yields = rt.block_on(must_complete(
        "the yielding task",
        rt.spawn(async {
            for _ in 0..100 {
                task::yield_now().await;
            }
            100
        }),
    ));
    stop.store(true, Relaxed);
    assert_eq!(yields.expect("joined"), 100);
    rt.block_on(must_complete("the ping-pong pair", async move {
        ping.await.expect("ping");
        pong.await.expect("pong");
    }));
}

/// Timers keep working on every worker: many sleeps registered from tasks on any worker fire,
/// none early.
#[test]
fn timers_fire_on_every_worker() {
    let _watchdog = watchdog("timers_fire_on_every_worker");
    let rt = rt2();
    rt.block_on(must_complete("sleeps", async {
        let handles: Vec<_> = (0..200u64)
            .map(|i| {
                minirt::spawn(async move {
                    let start = Instant::now();
                    let d = Duration::from_millis(i % 20);
                    minirt::time::sleep(d).await;
                    assert!(start.elapsed() >= d, "a sleep fired early");
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("joined");
        }
    }));
}

/// The metrics see the workers and the tasks.
#[test]
fn metrics_count_workers_and_tasks() {
    let _watchdog = watchdog("metrics_count_workers_and_tasks");
    let rt = rt2();
    let metrics = rt.metrics();
    assert_eq!(metrics.num_workers(), 2);
    let (tx, rx) = oneshot::channel::<()>();
    let waiting = rt.spawn(async move {
        let _ = rx.await;
    });
    assert_eq!(metrics.num_alive_tasks(), 1);
    drop(tx);
    rt.block_on(must_complete("waiting", waiting)).expect("joined");
    assert_eq!(alive_tasks_once_settled(&metrics), 0);
    rt.block_on(async { task::spawn_blocking(|| ()).await.expect("joined") });
    assert_eq!(metrics.num_blocking_threads(), 1);
    assert_ne!(rt.handle().id(), rt2().handle().id());
}

/// Worker threads carry the builder's name.
#[test]
fn worker_threads_are_named() {
    let _watchdog = watchdog("worker_threads_are_named");
    let rt =
        Builder::new_multi_thread().worker_threads(1).thread_name("mt-test").build().expect("rt");
    let name = rt.block_on(async {
        minirt::spawn(async { thread::current().name().map(str::to_owned) }).await.expect("joined")
    });
    assert_eq!(name.as_deref(), Some("mt-test"));
}

/// An echo round trip on a two-worker runtime, the server task and the client on whichever
/// worker picks them up: the reactor is shared.
#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_across_workers() -> io::Result<()> {
    let _watchdog = watchdog("io_across_workers");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = minirt::spawn(async move {
        for _ in 0..20 {
            let (mut socket, _) = listener.accept().await?;
            minirt::spawn(async move {
                let mut buf = [0u8; 64];
                loop {
                    let n = socket.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, io::Error>(());
                    }
                    socket.write_all(&buf[..n]).await?;
                }
            });
        }
        Ok::<_, io::Error>(())
    });
    let clients: Vec<_> = (0..20)
        .map(|i| {
            minirt::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                for round in 0..50u32 {
                    let msg = (i * 1000 + round).to_be_bytes();
                    stream.write_all(&msg).await?;
                    let mut back = [0u8; 4];
                    stream.read_exact(&mut back).await?;
                    assert_eq!(back, msg);
                }
                Ok::<_, io::Error>(())
            })
        })
        .collect();
    for client in clients {
        must_complete("client", client).await??;
    }
    must_complete("server", server).await??;
    Ok(())
}

/// A panicking `on_thread_start` hook kills its worker thread; dropping the runtime still
/// returns instead of waiting for that worker forever.
#[test]
fn a_panicking_thread_start_hook_does_not_hang_the_drop() {
    let _watchdog = watchdog("a_panicking_thread_start_hook_does_not_hang_the_drop");
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(|| panic!("hook failed"))
        .build()
        .expect("rt");
    thread::sleep(Duration::from_millis(20));
    drop(rt);
}

/// Abort racing with runs on other workers: thousands of tasks that keep yielding, aborted from
/// the `block_on` thread while workers poll them. Each handle reports cancellation exactly
/// once, and no task is run twice at once (the state machine would panic).
#[test]
fn abort_races_with_runs_on_other_workers() {
    let _watchdog = watchdog("abort_races_with_runs_on_other_workers");
    let rt = rt2();
    rt.block_on(must_complete("aborts", async {
        for _ in 0..5 {
            let handles: Vec<_> = (0..2_000)
                .map(|_| {
                    minirt::spawn(async {
                        loop {
                            task::yield_now().await;
                        }
                    })
                })
                .collect();
            task::yield_now().await;
            for handle in &handles {
                handle.abort();
            }
            for handle in handles {
                let err = handle.await.expect_err("aborted");
                assert!(err.is_cancelled());
            }
        }
    }));
    assert_eq!(alive_tasks_once_settled(&rt.metrics()), 0);
}

/// `num_alive_tasks` once it stops dropping (for at most 10 s). A worker releases a task from
/// the runtime's list right after publishing its completion, so a `JoinHandle` can see the
/// result a moment before the count goes down.
fn alive_tasks_once_settled(metrics: &minirt::runtime::RuntimeMetrics) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    while metrics.num_alive_tasks() > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    metrics.num_alive_tasks()
}

/// Wakes racing with completion across workers: tasks that complete while other tasks keep
/// waking them through shared wakers. Every output arrives once.
#[test]
fn wakes_race_with_completion_across_workers() {
    let _watchdog = watchdog("wakes_race_with_completion_across_workers");
    let rt = rt();
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let waker_thread = {
        let (wakers, stop) = (wakers.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Relaxed) {
                let taken: Vec<Waker> = wakers.lock().expect("lock").clone();
                for waker in taken {
                    waker.wake();
                }
                thread::yield_now();
            }
        })
    };
    let total = rt.block_on(must_complete("tasks", async {
        let handles: Vec<_> = (0..5_000u64)
            .map(|i| {
                let wakers = wakers.clone();
                minirt::spawn(async move {
                    let mut polls = 0;
                    poll_fn(|cx| {
                        polls += 1;
                        if polls == 1 {
                            wakers.lock().expect("lock").push(cx.waker().clone());
                        }
                        if polls >= 3 {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    })
                    .await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.expect("joined");
        }
        sum
    }));
    stop.store(true, Relaxed);
    waker_thread.join().expect("waker thread");
    wakers.lock().expect("lock").clear();
    assert_eq!(total, (0..5_000u64).sum::<u64>());
}

/// An I/O object that outlives its multi-thread runtime fails instead of hanging.
#[test]
fn io_that_outlives_a_multi_thread_runtime_fails() {
    let _watchdog = watchdog("io_that_outlives_a_multi_thread_runtime_fails");
    let rt = rt2();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    drop(rt);
    let other = Builder::new_current_thread().build().expect("rt");
    let accepted = other.block_on(must_complete("accept", listener.accept()));
    assert!(accepted.is_err(), "the reactor is shut down");
}
