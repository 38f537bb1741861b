//! loom models of the sync primitives' cross-thread protocols: every interleaving of a few
//! threads (up to `LOOM_MAX_PREEMPTIONS` preemptions) is run, and each must keep the
//! invariant: no lost wake-up (a waiter that should complete does, or the model deadlocks and
//! loom reports it), no double delivery, no permit lost or invented under cancellation.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p minirt-runtime --release --lib loom_
//! ```
//!
//! Removing Notify's forwarding of a cancelled waiter's notification makes
//! `loom_notify_cancelled_waiter_forwards` report a deadlock.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

use loom::future::block_on;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

use super::{broadcast, mpsc, oneshot, Notify, Semaphore, SetOnce};

/// Polls `future` once with a no-op waker.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    future.poll(&mut cx)
}

#[test]
fn loom_notify_one_is_never_lost() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_one())
        };
        // Completes whether the notification comes before the wait (permit) or during it.
        block_on(notify.notified());
        notifier.join().unwrap();
    });
}

#[test]
fn loom_notify_cancelled_waiter_forwards() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_one())
        };
        // A first waiter registers, then is cancelled. If `enable` found the notification
        // already there, this waiter took it; otherwise, if the notifier picked it while it
        // waited, its drop passes the notification on, so a second waiter still completes.
        let taken_by_first = {
            let mut first = pin!(notify.notified());
            first.as_mut().enable()
        };
        if !taken_by_first {
            block_on(notify.notified());
        }
        notifier.join().unwrap();
    });
}

#[test]
fn loom_notify_waiters_reaches_a_created_future() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let notified = notify.notified();
        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_waiters())
        };
        notifier.join().unwrap();
        // Created before the call: counts, even though it was never polled.
        block_on(notified);
    });
}

#[test]
fn loom_oneshot_send_recv() {
    loom::model(|| {
        let (tx, rx) = oneshot::channel::<usize>();
        let sender = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(block_on(rx), Ok(7));
        sender.join().unwrap();
    });
}

#[test]
fn loom_oneshot_drop_races() {
    loom::model(|| {
        // The value is dropped exactly once, whether the receiver takes it, drops it, or the
        // send fails and returns it.
        let drops = Arc::new(AtomicUsize::new(0));
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let (tx, rx) = oneshot::channel::<Counted>();
        let value = Counted(drops.clone());
        let sender = thread::spawn(move || drop(tx.send(value)));
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);

        // A dropped sender wakes a waiting receiver with an error.
        let (tx, rx) = oneshot::channel::<usize>();
        let dropper = thread::spawn(move || drop(tx));
        assert!(block_on(rx).is_err());
        dropper.join().unwrap();
    });
}

#[test]
fn loom_oneshot_close_races_with_send() {
    loom::model(|| {
        // A send either lands before the close (and is received) or fails (and returns the
        // value); never both, never neither.
        let (tx, mut rx) = oneshot::channel::<usize>();
        let sender = thread::spawn(move || tx.send(7).is_ok());
        rx.close();
        let received = rx.try_recv();
        let sent = sender.join().unwrap();
        // The close came first in this thread, so the send succeeded only if it landed
        // before the close, and then the value is there.
        assert_eq!(sent, received == Ok(7));
    });
}

#[test]
fn loom_oneshot_sender_closed_wakes() {
    loom::model(|| {
        let (mut tx, rx) = oneshot::channel::<usize>();
        let dropper = thread::spawn(move || drop(rx));
        block_on(tx.closed());
        assert!(tx.is_closed());
        dropper.join().unwrap();
    });
}

#[test]
fn loom_semaphore_two_threads_share_one_permit() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (sem, inside) = (sem.clone(), inside.clone());
            thread::spawn(move || {
                let permit = block_on(sem.acquire()).unwrap();
                assert_eq!(inside.fetch_add(1, SeqCst), 0, "two holders of one permit");
                inside.fetch_sub(1, SeqCst);
                drop(permit);
            })
        };
        let permit = block_on(sem.acquire()).unwrap();
        assert_eq!(inside.fetch_add(1, SeqCst), 0, "two holders of one permit");
        inside.fetch_sub(1, SeqCst);
        drop(permit);
        worker.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn loom_semaphore_cancelled_acquire_passes_the_permit_on() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.add_permits(1))
        };
        {
            // Queue, maybe get the permit, then be cancelled: the permit must not vanish.
            let mut acquire = pin!(sem.acquire());
            if let Poll::Ready(permit) = poll_once(acquire.as_mut()) {
                drop(permit.unwrap());
            }
        }
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        drop(block_on(sem.acquire()).unwrap());
    });
}

