//! A handler the program installed before minirt's is chained the way the kernel would have
//! called it without minirt: `SA_SIGINFO` or the one-argument form, once only under
//! `SA_RESETHAND`, under its own `sa_mask` and with its signal blocked unless `SA_NODEFER`;
//! `SIG_IGN` and `SIG_DFL` are not chained at all.
//!
//! Each test installs a libc handler with the flags under test first, then listens with
//! minirt, and raises its own real-time signal (no other test of this binary uses it).
//! `raise` sends to the calling thread, so the handlers have run when it returns. The previous
//! handlers record, per signal number, how often they ran and which signals were blocked.

mod common;

use std::io;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::thread;

use common::must_complete;
use minirt::signal::unix::{signal, Signal, SignalKind};

const NSIG: usize = 65;

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicUsize = AtomicUsize::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicI32 = AtomicI32::new(0);

/// Per signal number: calls of the previous handler.
static CALLS: [AtomicUsize; NSIG] = [ZERO; NSIG];
/// Per signal number: calls during which the signal itself was blocked.
static SELF_BLOCKED: [AtomicUsize; NSIG] = [ZERO; NSIG];
/// Per signal number: another signal the test expects blocked during the call (0: none) ...
static WATCHED: [AtomicI32; NSIG] = [NONE; NSIG];
/// ... and the calls during which it was.
static WATCHED_BLOCKED: [AtomicUsize; NSIG] = [ZERO; NSIG];
/// Per signal number: calls whose siginfo named this signal and this process as the sender.
static INFO_MATCHED: [AtomicUsize; NSIG] = [ZERO; NSIG];

/// The calling thread's signal mask.
fn current_mask() -> libc::sigset_t {
    // SAFETY: all-zero is a valid sigset_t for the kernel to overwrite.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a null `set` only reads the mask (async-signal-safe).
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set) };
    set
}

fn is_member(set: &libc::sigset_t, signum: libc::c_int) -> bool {
    // SAFETY: `set` is a valid sigset_t.
    unsafe { libc::sigismember(set, signum) == 1 }
}

/// What both previous handlers record (only atomics and async-signal-safe calls).
fn record(signum: libc::c_int) {
    let Some(slot) = usize::try_from(signum).ok().filter(|&slot| slot < NSIG) else {
        return;
    };
    let mask = current_mask();
    if is_member(&mask, signum) {
        SELF_BLOCKED[slot].fetch_add(1, Ordering::SeqCst);
    }
    let watched = WATCHED[slot].load(Ordering::SeqCst);
    if watched != 0 && is_member(&mask, watched) {
        WATCHED_BLOCKED[slot].fetch_add(1, Ordering::SeqCst);
    }
    CALLS[slot].fetch_add(1, Ordering::SeqCst);
}

extern "C" fn plain_handler(signum: libc::c_int) {
    record(signum);
}

extern "C" fn info_handler(
    signum: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel (through minirt's chain) passes the delivery's siginfo.
    let (signo, pid) = unsafe { ((*info).si_signo, (*info).si_pid()) };
    // SAFETY: getpid cannot fail and is async-signal-safe.
    if signo == signum && pid == unsafe { libc::getpid() } {
        INFO_MATCHED[signum as usize].fetch_add(1, Ordering::SeqCst);
    }
    record(signum);
}

/// `SIGRTMIN + n`, this test's own signal.
fn rt_signal(n: libc::c_int) -> libc::c_int {
    let signum = libc::SIGRTMIN() + n;
    assert!(signum <= libc::SIGRTMAX());
    signum
}

/// Installs `handler` for `signum` with `flags` and `mask`, as a program would before minirt.
fn install_previous(signum: libc::c_int, handler: usize, flags: libc::c_int, mask: &[libc::c_int]) {
    // SAFETY: all-zero is a valid sigaction; the fields that matter are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = flags;
    // SAFETY: `action.sa_mask` is a valid sigset_t.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    for &blocked in mask {
        // SAFETY: as above, and `blocked` is a valid signal number.
        assert_eq!(unsafe { libc::sigaddset(&mut action.sa_mask, blocked) }, 0);
    }
    // SAFETY: `action` is initialised; the handlers only touch atomics and the signal mask.
    let ret = unsafe { libc::sigaction(signum, &action, std::ptr::null_mut()) };
    assert_eq!(ret, 0, "sigaction({signum}): {}", io::Error::last_os_error());
}

fn plain() -> usize {
    plain_handler as extern "C" fn(_) as usize
}

fn with_info() -> usize {
    info_handler as extern "C" fn(_, _, _) as usize
}

/// Raises `signum` on this thread: every handler has run when this returns.
fn raise(signum: libc::c_int) {
    // SAFETY: raise with a valid signal number, for which a handler is installed.
    let ret = unsafe { libc::raise(signum) };
    assert_eq!(ret, 0, "raise({signum}): {}", io::Error::last_os_error());
}

/// Raises `signum` `times` times, one at a time, each seen by `listener` (minirt's handler
/// stays installed whatever the previous one was).
async fn raise_and_receive(listener: &mut Signal, signum: libc::c_int, times: usize) {
    for _ in 0..times {
        raise(signum);
        assert_eq!(must_complete("recv", listener.recv()).await, Some(()));
    }
}

fn calls(signum: libc::c_int) -> usize {
    CALLS[signum as usize].load(Ordering::SeqCst)
}

