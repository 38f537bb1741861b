//! The binary as a child process: SIGTERM (and ctrl-c's SIGINT) while a request is in flight.
//! The service must stop accepting, let that request finish with its full answer, and exit 0.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

/// Fails the test (instead of hanging CI) if `fut` takes more than 30 s.
async fn bounded<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .unwrap_or_else(|_| panic!("test did not finish within 30 s"))
}

/// Waits for the next stderr line of the child that contains `needle`.
async fn wait_for(lines: &mut mpsc::UnboundedReceiver<String>, needle: &str) {
    while let Some(line) = lines.recv().await {
        if line.contains(needle) {
            return;
        }
    }
    panic!("the service's stderr ended before a line containing {needle:?}");
}

async fn drains_on(signal: libc::c_int, logged: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecosystem-service"))
        .args(["--addr", "127.0.0.1:0", "--timeout-ms", "10000"])
        .env_remove("UPSTREAM_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the service binary");
    let pid = child.id().expect("child pid");

    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = stdout.next_line().await.expect("read stdout").expect("a first line");
    let base = first.strip_prefix("listening on ").expect("`listening on URL`").to_string();

    // Every stderr line goes to the test (and is echoed, for a failing run's log).
    let (tx, mut lines) = mpsc::unbounded_channel();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            eprintln!("service: {line}");
            let _ = tx.send(line);
        }
    });

    // A request through the whole stack first: the service really serves.
    let quote = reqwest::get(format!("{base}/quote/tea/2")).await.expect("GET /quote");
    assert_eq!(quote.status(), 200);
    wait_for(&mut lines, "finished processing request").await;

    let url = format!("{base}/slow/700");
    let in_flight = tokio::spawn(async move { reqwest::get(url).await });
    // TraceLayer logs the request once the handler has it: from then on it is in flight.
    wait_for(&mut lines, "started processing request").await;

    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    // SAFETY: kill(2) reads no memory of ours; `pid` is our child, which has not been waited
    // for (`child` is alive until the end of this function), so the pid cannot be reused.
    if unsafe { libc::kill(pid, signal) } != 0 {
        panic!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
    }
    wait_for(&mut lines, logged).await;

    let resp = in_flight.await.expect("client task").expect("the in-flight request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "slept 700 ms");
    wait_for(&mut lines, "shutdown complete").await;
    let exit = child.wait().await.expect("wait for the service");
    assert!(exit.success(), "the service exited with {exit}");
    assert!(reqwest::get(format!("{base}/health")).await.is_err(), "still serving after exit");
}

#[tokio::test]
async fn sigterm_drains_and_exits_0() {
    bounded(drains_on(libc::SIGTERM, "SIGTERM: draining")).await
}

#[tokio::test]
async fn ctrl_c_drains_and_exits_0() {
    bounded(drains_on(libc::SIGINT, "ctrl-c: draining")).await
}
