//! Every signal is seen: thousands of deliveries at random moments, each of which a waiter must
//! report, on both flavors, from the `block_on` future and from a spawned task, through
//! `signal(..).recv()` and through a fresh `ctrl_c()` per delivery.
//!
//! The path under test runs from the handler (flag, then a byte into the self-pipe) through
//! epoll, the registry's dispatch and the waiter list, to the waiter's wake-up and its check of
//! the generation. A lost wake-up anywhere on it leaves a delivery unreported.
//!
//! Deliveries coalesce, so a sender thread sends one at a time: it waits until the waiter is
//! ready for delivery `n` (its listener exists: `ctrl_c` creates one at its first poll), pauses
//! for a random while (nothing, a spin, a yield, a sleep of up to 2 ms, so the runtime's threads
//! are caught running, parking, or parked in `epoll_wait` or in `block_on`), sends the signal
//! to a random thread (process-directed with `kill`, to itself with `raise`, or to one of the
//! runtime's threads with `tgkill`), and waits until the waiter reports delivery `n`. The waiter
//! also pauses at random between two `recv`s, so a delivery lands before its `recv` is polled
//! as well. A report missing after 10 s fails the test with the round, the delivery and the
//! seed; a second report for one delivery fails it too.
//!
//! `MINIRT_SIGNAL_STRESS_ROUNDS` sets the deliveries per test (default 2000); each test has a
//! signal of its own.

mod common;

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use futures_util::future::{select, Either};
use minirt::runtime::{Builder, Runtime};
use minirt::signal::unix::{signal, Signal, SignalKind};

use common::watchdog;

/// How long a delivery may take to be reported before it counts as lost.
const REPORT_LIMIT: Duration = Duration::from_secs(10);

fn rounds() -> usize {
    std::env::var("MINIRT_SIGNAL_STRESS_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(2000)
}

/// xorshift64*: a seeded, reproducible source of "random moments".
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64)
        .unwrap_or(0);
    std::env::var("MINIRT_SIGNAL_STRESS_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(nanos)
}

/// The kernel's id of the calling thread (what `tgkill` takes).
fn gettid() -> libc::pid_t {
    // SAFETY: gettid cannot fail.
    unsafe { libc::gettid() }
}

/// A pause of a random kind and length on a plain thread; returns what it did, for messages.
fn thread_pause(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 | 1 => "no pause".to_string(),
        2 => {
            let spins = rng.below(50_000);
            for _ in 0..spins {
                std::hint::spin_loop();
            }
            format!("{spins} spins")
        }
        3 => {
            thread::yield_now();
            "a yield".to_string()
        }
        4..=6 => {
            let micros = rng.below(300);
            thread::sleep(Duration::from_micros(micros));
            format!("{micros} us")
        }
        _ => {
            let micros = 300 + rng.below(1700);
            thread::sleep(Duration::from_micros(micros));
            format!("{micros} us")
        }
    }
}

/// Sends `signum` one way or another; returns how, for messages.
fn deliver(signum: libc::c_int, rng: &mut Rng, targets: &Mutex<Vec<libc::pid_t>>) -> String {
    // Each call below sends a valid signal number, for which minirt's handler is installed
    // before the first delivery (the waiter's listener exists when the sender is told to go).
    match rng.below(3) {
        0 => {
            // SAFETY: see above.
            let ret = unsafe { libc::kill(libc::getpid(), signum) };
            assert_eq!(ret, 0, "kill: {}", io::Error::last_os_error());
            "kill(getpid())".to_string()
        }
        1 => {
            // SAFETY: see above.
            let ret = unsafe { libc::raise(signum) };
            assert_eq!(ret, 0, "raise: {}", io::Error::last_os_error());
            "raise() on the sender".to_string()
        }
        _ => {
            let tids = targets.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let tid = tids[rng.below(tids.len() as u64) as usize];
            // SAFETY: tgkill to a thread of this process (a runtime thread, alive while the
            // runtime is: ESRCH if it has exited, which then falls back to `kill`).
            let ret = unsafe {
                libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, signum as libc::c_long)
            };
            if ret != 0 {
                let err = io::Error::last_os_error();
                assert_eq!(err.raw_os_error(), Some(libc::ESRCH), "tgkill: {err}");
                // SAFETY: as for `kill` above.
                let ret = unsafe { libc::kill(libc::getpid(), signum) };
                assert_eq!(ret, 0, "kill: {}", io::Error::last_os_error());
            }
            format!("tgkill(thread {tid})")
        }
    }
}

/// What the waiter listens with.
enum Source {
    /// One listener for the whole test, created before the first delivery.
    Listener(Signal),
    /// A fresh `ctrl_c()` per delivery (SIGINT).
    CtrlC,
}