/// The common case keeps working: a plain handler runs at every delivery, with its signal
/// blocked, and the thread's mask is what it was once the handlers return.
#[minirt::test]
async fn a_plain_previous_handler_runs_every_time_with_its_signal_blocked() {
    let signum = rt_signal(1);
    install_previous(signum, plain(), 0, &[]);
    let mut listener = signal(SignalKind::from_raw(signum)).expect("signal");
    let before = current_mask();
    raise_and_receive(&mut listener, signum, 3).await;
    assert_eq!(calls(signum), 3);
    assert_eq!(SELF_BLOCKED[signum as usize].load(Ordering::SeqCst), 3);
    assert_eq!(is_member(&current_mask(), signum), is_member(&before, signum));
}

/// `SA_SIGINFO`: the three-argument handler gets the delivery's own siginfo.
#[minirt::test]
async fn a_siginfo_previous_handler_gets_the_siginfo() {
    let signum = rt_signal(2);
    install_previous(signum, with_info(), libc::SA_SIGINFO, &[]);
    let mut listener = signal(SignalKind::from_raw(signum)).expect("signal");
    raise_and_receive(&mut listener, signum, 2).await;
    assert_eq!(calls(signum), 2);
    assert_eq!(INFO_MATCHED[signum as usize].load(Ordering::SeqCst), 2, "si_signo and si_pid");
}

/// `SA_RESETHAND`: the previous handler was one-shot; the kernel would have run it at the
/// first delivery and then reset the signal to `SIG_DFL`, which is not chained. minirt's
/// listener keeps receiving every delivery.
#[minirt::test]
async fn a_one_shot_previous_handler_runs_once() {
    let signum = rt_signal(3);
    install_previous(signum, plain(), libc::SA_RESETHAND, &[]);
    let mut listener = signal(SignalKind::from_raw(signum)).expect("signal");
    raise_and_receive(&mut listener, signum, 3).await;
    assert_eq!(calls(signum), 1, "a one-shot handler runs at the first delivery only");
}

/// `SA_RESETHAND | SA_SIGINFO`, with deliveries racing on four threads at once: still exactly
/// one call (the kernel resets the disposition as it delivers, so only one delivery finds the
/// handler), with the three-argument form.
#[minirt::test]
async fn a_one_shot_previous_handler_runs_once_across_threads() {
    let signum = rt_signal(4);
    install_previous(signum, with_info(), libc::SA_RESETHAND | libc::SA_SIGINFO, &[]);
    let mut listener = signal(SignalKind::from_raw(signum)).expect("signal");
    let raisers: Vec<_> =
        (0..4).map(|_| thread::spawn(move || (0..25).for_each(|_| raise(signum)))).collect();
    for raiser in raisers {
        raiser.join().expect("raiser");
    }
    assert_eq!(must_complete("recv", listener.recv()).await, Some(()));
    assert_eq!(calls(signum), 1, "one call across 100 racing deliveries");
    assert_eq!(INFO_MATCHED[signum as usize].load(Ordering::SeqCst), 1);
}

/// `SA_NODEFER`: the kernel would have run the previous handler with its own signal
/// unblocked (so a new delivery interrupts it); minirt's handler runs with it blocked, and
/// unblocks it for the chained call. The thread's mask is restored afterwards.
#[minirt::test]
async fn a_nodefer_previous_handler_runs_with_its_signal_unblocked() {
    let signum = rt_signal(5);
    install_previous(signum, plain(), libc::SA_NODEFER, &[]);
    let mut listener = signal(SignalKind::from_raw(signum)).expect("signal");
    let before = current_mask();
    raise_and_receive(&mut listener, signum, 2).await;
    assert_eq!(calls(signum), 2);
    assert_eq!(SELF_BLOCKED[signum as usize].load(Ordering::SeqCst), 0, "SA_NODEFER");
    assert_eq!(is_member(&current_mask(), signum), is_member(&before, signum));
}

/// The previous handler's `sa_mask` is blocked while it runs (and only then), as the kernel
/// would have blocked it.
#[minirt::test]
async fn the_previous_sa_mask_is_blocked_while_it_runs() {
    let signum = rt_signal(6);
    let watched = rt_signal(7);
    WATCHED[signum as usize].store(watched, Ordering::SeqCst);
    install_previous(signum, plain(), 0, &[watched]);
    let mut listener = signal(SignalKind::from_raw(signum)).expect("signal");
    assert!(!is_member(&current_mask(), watched));
    raise_and_receive(&mut listener, signum, 2).await;
    assert_eq!(calls(signum), 2);
    assert_eq!(WATCHED_BLOCKED[signum as usize].load(Ordering::SeqCst), 2, "sa_mask blocked");
    assert!(!is_member(&current_mask(), watched), "and unblocked after");
}

/// `SIG_IGN` and `SIG_DFL` before minirt: nothing is chained (the default of a real-time
/// signal is to terminate the process, which the test would not survive), and the listener
/// receives every delivery.
#[minirt::test]
async fn previous_sig_ign_and_sig_dfl_are_not_chained() {
    for (n, disposition) in [(8, libc::SIG_IGN), (9, libc::SIG_DFL)] {
        let signum = rt_signal(n);
        install_previous(signum, disposition, 0, &[]);
        let mut listener = signal(SignalKind::from_raw(signum)).expect("signal");
        raise_and_receive(&mut listener, signum, 2).await;
    }
}