#[test]
fn loom_semaphore_grant_races_with_the_waiters_poll() {
    loom::model(|| {
        // A queued waiter polls (lock-free look at `served`, then the lock) while a release
        // serves it: it completes once, at this poll or the next, and the permit is counted once.
        let sem = Arc::new(Semaphore::new(0));
        let mut acquire = pin!(sem.acquire());
        assert!(poll_once(acquire.as_mut()).is_pending());
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.add_permits(1))
        };
        let permit = match poll_once(acquire.as_mut()) {
            Poll::Ready(permit) => permit.unwrap(),
            Poll::Pending => {
                releaser.join().unwrap();
                let Poll::Ready(permit) = poll_once(acquire.as_mut()) else {
                    panic!("served, yet still pending");
                };
                permit.unwrap()
            }
        };
        assert_eq!(sem.available_permits(), 0);
        drop(permit);
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn loom_semaphore_grant_races_with_cancel() {
    loom::model(|| {
        // A queued waiter is dropped while a release serves it: whether it was served (its
        // slot freed by the releaser) or not (its slot freed by itself), the permit ends up free.
        let sem = Arc::new(Semaphore::new(0));
        let mut acquire = Box::pin(sem.acquire());
        assert!(poll_once(acquire.as_mut()).is_pending());
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.add_permits(1))
        };
        drop(acquire);
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        assert!(sem.try_acquire().is_ok());
    });
}

#[test]
fn loom_semaphore_served_slot_reused_by_a_later_waiter() {
    loom::model(|| {
        // The releaser serves A (freeing A's slot), then queues B, which takes that same slot
        // and stays in line. A, polling meanwhile and after, must go by its ticket: B's node in
        // its old slot is queued, and a look at the slot would keep A waiting for good.
        // std's Arc: `acquire_owned` takes one.
        let sem = std::sync::Arc::new(Semaphore::new(0));
        let mut a = pin!(sem.acquire());
        assert!(poll_once(a.as_mut()).is_pending());
        let other = {
            let sem = sem.clone();
            thread::spawn(move || {
                sem.add_permits(1);
                let mut b = Box::pin(sem.acquire_owned());
                assert!(poll_once(b.as_mut()).is_pending(), "A holds the only permit");
                b
            })
        };
        let first = poll_once(a.as_mut());
        let mut b = other.join().unwrap();
        let permit = match first {
            Poll::Ready(permit) => permit.unwrap(),
            Poll::Pending => match poll_once(a.as_mut()) {
                Poll::Ready(permit) => permit.unwrap(),
                Poll::Pending => panic!("served, yet still pending"),
            },
        };
        assert_eq!(sem.available_permits(), 0);
        // A's permit goes to B, in line behind it.
        drop(permit);
        let Poll::Ready(b_permit) = poll_once(b.as_mut()) else {
            panic!("B served, yet still pending");
        };
        drop(b_permit.unwrap());
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn loom_semaphore_partial_permits_from_two_releasers() {
    loom::model(|| {
        // A waiter for 2 collects them from two racing releases (fast path or through the
        // line, whichever each release finds), and nothing is left over or missing.
        let sem = Arc::new(Semaphore::new(0));
        let releasers: Vec<_> = (0..2)
            .map(|_| {
                let sem = sem.clone();
                thread::spawn(move || sem.add_permits(1))
            })
            .collect();
        let permit = block_on(sem.acquire_many(2)).unwrap();
        for releaser in releasers {
            releaser.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 0);
        drop(permit);
        assert_eq!(sem.available_permits(), 2);
        assert!(sem.try_acquire_many(2).is_ok());
    });
}

#[test]
fn loom_semaphore_close_races_with_a_waiter() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let closer = {
            let sem = sem.clone();
            thread::spawn(move || {
                sem.add_permits(1);
                sem.close();
            })
        };
        // Either it got the permit before the close, or it fails; never hangs.
        let got = block_on(sem.acquire());
        let had_permit = got.is_ok();
        drop(got);
        closer.join().unwrap();
        assert!(sem.is_closed());
        // The permit is back either way (held and released, or never taken).
        assert_eq!(sem.available_permits(), 1, "had_permit: {had_permit}");
    });
}

