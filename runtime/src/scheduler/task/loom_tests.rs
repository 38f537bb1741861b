//! Model checks of the task cell's state transitions: loom runs each model under every
//! interleaving of its threads (up to `LOOM_MAX_PREEMPTIONS` preemptions), with the state word,
//! the join waker's mutex and the stage's cell swapped for loom's (`crate::loom`).
//!
//! The models drive the real task cell (`cell.rs`, `state.rs`, the real `JoinHandle`) through a
//! tiny scheduler: a run queue and an owned list under loom mutexes, run by whichever model
//! thread calls `run_queued`. Loom fails a model on an assertion, on two threads touching the
//! stage without a happens-before edge between them, on a deadlock (a `JoinHandle` awaited with
//! `loom::future::block_on` that nobody wakes), and on a leaked `loom::sync::Arc` (every task
//! holds one through its scheduler and its cell token, so a task never freed is a leak).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p minirt-runtime --lib --release loom_task
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::{Arc, Mutex};
use loom::thread;

use super::{AbortHandle, JoinError, JoinHandle, Schedule, Task, TaskRef};
use crate::loom::lock;

/// The model's scheduler: a run queue and the owned list, shared by every model thread.
struct Queues {
    run_queue: Mutex<VecDeque<TaskRef>>,
    owned: Mutex<Vec<Option<TaskRef>>>,
    /// Every push onto the run queue (spawns included).
    pushes: AtomicUsize,
    /// Set by `shut_down_owned`: the owned list was emptied, so a release finds nothing.
    shut_down: AtomicBool,
}

/// A task's `Schedule`. The copy inside the task cell carries a token that counts the cell's
/// free (its fields drop when the last reference goes); the clones a wake makes carry none.
struct Sched {
    queues: Arc<Queues>,
    /// Only dropped, never read: its drop is the count.
    _freed: Option<FreeToken>,
}

struct FreeToken(Arc<AtomicUsize>);

impl Drop for FreeToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl Clone for Sched {
    fn clone(&self) -> Sched {
        Sched { queues: self.queues.clone(), _freed: None }
    }
}

impl Schedule for Sched {
    fn schedule(&self, task: TaskRef) {
        self.queues.pushes.fetch_add(1, SeqCst);
        let mut queue = lock(&self.queues.run_queue);
        // One NOTIFIED bit, one place on a queue: a second copy would be run twice.
        assert!(!queue.iter().any(|queued| TaskRef::ptr_eq(queued, &task)), "queued twice");
        queue.push_back(task);
    }

    fn release(&self, owned_key: usize) {
        let (removed, shut_down) = {
            let mut owned = lock(&self.queues.owned);
            (owned[owned_key].take(), self.queues.shut_down.load(SeqCst))
        };
        assert!(removed.is_some() || shut_down, "a task was released twice");
        // Dropped after the lock, as the real schedulers do: it may be the last reference.
        drop(removed);
    }
}

/// One model's scheduler and the count of freed task cells.
struct Rt {
    queues: Arc<Queues>,
    freed: Arc<AtomicUsize>,
}

impl Clone for Rt {
    fn clone(&self) -> Rt {
        Rt { queues: self.queues.clone(), freed: self.freed.clone() }
    }
}

impl Rt {
    fn new() -> Rt {
        let queues = Arc::new(Queues {
            run_queue: Mutex::new(VecDeque::new()),
            owned: Mutex::new(Vec::new()),
            pushes: AtomicUsize::new(0),
            shut_down: AtomicBool::new(false),
        });
        Rt { queues, freed: Arc::new(AtomicUsize::new(0)) }
    }

