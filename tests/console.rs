//! The live console (`MINIRT_CONSOLE`, `Builder::console`), talked to over HTTP as a browser
//! would: its JSON lists the spawned tasks with their names, spawn lines and changing states;
//! a task parked on a socket shows under that fd as a reader; a task that drops its own waker
//! and returns `Pending` is flagged as a lost wake-up; the console answers while every worker
//! is blocked; bad requests get a status; tasks spawned and dropped by the hundred thousand
//! while the console reads them (the table's entries reused, cells dropped under its pin)
//! leave every answer whole and the process sound.
//!
//! The console is process-wide, so each scenario runs in a child process (this test binary
//! run again with `CONSOLE_SCENARIO` set) with `MINIRT_CONSOLE=127.0.0.1:0`: the child's
//! stderr says which port it got, and `READY` once its tasks are set up; the parent talks
//! HTTP to it, then closes the child's stdin, which ends the scenario.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use minirt::runtime::{Builder, Runtime};
use serde_json::{json, Value};

/// How long the parent waits for something to show before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

struct Scenario {
    child: Child,
    addr: SocketAddr,
    lines: mpsc::Receiver<String>,
}

impl Scenario {
    /// Starts `name` in a child and waits for its console's address and its `READY`.
    fn start(name: &str) -> Scenario {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut child = Command::new(exe)
            .args(["--exact", "scenario_in_child", "--nocapture", "--test-threads=1"])
            .env("CONSOLE_SCENARIO", name)
            .env("MINIRT_CONSOLE", "127.0.0.1:0")
            .env_remove("MINIRT_SLOW_POLL")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child");
        let stderr = child.stderr.take().expect("the child's stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("child: {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut addr = None;
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines.recv_timeout(left).expect("the child's console address and READY");
            if let Some(rest) = line.strip_prefix("minirt: console listening on http://") {
                addr = Some(rest.trim_end_matches('/').parse().expect("an address"));
            }
            if line == "READY" {
                break;
            }
        }
        Scenario { child, addr: addr.expect("the console's address before READY"), lines }
    }

    /// Starts `name` and waits until its `/api/state` passes `ready`.
    fn start_after(name: &str, mut ready: impl FnMut(&Value) -> bool) -> Scenario {
        let child = Scenario::start(name);
        child.wait_for(name, |state| ready(state).then_some(()));
        child
    }

    /// `GET path`: the status line and the body.
    fn get(&self, path: &str) -> (String, String) {
        self.request(&format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"))
    }

    fn request(&self, request: &str) -> (String, String) {
        let mut stream = TcpStream::connect(self.addr).expect("connect to the console");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        stream.write_all(request.as_bytes()).expect("send the request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read the response");
        let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
        (head.lines().next().unwrap_or("").to_owned(), body.to_owned())
    }

    fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, "HTTP/1.1 200 OK", "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }

    /// Polls `/api/state` until `check` returns `Some`, for up to `PATIENCE`.
    fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&Value) -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let state = self.json("/api/state");
            if let Some(found) = check(&state) {
                return found;
            }
            assert!(Instant::now() < deadline, "never saw {what}; last state: {state:#}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Closes the child's stdin (the scenario ends) and waits for it to exit cleanly.
    fn finish(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.child.try_wait().expect("wait for the child") {
                Some(status) => {
                    assert!(status.success(), "the child failed: {status}");
                    return;
                }
                None if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    panic!("the child did not exit");
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        #[allow(unreachable_code)]
        drop(self.lines);
    }
}

fn task<'a>(state: &'a Value, name: &str) -> Option<&'a Value> {
    state["tasks"].as_array()?.iter().find(|task| task["name"] == name)
}

/// The scenarios, played in the child process. In the parent (no `CONSOLE_SCENARIO`), a test
/// that passes at once.
#[test]
fn scenario_in_child() {
    let Ok(scenario) = std::env::var("CONSOLE_SCENARIO") else { return };
    let rt = Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    match scenario.as_str() {
        "states" => states(&rt),
        "socket" => socket(&rt),
        "lost" => lost(&rt),
        "blocked" => blocked(&rt),
        "browser" => browser(&rt),
        "counters" => counters(),
        "churn" => churn(&rt),
        other => panic!("unknown scenario {other}"),
    }
    // Until the parent closes stdin.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn ready() {
    eprintln!("READY");
}

/// "gated" waits for a timer then completes; "spinner" keeps a worker busy in its polls.
fn states(rt: &Runtime) {
    rt.block_on(async {
        minirt::task::Builder::new()
            .name("gated")
            .spawn(minirt::time::sleep(Duration::from_millis(1500)))
            .expect("spawn");
        minirt::task::Builder::new()
            .name("spinner")
            .spawn(async {
                for _ in 0..30 {
                    std::thread::sleep(Duration::from_millis(100));
                    minirt::task::yield_now().await;
                }
            })
            .expect("spawn");
    });
    ready();
}

#[test]
fn tasks_are_listed_with_names_locations_and_changing_states() {
    let child = Scenario::start("states");
    let gated = child.wait_for("gated idle", |state| {
        let gated = task(state, "gated")?;
        (gated["state"] == "idle").then(|| gated.clone())
    });
    let location = gated["location"].as_str().expect("a location");
    assert!(location.starts_with("tests/console.rs:"), "spawned here, not {location}");
    assert!(gated["polls"].as_u64() >= Some(1), "{gated}");
    child.wait_for("spinner running", |state| {
        (task(state, "spinner")?["state"] == "running").then_some(())
    });
    let done = child.wait_for("gated done", |state| {
        let gated = task(state, "gated")?;
        (gated["state"] == "done").then(|| gated.clone())
    });
    assert_eq!(done["id"], gated["id"]);
    assert!(done["age_us"].as_u64() >= Some(1_500_000), "it slept 1.5 s: {done}");
    // The same task, alone.
    let one = child.json(&format!("/api/tasks/{}", gated["id"]));
    assert_eq!(one["name"], "gated");
    let workers = child.json("/api/workers");
    assert_eq!(
        workers.as_array().map(|w| w.iter().filter(|w| w["worker"].is_u64()).count()),
        Some(2)
    );
    child.finish();
}

/// On a current-thread runtime of its own thread: "self-waker" wakes itself during each of
/// 50 polls and completes in the 51st; then "blocker" blocks the loop's thread with five
/// tasks queued behind it.
fn counters() {
    std::thread::spawn(|| {
        let rt = Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let mut left = 50;
            minirt::task::Builder::new()
                .name("self-waker")
                .spawn(std::future::poll_fn(move |cx| {
                    if left == 0 {
                        return Poll::Ready(());
                    }
                    left -= 1;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }))
                .expect("spawn")
                .await
                .expect("self-waker");
            minirt::task::Builder::new()
                .name("blocker")
                .spawn(async {
                    ready();
                    loop {
                        std::thread::sleep(Duration::from_secs(1));
                    }
                })
                .expect("spawn");
            for _ in 0..5 {
                minirt::task::spawn(async {});
            }
            std::future::pending::<()>().await;
        });
    });
}