#[test]
fn loom_bounded_mpsc_two_senders() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel::<usize>(1);
        let senders: Vec<_> = (1..=2)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || block_on(tx.send(i)).unwrap())
            })
            .collect();
        drop(tx);
        let mut sum = 0;
        while let Some(v) = block_on(rx.recv()) {
            sum += v;
        }
        assert_eq!(sum, 3);
        for sender in senders {
            sender.join().unwrap();
        }
        assert_eq!(rx.capacity(), 1);
    });
}

#[test]
fn loom_bounded_mpsc_close_wakes_a_full_sender() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel::<usize>(1);
        tx.try_send(1).unwrap();
        let sender = thread::spawn(move || block_on(tx.send(2)));
        rx.close();
        // The queued value is still received; the waiting send fails (or got in first).
        assert_eq!(block_on(rx.recv()), Some(1));
        let sent = sender.join().unwrap();
        assert_eq!(block_on(rx.recv()), sent.ok().map(|()| 2));
    });
}

/// The receiver takes the whole queue in one batch while a sender pushes: nothing is lost
/// or received twice, and every slot comes back.
#[test]
fn loom_bounded_mpsc_send_races_a_batch_drain() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel::<usize>(3);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let sender = thread::spawn(move || block_on(tx.send(4)).unwrap());
        let mut sum = 0;
        while let Some(v) = block_on(rx.recv()) {
            sum += v;
        }
        sender.join().unwrap();
        assert_eq!(sum, 7);
        assert_eq!(rx.capacity(), 3);
        assert!(rx.is_empty());
    });
}

/// `close` while the receiver holds a batch: the buffered and queued values are still
/// received, a racing send either gets in first or fails, and then `recv` ends.
#[test]
fn loom_bounded_mpsc_close_during_a_drain() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel::<usize>(3);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let tx2 = tx.clone();
        let sender = thread::spawn(move || block_on(tx2.send(4)));
        // Takes the batch [1, 2] (or [1, 2, 4]) and hands out 1; the rest stays buffered.
        assert_eq!(block_on(rx.recv()), Some(1));
        rx.close();
        let sent = sender.join().unwrap();
        let mut rest = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            rest.push(v);
        }
        let expected = if sent.is_ok() { vec![2, 4] } else { vec![2] };
        assert_eq!(rest, expected);
        assert_eq!(rx.capacity(), 3);
        drop(tx);
    });
}

/// A value that locks the channel when dropped (its sender's `is_closed`): dropped under
/// the channel's lock, it would deadlock the model.
struct LocksOnDrop(Option<mpsc::Sender<LocksOnDrop>>, Arc<AtomicUsize>);

impl Drop for LocksOnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            assert!(tx.is_closed());
        }
        self.1.fetch_sub(1, SeqCst);
    }
}

/// The receiver is dropped while it holds buffered values and a sender races it: every
/// value is dropped exactly once (the failed send's with its error), none under the lock.
#[test]
fn loom_bounded_mpsc_receiver_drop_with_buffered_values() {
    loom::model(|| {
        let live = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::channel::<LocksOnDrop>(3);
        let value = |tx: &mpsc::Sender<LocksOnDrop>| {
            live.fetch_add(1, SeqCst);
            LocksOnDrop(Some(tx.clone()), live.clone())
        };
        tx.try_send(value(&tx)).unwrap();
        tx.try_send(value(&tx)).unwrap();
        let third = value(&tx);
        let sender = thread::spawn(move || {
            // Fails (the value dropped here) if the receiver is gone first.
            let _ = block_on(tx.send(third));
        });
        // One value out; the other (and maybe the racing one) stays in the receiver's buffer.
        let first = block_on(rx.recv());
        assert!(first.is_some());
        drop(rx);
        drop(first);
        sender.join().unwrap();
        assert_eq!(live.load(SeqCst), 0);
    });
}