    /// Spawns `future` as the real schedulers do (owned list, then the run queue); returns its
    /// handle and a waker of its own (a reference, as a waker a future cloned would be).
    fn spawn<F>(&self, future: F) -> (JoinHandle<F::Output>, Waker)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let sched =
            Sched { queues: self.queues.clone(), _freed: Some(FreeToken(self.freed.clone())) };
        let task = Task::new(future, sched);
        {
            let mut owned = lock(&self.queues.owned);
            task.set_owned_key(owned.len());
            owned.push(Some(task.clone()));
        }
        let handle = JoinHandle::new(task.clone());
        let waker = Waker::from(task.clone());
        let scheduler = Sched { queues: self.queues.clone(), _freed: None };
        scheduler.schedule(task);
        (handle, waker)
    }

    /// Runs queued tasks until the queue is empty (what a worker does).
    fn run_queued(&self) {
        loop {
            let task = lock(&self.queues.run_queue).pop_front();
            match task {
                Some(task) => task.run(None),
                None => return,
            }
        }
    }

    /// The end of a model: nothing queued, every task released by its completion, and, once
    /// the caller dropped its handles and wakers, every cell freed exactly once.
    fn assert_all_done(&self) {
        assert!(lock(&self.queues.run_queue).is_empty(), "a task is still queued");
        assert!(lock(&self.queues.owned).iter().all(Option::is_none), "a task never completed");
    }

    fn freed(&self) -> usize {
        self.freed.load(SeqCst)
    }

    /// How many times a task went onto the run queue, its spawn included.
    fn pushes(&self) -> usize {
        self.queues.pushes.load(SeqCst)
    }

    /// What a runtime's shutdown does to the tasks it still owns (after its workers stopped,
    /// or gave up waiting for one): `shutdown` each, outside the list's lock.
    fn shut_down_owned(&self) {
        let owned: Vec<_> = {
            let mut owned = lock(&self.queues.owned);
            self.queues.shut_down.store(true, SeqCst);
            owned.iter_mut().filter_map(Option::take).collect()
        };
        for task in owned {
            task.shutdown();
        }
    }
}

/// Counts its drops, and remembers on which model thread the last one happened.
struct DropCounter {
    drops: Arc<AtomicUsize>,
    thread: Arc<Mutex<Option<thread::ThreadId>>>,
}

impl DropCounter {
    fn new() -> DropCounter {
        DropCounter { drops: Arc::new(AtomicUsize::new(0)), thread: Arc::new(Mutex::new(None)) }
    }

    fn share(&self) -> DropCounter {
        DropCounter { drops: self.drops.clone(), thread: self.thread.clone() }
    }

    fn count(&self) -> usize {
        self.drops.load(SeqCst)
    }
}

/// A task's output that counts its drops.
struct Output(DropCounter);

impl Drop for Output {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, SeqCst);
    }
}

/// A future scripted per poll: `Pending` (waking itself first if `yield_first`) until `ready`
/// is set or `polls_to_ready` polls happened, then `Ready(Output)`. It asserts that no two
/// polls overlap and counts the polls that saw `ready`; its drop is counted (with the thread).
struct Script {
    ready: Arc<AtomicBool>,
    yield_first: bool,
    polls_to_ready: Option<usize>,
    polls: usize,
    polling: Arc<AtomicBool>,
    polls_seeing_ready: Arc<AtomicUsize>,
    output_drops: DropCounter,
    outputs_made: Arc<AtomicUsize>,
    dropped: DropCounter,
}

struct Probes {
    ready: Arc<AtomicBool>,
    polls_seeing_ready: Arc<AtomicUsize>,
    output_drops: DropCounter,
    outputs_made: Arc<AtomicUsize>,
    future_drops: DropCounter,
}

fn script(yield_first: bool, polls_to_ready: Option<usize>) -> (Script, Probes) {
    let ready = Arc::new(AtomicBool::new(false));
    let polls_seeing_ready = Arc::new(AtomicUsize::new(0));
    let output_drops = DropCounter::new();
    let outputs_made = Arc::new(AtomicUsize::new(0));
    let future_drops = DropCounter::new();
    let probes = Probes {
        ready: ready.clone(),
        polls_seeing_ready: polls_seeing_ready.clone(),
        output_drops: output_drops.share(),
        outputs_made: outputs_made.clone(),
        future_drops: future_drops.share(),
    };
    let script = Script {
        ready,
        yield_first,
        polls_to_ready,
        polls: 0,
        polling: Arc::new(AtomicBool::new(false)),
        polls_seeing_ready,
        output_drops,
        outputs_made,
        dropped: future_drops,
    };
    (script, probes)
}

