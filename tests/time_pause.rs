//! Paused time: tokio's `tests/time_pause.rs`, `tests/test_clock.rs`,
//! `tests/rt_time_start_paused.rs`, the paused-runtime tests of `tests/task_blocking.rs` and
//! the `pause`/`resume` tests of `tests/time_panic.rs`, with `tokio` renamed to `minirt`.
//!
//! Changes from tokio's text: `tokio_test::task` is the mock task of `sync_common`;
//! `paused_time_is_deterministic` draws its sleeps from a small fixed LCG instead of `rand`;
//! every test holds a `watchdog`, since a paused runtime that failed to auto-advance would
//! otherwise hang (the hang detector cannot be a minirt timer: those run on the paused clock).
//! Beyond tokio's: auto-advance does not skip ready I/O or queued tasks, `resume` keeps the
//! advanced time, and a paused runtime's clock does not leak into another runtime.

#![warn(rust_2018_idioms)]

mod common;
#[macro_use]
mod sync_common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;

use common::{panic_message, watchdog};
use minirt::time::{self, Duration, Instant, Sleep};
use sync_common::task;

#[minirt::test]
async fn pause_time_in_main() {
    let _w = watchdog("pause_time_in_main");
    minirt::time::pause();
}

#[minirt::test]
async fn pause_time_in_task() {
    let _w = watchdog("pause_time_in_task");
    let t = minirt::spawn(async {
        minirt::time::pause();
    });

    t.await.unwrap();
}

#[minirt::test(flavor = "multi_thread", worker_threads = 1)]
#[should_panic]
async fn pause_time_in_main_threads() {
    minirt::time::pause();
}

#[minirt::test(flavor = "multi_thread", worker_threads = 1)]
async fn pause_time_in_spawn_threads() {
    let _w = watchdog("pause_time_in_spawn_threads");
    let t = minirt::spawn(async {
        minirt::time::pause();
    });

    let err = t.await.expect_err("pause on a multi-thread runtime panics");
    let message = panic_message(&*err.into_panic()).unwrap_or_default();
    assert!(message.contains("requires the `current_thread` minirt runtime"), "{message}");
}

#[test]
fn paused_time_is_deterministic() {
    let _w = watchdog("paused_time_is_deterministic");
    let run_1 = paused_time_stress_run();
    let run_2 = paused_time_stress_run();

    assert_eq!(run_1, run_2);
}

/// `rand`'s `StdRng::seed_from_u64(1)` in tokio's; any fixed sequence makes the point.
struct Lcg(u64);

impl Lcg {
    fn below_one_second(&mut self) -> Duration {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        Duration::from_nanos((self.0 >> 33) % 1_000_000_000)
    }
}

#[minirt::main(flavor = "current_thread", start_paused = true)]
async fn paused_time_stress_run() -> Vec<Duration> {
    let mut rng = Lcg(1);

    let mut times = vec![];
    let start = Instant::now();
    for _ in 0..10_000 {
        let sleep = rng.below_one_second();
        time::sleep(sleep).await;
        times.push(start.elapsed());
    }

    times
}

#[minirt::test(start_paused = true)]
async fn advance_after_poll() {
    let _w = watchdog("advance_after_poll");
    time::sleep(ms(1)).await;

    let start = Instant::now();

    let mut sleep = task::spawn(time::sleep_until(start + ms(300)));

    assert_pending!(sleep.poll());

    let before = Instant::now();
    time::advance(ms(100)).await;
    assert_elapsed!(before, ms(100));

    assert_pending!(sleep.poll());
}

#[minirt::test(start_paused = true)]
async fn sleep_no_poll() {
    let _w = watchdog("sleep_no_poll");
    let start = Instant::now();

    // TODO: Skip this
    time::advance(ms(1)).await;

    let mut sleep = task::spawn(time::sleep_until(start + ms(300)));

    let before = Instant::now();
    time::advance(ms(100)).await;
    assert_elapsed!(before, ms(100));

    assert_pending!(sleep.poll());
}

enum State {
    Begin,
    AwaitingAdvance(Pin<Box<dyn Future<Output = ()>>>),
    AfterAdvance,
}

struct Tester {
    sleep: Pin<Box<Sleep>>,
    state: State,
    before: Option<Instant>,
    poll: bool,
}