#[test]
fn polls_wakes_and_the_current_thread_queue_are_counted() {
    let child = Scenario::start("counters");
    let (waker, runtime) = child.wait_for("the blocked current-thread loop", |state| {
        let runtimes = state["runtimes"].as_array()?;
        let runtime = runtimes.iter().find(|rt| rt["flavor"] == "current_thread")?;
        (task(state, "blocker")?["state"] == "running" && runtime["local_queues"] == json!([5]))
            .then(|| (task(state, "self-waker").cloned(), runtime.clone()))
    });
    let waker = waker.expect("self-waker listed among the completed tasks");
    assert_eq!(waker["state"], "done", "{waker}");
    assert_eq!(waker["polls"], 51, "{waker}");
    assert_eq!(waker["self_wakes"], 50, "woken during 50 of its polls: {waker}");
    assert_eq!(waker["wakes"], 50, "{waker}");
    // Busy time is estimated from the polls the sample timed: none timed, no estimate.
    let timed = waker["timed_polls"].as_u64().expect("timed_polls");
    assert!(timed <= 51, "{waker}");
    if timed == 0 {
        assert_eq!(waker["busy_us"], 0, "{waker}");
    }
    assert_eq!(runtime["local_queues"], json!([5]), "five tasks behind the blocker: {runtime}");
    let histograms = child.json("/api/histograms");
    let polls: u64 =
        histograms["poll"].as_array().expect("poll").iter().flat_map(Value::as_u64).sum();
    assert!(polls >= 51, "every poll is in the histogram: {histograms}");
    child.finish();
}