impl Future for Script {
    type Output = Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        // Every field is Unpin.
        let this = self.get_mut();
        assert!(!this.polling.swap(true, SeqCst), "the future is polled twice at once");
        this.polls += 1;
        let seen = this.ready.load(SeqCst);
        if seen {
            this.polls_seeing_ready.fetch_add(1, SeqCst);
        }
        let ready = seen || this.polls_to_ready.is_some_and(|n| this.polls >= n);
        let polled = if ready {
            this.outputs_made.fetch_add(1, SeqCst);
            Poll::Ready(Output(this.output_drops.share()))
        } else {
            if this.yield_first && this.polls == 1 {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        };
        this.polling.store(false, SeqCst);
        polled
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        assert!(!self.polling.load(SeqCst), "the future is dropped while it is polled");
        *lock(&self.dropped.thread) = Some(thread::current().id());
        self.dropped.drops.fetch_add(1, SeqCst);
    }
}

/// Polls `handle` once with a waker that does nothing.
fn poll_once<T>(handle: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    Pin::new(&mut unbudgeted(handle)).poll(&mut Context::from_waker(&waker))
}

/// `handle`, polled outside the coop budget. Loom runs every model thread on one OS thread,
/// so the thread-local budget a task's run sets would otherwise carry over from one explored
/// execution to the next, and a handle polled before any run would find it spent after
/// enough executions: `Pending` for a reason loom cannot see, which breaks its replay.
fn unbudgeted<T>(
    handle: &mut JoinHandle<T>,
) -> impl Future<Output = Result<T, JoinError>> + Unpin + '_ {
    std::future::poll_fn(move |cx| {
        crate::polling::without_budget(|| Pin::new(&mut *handle).poll(cx))
    })
}

/// (a) A wake from another thread races with the poll that completes the task: the task is
/// polled again at most once after the wake's condition holds (exactly once if no poll had
/// seen it yet), never by two threads at once, and the wake is never lost — the task always
/// completes. Both threads run queued tasks, as two workers do.
#[test]
fn loom_task_wake_races_completion() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(false, None);
        let (mut handle, waker) = rt.spawn(script);
        let remote = {
            let (rt, ready) = (rt.clone(), probes.ready.clone());
            thread::spawn(move || {
                ready.store(true, SeqCst);
                waker.wake();
                rt.run_queued();
            })
        };
        rt.run_queued();
        remote.join().expect("remote waker");
        rt.run_queued();
        rt.assert_all_done();
        assert_eq!(probes.polls_seeing_ready.load(SeqCst), 1, "one poll after the wake");
        let Poll::Ready(Ok(output)) = poll_once(&mut handle) else {
            panic!("the wake was lost: the task never completed");
        };
        drop(output);
        drop(handle);
        assert_eq!(rt.freed(), 1, "the cell is freed once, after the last reference");
        assert_eq!(probes.future_drops.count(), 1);
        assert_eq!(probes.output_drops.count(), 1);
    });
}

/// (b) `abort()` from another thread races with the runs of a task that never completes by
/// itself (it yields once, then waits forever): the task always ends cancelled, its future is
/// dropped exactly once, by the thread that runs the tasks (never by the aborting thread,
/// never while it is being polled), and no output is ever made.
#[test]
fn loom_task_abort_races_run() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(true, None);
        let (mut handle, waker) = rt.spawn(script);
        drop(waker);
        let abort = handle.abort_handle();
        let remote = thread::spawn(move || AbortHandle::abort(&abort));
        rt.run_queued();
        remote.join().expect("remote abort");
        rt.run_queued();
        rt.assert_all_done();
        match poll_once(&mut handle) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "aborted, not panicked"),
            Poll::Ready(Ok(_)) => panic!("a task that never completes returned an output"),
            Poll::Pending => panic!("the abort was lost: the task never ended"),
        }
        assert_eq!(probes.future_drops.count(), 1, "the future is dropped exactly once");
        let dropped_on = *lock(&probes.future_drops.thread);
        assert_eq!(dropped_on, Some(thread::current().id()), "dropped by the runner");
        assert_eq!(probes.outputs_made.load(SeqCst), 0);
        drop(handle);
        assert_eq!(rt.freed(), 1);
    });
}

