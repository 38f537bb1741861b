//! One look at everything the console shows, written as JSON: read on the console's thread
//! at each request, from the registry's counters (`slow_poll`), each task's state word and
//! reference count (through its `Weak`), and each runtime's reactor, timers, queues and
//! blocking pool.
//!
//! A lost wake-up is read off the reference count: an idle task (not queued, not running, not
//! complete) is referenced by its scheduler's list of owned tasks, by its `JoinHandle` while
//! that lives, and by every `Waker` clone someone keeps to wake it later. With no reference
//! beyond the first two, nobody can wake it: it will never run again. (An `AbortHandle` is a
//! reference too, so a task held only by one is not flagged: a miss, never a false alarm.)

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use super::json::Json;
use super::{fds, runtimes};
use crate::scheduler::Handle;
use crate::slow_poll::{self, Meta, TaskState, BUCKETS};

/// The poll duration past which the console warns when the slow-poll detector (whose
/// threshold it uses otherwise) is off.
const DEFAULT_WARN: Duration = Duration::from_millis(10);
/// A task woken this many times, at least half of them while it was running, is flagged.
const MANY_WAKES: u64 = 100;

/// Which part of the state a request asks for.
pub(super) enum Part {
    All,
    Tasks,
    Workers,
    Runtimes,
    Histograms,
    Warnings,
    Task(u64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    Idle,
    Scheduled,
    Running,
    Done,
}

impl Shown {
    fn as_str(self) -> &'static str {
        match self {
            Shown::Idle => "idle",
            Shown::Scheduled => "scheduled",
            Shown::Running => "running",
            Shown::Done => "done",
        }
    }
}

struct TaskRow {
    meta: Arc<Meta>,
    name: Option<String>,
    state: Shown,
    age: u64,
    busy: u64,
    scheduled: u64,
    idle: u64,
    running_for: Option<u64>,
    /// References beyond the scheduler's and the JoinHandle's: the wakers held.
    wakers: u64,
    lost: bool,
    reads: Vec<i32>,
    writes: Vec<i32>,
}

struct FdRow {
    fd: i32,
    info: fds::FdInfo,
    ready: Vec<&'static str>,
    readers: Vec<u64>,
    writers: Vec<u64>,
    /// Wakers that are not a task's (a `block_on`, a foreign executor).
    others: usize,
}

struct Warning {
    kind: &'static str,
    task: Option<u64>,
    text: String,
}

/// `running`: each task in a poll now, and for how long (`slow_poll::running`).
fn task_row(meta: Arc<Meta>, now: u64, running: &HashMap<u64, u64>) -> TaskRow {
    let inspect = |meta: &Meta| meta.task.upgrade().map(|task| task.inspect());
    let polls = meta.polls.load(Relaxed);
    let first = inspect(&meta);
    let count = meta.task.strong_count() as u64;
    let second = inspect(&meta);
    let stable = first == second && polls == meta.polls.load(Relaxed);
    let done_at = meta.done_at.load(Relaxed);
    let state = match second {
        _ if done_at != 0 => Shown::Done,
        None | Some(TaskState { complete: true, .. }) => Shown::Done,
        Some(TaskState { running: true, .. }) => Shown::Running,
        Some(TaskState { notified: true, .. }) => Shown::Scheduled,
        Some(_) => Shown::Idle,
    };
    let held_by_runtime = 1 + u64::from(second.is_some_and(|s| s.join_interest));
    let wakers = count.saturating_sub(held_by_runtime);
    let lost = stable && state == Shown::Idle && count > 0 && wakers == 0;
    let end = if done_at != 0 { done_at } else { now };
    let age = end.saturating_sub(meta.spawned_at);
    let running_for = running.get(&meta.id).copied().filter(|_| done_at == 0);
    // (0: not queued by a wake or spawn that read the clock.)
    let woken = meta.woken_at.load(Relaxed);
    let queued_now = if woken != 0 && done_at == 0 { now.saturating_sub(woken) } else { 0 };
    let busy = meta.busy() + running_for.unwrap_or(0);
    let scheduled = meta.scheduled() + queued_now;
    let idle = age.saturating_sub(busy + scheduled);
    TaskRow {
        name: meta.name(),
        meta,
        state,
        age,
        busy,
        scheduled,
        idle,
        running_for,
        wakers,
        lost,
        reads: Vec::new(),
        writes: Vec::new(),
    }
}

