//! The fault matrix: every fault a user's code (or the runtime's own edge paths) can throw at
//! a runtime, on every flavor, and what must hold afterwards. `docs/FAULTS.md` is the table;
//! each row there is a scenario function here, each cell a test named
//! `<scenario>::<flavor>`.
//!
//! What every cell checks, where it applies: the runtime keeps running other tasks, and their
//! sleeps and I/O keep completing (`still_works`); shutdown returns within its deadline
//! (`shut_down`); every faulty future is dropped exactly once (`Drops`); the panic is
//! reported the way tokio reports it (`JoinError::is_panic`, the panic out of `block_on`) and
//! otherwise reaches the panic hook (`reported`), never lost silently.
//!
//! Every cell runs on a thread of its own and fails if it has not finished after
//! `CELL_LIMIT` (a hang is a failure, never a stuck CI job).

use std::cell::RefCell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread;
use std::time::{Duration, Instant};

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::UnixStream;
use minirt::runtime::{Builder, EnterGuard, Handle, LocalOptions, LocalRuntime, Runtime};
use minirt::task::{JoinError, JoinHandle};
use minirt::time::sleep;

/// A cell that has not finished by then hangs (far above what any cell needs).
const CELL_LIMIT: Duration = Duration::from_secs(60);
/// The deadline given to `shutdown_timeout`.
const SHUTDOWN_DEADLINE: Duration = Duration::from_millis(200);
/// How long the blocking poll of the `blocked_poll_*` rows blocks its worker: longer than
/// `SHUTDOWN_BOUND`, so that a shutdown that waits for it fails.
const BLOCKED_POLL: Duration = Duration::from_secs(8);
/// A hang detector for a shutdown that must keep its deadline: well above the deadline, far
/// below "forever". Not a speed assertion.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// Flavors and cells

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread1,
    MultiThread4,
    Local,
}

impl Flavor {
    fn named(name: &str) -> Flavor {
        match name {
            "current_thread" => Flavor::CurrentThread,
            "multi_thread_1" => Flavor::MultiThread1,
            "multi_thread_4" => Flavor::MultiThread4,
            "local" => Flavor::Local,
            other => unreachable!("no flavor {other}"),
        }
    }

    fn is_multi_thread(self) -> bool {
        matches!(self, Flavor::MultiThread1 | Flavor::MultiThread4)
    }
}

/// A runtime of any flavor, with the calls the cells need.
enum Rt {
    Runtime(Runtime),
    Local(LocalRuntime),
}

impl Rt {
    fn new(flavor: Flavor) -> Rt {
        let built = match flavor {
            Flavor::CurrentThread => Builder::new_current_thread().build().map(Rt::Runtime),
            Flavor::MultiThread1 => {
                Builder::new_multi_thread().worker_threads(1).build().map(Rt::Runtime)
            }
            Flavor::MultiThread4 => {
                Builder::new_multi_thread().worker_threads(4).build().map(Rt::Runtime)
            }
            Flavor::Local => {
                Builder::new_current_thread().build_local(LocalOptions::default()).map(Rt::Local)
            }
        };
        built.expect("build the runtime")
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Rt::Runtime(rt) => rt.block_on(future),
            Rt::Local(rt) => rt.block_on(future),
        }
    }

    fn handle(&self) -> &Handle {
        match self {
            Rt::Runtime(rt) => rt.handle(),
            Rt::Local(rt) => rt.handle(),
        }
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(future)
    }

    fn enter(&self) -> EnterGuard<'_> {
        match self {
            Rt::Runtime(rt) => rt.enter(),
            Rt::Local(rt) => rt.enter(),
        }
    }

    fn shutdown_timeout(self, deadline: Duration) {
        match self {
            Rt::Runtime(rt) => rt.shutdown_timeout(deadline),
            Rt::Local(rt) => rt.shutdown_timeout(deadline),
        }
    }

    fn into_runtime(self) -> Runtime {
        match self {
            Rt::Runtime(rt) => rt,
            Rt::Local(_) => unreachable!("a LocalRuntime is not a Runtime"),
        }
    }

    fn shutdown_background(self) {
        match self {
            Rt::Runtime(rt) => rt.shutdown_background(),
            Rt::Local(rt) => rt.shutdown_background(),
        }
    }
}

/// Runs `scenario` on a thread of its own; fails with its panic, or if it hangs.
fn run_cell(name: &str, flavor: Flavor, scenario: fn(Flavor)) {
    install_hook();
    let (done, result) = mpsc::channel();
    thread::Builder::new()
        .name(format!("{name}/{flavor:?}"))
        .spawn(move || {
            let outcome = panic::catch_unwind(move || scenario(flavor));
            let _ = done.send(outcome.map_err(|payload| message(&*payload)));
        })
        .expect("spawn the cell's thread");
    match result.recv_timeout(CELL_LIMIT) {
        Ok(Ok(())) => {}
        Ok(Err(message)) => panic!("{name} on {flavor:?}: {message}"),
        Err(_) => panic!("{name} on {flavor:?}: still running after {CELL_LIMIT:?}: it hangs"),
    }
}