/// "reader" waits to read a connection on which nobody writes.
fn socket(rt: &Runtime) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let peer = rt.block_on(async {
        let stream = minirt::net::TcpStream::connect(addr).await.expect("connect");
        eprintln!("LOCAL {}", stream.local_addr().expect("local addr"));
        minirt::task::Builder::new()
            .name("reader")
            .spawn(async move {
                let mut stream = stream;
                let mut buf = [0u8; 16];
                let _ = minirt::io::AsyncReadExt::read(&mut stream, &mut buf).await;
            })
            .expect("spawn");
        listener.accept().expect("accept")
    });
    ready();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(peer);
}

#[test]
fn a_task_waiting_on_a_socket_shows_as_its_reader() {
    let child = Scenario::start("socket");
    let (fd, reader) = child.wait_for("reader under its fd", |state| {
        let reader = task(state, "reader")?;
        let id = reader["id"].as_u64()?;
        let fds = state["runtimes"][0]["fds"].as_array()?;
        let fd = fds
            .iter()
            .find(|fd| fd["readers"].as_array().is_some_and(|r| r.contains(&id.into())))?;
        Some((fd.clone(), reader.clone()))
    });
    assert_eq!(fd["kind"], "TCP stream", "{fd}");
    assert!(fd["peer"].as_str().is_some_and(|p| p.starts_with("127.0.0.1:")), "{fd}");
    assert_eq!(reader["reads"], serde_json::json!([fd["fd"]]), "{reader}");
    assert_eq!(reader["state"], "idle");
    assert_eq!(reader["lost_waker"], false, "the reactor holds its waker");
    child.finish();
}

/// "lost" drops its waker and returns Pending; "kept" leaves its waker with someone.
fn lost(rt: &Runtime) {
    static KEPT: Mutex<Option<Waker>> = Mutex::new(None);
    rt.block_on(async {
        minirt::task::Builder::new()
            .name("lost")
            .spawn(std::future::poll_fn(|cx| {
                drop(cx.waker().clone());
                Poll::<()>::Pending
            }))
            .expect("spawn");
        minirt::task::Builder::new()
            .name("kept")
            .spawn(std::future::poll_fn(|cx| {
                *KEPT.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
                Poll::<()>::Pending
            }))
            .expect("spawn");
        // Both polled once before the parent looks.
        minirt::time::sleep(Duration::from_millis(100)).await;
    });
    ready();
}

#[test]
fn a_task_that_drops_its_own_waker_is_flagged_lost() {
    let child = Scenario::start("lost");
    let state = child.wait_for("both polled", |state| {
        let polled = |name| task(state, name).and_then(|t| t["polls"].as_u64()) >= Some(1);
        (polled("lost") && polled("kept")).then(|| state.clone())
    });
    let lost = task(&state, "lost").expect("lost");
    let kept = task(&state, "kept").expect("kept");
    assert_eq!(lost["state"], "idle");
    assert_eq!(lost["lost_waker"], true, "{lost}");
    assert_eq!(kept["lost_waker"], false, "{kept}");
    let warnings = child.json("/api/warnings");
    let flagged: Vec<&Value> =
        warnings.as_array().expect("a list").iter().filter(|w| w["kind"] == "lost waker").collect();
    assert_eq!(flagged.len(), 1, "{warnings:#}");
    assert_eq!(flagged[0]["task"], lost["id"]);
    child.finish();
}