/// A `Waker`'s two words (its data pointer and its vtable's), copied as they are: all that is
/// done under the reactor's lock, where no time should go to formatting.
fn waker_words(waker: &Waker) -> [usize; 2] {
    const _: () = assert!(std::mem::size_of::<Waker>() == std::mem::size_of::<[usize; 2]>());
    // SAFETY: a `Waker` is two pointers (the assertion above checks its size), every byte of
    // it initialised: copying them out as two integers reads nothing else.
    unsafe { std::mem::transmute_copy(waker) }
}

/// Which of `waker_words` is the data pointer, which for a task's waker is the task cell's
/// address (`Waker::data` needs Rust 1.83, newer than this crate's rust-version): found once,
/// from a waker whose data pointer is known.
fn data_word() -> usize {
    static WORD: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WORD.get_or_init(|| {
        use std::task::{RawWaker, RawWakerVTable};
        fn clone(data: *const ()) -> RawWaker {
            RawWaker::new(data, &VTABLE)
        }
        fn noop(_: *const ()) {}
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
        static MARK: u8 = 0;
        let data: *const () = (&MARK as *const u8).cast();
        // SAFETY: the vtable's functions do nothing, which is a valid waker for any data.
        let waker = unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) };
        let words = waker_words(&waker);
        usize::from(words[0] != data as usize)
    })
}

fn ready_names(ready: crate::io::Ready) -> Vec<&'static str> {
    let mut names = Vec::new();
    if ready.is_readable() {
        names.push("readable");
    }
    if ready.is_writable() {
        names.push("writable");
    }
    if ready.is_read_closed() {
        names.push("read closed");
    }
    if ready.is_write_closed() {
        names.push("write closed");
    }
    if ready.is_priority() {
        names.push("priority");
    }
    if ready.is_error() {
        names.push("error");
    }
    names
}

/// A waiter on an fd, as copied under the reactor's lock: its waker's words, whether it
/// waits to read, to write.
type Waiter = ([usize; 2], bool, bool);

fn fd_rows(handle: &Handle, by_address: &HashMap<usize, u64>) -> Vec<FdRow> {
    // Under the reactor's locks, only copies: each fd's readiness and its waiters' words.
    let mut seen: Vec<(i32, crate::io::Ready, Vec<Waiter>)> = Vec::new();
    handle.reactor().inspect(|fd, ready, wakers| {
        let wakers = wakers.iter().map(|&(waker, r, w)| (waker_words(waker), r, w)).collect();
        seen.push((fd, ready, wakers));
    });
    let data = data_word();
    let mut rows = Vec::with_capacity(seen.len());
    for (fd, ready, wakers) in seen {
        let mut row = FdRow {
            fd,
            info: fds::FdInfo { kind: String::new(), local: None, peer: None },
            ready: ready_names(ready),
            readers: Vec::new(),
            writers: Vec::new(),
            others: 0,
        };
        for (words, reads, writes) in wakers {
            match by_address.get(&words[data]) {
                Some(&id) => {
                    if reads && !row.readers.contains(&id) {
                        row.readers.push(id);
                    }
                    if writes && !row.writers.contains(&id) {
                        row.writers.push(id);
                    }
                }
                None => row.others += 1,
            }
        }
        rows.push(row);
    }
    // Outside the reactor's locks: syscalls and /proc reads.
    for row in &mut rows {
        row.info = fds::describe(row.fd);
    }
    rows.sort_by_key(|row| row.fd);
    rows
}

fn micros(nanos: u64) -> u64 {
    nanos / 1_000
}

fn millis(nanos: u64) -> u64 {
    nanos / 1_000_000
}

fn show(nanos: u64) -> String {
    let d = Duration::from_nanos(nanos);
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} µs", d.as_micros())
    }
}

fn label(row: &TaskRow) -> String {
    match &row.name {
        Some(name) => format!("task {} \"{name}\" ({})", row.meta.id, row.meta.location),
        None => format!("task {} ({})", row.meta.id, row.meta.location),
    }
}

