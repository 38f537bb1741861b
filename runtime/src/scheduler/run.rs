//! [`run`]: how every loop runs one task, timed by the slow-poll detector while it is on.

use crate::scheduler::task::TaskRef;
use crate::slow_poll;

/// Runs one task (a poll, or the drop of a cancelled one): every loop runs its tasks through
/// here, so the slow-poll detector times them when it is on. The check is here and not in
/// `Task::run`, where it made the function too big for LLVM to inline the future's poll
/// (callgrind, yield_many on the current-thread runtime: +4.7 % instructions).
#[inline(always)]
pub(crate) fn run(task: TaskRef) {
    if slow_poll::enabled() {
        run_timed(task);
    } else {
        task.run();
    }
}

#[cold]
#[inline(never)]
fn run_timed(task: TaskRef) {
    let local_queue = super::current_thread::local_queue();
    // Ends the timing when `run` returns, and if it unwinds (it catches the future's panics;
    // this is for a bug of minirt's).
    let _timer = slow_poll::PollTimer::start(task.id().as_u64(), local_queue);
    task.run();
}