/// (b') `abort()` races with a run that completes the task (it yields once, then returns its
/// output): the handle sees either the output or `Cancelled`, never both and never neither; the
/// future is dropped once, and an output, if one was made, is dropped once.
#[test]
fn loom_task_abort_races_completion() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(true, Some(2));
        let (mut handle, waker) = rt.spawn(script);
        drop(waker);
        let abort = handle.abort_handle();
        let remote = thread::spawn(move || abort.abort());
        rt.run_queued();
        remote.join().expect("remote abort");
        rt.run_queued();
        rt.assert_all_done();
        let made = probes.outputs_made.load(SeqCst);
        match poll_once(&mut handle) {
            Poll::Ready(Ok(output)) => {
                assert_eq!(made, 1);
                assert_eq!(probes.output_drops.count(), 0, "the handle's output was dropped");
                drop(output);
            }
            Poll::Ready(Err(e)) => {
                assert!(e.is_cancelled());
                assert_eq!(made, 0, "cancelled, yet an output was made");
            }
            Poll::Pending => panic!("the task never ended"),
        }
        assert_eq!(probes.future_drops.count(), 1);
        assert_eq!(probes.output_drops.count(), made);
        drop(handle);
        assert_eq!(rt.freed(), 1);
    });
}

/// (c) The JoinHandle is polled on one thread (a first waker stored, then replaced by
/// `block_on`'s) while the task completes on another: the handle is always woken or finds the
/// output; a lost join wake-up leaves `block_on` waiting forever, which loom reports.
#[test]
fn loom_task_join_waker_replaced_while_completing() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(false, Some(1));
        let (mut handle, waker) = rt.spawn(script);
        drop(waker);
        let worker = {
            let rt = rt.clone();
            thread::spawn(move || rt.run_queued())
        };
        let output = match poll_once(&mut handle) {
            Poll::Ready(result) => result,
            // The first waker is stored; block_on's replaces it and must be the one woken.
            Poll::Pending => loom::future::block_on(unbudgeted(&mut handle)),
        };
        let output = output.expect("the task completed");
        worker.join().expect("worker");
        rt.assert_all_done();
        drop(output);
        assert_eq!(probes.output_drops.count(), 1);
        drop(handle);
        assert_eq!(rt.freed(), 1);
    });
}

/// (d) The JoinHandle is dropped on one thread while the task completes on another: the
/// output is dropped exactly once, by whichever of the two owns it last — right then, not when
/// the cell is freed (a waker kept alive here keeps the cell, and must not keep the output).
#[test]
fn loom_task_join_handle_dropped_while_completing() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(false, Some(1));
        let (handle, waker) = rt.spawn(script);
        let dropper = thread::spawn(move || drop(handle));
        rt.run_queued();
        dropper.join().expect("dropper");
        rt.assert_all_done();
        assert_eq!(probes.outputs_made.load(SeqCst), 1);
        assert_eq!(probes.output_drops.count(), 1, "the output is dropped exactly once");
        assert_eq!(probes.future_drops.count(), 1);
        assert_eq!(rt.freed(), 0, "the waker still holds the cell");
        drop(waker);
        assert_eq!(rt.freed(), 1);
    });
}

/// (e) References to one task are dropped on three threads at once — a waker the future cloned
/// during its poll (the poll's own waker borrows the run's reference, so the clone must take a
/// reference of its own), woken by value on one thread; another waker, woken by value, and the
/// JoinHandle on another; the run's and the owned list's on the thread completing it — and the
/// cell is freed exactly once, by the last of them.
#[test]
fn loom_task_last_reference_frees_once() {
    loom::model(|| {
        let rt = Rt::new();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let ready = Arc::new(AtomicBool::new(false));
        let future = {
            let (slot, ready) = (slot.clone(), ready.clone());
            std::future::poll_fn(move |cx| {
                if ready.load(SeqCst) {
                    return Poll::Ready(());
                }
                *lock(&slot) = Some(cx.waker().clone());
                Poll::Pending
            })
        };
        let (handle, waker) = rt.spawn(future);
        // The first poll parks the task and leaves a clone of its waker behind.
        rt.run_queued();
        let cloned = lock(&slot).take().expect("the first poll stored its waker");
        drop(slot);
        let waker_thread = thread::spawn(move || {
            ready.store(true, SeqCst);
            cloned.wake();
        });
        // A second wake, by value, races the first: one of them queues the task, the other
        // only drops its reference.
        let dropper = thread::spawn(move || {
            waker.wake();
            drop(handle);
        });
        rt.run_queued();
        waker_thread.join().expect("waker");
        dropper.join().expect("dropper");
        rt.run_queued();
        rt.assert_all_done();
        assert_eq!(rt.freed(), 1, "the cell is freed exactly once");
    });
}

