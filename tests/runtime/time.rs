//! `minirt::time`: sleeps never wake early and fire in deadline order, `timeout` and `interval`
//! behave as tokio's, dropped timers leave nothing behind, and an idle runtime waiting on a
//! timer sleeps in the kernel.
//!
//! Every bound on time here is a lower bound (a timer must not fire early) or a generous hang
//! detector; none asserts how fast the machine is.

use crate::common;

use minirt::time::Instant;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use common::{must_complete, panic_message, watchdog};
use futures_core::Stream;
use minirt::runtime::{Builder, Runtime};
use minirt::time::{
    error::Elapsed, interval, interval_at, sleep, sleep_until, timeout, timeout_at,
    MissedTickBehavior,
};

fn new_runtime() -> Runtime {
    Builder::new_current_thread().enable_all().build().expect("build a runtime")
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn a_sleep_never_completes_before_its_deadline() {
    let _watchdog = watchdog("a_sleep_never_completes_before_its_deadline");
    let rt = new_runtime();
    rt.block_on(async {
        for micros in [0, 1, 50, 100, 250, 1_000, 2_500, 10_000] {
            let duration = Duration::from_micros(micros);
            for _ in 0..5 {
                let start = Instant::now();
                sleep(duration).await;
                let took = start.elapsed();
                assert!(took >= duration, "sleep({duration:?}) completed after {took:?}");
            }
        }
        let deadline = Instant::now() + 3 * MS;
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline, "sleep_until completed early");
    });
}

/// 200 tasks, deadlines spread over 0..20 ms with ten tasks on each: they complete in deadline
/// order, and tasks with the same deadline in the order they first waited.
#[test]
fn many_timers_fire_in_deadline_order_and_in_registration_order_on_ties() {
    let _watchdog =
        watchdog("many_timers_fire_in_deadline_order_and_in_registration_order_on_ties");
    let rt = new_runtime();
    let order = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        // Far enough ahead that every task has registered before the first deadline, even on a
        // busy machine.
        let base = Instant::now() + Duration::from_millis(200);
        let tasks: Vec<_> = (0..200usize)
            .map(|id| {
                let order = order.clone();
                // Deadlines 19, 17, ..., 1, 18, 16, ..., 0 ms: registration order is not
                // deadline order.
                let slot = (id * 7) % 20;
                minirt::spawn(async move {
                    sleep_until(base + slot as u32 * MS).await;
                    order.lock().unwrap().push((slot, id));
                })
            })
            .collect();
        for task in tasks {
            must_complete("a sleeping task", task).await.expect("task ran");
        }
    });
    let order = order.lock().unwrap().clone();
    let mut expected = order.clone();
    expected.sort();
    assert_eq!(order, expected, "woken out of (deadline, registration) order");
    assert_eq!(order.len(), 200);
}

#[test]
fn timeout_returns_the_output_of_a_future_that_finishes_in_time() {
    let _watchdog = watchdog("timeout_returns_the_output_of_a_future_that_finishes_in_time");
    let rt = new_runtime();
    rt.block_on(async {
        assert_eq!(timeout(Duration::from_secs(10), async { 42 }).await, Ok(42));
        let slow_enough = async {
            sleep(2 * MS).await;
            "done"
        };
        assert_eq!(timeout(Duration::from_secs(10), slow_enough).await, Ok("done"));
        // Already ready wins even against a deadline in the past.
        let past = Instant::now() - MS;
        assert_eq!(timeout_at(past, async { 1 }).await, Ok(1));
    });
}

/// The future loses: `Err(Elapsed)`, not before the deadline, and the future is dropped.
#[test]
fn timeout_elapses_and_drops_a_future_that_is_too_slow() {
    let _watchdog = watchdog("timeout_elapses_and_drops_a_future_that_is_too_slow");
    let rt = new_runtime();
    rt.block_on(async {
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let never = async move {
            let _guard = guard;
            std::future::pending::<()>().await
        };
        let start = Instant::now();
        let limit = 20 * MS;
        let result = must_complete("timeout", timeout(limit, never)).await;
        let elapsed: Elapsed = result.expect_err("the future cannot finish");
        assert_eq!(elapsed.to_string(), "deadline has elapsed");
        assert!(start.elapsed() >= limit, "timed out early, after {:?}", start.elapsed());
        assert!(dropped.load(Ordering::SeqCst), "the timed-out future was not dropped");

        // `?` turns it into an io::Error of kind TimedOut.
        let as_io = async { Ok::<(), std::io::Error>(timeout(MS, std::future::pending()).await?) };
        let err = as_io.await.expect_err("must time out");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(err.to_string(), "deadline has elapsed");
    });
}

