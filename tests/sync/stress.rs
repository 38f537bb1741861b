//! Cancellation under load: thousands of waiters on each primitive, a random half aborted
//! (`JoinHandle::abort`) in random order and a random share timed out
//! (`minirt::time::timeout`), while the primitive keeps being served. Afterwards nothing was
//! lost or invented (every permit, slot and notification accounted for) and the primitive
//! still works. A small xorshift PRNG with fixed seeds makes every run the same.

use crate::common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use common::{must_complete, watchdog};
use futures_util::FutureExt;
use minirt::sync::{broadcast, mpsc, Mutex, Notify, RwLock, Semaphore};
use minirt::task::JoinHandle;

const WAITERS: usize = 3_000;

/// xorshift64: tiny, deterministic, good enough to shuffle.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn shuffled(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            v.swap(i, self.below(i as u64 + 1) as usize);
        }
        v
    }
}

fn rt() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_current_thread().enable_all().build().expect("build a runtime")
}

/// Runs `wait` under a random timeout (1-5 ms) for a third of the waiters; `None` if it
/// timed out.
async fn maybe_timeout<F: Future>(rng_bits: u64, wait: F) -> Option<F::Output> {
    if rng_bits % 3 == 0 {
        minirt::time::timeout(Duration::from_millis(1 + (rng_bits >> 8) % 5), wait).await.ok()
    } else {
        Some(wait.await)
    }
}

/// Aborts a random half of `handles` in random order, calling `serve` every few aborts (and
/// yielding now and then, so woken waiters run in between), then awaits them all.
async fn abort_half<T: Send + 'static>(
    rng: &mut Rng,
    handles: Vec<JoinHandle<T>>,
    mut serve: impl FnMut(&mut Rng),
) {
    common::settle().await;
    for (step, i) in rng.shuffled(handles.len()).into_iter().enumerate() {
        if rng.below(2) == 0 {
            handles[i].abort();
        }
        if step % 7 == 0 {
            serve(rng);
        }
        if step % 64 == 0 {
            minirt::task::yield_now().await;
        }
    }
}

#[test]
fn semaphore_survives_random_cancellation() {
    let _dog = watchdog("semaphore_survives_random_cancellation");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    rt().block_on(async {
        let sem = Arc::new(Semaphore::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..WAITERS)
            .map(|_| {
                let (sem, served) = (sem.clone(), served.clone());
                let (need, bits) = (1 + rng.below(3) as u32, rng.next());
                minirt::spawn(async move {
                    let Some(permit) = maybe_timeout(bits, sem.acquire_many(need)).await else {
                        return;
                    };
                    let permit = permit.unwrap();
                    served.fetch_add(1, SeqCst);
                    minirt::task::yield_now().await;
                    drop(permit);
                })
            })
            .collect();
        let mut added = 0;
        abort_half(&mut rng, handles, |rng| {
            let n = rng.below(4) as usize;
            sem.add_permits(n);
            added += n;
        })
        .await;
        // Enough for everyone still waiting.
        sem.add_permits(3 * WAITERS);
        added += 3 * WAITERS;
        common::settle_until(10_000, || Arc::strong_count(&sem) == 1).await;
        assert_eq!(Arc::strong_count(&sem), 1, "every task finished");
        // Not one permit lost to a cancelled waiter, not one invented.
        assert_eq!(sem.available_permits(), added);
        assert!(served.load(SeqCst) > 0);
        // Nobody is left in line, and it still works.
        let all = sem.try_acquire_many(added as u32).expect("no waiter left");
        drop(all);
        let permit = must_complete("acquire after the storm", sem.acquire_many(3)).await;
        drop(permit.unwrap());
    });
}

#[test]
fn mutex_survives_random_cancellation() {
    let _dog = watchdog("mutex_survives_random_cancellation");
    let mut rng = Rng(0xd1b5_4a32_d192_ed03);
    rt().block_on(async {
        let mutex = Arc::new(Mutex::new(0usize));
        let held = mutex.clone().lock_owned().await;
        let handles: Vec<_> = (0..WAITERS)
            .map(|_| {
                let mutex = mutex.clone();
                let bits = rng.next();
                minirt::spawn(async move {
                    if let Some(mut guard) = maybe_timeout(bits, mutex.lock()).await {
                        *guard += 1;
                        minirt::task::yield_now().await;
                    }
                })
            })
            .collect();
        let mut held = Some(held);
        abort_half(&mut rng, handles, |_| {
            // Let the line move once, early on.
            held.take();
        })
        .await;
        common::settle_until(10_000, || Arc::strong_count(&mutex) == 1).await;
        assert_eq!(Arc::strong_count(&mutex), 1, "every task finished");
        let count = *mutex.try_lock().expect("nobody holds or waits for the lock");
        assert!(count > 0 && count <= WAITERS);
        *must_complete("lock after the storm", mutex.lock()).await += 1;
    });
}