/// One test per flavor for `scenario`, in a module of that name; attributes (an `#[ignore]`)
/// go before the flavor they apply to.
macro_rules! cells {
    ($scenario:ident: $($(#[$attr:meta])* $flavor:ident),+ $(,)?) => {
        mod $scenario {
            $(
                #[test]
                $(#[$attr])*
                fn $flavor() {
                    super::run_cell(
                        stringify!($scenario),
                        super::Flavor::named(stringify!($flavor)),
                        super::$scenario,
                    );
                }
            )+
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Panics: where they went

/// Every panic whose message starts with this is a fault the matrix injected: recorded, not
/// printed (the others go on to the default hook).
const MARK: &str = "fault-matrix:";

static REPORTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let text = message(info.payload());
            if text.starts_with(MARK) {
                REPORTED.lock().unwrap_or_else(|p| p.into_inner()).push(text);
            } else {
                default(info);
            }
        }));
    });
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<a panic without a message>".to_string()
    }
}

/// A tag unique to one cell and one fault: the injected panic's message.
fn tag(fault: &str, flavor: Flavor) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{MARK} {fault} on {flavor:?} #{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Whether the panic hook saw a panic with message `tag`.
fn reported(tag: &str) -> bool {
    REPORTED.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|m| m == tag)
}

fn assert_panic_with(error: JoinError, tag: &str) {
    assert!(error.is_panic(), "the task's error is a panic: {error:?}");
    assert_eq!(message(&*error.into_panic()), tag, "the panic's own payload");
}

// ---------------------------------------------------------------------------------------------
// Faulty futures, outputs and wakers

/// Counts drops; panics in its drop with `tag` if it has one.
struct Drops {
    count: Arc<AtomicUsize>,
    panic_tag: Option<String>,
}

impl Drops {
    fn new(panic_tag: Option<String>) -> (Drops, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        (Drops { count: count.clone(), panic_tag }, count)
    }
}

impl Drop for Drops {
    fn drop(&mut self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        if let Some(tag) = self.panic_tag.take() {
            panic!("{tag}");
        }
    }
}

/// A future that panics in its poll (if `poll_panics`), or stays pending (`pending`), or is
/// ready; dropped (with its `Drops`) by whoever owns it last.
struct Faulty {
    _drops: Drops,
    poll_panics: Option<String>,
    pending: bool,
}

impl Future for Faulty {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if let Some(tag) = self.poll_panics.take() {
            panic!("{tag}");
        }
        if self.pending {
            return Poll::Pending;
        }
        Poll::Ready(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WakerFault {
    Wake,
    WakeByRef,
    Clone,
    Drop,
}

/// A waker that panics with `tag` in one of its four functions, and counts its wakes.
struct BadWaker {
    fault: WakerFault,
    tag: String,
    wakes: AtomicUsize,
}

const BAD_VTABLE: RawWakerVTable =
    RawWakerVTable::new(bad_clone, bad_wake, bad_wake_by_ref, bad_drop);

fn bad_waker(fault: WakerFault, tag: &str) -> (Waker, Arc<BadWaker>) {
    let state = Arc::new(BadWaker { fault, tag: tag.to_string(), wakes: AtomicUsize::new(0) });
    let raw = RawWaker::new(Arc::into_raw(state.clone()).cast(), &BAD_VTABLE);
    // SAFETY: the data pointer is an `Arc<BadWaker>` turned raw, which is what every function
    // of BAD_VTABLE expects and keeps counted.
    (unsafe { Waker::from_raw(raw) }, state)
}

/// Borrows the `BadWaker` behind a data pointer of BAD_VTABLE.
///
/// # Safety
/// `data` is a live `Arc<BadWaker>` turned raw (see `bad_waker`).
unsafe fn bad_state<'a>(data: *const ()) -> &'a BadWaker {
    // SAFETY: the caller's promise.
    unsafe { &*data.cast::<BadWaker>() }
}

unsafe fn bad_clone(data: *const ()) -> RawWaker {
    // SAFETY: BAD_VTABLE's data pointers are live `Arc<BadWaker>`s (see `bad_waker`).
    let state = unsafe { bad_state(data) };
    if state.fault == WakerFault::Clone {
        panic!("{}", state.tag);
    }
    // SAFETY: as above; the clone owns one more count.
    unsafe { Arc::increment_strong_count(data.cast::<BadWaker>()) };
    RawWaker::new(data, &BAD_VTABLE)
}

unsafe fn bad_wake(data: *const ()) {
    // SAFETY: as in `bad_clone`; `wake` consumes this waker's count, released here.
    let state = unsafe { Arc::from_raw(data.cast::<BadWaker>()) };
    state.wakes.fetch_add(1, Ordering::SeqCst);
    if state.fault == WakerFault::Wake {
        let tag = state.tag.clone();
        drop(state);
        panic!("{tag}");
    }
}

unsafe fn bad_wake_by_ref(data: *const ()) {
    // SAFETY: as in `bad_clone`.
    let state = unsafe { bad_state(data) };
    state.wakes.fetch_add(1, Ordering::SeqCst);
    if state.fault == WakerFault::WakeByRef {
        panic!("{}", state.tag);
    }
}

unsafe fn bad_drop(data: *const ()) {
    // SAFETY: as in `bad_clone`; this waker's count is released here.
    let state = unsafe { Arc::from_raw(data.cast::<BadWaker>()) };
    if state.fault == WakerFault::Drop {
        let tag = state.tag.clone();
        drop(state);
        panic!("{tag}");
    }
}

/// Polls `future` once with `waker`, as a foreign executor would.
fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// `poll_with` inside `rt`'s context (a sleep registers its timer at its first poll).
fn poll_in<F: Future + ?Sized>(rt: &Rt, future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    let _in = rt.enter();
    poll_with(future, waker)
}

/// Waits on a std channel, failing rather than hanging.
fn recv<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("{what}: never happened"))
}