/// Two tasks, each blocking one of the two workers for 3 s: each waits until the other has
/// started, so both workers are held at once.
fn blocked(rt: &Runtime) {
    let started = Arc::new(AtomicUsize::new(0));
    let _enter = rt.enter();
    for _ in 0..2 {
        let started = started.clone();
        minirt::task::Builder::new()
            .name("blocker")
            .spawn(async move {
                started.fetch_add(1, Ordering::SeqCst);
                while started.load(Ordering::SeqCst) < 2 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_secs(3));
            })
            .expect("spawn");
    }
    while started.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(1));
    }
    ready();
}

#[test]
fn the_console_answers_while_every_worker_is_blocked() {
    let child = Scenario::start("blocked");
    let asked = Instant::now();
    let workers = child.json("/api/workers");
    let blocked_for = asked.elapsed();
    let busy: Vec<&Value> = workers
        .as_array()
        .expect("a list")
        .iter()
        .filter(|w| w["worker"].is_u64() && w["task_name"] == "blocker")
        .collect();
    // The workers sleep 3 s from READY: an answer that came back while they still sleep
    // shows both of them in their blocking poll.
    if blocked_for < Duration::from_millis(2500) {
        assert_eq!(busy.len(), 2, "both workers in a blocker's poll: {workers:#}");
        // Flagged once they have run past the warning threshold (10 ms).
        let blocking = |warnings: &Value| {
            warnings.as_array().expect("a list").iter().filter(|w| w["kind"] == "blocking").count()
        };
        let mut warnings = child.json("/api/warnings");
        while blocking(&warnings) < 2 && asked.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(20));
            warnings = child.json("/api/warnings");
        }
        assert_eq!(blocking(&warnings), 2, "{warnings:#}");
    } else {
        panic!("the console took {blocked_for:?} to answer while the workers were blocked");
    }
    child.finish();
}

/// "keeper" stays pending from the start, so its table entry is taken when the ids wrap around;
/// then 120,000 short tasks (every tenth named), 2,000 at a time over both workers, are
/// spawned and dropped while the parent reads the console; `CHURNED` when they are done.
fn churn(rt: &Runtime) {
    rt.block_on(async {
        minirt::task::Builder::new()
            .name("keeper")
            .spawn(std::future::pending::<()>())
            .expect("spawn");
    });
    ready();
    rt.block_on(async {
        for batch in 0..60 {
            let mut handles = Vec::with_capacity(2_000);
            for i in 0..2_000 {
                let work = async move {
                    minirt::task::yield_now().await;
                    batch * i
                };
                handles.push(if i % 10 == 0 {
                    minirt::task::Builder::new().name("churned").spawn(work).expect("spawn")
                } else {
                    minirt::spawn(work)
                });
            }
            for handle in handles {
                handle.await.expect("a churned task");
            }
        }
    });
    eprintln!("CHURNED");
}

#[test]
fn tasks_churned_while_the_console_reads_them_leave_it_whole() {
    let child = Scenario::start("churn");
    let mut reads = 0;
    let deadline = Instant::now() + PATIENCE * 6;
    loop {
        let state = child.json("/api/state");
        reads += 1;
        for task in state["tasks"].as_array().expect("a task list") {
            assert!(task["id"].as_u64() > Some(0), "{task}");
            let location = task["location"].as_str().expect("a location");
            assert!(location.starts_with("tests/console.rs:"), "{task}");
            if let Some(name) = task["name"].as_str() {
                assert!(name == "keeper" || name == "churned", "{task}");
            }
        }
        if child.lines.try_iter().any(|line| line == "CHURNED") {
            break;
        }
        assert!(Instant::now() < deadline, "the churn did not end ({reads} reads)");
    }
    eprintln!("{reads} reads during the churn");
    assert!(reads > 1, "read once only: the churn was over before the console was read");
    let keeper = child.wait_for("keeper", |state| task(state, "keeper").cloned());
    assert_eq!(keeper["state"], "idle", "{keeper}");
    child.finish();
}