impl Source {
    /// Waits for one delivery; tells the sender (`ready`) once a delivery would be seen.
    async fn next(&mut self, round: usize, ready: &mpsc::Sender<usize>, rng: &mut Rng) {
        match self {
            Source::Listener(listener) => {
                // The listener sees every delivery after its creation, also one that lands
                // before this recv is polled (the pause below lets that happen).
                let _ = ready.send(round);
                async_pause(rng).await;
                assert_eq!(listener.recv().await, Some(()), "the runtime is alive");
            }
            Source::CtrlC => {
                async_pause(rng).await;
                let mut ctrl_c = pin!(minirt::signal::ctrl_c());
                // `ctrl_c` listens from its first poll on: only then may the sender send.
                let first = poll_fn(|cx| Poll::Ready(ctrl_c.as_mut().poll(cx))).await;
                assert!(first.is_pending(), "ctrl_c completed before any SIGINT was sent");
                let _ = ready.send(round);
                ctrl_c.await.expect("ctrl_c");
            }
        }
    }
}

/// A pause of a random kind inside the waiter: nothing, a spin, a `yield_now`, or a short
/// minirt sleep (the runtime parks with a timer).
async fn async_pause(rng: &mut Rng) {
    match rng.below(6) {
        0 | 1 => {}
        2 => (0..rng.below(20_000)).for_each(|_| std::hint::spin_loop()),
        3 => minirt::task::yield_now().await,
        _ => minirt::time::sleep(Duration::from_micros(rng.below(200))).await,
    }
}

/// The waiter's loop: `rounds` deliveries, each reported to the sender as soon as it is seen.
async fn wait_all(
    mut source: Source,
    rounds: usize,
    ready: mpsc::Sender<usize>,
    seen: mpsc::Sender<usize>,
    seed: u64,
) {
    let mut rng = Rng::new(seed.rotate_left(17));
    for round in 1..=rounds {
        source.next(round, &ready, &mut rng).await;
        let _ = seen.send(round);
    }
}

/// The sender's loop; `Err` names the first delivery that was not reported as it should be.
fn send_all(
    signum: libc::c_int,
    rounds: usize,
    ready: mpsc::Receiver<usize>,
    seen: mpsc::Receiver<usize>,
    targets: &Mutex<Vec<libc::pid_t>>,
    seed: u64,
) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    for round in 1..=rounds {
        match ready.recv_timeout(REPORT_LIMIT) {
            Ok(n) if n == round => {}
            other => return Err(format!("round {round}: the waiter was not ready ({other:?})")),
        }
        let pause = thread_pause(&mut rng);
        let how = deliver(signum, &mut rng, targets);
        let sent = Instant::now();
        match seen.recv_timeout(REPORT_LIMIT) {
            Ok(n) if n == round => {}
            Ok(n) => return Err(format!("round {round}: the waiter reported delivery {n}")),
            Err(_) => {
                return Err(format!(
                    "delivery {round} of {rounds} (after {pause}, by {how}) was not reported \
                     within {:?}: a lost wake-up (seed {seed})",
                    sent.elapsed()
                ))
            }
        }
    }
    // One delivery, one report: nothing more may come.
    match seen.recv_timeout(Duration::from_millis(50)) {
        Ok(n) => Err(format!("a report ({n}) with no delivery")),
        Err(_) => Ok(()),
    }
}

/// Where the waiter runs.
#[derive(Clone, Copy, Debug)]
enum Waiter {
    /// The `block_on` future itself (on a multi-thread runtime: the main thread parked in
    /// `block_on`, the workers in `epoll_wait`).
    BlockOn,
    /// A spawned task, whose handle the `block_on` future awaits.
    Spawned,
}

/// A listener for `signum` in a runtime of its own, on a thread of its own, that receives
/// and ignores every delivery until the returned sender is dropped. It competes with the
/// waiter: when its dispatch drains the byte of a delivery first, the waiter's epoll finds
/// the pipe empty and only the registry's wake-up tells the waiter.
fn bystander(
    signum: libc::c_int,
) -> (futures_channel::oneshot::Sender<()>, thread::JoinHandle<()>) {
    let (stop_tx, stop_rx) = futures_channel::oneshot::channel::<()>();
    let (made_tx, made_rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let rt = Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let mut listener = signal(SignalKind::from_raw(signum)).expect("signal");
            let _ = made_tx.send(());
            let listening = async move { while listener.recv().await.is_some() {} };
            let _ = select(pin!(listening), stop_rx).await;
        });
    });
    made_rx.recv_timeout(REPORT_LIMIT).expect("the bystander listens");
    (stop_tx, thread)
}