/// (f) Two wakes land while the task is running — its own `wake_by_ref` during the poll (what
/// `yield_now` does) and a remote wake by value racing that poll — and put it back on the queue
/// exactly once between them: the runner polls it again (it completes at its second poll),
/// the run queue never holds two copies, and nothing polls it a third time.
#[test]
fn loom_task_wakes_while_running_requeue_once() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(true, Some(2));
        let (mut handle, waker) = rt.spawn(script);
        let remote = thread::spawn(move || waker.wake());
        rt.run_queued();
        remote.join().expect("remote waker");
        rt.run_queued();
        rt.assert_all_done();
        assert_eq!(rt.pushes(), 2, "the spawn and one re-queue");
        assert_eq!(probes.outputs_made.load(SeqCst), 1, "polled again after the wakes");
        let Poll::Ready(Ok(output)) = poll_once(&mut handle) else {
            panic!("the re-queue was lost: the task never completed");
        };
        drop(output);
        drop(handle);
        assert_eq!(probes.future_drops.count(), 1);
        assert_eq!(probes.output_drops.count(), 1);
        assert_eq!(rt.freed(), 1);
    });
}

/// (g) Wakes after completion do nothing: a wake by reference (then a drop) and a wake by
/// value, on two threads, race the run that completes the task at its first poll and the
/// JoinHandle's drop after it. Whenever they land (queued, running or complete), nothing is
/// queued again and nothing is polled again; the cell is freed exactly once, by whichever
/// reference goes last.
#[test]
fn loom_task_wake_after_completion_does_nothing() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(false, Some(1));
        let (handle, waker) = rt.spawn(script);
        let by_ref = waker.clone();
        let first = thread::spawn(move || {
            by_ref.wake_by_ref();
            drop(by_ref);
        });
        let second = thread::spawn(move || waker.wake());
        rt.run_queued();
        drop(handle);
        first.join().expect("wake by reference");
        second.join().expect("wake by value");
        rt.run_queued();
        rt.assert_all_done();
        assert_eq!(rt.pushes(), 1, "a queued, running or complete task is not queued again");
        assert_eq!(probes.outputs_made.load(SeqCst), 1);
        assert_eq!(probes.output_drops.count(), 1);
        assert_eq!(probes.future_drops.count(), 1);
        assert_eq!(rt.freed(), 1);
    });
}

/// (h) Three threads: one aborts the task, one polls the JoinHandle once and drops it, one
/// runs the task (which completes at its first poll). The handle sees the output, or
/// `Cancelled`, or nothing yet — and what it sees matches what happened: an output is made
/// only if the task was not cancelled first. The future is dropped exactly once; an output,
/// if made, is dropped exactly once by whichever of the handle and the task owns it last,
/// right then (not when the cell is freed); the cell is freed once.
#[test]
fn loom_task_abort_complete_and_join_handle_drop() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(false, Some(1));
        // The waker keeps the cell alive to the end, so an output that nobody dropped when it
        // should have been is not dropped by the cell's free instead.
        let (mut handle, waker) = rt.spawn(script);
        let abort = handle.abort_handle();
        let aborter = thread::spawn(move || abort.abort());
        let joiner = thread::spawn(move || {
            let seen = match poll_once(&mut handle) {
                Poll::Ready(Ok(output)) => {
                    drop(output);
                    Some(true)
                }
                Poll::Ready(Err(e)) => {
                    assert!(e.is_cancelled(), "aborted, not panicked");
                    Some(false)
                }
                Poll::Pending => None,
            };
            drop(handle);
            seen
        });
        rt.run_queued();
        aborter.join().expect("aborter");
        let seen = joiner.join().expect("joiner");
        rt.run_queued();
        rt.assert_all_done();
        let made = probes.outputs_made.load(SeqCst);
        match seen {
            Some(true) => assert_eq!(made, 1),
            Some(false) => assert_eq!(made, 0, "cancelled, yet an output was made"),
            None => assert!(made <= 1),
        }
        assert_eq!(probes.future_drops.count(), 1, "the future is dropped exactly once");
        assert_eq!(probes.output_drops.count(), made, "the output is dropped exactly once");
        assert_eq!(rt.freed(), 0, "the waker still holds the cell");
        drop(waker);
        assert_eq!(rt.freed(), 1);
    });
}

