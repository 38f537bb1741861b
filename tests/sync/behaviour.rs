//! minirt's own tests of `minirt::sync` beyond tokio's ported ones: the coop budget (a task
//! draining an always-ready primitive yields), FIFO fairness of Mutex and Semaphore on a real
//! runtime, cross-thread and cross-runtime use, `blocking_*` from plain threads, and the auto
//! traits.

use crate::common;

use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::task::Poll;
use std::thread;

use common::{must_complete, watchdog};
use minirt::runtime::Runtime;
use minirt::sync::{
    broadcast, mpsc, oneshot, watch, Barrier, Mutex, Notify, OnceCell, RwLock, Semaphore,
};

fn rt() -> Runtime {
    minirt::runtime::Builder::new_current_thread().enable_all().build().expect("build a runtime")
}

/// tokio's `rt_common::coop`, for every primitive whose wait can always be ready: within
/// 1,000 ready polls at least one returns `Pending`, because each spends the task's budget.
#[test]
fn coop_every_ready_primitive_yields() {
    let _dog = watchdog("coop_every_ready_primitive_yields");
    let rt = rt();
    rt.block_on(async {
        let task = minirt::spawn(async {
            // A full unbounded channel.
            let (tx, mut rx) = mpsc::unbounded_channel();
            for _ in 0..1_000 {
                tx.send(()).unwrap();
            }
            assert_yields("mpsc::unbounded recv", |cx| rx.poll_recv(cx).map(drop)).await;

            // A full bounded channel.
            let (tx, mut rx) = mpsc::channel(1_000);
            for _ in 0..1_000 {
                tx.try_send(()).unwrap();
            }
            assert_yields("mpsc::channel recv", |cx| rx.poll_recv(cx).map(drop)).await;

            // A broadcast channel with 1,000 values queued.
            let (tx, mut rx) = broadcast::channel(1_024);
            for _ in 0..1_000 {
                tx.send(()).unwrap();
            }
            let mut recv = Box::pin(async move {
                loop {
                    rx.recv().await.unwrap();
                }
            });
            assert_yields("broadcast recv", |cx| recv.as_mut().poll(cx)).await;

            // A semaphore that always has permits, a mutex that is always free.
            let sem = Semaphore::new(1);
            let mut acquire = Box::pin(async {
                loop {
                    drop(sem.acquire().await.unwrap());
                }
            });
            assert_yields("Semaphore acquire", |cx| acquire.as_mut().poll(cx)).await;
            let mutex = Mutex::new(0);
            let mut lock = Box::pin(async {
                loop {
                    *mutex.lock().await += 1;
                }
            });
            assert_yields("Mutex lock", |cx| lock.as_mut().poll(cx)).await;

            // A Notify with a permit stored each time, a closed watch channel.
            let notify = Notify::new();
            let mut notified = Box::pin(async {
                loop {
                    notify.notify_one();
                    notify.notified().await;
                }
            });
            assert_yields("Notify notified", |cx| notified.as_mut().poll(cx)).await;
            let (tx, mut rx) = watch::channel(());
            drop(tx);
            let mut changed = Box::pin(async move {
                loop {
                    let _ = rx.changed().await;
                }
            });
            assert_yields("watch changed (closed)", |cx| changed.as_mut().poll(cx)).await;
        });
        must_complete("the coop task", task).await.unwrap();
    });

    async fn assert_yields(
        what: &str,
        mut poll: impl FnMut(&mut std::task::Context<'_>) -> Poll<()>,
    ) {
        // Start with a fresh budget, so the count below does not depend on what ran before.
        minirt::task::yield_now().await;
        poll_fn(|cx| {
            for _ in 0..1_000 {
                if poll(cx).is_pending() {
                    return Poll::Ready(());
                }
            }
            panic!("{what}: 1,000 ready polls and not one Pending: the coop budget is ignored");
        })
        .await
    }
    use std::future::Future;
}

/// 100 tasks queue for a held Mutex in spawn order; they get it in exactly that order.
#[test]
fn mutex_is_fifo_on_a_runtime() {
    let _dog = watchdog("mutex_is_fifo_on_a_runtime");
    rt().block_on(async {
        let mutex = Arc::new(Mutex::new(Vec::new()));
        let held = mutex.clone().lock_owned().await;
        let mut handles = Vec::new();
        for i in 0..100 {
            let mutex = mutex.clone();
            handles.push(minirt::spawn(async move {
                mutex.lock().await.push(i);
            }));
            // Each task is queued before the next one is spawned.
            minirt::task::yield_now().await;
        }
        drop(held);
        for handle in handles {
            must_complete("a lock task", handle).await.unwrap();
        }
        assert_eq!(*mutex.lock().await, (0..100).collect::<Vec<_>>());
    });
}

/// A large request queued first is served before small ones queued after it, even though
/// the small ones could have been served earlier (no barging).
#[test]
fn semaphore_large_request_is_not_overtaken() {
    let _dog = watchdog("semaphore_large_request_is_not_overtaken");
    rt().block_on(async {
        let sem = Arc::new(Semaphore::new(0));
        let order = Arc::new(StdMutex::new(Vec::new()));
        let mut handles = Vec::new();
        for (i, n) in [(0, 5u32), (1, 1), (2, 1), (3, 2)] {
            let (sem, order) = (sem.clone(), order.clone());
            handles.push(minirt::spawn(async move {
                let permit = sem.acquire_many(n).await.unwrap();
                order.lock().unwrap().push(i);
                permit.forget();
            }));
            minirt::task::yield_now().await;
        }
        // One at a time: the first waiter collects them all before anyone else gets one.
        for _ in 0..9 {
            sem.add_permits(1);
            minirt::task::yield_now().await;
        }
        for handle in handles {
            must_complete("an acquire task", handle).await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(sem.available_permits(), 0);
    });
}

/// A waiter served in full while it was not looking: dropped before its next poll, it passes
/// its permits on to the waiters behind it; polled late, it holds them, even after a newer
/// waiter joined the line in between (and may reuse its place in the line's storage).
#[test]
fn semaphore_served_waiter_dropped_or_polled_late() {
    use std::future::Future;
    use std::task::{Context, Waker};

    let sem = Semaphore::new(0);
    let mut cx = Context::from_waker(Waker::noop());
    let mut a = Box::pin(sem.acquire_many(2));
    assert!(a.as_mut().poll(&mut cx).is_pending());
    let mut b = Box::pin(sem.acquire());
    assert!(b.as_mut().poll(&mut cx).is_pending());
    sem.add_permits(2); // A's, in full
    let mut c = Box::pin(sem.acquire());
    assert!(c.as_mut().poll(&mut cx).is_pending(), "B and C wait behind A");
    drop(a);
    let Poll::Ready(Ok(for_b)) = b.as_mut().poll(&mut cx) else { panic!("A's permits went to B") };
    let Poll::Ready(Ok(for_c)) = c.as_mut().poll(&mut cx) else { panic!("A's permits went to C") };
    drop((for_b, for_c));
    assert_eq!(sem.available_permits(), 2);

    let mut d = Box::pin(sem.acquire_many(3));
    assert!(d.as_mut().poll(&mut cx).is_pending(), "2 free, 3 needed");
    sem.add_permits(1); // D's, in full
    let mut e = Box::pin(sem.acquire());
    assert!(e.as_mut().poll(&mut cx).is_pending());
    let Poll::Ready(Ok(for_d)) = d.as_mut().poll(&mut cx) else {
        panic!("D was served before E joined")
    };
    assert_eq!(for_d.num_permits(), 3);
    assert!(e.as_mut().poll(&mut cx).is_pending(), "D holds all 3");
    drop(for_d);
    let Poll::Ready(Ok(for_e)) = e.as_mut().poll(&mut cx) else { panic!("E after D") };
    drop(for_e);
    assert_eq!(sem.available_permits(), 3);
}

/// A writer waiting behind readers is not overtaken by readers that arrive after it.
#[test]
fn rwlock_prefers_a_waiting_writer() {
    let _dog = watchdog("rwlock_prefers_a_waiting_writer");
    rt().block_on(async {
        let lock = Arc::new(RwLock::new(0));
        let reader = lock.clone().read_owned().await;
        let writer = {
            let lock = lock.clone();
            minirt::spawn(async move {
                *lock.write().await += 1;
            })
        };
        minirt::task::yield_now().await;
        // The writer is queued: a new reader must wait behind it.
        assert!(lock.try_read().is_err());
        let late_reader = {
            let lock = lock.clone();
            minirt::spawn(async move { *lock.read().await })
        };
        drop(reader);
        must_complete("the writer", writer).await.unwrap();
        assert_eq!(must_complete("the late reader", late_reader).await.unwrap(), 1);
    });
}

/// Values cross from plain threads (`blocking_send`, `blocking_lock`) into a runtime and back
/// (`blocking_recv`), and a channel connects two runtimes on two threads.
#[test]
fn blocking_calls_and_two_runtimes() {
    let _dog = watchdog("blocking_calls_and_two_runtimes");
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    let (back_tx, mut back_rx) = mpsc::unbounded_channel::<u32>();
    let mutex = Arc::new(Mutex::new(0u32));

    let producer = {
        let mutex = mutex.clone();
        thread::spawn(move || {
            for i in 0..100 {
                tx.blocking_send(i).unwrap();
                *mutex.blocking_lock() += 1;
            }
        })
    };
    let other_runtime = thread::spawn(move || {
        rt().block_on(async move {
            let mut sum = 0;
            while let Some(v) = rx.recv().await {
                sum += v;
                back_tx.send(v).unwrap();
            }
            sum
        })
    });
    let mut echoed = 0;
    while back_rx.blocking_recv().is_some() {
        echoed += 1;
    }
    producer.join().unwrap();
    assert_eq!(other_runtime.join().unwrap(), (0..100).sum::<u32>());
    assert_eq!(echoed, 100);
    assert_eq!(*mutex.blocking_lock(), 100);

    let (tx, rx) = oneshot::channel();
    thread::spawn(move || tx.send(7).unwrap());
    assert_eq!(rx.blocking_recv(), Ok(7));
}

#[test]
#[should_panic(expected = "Cannot block the current thread from within a runtime")]
fn blocking_recv_inside_a_runtime_panics() {
    rt().block_on(async {
        let (_tx, mut rx) = mpsc::channel::<()>(1);
        rx.blocking_recv();
    });
}

/// Many tasks wake each other across a Barrier and a Notify, over several generations.
#[test]
fn barrier_generations_and_notify_waiters() {
    let _dog = watchdog("barrier_generations_and_notify_waiters");
    rt().block_on(async {
        let barrier = Arc::new(Barrier::new(10));
        let leaders = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..10 {
            let (barrier, leaders) = (barrier.clone(), leaders.clone());
            handles.push(minirt::spawn(async move {
                for _ in 0..5 {
                    if barrier.wait().await.is_leader() {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        for handle in handles {
            must_complete("a barrier task", handle).await.unwrap();
        }
        assert_eq!(leaders.load(Ordering::SeqCst), 5);

        let notify = Arc::new(Notify::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..50 {
            let (notify, woken) = (notify.clone(), woken.clone());
            let notified = notify.clone();
            handles.push(minirt::spawn(async move {
                notified.notified().await;
                woken.fetch_add(1, Ordering::SeqCst);
                drop(notify);
            }));
        }
        common::settle().await;
        notify.notify_waiters();
        for handle in handles {
            must_complete("a notified task", handle).await.unwrap();
        }
        assert_eq!(woken.load(Ordering::SeqCst), 50);
    });
}

/// A cancelled initializer hands the OnceCell to the next waiter.
#[test]
fn once_cell_cancelled_initializer_passes_on() {
    let _dog = watchdog("once_cell_cancelled_initializer_passes_on");
    rt().block_on(async {
        let cell = Arc::new(OnceCell::new());
        let first = {
            let cell = cell.clone();
            minirt::spawn(async move { *cell.get_or_init(std::future::pending::<u32>).await })
        };
        common::settle().await;
        let second = {
            let cell = cell.clone();
            minirt::spawn(async move { *cell.get_or_init(|| async { 2 }).await })
        };
        common::settle().await;
        assert!(!second.is_finished());
        first.abort();
        assert_eq!(must_complete("the second initializer", second).await.unwrap(), 2);
        assert_eq!(cell.get(), Some(&2));
    });
}

#[test]
fn primitives_are_send_sync_and_unpin() {
    fn send_sync<T: Send + Sync>() {}
    fn unpin<T: Unpin>() {}
    send_sync::<Mutex<u8>>();
    send_sync::<RwLock<u8>>();
    send_sync::<Semaphore>();
    send_sync::<Notify>();
    send_sync::<Barrier>();
    send_sync::<OnceCell<u8>>();
    send_sync::<mpsc::Sender<u8>>();
    send_sync::<mpsc::Receiver<u8>>();
    send_sync::<mpsc::UnboundedSender<u8>>();
    send_sync::<mpsc::UnboundedReceiver<u8>>();
    send_sync::<oneshot::Sender<u8>>();
    send_sync::<oneshot::Receiver<u8>>();
    send_sync::<watch::Sender<u8>>();
    send_sync::<watch::Receiver<u8>>();
    send_sync::<broadcast::Sender<u8>>();
    send_sync::<broadcast::Receiver<u8>>();
    send_sync::<minirt::sync::MutexGuard<'static, u8>>();
    send_sync::<minirt::sync::OwnedMutexGuard<u8>>();
    send_sync::<minirt::sync::RwLockReadGuard<'static, u8>>();
    send_sync::<minirt::sync::RwLockWriteGuard<'static, u8>>();
    send_sync::<minirt::sync::SemaphorePermit<'static>>();
    unpin::<oneshot::Receiver<u8>>();
    unpin::<minirt::sync::Notified<'static>>();
    unpin::<mpsc::Receiver<u8>>();
}

/// A waker that calls back into the primitive that wakes (or drops) it: if any primitive
/// woke or dropped wakers while holding its own lock, these would deadlock (the watchdog
/// would fire) or panic.
#[test]
fn wakers_run_outside_the_primitives_locks() {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::AtomicBool;
    use std::task::{Context, Wake, Waker};

    struct Reentrant<F: Fn() + Send + Sync> {
        on_wake: F,
        woken: AtomicBool,
    }
    impl<F: Fn() + Send + Sync> Wake for Reentrant<F> {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, Ordering::SeqCst);
            (self.on_wake)();
        }
    }
    fn waker<F: Fn() + Send + Sync + 'static>(on_wake: F) -> (Waker, Arc<Reentrant<F>>) {
        let inner = Arc::new(Reentrant { on_wake, woken: AtomicBool::new(false) });
        (Waker::from(inner.clone()), inner)
    }

    let _dog = watchdog("wakers_run_outside_the_primitives_locks");

    // Notify: the woken waiter's waker notifies again.
    let notify = Arc::new(Notify::new());
    let (w, flag) = {
        let notify = notify.clone();
        waker(move || notify.notify_waiters())
    };
    let mut notified = pin!(notify.notified());
    assert!(notified.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    notify.notify_one();
    assert!(flag.woken.load(Ordering::SeqCst));

    // Semaphore: the served waiter's waker closes the semaphore (which takes its lock).
    let sem = Arc::new(Semaphore::new(0));
    let (w, flag) = {
        let sem = sem.clone();
        waker(move || sem.close())
    };
    let mut acquire = pin!(sem.acquire());
    assert!(acquire.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    sem.add_permits(1);
    assert!(flag.woken.load(Ordering::SeqCst));
    assert!(sem.is_closed());

    // mpsc: the receiver's waker sends again (which takes the channel's lock).
    let (tx, mut rx) = mpsc::channel::<u8>(4);
    let (w, flag) = {
        let tx = tx.clone();
        waker(move || {
            let _ = tx.try_send(2);
        })
    };
    assert!(rx.poll_recv(&mut Context::from_waker(&w)).is_pending());
    tx.try_send(1).unwrap();
    assert!(flag.woken.load(Ordering::SeqCst));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));

    // oneshot: the receiver's waker asks whether the sender side is closed.
    let (tx, mut rx) = oneshot::channel::<u8>();
    let (w, flag) = waker(|| {});
    assert!(std::pin::Pin::new(&mut rx).poll(&mut Context::from_waker(&w)).is_pending());
    tx.send(3).unwrap();
    assert!(flag.woken.load(Ordering::SeqCst));
    assert_eq!(rx.try_recv(), Ok(3));
}

/// `broadcast` keeps its values in blocks of 32 (a ring of 3 blocks for a capacity of 64,
/// `runtime/src/sync/broadcast.rs`), and receivers read them without the lock. Across block
/// boundaries, lagging is counted exactly, and a value is released as soon as every receiver
/// has it (or is gone), as tokio does.
#[test]
fn broadcast_lag_and_release_across_blocks() {
    use minirt::sync::broadcast::error::TryRecvError;
    let _dog = watchdog("broadcast_lag_and_release_across_blocks");
    let (tx, mut fast) = broadcast::channel::<Arc<usize>>(64);
    let mut slow = tx.subscribe();
    let values: Vec<Arc<usize>> = (0..130).map(Arc::new).collect();
    // Copies of a value that exist outside `values`.
    let held = |range: std::ops::Range<usize>| -> Vec<usize> {
        values[range].iter().map(|v| Arc::strong_count(v) - 1).collect()
    };
    for v in &values[..40] {
        tx.send(v.clone()).unwrap();
    }
    for i in 0..40 {
        assert_eq!(*fast.try_recv().unwrap(), i);
    }
    // `slow` has yet to read them: the channel holds each one.
    assert_eq!(held(0..40), vec![1; 40]);
    assert_eq!(tx.len(), 40);
    for i in 0..20 {
        assert_eq!(*slow.try_recv().unwrap(), i);
    }
    // Read by both: released at once.
    assert_eq!(held(0..20), vec![0; 20]);
    assert_eq!(tx.len(), 20);

    // 130 sent, 64 held: positions below 66 are overwritten.
    for v in &values[40..130] {
        tx.send(v.clone()).unwrap();
    }
    assert_eq!(fast.try_recv().unwrap_err(), TryRecvError::Lagged(26));
    assert_eq!(*fast.try_recv().unwrap(), 66);
    assert_eq!(slow.try_recv().unwrap_err(), TryRecvError::Lagged(46));
    assert_eq!(*slow.try_recv().unwrap(), 66);
    // Both receivers moved on from the blocks of positions 0..64, which the ring no longer
    // holds either: every value in them is released, read or not.
    assert_eq!(held(0..64), vec![0; 64]);
    assert_eq!(held(66..67), vec![0]);

    // A receiver dropped releases what only it had left to read.
    for i in 67..130 {
        assert_eq!(*fast.try_recv().unwrap(), i);
    }
    assert_eq!(tx.len(), 63);
    drop(slow);
    assert_eq!(held(66..130), vec![0; 64]);
    assert_eq!(tx.len(), 0);
    drop((tx, fast));
    assert_eq!(held(0..130), vec![0; 130]);
}
