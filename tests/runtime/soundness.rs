//! Soundness under cancellation, panics and thread exit: no future moved after its first poll,
//! no user code run under a runtime lock, no panic lost or misplaced.
//!
//! - a `!Unpin` future is dropped at the address where it was polled, whether it is aborted,
//!   cancelled by runtime shutdown, panics, or completes after its `JoinHandle` was dropped;
//! - tokio::sync's intrusive waiter lists (which rely on exactly that) survive waiters aborted
//!   in random order;
//! - no foreign code (a waker's or an output's drop) runs under the timers' lock;
//! - a `Runtime` kept in a user thread-local is dropped cleanly at thread exit;
//! - panics land where tokio puts them: a panicking task's future is dropped while unwinding,
//!   a panic in an aborted future's drop is the task's `JoinError`, a panic in an output's drop
//!   never reaches whoever dropped the `JoinHandle`, a runtime dropped inside a runtime and
//!   enter guards dropped out of order panic with a message that says why.

use crate::common;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::marker::PhantomPinned;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use common::{panic_message, settle, settle_until, watchdog};
use minirt::runtime::{Builder, Runtime};
use minirt::task::JoinHandle;

/// What an [`AddressCheck`] future saw.
#[derive(Default)]
struct Report {
    /// The address of the first poll, 0 before it.
    polled_at: AtomicUsize,
    /// The address `drop` ran at, 0 before it.
    dropped_at: AtomicUsize,
    /// `std::thread::panicking()` inside `drop`.
    dropped_while_panicking: AtomicBool,
}

impl Report {
    fn assert_dropped_where_polled(&self, case: &str) {
        let polled = self.polled_at.load(Ordering::SeqCst);
        let dropped = self.dropped_at.load(Ordering::SeqCst);
        assert_ne!(polled, 0, "{case}: the future was never polled");
        assert_ne!(dropped, 0, "{case}: the future was never dropped");
        assert_eq!(polled, dropped, "{case}: a pinned future was moved before it was dropped");
    }
}

#[derive(Clone, Copy)]
enum Then {
    Pending,
    Panic,
    /// Ready on the second poll (after waking itself once).
    ReadyOnSecondPoll,
}

/// A `!Unpin` future that records its address when polled and when dropped, as an intrusive
/// waiter list would rely on.
struct AddressCheck {
    report: Arc<Report>,
    then: Then,
    polls: Cell<u32>,
    _pinned: PhantomPinned,
}

fn address_check(then: Then) -> (AddressCheck, Arc<Report>) {
    let report = Arc::new(Report::default());
    let future =
        AddressCheck { report: report.clone(), then, polls: Cell::new(0), _pinned: PhantomPinned };
    (future, report)
}

