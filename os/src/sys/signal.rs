//! The raw, process-wide half of signal handling: the one self-pipe, the `sigaction`
//! installation, and the handler itself. Everything the handler touches is an atomic or a
//! syscall on a raw fd, because it may interrupt any thread at any instruction (even one that
//! holds a lock, or is inside `malloc`).
//!
//! ```text
//!  kill(pid, SIGUSR1)
//!   └─ kernel runs `handler(SIGUSR1)` on some thread of the process
//!       ├─ PENDING[SIGUSR1] = true                (an AtomicBool per signal number)
//!       ├─ write(WRITE_FD, [SIGUSR1])             (one byte; EAGAIN when full is ignored)
//!       └─ the handler that was installed before ours, if it was a function, called as the
//!          kernel would have called it (see `chain`)
//!   the pipe's read end turns readable: every epoll watching it gets an event
//!   (`signal::registry::dispatch` drains it and turns PENDING flags into generations)
//! ```
//!
//! Chaining honours the previous disposition's `sa_flags` and `sa_mask`, so a program (or a
//! library) that had a handler before minirt sees the same calls it saw without minirt:
//! `SA_SIGINFO` picks the three-argument call; `SA_RESETHAND` makes it one-shot (the first
//! delivery calls it, on one thread only, and resets the previous disposition to `SIG_DFL`,
//! which is not chained, as the kernel would have reset it); the previous `sa_mask`, and this
//! signal itself unless `SA_NODEFER`, are blocked while it runs, exactly the mask the kernel
//! gives a handler. `SIG_DFL` and `SIG_IGN` are never chained: replacing them is the point of
//! listening.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{cvt, cvt_r};

/// Signal numbers are `1..NSIG` on Linux (64 signals, the real-time ones included).
pub(crate) const NSIG: usize = 65;

/// Signals a program must not catch: the kernel forbids the first two, and a handler that
/// merely sets a flag and returns from the others would re-run the faulting instruction forever.
const FORBIDDEN: [libc::c_int; 6] =
    [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

// `const` items let a `static` array repeat a non-`Copy` atomic (the MSRV predates inline const).
#[allow(clippy::declare_interior_mutable_const)]
const NOT_PENDING: AtomicBool = AtomicBool::new(false);
#[allow(clippy::declare_interior_mutable_const)]
const NO_HANDLER: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
#[allow(clippy::declare_interior_mutable_const)]
const NO_FLAGS: AtomicI32 = AtomicI32::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const NO_MASK: AtomicU64 = AtomicU64::new(0);

/// Set by the handler, taken (swapped back to `false`) by `take_pending`.
static PENDING: [AtomicBool; NSIG] = [NOT_PENDING; NSIG];

/// Whether our handler is installed for each signal (set once, under `INSTALL`).
static INSTALLED: [AtomicBool; NSIG] = [NOT_PENDING; NSIG];

/// The disposition each signal had before ours (`sa_sigaction`, `sa_flags`, and `sa_mask` as
/// one bit per signal, `1 << (signum - 1)`), written before our handler is installed, so the
/// handler always reads a complete set. The handler swaps a one-shot (`SA_RESETHAND`) handler
/// for `SIG_DFL` when it calls it.
static PREVIOUS_HANDLER: [AtomicUsize; NSIG] = [NO_HANDLER; NSIG];
static PREVIOUS_FLAGS: [AtomicI32; NSIG] = [NO_FLAGS; NSIG];
static PREVIOUS_MASK: [AtomicU64; NSIG] = [NO_MASK; NSIG];

/// The self-pipe's write end as a raw fd for the handler, `-1` until the pipe exists.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The self-pipe, `(read end, write end)`, both non-blocking and close-on-exec. Never closed:
/// a handler may run at any moment for the rest of the process's life.
static PIPE: OnceLock<(OwnedFd, OwnedFd)> = OnceLock::new();

/// Serialises installation (never taken by the handler).
static INSTALL: Mutex<()> = Mutex::new(());

/// The slot of a signal number we can handle, or the error `signal()` returns.
pub(crate) fn slot(signum: libc::c_int) -> io::Result<usize> {
    let valid = usize::try_from(signum).ok().filter(|&slot| slot > 0 && slot < NSIG);
    match valid {
        Some(slot) if !FORBIDDEN.contains(&signum) => Ok(slot),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to register signal {signum}"),
        )),
    }
}