impl Future for Tester {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Begin => {
                if self.poll {
                    assert_pending!(self.sleep.as_mut().poll(cx));
                }
                self.before = Some(Instant::now());
                let advance_fut = Box::pin(time::advance(ms(100)));
                self.state = State::AwaitingAdvance(advance_fut);
                self.poll(cx)
            }
            State::AwaitingAdvance(ref mut advance_fut) => match advance_fut.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    self.state = State::AfterAdvance;
                    self.poll(cx)
                }
            },
            State::AfterAdvance => {
                assert_elapsed!(self.before.unwrap(), ms(100));

                assert_pending!(self.sleep.as_mut().poll(cx));

                Poll::Ready(())
            }
        }
    }
}

#[minirt::test(start_paused = true)]
async fn sleep_same_task() {
    let _w = watchdog("sleep_same_task");
    let start = Instant::now();

    // TODO: Skip this
    time::advance(ms(1)).await;

    let sleep = Box::pin(time::sleep_until(start + ms(300)));

    Tester { sleep, state: State::Begin, before: None, poll: true }.await;
}

#[minirt::test(start_paused = true)]
async fn sleep_same_task_no_poll() {
    let _w = watchdog("sleep_same_task_no_poll");
    let start = Instant::now();

    // TODO: Skip this
    time::advance(ms(1)).await;

    let sleep = Box::pin(time::sleep_until(start + ms(300)));

    Tester { sleep, state: State::Begin, before: None, poll: false }.await;
}

#[minirt::test(start_paused = true)]
async fn interval() {
    let _w = watchdog("interval");
    let start = Instant::now();

    // TODO: Skip this
    time::advance(ms(1)).await;

    let mut i = task::spawn(time::interval_at(start, ms(300)));

    assert_ready_eq!(poll_next(&mut i), start);
    assert_pending!(poll_next(&mut i));

    let before = Instant::now();
    time::advance(ms(100)).await;
    assert_elapsed!(before, ms(100));
    assert_pending!(poll_next(&mut i));

    let before = Instant::now();
    time::advance(ms(200)).await;
    assert_elapsed!(before, ms(200));
    assert_ready_eq!(poll_next(&mut i), start + ms(300));
    assert_pending!(poll_next(&mut i));

    let before = Instant::now();
    time::advance(ms(400)).await;
    assert_elapsed!(before, ms(400));
    assert_ready_eq!(poll_next(&mut i), start + ms(600));
    assert_pending!(poll_next(&mut i));

    let before = Instant::now();
    time::advance(ms(500)).await;
    assert_elapsed!(before, ms(500));
    assert_ready_eq!(poll_next(&mut i), start + ms(900));
    assert_ready_eq!(poll_next(&mut i), start + ms(1200));
    assert_pending!(poll_next(&mut i));
}

#[minirt::test(start_paused = true)]
async fn test_time_advance_sub_ms() {
    let _w = watchdog("test_time_advance_sub_ms");
    let now = Instant::now();

    let dur = Duration::from_micros(51_592);
    time::advance(dur).await;

    assert_eq!(now.elapsed(), dur);

    let now = Instant::now();
    let dur = Duration::from_micros(1);
    time::advance(dur).await;

    assert_eq!(now.elapsed(), dur);
}

#[minirt::test(start_paused = true)]
async fn test_time_advance_3ms_and_change() {
    let _w = watchdog("test_time_advance_3ms_and_change");
    let now = Instant::now();

    let dur = Duration::from_micros(3_141_592);
    time::advance(dur).await;

    assert_eq!(now.elapsed(), dur);

    let now = Instant::now();
    let dur = Duration::from_micros(3_123_456);
    time::advance(dur).await;

    assert_eq!(now.elapsed(), dur);
}

#[minirt::test(start_paused = true)]
async fn regression_3710_with_submillis_advance() {
    let _w = watchdog("regression_3710_with_submillis_advance");
    let start = Instant::now();

    time::advance(Duration::from_millis(1)).await;

    let mut sleep = task::spawn(time::sleep_until(start + Duration::from_secs(60)));

    assert_pending!(sleep.poll());

    let before = Instant::now();
    let dur = Duration::from_micros(51_592);
    time::advance(dur).await;
    assert_eq!(before.elapsed(), dur);

    assert_pending!(sleep.poll());
}

