//! `--chaos-tasks`: for soak runs (`benches/soak.sh`), tasks beside the server that panic,
//! get aborted, or complete, at random, on the same workers as the connections. Every outcome
//! is checked against what the task was told to do, and the counts are printed every 10 s:
//! a soak passes only if none was wrong (`wrong 0`) and the server kept answering meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use minirt::task::JoinHandle;
use minirt::time::sleep;

/// Every panic these tasks raise starts with this; the hook keeps them off stderr.
const MARK: &str = "kv chaos:";

#[derive(Default)]
struct Counts {
    spawned: AtomicU64,
    panicked: AtomicU64,
    aborted: AtomicU64,
    completed: AtomicU64,
    wrong: AtomicU64,
}

/// What a chaos task is told to do.
enum Fate {
    Panic,
    Abort,
    Complete(u64),
}

/// Spawns the chaos until the process ends: batches of 16 tasks, about 1,000 a second.
pub async fn run() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let quiet = info.payload().downcast_ref::<String>().is_some_and(|m| m.starts_with(MARK));
        if !quiet {
            default(info);
        }
    }));
    let counts = Arc::new(Counts::default());
    let mut seed = Instant::now().elapsed().as_nanos() as u64 | 1;
    let mut next_report = Instant::now() + Duration::from_secs(10);
    loop {
        let mut batch: Vec<(Fate, JoinHandle<u64>)> = Vec::with_capacity(16);
        for _ in 0..16 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let delay = Duration::from_micros(seed % 2000);
            let fate = match seed % 3 {
                0 => Fate::Panic,
                1 => Fate::Abort,
                _ => Fate::Complete(seed),
            };
            let task = match fate {
                Fate::Panic => minirt::spawn(async move {
                    sleep(delay).await;
                    panic!("{MARK} a task that panics on purpose");
                }),
                // Sleeps far longer than the abort takes to come.
                Fate::Abort => minirt::spawn(async move {
                    sleep(Duration::from_secs(60)).await;
                    0
                }),
                Fate::Complete(value) => minirt::spawn(async move {
                    sleep(delay).await;
                    value
                }),
            };
            counts.spawned.fetch_add(1, Ordering::Relaxed);
            batch.push((fate, task));
        }
        sleep(Duration::from_millis(1)).await;
        for (fate, task) in batch {
            if matches!(fate, Fate::Abort) {
                task.abort();
            }
            let counter = match (fate, task.await) {
                (Fate::Panic, Err(e)) if e.is_panic() => &counts.panicked,
                (Fate::Abort, Err(e)) if e.is_cancelled() => &counts.aborted,
                (Fate::Complete(want), Ok(got)) if got == want => &counts.completed,
                _ => &counts.wrong,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(10);
            let c = |n: &AtomicU64| n.load(Ordering::Relaxed);
            eprintln!(
                "kv: chaos tasks: spawned {} panicked {} aborted {} completed {} wrong {}",
                c(&counts.spawned),
                c(&counts.panicked),
                c(&counts.aborted),
                c(&counts.completed),
                c(&counts.wrong),
            );
        }
    }
}
