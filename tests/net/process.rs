//! Child processes through the public `minirt` API: spawn, exit codes, pipes in both
//! directions, `output`/`wait_with_output`, `kill`, `try_wait`, `kill_on_drop`, reaping of
//! dropped children (checked in /proc: no zombie left), the SIGCHLD fallback, and many children
//! at once. Ported in part from tokio's `process_*.rs` tests (renamed to minirt).

use crate::common;

use std::future::{poll_fn, Future};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::process::Stdio;
use std::task::Poll;
use std::time::Duration;

use common::{assert_bytes_eq, delay, must_complete, pattern, watchdog};
use minirt::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use minirt::process::{Child, ChildStdin, Command};

/// What /proc says about `pid` as our child.
#[derive(Debug, PartialEq)]
enum ChildState {
    /// Running (or stopped): not exited yet.
    Running,
    /// Exited but not reaped: a zombie.
    Zombie,
    /// Gone: reaped (or its pid now belongs to a process that is not our child).
    Reaped,
}

fn child_state(pid: u32) -> ChildState {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return ChildState::Reaped;
    };
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; split after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return ChildState::Reaped;
    };
    let mut fields = rest.split_whitespace();
    let state = fields.next().unwrap_or("?");
    let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if ppid != std::process::id() {
        return ChildState::Reaped;
    }
    if state == "Z" {
        ChildState::Zombie
    } else {
        ChildState::Running
    }
}

/// Waits (bounded, letting the runtime run) until `pid` has been reaped.
async fn until_reaped(pid: u32) {
    for _ in 0..400 {
        if child_state(pid) == ChildState::Reaped {
            return;
        }
        delay(Duration::from_millis(10)).await;
    }
    panic!("child {pid} was not reaped: {:?}", child_state(pid));
}

#[test]
fn process_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Command>();
    send_sync::<Child>();
    send_sync::<ChildStdin>();
    send_sync::<minirt::process::ChildStdout>();
    send_sync::<minirt::process::ChildStderr>();
    send_sync::<minirt::signal::unix::Signal>();
}

fn sh(script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    cmd
}

#[minirt::test]
async fn simple() {
    let mut child = sh("exit 2").spawn().expect("spawn");
    let id = child.id().expect("missing id");
    assert!(id > 0);
    let status = must_complete("wait", child.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(2));
    // `wait` is fused, like std's.
    let status = child.wait().await.expect("wait again");
    assert_eq!(status.code(), Some(2));
    // No id once the child has been reaped.
    assert_eq!(child.id(), None);
    child.start_kill().expect("killing a reaped child is fine");
}

#[minirt::test]
async fn arg0() {
    let mut cmd = Command::new("sh");
    cmd.arg0("test_string").arg("-c").arg("echo $0");
    let output = must_complete("output", cmd.output()).await.expect("output");
    assert_eq!(output.stdout, b"test_string\n");
}

#[minirt::test]
async fn kill_after_wait() {
    let mut child = sh("exit 2").spawn().expect("spawn");
    child.start_kill().expect("start_kill");
    must_complete("wait", child.wait()).await.expect("wait");
    // Kill after `wait` is fine.
    child.start_kill().expect("start_kill after wait");
    child.kill().await.expect("kill after wait");
}

#[minirt::test]
async fn output_captures_stdout_stderr_and_status() {
    let output = must_complete("output", sh("echo out; echo err >&2; exit 3").output())
        .await
        .expect("output");
    assert_eq!(output.stdout, b"out\n");
    assert_eq!(output.stderr, b"err\n");
    assert_eq!(output.status.code(), Some(3));

    let output =
        must_complete("echo", Command::new("echo").arg("hello").output()).await.expect("echo");
    assert!(output.status.success());
    assert_eq!(output.stdout, b"hello\n");
}

/// As in std, `output` gives the child a null stdin unless told otherwise, and leaves the
/// builder's defaults as they were for the next `spawn`.
#[minirt::test]
async fn output_stdin_is_null_by_default() {
    let mut cmd = Command::new("cat");
    let output = must_complete("cat", cmd.output()).await.expect("cat");
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    let output = must_complete("cat again", cmd.output()).await.expect("cat again");
    assert!(output.stdout.is_empty());
}