impl Future for AddressCheck {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.as_ref().get_ref();
        this.report.polled_at.store(this as *const Self as usize, Ordering::SeqCst);
        this.polls.set(this.polls.get() + 1);
        match this.then {
            Then::Pending => Poll::Pending,
            Then::Panic => panic!("AddressCheck panics as asked"),
            Then::ReadyOnSecondPoll if this.polls.get() >= 2 => Poll::Ready(7),
            Then::ReadyOnSecondPoll => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

impl Drop for AddressCheck {
    fn drop(&mut self) {
        self.report.dropped_at.store(self as *const Self as usize, Ordering::SeqCst);
        self.report.dropped_while_panicking.store(thread::panicking(), Ordering::SeqCst);
    }
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().build().expect("runtime")
}

/// A current-thread runtime, then a multi-thread one (2 workers): on the second the tasks are
/// polled and dropped on worker threads, and aborted or woken from the `block_on` thread.
fn both_flavors() -> [Runtime; 2] {
    [current_thread(), Builder::new_multi_thread().worker_threads(2).build().expect("runtime")]
}

#[test]
fn an_aborted_future_is_dropped_where_it_was_polled() {
    let _watchdog = watchdog("an_aborted_future_is_dropped_where_it_was_polled");
    for rt in both_flavors() {
        let (future, report) = address_check(Then::Pending);
        rt.block_on(async {
            let handle = minirt::spawn(future);
            settle_until(100, || report.polled_at.load(Ordering::SeqCst) != 0).await;
            handle.abort();
            assert!(handle.await.expect_err("aborted").is_cancelled());
        });
        report.assert_dropped_where_polled("abort");
    }
}

#[test]
fn a_future_cancelled_by_shutdown_is_dropped_where_it_was_polled() {
    let _watchdog = watchdog("a_future_cancelled_by_shutdown_is_dropped_where_it_was_polled");
    for rt in both_flavors() {
        let (future, report) = address_check(Then::Pending);
        rt.block_on(async {
            drop(minirt::spawn(future));
            settle_until(100, || report.polled_at.load(Ordering::SeqCst) != 0).await;
        });
        drop(rt);
        report.assert_dropped_where_polled("shutdown");
    }
}

#[test]
fn a_panicking_future_is_dropped_where_it_was_polled_while_unwinding() {
    let _watchdog = watchdog("a_panicking_future_is_dropped_where_it_was_polled_while_unwinding");
    for rt in both_flavors() {
        let (future, report) = address_check(Then::Panic);
        let err =
            rt.block_on(async { minirt::spawn(future).await }).expect_err("the task panicked");
        assert!(err.is_panic());
        report.assert_dropped_where_polled("panic");
        assert!(
            report.dropped_while_panicking.load(Ordering::SeqCst),
            "a panicking task's future is dropped while the panic unwinds (as tokio does)"
        );
    }
}

#[test]
fn a_detached_future_is_dropped_where_it_was_polled_when_it_completes() {
    let _watchdog = watchdog("a_detached_future_is_dropped_where_it_was_polled_when_it_completes");
    for rt in both_flavors() {
        let (future, report) = address_check(Then::ReadyOnSecondPoll);
        rt.block_on(async {
            drop(minirt::spawn(future));
            settle_until(100, || report.dropped_at.load(Ordering::SeqCst) != 0).await;
        });
        report.assert_dropped_where_polled("completion after the JoinHandle was dropped");
        assert!(!report.dropped_while_panicking.load(Ordering::SeqCst));
    }
}

#[test]
fn a_completed_future_is_dropped_where_it_was_polled() {
    let _watchdog = watchdog("a_completed_future_is_dropped_where_it_was_polled");
    for rt in both_flavors() {
        let (future, report) = address_check(Then::ReadyOnSecondPoll);
        assert_eq!(rt.block_on(async { minirt::spawn(future).await }).expect("completes"), 7);
        report.assert_dropped_where_polled("completion");
    }
}

/// A tiny deterministic PRNG, so a failing order can be replayed from its seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Tasks parked in tokio::sync's intrusive waiter lists (each waiter is a node inside the
/// task's pinned future) are aborted in random order; the primitives must then still work.
/// With futures moved before their drop, this corrupts the heap.
#[test]
fn tokio_sync_waiters_aborted_in_random_order_leave_the_primitives_working() {
    let _watchdog = watchdog("tokio_sync_waiters_aborted_in_random_order");
    const PER_KIND: usize = 50;
    for seed in [1u64, 0x9e37_79b9_7f4a_7c15, 12345] {
        for rt in both_flavors() {
            rt.block_on(async move {
                let notify = Arc::new(tokio::sync::Notify::new());
                let mutex = Arc::new(tokio::sync::Mutex::new(0u32));
                let semaphore = Arc::new(tokio::sync::Semaphore::new(0));
                let (broadcast, _) = tokio::sync::broadcast::channel::<u32>(4);
                let held = mutex.clone().lock_owned().await;

                let mut handles: Vec<JoinHandle<()>> = Vec::new();
                for _ in 0..PER_KIND {
                    let notify = notify.clone();
                    handles.push(minirt::spawn(async move { notify.notified().await }));
                    let mutex = mutex.clone();
                    handles.push(minirt::spawn(async move { *mutex.lock().await += 1 }));
                    let semaphore = semaphore.clone();
                    handles.push(minirt::spawn(async move {
                        semaphore.acquire().await.expect("open").forget();
                    }));
                    let mut receiver = broadcast.subscribe();
                    handles.push(minirt::spawn(async move {
                        receiver.recv().await.expect("a value");
                    }));
                }
                settle().await;
                let mut rng = XorShift(seed);
                rng.shuffle(&mut handles);
                // Abort three quarters of them, in random order, letting each abort take effect.
                let keep = handles.split_off(handles.len() * 3 / 4);
                for handle in handles {
                    handle.abort();
                    if rng.next() % 4 == 0 {
                        minirt::task::yield_now().await;
                    }
                    assert!(handle.await.expect_err("aborted").is_cancelled());
                }

                // Wake everything that is left, and check the primitives still work.
                notify.notify_waiters();
                drop(held);
                semaphore.add_permits(PER_KIND);
                broadcast.send(1).expect("receivers left");
                for handle in keep {
                    common::must_complete("a surviving waiter", handle).await.expect("completes");
                }
                let notified = notify.notified();
                notify.notify_one();
                notified.await;
                *mutex.lock().await += 1;
                let _permit = semaphore.acquire().await.expect("permits left");
                let mut receiver = broadcast.subscribe();
                broadcast.send(2).expect("one receiver");
                assert_eq!(receiver.recv().await.expect("a value"), 2);
            });
        }
    }
}

/// The last reference to a finished, detached task is a waker stored in a timer. Replacing that
/// waker drops the task, and with it the task's output, which owns a registered `Sleep` whose
/// drop takes the timers' lock. If the old waker were dropped under that lock, this would
/// deadlock.
#[test]
fn a_waker_replaced_in_a_timer_never_drops_foreign_code_under_the_lock() {
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let rt = current_thread();
        rt.block_on(async {
            let slot: Arc<Mutex<Option<Pin<Box<minirt::time::Sleep>>>>> =
                Arc::new(Mutex::new(None));
            let finished = Arc::new(AtomicBool::new(false));
            struct Output(#[allow(dead_code)] Pin<Box<minirt::time::Sleep>>);
            let detached = {
                let (slot, finished) = (slot.clone(), finished.clone());
                minirt::spawn(async move {
                    // Registered with this task's waker, then handed to someone else (boxed:
                    // a `Sleep` is `!Unpin`, and this one moves after its first poll).
                    let mut first = Box::pin(minirt::time::sleep(Duration::from_secs(60)));
                    poll_fn(|cx| {
                        assert!(first.as_mut().poll(cx).is_pending());
                        Poll::Ready(())
                    })
                    .await;
                    *slot.lock().unwrap() = Some(first);
                    // Registered with a waker that is not this task's, and kept in the output.
                    let mut second = Box::pin(minirt::time::sleep(Duration::from_secs(60)));
                    let noop = futures_util::task::noop_waker();
                    assert!(second.as_mut().poll(&mut Context::from_waker(&noop)).is_pending());
                    finished.store(true, Ordering::SeqCst);
                    Output(second)
                })
            };
            drop(detached);
            settle_until(100, || finished.load(Ordering::SeqCst)).await;
            settle().await;
            let mut first = slot.lock().unwrap().take().expect("the first sleep");
            // This poll replaces the stored waker: the detached task's last reference.
            poll_fn(|cx| {
                assert!(first.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
        });
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("deadlock: a waker or an output was dropped under the timers' lock");
}

thread_local! {
    static KEPT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// A runtime kept in a user thread-local is dropped by the thread-local destructors, possibly
/// after minirt's own thread-local is gone: that must shut it down quietly, not abort the
/// process.
#[test]
fn a_runtime_in_a_thread_local_is_dropped_cleanly_at_thread_exit() {
    let _watchdog = watchdog("a_runtime_in_a_thread_local_is_dropped_cleanly_at_thread_exit");
    let (report, future_report) = {
        let (future, report) = address_check(Then::Pending);
        (report, future)
    };
    let report_in_thread = report.clone();
    thread::spawn(move || {
        let _ = report_in_thread;
        KEPT.with(|cell| *cell.borrow_mut() = Some(current_thread()));
        KEPT.with(|cell| {
            let cell = cell.borrow();
            let rt = cell.as_ref().expect("kept");
            rt.block_on(async {
                drop(minirt::spawn(future_report));
                drop(minirt::spawn(minirt::time::sleep(Duration::from_secs(60))));
                settle().await;
            });
        });
    })
    .join()
    .expect("the thread exits cleanly");
    report.assert_dropped_where_polled("runtime dropped at thread exit");
}

struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[test]
fn a_panic_dropping_an_aborted_future_is_the_tasks_join_error() {
    let _watchdog = watchdog("a_panic_dropping_an_aborted_future_is_the_tasks_join_error");
    let rt = current_thread();
    rt.block_on(async {
        let guard = PanicOnDrop("dropping the aborted future");
        let handle = minirt::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        settle().await;
        handle.abort();
        let err = handle.await.expect_err("aborted");
        assert!(err.is_panic(), "the drop's panic is reported, got {err:?}");
        let payload = err.into_panic();
        assert_eq!(panic_message(&*payload).as_deref(), Some("dropping the aborted future"));
    });
}

#[test]
fn a_panic_dropping_an_output_never_reaches_whoever_drops_the_join_handle() {
    let _watchdog = watchdog("a_panic_dropping_an_output_never_reaches_the_dropper");
    let rt = current_thread();
    rt.block_on(async {
        // Dropped after the task finished: the handle's drop drops the output.
        let finished = minirt::spawn(async { PanicOnDrop("output dropped late") });
        settle_until(100, || finished.is_finished()).await;
        let dropped = panic::catch_unwind(AssertUnwindSafe(move || drop(finished)));
        assert!(dropped.is_ok(), "the output's panic escaped into the JoinHandle's drop");

        // Dropped before: the task drops its own output when it completes.
        let early = minirt::spawn(async {
            minirt::task::yield_now().await;
            PanicOnDrop("output dropped by the task")
        });
        drop(early);
        settle().await;
        // The runtime goes on.
        assert_eq!(minirt::spawn(async { 5 }).await.expect("runs"), 5);
    });
}

#[test]
fn dropping_a_runtime_inside_a_runtime_panics_with_a_message_that_says_why() {
    let _watchdog = watchdog("dropping_a_runtime_inside_a_runtime_panics");
    let outer = current_thread();
    let inner = current_thread();
    let result = outer.block_on(async move {
        minirt::spawn(async move {
            panic::catch_unwind(AssertUnwindSafe(move || drop(inner)))
                .map_err(|payload| panic_message(&*payload).unwrap_or_default())
        })
        .await
        .expect("the task itself returns")
    });
    let message = result.expect_err("dropping a runtime inside a task must panic");
    assert!(message.contains("Cannot drop a runtime"), "unclear message: {message}");
    assert!(message.contains("asynchronous context"), "unclear message: {message}");
}

#[test]
fn enter_guards_dropped_out_of_order_panic_with_a_clear_message() {
    let first = current_thread();
    let second = current_thread();
    let outer = first.enter();
    let inner = second.enter();
    let result = panic::catch_unwind(AssertUnwindSafe(move || drop(outer)));
    let message = panic_message(&*result.expect_err("out of order must panic")).unwrap_or_default();
    assert!(message.contains("dropped out of order"), "unclear message: {message}");
    drop(inner);
}

#[test]
fn a_timeout_created_outside_a_runtime_panics_at_creation() {
    let created = panic::catch_unwind(|| {
        drop(minirt::time::timeout(Duration::from_secs(1), async {}));
    });
    let message = panic_message(&*created.expect_err("must panic")).unwrap_or_default();
    assert!(message.contains("outside a minirt runtime"), "unclear message: {message}");
}

#[test]
fn join_error_formats_like_tokio() {
    let rt = current_thread();
    rt.block_on(async {
        let panicked = minirt::spawn(async { panic!("boom") });
        let id = panicked.id();
        let err = panicked.await.expect_err("panicked");
        assert_eq!(err.id(), id);
        assert_eq!(err.to_string(), format!("task {id} panicked with message \"boom\""));
        assert_eq!(format!("{err:?}"), format!("JoinError::Panic({id:?}, \"boom\", ...)"));

        let cancelled = minirt::spawn(std::future::pending::<()>());
        let id = cancelled.id();
        cancelled.abort();
        let err = cancelled.await.expect_err("cancelled");
        assert_eq!(err.to_string(), format!("task {id} was cancelled"));
        assert_eq!(format!("{err:?}"), format!("JoinError::Cancelled({id:?})"));

        let opaque = minirt::spawn(async { std::panic::panic_any(17u8) });
        let id = opaque.id();
        let err = opaque.await.expect_err("panicked");
        assert_eq!(err.to_string(), format!("task {id} panicked"));
        assert_eq!(format!("{err:?}"), format!("JoinError::Panic({id:?}, ...)"));
    });
}

/// Thousands of tasks waiting on timers, sockets, tokio::sync primitives and `!Unpin`
/// address-checking futures, aborted, detached or left to shutdown in random order; every
/// future must be dropped where it was polled, and every primitive must still work after.
#[test]
fn thousands_of_waiters_aborted_detached_and_shut_down_in_random_order() {
    let _watchdog = watchdog("thousands_of_waiters_aborted_detached_and_shut_down");
    const TASKS: usize = 3000;
    const SOCKET_PAIRS: usize = 64;
    for seed in [7u64, 0xdead_beef] {
        let mut rng = XorShift(seed);
        let rt = current_thread();
        let notify = Arc::new(tokio::sync::Notify::new());
        let mutex = Arc::new(tokio::sync::Mutex::new(()));
        let semaphore = Arc::new(tokio::sync::Semaphore::new(0));
        let (broadcast, _) = tokio::sync::broadcast::channel::<u8>(2);
        let mut reports = Vec::new();
        let (survivors, sockets) = rt.block_on(async {
            let held = mutex.clone().lock_owned().await;
            let mut sockets = Vec::new();
            for _ in 0..SOCKET_PAIRS {
                sockets.push(Arc::new(common::connected_pair().await.expect("a socket pair")));
            }
            let mut handles: Vec<JoinHandle<()>> = Vec::with_capacity(TASKS);
            for i in 0..TASKS {
                let handle = match rng.next() % 7 {
                    0 => minirt::spawn(async {
                        minirt::time::sleep(Duration::from_secs(3600)).await;
                    }),
                    1 => {
                        let pair = sockets[i % SOCKET_PAIRS].clone();
                        minirt::spawn(async move {
                            let mut buf = [0u8; 8];
                            let _ = minirt::io::AsyncReadExt::read(&mut &pair.1, &mut buf).await;
                        })
                    }
                    2 => {
                        let notify = notify.clone();
                        minirt::spawn(async move { notify.notified().await })
                    }
                    3 => {
                        let mutex = mutex.clone();
                        minirt::spawn(async move { drop(mutex.lock().await) })
                    }
                    4 => {
                        let semaphore = semaphore.clone();
                        minirt::spawn(async move { drop(semaphore.acquire().await) })
                    }
                    5 => {
                        let mut receiver = broadcast.subscribe();
                        minirt::spawn(async move { drop(receiver.recv().await) })
                    }
                    _ => {
                        let (future, report) = address_check(Then::Pending);
                        reports.push(report);
                        minirt::spawn(async move {
                            future.await;
                        })
                    }
                };
                handles.push(handle);
            }
            settle().await;
            rng.shuffle(&mut handles);
            // A third aborted, a third detached (shutdown drops them), a third left waiting.
            let mut survivors = Vec::new();
            for handle in handles {
                match rng.next() % 3 {
                    0 => handle.abort(),
                    1 => drop(handle),
                    _ => survivors.push(handle),
                }
                if rng.next() % 64 == 0 {
                    minirt::task::yield_now().await;
                }
            }
            settle().await;
            // The primitives still work with the survivors parked in them.
            drop(held);
            let _permit = {
                semaphore.add_permits(1);
                semaphore.acquire().await.expect("open")
            };
            drop(mutex.lock().await);
            // (notify_one would go to a survivor first: FIFO.)
            let notified = notify.notified();
            notify.notify_waiters();
            notified.await;
            (survivors, sockets)
        });
        // The survivors are cancelled by the runtime's shutdown, in the order they were owned.
        drop(rt);
        for handle in survivors {
            assert!(handle.is_finished(), "shutdown finished every task");
        }
        drop(sockets);
        assert!(reports.len() > TASKS / 10, "about one task in seven checks its address");
        for (i, report) in reports.iter().enumerate() {
            report.assert_dropped_where_polled(&format!("seed {seed}, address check {i}"));
        }
        // The primitives outlive the runtime and still work from a new one.
        current_thread().block_on(async {
            notify.notify_waiters();
            drop(mutex.lock().await);
            semaphore.add_permits(1);
            drop(semaphore.acquire().await.expect("open"));
            let mut receiver = broadcast.subscribe();
            broadcast.send(3).expect("a receiver");
            assert_eq!(receiver.recv().await.expect("a value"), 3);
        });
    }
}