// ---------------------------------------------------------------------------------------------
// What must hold

/// Other tasks run, and their sleeps and I/O complete: more tasks than workers, each one
/// sleeping, then a read that waits in epoll for a write from another task.
fn still_works(rt: &Rt) {
    let sum = rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..16u8 {
            tasks.push(minirt::spawn(async move {
                let (mut a, mut b) = UnixStream::pair().expect("a socket pair");
                let reader = minirt::spawn(async move {
                    let mut byte = [0u8; 1];
                    b.read_exact(&mut byte).await.expect("read");
                    byte[0]
                });
                sleep(ms(2)).await;
                a.write_all(&[i]).await.expect("write");
                reader.await.expect("the reader completes")
            }));
        }
        let mut sum = 0u32;
        for task in tasks {
            sum += u32::from(task.await.expect("the task completes"));
        }
        sum
    });
    assert_eq!(sum, (0..16).sum::<u32>(), "every task ran, slept and read its byte");
}

/// `shutdown_timeout` keeps its deadline (bounded well above it: a hang detector).
fn shut_down(rt: Rt) {
    let start = Instant::now();
    rt.shutdown_timeout(SHUTDOWN_DEADLINE);
    assert!(start.elapsed() < SHUTDOWN_BOUND, "shutdown_timeout took {:?}", start.elapsed());
}

/// Runs `f` and returns its panic's message, if it panics.
fn panics<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| message(&*payload))
}

// ---------------------------------------------------------------------------------------------
// Rows: a future that panics

fn future_panics_in_poll(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let tag = tag("poll panics", flavor);
    let (drops, count) = Drops::new(None);
    let task = rt.spawn(Faulty { _drops: drops, poll_panics: Some(tag.clone()), pending: false });
    let error = rt.block_on(task).expect_err("the task panicked");
    assert_panic_with(error, &tag);
    assert_eq!(count.load(Ordering::SeqCst), 1, "the future dropped once");
    still_works(&rt);
    shut_down(rt);
}

fn future_panics_in_drop(flavor: Flavor) {
    let rt = Rt::new(flavor);
    // Dropped when it completes: the drop's panic is the task's error.
    let tag_done = tag("drop panics after completion", flavor);
    let (drops, done_count) = Drops::new(Some(tag_done.clone()));
    let done = rt.spawn(Faulty { _drops: drops, poll_panics: None, pending: false });
    assert_panic_with(rt.block_on(done).expect_err("the drop panicked"), &tag_done);
    // Dropped when aborted.
    let tag_aborted = tag("drop panics when aborted", flavor);
    let (drops, aborted_count) = Drops::new(Some(tag_aborted.clone()));
    let aborted = rt.spawn(Faulty { _drops: drops, poll_panics: None, pending: true });
    rt.block_on(async { sleep(ms(5)).await });
    aborted.abort();
    assert_panic_with(rt.block_on(aborted).expect_err("the drop panicked"), &tag_aborted);
    // Dropped by the shutdown.
    let tag_shutdown = tag("drop panics at shutdown", flavor);
    let (drops, shutdown_count) = Drops::new(Some(tag_shutdown.clone()));
    let pending = rt.spawn(Faulty { _drops: drops, poll_panics: None, pending: true });
    rt.block_on(async { sleep(ms(5)).await });
    still_works(&rt);
    shut_down(rt);
    let error = futures::executor::block_on(pending).expect_err("cancelled by the shutdown");
    assert_panic_with(error, &tag_shutdown);
    for count in [done_count, aborted_count, shutdown_count] {
        assert_eq!(count.load(Ordering::SeqCst), 1, "each future dropped once");
    }
}