#[minirt::test(start_paused = true)]
async fn exact_1ms_advance() {
    let _w = watchdog("exact_1ms_advance");
    let now = Instant::now();

    let dur = Duration::from_millis(1);
    time::advance(dur).await;

    assert_eq!(now.elapsed(), dur);

    let now = Instant::now();
    let dur = Duration::from_millis(1);
    time::advance(dur).await;

    assert_eq!(now.elapsed(), dur);
}

#[minirt::test(start_paused = true)]
async fn advance_once_with_timer() {
    let _w = watchdog("advance_once_with_timer");
    let mut sleep = task::spawn(time::sleep(Duration::from_millis(1)));
    assert_pending!(sleep.poll());

    time::advance(Duration::from_micros(250)).await;
    assert_pending!(sleep.poll());

    time::advance(Duration::from_micros(1500)).await;

    assert!(sleep.is_woken());
    assert_ready!(sleep.poll());
}

#[minirt::test(start_paused = true)]
async fn advance_multi_with_timer() {
    let _w = watchdog("advance_multi_with_timer");
    // Round to the nearest ms
    // time::sleep(Duration::from_millis(1)).await;

    let mut sleep = task::spawn(time::sleep(Duration::from_millis(1)));
    assert_pending!(sleep.poll());

    time::advance(Duration::from_micros(250)).await;
    assert_pending!(sleep.poll());

    time::advance(Duration::from_micros(250)).await;
    assert_pending!(sleep.poll());

    time::advance(Duration::from_micros(250)).await;
    assert_pending!(sleep.poll());

    time::advance(Duration::from_micros(250)).await;
    assert!(sleep.is_woken());
    assert_ready!(sleep.poll());
}

fn poll_next(interval: &mut task::Spawn<time::Interval>) -> Poll<Instant> {
    interval.enter(|cx, mut interval| interval.poll_tick(cx))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[minirt::test(start_paused = true)]
async fn paused_time_join_unix_datagram_and_sleep() {
    let _w = watchdog("paused_time_join_unix_datagram_and_sleep");
    use minirt::net::UnixDatagram;

    let time = Instant::now();
    let (sock1, sock2) = UnixDatagram::pair().unwrap();
    let mut buf = [0u8; 1];
    minirt::join!(
        async {
            sock1.send(&[1u8]).await.unwrap();
            time::sleep(Duration::from_millis(100)).await;
        },
        async {
            sock2.recv(&mut buf).await.unwrap();
            assert_eq!(time.elapsed(), Duration::ZERO);
        },
    );
}

#[minirt::test(start_paused = true)]
async fn paused_time_spawn_unix_datagram_and_sleep() {
    let _w = watchdog("paused_time_spawn_unix_datagram_and_sleep");
    use minirt::net::UnixDatagram;

    let time = Instant::now();
    let (sock1, sock2) = UnixDatagram::pair().unwrap();

    sock1.send(&[1u8]).await.unwrap();

    let h = minirt::spawn(async move {
        let mut buf = [0u8; 1];
        sock2.recv(&mut buf).await.unwrap();
        assert_eq!(time.elapsed(), Duration::ZERO);
    });

    time::sleep(Duration::from_millis(100)).await;
    h.await.unwrap();
    assert_eq!(time.elapsed(), Duration::from_millis(100));
}

// ---- tokio's tests/rt_time_start_paused.rs -------------------------------------------------

#[minirt::test(start_paused = true)]
async fn test_start_paused() {
    let _w = watchdog("test_start_paused");
    let now = Instant::now();

    // Pause a few times w/ std sleep and ensure `now` stays the same
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(now, Instant::now());
    }
}

// ---- tokio's tests/test_clock.rs -----------------------------------------------------------

#[minirt::test]
async fn resume_lets_time_move_forward_instead_of_resetting_it() {
    let _w = watchdog("resume_lets_time_move_forward_instead_of_resetting_it");
    let start = Instant::now();
    time::pause();
    time::advance(Duration::from_secs(10)).await;
    let advanced_by_ten_secs = Instant::now();
    assert!(advanced_by_ten_secs - start > Duration::from_secs(10));
    assert!(advanced_by_ten_secs - start < Duration::from_secs(11));
    time::resume();
    assert!(advanced_by_ten_secs < Instant::now());
    assert!(Instant::now() - advanced_by_ten_secs < Duration::from_secs(1));
}