#[minirt::test]
async fn status_of_a_command() {
    let status = must_complete("status", sh("exit 7").status()).await.expect("status");
    assert_eq!(status.code(), Some(7));
    let status = must_complete("true", Command::new("true").status()).await.expect("true");
    assert!(status.success());
}

#[minirt::test]
async fn env_and_current_dir() {
    let mut cmd = sh("echo $FOO; pwd");
    cmd.env("FOO", "bar").current_dir("/");
    let output = must_complete("output", cmd.output()).await.expect("output");
    assert_eq!(output.stdout, b"bar\n/\n");

    let mut cmd = Command::new("env");
    cmd.env_clear().env("A", "1").env("B", "2").env_remove("B");
    let output = must_complete("output", cmd.output()).await.expect("output");
    assert_eq!(output.stdout, b"A=1\n");

    let mut cmd = sh("echo $X$Y");
    cmd.envs([("X", "x"), ("Y", "y")]);
    assert_eq!(cmd.output().await.expect("output").stdout, b"xy\n");
}

/// A megabyte through `cat`: the writer fills the 64 KiB pipe many times over (each full pipe
/// is a wait for EPOLLOUT), while the reader drains the other pipe concurrently.
#[minirt::test]
async fn piping_through_cat() {
    let _watchdog = watchdog("piping_through_cat");
    let data = pattern(7, 1 << 20);
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn cat");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let expected = data.clone();
    let writer = minirt::spawn(async move {
        stdin.write_all(&data).await?;
        // Dropping stdin closes the pipe: cat sees EOF and exits.
        drop(stdin);
        Ok::<_, io::Error>(())
    });
    let mut got = Vec::new();
    must_complete("read cat's output", stdout.read_to_end(&mut got)).await.expect("read");
    must_complete("writer", writer).await.expect("writer task").expect("write");
    assert_bytes_eq(&got, &expected, "cat");
    let status = must_complete("wait", child.wait()).await.expect("wait");
    assert!(status.success());
}

#[minirt::test]
async fn wait_with_output_reads_both_pipes() {
    // More than a pipe's worth on both streams: the child blocks unless both are drained
    // while it runs.
    let child = sh("head -c 200000 /dev/zero; head -c 150000 /dev/zero >&2; exit 4")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let output = must_complete("wait_with_output", child.wait_with_output()).await.expect("out");
    assert_eq!(output.stdout.len(), 200_000);
    assert_eq!(output.stderr.len(), 150_000);
    assert_eq!(output.status.code(), Some(4));
}

/// `wait` closes stdin first, so a child that reads to EOF can finish.
#[minirt::test]
async fn wait_closes_stdin() {
    let mut child =
        Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn");
    let status = must_complete("wait", child.wait()).await.expect("wait");
    assert!(status.success());
}

#[minirt::test]
async fn kill_a_running_child() {
    let mut child = Command::new("sleep").arg("30").spawn().expect("spawn");
    let pid = child.id().expect("id");
    must_complete("kill", child.kill()).await.expect("kill");
    let status = child.wait().await.expect("wait");
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_eq!(child_state(pid), ChildState::Reaped);
}

#[minirt::test]
async fn try_wait_before_and_after_exit() {
    let mut child =
        sh("read line; exit 5").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn");
    assert_eq!(child.try_wait().expect("try_wait").map(|s| s.code()), None, "still running");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"go\n").await.expect("write");
    let status = must_complete("wait", child.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(5));
    assert_eq!(child.try_wait().expect("try_wait").and_then(|s| s.code()), Some(5));
}

#[minirt::test]
async fn try_wait_sees_an_exit_without_wait() {
    let mut child = Command::new("true").spawn().expect("spawn");
    let pid = child.id().expect("id");
    let mut status = None;
    for _ in 0..400 {
        status = child.try_wait().expect("try_wait");
        if status.is_some() {
            break;
        }
        delay(Duration::from_millis(10)).await;
    }
    assert!(status.expect("exited").success());
    assert_eq!(child.id(), None);
    assert_eq!(child_state(pid), ChildState::Reaped);
}