/// Writes the part of the state `part` names.
pub(super) fn write(part: Part) -> Option<String> {
    let now = slow_poll::now_nanos();
    let warn = slow_poll::threshold().unwrap_or(DEFAULT_WARN);
    let warn_nanos = u64::try_from(warn.as_nanos()).unwrap_or(u64::MAX);
    let running: HashMap<u64, u64> =
        slow_poll::slots().iter().filter_map(|slot| slow_poll::running(slot, now)).collect();
    let mut rows: Vec<TaskRow> =
        slow_poll::tasks().into_iter().map(|meta| task_row(meta, now, &running)).collect();
    rows.sort_by_key(|row| row.meta.id);
    let by_address: HashMap<usize, u64> = rows
        .iter()
        .filter(|row| row.state != Shown::Done)
        .map(|row| (row.meta.task.as_ptr() as *const () as usize, row.meta.id))
        .collect();
    let handles = runtimes::alive();
    let fds: Vec<Vec<FdRow>> = handles.iter().map(|h| fd_rows(h, &by_address)).collect();
    let index: HashMap<u64, usize> = rows.iter().enumerate().map(|(i, r)| (r.meta.id, i)).collect();
    for row in fds.iter().flatten() {
        for id in &row.readers {
            if let Some(&i) = index.get(id) {
                rows[i].reads.push(row.fd);
            }
        }
        for id in &row.writers {
            if let Some(&i) = index.get(id) {
                rows[i].writes.push(row.fd);
            }
        }
    }
    let warnings = warnings(&rows, &handles, warn_nanos);

    let mut json = Json::new();
    match part {
        Part::Task(id) => {
            let row = rows.iter().find(|row| row.meta.id == id)?;
            task_json(&mut json, row);
        }
        Part::Tasks => tasks_json(&mut json, &rows),
        Part::Workers => workers_json(&mut json, &rows, now),
        Part::Runtimes => runtimes_json(&mut json, &handles, &fds),
        Part::Histograms => histograms_json(&mut json),
        Part::Warnings => warnings_json(&mut json, &warnings),
        Part::All => {
            json.begin_object();
            json.field_num("now_ms", millis(now));
            json.field_num("pid", u64::from(std::process::id()));
            json.field_num("warn_threshold_us", micros(warn_nanos));
            json.field_num("sample", slow_poll::SAMPLE);
            json.field_opt_num(
                "slow_poll_threshold_us",
                slow_poll::threshold().map(|t| u64::try_from(t.as_micros()).unwrap_or(u64::MAX)),
            );
            json.key("tasks");
            tasks_json(&mut json, &rows);
            json.key("workers");
            workers_json(&mut json, &rows, now);
            json.key("runtimes");
            runtimes_json(&mut json, &handles, &fds);
            json.key("histograms");
            histograms_json(&mut json);
            json.key("warnings");
            warnings_json(&mut json, &warnings);
            json.end_object();
        }
    }
    Some(json.finish())
}

fn warnings(rows: &[TaskRow], handles: &[Handle], warn: u64) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for row in rows {
        let meta = &row.meta;
        if let Some(running) = row.running_for.filter(|&running| running > warn) {
            warnings.push(Warning {
                kind: "blocking",
                task: Some(meta.id),
                text: format!(
                    "{} has been in one poll for {}: it blocks its thread",
                    label(row),
                    show(running)
                ),
            });
        } else if meta.longest_poll_nanos.load(Relaxed) > warn {
            warnings.push(Warning {
                kind: "slow poll",
                task: Some(meta.id),
                text: format!(
                    "{} polled for {} at most (threshold {})",
                    label(row),
                    show(meta.longest_poll_nanos.load(Relaxed)),
                    show(warn)
                ),
            });
        }
        let (wakes, running) = (meta.wakes(), meta.self_wakes());
        if running >= MANY_WAKES && running * 2 >= wakes {
            warnings.push(Warning {
                kind: "woken while running",
                task: Some(meta.id),
                text: format!(
                    "{} was woken {running} times while it was running ({} % of its {wakes} wakes)",
                    label(row),
                    running * 100 / wakes.max(1),
                ),
            });
        }
        if row.lost {
            warnings.push(Warning {
                kind: "lost waker",
                task: Some(meta.id),
                text: format!(
                    "{} is idle and nobody holds its waker: it can never be woken (a lost wake-up)",
                    label(row)
                ),
            });
        }
    }
    for handle in handles {
        let pool = handle.blocking();
        let (threads, idle, max, queued) =
            (pool.num_threads(), pool.num_idle_threads(), pool.max_threads(), pool.queue_depth());
        let busy = threads.saturating_sub(idle);
        if busy * 10 >= max * 9 || (queued > 0 && threads >= max) {
            warnings.push(Warning {
                kind: "blocking pool",
                task: None,
                text: format!(
                    "the blocking pool is near its limit: {busy} of {max} threads busy, {queued} queued"
                ),
            });
        }
    }
    warnings
}