#[minirt::test]
async fn can_pause_after_resume() {
    let _w = watchdog("can_pause_after_resume");
    let start = Instant::now();
    time::pause();
    time::advance(Duration::from_secs(10)).await;
    time::resume();
    time::pause();
    time::advance(Duration::from_secs(10)).await;
    assert!(Instant::now() - start > Duration::from_secs(20));
    assert!(Instant::now() - start < Duration::from_secs(21));
}

#[minirt::test]
#[should_panic(expected = "time is already frozen")]
async fn freezing_time_while_frozen_panics() {
    time::pause();
    time::pause();
}

#[minirt::test]
#[should_panic(expected = "time is not frozen")]
async fn advancing_time_when_time_is_not_frozen_panics() {
    time::advance(Duration::from_secs(1)).await;
}

#[minirt::test]
#[should_panic(expected = "time is not frozen")]
async fn resuming_time_when_not_frozen_panics() {
    time::pause();
    time::resume();
    time::resume();
}

// ---- tokio's tests/time_panic.rs: the panic points at the caller ---------------------------

#[test]
fn pause_panic_caller() {
    let _w = watchdog("pause_panic_caller");
    let rts = [
        minirt::runtime::Builder::new_current_thread().build().unwrap(),
        minirt::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap(),
    ];
    for rt in rts {
        // A minirt `Runtime` is not `RefUnwindSafe` (tokio's is); nothing is read after the panic.
        let rt = std::panic::AssertUnwindSafe(rt);
        let panic_location_file = sync_common::test_panic(|| {
            rt.block_on(async {
                time::pause();
                time::pause();
            });
        });

        // The panic location should be in this file
        assert_eq!(&panic_location_file.unwrap(), file!());
    }
}

#[test]
fn resume_panic_caller() {
    let _w = watchdog("resume_panic_caller");
    let panic_location_file = sync_common::test_panic(|| {
        let rt = minirt::runtime::Builder::new_current_thread().enable_all().build().unwrap();

        rt.block_on(async {
            time::resume();
        });
    });

    // The panic location should be in this file
    assert_eq!(&panic_location_file.unwrap(), file!());
}

#[test]
#[should_panic(expected = "time cannot be frozen from outside the minirt runtime")]
fn pause_outside_a_runtime_panics() {
    time::pause();
}

#[test]
#[should_panic(expected = "`start_paused` requires the `current_thread` minirt runtime")]
fn start_paused_on_a_multi_thread_builder_panics() {
    let _ = minirt::runtime::Builder::new_multi_thread().start_paused(true).build();
}

// ---- tokio's tests/task_blocking.rs: blocking work holds auto-advance back -----------------

#[minirt::test(start_paused = true)]
async fn blocking_task_wakes_paused_runtime() {
    let _w = watchdog("blocking_task_wakes_paused_runtime");
    let t0 = std::time::Instant::now();
    time::timeout(
        Duration::from_secs(15),
        minirt::task::spawn_blocking(|| thread::sleep(Duration::from_millis(1))),
    )
    .await
    .expect("timeout should not trigger")
    .expect("blocking task should finish");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "completing a spawn_blocking should wake the scheduler if it's parked while time is paused"
    );
}

#[minirt::test(start_paused = true)]
async fn unawaited_blocking_task_wakes_paused_runtime() {
    let _w = watchdog("unawaited_blocking_task_wakes_paused_runtime");
    let t0 = std::time::Instant::now();

    // When this task finishes, time should auto-advance, even though the
    // JoinHandle has not been awaited yet.
    let a = minirt::task::spawn_blocking(|| {
        thread::sleep(Duration::from_millis(1));
    });

    time::sleep(Duration::from_secs(15)).await;
    a.await.expect("blocking task should finish");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "completing a spawn_blocking should wake the scheduler if it's parked while time is paused"
    );
}

#[minirt::test(start_paused = true)]
async fn panicking_blocking_task_wakes_paused_runtime() {
    let _w = watchdog("panicking_blocking_task_wakes_paused_runtime");
    let t0 = std::time::Instant::now();
    let result = time::timeout(
        Duration::from_secs(15),
        minirt::task::spawn_blocking(|| {
            thread::sleep(Duration::from_millis(1));
            panic!("blocking task panicked");
        }),
    )
    .await
    .expect("timeout should not trigger");
    assert!(result.is_err(), "blocking task should have panicked");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "completing a spawn_blocking should wake the scheduler if it's parked while time is paused"
    );
}