fn output_panics_in_drop(flavor: Flavor) {
    let rt = Rt::new(flavor);
    // The JoinHandle is gone before the task completes: the task drops the output.
    let tag_detached = tag("output drop panics, detached", flavor);
    let (detached_drops, detached) = Drops::new(Some(tag_detached.clone()));
    let (done, finished) = mpsc::channel();
    drop(rt.spawn(async move {
        sleep(ms(5)).await;
        let _ = done.send(());
        detached_drops
    }));
    rt.block_on(async {
        while finished.try_recv().is_err() {
            sleep(ms(1)).await;
        }
    });
    // Dropped by the JoinHandle, after the task completed.
    let tag_handle = tag("output drop panics, handle dropped", flavor);
    let (handle_drops, handle) = Drops::new(Some(tag_handle.clone()));
    let task = rt.spawn(async move { handle_drops });
    rt.block_on(async {
        while !task.is_finished() {
            sleep(ms(1)).await;
        }
    });
    assert!(panics(|| drop(task)).is_ok(), "dropping the JoinHandle does not panic");
    still_works(&rt);
    shut_down(rt);
    assert!(reported(&tag_detached) && reported(&tag_handle), "both panics reached the hook");
    assert_eq!(detached.load(Ordering::SeqCst), 1, "the detached output dropped once");
    assert_eq!(handle.load(Ordering::SeqCst), 1, "the handle's output dropped once");
}

// ---------------------------------------------------------------------------------------------
// Rows: a waker that panics

/// The runtime drives the loop for a while: on a current-thread runtime through `block_on`,
/// where a waker's panic comes out (as in tokio); on a multi-thread one on its workers,
/// where it must be contained. Returns the panic that came out of `block_on`, if any.
fn drive_for(rt: &Rt, duration: Duration) -> Option<String> {
    panics(|| rt.block_on(async { sleep(duration).await })).err()
}

/// Where the runtime's own driver (a worker or `block_on`) wakes the bad waker.
fn expect_driver_wake(rt: &Rt, flavor: Flavor, escaped: Option<String>, tag: &str) {
    if flavor.is_multi_thread() {
        assert_eq!(escaped, None, "contained on the worker");
        // On a loaded machine the worker may get to it later: waited for (the cell's limit
        // bounds the wait).
        rt.block_on(async {
            while !reported(tag) {
                sleep(ms(1)).await;
            }
        });
    } else {
        assert_eq!(escaped.as_deref(), Some(tag), "the waker's panic comes out of block_on");
    }
}

fn waker_panics_in_wake_on_timer(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let tag = tag("wake panics, timer", flavor);
    let (waker, state) = bad_waker(WakerFault::Wake, &tag);
    let mut timer = {
        let _in = rt.enter();
        Box::pin(sleep(ms(50)))
    };
    assert!(poll_in(&rt, timer.as_mut(), &waker).is_pending());
    drop(waker);
    let escaped = drive_for(&rt, ms(300));
    expect_driver_wake(&rt, flavor, escaped, &tag);
    assert_eq!(state.wakes.load(Ordering::SeqCst), 1, "woken once");
    still_works(&rt);
    drop(timer);
    shut_down(rt);
}

fn waker_panics_in_wake_on_io(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let tag = tag("wake panics, I/O", flavor);
    let (waker, state) = bad_waker(WakerFault::Wake, &tag);
    let (mut a, b) = {
        let _in = rt.enter();
        UnixStream::pair().expect("a socket pair")
    };
    let mut readable = Box::pin(b.readable());
    assert!(poll_in(&rt, readable.as_mut(), &waker).is_pending());
    drop(waker);
    rt.block_on(a.write_all(b"x")).expect("write");
    let escaped = drive_for(&rt, ms(300));
    expect_driver_wake(&rt, flavor, escaped, &tag);
    assert_eq!(state.wakes.load(Ordering::SeqCst), 1, "woken once");
    still_works(&rt);
    drop(readable);
    drop((a, b));
    shut_down(rt);
}