/// One stress test: `signum`, listened to by `source()` on `runtime`, from `waiter`, with a
/// bystander listening too.
fn stress(
    name: &'static str,
    runtime: impl FnOnce(Arc<Mutex<Vec<libc::pid_t>>>) -> Runtime,
    signum: libc::c_int,
    source: impl FnOnce() -> Source + Send + 'static,
    waiter: Waiter,
) {
    let _watchdog = watchdog(name);
    let rounds = rounds();
    let seed = seed();
    // The threads a delivery may target: the runtime's, and the one in block_on.
    let targets = Arc::new(Mutex::new(vec![gettid()]));
    let rt = runtime(targets.clone());
    let (stop_bystander, bystander) = bystander(signum);
    let (ready_tx, ready_rx) = mpsc::channel();
    let (seen_tx, seen_rx) = mpsc::channel();
    let (failed_tx, failed_rx) = futures_channel::oneshot::channel::<String>();
    let sender = {
        let targets = targets.clone();
        thread::spawn(move || {
            // The listener exists before the first delivery (the waiter made it).
            let outcome = send_all(signum, rounds, ready_rx, seen_rx, &targets, seed);
            if let Err(failure) = &outcome {
                let _ = failed_tx.send(failure.clone());
            }
            outcome
        })
    };
    rt.block_on(async move {
        let waiting = async move {
            let source = source();
            match waiter {
                Waiter::BlockOn => wait_all(source, rounds, ready_tx, seen_tx, seed).await,
                Waiter::Spawned => {
                    minirt::spawn(wait_all(source, rounds, ready_tx, seen_tx, seed))
                        .await
                        .expect("the waiting task");
                }
            }
        };
        match select(pin!(waiting), failed_rx).await {
            Either::Left(((), _)) => {}
            Either::Right((Ok(failure), _)) => panic!("{name}: {failure}"),
            Either::Right((Err(_), waiting)) => waiting.await,
        }
    });
    drop(stop_bystander);
    bystander.join().expect("the bystander");
    let outcome = sender.join().expect("the sender thread");
    if let Err(failure) = outcome {
        panic!("{name}: {failure}");
    }
    drop(rt);
}

fn current_thread(_targets: Arc<Mutex<Vec<libc::pid_t>>>) -> Runtime {
    Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn multi_thread(targets: Arc<Mutex<Vec<libc::pid_t>>>) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || targets.lock().unwrap_or_else(|p| p.into_inner()).push(gettid()))
        .build()
        .expect("runtime")
}

fn listener(signum: libc::c_int) -> impl FnOnce() -> Source + Send + 'static {
    move || Source::Listener(signal(SignalKind::from_raw(signum)).expect("signal"))
}

#[test]
fn current_thread_block_on_sees_every_signal() {
    let signum = libc::SIGUSR1;
    stress("current_thread_block_on", current_thread, signum, listener(signum), Waiter::BlockOn);
}

#[test]
fn current_thread_task_sees_every_signal() {
    let signum = libc::SIGUSR2;
    stress("current_thread_task", current_thread, signum, listener(signum), Waiter::Spawned);
}

#[test]
fn multi_thread_block_on_sees_every_signal() {
    let signum = libc::SIGRTMIN() + 1;
    stress("multi_thread_block_on", multi_thread, signum, listener(signum), Waiter::BlockOn);
}

#[test]
fn multi_thread_task_sees_every_signal() {
    let signum = libc::SIGRTMIN() + 2;
    stress("multi_thread_task", multi_thread, signum, listener(signum), Waiter::Spawned);
}

/// The report this file started from: `ctrl_c()` awaited in `main`'s `block_on` on a
/// multi-thread runtime, a fresh `ctrl_c()` per SIGINT.
/// The two SIGINT tests take turns: each would see the other's deliveries.
static SIGINT_TESTS: Mutex<()> = Mutex::new(());

#[test]
fn multi_thread_block_on_ctrl_c_sees_every_sigint() {
    let _serial = SIGINT_TESTS.lock().unwrap_or_else(|p| p.into_inner());
    stress("multi_thread_ctrl_c", multi_thread, libc::SIGINT, || Source::CtrlC, Waiter::BlockOn);
}

/// `ctrl_c()` in a task of a current-thread runtime.
#[test]
fn current_thread_task_ctrl_c_sees_every_sigint() {
    let _serial = SIGINT_TESTS.lock().unwrap_or_else(|p| p.into_inner());
    stress(
        "current_thread_ctrl_c",
        current_thread,
        libc::SIGINT,
        || Source::CtrlC,
        Waiter::Spawned,
    );
}