fn ids(json: &mut Json, key: &str, list: &[u64]) {
    json.key(key).begin_array();
    for &id in list {
        json.number(id);
    }
    json.end_array();
}

fn fds_list(json: &mut Json, key: &str, list: &[i32]) {
    json.key(key).begin_array();
    for &fd in list {
        json.signed(i64::from(fd));
    }
    json.end_array();
}

fn task_json(json: &mut Json, row: &TaskRow) {
    let meta = &row.meta;
    json.begin_object();
    json.field_num("id", meta.id);
    json.field_opt_str("name", row.name.as_deref());
    json.field_str("location", &meta.location.to_string());
    json.field_str("state", row.state.as_str());
    json.field_num("polls", meta.polls.load(Relaxed));
    json.field_num("busy_us", micros(row.busy));
    // The polls busy time is known from: a task with polls and none of these has no estimate.
    let timed = meta.timed_polls.load(Relaxed) + meta.exact_polls.load(Relaxed);
    json.field_num("timed_polls", timed);
    json.field_num("scheduled_us", micros(row.scheduled));
    json.field_num("idle_us", micros(row.idle));
    json.field_num("wakes", meta.wakes());
    json.field_num("self_wakes", meta.self_wakes());
    json.field_num("longest_poll_us", micros(meta.longest_poll_nanos.load(Relaxed)));
    json.field_num("age_us", micros(row.age));
    json.field_opt_num("running_for_us", row.running_for.map(micros));
    json.field_num("wakers", row.wakers);
    json.field_bool("lost_waker", row.lost);
    fds_list(json, "reads", &row.reads);
    fds_list(json, "writes", &row.writes);
    json.end_object();
}

fn tasks_json(json: &mut Json, rows: &[TaskRow]) {
    json.begin_array();
    for row in rows {
        task_json(json, row);
    }
    json.end_array();
}

fn workers_json(json: &mut Json, rows: &[TaskRow], now: u64) {
    let names: HashMap<u64, &TaskRow> = rows.iter().map(|row| (row.meta.id, row)).collect();
    let mut slots = slow_poll::slots();
    slots.sort_by_key(|slot| {
        (slot.worker.load(Relaxed) < 0, slot.worker.load(Relaxed), slot.thread.clone())
    });
    json.begin_array();
    for slot in slots {
        let running = slow_poll::running(&slot, now);
        let task = running.map_or(0, |(task, _)| task);
        json.begin_object();
        json.field_str("thread", &slot.thread);
        let worker = slot.worker.load(Relaxed);
        json.field_opt_num("worker", u64::try_from(worker).ok());
        json.field_opt_num("task", (task != 0).then_some(task));
        let row = names.get(&task);
        json.field_opt_str("task_name", row.and_then(|row| row.name.as_deref()));
        let location = row.map(|row| row.meta.location.to_string());
        json.field_opt_str("task_location", location.as_deref());
        json.field_opt_num("polling_for_us", running.map(|(_, nanos)| micros(nanos)));
        json.field_num("polls", slot.polls.load(Relaxed));
        json.field_num("steals", slot.steals.load(Relaxed));
        json.field_num("parks", slot.parks.load(Relaxed));
        json.field_num("unparks", slot.unparks.load(Relaxed));
        json.field_bool("parked", slot.parked.load(Relaxed));
        json.field_bool("driver", slot.driver.load(Relaxed));
        json.end_object();
    }
    json.end_array();
}