#[test]
fn rwlock_survives_random_cancellation() {
    let _dog = watchdog("rwlock_survives_random_cancellation");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    rt().block_on(async {
        let lock = Arc::new(RwLock::new(0usize));
        let held = lock.clone().write_owned().await;
        let handles: Vec<_> = (0..WAITERS)
            .map(|_| {
                let lock = lock.clone();
                let (write, bits) = (rng.below(4) == 0, rng.next());
                minirt::spawn(async move {
                    if write {
                        if let Some(mut guard) = maybe_timeout(bits, lock.write()).await {
                            *guard += 1;
                            minirt::task::yield_now().await;
                        }
                    } else if let Some(guard) = maybe_timeout(bits, lock.read()).await {
                        let _ = *guard;
                        minirt::task::yield_now().await;
                    }
                })
            })
            .collect();
        let mut held = Some(held);
        abort_half(&mut rng, handles, |_| {
            held.take();
        })
        .await;
        common::settle_until(10_000, || Arc::strong_count(&lock) == 1).await;
        assert_eq!(Arc::strong_count(&lock), 1, "every task finished");
        drop(lock.try_write().expect("nobody holds or waits for the lock"));
        drop(must_complete("read after the storm", lock.read()).await);
    });
}

#[test]
fn notify_loses_no_notification_to_cancellation() {
    let _dog = watchdog("notify_loses_no_notification_to_cancellation");
    let mut rng = Rng(0xa076_1d64_78bd_642f);
    rt().block_on(async {
        let notify = Arc::new(Notify::new());
        let completed = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..WAITERS)
            .map(|_| {
                let (notify, completed) = (notify.clone(), completed.clone());
                let bits = rng.next();
                minirt::spawn(async move {
                    if maybe_timeout(bits, notify.notified()).await.is_some() {
                        completed.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        let mut calls = 0;
        abort_half(&mut rng, handles, |rng| {
            if rng.below(2) == 0 {
                notify.notify_last();
            } else {
                notify.notify_one();
            }
            calls += 1;
        })
        .await;
        // Those neither aborted nor timed out still wait: one notify_one each releases them.
        for _ in 0..WAITERS {
            if Arc::strong_count(&notify) == 1 {
                break;
            }
            notify.notify_one();
            calls += 1;
            common::settle().await;
        }
        assert_eq!(Arc::strong_count(&notify), 1, "every task finished");
        let completed = completed.load(SeqCst);
        assert!(completed <= calls);
        // A notification not consumed by a waiter that completed went to the permit: it was
        // passed on by every cancelled waiter it reached, never dropped.
        let stored = notify.notified().now_or_never().is_some();
        assert_eq!(stored, calls > completed, "calls {calls}, completed {completed}");
        // And it still works.
        notify.notify_one();
        must_complete("notified after the storm", notify.notified()).await;
    });
}

#[test]
fn bounded_mpsc_survives_random_cancellation() {
    let _dog = watchdog("bounded_mpsc_survives_random_cancellation");
    let mut rng = Rng(0xe703_7ed1_a0b4_28db);
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel::<usize>(8);
        let sent = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..WAITERS)
            .map(|i| {
                let (tx, sent) = (tx.clone(), sent.clone());
                let bits = rng.next();
                minirt::spawn(async move {
                    if let Some(Ok(())) = maybe_timeout(bits, tx.send(i)).await {
                        sent.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        drop(tx);
        let received = Arc::new(AtomicUsize::new(0));
        let mut taken = Vec::new();
        abort_half(&mut rng, handles, |rng| {
            // Take a few values now and then, freeing slots for the waiting senders.
            for _ in 0..rng.below(3) {
                if let Ok(v) = rx.try_recv() {
                    taken.push(v);
                }
            }
        })
        .await;
        // Drain until every sender is gone.
        let drained = must_complete("drain", async {
            let mut n = 0;
            while rx.recv().await.is_some() {
                n += 1;
            }
            n
        })
        .await;
        received.fetch_add(taken.len() + drained, SeqCst);
        assert_eq!(received.load(SeqCst), sent.load(SeqCst), "every sent value arrives");
        // Every slot is free again: none leaked by a cancelled send.
        assert_eq!(rx.capacity(), rx.max_capacity());
    });
}

#[test]
fn broadcast_survives_random_cancellation() {
    let _dog = watchdog("broadcast_survives_random_cancellation");
    let mut rng = Rng(0x8ebc_6af0_9c88_c6e3);
    rt().block_on(async {
        let (tx, _) = broadcast::channel::<usize>(4);
        let handles: Vec<_> = (0..WAITERS)
            .map(|_| {
                // Inline in the task's future: `rx.recv()` borrows it, and an aborted task's
                // future is dropped in place (this crashed when tasks moved it out first).
                let mut rx = tx.subscribe();
                let bits = rng.next();
                minirt::spawn(async move {
                    let _ = maybe_timeout(bits, rx.recv()).await;
                })
            })
            .collect();
        let mut sent = 0;
        abort_half(&mut rng, handles, |rng| {
            if rng.below(8) == 0 {
                let _ = tx.send(sent);
                sent += 1;
            }
        })
        .await;
        common::settle_until(10_000, || tx.receiver_count() == 0).await;
        assert_eq!(tx.receiver_count(), 0, "every receiver was dropped");
        assert!(tx.is_empty(), "no value is held for a receiver that is gone");
        // And it still works.
        let mut rx = tx.subscribe();
        assert_eq!(tx.send(42).unwrap(), 1);
        assert_eq!(must_complete("recv after the storm", rx.recv()).await, Ok(42));
    });
}
