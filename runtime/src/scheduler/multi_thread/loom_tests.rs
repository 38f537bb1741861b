//! Model checks of the scheduler's cross-thread protocols: loom runs each closure under every
//! interleaving of its threads (up to `LOOM_MAX_PREEMPTIONS` preemptions), with the atomics,
//! locks and cells of `crate::loom` swapped for loom's, and fails on a lost task, a data race on
//! a queue slot, or a deadlock (a lost wake-up leaves a thread parked forever). The models:
//! the local queue (push/pop/overflow against thieves), the injection queue, park/unpark (on
//! the condvar and in the reactor), the idle protocol with a remote spawn, a lone task queued
//! without a wake-up, `block_in_place`'s core handoff against shutdown, and shutdown against a
//! remote wake or abort of a real task cell.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p minirt-runtime --lib --release loom_
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use super::idle::{Idle, Unparker};
use super::inject::Inject;
use super::queue::{self, CAPACITY};
use crate::loom::lock;
use crate::scheduler::task::{JoinHandle, Runnable, Schedule, Task, TaskRef};

/// A task that does nothing: the models count tasks, they do not run them.
struct Noop;

impl Runnable for Noop {
    fn run(self: std::sync::Arc<Self>, _: Option<&crate::slow_poll::Hooks>) {}
    fn shutdown(self: std::sync::Arc<Self>) {}
    fn woken(&self) {}
}

fn task() -> TaskRef {
    std::sync::Arc::new(Noop)
}

/// The owner pushes and pops while another worker steals: every task comes out exactly once.
#[test]
fn loom_local_queue_push_pop_vs_steal() {
    loom::model(|| {
        let (steal, mut local) = queue::local();
        let thief = thread::spawn(move || {
            let (_, mut mine) = queue::local();
            let mut n = usize::from(steal.steal_into(&mut mine).is_some());
            while mine.pop().is_some() {
                n += 1;
            }
            n
        });
        let mut n = 0;
        let mut spilled = 0;
        for _ in 0..3 {
            local.push_back(task(), &mut |batch| spilled += batch.len());
        }
        if local.pop().is_some() {
            n += 1;
        }
        n += thief.join().expect("thief");
        while local.pop().is_some() {
            n += 1;
        }
        assert_eq!(n + spilled, 3);
    });
}

/// The owner overflows a full ring (half of it moves to the injection queue) while another
/// worker steals: nothing lost, nothing duplicated.
#[test]
fn loom_local_queue_overflow_vs_steal() {
    loom::model(|| {
        let (steal, mut local) = queue::local();
        let mut spilled = 0;
        for _ in 0..CAPACITY {
            local.push_back(task(), &mut |batch| spilled += batch.len());
        }
        let thief = thread::spawn(move || {
            let (_, mut mine) = queue::local();
            let mut n = usize::from(steal.steal_into(&mut mine).is_some());
            while mine.pop().is_some() {
                n += 1;
            }
            n
        });
        local.push_back(task(), &mut |batch| spilled += batch.len());
        let mut n = thief.join().expect("thief");
        while local.pop().is_some() {
            n += 1;
        }
        assert_eq!(n + spilled, CAPACITY + 1);
    });
}