/// A future that spends its whole budget every poll (it is always ready to do more) must still
/// time out.
#[test]
fn timeout_fires_around_a_future_that_always_wakes_itself() {
    let _watchdog = watchdog("timeout_fires_around_a_future_that_always_wakes_itself");
    let rt = new_runtime();
    rt.block_on(async {
        let busy = poll_fn(|cx: &mut Context<'_>| {
            cx.waker().wake_by_ref();
            Poll::<()>::Pending
        });
        assert!(must_complete("busy timeout", timeout(5 * MS, busy)).await.is_err());
        // Zero-length sleeps are always ready; the budget still makes the loop yield.
        let spins = async {
            loop {
                sleep(Duration::ZERO).await;
            }
        };
        assert!(must_complete("spinning timeout", timeout(5 * MS, spins)).await.is_err());
    });
}

#[test]
fn reset_moves_a_sleep_earlier_later_and_rearms_a_finished_one() {
    let _watchdog = watchdog("reset_moves_a_sleep_earlier_later_and_rearms_a_finished_one");
    let rt = new_runtime();
    rt.block_on(async {
        let start = Instant::now();
        let mut sleep = pin!(sleep(Duration::from_secs(3600)));
        // Register the hour-long timer, then pull it in.
        assert!(poll_once(sleep.as_mut()).await.is_pending());
        sleep.as_mut().reset(start + 5 * MS);
        must_complete("reset earlier", sleep.as_mut()).await;
        assert!(start.elapsed() >= 5 * MS);
        assert!(sleep.is_elapsed());

        // A finished sleep, reset, waits again.
        let again = Instant::now() + 5 * MS;
        sleep.as_mut().reset(again);
        assert_eq!(sleep.deadline(), again);
        must_complete("reset after completion", sleep.as_mut()).await;
        assert!(Instant::now() >= again);

        // Pushed later while registered: does not fire at the old deadline.
        let mut later = pin!(minirt::time::sleep(MS));
        assert!(poll_once(later.as_mut()).await.is_pending());
        let new_deadline = Instant::now() + 20 * MS;
        later.as_mut().reset(new_deadline);
        must_complete("reset later", later.as_mut()).await;
        assert!(Instant::now() >= new_deadline, "fired at the old deadline");
    });
}

/// Dropping registered sleeps removes their timers: a million of them, created, registered and
/// dropped one after another, leave no memory behind; nor do 100,000 alive at once, dropped
/// together. Memory is counted by this binary's allocator for this thread alone, so tests
/// running in parallel do not disturb it.
#[test]
fn a_million_dropped_timers_leave_no_memory_behind() {
    let _watchdog = watchdog("a_million_dropped_timers_leave_no_memory_behind");
    let rt = new_runtime();
    rt.block_on(async {
        // Warm up: the timer table's first slot and heap node are allocated here.
        for _ in 0..1_000 {
            register_and_drop(sleep(Duration::from_secs(60))).await;
        }
        let before = counting_alloc::live_bytes_of_this_thread();
        for _ in 0..1_000_000 {
            register_and_drop(sleep(Duration::from_secs(60))).await;
        }
        let grown = counting_alloc::live_bytes_of_this_thread() - before;
        assert!(grown <= 0, "a million created and dropped timers kept {grown} bytes");

        let mut many: Vec<_> =
            (0..100_000).map(|_| Box::pin(sleep(Duration::from_secs(60)))).collect();
        for s in &mut many {
            register(s.as_mut()).await;
        }
        drop(many);
        let grown = counting_alloc::live_bytes_of_this_thread() - before;
        // The runtime's table shrinks back once empty; a few KiB of slack for its small start.
        assert!(grown < 16 << 10, "100,000 dropped timers kept {grown} bytes");
        // The runtime still works: its next timer fires.
        must_complete("a sleep after the drop", sleep(2 * MS)).await;
    });
}

/// The runtime waits on a 200 ms sleep in the kernel: the thread running it uses almost no
/// CPU. (CPU time of this thread only, so other tests running in parallel do not count.)
#[test]
fn an_idle_runtime_waiting_on_a_timer_uses_almost_no_cpu() {
    let _watchdog = watchdog("an_idle_runtime_waiting_on_a_timer_uses_almost_no_cpu");
    let rt = new_runtime();
    // First-use costs (allocations, the epoll_pwait2 probe) out of the way.
    rt.block_on(async { sleep(MS).await });
    let cpu_before = thread_cpu_time();
    let start = Instant::now();
    rt.block_on(async { sleep(Duration::from_millis(200)).await });
    let wall = start.elapsed();
    let cpu = thread_cpu_time() - cpu_before;
    assert!(wall >= Duration::from_millis(200));
    assert!(cpu < Duration::from_millis(20), "a 200 ms sleep used {cpu:?} of CPU");
}