fn waker_panics_in_wake_on_join(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let tag = tag("wake panics, JoinHandle", flavor);
    let (waker, state) = bad_waker(WakerFault::Wake, &tag);
    let (go, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    // Completes on a worker with tasks it spawned queued behind it there: they must still run.
    let mut task = rt.spawn(async move {
        while gate.lock().unwrap().try_recv().is_err() {
            sleep(ms(1)).await;
        }
        (0..8u32).map(|i| minirt::spawn(async move { i })).collect::<Vec<_>>()
    });
    assert!(poll_in(&rt, Pin::new(&mut task), &waker).is_pending());
    drop(waker);
    go.send(()).expect("the task waits");
    let escaped = drive_for(&rt, ms(50));
    assert_eq!(escaped, None, "a join waker's panic stays out of block_on (as in tokio)");
    let children = rt.block_on(task).expect("the task completed whole");
    let sum = rt.block_on(async {
        let mut sum = 0;
        for child in children {
            sum += child.await.expect("a child task ran");
        }
        sum
    });
    assert_eq!(sum, (0..8).sum::<u32>());
    assert!(reported(&tag), "the join waker's panic reached the hook");
    assert_eq!(state.wakes.load(Ordering::SeqCst), 1, "woken once");
    still_works(&rt);
    shut_down(rt);
}

fn waker_panics_in_wake_by_ref(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let tag = tag("wake_by_ref panics", flavor);
    // A future that wakes its task by reference (as a spent budget does on a worker): a task
    // that polls it with such a waker panics, and that is the task's error. (Not `yield_now`:
    // on a current-thread loop it defers the wake, which then goes by value, as tokio's.)
    let inner_tag = tag.clone();
    let task = rt.spawn(async move {
        let (waker, _state) = bad_waker(WakerFault::WakeByRef, &inner_tag);
        let mut wakes_by_ref = pin!(std::future::poll_fn(|cx| {
            cx.waker().wake_by_ref();
            std::task::Poll::<()>::Pending
        }));
        let _ = poll_with(wakes_by_ref.as_mut(), &waker);
    });
    assert_panic_with(rt.block_on(task).expect_err("the task panicked"), &tag);
    // The driver wakes by value: a timer's wake never goes through `wake_by_ref`.
    let (waker, state) = bad_waker(WakerFault::WakeByRef, &tag);
    let mut timer = {
        let _in = rt.enter();
        Box::pin(sleep(ms(50)))
    };
    assert!(poll_in(&rt, timer.as_mut(), &waker).is_pending());
    drop(waker);
    rt.block_on(async {
        while state.wakes.load(Ordering::SeqCst) == 0 {
            sleep(ms(1)).await;
        }
    });
    assert_eq!(state.wakes.load(Ordering::SeqCst), 1, "the timer woke it, once");
    still_works(&rt);
    shut_down(rt);
}

fn waker_panics_in_clone(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let tag = tag("clone panics", flavor);
    // Cloned when a sleep stores it: inside a task, the task's error.
    let inner_tag = tag.clone();
    let task = rt.spawn(async move {
        let (waker, _state) = bad_waker(WakerFault::Clone, &inner_tag);
        let mut timer = pin!(sleep(ms(10)));
        let _ = poll_with(timer.as_mut(), &waker);
    });
    assert_panic_with(rt.block_on(task).expect_err("the task panicked"), &tag);
    // Outside any task (a foreign executor): the panic goes to whoever polled.
    let (waker, _state) = bad_waker(WakerFault::Clone, &tag);
    let (a, b) = {
        let _in = rt.enter();
        UnixStream::pair().expect("a socket pair")
    };
    let mut readable = Box::pin(b.readable());
    let polled = panics(|| poll_in(&rt, readable.as_mut(), &waker).is_pending());
    assert_eq!(polled, Err(tag.clone()), "the clone's panic reached the poller");
    drop(readable);
    drop((a, b));
    still_works(&rt);
    shut_down(rt);
}

fn waker_panics_in_drop(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let tag = tag("drop panics", flavor);
    let (waker, _state) = bad_waker(WakerFault::Drop, &tag);
    // The sleep keeps a clone. Polled again with another waker, the timers replace that clone
    // and drop it (after their lock): the panic comes out of that poll, the caller's, and
    // leaves the timers usable.
    let mut timer = {
        let _in = rt.enter();
        Box::pin(sleep(Duration::from_secs(3600)))
    };
    assert!(poll_in(&rt, timer.as_mut(), &waker).is_pending());
    let other = futures_util::task::noop_waker_ref();
    assert_eq!(panics(|| poll_in(&rt, timer.as_mut(), other).is_pending()), Err(tag.clone()));
    assert!(reported(&tag), "the drop's panic reached the hook");
    still_works(&rt);
    // Stored again; the shutdown wakes it (a wake consumes a waker without its drop) and goes
    // through.
    assert!(poll_in(&rt, timer.as_mut(), &waker).is_pending());
    let shutdown = panics(|| shut_down(rt));
    assert_eq!(shutdown, Ok(()), "the shutdown went through");
    drop(timer);
    // This test's own copy panics in its drop too (after releasing its count).
    assert_eq!(panics(|| drop(waker)), Err(tag));
}

// ---------------------------------------------------------------------------------------------
// Rows: a poll that blocks for seconds

/// A task whose poll blocks its worker for seconds (a `std::thread::sleep`), and a gate
/// that says it started.
fn spawn_blocked_poll(rt: &Rt) -> JoinHandle<()> {
    let (started, blocked) = mpsc::channel();
    let task = rt.spawn(async move {
        let _ = started.send(());
        thread::sleep(BLOCKED_POLL);
    });
    recv(&blocked, "the blocking poll started");
    task
}

fn blocked_poll_others_run(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let blocked = spawn_blocked_poll(&rt);
    // Three other workers serve the rest.
    still_works(&rt);
    rt.block_on(blocked).expect("the blocking task completes");
    shut_down(rt);
}

fn blocked_poll_shutdown_timeout(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let _blocked = spawn_blocked_poll(&rt);
    shut_down(rt);
}

fn blocked_poll_shutdown_background(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let _blocked = spawn_blocked_poll(&rt);
    let start = Instant::now();
    rt.shutdown_background();
    assert!(start.elapsed() < SHUTDOWN_BOUND, "shutdown_background took {:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Rows: a runtime dropped or shut down from an unusual place

/// The three ways a runtime ends.
#[derive(Clone, Copy, Debug)]
enum End {
    Drop,
    Timeout,
    Background,
}

const ENDS: [End; 3] = [End::Drop, End::Timeout, End::Background];

fn end(rt: Rt, how: End) {
    match how {
        End::Drop => drop(rt),
        End::Timeout => rt.shutdown_timeout(SHUTDOWN_DEADLINE),
        End::Background => rt.shutdown_background(),
    }
}

/// What must come of ending a runtime in an asynchronous context: a drop panics there (as in
/// tokio: "Cannot drop a runtime in a context where blocking is not allowed"); the two
/// shutdowns return.
fn assert_async_end(how: End, outcome: Result<(), String>) {
    match how {
        End::Drop => {
            let message = outcome.expect_err("dropping a runtime inside a task panics");
            assert!(message.contains("Cannot drop a runtime"), "{message}");
        }
        End::Timeout | End::Background => outcome.expect("the shutdown returns"),
    }
}

/// Each way of ending the runtime, from one of its own tasks. (Multi-thread only: the tasks
/// of a current-thread or local runtime run only inside its `block_on`, which borrows it.)
fn runtime_ended_in_its_own_task(flavor: Flavor) {
    for how in ENDS {
        let rt = Rt::new(flavor).into_runtime();
        let (outcome_tx, outcome) = mpsc::channel();
        let (give, slot) = mpsc::channel::<Runtime>();
        let handle = rt.handle().clone();
        drop(handle.spawn(async move {
            let rt = slot.recv().expect("the runtime");
            let _ = outcome_tx.send(panics(|| end(Rt::Runtime(rt), how)));
        }));
        give.send(rt).expect("the task waits");
        assert_async_end(how, recv(&outcome, "the runtime's end"));
    }
}

fn runtime_ended_in_block_in_place(flavor: Flavor) {
    if !flavor.is_multi_thread() {
        // `block_in_place` on a current-thread runtime panics before its closure could end
        // anything (as in tokio): that is the task's error.
        let rt = Rt::new(flavor);
        let task = rt.spawn(async { minirt::task::block_in_place(|| ()) });
        expect_block_in_place(flavor, rt.block_on(task), ());
        return shut_down(rt);
    }
    for how in ENDS {
        let rt = Rt::new(flavor).into_runtime();
        let (outcome_tx, outcome) = mpsc::channel();
        let rt_cell = Arc::new(Mutex::new(Some(rt)));
        let inside = rt_cell.clone();
        let handle = rt_cell.lock().unwrap().as_ref().unwrap().handle().clone();
        drop(handle.spawn(async move {
            let outcome = panics(|| {
                minirt::task::block_in_place(|| {
                    let rt = inside.lock().unwrap().take().expect("the runtime");
                    end(Rt::Runtime(rt), how);
                })
            });
            let _ = outcome_tx.send(outcome);
        }));
        // Inside block_in_place blocking is allowed: every way of ending returns.
        recv(&outcome, "the runtime's end").expect("the runtime ended inside block_in_place");
    }
}

fn runtime_ended_in_a_blocking_thread(flavor: Flavor) {
    for how in ENDS {
        let rt = Rt::new(flavor).into_runtime();
        let rt_cell = Arc::new(Mutex::new(Some(rt)));
        let inside = rt_cell.clone();
        let (outcome_tx, outcome) = mpsc::channel();
        let handle = rt_cell.lock().unwrap().as_ref().unwrap().handle().clone();
        drop(handle.spawn_blocking(move || {
            let rt = inside.lock().unwrap().take().expect("the runtime");
            let _ = outcome_tx.send(panics(|| end(Rt::Runtime(rt), how)));
        }));
        recv(&outcome, "the runtime's end").expect("a blocking thread may end its runtime");
    }
}

fn runtime_ended_in_a_thread_local_destructor(flavor: Flavor) {
    struct EndsOnExit(Option<Rt>, End, mpsc::Sender<Result<(), String>>);
    impl Drop for EndsOnExit {
        fn drop(&mut self) {
            if let Some(rt) = self.0.take() {
                let _ = self.2.send(panics(|| end(rt, self.1)));
            }
        }
    }
    thread_local! {
        static HOLDER: RefCell<Option<EndsOnExit>> = const { RefCell::new(None) };
    }
    for how in ENDS {
        let (outcome_tx, outcome) = mpsc::channel();
        let thread = thread::spawn(move || {
            let rt = Rt::new(flavor);
            still_works(&rt);
            HOLDER.with(|h| *h.borrow_mut() = Some(EndsOnExit(Some(rt), how, outcome_tx)));
        });
        recv(&outcome, "the runtime's end").expect("ended during thread exit");
        thread.join().expect("the thread exits");
    }
}

fn runtime_ended_in_another_runtimes_task(flavor: Flavor) {
    for how in ENDS {
        let outer = Rt::new(Flavor::MultiThread1);
        let (outcome_tx, outcome) = mpsc::channel();
        if flavor == Flavor::Local {
            // A LocalRuntime never leaves its thread: built and ended inside the task.
            drop(outer.spawn(async move {
                let outcome = panics(|| {
                    let rt = Rt::new(Flavor::Local);
                    end(rt, how)
                });
                let _ = outcome_tx.send(outcome);
            }));
        } else {
            let rt = Rt::new(flavor).into_runtime();
            drop(outer.spawn(async move {
                let _ = outcome_tx.send(panics(|| end(Rt::Runtime(rt), how)));
            }));
        }
        assert_async_end(how, recv(&outcome, "the runtime's end"));
        still_works(&outer);
        shut_down(outer);
    }
}

// ---------------------------------------------------------------------------------------------
// Rows: block_in_place in unusual places

/// On a multi-thread runtime `block_in_place` runs its closure; on a current-thread one it
/// panics (as in tokio), and that is the task's error.
fn expect_block_in_place<T: std::fmt::Debug + PartialEq>(
    flavor: Flavor,
    result: Result<T, JoinError>,
    value: T,
) {
    if flavor.is_multi_thread() {
        assert_eq!(result.expect("the task completes"), value);
    } else {
        let error = result.expect_err("block_in_place on a current-thread runtime panics");
        assert!(error.is_panic());
        let message = message(&*error.into_panic());
        assert!(message.contains("can call blocking only"), "{message}");
    }
}

fn block_in_place_in_select(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let task = rt.spawn(async {
        minirt::select! {
            v = async { minirt::task::block_in_place(|| { thread::sleep(ms(20)); 5 }) } => v,
            _ = sleep(Duration::from_secs(3600)) => 0,
        }
    });
    expect_block_in_place(flavor, rt.block_on(task), 5);
    still_works(&rt);
    shut_down(rt);
}

fn block_in_place_in_join(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let task = rt.spawn(async {
        minirt::join!(
            async {
                minirt::task::block_in_place(|| {
                    thread::sleep(ms(20));
                    1
                })
            },
            async {
                sleep(ms(5)).await;
                2
            },
        )
    });
    expect_block_in_place(flavor, rt.block_on(task), (1, 2));
    still_works(&rt);
    shut_down(rt);
}

fn block_in_place_in_local_set(flavor: Flavor) {
    let rt = Rt::new(flavor);
    let local = minirt::task::LocalSet::new();
    let result = rt.block_on(local.run_until(async {
        minirt::task::spawn_local(async { minirt::task::block_in_place(|| 3) }).await
    }));
    // On every flavor the local task runs off a worker thread (`block_on`'s), where blocking
    // would stall the set's other tasks: `block_in_place` panics there, as tokio's does.
    let error = result.expect_err("block_in_place in a LocalSet panics");
    assert!(error.is_panic());
    let message = message(&*error.into_panic());
    assert!(message.contains("can call blocking only"), "{message}");
    still_works(&rt);
    shut_down(rt);
}

fn block_in_place_in_another_runtimes_context(flavor: Flavor) {
    for other_flavor in [Flavor::CurrentThread, Flavor::MultiThread4] {
        let rt = Rt::new(flavor);
        let other = Rt::new(other_flavor);
        let other_handle = other.handle().clone();
        let task = rt.spawn(async move {
            let _in_other = other_handle.enter();
            minirt::task::block_in_place(|| 7)
        });
        let result = rt.block_on(task);
        expect_block_in_place(flavor, result, 7);
        still_works(&rt);
        still_works(&other);
        shut_down(rt);
        shut_down(other);
    }
}

// ---------------------------------------------------------------------------------------------
// Row: registration racing shutdown

/// A blocking thread registers a socket while the runtime shuts down: the registration either
/// fails or is failed by the shutdown, so the read waiting on it ends and the runtime's drop
/// (which waits for blocking threads) returns.
fn registration_racing_shutdown(flavor: Flavor) {
    use std::sync::atomic::AtomicBool;
    // Fewer under valgrind, say (`FAULT_MATRIX_RACE_ROUNDS=20`).
    let rounds = std::env::var("FAULT_MATRIX_RACE_ROUNDS").ok().and_then(|n| n.parse().ok());
    for round in 0..rounds.unwrap_or(500u32) {
        let rt = Rt::new(flavor);
        let dropping = Arc::new(AtomicBool::new(false));
        let go = dropping.clone();
        let (started_tx, started) = mpsc::channel();
        let handle = rt.handle().clone();
        drop(rt.handle().spawn_blocking(move || {
            let _ = started_tx.send(());
            while !go.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            let _in = handle.enter();
            // Registers sockets until the shutdown refuses one: some registration is in
            // flight at the moment the shutdown sets its flag.
            let mut pairs = Vec::new();
            while let Ok(pair) = UnixStream::pair() {
                pairs.push(pair);
                if pairs.len() >= 5000 {
                    break;
                }
            }
            for (_a, mut b) in pairs {
                let mut buf = [0u8; 1];
                // Nothing is ever written: only the shutdown can end this read.
                let _ = futures::executor::block_on(b.read(&mut buf));
            }
        }));
        recv(&started, "the blocking closure started");
        let (dropped_tx, dropped) = mpsc::channel();
        // Dropped on a thread of its own (but a `LocalRuntime`, which cannot leave this one),
        // so that a drop that never returns fails this cell instead of hanging it.
        match rt {
            Rt::Runtime(rt) => {
                thread::spawn(move || {
                    dropping.store(true, Ordering::SeqCst);
                    drop(rt);
                    let _ = dropped_tx.send(());
                });
            }
            Rt::Local(rt) => {
                dropping.store(true, Ordering::SeqCst);
                drop(rt);
                let _ = dropped_tx.send(());
            }
        }
        if dropped.recv_timeout(Duration::from_secs(10)).is_err() {
            panic!(
                "round {round}: the runtime's drop never returned (a registration missed the \
                 shutdown, and the read waiting on it never ends)"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The cells (docs/FAULTS.md has the table)

cells!(future_panics_in_poll: current_thread, multi_thread_1, multi_thread_4, local);
cells!(future_panics_in_drop: current_thread, multi_thread_1, multi_thread_4, local);
cells!(output_panics_in_drop: current_thread, multi_thread_1, multi_thread_4, local);
cells!(waker_panics_in_wake_on_timer: current_thread, multi_thread_1, multi_thread_4, local);
cells!(waker_panics_in_wake_on_io: current_thread, multi_thread_1, multi_thread_4, local);
cells!(waker_panics_in_wake_on_join: current_thread, multi_thread_1, multi_thread_4, local);
cells!(waker_panics_in_wake_by_ref: current_thread, multi_thread_1, multi_thread_4, local);
cells!(waker_panics_in_clone: current_thread, multi_thread_1, multi_thread_4, local);
cells!(waker_panics_in_drop: current_thread, multi_thread_1, multi_thread_4, local);
cells!(blocked_poll_others_run: multi_thread_4);
cells!(
    blocked_poll_shutdown_timeout:
    multi_thread_1,
    multi_thread_4,
);
cells!(
    blocked_poll_shutdown_background:
    multi_thread_1,
    multi_thread_4,
);
cells!(runtime_ended_in_its_own_task: multi_thread_1, multi_thread_4);
cells!(
    runtime_ended_in_block_in_place:
    current_thread,
    multi_thread_1,
    multi_thread_4,
    local,
);
cells!(runtime_ended_in_a_blocking_thread: current_thread, multi_thread_1, multi_thread_4);
cells!(runtime_ended_in_a_thread_local_destructor: current_thread, multi_thread_1, multi_thread_4, local);
cells!(runtime_ended_in_another_runtimes_task: current_thread, multi_thread_1, multi_thread_4, local);
cells!(block_in_place_in_select: current_thread, multi_thread_1, multi_thread_4, local);
cells!(block_in_place_in_join: current_thread, multi_thread_1, multi_thread_4, local);
cells!(block_in_place_in_local_set: current_thread, multi_thread_1, multi_thread_4, local);
cells!(
    block_in_place_in_another_runtimes_context:
    current_thread,
    multi_thread_1,
    multi_thread_4,
    local,
);
cells!(registration_racing_shutdown: current_thread, multi_thread_1, multi_thread_4, local);
