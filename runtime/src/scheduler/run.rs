//! [`run`]: how every loop runs one task (`Runnable::run`, which the slow-poll
//! detector and the console hook while they are on).

use crate::scheduler::task::TaskRef;
use crate::slow_poll::Hooks;

/// Runs one task (a poll, or the drop of a cancelled one), with the hooks the loop made when
/// it started (`Hooks::for_loop`: `None` while they are off).
#[inline(always)]
pub(crate) fn run(task: TaskRef, hooks: Option<&Hooks>) {
    task.run(hooks);
}