#[test]
fn an_interval_in_burst_mode_catches_up_on_missed_ticks() {
    let _watchdog = watchdog("an_interval_in_burst_mode_catches_up_on_missed_ticks");
    let rt = new_runtime();
    rt.block_on(async {
        let period = 10 * MS;
        let start = Instant::now();
        let mut ticks = interval_at(start, period);
        assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
        assert_eq!(ticks.tick().await, start, "the first tick is due at the start");
        thread::sleep(35 * MS); // block the runtime: the ticks due at 10, 20, 30 ms are missed
        for k in 1..=4 {
            let due = must_complete("a tick", ticks.tick()).await;
            assert_eq!(due, start + k * period, "tick {k}: every missed tick is delivered");
        }
        assert!(Instant::now() >= start + 4 * period, "tick 4 is back on schedule");
    });
}

#[test]
fn an_interval_in_delay_mode_restarts_its_schedule_after_a_late_tick() {
    let _watchdog = watchdog("an_interval_in_delay_mode_restarts_its_schedule_after_a_late_tick");
    let rt = new_runtime();
    rt.block_on(async {
        let period = 10 * MS;
        let start = Instant::now();
        let mut ticks = interval_at(start, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks.tick().await;
        thread::sleep(35 * MS);
        assert_eq!(ticks.tick().await, start + period, "the late tick reports when it was due");
        let after_late_tick = Instant::now();
        let next = must_complete("a tick", ticks.tick()).await;
        // One period after the late tick completed (not on the start + k*period schedule).
        assert!(next >= start + 35 * MS + period, "next tick due {:?}", next - start);
        assert!(next <= after_late_tick + period, "next tick due {:?}", next - start);
        let woke = Instant::now();
        assert!(woke >= next);
        let following = must_complete("a tick", ticks.tick()).await;
        // Back on a plain schedule: one period after `next`, unless `next` itself was seen late
        // (a loaded machine waking us more than the 5 ms tolerance after it), which delays again.
        assert!(following >= next + period, "following tick due {:?}", following - start);
        if woke - next < 4 * MS {
            assert_eq!(following, next + period);
        }
    });
}

#[test]
fn an_interval_in_skip_mode_drops_missed_ticks_and_keeps_its_phase() {
    let _watchdog = watchdog("an_interval_in_skip_mode_drops_missed_ticks_and_keeps_its_phase");
    let rt = new_runtime();
    rt.block_on(async {
        let period = 10 * MS;
        let start = Instant::now();
        let mut ticks = interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let first = ticks.tick().await;
        assert!(first >= start);
        thread::sleep(35 * MS);
        assert_eq!(ticks.tick().await, first + period);
        let after_late_tick = Instant::now();
        let next = must_complete("a tick", ticks.tick()).await;
        let offset = next - first;
        assert_eq!(offset.as_nanos() % period.as_nanos(), 0, "off the schedule: {offset:?}");
        assert!(offset >= 4 * period, "a missed tick was not skipped: {offset:?}");
        assert!(next <= after_late_tick + period, "skipped too far: {offset:?}");
    });
}

/// `Interval` is a `futures_core::Stream` of tick instants.
#[test]
fn an_interval_is_a_stream_of_ticks() {
    let _watchdog = watchdog("an_interval_is_a_stream_of_ticks");
    let rt = new_runtime();
    rt.block_on(async {
        let period = 2 * MS;
        let start = Instant::now();
        let mut ticks = interval_at(start, period);
        assert_eq!(ticks.period(), period);
        for k in 0..5 {
            let next = poll_fn(|cx| Pin::new(&mut ticks).poll_next(cx));
            let due = must_complete("next tick", next).await.expect("an interval never ends");
            assert_eq!(due, start + k * period);
            assert!(Instant::now() >= due);
        }
    });
}

#[test]
fn an_interval_with_a_zero_period_panics() {
    let rt = new_runtime();
    let _enter = rt.enter();
    let panic = std::panic::catch_unwind(|| interval(Duration::ZERO)).expect_err("must panic");
    assert_eq!(panic_message(&*panic).as_deref(), Some("`period` must be non-zero."));
}

#[test]
fn creating_a_sleep_outside_a_runtime_panics_with_a_clear_message() {
    let panic = std::panic::catch_unwind(|| sleep(MS)).expect_err("must panic");
    let message = panic_message(&*panic).expect("a string message");
    assert!(message.contains("outside a minirt runtime"), "unclear message: {message}");
    assert!(std::panic::catch_unwind(|| timeout(MS, async {})).is_err());
}

/// A sleep takes its runtime when it first waits: one created in a runtime but first polled
/// on a thread outside any runtime panics with the same clear message (it has nobody to wake
/// it). One already due completes anywhere: it needs no timer.
#[test]
fn a_sleep_that_must_wait_outside_a_runtime_panics_with_a_clear_message() {
    let rt = new_runtime();
    let (waiting, due) = {
        let _enter = rt.enter();
        (sleep(Duration::from_secs(60)), sleep(Duration::ZERO))
    };
    let outside = thread::spawn(move || {
        block_on_thread(due);
        block_on_thread(waiting);
    });
    let panic = outside.join().expect_err("must panic");
    let message = panic_message(&*panic).expect("a string message");
    assert!(message.contains("outside a minirt runtime"), "unclear message: {message}");
}

/// A sleep created and polled on another thread (inside `Runtime::enter`, by a hand-made
/// executor) while the runtime's loop is parked with a 10 s timeout: registering the earlier
/// timer must wake the loop so it recomputes its timeout, or the sleep would take 10 s.
#[test]
fn a_timer_registered_from_another_thread_wakes_a_parked_loop() {
    let _watchdog = watchdog("a_timer_registered_from_another_thread_wakes_a_parked_loop");
    let rt = Arc::new(new_runtime());
    let (done_tx, done_rx) = futures_channel::oneshot::channel();
    let other = {
        let rt = rt.clone();
        thread::spawn(move || {
            thread::sleep(50 * MS); // let the loop park on its 10 s timer
            let _enter = rt.enter();
            let start = Instant::now();
            block_on_thread(sleep(20 * MS));
            let _ = done_tx.send(start.elapsed());
        })
    };
    let took = rt.block_on(async {
        let mut long = pin!(sleep(Duration::from_secs(10)));
        assert!(poll_once(long.as_mut()).await.is_pending());
        must_complete("the other thread's sleep", done_rx).await.expect("the other thread")
    });
    other.join().expect("the other thread");
    assert!(took >= 20 * MS, "fired early: {took:?}");
    // Not a speed bound: the failure this catches is waiting for the 10 s timer.
    assert!(took < Duration::from_secs(5), "the parked loop was not woken: {took:?}");
}

/// Polls a sleep once so that it registers its timer. Each poll spends the task's cooperative
/// budget, and a sleep polled with none left returns `Pending` without registering, so this
/// yields to the runtime first whenever the budget may be running out.
async fn register(sleep: Pin<&mut minirt::time::Sleep>) {
    thread_local!(static POLLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    if POLLS.with(|p| p.replace(p.get() + 1)) % 64 == 0 {
        minirt::task::yield_now().await;
    }
    assert!(poll_once(sleep).await.is_pending());
}

async fn register_and_drop(sleep: minirt::time::Sleep) {
    let mut sleep = pin!(sleep);
    register(sleep.as_mut()).await;
}

/// Polls `fut` once, then returns what it returned.
async fn poll_once<F: Future + Unpin>(mut fut: F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut fut).poll(cx))).await
}