#[minirt::test]
async fn kill_on_drop_kills_and_reaps() {
    let child = Command::new("sleep").arg("30").kill_on_drop(true).spawn().expect("spawn");
    let pid = child.id().expect("id");
    drop(child);
    until_reaped(pid).await;
}

/// Without `kill_on_drop`, a dropped child runs to its end, and is then reaped in the
/// background: no zombie.
#[minirt::test]
async fn dropped_child_runs_on_and_is_reaped() {
    let child = sh("sleep 0.2; exit 0").spawn().expect("spawn");
    let pid = child.id().expect("id");
    drop(child);
    assert_eq!(child_state(pid), ChildState::Running, "not killed");
    until_reaped(pid).await;
}

/// A child dropped outside any runtime goes to the orphan list, reaped by the next spawn.
#[test]
fn child_dropped_outside_a_runtime_is_reaped_later() {
    let _watchdog = watchdog("child_dropped_outside_a_runtime_is_reaped_later");
    let rt = minirt::runtime::Builder::new_current_thread().build().expect("runtime");
    let child: Child = rt.block_on(async { Command::new("true").spawn().expect("spawn") });
    let pid = child.id().expect("id");
    drop(child);
    for _ in 0..400 {
        if child_state(pid) != ChildState::Running {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    rt.block_on(async {
        // The next spawn reaps the orphan.
        let status = Command::new("true").status().await.expect("status");
        assert!(status.success());
    });
    assert_eq!(child_state(pid), ChildState::Reaped);
}

/// kill_on_drop's tokio test: only the child is killed (here `sleep`, which the shell became
/// with `exec`); its own background child lives on, keeps the stdout pipe open and writes to it.
#[minirt::test]
async fn kill_on_drop_leaves_grandchildren() {
    let mut child = sh("sh -c 'sleep 0.3; echo child ran' & exec sleep 30")
        .kill_on_drop(true)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    delay(Duration::from_millis(100)).await;
    let mut out = child.stdout.take().expect("stdout");
    drop(child);
    let mut msg = String::new();
    must_complete("read", out.read_to_string(&mut msg)).await.expect("read");
    assert_eq!(msg, "child ran\n");
}

#[minirt::test]
async fn spawning_a_missing_program_is_not_found() {
    let err = Command::new("/nonexistent/minirt-no-such-program").spawn().expect_err("missing");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = Command::new("minirt-no-such-program-in-path").output().await.expect_err("missing");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

/// tokio's issue_42: batches of children exiting at about the same time; consuming one exit
/// must not starve another.
#[minirt::test]
async fn many_concurrent_children() {
    let _watchdog = watchdog("many_concurrent_children");
    let batches: Vec<_> = (0..8)
        .map(|batch| {
            minirt::spawn(async move {
                let children: Vec<Child> = (0..8)
                    .map(|i| {
                        Command::new("echo")
                            .arg(format!("I am spawned process #{batch}.{i}"))
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .kill_on_drop(true)
                            .spawn()
                            .expect("spawn")
                    })
                    .collect();
                for mut child in children {
                    assert!(child.wait().await.expect("wait").success());
                }
            })
        })
        .collect();
    for batch in batches {
        must_complete("batch", batch).await.expect("batch task");
    }
}

/// The SIGCHLD fallback for kernels without pidfd_open, forced on.
#[minirt::test]
async fn sigchld_fallback_waits_too() {
    minirt::process::force_sigchld_fallback(true);
    let spawned = (sh("exit 5").spawn(), sh("sleep 0.1; exit 6").spawn());
    minirt::process::force_sigchld_fallback(false);
    let (mut quick, mut slow) = (spawned.0.expect("spawn"), spawned.1.expect("spawn"));
    let status = must_complete("wait slow", slow.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(6));
    let status = must_complete("wait quick", quick.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(5));
}

/// tokio's process_change_of_runtime: spawned in one runtime, waited for in another.
#[test]
fn spawned_and_waited_in_different_runtimes() {
    let _watchdog = watchdog("spawned_and_waited_in_different_runtimes");
    let rt = || minirt::runtime::Builder::new_current_thread().build().expect("runtime");
    let mut child = rt().block_on(async {
        Command::new("true").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn")
    });
    let status = rt().block_on(common::timeout(common::HANG_LIMIT, child.wait()));
    assert!(status.expect("in time").expect("wait").success());
}

async fn read_chunks<R: AsyncRead + Unpin>(
    reader: &mut R,
    stdin: &mut ChildStdin,
    first: &[u8],
    second: &[u8],
) {
    let mut buf = vec![0; first.len()];
    reader.read_exact(&mut buf).await.expect("first chunk");
    assert_eq!(buf, first);
    // The child waits for our acknowledgement, so this read must be pending.
    poll_fn(|cx| {
        let mut byte = [0; 1];
        assert!(Pin::new(&mut *reader).poll_read(cx, &mut byte).is_pending());
        Poll::Ready(())
    })
    .await;
    stdin.write_all(b"continue\n").await.expect("write");
    buf.resize(second.len(), 0);
    reader.read_exact(&mut buf).await.expect("second chunk");
    assert_eq!(buf, second);
    stdin.write_all(b"exit\n").await.expect("write");
    assert_eq!(reader.read(&mut buf).await.expect("eof"), 0);
}

/// tokio's issue_8042: a pipe that returned Pending is woken by the next chunk, with the child
/// still alive (no hang-up to wake it by accident).
#[minirt::test]
async fn child_stdout_receives_second_chunk_before_exit() {
    let mut child = sh("printf 'chunk1\\n'; read gate; printf 'chunk2\\n'; read gate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    must_complete("chunks", read_chunks(&mut stdout, &mut stdin, b"chunk1\n", b"chunk2\n")).await;
    assert!(must_complete("wait", child.wait()).await.expect("wait").success());
}

#[minirt::test]
async fn child_stderr_receives_second_chunk_before_exit() {
    let mut child = sh("printf 'err1\\n' >&2; read gate; printf 'err2\\n' >&2; read gate")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stderr = child.stderr.take().expect("stderr");
    must_complete("chunks", read_chunks(&mut stderr, &mut stdin, b"err1\n", b"err2\n")).await;
    assert!(must_complete("wait", child.wait()).await.expect("wait").success());
}

/// tokio's issue_2174: a writer blocked on a full stdin pipe gets an error, not a hang, when
/// the child is killed.
#[minirt::test]
async fn writing_to_a_killed_child_fails() {
    let mut child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let writer = minirt::spawn(async move {
        let data = [0u8; 8192];
        loop {
            input.write_all(&data).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), io::Error>(())
    });
    delay(Duration::from_millis(100)).await;
    must_complete("kill", child.kill()).await.expect("kill");
    let err = must_complete("writer", writer).await.expect("task").expect_err("write fails");
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

/// One child's stdout as another's stdin: `echo hello | tr a-z A-Z`.
#[minirt::test]
async fn piping_one_child_into_another() {
    let mut echo = Command::new("echo").arg("hello").stdout(Stdio::piped()).spawn().expect("echo");
    let echo_out: Stdio = echo.stdout.take().expect("stdout").try_into().expect("into Stdio");
    let output =
        must_complete("tr", Command::new("tr").arg("a-z").arg("A-Z").stdin(echo_out).output())
            .await
            .expect("tr");
    assert_eq!(output.stdout, b"HELLO\n");
    assert!(echo.wait().await.expect("wait").success());
}

/// Waiting is cancel-safe: a `wait` future dropped while pending loses nothing.
#[minirt::test]
async fn dropped_wait_future_loses_nothing() {
    let mut child = sh("sleep 0.1; exit 9").spawn().expect("spawn");
    {
        let mut wait = std::pin::pin!(child.wait());
        let polled = poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
    }
    let status = must_complete("wait", child.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(9));
}