/// Two thieves at once on one queue: at most one steals at a time, and the tasks add up.
#[test]
fn loom_local_queue_two_thieves() {
    loom::model(|| {
        let (steal, mut local) = queue::local();
        for _ in 0..3 {
            local.push_back(task(), &mut |_| unreachable!("the ring has room"));
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                thread::spawn(move || {
                    let (_, mut mine) = queue::local();
                    let mut n = usize::from(steal.steal_into(&mut mine).is_some());
                    while mine.pop().is_some() {
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut n: usize = thieves.into_iter().map(|t| t.join().expect("thief")).sum();
        while local.pop().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
    });
}

/// Pushes from two threads race a consumer and a close: every task is popped, left in the
/// queue, or refused — once.
#[test]
fn loom_injection_queue_push_pop_close() {
    loom::model(|| {
        let inject = Arc::new(Inject::new());
        let pushers: Vec<_> = (0..2)
            .map(|_| {
                let inject = inject.clone();
                thread::spawn(move || usize::from(inject.push([task()]).is_err()))
            })
            .collect();
        let consumer = {
            let inject = inject.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                inject.pop_n(2, &mut out);
                out.len() + usize::from(inject.pop().is_some())
            })
        };
        let refused: usize = pushers.into_iter().map(|t| t.join().expect("pusher")).sum();
        let popped = consumer.join().expect("consumer");
        let left = inject.close().map_or(0, |q| q.len());
        assert_eq!(refused + popped + left, 2);
        assert!(inject.push([task()]).is_err(), "closed");
    });
}

/// A remote wake racing with a worker going to sleep on its condvar is never lost.
#[test]
fn loom_unpark_condvar_no_lost_wakeup() {
    loom::model(|| {
        let unparker = Arc::new(Unparker::new());
        let work = Arc::new(AtomicBool::new(false));
        let waker = {
            let (unparker, work) = (unparker.clone(), work.clone());
            thread::spawn(move || {
                work.store(true, SeqCst);
                unparker.unpark(|| unreachable!("nobody parks in the reactor here"));
            })
        };
        while !work.load(SeqCst) {
            if !unparker.take_notification() {
                unparker.park_condvar();
            }
        }
        waker.join().expect("waker");
    });
}

/// The same race when the worker sleeps in "epoll_wait" (modelled as an eventfd: a flag under a
/// mutex and a condvar): the wake writes the eventfd only when the worker is in it.
#[test]
fn loom_unpark_reactor_no_lost_wakeup() {
    loom::model(|| {
        let unparker = Arc::new(Unparker::new());
        let work = Arc::new(AtomicBool::new(false));
        let eventfd = Arc::new((Mutex::new(false), Condvar::new()));
        let waker = {
            let (unparker, work, eventfd) = (unparker.clone(), work.clone(), eventfd.clone());
            thread::spawn(move || {
                work.store(true, SeqCst);
                unparker.unpark(|| {
                    *eventfd.0.lock().expect("lock") = true;
                    eventfd.1.notify_one();
                });
            })
        };
        while !work.load(SeqCst) {
            if unparker.take_notification() {
                continue;
            }
            if unparker.begin_park_in_reactor() {
                let mut written = eventfd.0.lock().expect("lock");
                // epoll_wait: returns once the eventfd was written (or work is visible, which
                // stands for the timeout of a real poll never being needed).
                while !*written && !work.load(SeqCst) {
                    written = eventfd.1.wait(written).expect("wait");
                }
                *written = false;
                drop(written);
                unparker.end_park_in_reactor();
            }
        }
        waker.join().expect("waker");
    });
}

/// The whole idle protocol with one worker (a replica of `worker.rs`'s search → park → wake
/// loop) and a remote spawner (inject, then `notify_parked`): the task is always found, the
/// worker never sleeps on queued work.
#[test]
fn loom_idle_remote_spawn_wakes_the_worker() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(1));
        let unparker = Arc::new(Unparker::new());
        let inject = Arc::new(Inject::new());
        let spawner = {
            let (idle, unparker, inject) = (idle.clone(), unparker.clone(), inject.clone());
            thread::spawn(move || {
                assert!(inject.push([task()]).is_ok());
                // Shared::notify_parked
                if let Some(worker) = idle.worker_to_notify() {
                    assert_eq!(worker, 0);
                    unparker.unpark(|| unreachable!("condvar only"));
                }
            })
        };
        let mut is_searching = false;
        loop {
            // next_task
            if inject.pop().is_some() {
                break;
            }
            // steal_work
            if !is_searching {
                is_searching = idle.transition_worker_to_searching();
            }
            if is_searching && inject.pop().is_some() {
                // transition_from_searching: the last searcher wakes the next (none is parked).
                if idle.transition_worker_from_searching() {
                    assert_eq!(idle.worker_to_notify(), None, "the only worker is awake");
                }
                break;
            }
            // park
            let was_searching = std::mem::replace(&mut is_searching, false);
            if idle.transition_worker_to_parked(0, was_searching) && !inject.is_empty() {
                // notify_if_work_pending
                if idle.worker_to_notify().is_some() {
                    unparker.unpark(|| unreachable!("condvar only"));
                }
            }
            loop {
                if !unparker.take_notification() {
                    unparker.park_condvar();
                }
                // transition_from_park (no local tasks in this model)
                if !idle.is_parked(0) {
                    is_searching = true;
                    break;
                }
            }
        }
        spawner.join().expect("spawner");
    });
}