/// Installs the process-wide handler for `signum` (once; later calls return at once) and makes
/// sure the self-pipe exists.
pub(crate) fn install(signum: libc::c_int) -> io::Result<()> {
    let slot = slot(signum)?;
    if INSTALLED[slot].load(Ordering::Acquire) {
        return Ok(());
    }
    let _install = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if INSTALLED[slot].load(Ordering::Acquire) {
        return Ok(());
    }
    self_pipe()?;

    // SAFETY: an all-zero `sigaction` is a valid value (no handler, empty mask, no flags).
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null `act` only reads the current disposition into `old`, a valid sigaction.
    cvt(unsafe { libc::sigaction(signum, std::ptr::null(), &mut old) })?;
    PREVIOUS_HANDLER[slot].store(old.sa_sigaction, Ordering::Release);
    PREVIOUS_FLAGS[slot].store(old.sa_flags, Ordering::Release);
    PREVIOUS_MASK[slot].store(mask_bits(&old.sa_mask), Ordering::Release);

    // SAFETY: as above, all-zero is a valid sigaction; the fields we need are set below.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler as extern "C" fn(_, _, _) as usize;
    // SA_RESTART: a blocking syscall elsewhere in the program resumes instead of failing with
    // EINTR; SA_SIGINFO: the handler gets (and can pass on) the siginfo.
    new.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
    // SAFETY: `new.sa_mask` is a valid sigset_t to empty.
    unsafe { libc::sigemptyset(&mut new.sa_mask) };
    // SAFETY: `new` is a fully initialised sigaction whose handler is async-signal-safe.
    cvt(unsafe { libc::sigaction(signum, &new, std::ptr::null_mut()) })?;
    INSTALLED[slot].store(true, Ordering::Release);
    Ok(())
}

/// Creates the self-pipe on first use.
fn self_pipe() -> io::Result<&'static (OwnedFd, OwnedFd)> {
    if let Some(pipe) = PIPE.get() {
        return Ok(pipe);
    }
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    let pipe = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // Only called under `INSTALL`, so this `set` cannot lose a race.
    let pipe = PIPE.get_or_init(|| pipe);
    WRITE_FD.store(pipe.1.as_raw_fd(), Ordering::Release);
    Ok(pipe)
}

/// A new fd for the self-pipe's read end (a `dup`, sharing the non-blocking file description),
/// for one listener to register with its runtime's epoll. epoll tells registrations apart by
/// (file, fd) pair, so several dups of one pipe may sit in one epoll, each with its own waker.
pub(crate) fn dup_read_end() -> io::Result<OwnedFd> {
    let _install = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (read, _) = self_pipe()?;
    read.try_clone()
}

/// Reads everything in the self-pipe (through any of its read fds) until it is empty.
pub(crate) fn drain(read: BorrowedFd<'_>) {
    let mut buf = [0u8; 128];
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
    let mut read_some =
        || unsafe { libc::read(read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    // 0 cannot happen (we hold the write end forever); EAGAIN means empty.
    while matches!(cvt_r(&mut read_some), Ok(n) if n > 0) {}
}

/// Whether `slot`'s signal arrived since the last call; clears the flag.
pub(crate) fn take_pending(slot: usize) -> bool {
    PENDING[slot].swap(false, Ordering::SeqCst)
}

/// The handler for every signal we listen to. Async-signal-safe: atomics, `write(2)`, and the
/// previous handler (whose own safety is its author's promise). Saves and restores `errno`, which
/// `write` may change under the code it interrupted.
extern "C" fn handler(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: `__errno_location` returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    if let Some(slot) = usize::try_from(signum).ok().filter(|&slot| slot < NSIG) {
        // Flag first, byte second: whoever drains the pipe then takes the flags, so it sees
        // every flag whose byte it read.
        PENDING[slot].store(true, Ordering::SeqCst);
        let fd = WRITE_FD.load(Ordering::Acquire);
        if fd >= 0 {
            let byte = signum as u8;
            // SAFETY: `fd` is the pipe's write end, open for the life of the process; `byte`
            // is one readable byte. A full pipe (EAGAIN) already wakes its readers: ignored.
            // Raw, not through `cvt_r`: nothing to report from a handler, and `write` to a
            // non-blocking pipe does not block, so no signal can interrupt it (no `EINTR`).
            let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
        }
        chain(slot, signum, info, context);
    }
    // SAFETY: as above; restores the interrupted code's errno.
    unsafe { *libc::__errno_location() = errno };
}

/// Calls the handler the program had installed before ours, if it was a function (not
/// `SIG_DFL`, whose action — often "terminate" — is what the program asked us to replace, nor
/// `SIG_IGN`), the way the kernel would have called it had ours not been there: once only if it
/// was one-shot (`SA_RESETHAND`), with its own arguments (`SA_SIGINFO` or not), under the signal
/// mask the kernel would have set for it (its `sa_mask`, plus this signal unless `SA_NODEFER`).
fn chain(slot: usize, signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let previous = PREVIOUS_HANDLER[slot].load(Ordering::Acquire);
    if previous == libc::SIG_DFL || previous == libc::SIG_IGN {
        return;
    }
    let flags = PREVIOUS_FLAGS[slot].load(Ordering::Acquire);
    // One-shot: the kernel resets the disposition to SIG_DFL as it delivers the signal, so of
    // two deliveries racing on two threads only one runs the handler. The swap decides which.
    if flags & libc::SA_RESETHAND != 0
        && PREVIOUS_HANDLER[slot]
            .compare_exchange(previous, libc::SIG_DFL, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return;
    }
    let _mask = HandlerMask::apply(signum, PREVIOUS_MASK[slot].load(Ordering::Acquire), flags);
    // A cast to a raw pointer first: an integer straight to a function pointer has no provenance.
    let previous = previous as *mut ();
    if flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO, `sa_sigaction` is a three-argument handler (POSIX), and it
        // was installed by this process, so the address is a live function.
        let previous: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(previous) };
        previous(signum, info, context);
    } else {
        // SAFETY: without SA_SIGINFO, `sa_sigaction` holds a one-argument `sa_handler`.
        let previous: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
        previous(signum);
    }
}