#[test]
fn bad_requests_get_a_status() {
    let child = Scenario::start("lost");
    assert_eq!(child.request("BREW / HTTP/1.1\r\n\r\n").0, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(child.request("nonsense\r\n\r\n").0, "HTTP/1.1 400 Bad Request");
    assert_eq!(child.get("/nowhere").0, "HTTP/1.1 404 Not Found");
    assert_eq!(child.get("/api/tasks/notanumber").0, "HTTP/1.1 400 Bad Request");
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    let mut stream = TcpStream::connect(child.addr).expect("connect");
    let _ = stream.write_all(huge.as_bytes());
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    assert!(response.starts_with(b"HTTP/1.1 431"), "{}", String::from_utf8_lossy(&response));
    let (status, page) = child.get("/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(page.contains("<table id=\"tasks\"") && !page.contains("src=\"http"), "self-contained");
    // Still answering after all that.
    assert!(child.json("/api/state")["tasks"].is_array());
    child.finish();
}

/// A named task with a slow poll (60 ms, over the console's 10 ms), and one that loses its
/// waker: what the rendered page must show.
fn browser(rt: &Runtime) {
    rt.block_on(async {
        minirt::task::Builder::new()
            .name("page-task")
            .spawn(async {
                std::thread::sleep(Duration::from_millis(60));
                std::future::pending::<()>().await;
            })
            .expect("spawn");
        minirt::time::sleep(Duration::from_millis(100)).await;
    });
    ready();
}

/// Headless Chromium loads the page, runs its script against the live JSON, and the DOM it
/// dumps must show the task table with the task's name and spawn file, a worker row and the
/// slow-poll warning. Skipped, with a note, where Chromium is not installed.
#[test]
fn the_page_renders_tasks_workers_and_warnings_in_a_browser() {
    let Some(chromium) =
        ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    else {
        eprintln!("NOTE: skipped the browser test: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let child = Scenario::start_after("browser", |state| {
        task(state, "page-task").is_some_and(|t| t["longest_poll_us"].as_u64() >= Some(50_000))
    });
    let mut browser = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=3000",
            "--dump-dom",
            &format!("http://{}/", child.addr),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut dom = String::new();
    let reader = {
        let mut stdout = browser.stdout.take().expect("chromium's stdout");
        std::thread::spawn(move || {
            let mut dom = String::new();
            let _ = stdout.read_to_string(&mut dom);
            dom
        })
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while browser.try_wait().expect("wait for chromium").is_none() {
        if Instant::now() > deadline {
            let _ = browser.kill();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    dom.push_str(&reader.join().expect("chromium's output"));
    let tasks = section(&dom, "<table id=\"tasks\"");
    assert!(tasks.contains(">page-task<"), "the task's name in the table: {tasks}");
    assert!(tasks.contains("tests/console.rs:"), "the task's spawn file in the table: {tasks}");
    let workers = section(&dom, "<table id=\"workers\"");
    assert!(workers.contains("minirt-runtime-worker"), "a worker row: {workers}");
    let warnings = section(&dom, "<ul id=\"warnings\"");
    assert!(
        warnings.contains("slow poll") && warnings.contains("page-task"),
        "the warning: {warnings}"
    );
    child.finish();
}

/// The DOM from `start` to the end of that element's table or list.
fn section<'a>(dom: &'a str, start: &str) -> &'a str {
    let from = dom.find(start).unwrap_or_else(|| panic!("no {start} in the page: {dom}"));
    let rest = &dom[from..];
    let end =
        ["</table>", "</ul>"].iter().filter_map(|end| rest.find(end)).min().unwrap_or(rest.len());
    &rest[..end]
}