/// A task queued alone on its worker's ring wakes nobody (`Core::notify_if_queued_several`,
/// the LIFO slot's cap, released deferred tasks): its worker runs it next. Meanwhile the other
/// worker, which just ran dry, searches (it may steal the task) and parks (as the last
/// searcher it re-checks every queue). The task runs exactly once, and the parked worker is
/// only ever woken by shutdown or by work that is really there (no lost task, no deadlock).
#[test]
fn loom_lone_task_without_notify_runs_once() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        let unparker = Arc::new(Unparker::new());
        let shutdown = Arc::new(AtomicBool::new(false));
        let (steal, mut local) = queue::local();
        let thief = {
            let (idle, unparker, shutdown) = (idle.clone(), unparker.clone(), shutdown.clone());
            thread::spawn(move || {
                let (_, mut mine) = queue::local();
                let mut ran = 0;
                // Worker 1 ran dry: it searches first.
                let mut is_searching = idle.transition_worker_to_searching();
                loop {
                    // steal_work
                    if is_searching {
                        if let Some(_task) = steal.steal_into(&mut mine) {
                            ran += 1;
                            while mine.pop().is_some() {
                                ran += 1;
                            }
                            if idle.transition_worker_from_searching() {
                                // The last searcher found work: it would wake another (none
                                // is parked here: worker 0 never parks).
                                assert_eq!(idle.worker_to_notify(), None);
                            }
                            is_searching = false;
                            continue;
                        }
                    }
                    // park
                    let was_searching = std::mem::replace(&mut is_searching, false);
                    if idle.transition_worker_to_parked(1, was_searching) && !steal.is_empty() {
                        // notify_if_work_pending
                        if let Some(worker) = idle.worker_to_notify() {
                            assert_eq!(worker, 1, "worker 0 never parks");
                            unparker.unpark(|| unreachable!("condvar only"));
                        }
                    }
                    loop {
                        if !unparker.take_notification() {
                            unparker.park_condvar();
                        }
                        if shutdown.load(SeqCst) {
                            return ran;
                        }
                        if !idle.is_parked(1) {
                            // Notified: it searches again.
                            is_searching = true;
                            break;
                        }
                    }
                }
            })
        };
        // Worker 0: the lone task goes on its ring, nobody is notified, and it runs it next.
        local.push_back(task(), &mut |_| unreachable!("the ring has room"));
        let mut ran = usize::from(local.pop().is_some());
        // Shutdown wakes every worker (`MultiThread::shutdown`).
        shutdown.store(true, SeqCst);
        unparker.unpark(|| unreachable!("condvar only"));
        ran += thief.join().expect("thief");
        assert_eq!(ran, 1);
    });
}

/// `block_in_place`'s handoff (`Shared::hand_off`, `worker::run_task`, `MultiThread::shutdown`)
/// racing a shutdown: the core sits in its handoff slot; the pool thread's job and the thread
/// that handed it off (at the end of its poll) both try to take it, and shutdown takes it from
/// the slot too while it waits for the cores. Whoever gets it and runs it sees the shutdown and
/// returns it. The live count (this thread, plus the job, counted before the job exists) keeps
/// shutdown waiting until the core is back: it is returned exactly once, never lost.
#[test]
fn loom_block_in_place_handoff_vs_shutdown() {
    struct Core;
    loom::model(|| {
        let slot: Arc<Mutex<Option<Core>>> = Arc::new(Mutex::new(None));
        // Threads that may still return a core: the worker thread itself, to begin with.
        let live = Arc::new(Mutex::new(1usize));
        let returned = Arc::new(Mutex::new(0usize));
        let worker = {
            let (slot, live, returned) = (slot.clone(), live.clone(), returned.clone());
            thread::spawn(move || {
                // hand_off: the core into the slot, the job counted, the job started.
                *slot.lock().expect("lock") = Some(Core);
                *live.lock().expect("lock") += 1;
                let job = {
                    let (slot, live, returned) = (slot.clone(), live.clone(), returned.clone());
                    thread::spawn(move || {
                        // The slot's lock is released before the core is run (as there).
                        let core = slot.lock().expect("lock").take();
                        if let Some(Core) = core {
                            // worker::run: sees the shutdown, hands the core back.
                            *returned.lock().expect("lock") += 1;
                        }
                        *live.lock().expect("lock") -= 1;
                    })
                };
                // The poll ends: take the core back if the job has not.
                let core = slot.lock().expect("lock").take();
                if let Some(Core) = core {
                    *returned.lock().expect("lock") += 1;
                }
                *live.lock().expect("lock") -= 1;
                job.join().expect("job");
            })
        };
        // MultiThread::shutdown's wait for the one core, holding the returned cores' lock
        // while it looks (its 10 ms timed wait modelled as a yield: loom's timed waits never
        // time out).
        let mut cores = returned.lock().expect("lock");
        loop {
            let core = slot.lock().expect("lock").take();
            if let Some(Core) = core {
                *cores += 1;
            }
            if *cores >= 1 || *live.lock().expect("lock") == 0 {
                break;
            }
            drop(cores);
            thread::yield_now();
            cores = returned.lock().expect("lock");
        }
        // What shutdown drains now must hold the core: nobody can return it later.
        assert_eq!(*cores, 1, "the core is back when shutdown stops waiting");
        drop(cores);
        worker.join().expect("worker");
        assert_eq!(*returned.lock().expect("lock"), 1, "the core came back once");
    });
}