/// While alive, the calling thread's signal mask is the one the kernel gives the previous
/// handler: ours (the interrupted code's mask plus `signum`, which the kernel blocked for our
/// handler, installed without `SA_NODEFER`) plus the previous `sa_mask`, minus `signum` if the
/// previous handler had `SA_NODEFER` (and its mask does not name it). Restores the mask on
/// drop. Nothing to do, and no syscall, for the common handler: empty mask, no `SA_NODEFER`.
struct HandlerMask(Option<libc::sigset_t>);

impl HandlerMask {
    fn apply(signum: libc::c_int, mask_bits: u64, flags: libc::c_int) -> HandlerMask {
        let unblock_self = flags & libc::SA_NODEFER != 0 && mask_bits & bit(signum) == 0;
        if mask_bits == 0 && !unblock_self {
            return HandlerMask(None);
        }
        let block = sigset_of(mask_bits);
        // SAFETY: all-zero is a valid sigset_t for the kernel to overwrite.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: both sets are valid; pthread_sigmask is async-signal-safe (signal-safety(7))
        // and cannot fail with a valid `how`.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old) };
        if unblock_self {
            let unblock = sigset_of(bit(signum));
            // SAFETY: as above. A delivery of `signum` pending on this thread now runs our
            // handler again, nested, as it would have run the previous one under SA_NODEFER.
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &unblock, std::ptr::null_mut()) };
        }
        HandlerMask(Some(old))
    }
}

impl Drop for HandlerMask {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            // SAFETY: `old` is the mask pthread_sigmask returned in `apply`.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
        }
    }
}

/// `signum`'s bit in a mask of `mask_bits`' form (signals `1..NSIG` as bits `0..64`).
fn bit(signum: libc::c_int) -> u64 {
    1u64.checked_shl(signum.wrapping_sub(1) as u32).unwrap_or(0)
}

/// The signals of `set`, as bits.
fn mask_bits(set: &libc::sigset_t) -> u64 {
    (1..NSIG as libc::c_int)
        // SAFETY: `set` is a valid sigset_t and `signum` a valid signal number.
        .filter(|&signum| unsafe { libc::sigismember(set, signum) } == 1)
        .fold(0, |bits, signum| bits | bit(signum))
}

/// A sigset_t holding the signals of `bits`. Async-signal-safe: sigemptyset and sigaddset are.
fn sigset_of(bits: u64) -> libc::sigset_t {
    // SAFETY: all-zero is a valid sigset_t, emptied below anyway.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for signum in 1..NSIG as libc::c_int {
        if bits & bit(signum) != 0 {
            // SAFETY: as above; a signal glibc reserves for itself is refused (EINVAL) and
            // stays out of the set, as sigaction would have left it out of the kernel's mask.
            unsafe { libc::sigaddset(&mut set, signum) };
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_and_out_of_range_signals_are_refused() {
        for signum in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL] {
            assert_eq!(slot(signum).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        }
        for signum in [-1, 0, NSIG as libc::c_int, 1000] {
            assert!(slot(signum).is_err(), "signal {signum}");
        }
        assert_eq!(slot(libc::SIGUSR1).ok(), Some(libc::SIGUSR1 as usize));
        assert_eq!(slot(libc::SIGRTMAX()).ok(), Some(libc::SIGRTMAX() as usize));
    }
}