/// Runs `fut` to completion on this thread, parking between polls: a minimal executor that is
/// not minirt's loop.
fn block_on_thread<F: Future>(fut: F) -> F::Output {
    struct Unparker(thread::Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Poll::Ready(output) = fut.as_mut().poll(&mut cx) {
            return output;
        }
        assert!(Instant::now() < deadline, "the timer never woke its thread");
        thread::park_timeout(Duration::from_secs(1));
    }
}

fn thread_cpu_time() -> Duration {
    common::cpu_time(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// A global allocator that counts, per thread, the bytes allocated minus the bytes freed.
mod counting_alloc {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
    }

    fn add(delta: isize) {
        // `try_with`: allocations during thread teardown are simply not counted.
        let _ = LIVE.try_with(|live| live.set(live.get() + delta));
    }

    // SAFETY: every call is forwarded unchanged to the system allocator; the counting touches
    // only a const-initialised thread-local Cell, which never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            // SAFETY: the caller's contract for `alloc` is passed on as is.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            add(-(layout.size() as isize));
            // SAFETY: `ptr` came from `System` with this layout (every allocation goes there).
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            add(new_size as isize - layout.size() as isize);
            // SAFETY: as for `dealloc`, and the caller's contract for `realloc` is passed on.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    pub fn live_bytes_of_this_thread() -> isize {
        LIVE.with(|live| live.get())
    }
}