/// A future that never completes: it counts its polls and its drop, and fails the model if a
/// poll starts after the worker stopped.
struct Probe {
    stopped: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Future for Probe {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        assert!(!self.stopped.load(SeqCst), "a task was polled after its worker stopped");
        self.polls.fetch_add(1, SeqCst);
        Poll::Pending
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

/// The model's runtime: the real injection queue and an owned list, scheduled as
/// `Shared::schedule_remote` does (a wake refused by a closed queue drops its reference).
#[derive(Clone)]
struct RemoteSched {
    inject: Arc<Inject>,
    owned: Arc<Mutex<Vec<Option<TaskRef>>>>,
}

impl Schedule for RemoteSched {
    fn schedule(&self, task: TaskRef) {
        if let Err(refused) = self.inject.push([task]) {
            drop(refused);
        }
    }

    fn release(&self, owned_key: usize) {
        // Gone already if shutdown emptied the list (the real one is a slab: `try_remove`).
        let removed = lock(&self.owned).get_mut(owned_key).and_then(Option::take);
        drop(removed);
    }
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// Runtime shutdown (`MultiThread::shutdown`: close the injection queue, wait for the worker
/// to stop between two polls, cancel what the queue held, then every task of the owned list)
/// racing a wake from another thread (`remote_abort` false) or an abort (true) of an idle
/// task, while the worker may still run one queued task. The future is dropped exactly once,
/// never polled once the worker stopped, the task is freed (loom reports a leaked scheduler
/// `Arc` otherwise), and its handle reports it cancelled.
fn shutdown_vs_remote(remote_abort: bool) {
    loom::model(move || {
        let sched = RemoteSched {
            inject: Arc::new(Inject::new()),
            owned: Arc::new(Mutex::new(Vec::new())),
        };
        let stopped = Arc::new(AtomicBool::new(false));
        let polls = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let probe = Probe { stopped: stopped.clone(), polls: polls.clone(), drops: drops.clone() };
        let task = Task::new(probe, sched.clone());
        task.set_owned_key(0);
        lock(&sched.owned).push(Some(task.clone() as TaskRef));
        let mut handle = JoinHandle::new(task.clone());
        let waker = Waker::from(task.clone());
        // Spawned, then run once: idle, waiting for a wake.
        sched.schedule(task);
        sched.inject.pop().expect("the spawned task").run(None);
        let remote = if remote_abort {
            let abort = handle.abort_handle();
            drop(waker);
            thread::spawn(move || abort.abort())
        } else {
            thread::spawn(move || waker.wake())
        };
        let worker = {
            let (inject, stopped) = (sched.inject.clone(), stopped.clone());
            thread::spawn(move || {
                // Between two polls it notices the shutdown; before, it may run one task.
                if let Some(task) = inject.pop() {
                    task.run(None);
                }
                stopped.store(true, SeqCst);
            })
        };
        // MultiThread::shutdown
        let queued = sched.inject.close().expect("closed once");
        worker.join().expect("worker");
        for task in queued {
            task.shutdown();
        }
        let owned: Vec<_> = std::mem::take(&mut *lock(&sched.owned));
        for task in owned.into_iter().flatten() {
            task.shutdown();
        }
        remote.join().expect("remote");
        assert_eq!(drops.load(SeqCst), 1, "the future is dropped exactly once");
        assert!(polls.load(SeqCst) <= 2);
        let waker = Waker::from(std::sync::Arc::new(NoopWaker));
        let joined = Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
        assert!(matches!(joined, Poll::Ready(Err(e)) if e.is_cancelled()));
        drop(handle);
        // A wake refused by the closed queue left no reference behind.
        assert!(sched.inject.pop().is_none());
    });
}

#[test]
fn loom_shutdown_vs_remote_wake() {
    shutdown_vs_remote(false);
}

#[test]
fn loom_shutdown_vs_remote_abort() {
    shutdown_vs_remote(true);
}