// ---- beyond tokio's tests --------------------------------------------------------------------

/// While blocking work runs, paused time stands still: a timeout around it does not fire
/// however long the work takes in real time.
#[minirt::test(start_paused = true)]
async fn blocking_work_holds_auto_advance_back() {
    let _w = watchdog("blocking_work_holds_auto_advance_back");
    let start = Instant::now();
    let slow = minirt::task::spawn_blocking(|| thread::sleep(Duration::from_millis(30)));
    let result = time::timeout(Duration::from_millis(1), slow).await;
    assert!(result.is_ok(), "the 1 ms paused timeout fired during 30 ms of real blocking work");
    assert_eq!(start.elapsed(), Duration::ZERO, "the clock moved while blocking work ran");
}

/// Auto-advance happens only when the runtime is idle: a task that keeps running (yielding)
/// while another sleeps sees no time pass, and the sleep ends only once it stops.
#[minirt::test(start_paused = true)]
async fn auto_advance_waits_for_runnable_tasks() {
    let _w = watchdog("auto_advance_waits_for_runnable_tasks");
    let start = Instant::now();
    let busy = minirt::spawn(async move {
        for _ in 0..1000 {
            assert_eq!(start.elapsed(), Duration::ZERO, "time jumped while a task could run");
            minirt::task::yield_now().await;
        }
    });
    time::sleep(Duration::from_secs(1)).await;
    assert!(busy.is_finished(), "the sleep ended before the busy task did");
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

/// Timers fire in deadline order as the clock jumps from one to the next, each exactly on
/// time.
#[minirt::test(start_paused = true)]
async fn auto_advance_fires_each_timer_exactly_at_its_deadline() {
    let _w = watchdog("auto_advance_fires_each_timer_exactly_at_its_deadline");
    let start = Instant::now();
    let (tx, mut rx) = minirt::sync::mpsc::unbounded_channel();
    for secs in [30u64, 10, 20, 5] {
        let tx = tx.clone();
        minirt::spawn(async move {
            time::sleep(Duration::from_secs(secs)).await;
            tx.send((secs, start.elapsed())).unwrap();
        });
    }
    drop(tx);
    let mut fired = Vec::new();
    while let Some(event) = rx.recv().await {
        fired.push(event);
    }
    let expected: Vec<(u64, Duration)> =
        [5, 10, 20, 30].into_iter().map(|s| (s, Duration::from_secs(s))).collect();
    assert_eq!(fired, expected);
}

/// `advance` past several deadlines fires them all, and their tasks run before `advance`
/// returns.
#[minirt::test(start_paused = true)]
async fn advance_runs_the_tasks_it_wakes_before_returning() {
    let _w = watchdog("advance_runs_the_tasks_it_wakes_before_returning");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for n in 1..=3u64 {
        let done = done.clone();
        minirt::spawn(async move {
            time::sleep(ms(n)).await;
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
    minirt::task::yield_now().await; // let the tasks register their timers
    time::advance(ms(3)).await;
    assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// A paused runtime's clock is its own: a second runtime, and code outside any runtime,
/// still read the real clock.
#[test]
fn pausing_one_runtime_leaves_other_clocks_running() {
    let _w = watchdog("pausing_one_runtime_leaves_other_clocks_running");
    let paused = minirt::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
    let frozen = paused.block_on(async { Instant::now() });
    thread::sleep(Duration::from_millis(2));
    assert_eq!(paused.block_on(async { Instant::now() }), frozen);
    {
        let _enter = paused.enter();
        assert_eq!(Instant::now(), frozen, "`Runtime::enter` reads the paused clock too");
    }
    assert!(Instant::now() > frozen, "outside any runtime the clock runs");
    let running = minirt::runtime::Builder::new_current_thread().build().unwrap();
    assert!(running.block_on(async { Instant::now() }) > frozen);
}

/// A paused runtime with a timer but no work does not spin: it jumps to the timer. One with
/// no timer at all waits for I/O like any other runtime (and here a thread's wake).
#[minirt::test(start_paused = true)]
async fn a_paused_runtime_with_no_timer_waits_for_a_wake() {
    let _w = watchdog("a_paused_runtime_with_no_timer_waits_for_a_wake");
    let start = Instant::now();
    let (tx, rx) = minirt::sync::oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(()).unwrap();
    });
    rx.await.unwrap();
    sender.join().unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}