fn runtimes_json(json: &mut Json, handles: &[Handle], fds: &[Vec<FdRow>]) {
    json.begin_array();
    for (handle, fds) in handles.iter().zip(fds) {
        json.begin_object();
        json.field_num("id", handle.id() as u64);
        json.field_opt_str("name", handle.blocking().runtime_name());
        let flavor = match handle {
            Handle::CurrentThread(_) => "current_thread",
            Handle::MultiThread(_) => "multi_thread",
        };
        json.field_str("flavor", flavor);
        json.field_num("workers", handle.num_workers() as u64);
        json.field_num("alive_tasks", handle.num_alive_tasks() as u64);
        json.field_num("injection_queue", handle.injection_depth() as u64);
        json.key("local_queues").begin_array();
        match handle {
            Handle::MultiThread(shared) => {
                for index in 0..shared.num_workers() {
                    json.number(shared.local_queue_depth(index) as u64);
                }
            }
            // The loop's queue is its thread's own: what it held when its batch started, less
            // the polls since (`Slot::loop_queue`).
            Handle::CurrentThread(shared) => {
                let address = Arc::as_ptr(shared) as usize;
                let slots = slow_poll::slots();
                let slot = slots.iter().find(|slot| slot.loop_runtime.load(Relaxed) == address);
                if let Some(slot) = slot {
                    json.number(slot.loop_queue());
                }
            }
        }
        json.end_array();
        let pool = handle.blocking();
        let (threads, idle) = (pool.num_threads(), pool.num_idle_threads());
        json.key("blocking").begin_object();
        json.field_num("threads", threads as u64);
        json.field_num("busy", threads.saturating_sub(idle) as u64);
        json.field_num("idle", idle as u64);
        json.field_num("queued", pool.queue_depth() as u64);
        json.field_num("max", pool.max_threads() as u64);
        json.end_object();
        let timers = handle.timers();
        json.key("timers").begin_object();
        json.field_num("count", timers.waiting() as u64);
        let next = timers.next_deadline().map(|deadline| {
            let left = deadline.saturating_duration_since(timers.now());
            u64::try_from(left.as_micros()).unwrap_or(u64::MAX)
        });
        json.field_opt_num("next_deadline_in_us", next);
        json.end_object();
        json.key("fds").begin_array();
        for row in fds {
            json.begin_object();
            json.key("fd").signed(i64::from(row.fd));
            json.field_str("kind", &row.info.kind);
            json.field_opt_str("local", row.info.local.as_deref());
            json.field_opt_str("peer", row.info.peer.as_deref());
            json.key("readiness").begin_array();
            for name in &row.ready {
                json.string(name);
            }
            json.end_array();
            ids(json, "readers", &row.readers);
            ids(json, "writers", &row.writers);
            json.field_num("other_waiters", row.others as u64);
            json.end_object();
        }
        json.end_array();
        json.end_object();
    }
    json.end_array();
}

/// The histograms, estimated from the timed polls and queueings (see `slow_poll::SAMPLE`).
fn histograms_json(json: &mut Json) {
    json.begin_object();
    json.field_num("sample", slow_poll::SAMPLE);
    json.key("bucket_floor_us").begin_array();
    for bucket in 0..BUCKETS {
        json.number(if bucket == 0 { 0 } else { 1 << bucket });
    }
    json.end_array();
    let [poll, delay] = slow_poll::histograms();
    for (key, histogram) in [("poll", poll), ("scheduling_delay", delay)] {
        json.key(key).begin_array();
        for count in histogram {
            json.number(count);
        }
        json.end_array();
    }
    json.end_object();
}

fn warnings_json(json: &mut Json, warnings: &[Warning]) {
    json.begin_array();
    for warning in warnings {
        json.begin_object();
        json.field_str("kind", warning.kind);
        json.field_opt_num("task", warning.task);
        json.field_str("text", &warning.text);
        json.end_object();
    }
    json.end_array();
}
