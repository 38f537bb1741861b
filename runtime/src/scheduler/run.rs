//! [`run`]: how every loop runs one task, timed by the slow-poll detector while it is on.

use crate::scheduler::task::TaskRef;
use crate::slow_poll;

/// Runs one task (a poll, or the drop of a cancelled one): every loop runs its tasks through
/// here, so the slow-poll detector times them when it is on. The check is here and not in
/// `Task::run`, where it made the function too big for LLVM to inline the future's poll
/// (callgrind, yield_many on the current-thread runtime: +4.7 % instructions).
#[inline(always)]
pub(crate) fn run(task: TaskRef) {
    run_counted(task, || None);
}

/// `run`, for a loop that can say, for the console, which loop it is and how many tasks wait
/// behind this one (`queued`, called only on the polls the hooks time): the current-thread
/// loop, whose queue is its thread's own.
#[inline(always)]
pub(crate) fn run_counted(task: TaskRef, queued: fn() -> Option<(usize, usize)>) {
    if slow_poll::enabled() {
        task.run_timed(queued);
    } else {
        task.run();
    }
}