/// (i) The last two wakers go on two threads at once — one wakes by reference and then drops
/// its waker, the other only drops — while the runner completes the task (at its second poll;
/// the JoinHandle is already gone). The wake by reference takes a reference of its own for the
/// queue, so the run never outlives the cell; whichever of the two wakers and the run lets go
/// last frees the cell, exactly once.
#[test]
fn loom_task_wake_by_ref_races_the_last_waker_drop() {
    loom::model(|| {
        let rt = Rt::new();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let future = {
            let slot = slot.clone();
            let mut polled = false;
            std::future::poll_fn(move |cx| {
                if polled {
                    return Poll::Ready(());
                }
                polled = true;
                *lock(&slot) = Some(cx.waker().clone());
                Poll::Pending
            })
        };
        let (handle, waker) = rt.spawn(future);
        drop(handle);
        rt.run_queued();
        let cloned = lock(&slot).take().expect("the first poll stored its waker");
        drop(slot);
        let waking = thread::spawn(move || {
            cloned.wake_by_ref();
            drop(cloned);
        });
        let dropping = thread::spawn(move || drop(waker));
        rt.run_queued();
        waking.join().expect("wake by reference");
        dropping.join().expect("drop");
        rt.run_queued();
        rt.assert_all_done();
        assert_eq!(rt.pushes(), 2, "the spawn and the wake");
        assert_eq!(rt.freed(), 1, "the cell is freed exactly once");
    });
}

/// (j) Shutdown (`shutdown` on every owned task, from the thread dropping the runtime) races
/// a worker that still runs the task (as when shutdown gave up waiting for it) and a remote
/// wake. The task yields once, then waits forever. The future is dropped exactly once, never
/// while it is polled, by whichever of the two held RUNNING; the handle sees `Cancelled`; the
/// cell is freed once the last reference (a queued copy, skipped at its run) is gone.
#[test]
fn loom_task_shutdown_races_a_running_worker() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(true, None);
        let (mut handle, waker) = rt.spawn(script);
        let remote = thread::spawn(move || waker.wake());
        let worker = {
            let rt = rt.clone();
            thread::spawn(move || rt.run_queued())
        };
        rt.shut_down_owned();
        worker.join().expect("worker");
        remote.join().expect("remote waker");
        rt.run_queued();
        rt.assert_all_done();
        assert_eq!(probes.future_drops.count(), 1, "the future is dropped exactly once");
        assert_eq!(probes.outputs_made.load(SeqCst), 0);
        match poll_once(&mut handle) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "shut down, not panicked"),
            Poll::Ready(Ok(_)) => panic!("a task that never completes returned an output"),
            Poll::Pending => panic!("shutdown was lost: the task never ended"),
        }
        drop(handle);
        assert_eq!(rt.freed(), 1);
    });
}

/// (k) A JoinHandle waits (`block_on`) for a task that never completes by itself while another
/// thread aborts it (and then runs the queue, as a worker woken by the abort would) and a
/// worker runs it: the handle is always woken, with `Cancelled`. A lost join wake-up leaves
/// `block_on` waiting forever, which loom reports as a deadlock.
#[test]
fn loom_task_abort_wakes_the_waiting_join_handle() {
    loom::model(|| {
        let rt = Rt::new();
        let (script, probes) = script(false, None);
        let (mut handle, waker) = rt.spawn(script);
        drop(waker);
        let abort = handle.abort_handle();
        let aborter = {
            let rt = rt.clone();
            thread::spawn(move || {
                abort.abort();
                rt.run_queued();
            })
        };
        let worker = {
            let rt = rt.clone();
            thread::spawn(move || rt.run_queued())
        };
        let joined = loom::future::block_on(unbudgeted(&mut handle));
        assert!(matches!(joined, Err(ref e) if e.is_cancelled()), "the handle sees Cancelled");
        aborter.join().expect("aborter");
        worker.join().expect("worker");
        rt.assert_all_done();
        assert_eq!(probes.future_drops.count(), 1);
        drop(handle);
        assert_eq!(rt.freed(), 1);
    });
}
