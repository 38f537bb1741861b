//! The primitives under real parallelism: plain threads hammering the lock-free fast paths
//! and the locked slow paths at once (`blocking_*`, and a runtime per thread), checking that
//! no permit, value or wake-up is lost. loom checks the same protocols exhaustively on small
//! models (runtime/src/sync/loom_tests.rs); this checks them at scale on the real memory model.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;

use common::watchdog;
use minirt::sync::{broadcast, mpsc, oneshot, Mutex, Notify, RwLock, Semaphore};

const THREADS: usize = 4;
const ROUNDS: usize = 5_000;

fn rt() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_current_thread().enable_all().build().expect("build a runtime")
}

#[test]
fn mutex_counts_exactly_across_threads() {
    let _dog = watchdog("mutex_counts_exactly_across_threads");
    let mutex = Arc::new(Mutex::new(0usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let mutex = mutex.clone();
            thread::spawn(move || {
                if i % 2 == 0 {
                    for _ in 0..ROUNDS {
                        *mutex.blocking_lock() += 1;
                    }
                } else {
                    // Half the threads lock from inside a runtime, with tasks.
                    rt().block_on(async move {
                        let tasks: Vec<_> = (0..10)
                            .map(|_| {
                                let mutex = mutex.clone();
                                minirt::spawn(async move {
                                    for _ in 0..ROUNDS / 10 {
                                        let mut guard = mutex.lock().await;
                                        *guard += 1;
                                        minirt::task::yield_now().await;
                                    }
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.unwrap();
                        }
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*mutex.blocking_lock(), THREADS * ROUNDS);
}

#[test]
fn semaphore_never_over_admits_and_keeps_its_permits() {
    let _dog = watchdog("semaphore_never_over_admits_and_keeps_its_permits");
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (sem, inside) = (sem.clone(), inside.clone());
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    let n = 1 + ((i + round) % 3) as u32;
                    let permit = sem.blocking_acquire_many(n).unwrap();
                    let now = inside.fetch_add(n as usize, SeqCst) + n as usize;
                    assert!(now <= 3, "{now} permits held out of 3");
                    inside.fetch_sub(n as usize, SeqCst);
                    drop(permit);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(sem.available_permits(), 3);
    assert!(sem.try_acquire_many(3).is_ok());
}

#[test]
fn rwlock_writers_exclude_readers_across_threads() {
    let _dog = watchdog("rwlock_writers_exclude_readers_across_threads");
    let lock = Arc::new(RwLock::new((0usize, 0usize)));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let lock = lock.clone();
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    if i == 0 {
                        let mut guard = lock.blocking_write();
                        guard.0 += 1;
                        guard.1 += 1;
                    } else {
                        let guard = lock.blocking_read();
                        // A writer updates both halves under one write lock.
                        assert_eq!(guard.0, guard.1, "a reader saw a half-done write");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*lock.blocking_read(), (ROUNDS, ROUNDS));
}

#[test]
fn oneshot_and_mpsc_lose_nothing_across_threads() {
    let _dog = watchdog("oneshot_and_mpsc_lose_nothing_across_threads");
    // Oneshots: each sent from another thread, received here, many racing each other.
    let (tx, mut rx) = mpsc::channel::<oneshot::Receiver<usize>>(64);
    let producer = thread::spawn(move || {
        for i in 0..ROUNDS {
            let (otx, orx) = oneshot::channel();
            tx.blocking_send(orx).unwrap();
            // Half are sent before the receiver can look, half race with it.
            if i % 2 == 0 {
                otx.send(i).unwrap();
            } else {
                thread::spawn(move || otx.send(i).unwrap());
            }
        }
    });
    let mut sum = 0;
    while let Some(orx) = rx.blocking_recv() {
        sum += orx.blocking_recv().unwrap();
    }
    producer.join().unwrap();
    assert_eq!(sum, (0..ROUNDS).sum::<usize>());

    // Bounded mpsc: THREADS producers, one consumer in a runtime.
    let (tx, mut rx) = mpsc::channel::<usize>(8);
    let producers: Vec<_> = (0..THREADS)
        .map(|_| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..ROUNDS {
                    tx.blocking_send(i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let total = rt().block_on(async move {
        let mut total = 0;
        while let Some(v) = rx.recv().await {
            total += v;
        }
        assert_eq!(rx.capacity(), 8);
        total
    });
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(total, THREADS * (0..ROUNDS).sum::<usize>());
}

#[test]
fn notify_one_from_threads_wakes_every_waiter() {
    let _dog = watchdog("notify_one_from_threads_wakes_every_waiter");
    let notify = Arc::new(Notify::new());
    let woken = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..THREADS)
        .map(|_| {
            let (notify, woken) = (notify.clone(), woken.clone());
            thread::spawn(move || {
                rt().block_on(async move {
                    for _ in 0..ROUNDS / 10 {
                        notify.notified().await;
                        woken.fetch_add(1, SeqCst);
                    }
                })
            })
        })
        .collect();
    // One notify_one per wait, from this thread; a stored permit covers a notify that comes
    // before its waiter, so keep notifying until every wait completed.
    while woken.load(SeqCst) < THREADS * (ROUNDS / 10) {
        notify.notify_one();
        thread::yield_now();
    }
    for w in waiters {
        w.join().unwrap();
    }
}

#[test]
fn broadcast_receivers_on_threads_see_every_value_or_its_lag() {
    let _dog = watchdog("broadcast_receivers_on_threads_see_every_value_or_its_lag");
    // Receivers read without the lock (from the block they hold) while the sender, on its own
    // thread, fills new blocks and the ring drops old ones. Every value is an `Arc`, so a value
    // dropped twice, or read after it was released, would show (a wrong count, a crash under
    // valgrind); and each receiver must see the stream in order, with `Lagged(n)` accounting
    // exactly for what it missed.
    const VALUES: usize = 20_000;
    let (tx, _) = broadcast::channel::<Arc<usize>>(64);
    let receivers: Vec<_> = (0..THREADS)
        .map(|r| {
            let mut rx = tx.subscribe();
            thread::spawn(move || {
                let (mut expected, mut got) = (0usize, 0usize);
                loop {
                    match rx.blocking_recv() {
                        Ok(v) => {
                            assert_eq!(*v, expected, "receiver {r} saw the stream out of order");
                            expected += 1;
                            got += 1;
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => expected += n as usize,
                        Err(broadcast::error::RecvError::Closed) => return (expected, got),
                    }
                    // One receiver in two is slow now and then, so it lags across blocks.
                    if r % 2 == 1 && expected % 97 == 0 {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let values: Vec<Arc<usize>> = (0..VALUES).map(Arc::new).collect();
    for v in &values {
        tx.send(v.clone()).unwrap();
    }
    drop(tx);
    for receiver in receivers {
        let (expected, got) = receiver.join().unwrap();
        assert_eq!(expected, VALUES, "every value was received or counted as missed");
        assert!(got > 0);
    }
    // Every receiver is gone: the channel holds no copy of anything.
    for v in &values {
        assert_eq!(Arc::strong_count(v), 1);
    }
}
