//! The slow-poll detector (`MINIRT_SLOW_POLL`, `Builder::slow_poll_threshold`): a task that
//! blocks its worker inside a poll is reported on stderr with its name and spawn line while it
//! still blocks, and again when its poll returns.
//!
//! The detector is process-wide, so each scenario runs in a child process: this test binary
//! run again with `SLOW_POLL_SCENARIO` set, which makes `scenario_in_child` play the scenario
//! instead of returning at once. The parent reads the child's stderr.

use std::process::Command;
use std::time::Duration;

use minirt::runtime::{Builder, Runtime};

/// The poll that blocks: long against the threshold, so the watchdog reports it while it runs.
const BLOCK: Duration = Duration::from_millis(600);

/// Runs `scenario` in a child process with `env`; returns its stderr (asserting it succeeded).
fn run_child(scenario: &str, env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args(["--exact", "scenario_in_child", "--nocapture", "--test-threads=1"])
        .env("SLOW_POLL_SCENARIO", scenario)
        .env_remove("MINIRT_SLOW_POLL");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run the child");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "the child failed: {}\n{stderr}", output.status);
    stderr
}

/// The scenarios, played in the child process. In the parent (no `SLOW_POLL_SCENARIO`), a
/// test that passes at once.
#[test]
fn scenario_in_child() {
    let Ok(scenario) = std::env::var("SLOW_POLL_SCENARIO") else { return };
    match scenario.as_str() {
        "multi_thread" => blocking_task(multi_thread()),
        "current_thread" => blocking_task(Builder::new_current_thread().build().expect("runtime")),
        "builder" => blocking_task(
            Builder::new_multi_thread()
                .worker_threads(2)
                .slow_poll_threshold(Duration::from_millis(100))
                .build()
                .expect("runtime"),
        ),
        "every_spawn" => every_spawn(),
        "quick" => {
            let rt = multi_thread();
            rt.block_on(async {
                for _ in 0..100 {
                    minirt::spawn(async { minirt::task::yield_now().await }).await.expect("task");
                }
            });
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread().worker_threads(2).build().expect("runtime")
}

/// A named task that blocks its thread for `BLOCK` inside one poll; the markers on stderr let
/// the parent tell "while it blocks" from "after".
fn blocking_task(rt: Runtime) {
    rt.block_on(async {
        let line = line!() + 1;
        let handle = minirt::task::Builder::new().name("blocker").spawn(async {
            std::thread::sleep(BLOCK);
            eprintln!("MARK: the blocking poll returns");
        });
        eprintln!("MARK: spawned at tests/slow_poll.rs:{line}:");
        handle.expect("spawn").await.expect("the blocking task");
    });
}

/// A task that blocks for 150 ms, spawned through each public spawn function; each prints
/// the line of its spawn call, which its report must name.
fn every_spawn() {
    async fn blocker() {
        std::thread::sleep(Duration::from_millis(150))
    }
    fn mark(what: &str, line: u32) {
        eprintln!("MARK: {what} tests/slow_poll.rs:{line}:");
    }
    let rt = multi_thread();
    let handle = rt.handle().clone();
    mark("Runtime::spawn", line!() + 1);
    let t = rt.spawn(blocker());
    rt.block_on(t).expect("task");
    mark("Handle::spawn", line!() + 1);
    let t = handle.spawn(blocker());
    rt.block_on(t).expect("task");
    rt.block_on(async {
        mark("minirt::spawn", line!() + 1);
        minirt::spawn(blocker()).await.expect("task");
        mark("task::spawn", line!() + 1);
        minirt::task::spawn(blocker()).await.expect("task");
        let mut set = minirt::task::JoinSet::new();
        mark("JoinSet::spawn", line!() + 1);
        set.spawn(blocker());
        set.join_next().await.expect("one").expect("task");
        mark("JoinSet::spawn_on", line!() + 1);
        set.spawn_on(blocker(), &minirt::runtime::Handle::current());
        set.join_next().await.expect("one").expect("task");
    });
    let local = minirt::task::LocalSet::new();
    rt.block_on(local.run_until(async {
        mark("spawn_local", line!() + 1);
        minirt::task::spawn_local(blocker()).await.expect("task");
        let mut set = minirt::task::JoinSet::new();
        mark("JoinSet::spawn_local", line!() + 1);
        set.spawn_local(blocker());
        set.join_next().await.expect("one").expect("task");
    }));
    mark("LocalSet::spawn_local", line!() + 1);
    let t = local.spawn_local(blocker());
    rt.block_on(local.run_until(t)).expect("task");
    let local_rt = Builder::new_current_thread()
        .build_local(minirt::runtime::LocalOptions::default())
        .expect("local runtime");
    mark("LocalRuntime::spawn_local", line!() + 1);
    let t = local_rt.spawn_local(blocker());
    local_rt.block_on(t).expect("task");
}

fn spawn_site(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("MARK: spawned at "))
        .expect("the child printed its spawn line")
}

fn check_reports(stderr: &str) {
    let site = spawn_site(stderr);
    let end = stderr.find("MARK: the blocking poll returns").expect("the poll returned");
    let (during, after) = stderr.split_at(end);
    let still = during
        .lines()
        .find(|line| line.contains("minirt: slow poll:") && line.contains("is still running"))
        .unwrap_or_else(|| panic!("no report while the poll ran:\n{stderr}"));
    assert!(still.contains("\"blocker\""), "the name: {still}");
    assert!(still.contains(&format!("spawned at {site}")), "the spawn line ({site}): {still}");
    let done = after
        .lines()
        .find(|line| line.contains("minirt: slow poll:") && line.contains("ran for"))
        .unwrap_or_else(|| panic!("no report after the poll:\n{stderr}"));
    assert!(done.contains("\"blocker\""), "the name: {done}");
    assert!(done.contains(&format!("spawned at {site}")), "the spawn line ({site}): {done}");
    assert!(done.contains("threshold 100 ms"), "{done}");
}

#[test]
fn a_blocking_poll_is_reported_while_it_runs_and_after_on_the_multi_thread_runtime() {
    check_reports(&run_child("multi_thread", &[("MINIRT_SLOW_POLL", "100ms")]));
}

#[test]
fn a_blocking_poll_is_reported_while_it_runs_and_after_on_the_current_thread_runtime() {
    // The only thread is the blocked one: the watchdog, a thread of its own, still reports.
    check_reports(&run_child("current_thread", &[("MINIRT_SLOW_POLL", "100ms")]));
}

#[test]
fn the_builder_turns_the_detector_on() {
    check_reports(&run_child("builder", &[]));
}

/// `#[track_caller]` runs from every public spawn function down to the task: each report
/// names the user's line, never one inside minirt.
#[test]
fn every_spawn_function_reports_its_callers_line() {
    let stderr = run_child("every_spawn", &[("MINIRT_SLOW_POLL", "100ms")]);
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("minirt: slow poll:") && l.contains("ran for"))
        .collect();
    let mut checked = 0;
    for mark in stderr.lines().filter_map(|line| line.strip_prefix("MARK: ")) {
        let (what, site) = mark.rsplit_once(' ').expect("MARK: what site");
        // Reports and marks come from different threads: matched by site, not by order.
        assert!(
            reports.iter().any(|report| report.contains(&format!("spawned at {site}"))),
            "{what}: no report names {site}\n{stderr}"
        );
        checked += 1;
    }
    assert_eq!(checked, 10, "every spawn function was tried:\n{stderr}");
}

#[test]
fn nothing_is_reported_when_the_detector_is_off() {
    let stderr = run_child("multi_thread", &[]);
    assert!(!stderr.contains("minirt: slow poll"), "{stderr}");
}

#[test]
fn quick_polls_are_not_reported() {
    let stderr = run_child("quick", &[("MINIRT_SLOW_POLL", "100ms")]);
    assert!(!stderr.contains("minirt: slow poll"), "{stderr}");
}

#[test]
fn a_malformed_threshold_is_said_and_ignored() {
    let stderr = run_child("quick", &[("MINIRT_SLOW_POLL", "soon")]);
    assert!(stderr.contains("MINIRT_SLOW_POLL=\"soon\" is not a duration"), "{stderr}");
}