/// A value that counts how many copies of it are alive.
struct Tracked(Arc<AtomicUsize>);

impl Tracked {
    fn new(live: &Arc<AtomicUsize>) -> Tracked {
        live.fetch_add(1, SeqCst);
        Tracked(live.clone())
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(&self.0)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

#[test]
fn loom_broadcast_two_readers_release_the_value() {
    loom::model(|| {
        // Two receivers read one value on two threads, without the channel's lock: one
        // clones it (under the cell's lock), the last one moves it out (or releases it after
        // its clone). Once both have it, the channel holds no copy, though the sender is
        // alive.
        let live = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx1) = broadcast::channel::<Tracked>(1);
        let mut rx2 = tx.subscribe();
        assert!(tx.send(Tracked::new(&live)).is_ok());
        let reader = thread::spawn(move || drop(rx1.try_recv().ok().unwrap()));
        drop(rx2.try_recv().ok().unwrap());
        reader.join().unwrap();
        assert_eq!(live.load(SeqCst), 0);
        drop(tx);
    });
}

#[test]
fn loom_broadcast_receiver_drop_races_with_a_reader() {
    loom::model(|| {
        // A receiver dropped with the value unread no longer counts as its reader, while the
        // other reads it: whichever finishes last releases it, exactly once.
        let live = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx1) = broadcast::channel::<Tracked>(1);
        let rx2 = tx.subscribe();
        assert!(tx.send(Tracked::new(&live)).is_ok());
        let dropper = thread::spawn(move || drop(rx2));
        drop(rx1.try_recv().ok().unwrap());
        dropper.join().unwrap();
        assert_eq!(live.load(SeqCst), 0);
        drop(tx);
    });
}

#[test]
fn loom_broadcast_two_readers_clone_while_the_sender_overwrites() {
    loom::model(|| {
        // Two receivers on two threads read the same value (one at a time, under its cell's
        // lock) while a third thread sends two more into a ring of one, which drops the
        // value's block from the ring: each receiver either gets the value or is told it
        // lagged, nobody deadlocks, and once everything is dropped no copy is left.
        let live = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx1) = broadcast::channel::<Tracked>(1);
        let mut rx2 = tx.subscribe();
        assert!(tx.send(Tracked::new(&live)).is_ok());
        let got_or_lagged = |result: Result<Tracked, broadcast::error::TryRecvError>| {
            matches!(result, Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)))
        };
        let reader = thread::spawn(move || {
            assert!(got_or_lagged(rx1.try_recv()));
            rx1
        });
        let sender = {
            let live = live.clone();
            thread::spawn(move || {
                for _ in 0..2 {
                    assert!(tx.send(Tracked::new(&live)).is_ok());
                }
                tx
            })
        };
        assert!(got_or_lagged(rx2.try_recv()));
        let rx1 = reader.join().unwrap();
        let tx = sender.join().unwrap();
        drop((rx1, rx2, tx));
        assert_eq!(live.load(SeqCst), 0);
    });
}

#[test]
fn loom_broadcast_sends_wake_a_waiting_receiver() {
    loom::model(|| {
        // Values published by another thread (tail with release, the cell before it) are
        // read in order, a waiting receiver is woken, and the close comes after the values.
        let (tx, mut rx) = broadcast::channel::<usize>(2);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Ok(1));
        assert_eq!(block_on(rx.recv()), Ok(2));
        assert_eq!(block_on(rx.recv()), Err(broadcast::error::RecvError::Closed));
        sender.join().unwrap();
    });
}

#[test]
fn loom_set_once_one_set_wins_and_wakes_the_waiter() {
    loom::model(|| {
        // Two racing `set`s: exactly one writes (the other gets its value back), and a task
        // waiting meanwhile sees the winner's value, whenever it started to wait.
        let once = Arc::new(SetOnce::<usize>::new());
        let setters: Vec<_> = (1..=2)
            .map(|i| {
                let once = once.clone();
                thread::spawn(move || once.set(i).is_ok())
            })
            .collect();
        let got = *block_on(once.wait());
        let wins: Vec<bool> = setters.into_iter().map(|s| s.join().unwrap()).collect();
        assert_eq!(wins.iter().filter(|won| **won).count(), 1);
        assert!(wins[got - 1], "the value seen is the winner's");
    });
}
